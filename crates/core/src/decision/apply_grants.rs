//! Applying a grant: the rule it becomes, filed in the bucket its target selects (the
//! tenant, a resource, a label, a resource type or a data path), with its privilege shared
//! between the grants that name the same one.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::snapshot::{
    Actions, Bucket, LabelSelector, Privilege, Rule, RuleTarget, Rules, Snapshot, Window, TENANT,
};
use crate::model::{Grant, Privilege as GrantPrivilege, Target, Timestamp};
use crate::{Kind, ObjectKey};

impl Snapshot {
    pub(super) fn index_grant(&mut self, grant: &Grant) {
        let subject = self.id_of(grant.subject.subject_type.kind(), &grant.subject.id);
        let privilege = self.shared_privilege(match &grant.privilege {
            GrantPrivilege::Role { id } => Privilege::Role(Arc::from(id.as_str())),
            GrantPrivilege::Permission { id } => {
                Privilege::Actions(Actions::from_list(std::slice::from_ref(id)))
            }
            GrantPrivilege::Actions { actions } => Privilege::Actions(Actions::from_list(actions)),
        });
        let (target, bucket) = match &grant.target {
            Target::Tenant => (RuleTarget::Tenant, Bucket::Direct(TENANT)),
            Target::Resource { resource } => {
                let (id, name) = self.named_id(Kind::Resource, &resource.key());
                (RuleTarget::Resource(name), Bucket::Direct(id))
            }
            Target::Labels {
                resource_type,
                labels,
            } => (
                RuleTarget::Labels(Box::new(LabelSelector {
                    resource_type: resource_type.as_deref().map(|t| self.shared(t)),
                    labels: labels.clone(),
                })),
                Bucket::Selector(subject),
            ),
            Target::DataPath { pattern } => (
                RuleTarget::DataPath(pattern.split('/').map(Arc::from).collect()),
                Bucket::Selector(subject),
            ),
        };
        let grant_id: Arc<str> = Arc::from(grant.id.as_str());
        self.grants.insert(grant_id.clone(), bucket);
        if let Some(filter) = &grant.row_filter {
            self.row_filters
                .insert(grant_id.clone(), Arc::from(filter.as_str()));
        }
        let rule = Rule {
            subject,
            effect: grant.effect,
            privilege,
            grant: grant_id.clone(),
            target,
            window: Window::of(grant.not_before, grant.expires_at).map(Box::new),
        };
        self.index_end(
            &ObjectKey::new(Kind::Grant, grant.id.as_str()),
            grant.expires_at,
        );
        self.link_rule(bucket, &grant_id, Some(rule));
    }

    /// Files `object` in the index of ends under `end`, or takes it out when `None`.
    pub(super) fn index_end(&mut self, object: &ObjectKey, end: Option<Timestamp>) {
        // Changed in place (a second's set is copied only when a snapshot still shares
        // its shard), so that many objects ending in one second cost what one does each.
        let name: Arc<str> = Arc::from(object.to_string());
        if let Some(second) = self.ends_of.remove(&name) {
            let mut emptied = false;
            self.ends.update(&second, |names| {
                names.remove(&name);
                emptied = names.is_empty();
            });
            if emptied {
                self.ends.remove(&second);
            }
        }
        if let Some(end) = end {
            let second = end.0.div_euclid(1000);
            self.ends_of.insert(name.clone(), second);
            if self.ends.get(&second).is_some() {
                self.ends.update(&second, |names| {
                    names.insert(name);
                });
            } else {
                self.ends.insert(second, BTreeSet::from([name]));
            }
        }
    }

    /// The grants, memberships and role assignments whose window ends in `[from, to)` (ms
    /// since the epoch), by the second they end in: what a node records as expired once
    /// `to` has come.
    pub fn ended(&self, from: i64, to: i64) -> Vec<ObjectKey> {
        let (first, last) = (from.div_euclid(1000), to.div_euclid(1000));
        let seconds = last.saturating_sub(first);
        let mut found: Vec<Arc<str>> = if seconds as usize > self.ends.len() {
            self.ends
                .iter()
                .filter(|(s, _)| (first..=last).contains(*s))
                .flat_map(|(_, ids)| ids.iter().cloned())
                .collect()
        } else {
            (first..=last)
                .filter_map(|s| self.ends.get(&s))
                .flat_map(|ids| ids.iter().cloned())
                .collect()
        };
        found.sort();
        found.iter().filter_map(|n| ObjectKey::parse(n)).collect()
    }

    /// The one shared copy of a privilege, so that the many rules granting `read` hold a
    /// pointer to the same one.
    fn shared_privilege(&mut self, privilege: Privilege) -> Arc<Privilege> {
        if let Some(shared) = self.privileges.get(&privilege) {
            return shared.clone();
        }
        let privilege = Arc::new(privilege);
        self.privileges.insert(privilege.clone(), privilege.clone());
        privilege
    }

    pub(super) fn unindex_grant(&mut self, id: &str) {
        self.index_end(&ObjectKey::new(Kind::Grant, id), None);
        self.row_filters.remove(id);
        if let Some(bucket) = self.grants.remove(id) {
            self.link_rule(bucket, id, None);
        }
    }

    /// Takes grant `id`'s rule out of `bucket` and puts `rule` in its place, if any, when
    /// the change is written (`write_relinked`). A target's bucket is sorted by subject (so
    /// that a check can search a large one); a resource's node holds its bucket too.
    fn link_rule(&mut self, bucket: Bucket, id: &str, rule: Option<Rule>) {
        let relinked = self.relinked.entry(bucket).or_default();
        if let Some(RuleTarget::Resource(name)) = rule.as_ref().map(|r| &r.target) {
            relinked.resource = Some(name.clone());
        }
        relinked.rules.insert(Arc::from(id), rule);
    }

    /// Writes each bucket the change relinked, once: its rules but those the change
    /// touched, then the change's, sorted by subject.
    pub(super) fn write_relinked(&mut self) {
        for (bucket, relinked) in std::mem::take(&mut self.relinked) {
            let (map, key) = match bucket {
                Bucket::Direct(target) => (&mut self.direct, target),
                Bucket::Selector(subject) => (&mut self.selectors, subject),
            };
            let mut resource = relinked.resource;
            let mut rules: Vec<Rule> = Vec::new();
            for r in map.get(&key).iter().flat_map(|b| b.iter()) {
                if relinked.rules.contains_key(&r.grant) {
                    if let RuleTarget::Resource(name) = &r.target {
                        resource = Some(name.clone());
                    }
                } else {
                    rules.push(r.clone());
                }
            }
            rules.extend(relinked.rules.into_values().flatten());
            rules.sort_by(|a, b| (a.subject, &a.grant).cmp(&(b.subject, &b.grant)));
            let kept: Option<Rules> = (!rules.is_empty()).then(|| Arc::from(rules));
            match &kept {
                Some(rules) => map.insert(key, rules.clone()),
                None => map.remove(&key),
            };
            if let Some(name) = resource {
                let key = name.split_once(':').map_or("", |(_, key)| key);
                self.resources.update(key, |n| n.rules = kept);
            }
        }
    }
}
