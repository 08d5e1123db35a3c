//! Segment permissions as grantd grants, both ways.
//!
//! A Segment permission is a service policy (`service::policies`): a role on some
//! targets. Here each resource becomes its targets: `WORKSPACE` is the whole tenant, or,
//! with labels, every resource carrying one of them (one target per label); `SOURCE s1` is
//! the resource `SOURCE/s1`. Reading the grants back gives the permissions as they were
//! written; grants made through the native API appear too, when they give a role on
//! something Segment can name.

use std::collections::{BTreeMap, HashMap};

use grantd_core::model::{
    holds_at, Effect, Grant, Label, Privilege, ResourceRef, Role, SubjectRef, Target,
};
use serde_json::{json, Value};

use super::catalog::{self, RESOURCE_TYPES, WORKSPACE};
use super::permissions_in::{LabelIn, PermissionIn, ResourceIn};
use crate::service::{
    policy_of, PolicyRequest, Prerequisites, RequestedResource, Service, ServiceResult,
};

/// The targets a resource stands for, or why it cannot be granted.
pub fn targets(resource: &ResourceIn, workspace: &str) -> Result<Vec<Target>, String> {
    if resource.kind == WORKSPACE {
        if resource.id != workspace {
            return Err(format!(
                "must be this workspace's id, {workspace} (GET / returns it)"
            ));
        }
        if resource.labels.is_empty() {
            return Ok(vec![Target::Tenant]);
        }
        return Ok(resource
            .labels
            .iter()
            .map(|l| Target::Labels {
                resource_type: None,
                labels: BTreeMap::from([(l.key.clone(), l.value.clone())]),
            })
            .collect());
    }
    grantd_core::ids::identifier(&resource.id)?;
    Ok(vec![Target::Resource {
        resource: ResourceRef {
            resource_type: resource.kind.clone(),
            id: resource.id.clone(),
        },
    }])
}

/// The permissions of a request as service policy requests, with the built-in roles
/// they may need created.
pub fn requests(
    permissions: &[PermissionIn],
    workspace: &str,
) -> (Vec<PolicyRequest>, Prerequisites) {
    let mut prerequisites = Prerequisites::default();
    let requests = permissions
        .iter()
        .map(|p| {
            if let Some(builtin) = catalog::role(&p.role_id) {
                prerequisites.roles.push(builtin.to_role());
            }
            let resources = p
                .resources
                .iter()
                .enumerate()
                .map(|(j, r)| RequestedResource {
                    at: format!("{}.resources.{j}", p.path),
                    targets: targets(r, workspace),
                    labels: r
                        .labels
                        .iter()
                        .filter(|l| !catalog::is_builtin_label(&l.key, &l.value))
                        .map(|l| Label {
                            key: l.key.clone(),
                            value: l.value.clone(),
                            description: l.description.clone(),
                        })
                        .collect(),
                })
                .collect();
            PolicyRequest {
                at: p.path.clone(),
                role: p.role_id.clone(),
                resources,
            }
        })
        .collect();
    (requests, prerequisites)
}

/// Whether a grant shows as a Segment permission: an ALLOW of a role on the workspace, on
/// labels, or on a resource of a Segment type.
pub fn visible(grant: &Grant) -> bool {
    let target_ok = match &grant.target {
        Target::Tenant => true,
        Target::Labels { resource_type, .. } => resource_type.is_none(),
        Target::Resource { resource } => RESOURCE_TYPES.contains(&resource.resource_type.as_str()),
        Target::DataPath { .. } => false,
    };
    grant.effect == Effect::Allow && matches!(grant.privilege, Privilege::Role { .. }) && target_ok
}

/// One permission as Segment shows it.
#[derive(Debug, Clone)]
pub struct Policy {
    pub policy_id: String,
    pub role_id: String,
    pub resources: Vec<(String, String, Vec<LabelIn>)>,
}

