//! Derived objects: grants a compatible surface wrote on behalf of one of its own objects
//! (a Segment policy, a SlashID role or person permission, a DataArts permission set). Such
//! a grant records its source in `origin`, and that source is its one owner: the native
//! API's generic commands refuse to change or delete it (409 `derived_object`, naming the
//! source and where to change it), and refuse to write a grant claiming such an origin, so
//! that what a surface lists and what the engine enforces cannot drift apart behind its
//! back. A DataArts permission set also owns its role (`dataarts.ps.<set>`): the role, its
//! assignments (the set's members) and any grant of it are changed through the set. The
//! service writes these objects in the commands of their sources (`permission_sets`,
//! and the surfaces' batches for Segment and SlashID), deleting a source deletes what it derived, and deleting a grant's subject or target still cascades
//! to it.

use grantd_core::model::PermissionSet;
use grantd_core::Kind;
use serde_json::Value;

use super::{ServiceError, ServiceResult};

/// The `origin` of the grants a Segment policy writes: this, then the policy's id.
pub const SEGMENT_POLICY: &str = "segment:policy:";
/// The `origin` of the grant that gives a SlashID role's holders its permissions.
pub const SLASHID_ROLE: &str = "slashid:role";
/// The `origin` of a SlashID person's additional permissions.
pub const SLASHID_PERSON: &str = "slashid:additional";
/// The `origin` of a DataArts permission set's grants: this, then the set's id.
pub const DATAARTS_SET: &str = "dataarts:permission-set:";

/// The sources that own grants, by the prefix of the `origin` they write, with where each
/// is changed. The surfaces write their origins with the constants above.
const SOURCES: [(&str, &str); 4] = [
    (SEGMENT_POLICY, "the Segment policy {id}: change it through the Segment API (/segment/users/{user}/permissions, /segment/groups/{group}/permissions)"),
    (SLASHID_ROLE, "a SlashID role: change it through the SlashID API (/slashid/rbac/roles)"),
    (SLASHID_PERSON, "a SlashID person's permissions: change them through the SlashID API (/slashid/persons/{id}/permissions)"),
    (DATAARTS_SET, "the permission set {id}: change it through its permissions (/v1/tenants/{tenant}/permission-sets/{id}/permissions, or DataArts' /v1/{project_id}/security/permission-sets/{id}/permissions)"),
];

/// Whether `role` is one a source owns (a permission set's): its assignments are the
/// source's to make and remove.
pub fn owned_role(role: &str) -> bool {
    role.starts_with(&PermissionSet::role_of(""))
}

/// Who owns an object of `kind` with this body, in words, if a surface does. `before`, the
/// object's stored body when this is its new one, is what it already named: a role a
/// DataArts set made a member of includes the set's role, and stays the tenant's to edit.
fn owner(kind: Kind, body: &Value, before: Option<&Value>, includes: bool) -> Option<String> {
    let field = |name: &str| body.get(name).and_then(Value::as_str);
    let from_origin = field("origin").and_then(|origin| {
        SOURCES.iter().find_map(|(prefix, owner)| {
            let id = origin.strip_prefix(prefix)?;
            Some(owner.replace("{id}", id))
        })
    });
    let already: Vec<&str> = before.map(|b| set_roles(kind, b, true)).unwrap_or_default();
    // A set's role is its id after this prefix.
    let set_prefix = PermissionSet::role_of("");
    from_origin.or_else(|| {
        let set = set_roles(kind, body, includes)
            .into_iter()
            .filter(|role| !already.contains(role))
            .find_map(|role| role.strip_prefix(set_prefix.as_str()))?;
        Some(format!(
            "the permission set {set}, whose role it is, includes, assigns or grants: change the set's members and permissions (/v1/tenants/{{tenant}}/permission-sets/{set}, or DataArts' /v1/{{project_id}}/security/permission-sets/{set})"
        ))
    })
}

/// The roles an object of `kind` names in a way that would hand out, or add to, what a
/// role's holders may do: a role's own id and, with `includes`, the roles it includes; an
/// assignment's role; a grant's role privilege and role subject.
pub(super) fn set_roles(kind: Kind, body: &Value, includes: bool) -> Vec<&str> {
    fn role_ref(v: Option<&Value>) -> Option<&str> {
        v.filter(|r| r.get("type").and_then(Value::as_str) == Some("role"))
            .and_then(|r| r.get("id"))
            .and_then(Value::as_str)
    }
    match kind {
        Kind::Role => {
            let mut named: Vec<&str> = body.get("id").and_then(Value::as_str).into_iter().collect();
            if includes {
                named.extend(
                    body.get("includes")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str),
                );
            }
            named
        }
        Kind::Assignment => body
            .get("role")
            .and_then(Value::as_str)
            .into_iter()
            .collect(),
        Kind::Grant => role_ref(body.get("privilege"))
            .into_iter()
            .chain(role_ref(body.get("subject")))
            .collect(),
        _ => Vec::new(),
    }
}

