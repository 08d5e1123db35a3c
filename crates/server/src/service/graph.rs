//! The graphs that must stay acyclic and shallow: group nesting, role inclusion, resource
//! parents and permission-set parents. A write that would close a cycle is refused, and so
//! is one that would make a chain of inheritance longer than the tenant's limit (as
//! SpiceDB bounds its dispatch depth): every closure, cascade and explanation walks these
//! chains, so their length bounds the work one write or one check can cause. Read inside
//! the write transaction, so that two concurrent writes cannot together close a cycle (or
//! pass the limit) that neither would alone.

use std::collections::{BTreeSet, HashMap};

use grantd_core::model::{Member, PermissionSet, Resource, Role};
use grantd_core::{Kind, ObjectKey};
use grantd_store::WriteTx;

use super::ServiceResult;

/// What `node` inherits from directly: a group's parent groups, a role's included roles,
/// a resource's parent.
async fn successors(tx: &mut dyn WriteTx, node: &ObjectKey) -> ServiceResult<Vec<ObjectKey>> {
    let edges = match node.kind {
        Kind::Group => {
            let mut parents = Vec::new();
            for holder in tx.referencing(&node.to_string()).await? {
                if holder.kind == Kind::Member.as_str() && holder.field == "member" {
                    if let Some(member) = tx.get(&holder.kind, &holder.key).await? {
                        if let Ok(m) = serde_json::from_value::<Member>(member.body) {
                            parents.push(ObjectKey::new(Kind::Group, m.group));
                        }
                    }
                }
            }
            parents
        }
        Kind::Role => match tx.get(Kind::Role.as_str(), &node.key).await? {
            Some(stored) => serde_json::from_value::<Role>(stored.body)
                .map(|r| {
                    r.includes
                        .into_iter()
                        .map(|i| ObjectKey::new(Kind::Role, i))
                        .collect()
                })
                .unwrap_or_default(),
            None => Vec::new(),
        },
        Kind::Resource => match tx.get(Kind::Resource.as_str(), &node.key).await? {
            Some(stored) => serde_json::from_value::<Resource>(stored.body)
                .ok()
                .and_then(|r| r.parent)
                .map(|p| vec![p.object_key()])
                .unwrap_or_default(),
            None => Vec::new(),
        },
        Kind::PermissionSet => match tx.get(Kind::PermissionSet.as_str(), &node.key).await? {
            Some(stored) => serde_json::from_value::<PermissionSet>(stored.body)
                .ok()
                .and_then(|s| s.parent)
                .map(|p| vec![ObjectKey::new(Kind::PermissionSet, p)])
                .unwrap_or_default(),
            None => Vec::new(),
        },
        _ => Vec::new(),
    };
    Ok(edges)
}

/// What inherits from `node` directly: a group's member groups, the roles including a
/// role, a resource's children, a permission set's sub-sets.
async fn predecessors(tx: &mut dyn WriteTx, node: &ObjectKey) -> ServiceResult<Vec<ObjectKey>> {
    let (holder_kind, field) = match node.kind {
        Kind::Group => (Kind::Member, "group"),
        Kind::Role => (Kind::Role, "includes"),
        Kind::Resource => (Kind::Resource, "parent"),
        Kind::PermissionSet => (Kind::PermissionSet, "parent"),
        _ => return Ok(Vec::new()),
    };
    let mut found = Vec::new();
    for holder in tx.referencing(&node.to_string()).await? {
        if holder.kind != holder_kind.as_str() || !holder.field.starts_with(field) {
            continue;
        }
        if holder_kind == Kind::Member {
            // `group/group:member`: a member that is itself a group.
            if let Some((_, member)) = holder.key.split_once("/group:") {
                found.push(ObjectKey::new(Kind::Group, member.to_string()));
            }
        } else {
            found.push(ObjectKey::new(holder_kind, holder.key));
        }
    }
    Ok(found)
}

/// How large the graphs of one tenant may grow: what bounds the work of a write and of
/// a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GraphLimits {
    /// Longest chain of inheritance (group in group, role including role, resource under
    /// resource, set under set), counted in edges.
    pub max_depth: u32,
    /// Most roles one role includes directly.
    pub max_includes: u32,
    /// Most nodes the depth check of one write reads, each a read or two inside the write
    /// transaction (which on SQLite every tenant's writes wait behind): a write whose
    /// neighbourhood is larger is refused rather than checked slowly.
    pub max_walk: u32,
}

impl Default for GraphLimits {
    fn default() -> Self {
        GraphLimits {
            max_depth: 50,
            max_includes: 100,
            max_walk: 10_000,
        }
    }
}

/// Which way a chain is walked from a node.
#[derive(Debug, Clone, Copy)]
pub enum Direction {
    /// Towards what the node inherits from (parents, included roles).
    Up,
    /// Towards what inherits from it (members, children, roles including it).
    Down,
}

/// The number of edges of the longest chain from `start` in `direction`, walked level by
/// level; the walk stops as soon as it passes `limit`, and refuses to read more than
/// `limits.max_walk` nodes, so its cost is bounded whatever the graph behind it.
pub async fn longest_chain(
    tx: &mut dyn WriteTx,
    start: &ObjectKey,
    direction: Direction,
    limits: GraphLimits,
) -> ServiceResult<u32> {
    let limit = limits.max_depth;
    let mut level = BTreeSet::from([start.clone()]);
    let mut length = 0;
    let mut read = 0;
    while length <= limit {
        let mut next = BTreeSet::new();
        read += level.len();
        if read > limits.max_walk as usize {
            return Err(grantd_core::Invalid::field(
                "body",
                format!(
                    "the groups, roles, resources or sets this write would connect reach more than {} others within {limit} steps: too many to check against max_nesting_depth (max_graph_walk); connect smaller parts",
                    limits.max_walk
                ),
            )
            .into());
        }
        for node in &level {
            let step = match direction {
                Direction::Up => successors(tx, node).await?,
                Direction::Down => predecessors(tx, node).await?,
            };
            next.extend(step);
        }
        if next.is_empty() {
            break;
        }
        length += 1;
        level = next;
    }
    Ok(length)
}

/// A path of inheritance from `from` to `to`: the nodes after `from`, ending with `to`
/// (empty when they are the same node), if there is one.
pub async fn path_between(
    tx: &mut dyn WriteTx,
    from: &ObjectKey,
    to: &ObjectKey,
) -> ServiceResult<Option<Vec<ObjectKey>>> {
    if from == to {
        return Ok(Some(Vec::new()));
    }
    let mut came_from: HashMap<ObjectKey, ObjectKey> = HashMap::new();
    let mut seen: BTreeSet<ObjectKey> = BTreeSet::from([from.clone()]);
    let mut frontier = vec![from.clone()];
    while let Some(node) = frontier.pop() {
        for next in successors(tx, &node).await? {
            if !seen.insert(next.clone()) {
                continue;
            }
            came_from.insert(next.clone(), node.clone());
            if next == *to {
                let mut path = vec![next.clone()];
                let mut cursor = next;
                while let Some(prev) = came_from.get(&cursor) {
                    if prev == from {
                        break;
                    }
                    path.push(prev.clone());
                    cursor = prev.clone();
                }
                path.reverse();
                return Ok(Some(path));
            }
            frontier.push(next);
        }
    }
    Ok(None)
}
