//! The snapshot's data: nodes for users, groups, roles and resources, and the rules made
//! from grants, indexed for checks.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use super::cowmap::CowMap;
use crate::model::Effect;
use crate::Kind;

/// A key stored inline when short (up to 24 bytes), as most user ids and resource keys are.
pub type Key = compact_str::CompactString;

/// An interned subject or resource: small, so that index keys hash fast.
pub type Id = u32;

/// The target id that stands for the whole tenant.
pub const TENANT: Id = 0;

/// One operation of a change record, as the store replays it.
#[derive(Debug, Clone)]
pub enum Op {
    Put { kind: Kind, body: Value },
    Delete { kind: Kind, key: String },
}

/// The actions a privilege covers. A list is kept as one string, the actions joined by
/// newlines (which no action contains), so that matching reads one allocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Actions {
    All,
    Some(Arc<str>),
}

impl Actions {
    /// `*` or `ALL` anywhere in the list covers every action.
    pub fn from_list<S: AsRef<str>>(actions: &[S]) -> Actions {
        if actions.iter().any(|a| matches!(a.as_ref(), "*" | "ALL")) {
            Actions::All
        } else {
            let joined: Vec<&str> = actions.iter().map(AsRef::as_ref).collect();
            Actions::Some(Arc::from(joined.join("\n").as_str()))
        }
    }

    pub fn covers(&self, action: &str) -> bool {
        match self {
            Actions::All => true,
            Actions::Some(list) => list.split('\n').any(|a| a == action),
        }
    }
}

/// What a rule grants: literal actions, or a role's actions looked up when checked (so a
/// change to the role applies to its grants at once).
#[derive(Debug, Clone)]
pub enum Privilege {
    Actions(Actions),
    Role(Arc<str>),
}

#[derive(Debug, Clone)]
pub enum RuleTarget {
    Tenant,
    /// The resource's name in `ids`, `resource:type/id` (shared, not copied).
    Resource(Arc<str>),
    Labels(Box<LabelSelector>),
    DataPath(Arc<[Arc<str>]>),
}

#[derive(Debug, Clone)]
pub struct LabelSelector {
    pub resource_type: Option<Arc<str>>,
    pub labels: BTreeMap<String, String>,
}

/// A grant as the index evaluates it.
#[derive(Debug)]
pub struct Rule {
    pub grant: Arc<str>,
    pub subject: Id,
    /// The tenant or resource id its bucket is keyed by, for rules on those.
    pub direct_target: Option<Id>,
    /// `user:alice`, for explanations: the subject's name in `ids`, shared.
    pub subject_key: Arc<str>,
    pub target: RuleTarget,
}

#[derive(Debug, Clone)]
pub struct UserNode {
    pub id: Id,
    pub disabled: bool,
    pub groups: Vec<Arc<str>>,
    pub roles: Vec<Arc<str>>,
    /// The user, its groups transitively, and its roles with those they include; sorted.
    pub closure: Arc<[Id]>,
}

#[derive(Debug, Clone)]
pub struct GroupNode {
    pub id: Id,
    /// Groups this one is a member of.
    pub parents: Vec<Arc<str>>,
    pub users: Vec<Arc<str>>,
    pub groups: Vec<Arc<str>>,
    pub roles: Vec<Arc<str>>,
}

#[derive(Debug, Clone)]
pub struct RoleNode {
    pub id: Id,
    pub actions: Vec<Arc<str>>,
    pub includes: Vec<Arc<str>>,
    /// Its actions and those of every role it includes.
    pub covers: Actions,
}

#[derive(Debug, Clone)]
pub struct ResourceNode {
    pub id: Id,
    pub resource_type: Arc<str>,
    pub parent: Option<Arc<str>>,
    /// `None` when it has no labels.
    pub labels: Option<Arc<BTreeMap<String, String>>>,
    pub children: Vec<Arc<str>>,
    /// The rules on this resource: the bucket `direct` holds under its id, kept here too so
    /// that checking a resource reads its rules without another lookup.
    pub rules: Option<Rules>,
    /// Its parent, grandparent...; `None` for a resource with no parent.
    pub ancestors: Option<Arc<[Id]>>,
}

/// A rule in a bucket, with what a check reads of it beside it (subject, effect,
/// privilege), so that deciding reads no `Rule`; explanations follow `rule`.
#[derive(Debug, Clone)]
pub struct RuleRef {
    pub subject: Id,
    pub effect: Effect,
    pub privilege: Privilege,
    pub rule: Arc<Rule>,
}

pub type Rules = Arc<[RuleRef]>;

/// One tenant's decision index at one revision. Cloning is cheap; changing a clone leaves
/// the original as it was.
#[derive(Clone, Default)]
pub struct Snapshot {
    pub(super) revision: i64,
    pub(super) next_id: Id,
    /// `kind:key` to id, for every subject and resource.
    pub(super) ids: CowMap<Arc<str>, Id>,
    /// Keyed by an inline string, so that finding a user reads no second allocation.
    pub(super) users: CowMap<Key, UserNode>,
    pub(super) groups: CowMap<Arc<str>, GroupNode>,
    pub(super) roles: CowMap<Arc<str>, RoleNode>,
    pub(super) resources: CowMap<Key, ResourceNode>,
    pub(super) grants: CowMap<Arc<str>, Arc<Rule>>,
    /// Strings many nodes and rules repeat (action lists, resource types), stored once and
    /// shared (never shrinks; small).
    pub(super) strings: CowMap<Arc<str>, Arc<str>>,
    /// Rules on the tenant or a resource, by target, each bucket sorted by subject.
    pub(super) direct: CowMap<Id, Rules>,
    /// Rules on label selectors and data paths, by subject.
    pub(super) selectors: CowMap<Id, Rules>,
}

impl Snapshot {
    pub fn new() -> Snapshot {
        Snapshot {
            next_id: TENANT + 1,
            ..Snapshot::default()
        }
    }

    /// The last revision applied.
    pub fn revision(&self) -> i64 {
        self.revision
    }

    pub fn grant_count(&self) -> usize {
        self.grants.len()
    }

    pub fn user_count(&self) -> usize {
        self.users.len()
    }

    pub fn resource_count(&self) -> usize {
        self.resources.len()
    }

    /// Whether `user` is `subject` (`group:g`, `role:r`) or reaches it: a group it belongs
    /// to, transitively, or a role it or those groups hold, with those roles include.
    /// A disabled user reaches nothing.
    pub fn reaches(&self, user: &str, subject: &str) -> bool {
        let (Some(node), Some(id)) = (self.users.get(user), self.ids.get(subject)) else {
            return false;
        };
        !node.disabled && node.closure.binary_search(id).is_ok()
    }
}
