//! Segment permissions as grantd grants, both ways.
//!
//! A Segment permission ("policy") is a role on some resources. Each resource becomes one
//! ALLOW grant of the role to the user or group: `WORKSPACE` is the whole tenant, or, with
//! labels, every resource carrying one of them (one grant per label); `SOURCE s1` is the
//! resource `SOURCE/s1`, created on first use. The grants carry their policy's id in
//! `origin`, so that reading them back gives the permissions as they were written. Grants
//! made through the native API appear too, when they give a role on something Segment can
//! name.

use std::collections::{BTreeMap, HashMap};

use grantd_core::model::{
    Effect, Grant, Label, Privilege, Resource, ResourceRef, Role, SubjectRef, Target,
};
use grantd_core::{Kind, Object, ObjectKey};
use grantd_store::Expect;
use serde_json::{json, Value};

use super::catalog::{self, RESOURCE_TYPES, WORKSPACE};
use super::error::SegmentResult;
use super::wire::{Fields, MAX_ID};
use crate::service::{new_id, Batch, Service, ServiceResult};

use crate::service::derived::SEGMENT_POLICY as ORIGIN;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelIn {
    pub key: String,
    pub value: String,
    /// The label object's own description, for a label created with the permission.
    pub description: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ResourceIn {
    pub id: String,
    pub kind: String,
    pub labels: Vec<LabelIn>,
}

/// One permission of a request, with the field path that named it.
#[derive(Debug, Clone)]
pub struct PermissionIn {
    pub path: String,
    pub role_id: String,
    pub resources: Vec<ResourceIn>,
}

fn parse_labels(f: &mut Fields, value: Option<&Value>, path: &str) -> Vec<LabelIn> {
    let mut labels = Vec::new();
    for (at, item) in f.items(value, path) {
        let key = f.required_string(item, "key", &at, MAX_ID);
        let value = f.required_string(item, "value", &at, MAX_ID);
        let description = match item.get("description") {
            Some(Value::Null) | None => None,
            given => f.string(given, &format!("{at}.description"), 1024),
        };
        if let (Some(key), Some(value)) = (key, value) {
            labels.push(LabelIn {
                key,
                value,
                description,
            });
        }
    }
    labels
}

fn parse_resource(f: &mut Fields, item: &Value, at: &str, with_labels: bool) -> Option<ResourceIn> {
    let id = f.required_string(item, "id", at, MAX_ID);
    let kind = f.required(item, "type", &format!("{at}.type"));
    let kind = match kind {
        Some(Value::String(t)) if RESOURCE_TYPES.contains(&t.as_str()) => Some(t.clone()),
        Some(_) => {
            f.fail(
                format!("{at}.type"),
                format!("must be one of {}", RESOURCE_TYPES.join(", ")),
            );
            None
        }
        None => None,
    };
    let labels = match item.get("labels") {
        Some(Value::Null) | None => Vec::new(),
        labels if with_labels => parse_labels(f, labels, &format!("{at}.labels")),
        Some(_) => {
            f.fail(format!("{at}.labels"), "is not allowed here");
            Vec::new()
        }
    };
    if let Some(kind) = &kind {
        if kind != WORKSPACE && !labels.is_empty() {
            f.fail(
                format!("{at}.labels"),
                "labels are exclusive to WORKSPACE-level permissions",
            );
        }
    }
    Some(ResourceIn {
        id: id?,
        kind: kind?,
        labels,
    })
}

/// `permissions` of a user or group request (`PermissionInputV1[]`).
pub fn parse_permissions(f: &mut Fields, value: Option<&Value>, path: &str) -> Vec<PermissionIn> {
    let mut permissions = Vec::new();
    for (at, item) in f.items(value, path) {
        let role_id = f.required_string(item, "roleId", &at, MAX_ID);
        let list = format!("{at}.resources");
        let given = f.required(item, "resources", &list);
        let resources: Vec<ResourceIn> = f
            .items(given, &list)
            .into_iter()
            .filter_map(|(r_at, r)| parse_resource(f, r, &r_at, true))
            .collect();
        if let Some(role_id) = role_id {
            permissions.push(PermissionIn {
                path: at,
                role_id,
                resources,
            });
        }
    }
    permissions
}

/// `permissions` of an invite (`InvitePermissionV1[]`): resources are optional (the
/// workspace when left out) and labels sit beside them, applying to the workspace.
pub fn parse_invite_permissions(
    f: &mut Fields,
    value: Option<&Value>,
    path: &str,
    workspace: &str,
) -> Vec<PermissionIn> {
    let mut permissions = Vec::new();
    for (at, item) in f.items(value, path) {
        let role_id = f.required_string(item, "roleId", &at, MAX_ID);
        let labels = match item.get("labels") {
            Some(Value::Null) | None => Vec::new(),
            labels => parse_labels(f, labels, &format!("{at}.labels")),
        };
        let mut resources: Vec<ResourceIn> = match item.get("resources") {
            Some(Value::Null) | None => vec![ResourceIn {
                id: workspace.to_string(),
                kind: WORKSPACE.to_string(),
                labels: Vec::new(),
            }],
            given => f
                .items(given, &format!("{at}.resources"))
                .into_iter()
                .filter_map(|(r_at, r)| parse_resource(f, r, &r_at, false))
                .collect(),
        };
        if !labels.is_empty() {
            let mut placed = false;
            for r in resources.iter_mut().filter(|r| r.kind == WORKSPACE) {
                r.labels = labels.clone();
                placed = true;
            }
            if !placed {
                f.fail(
                    format!("{at}.labels"),
                    "labels are exclusive to WORKSPACE-level permissions",
                );
            }
        }
        if let Some(role_id) = role_id {
            permissions.push(PermissionIn {
                path: at,
                role_id,
                resources,
            });
        }
    }
    permissions
}

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

/// Checks that each permission's role exists (built-in ones count), naming each that does
/// not, and writes the built-in roles the tenant does not hold yet, and the labels it does
/// not hold yet: a client moving its policies from Segment names the labels its workspace
/// has, each with its description, and they are created with the permission.
pub async fn prepare(
    batch: &mut Batch<'_>,
    permissions: &[PermissionIn],
    workspace: &str,
) -> SegmentResult<()> {
    let mut f = Fields::default();
    for p in permissions {
        if batch.get::<Role>(&p.role_id).await?.is_none() {
            match catalog::role(&p.role_id) {
                Some(builtin) => {
                    batch.put(&builtin.to_role(), Expect::Absent).await?;
                }
                None => f.fail(
                    format!("{}.roleId", p.path),
                    format!("role {} does not exist (GET /roles lists them)", p.role_id),
                ),
            }
        }
        for (j, r) in p.resources.iter().enumerate() {
            let at = format!("{}.resources.{j}", p.path);
            if let Err(message) = targets(r, workspace) {
                f.fail(format!("{at}.id"), message);
            }
            for (k, l) in r.labels.iter().enumerate() {
                let key = Label::key_of(&l.key, &l.value);
                let known = catalog::is_builtin_label(&l.key, &l.value)
                    || batch.get::<Label>(&key).await?.is_some();
                if known {
                    continue;
                }
                let label = Label {
                    key: l.key.clone(),
                    value: l.value.clone(),
                    description: l.description.clone(),
                };
                match label.validate() {
                    Ok(()) => {
                        batch.put(&label, Expect::Absent).await?;
                    }
                    Err(invalid) => f.fail(format!("{at}.labels.{k}"), invalid.to_string()),
                }
            }
        }
    }
    f.finish()
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

/// The policy a grant belongs to: the Segment policy that wrote it, or the grant itself.
pub fn policy_of(grant: &Grant) -> String {
    grant
        .origin
        .as_deref()
        .and_then(|o| o.strip_prefix(ORIGIN))
        .unwrap_or(&grant.id)
        .to_string()
}

/// A new policy's id.
pub fn new_policy() -> String {
    new_id("pol")
}

/// The `origin` of the grants a policy makes.
pub fn origin(policy_id: &str) -> String {
    format!("{ORIGIN}{policy_id}")
}

/// Creates the resource a target names, the first time a permission names it.
pub async fn ensure_resource(batch: &mut Batch<'_>, target: &Target) -> ServiceResult<()> {
    if let Target::Resource { resource } = target {
        if batch.get::<Resource>(&resource.key()).await?.is_none() {
            let new = Resource {
                resource_type: resource.resource_type.clone(),
                id: resource.id.clone(),
                parent: None,
                labels: BTreeMap::new(),
            };
            batch.put(&new, Expect::Absent).await?;
        }
    }
    Ok(())
}

/// A policy created by a write, for the audit trail.
#[derive(Debug, Clone)]
pub struct Created {
    pub policy_id: String,
    pub role_id: String,
}

/// Grants `permissions` to `subject`, one policy per permission; a role already given on
/// the same target is not given twice. `prepare` must have passed.
pub async fn grant(
    batch: &mut Batch<'_>,
    subject: &SubjectRef,
    permissions: &[PermissionIn],
    workspace: &str,
) -> SegmentResult<Vec<Created>> {
    let mut held: Vec<(String, Target)> = batch
        .holders::<Grant>(&subject.object_key())
        .await?
        .into_iter()
        .map(|g| g.object)
        .filter(|g| g.effect == Effect::Allow)
        .filter_map(|g| match g.privilege {
            Privilege::Role { id } => Some((id, g.target)),
            _ => None,
        })
        .collect();
    let mut created = Vec::new();
    for p in permissions {
        let policy_id = new_policy();
        let mut wrote = false;
        for (j, r) in p.resources.iter().enumerate() {
            let at = format!("{}.resources.{j}", p.path);
            let targets = targets(r, workspace)
                .map_err(|m| super::error::SegmentError::field(format!("{at}.id"), m))?;
            for target in targets {
                if held
                    .iter()
                    .any(|(role, t)| *role == p.role_id && *t == target)
                {
                    continue;
                }
                ensure_resource(batch, &target)
                    .await
                    .map_err(|e| e.within(&at))?;
                let grant = Grant {
                    id: new_id("grt"),
                    subject: subject.clone(),
                    privilege: Privilege::Role {
                        id: p.role_id.clone(),
                    },
                    target: target.clone(),
                    effect: Effect::Allow,
                    origin: Some(origin(&policy_id)),
                };
                batch
                    .put(&grant, Expect::Absent)
                    .await
                    .map_err(|e| e.within(&at))?;
                held.push((p.role_id.clone(), target));
                wrote = true;
            }
        }
        if wrote {
            created.push(Created {
                policy_id,
                role_id: p.role_id.clone(),
            });
        }
    }
    Ok(created)
}

/// Revokes every grant of `subject` that shows as a Segment permission; returns the
/// policies removed, as (policy id, role id).
pub async fn revoke_visible(
    batch: &mut Batch<'_>,
    subject: &SubjectRef,
) -> ServiceResult<Vec<(String, String)>> {
    let mut removed: Vec<(String, String)> = Vec::new();
    for grant in batch.holders::<Grant>(&subject.object_key()).await? {
        let grant = grant.object;
        if !visible(&grant) {
            continue;
        }
        batch
            .delete(&ObjectKey::new(Kind::Grant, grant.id.clone()))
            .await?;
        let policy = policy_of(&grant);
        if let Privilege::Role { id } = &grant.privilege {
            if !removed.iter().any(|(p, _)| *p == policy) {
                removed.push((policy, id.clone()));
            }
        }
    }
    Ok(removed)
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
    let mut sorted: Vec<&Grant> = grants.iter().filter(|g| visible(g)).collect();
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
