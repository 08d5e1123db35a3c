//! The check: every rule whose subject is in the user's closure, whose target covers the
//! resource and whose privilege covers the action; any DENY wins, then any ALLOW, else no
//! match. This is the hot path: no allocation, a few hash probes per subject.

use std::collections::BTreeMap;

use super::snapshot::{pack, Privilege, Rule, RuleTarget, Snapshot, TENANT};
use crate::model::Effect;

/// What a check asks about.
#[derive(Debug, Clone, Copy)]
pub enum ResourceQuery<'a> {
    /// A resource by `type/id`. `labels` and `resource_type` stand in for a resource the
    /// index does not hold; a stored resource's own type and labels are used otherwise.
    Object {
        key: &'a str,
        labels: Option<&'a BTreeMap<String, String>>,
    },
    /// A data object by path, such as `hive/c1/sales/public/orders`.
    DataPath(&'a str),
}

#[derive(Debug, Clone, Copy)]
pub struct CheckQuery<'a> {
    pub user: &'a str,
    pub action: &'a str,
    pub resource: ResourceQuery<'a>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// A DENY rule matched, or the user is disabled.
    Deny,
    /// No rule matched: not allowed.
    NoMatch,
}

impl Verdict {
    pub fn allowed(self) -> bool {
        self == Verdict::Allow
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Deny => "deny",
            Verdict::NoMatch => "no_match",
        }
    }
}

/// Whether a pattern covers a path: segment by segment over the pattern's length (`*`
/// matches any one segment), so a grant on a database covers its tables and columns.
pub(super) fn path_covers(pattern: &[std::sync::Arc<str>], path: &str) -> bool {
    let mut segments = path.split('/');
    pattern.iter().all(|p| match segments.next() {
        Some(s) => &**p == "*" || &**p == s,
        None => false,
    })
}

fn labels_cover(selector: &BTreeMap<String, String>, labels: &BTreeMap<String, String>) -> bool {
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

impl Snapshot {
    pub(super) fn privilege_covers(&self, rule: &Rule, action: &str) -> bool {
        match &rule.privilege {
            Privilege::Actions(actions) => actions.covers(action),
            Privilege::Role(role) => self
                .roles
                .get(&**role)
                .is_some_and(|r| r.covers.covers(action)),
        }
    }

    /// Calls `visit` with each rule that matches the query, for a user's closure, until it
    /// returns false.
    pub(super) fn matching_rules(
        &self,
        closure: &[u32],
        query: &CheckQuery<'_>,
        mut visit: impl FnMut(&Rule) -> bool,
    ) {
        let action = query.action;
        match query.resource {
            ResourceQuery::Object { key, labels } => {
                let node = self.resources.get(key);
                let ancestors: &[u32] = node.map(|n| &n.ancestors[..]).unwrap_or(&[]);
                let resource_type = node
                    .map(|n| &*n.resource_type)
                    .or_else(|| key.split_once('/').map(|(t, _)| t));
                let labels = node.map(|n| &*n.labels).or(labels);
                for &subject in closure {
                    for &target in ancestors.iter().chain(std::iter::once(&TENANT)) {
                        if let Some(rules) = self.direct.get(&pack(target, subject)) {
                            for rule in rules.iter() {
                                if self.privilege_covers(rule, action) && !visit(rule) {
                                    return;
                                }
                            }
                        }
                    }
                    let Some(rules) = self.selectors.get(&subject) else {
                        continue;
                    };
                    for rule in rules.iter() {
                        let RuleTarget::Labels {
                            resource_type: wanted,
                            labels: selector,
                        } = &rule.target
                        else {
                            continue;
                        };
                        let type_ok = wanted.as_deref().is_none_or(|w| Some(w) == resource_type);
                        if type_ok
                            && labels.is_some_and(|l| labels_cover(selector, l))
                            && self.privilege_covers(rule, action)
                            && !visit(rule)
                        {
                            return;
                        }
                    }
                }
            }
            ResourceQuery::DataPath(path) => {
                for &subject in closure {
                    if let Some(rules) = self.direct.get(&pack(TENANT, subject)) {
                        for rule in rules.iter() {
                            if self.privilege_covers(rule, action) && !visit(rule) {
                                return;
                            }
                        }
                    }
                    let Some(rules) = self.selectors.get(&subject) else {
                        continue;
                    };
                    for rule in rules.iter() {
                        let RuleTarget::DataPath(pattern) = &rule.target else {
                            continue;
                        };
                        if path_covers(pattern, path)
                            && self.privilege_covers(rule, action)
                            && !visit(rule)
                        {
                            return;
                        }
                    }
                }
            }
        }
    }

    /// May the user do the action on the resource?
    pub fn check(&self, query: &CheckQuery<'_>) -> Verdict {
        let Some(user) = self.users.get(query.user) else {
            return Verdict::NoMatch;
        };
        if user.disabled {
            return Verdict::Deny;
        }
        let mut verdict = Verdict::NoMatch;
        self.matching_rules(&user.closure, query, |rule| match rule.effect {
            Effect::Deny => {
                verdict = Verdict::Deny;
                false
            }
            Effect::Allow => {
                verdict = Verdict::Allow;
                true
            }
        });
        verdict
    }
}