/// Refuses a native change to `what`, an object of `kind`, when a surface owns it as
/// stored (`stored`) or would own it as written (`new`): changing, deleting, or writing an
/// object that claims a surface's source or hands out a permission set's role. An
/// invite's pending grants are held to what a grant is.
pub fn refuse_derived(
    kind: Kind,
    what: &str,
    stored: Option<&Value>,
    new: Option<&Value>,
) -> ServiceResult<()> {
    // As stored, a role is the set's by its id only: one a set made a member includes the
    // set's role and stays the tenant's. As written, any role it names newly counts.
    let owned = stored
        .and_then(|body| owner(kind, body, None, false))
        .or_else(|| new.and_then(|body| owner(kind, body, stored, true)))
        .or_else(|| {
            // A native invite's grants are written as they are when it is accepted.
            let grants = new?.get("grants")?.as_array()?;
            (kind == Kind::Invite)
                .then(|| {
                    grants
                        .iter()
                        .find_map(|g| owner(Kind::Grant, g, None, true))
                })
                .flatten()
        });
    match owned {
        Some(owner) => Err(ServiceError::Conflict {
            code: "derived_object",
            message: format!(
                "{what} belongs to {owner}; it cannot be changed or deleted on its own"
            ),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn grants_of_a_source_are_owned_and_others_are_not() {
        let grant = |body: Value| refuse_derived(Kind::Grant, "grant g", None, Some(&body));
        let refused = grant(json!({"origin": "segment:policy:pol_1"})).expect_err("owned");
        assert!(
            refused.to_string().contains("Segment policy pol_1"),
            "{refused}"
        );
        assert!(grant(json!({"origin": "dataarts:permission-set:ps9"})).is_err());
        assert!(grant(json!({"origin": "slashid:role"})).is_err());
        assert!(grant(json!({"origin": "my-terraform"})).is_ok());
        assert!(grant(json!({})).is_ok());
    }

    #[test]
    fn a_permission_sets_role_is_the_sets() {
        let role = PermissionSet::role_of("ps9");
        let refused = refuse_derived(
            Kind::Assignment,
            "assignment",
            None,
            Some(&json!({"role": role})),
        )
        .expect_err("the set's members");
        assert!(
            refused.to_string().contains("permission set ps9"),
            "{refused}"
        );
        assert!(refuse_derived(Kind::Role, "role", Some(&json!({"id": role})), None).is_err());
        let granted = json!({"privilege": {"type": "role", "id": role}});
        assert!(refuse_derived(Kind::Grant, "grant", Some(&granted), None).is_err());
        assert!(refuse_derived(
            Kind::Assignment,
            "a",
            None,
            Some(&json!({"role": "viewer"}))
        )
        .is_ok());
        // A native role including the set's role, or a grant to the set's holders, would
        // reach past what DataArts lists.
        let including = json!({"id": "mine", "includes": ["viewer", role]});
        assert!(refuse_derived(Kind::Role, "role", None, Some(&including)).is_err());
        let to_holders = json!({"subject": {"type": "role", "id": role},
                                "privilege": {"type": "actions", "actions": ["read"]}});
        assert!(refuse_derived(Kind::Grant, "grant", None, Some(&to_holders)).is_err());
        // A role the set made a member (its includes hold the set's role) stays editable;
        // adding the set's role to one is not.
        let member = json!({"id": "analyst", "includes": [role]});
        let renamed = json!({"id": "analyst", "name": "Analysts", "includes": [role]});
        assert!(refuse_derived(Kind::Role, "role", Some(&member), Some(&renamed)).is_ok());
        assert!(refuse_derived(Kind::Role, "role", Some(&member), None).is_ok());
        let plain = json!({"id": "analyst"});
        assert!(refuse_derived(Kind::Role, "role", Some(&plain), Some(&member)).is_err());
        // An invite whose pending grant hands out the set's role, or claims a policy.
        let invite = |g: Value| json!({"email": "a@b.c", "grants": [g]});
        let forged = invite(json!({"origin": "segment:policy:p"}));
        assert!(refuse_derived(Kind::Invite, "invite", None, Some(&forged)).is_err());
        let handing = invite(json!({"privilege": {"type": "role", "id": role}}));
        assert!(refuse_derived(Kind::Invite, "invite", None, Some(&handing)).is_err());
        let fine = invite(json!({"privilege": {"type": "role", "id": "viewer"}}));
        assert!(refuse_derived(Kind::Invite, "invite", None, Some(&fine)).is_ok());
        assert!(refuse_derived(Kind::User, "user", None, Some(&json!({"id": role}))).is_ok());
    }
}
