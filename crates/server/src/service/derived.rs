//! Derived objects: grants a compatible surface wrote on behalf of one of its own objects
//! (a Segment policy, a SlashID role or person permission, a DataArts permission set). Such
//! a grant records its source in `origin`, and that source is its one owner: the native
//! API's generic commands refuse to change or delete it (409 `derived_object`, naming the
//! source and where to change it), and refuse to write a grant claiming such an origin, so
//! that what a surface lists and what the engine enforces cannot drift apart behind its
//! back. The surfaces write these grants through their own commands (`Batch`), deleting a
//! source deletes what it derived, and deleting a grant's subject or target still cascades
//! to it.

use serde_json::Value;

use super::{ServiceError, ServiceResult};

/// The sources that own grants, by the prefix of the `origin` they write, with where each
/// is changed.
const SOURCES: [(&str, &str); 4] = [
    ("segment:policy:", "the Segment policy {id}: change it through the Segment API (/segment/users/{user}/permissions, /segment/groups/{group}/permissions)"),
    ("slashid:role", "a SlashID role: change it through the SlashID API (/slashid/groups/roles)"),
    ("slashid:additional", "a SlashID person's permissions: change them through the SlashID API (/slashid/persons/{id}/permissions)"),
    ("dataarts:permission-set:", "the DataArts permission set {id}: change it through its permissions (/v1/{project_id}/security/permission-sets/{id}/permissions)"),
];

/// Who owns an object with this body, in words, if a surface does.
fn owner(body: &Value) -> Option<String> {
    let origin = body.get("origin")?.as_str()?;
    SOURCES.iter().find_map(|(prefix, owner)| {
        let id = origin.strip_prefix(prefix)?;
        Some(owner.replace("{id}", id))
    })
}

/// Refuses a native change to `what` (whose stored or new body is `body`) when a surface
/// owns it.
pub fn refuse_derived(what: &str, body: &Value) -> ServiceResult<()> {
    match owner(body) {
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
        let policy = json!({"origin": "segment:policy:pol_1"});
        let refused = refuse_derived("grant g", &policy).expect_err("owned");
        assert!(
            refused.to_string().contains("Segment policy pol_1"),
            "{refused}"
        );
        let set = json!({"origin": "dataarts:permission-set:ps9"});
        assert!(refuse_derived("grant g", &set).is_err());
        assert!(refuse_derived("grant g", &json!({"origin": "slashid:role"})).is_err());
        assert!(refuse_derived("grant g", &json!({"origin": "my-terraform"})).is_ok());
        assert!(refuse_derived("grant g", &json!({})).is_ok());
    }
}
