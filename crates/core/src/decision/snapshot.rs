//! The snapshot's data: nodes for users, groups, roles and resources, and the rules made
//! from grants, indexed for checks.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;
use thin_vec::ThinVec;

use super::cowmap::CowMap;
use crate::model::{Effect, Timestamp};
use crate::Kind;

/// A key stored inline when short (up to 24 bytes), as most user ids and resource keys are.
pub type Key = compact_str::CompactString;

/// An interned subject or resource: small, so that index keys hash fast.
pub type Id = u32;

/// The target id that stands for the whole tenant.
pub const TENANT: Id = 0;

/// One operation of a change record, as the store replays it.
#[derive(Debug, Clone)]
pub enum Op<B = Value> {
    Put { kind: Kind, body: B },
    Delete { kind: Kind, key: String },
}

/// The actions a privilege covers. A list is kept as one string, the actions joined by
/// newlines (which no action contains), so that matching reads one allocation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
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
            // Bytes, not `str::split(char)`: this runs for every rule a check reads.
            Actions::Some(list) => list
                .as_bytes()
                .split(|&b| b == b'\n')
                .any(|a| a == action.as_bytes()),
        }
    }
}

/// What a rule grants: literal actions, or a role's actions looked up when checked (so a
/// change to the role applies to its grants at once).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
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

#[derive(Debug, Clone)]
pub struct UserNode {
    pub id: Id,
    pub disabled: bool,
    pub groups: ThinVec<Arc<str>>,
    pub roles: ThinVec<Arc<str>>,
    /// The user, its groups transitively, and its roles with those they include; sorted.
    /// Those reached only for a while are in it too, and in `timed`.
    pub closure: Arc<[Id]>,
    /// The subjects of the closure reached only through time-bound memberships or role
    /// assignments, with when. `None` for a user who has none (most users): their checks
    /// read the closure as it is.
    pub timed: Option<Timed>,
}

/// When a user reaches the subjects it reaches only for a while: `(subject, from, until)`,
/// each span `[from, until)` in ms since the epoch, sorted by subject then `from`; a
/// subject's spans are disjoint. Flat, in one allocation, read in one pass beside the
/// closure.
pub type Timed = Arc<[(Id, i64, i64)]>;

/// How many subjects a closure taken at an instant keeps on the stack.
const INLINE: usize = 16;

/// A user's closure at an instant: borrowed when nothing in it is time-bound, else the
/// subjects reached then, on the stack unless there are many.
pub enum ClosureAt<'a> {
    All(&'a [Id]),
    Inline([Id; INLINE], usize),
    Heap(Vec<Id>),
}

impl ClosureAt<'_> {
    fn push(&mut self, id: Id) {
        match self {
            ClosureAt::Inline(ids, len) if *len < INLINE => {
                ids[*len] = id;
                *len += 1;
            }
            ClosureAt::Inline(ids, len) => {
                let mut all = ids[..*len].to_vec();
                all.push(id);
                *self = ClosureAt::Heap(all);
            }
            ClosureAt::Heap(all) => all.push(id),
            ClosureAt::All(_) => {}
        }
    }
}

impl std::ops::Deref for ClosureAt<'_> {
    type Target = [Id];

    #[inline]
    fn deref(&self) -> &[Id] {
        match self {
            ClosureAt::All(ids) => ids,
            ClosureAt::Inline(ids, len) => &ids[..*len],
            ClosureAt::Heap(ids) => ids,
        }
    }
}

impl UserNode {
    /// The closure at `at`: the subjects the user reaches then, sorted. Borrowed, with no
    /// work, for a user reached through nothing time-bound; else one pass over the
    /// closure and `timed` together, both sorted by subject.
    #[inline]
    pub fn closure_at(&self, at: i64) -> ClosureAt<'_> {
        let Some(timed) = &self.timed else {
            return ClosureAt::All(&self.closure);
        };
        let mut kept = ClosureAt::Inline([0; INLINE], 0);
        let mut t = 0;
        for &id in self.closure.iter() {
            while timed.get(t).is_some_and(|s| s.0 < id) {
                t += 1;
            }
            let mut held = timed.get(t).is_none_or(|s| s.0 != id);
            while let Some(&(_, from, until)) = timed.get(t).filter(|s| s.0 == id) {
                held |= from <= at && at < until;
                t += 1;
            }
            if held {
                kept.push(id);
            }
        }
        kept
    }

    /// When the user stops reaching `subject`, if the reach that holds at `at` ends.
    pub fn reach_ends(&self, subject: Id, at: i64) -> Option<i64> {
        self.timed
            .as_ref()?
            .iter()
            .find(|&&(id, from, until)| id == subject && from <= at && at < until)
            .map(|&(_, _, until)| until)
            .filter(|until| *until != i64::MAX)
    }
}

#[derive(Debug, Clone)]
pub struct GroupNode {
    pub id: Id,
    /// Groups this one is a member of.
    pub parents: ThinVec<Arc<str>>,
    pub users: ThinVec<Arc<str>>,
    pub groups: ThinVec<Arc<str>>,
    pub roles: ThinVec<Arc<str>>,
}

