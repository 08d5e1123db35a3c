//! Permissions as Segment requests name them (`PermissionInputV1`, and an invite's
//! `InvitePermissionV1`): a role on resources, a workspace resource perhaps with labels;
//! every wrong field named.

use serde_json::Value;

use super::catalog::{RESOURCE_TYPES, WORKSPACE};
use super::fields::Fields;
use super::wire::MAX_ID;

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
