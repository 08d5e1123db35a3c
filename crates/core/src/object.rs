//! What every stored object has in common: a kind, a key unique within its kind, validation,
//! and the references it holds to other objects.
//!
//! The store keeps objects as opaque documents with their references beside them; the
//! service uses the references to refuse dangling ones, to find cycles and to cascade
//! deletes, without a rule per kind.

use serde::{de::DeserializeOwned, Serialize};
use std::fmt;

use crate::Invalid;

/// The kinds of object a tenant holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Tenant,
    User,
    Group,
    Member,
    Role,
    Permission,
    Resource,
    Assignment,
    Grant,
    Label,
    Invite,
    PermissionSet,
    DataPermission,
    SetMember,
    SecurityAdmin,
    DataSource,
}

impl Kind {
    pub const ALL: [Kind; 16] = [
        Kind::Tenant,
        Kind::User,
        Kind::Group,
        Kind::Member,
        Kind::Role,
        Kind::Permission,
        Kind::Resource,
        Kind::Assignment,
        Kind::Grant,
        Kind::Label,
        Kind::Invite,
        Kind::PermissionSet,
        Kind::DataPermission,
        Kind::SetMember,
        Kind::SecurityAdmin,
        Kind::DataSource,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Tenant => "tenant",
            Kind::User => "user",
            Kind::Group => "group",
            Kind::Member => "member",
            Kind::Role => "role",
            Kind::Permission => "permission",
            Kind::Resource => "resource",
            Kind::Assignment => "assignment",
            Kind::Grant => "grant",
            Kind::Label => "label",
            Kind::Invite => "invite",
            Kind::PermissionSet => "permission_set",
            Kind::DataPermission => "data_permission",
            Kind::SetMember => "set_member",
            Kind::SecurityAdmin => "security_admin",
            Kind::DataSource => "data_source",
        }
    }

    pub fn parse(value: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == value)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An object's identity within a tenant: its kind and its key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey {
    pub kind: Kind,
    pub key: String,
}

impl ObjectKey {
    pub fn new(kind: Kind, key: impl Into<String>) -> Self {
        Self {
            kind,
            key: key.into(),
        }
    }

    /// Parses the `kind:key` form written by `Display`.
    pub fn parse(value: &str) -> Option<ObjectKey> {
        let (kind, key) = value.split_once(':')?;
        Some(ObjectKey::new(Kind::parse(kind)?, key))
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.key)
    }
}

/// What deleting the referenced object does to the object holding the reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDelete {
    /// The holder is deleted with it (a user's memberships and grants go with the user).
    Cascade,
    /// The delete is refused while the holder exists (a role included by another role).
    Restrict,
}

/// A reference from one object to another, named by the field that holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ref {
    pub field: &'static str,
    pub target: ObjectKey,
    pub on_delete: OnDelete,
}

impl Ref {
    pub fn cascade(field: &'static str, target: ObjectKey) -> Self {
        Self {
            field,
            target,
            on_delete: OnDelete::Cascade,
        }
    }

    pub fn restrict(field: &'static str, target: ObjectKey) -> Self {
        Self {
            field,
            target,
            on_delete: OnDelete::Restrict,
        }
    }
}

/// A kind of object the store keeps and the API serves.
pub trait Object: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    const KIND: Kind;

    /// The key unique within the kind and tenant, derived from the object's identifying fields.
    fn key(&self) -> String;

    /// Checks every field; names each wrong one.
    fn validate(&self) -> Result<(), Invalid>;

    /// The objects this one points at; each must exist when it is written.
    fn refs(&self) -> Vec<Ref> {
        Vec::new()
    }

    /// Edges of a graph that must stay acyclic (group nesting, role inclusion, resource
    /// parents), as `(from, to)` where `from` inherits from `to`.
    fn edges(&self) -> Vec<(ObjectKey, ObjectKey)> {
        Vec::new()
    }

    fn object_key(&self) -> ObjectKey {
        ObjectKey::new(Self::KIND, self.key())
    }
}