#[derive(Debug, Clone)]
pub struct RoleNode {
    pub id: Id,
    pub actions: Vec<Arc<str>>,
    pub includes: Vec<Arc<str>>,
    /// Its actions and those of every role it includes.
    pub covers: Actions,
}

/// A resource in the index. Most resources of a large tenant have no parent, no children
/// and no labels, so those sit behind one pointer: the node in the table stays small.
#[derive(Debug, Clone)]
pub struct ResourceNode {
    pub id: Id,
    /// The rules on this resource: the bucket `direct` holds under its id, kept here too so
    /// that checking a resource reads its rules without another lookup.
    pub rules: Option<Rules>,
    /// `None` when every part of it would be empty.
    links: Option<Box<ResourceLinks>>,
}

/// Where a resource sits in the hierarchy, and its labels.
#[derive(Debug, Clone, Default)]
pub struct ResourceLinks {
    pub parent: Option<Arc<str>>,
    /// Its parent, grandparent...: the ids of those the index holds.
    pub ancestors: Option<Arc<[Id]>>,
    pub children: ThinVec<Arc<str>>,
    pub labels: Option<Arc<BTreeMap<String, String>>>,
}

impl ResourceLinks {
    fn is_empty(&self) -> bool {
        self.parent.is_none()
            && self.ancestors.is_none()
            && self.children.is_empty()
            && self.labels.is_none()
    }
}

impl ResourceNode {
    pub fn new(id: Id, rules: Option<Rules>, links: ResourceLinks) -> ResourceNode {
        ResourceNode {
            id,
            rules,
            links: (!links.is_empty()).then(|| Box::new(links)),
        }
    }

    pub fn parent(&self) -> Option<&Arc<str>> {
        self.links.as_ref()?.parent.as_ref()
    }

    pub fn ancestors(&self) -> &[Id] {
        self.links
            .as_ref()
            .and_then(|l| l.ancestors.as_deref())
            .unwrap_or_default()
    }

    pub fn children(&self) -> &[Arc<str>] {
        self.links.as_ref().map_or(&[], |l| &l.children[..])
    }

    pub fn labels(&self) -> Option<&BTreeMap<String, String>> {
        self.links.as_ref()?.labels.as_deref()
    }

    /// Its links, to take them into a replacement node.
    pub fn take_links(&mut self) -> ResourceLinks {
        self.links.take().map(|l| *l).unwrap_or_default()
    }

    /// Changes its links; they are dropped again when left empty.
    pub fn change_links(&mut self, change: impl FnOnce(&mut ResourceLinks)) {
        let links = self.links.get_or_insert_with(Box::default);
        change(links);
        if links.is_empty() {
            self.links = None;
        }
    }
}

/// A grant as the index evaluates it, held once, in its bucket: its target's (tenant or
/// resource) or, for selector rules, its subject's. Nothing points to it but its bucket,
/// so a million grants cost a million of these and no more.
#[derive(Debug, Clone)]
pub struct Rule {
    pub subject: Id,
    pub effect: Effect,
    /// Shared by every rule granting the same (see `privileges`).
    pub privilege: Arc<Privilege>,
    pub grant: Arc<str>,
    pub target: RuleTarget,
    /// When the grant holds, if not always: boxed, so that a grant without a window costs
    /// one null pointer and its check one comparison.
    pub window: Option<Box<Window>>,
}

/// When a rule, a membership or an assignment holds: from `from` (inclusive) until
/// `until` (exclusive), in ms since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from: i64,
    pub until: i64,
}

impl Window {
    /// The window of an object with these bounds; `None` if it holds always.
    pub fn of(not_before: Option<Timestamp>, expires_at: Option<Timestamp>) -> Option<Window> {
        (not_before.is_some() || expires_at.is_some()).then(|| Window {
            from: not_before.map_or(i64::MIN, |t| t.0),
            until: expires_at.map_or(i64::MAX, |t| t.0),
        })
    }

    pub fn holds_at(&self, at: i64) -> bool {
        self.from <= at && at < self.until
    }
}

impl Rule {
    /// Whether the rule holds at `at`.
    #[inline]
    pub fn holds_at(&self, at: i64) -> bool {
        self.window.as_ref().is_none_or(|w| w.holds_at(at))
    }
}

/// Where a grant's rule is kept: in the bucket of a direct target (the tenant or a
/// resource), or in its subject's selector bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bucket {
    Direct(Id),
    Selector(Id),
}

