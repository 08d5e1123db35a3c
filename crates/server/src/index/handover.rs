//! The change records this node's writes hand to the follower (`Indexes::committed_here`),
//! held until applied: the follower applies those that lead on from an index's revision of
//! its incarnation without reading them back from the store. Holding them is only a
//! shortcut: whatever is not held (dropped past the bound, another node's commit, a gap) is
//! read from the store as before.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use grantd_store::{ChangeRecord, Committed};

/// Change records held for one tenant at most; past that the oldest are dropped.
const AT_MOST: usize = 4096;

/// A change record committed on this node, of one incarnation of its tenant.
struct Held {
    incarnation: i64,
    change: Arc<ChangeRecord>,
}

/// The change records held, by tenant and revision.
#[derive(Default)]
pub(super) struct HandedOver(Mutex<HashMap<String, BTreeMap<i64, Held>>>);

impl HandedOver {
    /// Holds the change records a write committed on this node was handed.
    pub(super) fn hold(&self, tenant: &str, committed: &Committed) {
        if committed.changes.is_empty() {
            return;
        }
        let mut tenants = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let held = tenants.entry(tenant.to_string()).or_default();
        // Each member of a group hands over the group's records: the first one holds them
        // (in place of any of another incarnation).
        for change in committed.changes.iter() {
            let same = |h: &Held| h.incarnation == committed.incarnation;
            if !held.get(&change.revision).is_some_and(same) {
                let change = Held {
                    incarnation: committed.incarnation,
                    change: change.clone(),
                };
                held.insert(change.change.revision, change);
            }
        }
        while held.len() > AT_MOST {
            held.pop_first();
        }
    }

    /// Takes the change records held for `incarnation` of `tenant` that lead on from
    /// `revision` without a gap, forgetting those at or before it.
    pub(super) fn take(
        &self,
        tenant: &str,
        incarnation: i64,
        revision: i64,
    ) -> Vec<Arc<ChangeRecord>> {
        let mut tenants = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let Some(held) = tenants.get_mut(tenant) else {
            return Vec::new();
        };
        let mut next = revision + 1;
        let mut taken = Vec::new();
        while let Some(first) = held.first_entry() {
            let (&at, change) = (first.key(), first.get());
            if at < next {
                first.remove();
            } else if at == next && change.incarnation == incarnation {
                taken.push(first.remove().change);
                next += 1;
            } else {
                break;
            }
        }
        if held.is_empty() {
            tenants.remove(tenant);
        }
        taken
    }

    /// Forgets the change records held for `tenant` up to `revision`, or all of them (the
    /// tenant is gone).
    pub(super) fn forget(&self, tenant: &str, revision: Option<i64>) {
        let mut tenants = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let Some(held) = tenants.get_mut(tenant) else {
            return;
        };
        match revision {
            Some(revision) => *held = held.split_off(&(revision + 1)),
            None => held.clear(),
        }
        if held.is_empty() {
            tenants.remove(tenant);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn committed(incarnation: i64, revisions: &[i64]) -> Committed {
        let changes: Vec<Arc<ChangeRecord>> = revisions
            .iter()
            .map(|&revision| {
                Arc::new(ChangeRecord {
                    revision,
                    at: 0,
                    ops: Vec::new(),
                })
            })
            .collect();
        Committed {
            revision: revisions[0],
            incarnation,
            changes: changes.into(),
        }
    }

    fn revisions(changes: &[Arc<ChangeRecord>]) -> Vec<i64> {
        changes.iter().map(|c| c.revision).collect()
    }

    #[test]
    fn only_what_leads_on_without_a_gap_is_taken() {
        let held = HandedOver::default();
        held.hold("t", &committed(7, &[3, 4]));
        held.hold("t", &committed(7, &[6]));
        // Revision 5 was another node's: nothing past the gap.
        assert_eq!(revisions(&held.take("t", 7, 2)), vec![3, 4]);
        assert!(held.take("t", 7, 4).is_empty(), "5 is not held");
        // Once read from the store, what follows is taken.
        assert_eq!(revisions(&held.take("t", 7, 5)), vec![6]);
        assert!(
            held.0.lock().expect("lock").is_empty(),
            "nothing left behind"
        );
    }

    #[test]
    fn another_incarnation_or_tenant_is_never_taken() {
        let held = HandedOver::default();
        held.hold("t", &committed(7, &[3]));
        assert!(held.take("t", 8, 2).is_empty(), "another incarnation");
        assert!(held.take("u", 7, 2).is_empty(), "another tenant");
        assert_eq!(revisions(&held.take("t", 7, 2)), vec![3]);
    }

    #[test]
    fn what_the_index_has_is_forgotten_and_the_held_are_bounded() {
        let held = HandedOver::default();
        held.hold("t", &committed(7, &[3, 4, 5]));
        held.forget("t", Some(4));
        assert_eq!(revisions(&held.take("t", 7, 4)), vec![5]);
        held.hold("t", &committed(7, &[6]));
        held.forget("t", None);
        assert!(held.take("t", 7, 5).is_empty(), "the tenant is gone");

        let many: Vec<i64> = (1..=AT_MOST as i64 + 10).collect();
        held.hold("t", &committed(7, &many));
        assert!(held.take("t", 7, 0).is_empty(), "the oldest were dropped");
        assert_eq!(held.take("t", 7, 10).len(), AT_MOST);
    }
}
