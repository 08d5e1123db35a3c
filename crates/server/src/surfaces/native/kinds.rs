//! How each kind of object appears in the native API: its collection and item paths, the
//! identifying fields its paths imply, and how its list is filtered.

use grantd_core::model::{
    Assignment, Grant, Group, Invite, Label, Member, Permission, Resource, Role, User,
};
use grantd_core::{Object, ObjectKey};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use utoipa::ToSchema;

use super::extract::PathParams;

/// Filters a collection listing may take besides paging.
#[derive(Debug, Default, Deserialize)]
pub struct ListParams {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    /// Resources: only this type.
    #[serde(rename = "type")]
    pub resource_type: Option<String>,
    /// Role assignments: only this subject's (both must be given).
    pub subject_type: Option<String>,
    pub subject_id: Option<String>,
    /// Grants, memberships, role assignments: only those whose window ends within this
    /// long from now (`90s`, `30m`, `12h`, `7d`).
    pub expires_within: Option<String>,
    /// Grants, memberships, role assignments: only those whose window has ended (`true`),
    /// or not (`false`).
    pub expired: Option<bool>,
}

/// The window filters of the kinds that hold for a while, for the OpenAPI document.
const EXPIRES_WITHIN: (&str, &str) = (
    "expires_within",
    "Only those whose window ends after now and within this long (90s, 30m, 12h, 7d).",
);
const EXPIRED: (&str, &str) = (
    "expired",
    "true: only those whose window has ended; false: only those that still hold or will.",
);

/// What a listing keeps of time-bound objects, decided at one instant.
#[derive(Debug, Clone, Copy)]
pub struct WindowFilter {
    pub now: i64,
    /// Keep what ends after now and by this instant.
    pub ends_by: Option<i64>,
    /// Keep what has ended (`true`) or not (`false`).
    pub expired: Option<bool>,
}

impl WindowFilter {
    /// Whether an object ending at `end` (never, when `None`) is kept.
    pub fn keeps(&self, end: Option<i64>) -> bool {
        let ended = end.is_some_and(|e| e <= self.now);
        self.expired.is_none_or(|want| ended == want)
            && self
                .ends_by
                .is_none_or(|by| end.is_some_and(|e| e > self.now && e <= by))
    }
}

/// A kind served by the generic object routes. Paths are relative to
/// `/v1/tenants/{tenant}` and use the same parameter names wherever they overlap.
pub trait Routed: Object + ToSchema {
    /// E.g. `/users`.
    const COLLECTION: &'static str;
    /// E.g. `/users/{id}`.
    const ITEM: &'static str;
    /// The OpenAPI tag and the word in operation ids.
    const TAG: &'static str;
    /// The scope its writes need.
    const WRITE_SCOPE: crate::service::Scope = crate::service::Scope::Write;
    /// Whether it has fields that can change without changing its identity.
    const PATCHABLE: bool = true;
    /// Query filters its list takes, for the OpenAPI document.
    const FILTERS: &'static [(&'static str, &'static str)] = &[];

    /// The identifying fields an item path names, as a body fragment.
    fn identity(path: &PathParams) -> Map<String, Value>;

    /// The key an item path names.
    fn path_key(path: &PathParams) -> String;

    /// The object's item path, relative to its tenant.
    fn item_path(&self) -> String;

    /// Fields the collection path implies for a new object (a member's group).
    fn collection_identity(_path: &PathParams) -> Map<String, Value> {
        Map::new()
    }

    /// The key prefix a listing is limited to.
    fn list_prefix(_path: &PathParams, _query: &ListParams) -> Option<String> {
        None
    }

    /// Fills in what a client may leave out when creating through the collection.
    fn complete(_body: &mut Map<String, Value>) {}

    /// The object a nested collection belongs to (a permission set, for its permissions
    /// and members): its listing is what refers to it, and an item path names only what
    /// belongs to it.
    fn owner(_path: &PathParams) -> Option<ObjectKey> {
        None
    }

    /// Whether the object belongs where the item path puts it.
    fn within(&self, _path: &PathParams) -> bool {
        true
    }

    /// When the object stops holding, for the listing's window filters; `None` if never.
    fn ends(&self) -> Option<i64> {
        None
    }
}