/// The permissions the visible grants make, in the order they were first granted.
pub fn policies(grants: &[Grant], workspace: &str) -> Vec<Policy> {
    let mut out: Vec<Policy> = Vec::new();
    // What the engine enforces now: a grant outside its window is not listed.
    let now = crate::service::now_millis();
    let mut sorted: Vec<&Grant> = grants
        .iter()
        .filter(|g| visible(g) && holds_at(g.not_before, g.expires_at, now))
        .collect();
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    for grant in sorted {
        let Privilege::Role { id: role_id } = &grant.privilege else {
            continue;
        };
        let policy_id = policy_of(grant);
        let index = match out
            .iter()
            .position(|p| p.policy_id == policy_id && p.role_id == *role_id)
        {
            Some(i) => i,
            None => {
                out.push(Policy {
                    policy_id,
                    role_id: role_id.clone(),
                    resources: Vec::new(),
                });
                out.len() - 1
            }
        };
        let policy = &mut out[index];
        match &grant.target {
            Target::Tenant => {
                policy
                    .resources
                    .push((workspace.to_string(), WORKSPACE.to_string(), Vec::new()));
            }
            Target::Labels { labels, .. } => {
                let found: Vec<LabelIn> = labels
                    .iter()
                    .map(|(k, v)| LabelIn {
                        key: k.clone(),
                        value: v.clone(),
                        description: None,
                    })
                    .collect();
                match policy
                    .resources
                    .iter_mut()
                    .find(|(_, kind, l)| kind == WORKSPACE && !l.is_empty())
                {
                    Some((_, _, existing)) => existing.extend(found),
                    None => {
                        policy
                            .resources
                            .push((workspace.to_string(), WORKSPACE.to_string(), found))
                    }
                }
            }
            Target::Resource { resource } => policy.resources.push((
                resource.id.clone(),
                resource.resource_type.clone(),
                Vec::new(),
            )),
            Target::DataPath { .. } => {}
        }
    }
    out
}

/// Role names by id: the catalog's, or the stored role's name (its id when unnamed).
pub async fn role_names(
    service: &Service,
    tenant: &str,
    policies: &[Policy],
) -> ServiceResult<HashMap<String, String>> {
    let mut names = HashMap::new();
    for p in policies {
        if names.contains_key(&p.role_id) {
            continue;
        }
        let name = match catalog::role(&p.role_id) {
            Some(builtin) => builtin.name.to_string(),
            None => match service.get::<Role>(tenant, &p.role_id).await {
                Ok(role) => role.object.name.unwrap_or(role.object.id),
                Err(_) => p.role_id.clone(),
            },
        };
        names.insert(p.role_id.clone(), name);
    }
    Ok(names)
}

/// Permissions in Segment's shape (`PermissionV1`); with `subject`, each also names its
/// policy and subject, as Segment's add-permissions answers do.
pub fn render(
    policies: &[Policy],
    names: &HashMap<String, String>,
    subject: Option<&SubjectRef>,
) -> Vec<Value> {
    policies
        .iter()
        .map(|p| {
            let resources: Vec<Value> = p
                .resources
                .iter()
                .map(|(id, kind, labels)| {
                    let labels: Vec<Value> = labels
                        .iter()
                        .map(|l| json!({"key": l.key, "value": l.value}))
                        .collect();
                    json!({"id": id, "type": kind, "labels": labels})
                })
                .collect();
            let mut value = json!({
                "roleId": p.role_id,
                "roleName": names.get(&p.role_id).cloned().unwrap_or_else(|| p.role_id.clone()),
                "resources": resources,
            });
            if let Some(subject) = subject {
                value["policyId"] = json!(p.policy_id);
                value["subjectId"] = json!(subject.id);
                value["subjectType"] = json!(subject.subject_type.as_str());
            }
            value
        })
        .collect()
}

/// A subject's permissions in Segment's shape, read outside any transaction.
pub async fn permissions_of(
    service: &Service,
    tenant: &str,
    subject: &SubjectRef,
    with_policy: bool,
) -> ServiceResult<Vec<Value>> {
    let grants: Vec<Grant> = service
        .holders::<Grant>(tenant, &subject.object_key())
        .await?
        .into_iter()
        .map(|g| g.object)
        .collect();
    let policies = policies(&grants, tenant);
    let names = role_names(service, tenant, &policies).await?;
    Ok(render(&policies, &names, with_policy.then_some(subject)))
}
