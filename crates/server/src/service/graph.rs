//! Cycle detection for the graphs that must stay acyclic: group nesting, role inclusion and
//! resource parents. Read inside the write transaction, so that two concurrent writes
//! cannot together close a cycle that neither would alone.

use std::collections::{BTreeSet, HashMap};

use grantd_core::model::{Member, Resource, Role};
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
        _ => Vec::new(),
    };
    Ok(edges)
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
