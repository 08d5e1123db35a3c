//! How permission sets, their data permissions and their members appear in the native API:
//! a set by its id, what it holds nested under it (listed by reference, and named only
//! under the set it belongs to).

use grantd_core::model::{DataPermission, PermissionSet, SetMember};
use grantd_core::{Kind, ObjectKey};
use serde_json::{json, Map, Value};

use super::extract::PathParams;
use super::kinds::{by_id, fields, keyed_by_id, segment, Routed};

/// A new 32-digit hexadecimal id, time-ordered (the shape DataArts' clients expect).
fn hex_id(body: &mut Map<String, Value>) {
    body.entry("id")
        .or_insert_with(|| Value::String(uuid::Uuid::now_v7().simple().to_string()));
}

impl Routed for PermissionSet {
    const COLLECTION: &'static str = "/permission-sets";
    const ITEM: &'static str = "/permission-sets/{id}";
    const TAG: &'static str = "permission-sets";

    keyed_by_id!();

    /// A set created without an id gets one; without a type, `COMMON`.
    fn complete(body: &mut Map<String, Value>) {
        hex_id(body);
        body.entry("type").or_insert_with(|| json!("COMMON"));
    }
}

impl Routed for DataPermission {
    const COLLECTION: &'static str = "/permission-sets/{id}/permissions";
    const ITEM: &'static str = "/permission-sets/{id}/permissions/{permission_id}";
    const TAG: &'static str = "data-permissions";

    fn identity(path: &PathParams) -> Map<String, Value> {
        fields(json!({"set": path.get("id"), "id": path.get("permission_id")}))
    }

    fn path_key(path: &PathParams) -> String {
        path.get("permission_id").to_string()
    }

    fn item_path(&self) -> String {
        format!(
            "/permission-sets/{}/permissions/{}",
            segment(&self.set),
            segment(&self.id)
        )
    }

    fn collection_identity(path: &PathParams) -> Map<String, Value> {
        fields(json!({"set": path.get("id")}))
    }

    fn complete(body: &mut Map<String, Value>) {
        hex_id(body);
    }

    fn owner(path: &PathParams) -> Option<ObjectKey> {
        Some(ObjectKey::new(Kind::PermissionSet, path.get("id")))
    }

    fn within(&self, path: &PathParams) -> bool {
        self.set == path.get("id")
    }
}

impl Routed for SetMember {
    const COLLECTION: &'static str = "/permission-sets/{id}/members";
    const ITEM: &'static str = "/permission-sets/{id}/members/{member}";
    const TAG: &'static str = "permission-set-members";

    fn identity(path: &PathParams) -> Map<String, Value> {
        fields(json!({"set": path.get("id"), "id": path.get("member")}))
    }

    fn path_key(path: &PathParams) -> String {
        path.get("member").to_string()
    }

    fn item_path(&self) -> String {
        format!(
            "/permission-sets/{}/members/{}",
            segment(&self.set),
            segment(&self.id)
        )
    }

    fn collection_identity(path: &PathParams) -> Map<String, Value> {
        fields(json!({"set": path.get("id")}))
    }

    fn complete(body: &mut Map<String, Value>) {
        hex_id(body);
    }

    fn owner(path: &PathParams) -> Option<ObjectKey> {
        Some(ObjectKey::new(Kind::PermissionSet, path.get("id")))
    }

    fn within(&self, path: &PathParams) -> bool {
        self.set == path.get("id")
    }
}
