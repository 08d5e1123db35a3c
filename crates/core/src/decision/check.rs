//! The check: every rule whose subject is in the user's closure, whose target covers the
//! resource and whose privilege covers the action; any DENY wins, then any ALLOW, else no
//! match. This is the hot path: no allocation, a few hash probes per subject.

use std::collections::BTreeMap;

use super::snapshot::{Id, Privilege, Rule, RuleTarget, Rules, Snapshot, TENANT};

/// The labels of a stored resource that has none.
static EMPTY: BTreeMap<String, String> = BTreeMap::new();

/// Up to this many rules on one target are scanned; more are binary-searched by subject.
const SCAN: usize = 16;
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
    /// When the question is asked (ms since the epoch): a grant outside its window at that
    /// instant does not match.
    pub at: i64,
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
    pub(super) fn privilege_covers(&self, privilege: &Privilege, action: &str) -> bool {
        match privilege {
            Privilege::Actions(actions) => actions.covers(action),
            Privilege::Role(role) => self
                .roles
                .get(&**role)
                .is_some_and(|r| r.covers.covers(action)),
        }
    }

    /// Visits the rules on `target` whose subject is in `closure` (sorted) and whose
    /// privilege covers `action`; false once `visit` has asked to stop.
    fn visit_target(
        &self,
        target: Id,
        closure: &[Id],
        action: &str,
        visit: &mut impl FnMut(&Rule) -> bool,
    ) -> bool {
        self.visit_rules(self.direct.get(&target), closure, action, visit)
    }

    /// Visits the rules of a bucket whose subject is in `closure` (sorted) and whose
    /// privilege covers `action`; false once `visit` has asked to stop.
    fn visit_rules(
        &self,
        rules: Option<&Rules>,
        closure: &[Id],
        action: &str,
        visit: &mut impl FnMut(&Rule) -> bool,
    ) -> bool {
        let Some(rules) = rules else { return true };
        let mut each = |r: &Rule| !self.privilege_covers(&r.privilege, action) || visit(r);
        if rules.len() <= SCAN {
            rules
                .iter()
                .filter(|r| closure.contains(&r.subject))
                .all(&mut each)
        } else {
            closure.iter().all(|&s| {
                let start = rules.partition_point(|r| r.subject < s);
                rules[start..]
                    .iter()
                    .take_while(|r| r.subject == s)
                    .all(&mut each)
            })
        }
    }

    /// Visits the selector rules of the closure's subjects that `covers` accepts.
    fn visit_selectors(
        &self,
        closure: &[Id],
        action: &str,
        covers: impl Fn(&RuleTarget) -> bool,
        visit: &mut impl FnMut(&Rule) -> bool,
    ) -> bool {
        if self.selectors.is_empty() {
            return true;
        }
        closure
            .iter()
            .all(|subject| match self.selectors.get(subject) {
                Some(rules) => rules
                    .iter()
                    .filter(|r| covers(&r.target) && self.privilege_covers(&r.privilege, action))
                    .all(&mut *visit),
                None => true,
            })
    }

    /// Calls `visit` with each rule that matches the query, for a user's closure, until it
    /// returns false.
    pub(super) fn matching_rules(
        &self,
        closure: &[Id],
        query: &CheckQuery<'_>,
        mut visit: impl FnMut(&Rule) -> bool,
    ) {
        let action = query.action;
        // A rule outside its window at the question's instant is passed over.
        let at = query.at;
        let mut visit = |rule: &Rule| !rule.holds_at(at) || visit(rule);
        match query.resource {
            ResourceQuery::Object { key, labels } => {
                let node = self.resources.get(key);
                if !self.visit_rules(
                    node.and_then(|n| n.rules.as_ref()),
                    closure,
                    action,
                    &mut visit,
                ) {
                    return;
                }
                // Read the ancestors only when there is a parent: most resources have none.
                let ancestors: &[Id] = node.map_or(&[], |n| n.ancestors());
                let on_targets = ancestors
                    .iter()
                    .chain(std::iter::once(&TENANT))
                    .all(|&target| self.visit_target(target, closure, action, &mut visit));
                if !on_targets {
                    return;
                }
                // The type and labels are read only for label selectors: most checks have none.
                let covers = |target: &RuleTarget| match target {
                    RuleTarget::Labels(selector) => {
                        let labels = match node {
                            Some(n) => Some(n.labels().unwrap_or(&EMPTY)),
                            None => labels,
                        };
                        selector
                            .resource_type
                            .as_deref()
                            .is_none_or(|w| key.split_once('/').is_some_and(|(t, _)| t == w))
                            && labels.is_some_and(|l| labels_cover(&selector.labels, l))
                    }
                    _ => false,
                };
                self.visit_selectors(closure, action, covers, &mut visit);
            }
            ResourceQuery::DataPath(path) => {
                if !self.visit_target(TENANT, closure, action, &mut visit) {
                    return;
                }
                let covers = |target: &RuleTarget| matches!(target, RuleTarget::DataPath(pattern) if path_covers(pattern, path));
                self.visit_selectors(closure, action, covers, &mut visit);
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
        self.matching_rules(&user.closure_at(query.at), query, |rule| {
            match rule.effect {
                Effect::Deny => {
                    verdict = Verdict::Deny;
                    false
                }
                Effect::Allow => {
                    verdict = Verdict::Allow;
                    true
                }
            }
        });
        verdict
    }
}