pub type Rules = Arc<[Rule]>;

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
    /// Each grant's bucket, by grant id.
    pub(super) grants: CowMap<Arc<str>, Bucket>,
    /// The names of subjects (`user:alice`) by id, for explanations.
    pub(super) names: CowMap<Id, Arc<str>>,
    /// Strings many rules repeat (the resource types of label selectors), stored once and
    /// shared (never shrinks; small).
    pub(super) strings: CowMap<Arc<str>, Arc<str>>,
    /// Privileges, stored once and shared likewise.
    pub(super) privileges: CowMap<Arc<Privilege>, Arc<Privilege>>,
    /// Rules on the tenant or a resource, by target, each bucket sorted by subject.
    pub(super) direct: CowMap<Id, Rules>,
    /// Rules on label selectors and data paths, by subject.
    pub(super) selectors: CowMap<Id, Rules>,
    /// The windows of time-bound memberships and role assignments, by (member or holder,
    /// group or role): only those are here.
    pub(super) windows: CowMap<(Id, Id), Window>,
    /// The grants, memberships and role assignments whose window ends (`kind:key`), by the
    /// second it ends in, and each one's second: only time-bound objects are here.
    pub(super) ends: CowMap<i64, std::collections::BTreeSet<Arc<str>>>,
    pub(super) ends_of: CowMap<Arc<str>, i64>,
    /// The row filters of the grants that have one, by grant id: only those are here.
    pub(super) row_filters: CowMap<Arc<str>, Arc<str>>,
    /// The rules the change being applied links or unlinks, by bucket: each bucket is
    /// written once when the change is done (`Snapshot::apply`), so that a change of many
    /// grants on one target copies its bucket once, not once per grant. Empty between
    /// changes.
    pub(super) relinked: std::collections::HashMap<Bucket, Relinked>,
}

/// What a change does to one bucket: each grant's rule as the change leaves it (`None`:
/// taken out), and the resource the bucket is of, if one.
#[derive(Clone, Default)]
pub struct Relinked {
    pub(super) rules: std::collections::HashMap<Arc<str>, Option<Rule>>,
    pub(super) resource: Option<Arc<str>>,
}

impl Snapshot {
    pub fn new() -> Snapshot {
        Snapshot {
            next_id: TENANT + 1,
            ..Snapshot::default()
        }
    }

    /// Makes room for the objects a build is about to load, `(kind, how many)`: the tables
    /// are sized once instead of doubling their way there (every outgrown table is garbage
    /// as large as the one replacing it).
    pub fn reserve(&mut self, counts: &[(Kind, usize)]) {
        let count = |kind: Kind| -> usize {
            counts
                .iter()
                .filter(|(k, _)| *k == kind)
                .map(|(_, n)| n)
                .sum()
        };
        let (users, groups, roles) = (count(Kind::User), count(Kind::Group), count(Kind::Role));
        let (resources, grants) = (count(Kind::Resource), count(Kind::Grant));
        self.users.reserve(users);
        self.groups.reserve(groups);
        self.roles.reserve(roles);
        self.resources.reserve(resources);
        self.grants.reserve(grants);
        self.names.reserve(users + groups + roles);
        self.ids.reserve(users + groups + roles + resources);
        // At most one bucket per resource with grants on it.
        self.direct.reserve(resources.min(grants));
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

    /// The row filter of grant `id`, if it has one.
    pub fn row_filter(&self, id: &str) -> Option<&str> {
        self.row_filters.get(id).map(|f| &**f)
    }

    /// Every user's id, in no order.
    pub fn user_ids(&self) -> impl Iterator<Item = &str> {
        self.users.iter().map(|(id, _)| id.as_str())
    }

    pub fn resource_count(&self) -> usize {
        self.resources.len()
    }

    /// Whether the membership or role assignment from `from` to `to` (`user:bob`,
    /// `group:g`, `role:r`) holds at `at`: it has no window, or its window holds then.
    pub(super) fn link_holds(&self, from: &str, to: &str, at: i64) -> bool {
        self.windows.is_empty()
            || match (self.ids.get(from), self.ids.get(to)) {
                (Some(a), Some(b)) => self.windows.get(&(*a, *b)).is_none_or(|w| w.holds_at(at)),
                _ => true,
            }
    }

    /// Every group with its direct members at `at`: the enabled users and the groups whose
    /// membership holds then, each list sorted.
    pub fn group_members_at(&self, at: i64) -> BTreeMap<String, (Vec<String>, Vec<String>)> {
        let mut out = BTreeMap::new();
        for (id, group) in self.groups.iter() {
            let to = format!("group:{id}");
            let mut users: Vec<String> = group
                .users
                .iter()
                .filter(|u| self.users.get(&***u).is_some_and(|n| !n.disabled))
                .filter(|u| self.link_holds(&format!("user:{u}"), &to, at))
                .map(|u| u.to_string())
                .collect();
            let mut groups: Vec<String> = group
                .groups
                .iter()
                .filter(|g| self.link_holds(&format!("group:{g}"), &to, at))
                .map(|g| g.to_string())
                .collect();
            users.sort();
            groups.sort();
            out.insert(id.to_string(), (users, groups));
        }
        out
    }

    /// Whether `user` is `subject` (`group:g`, `role:r`) or reaches it at `at`: a group it
    /// belongs to, transitively, or a role it or those groups hold, with those roles
    /// include. A disabled user reaches nothing.
    pub fn reaches(&self, user: &str, subject: &str, at: i64) -> bool {
        let (Some(node), Some(id)) = (self.users.get(user), self.ids.get(subject)) else {
            return false;
        };
        !node.disabled && node.closure_at(at).binary_search(id).is_ok()
    }
}