pub(super) fn fields(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

pub(super) fn by_id(path: &PathParams) -> Map<String, Value> {
    fields(json!({"id": path.get("id")}))
}

/// Percent-encodes one path segment (permission names may hold `/` and `\\`).
pub(super) fn segment(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'.'
            | b'_'
            | b'~'
            | b':'
            | b'@'
            | b'+' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The kinds keyed by a single `id`.
macro_rules! keyed_by_id {
    () => {
        fn identity(path: &PathParams) -> Map<String, Value> {
            by_id(path)
        }

        fn path_key(path: &PathParams) -> String {
            path.get("id").to_string()
        }

        fn item_path(&self) -> String {
            format!("{}/{}", Self::COLLECTION, segment(&self.id))
        }
    };
}
pub(super) use keyed_by_id;

impl Routed for User {
    const COLLECTION: &'static str = "/users";
    const ITEM: &'static str = "/users/{id}";
    const TAG: &'static str = "users";

    keyed_by_id!();
}

impl Routed for Group {
    const COLLECTION: &'static str = "/groups";
    const ITEM: &'static str = "/groups/{id}";
    const TAG: &'static str = "groups";

    keyed_by_id!();
}

impl Routed for Member {
    const COLLECTION: &'static str = "/groups/{id}/members";
    const ITEM: &'static str = "/groups/{id}/members/{member_type}/{member_id}";
    const TAG: &'static str = "members";
    const FILTERS: &'static [(&'static str, &'static str)] = &[EXPIRES_WITHIN, EXPIRED];

    fn identity(path: &PathParams) -> Map<String, Value> {
        fields(json!({
            "group": path.get("id"),
            "member": {"type": path.get("member_type"), "id": path.get("member_id")},
        }))
    }

    fn path_key(path: &PathParams) -> String {
        format!(
            "{}/{}:{}",
            path.get("id"),
            path.get("member_type"),
            path.get("member_id")
        )
    }

    fn item_path(&self) -> String {
        format!(
            "/groups/{}/members/{}/{}",
            segment(&self.group),
            self.member.subject_type.as_str(),
            segment(&self.member.id)
        )
    }

    fn collection_identity(path: &PathParams) -> Map<String, Value> {
        fields(json!({"group": path.get("id")}))
    }

    fn list_prefix(path: &PathParams, _: &ListParams) -> Option<String> {
        Some(Member::prefix(path.get("id")))
    }

    fn ends(&self) -> Option<i64> {
        self.expires_at.map(|t| t.0)
    }
}

impl Routed for Role {
    const COLLECTION: &'static str = "/roles";
    const ITEM: &'static str = "/roles/{id}";
    const TAG: &'static str = "roles";

    keyed_by_id!();
}

impl Routed for Permission {
    const COLLECTION: &'static str = "/permissions";
    const ITEM: &'static str = "/permissions/{id}";
    const TAG: &'static str = "permissions";

    keyed_by_id!();
}

impl Routed for Resource {
    const COLLECTION: &'static str = "/resources";
    const ITEM: &'static str = "/resources/{resource_type}/{id}";
    const TAG: &'static str = "resources";
    const FILTERS: &'static [(&'static str, &'static str)] =
        &[("type", "Only resources of this type.")];

    fn identity(path: &PathParams) -> Map<String, Value> {
        fields(json!({"type": path.get("resource_type"), "id": path.get("id")}))
    }

    fn path_key(path: &PathParams) -> String {
        format!("{}/{}", path.get("resource_type"), path.get("id"))
    }

    fn item_path(&self) -> String {
        format!(
            "/resources/{}/{}",
            segment(&self.resource_type),
            segment(&self.id)
        )
    }

    fn list_prefix(_: &PathParams, query: &ListParams) -> Option<String> {
        query.resource_type.as_ref().map(|t| format!("{t}/"))
    }
}

impl Routed for Assignment {
    const COLLECTION: &'static str = "/role-assignments";
    const ITEM: &'static str = "/role-assignments/{subject_type}/{subject_id}/{role}";
    const TAG: &'static str = "role-assignments";
    const FILTERS: &'static [(&'static str, &'static str)] = &[
        (
            "subject_type",
            "With subject_id: only this subject's assignments (user or group).",
        ),
        (
            "subject_id",
            "With subject_type: only this subject's assignments.",
        ),
        EXPIRES_WITHIN,
        EXPIRED,
    ];

    fn identity(path: &PathParams) -> Map<String, Value> {
        fields(json!({
            "subject": {"type": path.get("subject_type"), "id": path.get("subject_id")},
            "role": path.get("role"),
        }))
    }

    fn path_key(path: &PathParams) -> String {
        format!(
            "{}:{}/{}",
            path.get("subject_type"),
            path.get("subject_id"),
            path.get("role")
        )
    }

    fn item_path(&self) -> String {
        format!(
            "/role-assignments/{}/{}/{}",
            self.subject.subject_type.as_str(),
            segment(&self.subject.id),
            segment(&self.role)
        )
    }

    fn list_prefix(_: &PathParams, query: &ListParams) -> Option<String> {
        match (&query.subject_type, &query.subject_id) {
            (Some(t), Some(id)) => Some(format!("{t}:{id}/")),
            _ => None,
        }
    }

    fn ends(&self) -> Option<i64> {
        self.expires_at.map(|t| t.0)
    }
}

impl Routed for Grant {
    const COLLECTION: &'static str = "/grants";
    const ITEM: &'static str = "/grants/{id}";
    const TAG: &'static str = "grants";
    const FILTERS: &'static [(&'static str, &'static str)] = &[EXPIRES_WITHIN, EXPIRED];

    keyed_by_id!();

    fn ends(&self) -> Option<i64> {
        self.expires_at.map(|t| t.0)
    }

    /// A grant created without an id gets a time-ordered one.
    fn complete(body: &mut Map<String, Value>) {
        body.entry("id")
            .or_insert_with(|| Value::String(crate::service::new_id("grt")));
    }
}

impl Routed for Label {
    const COLLECTION: &'static str = "/labels";
    const ITEM: &'static str = "/labels/{key}/{value}";
    const TAG: &'static str = "labels";

    fn identity(path: &PathParams) -> Map<String, Value> {
        fields(json!({"key": path.get("key"), "value": path.get("value")}))
    }

    fn path_key(path: &PathParams) -> String {
        Label::key_of(path.get("key"), path.get("value"))
    }

    fn item_path(&self) -> String {
        format!("/labels/{}/{}", segment(&self.key), segment(&self.value))
    }
}

impl Routed for Invite {
    const COLLECTION: &'static str = "/invites";
    const ITEM: &'static str = "/invites/{email}";
    const TAG: &'static str = "invites";

    fn identity(path: &PathParams) -> Map<String, Value> {
        fields(json!({"email": path.get("email")}))
    }

    fn path_key(path: &PathParams) -> String {
        path.get("email").to_string()
    }

    fn item_path(&self) -> String {
        format!("/invites/{}", segment(&self.email))
    }
}
