//! Lookups: which resources a user may act on, which users may act on a resource. Each
//! candidate is decided by the same check as a single check, so lookups and checks cannot
//! disagree; results are complete and sorted by key, for paging. Like a check, a lookup
//! is decided at one instant (`at`).

use std::sync::Arc;

use super::check::{CheckQuery, ResourceQuery, Verdict};
use super::snapshot::Snapshot;
use crate::model::Effect;

impl Snapshot {
    /// Keys (`type/id`) of the resources of `resource_type` (of every type when `None`) on
    /// which `user` may do `action`, in key order, after the key `after`.
    pub fn lookup_resources(
        &self,
        user: &str,
        action: &str,
        resource_type: Option<&str>,
        after: Option<&str>,
        at: i64,
    ) -> Vec<String> {
        let Some(node) = self.users.get(user) else {
            return Vec::new();
        };
        if node.disabled {
            return Vec::new();
        }
        let mut found: Vec<String> = self
            .resources
            .iter()
            .filter(|(key, _)| {
                resource_type.is_none_or(|t| key.split_once('/').is_some_and(|(of, _)| of == t))
                    && after.is_none_or(|a| key.as_str() > a)
            })
            .filter(|(key, _)| {
                let query = CheckQuery {
                    user,
                    action,
                    resource: ResourceQuery::Object { key, labels: None },
                    at,
                };
                self.check(&query) == Verdict::Allow
            })
            .map(|(key, _)| key.to_string())
            .collect();
        found.sort_unstable();
        found
    }

    /// Ids of the users who may do `action` on `resource`, in order, after `after`: every
    /// user is decided, so membership through groups and roles is expanded.
    pub fn lookup_subjects(
        &self,
        action: &str,
        resource: ResourceQuery<'_>,
        after: Option<&str>,
        at: i64,
    ) -> Vec<String> {
        let mut found: Vec<String> = self
            .users
            .iter()
            .filter(|(user, _)| after.is_none_or(|a| user.as_str() > a))
            .filter(|(user, _)| {
                self.check(&CheckQuery {
                    user,
                    action,
                    resource,
                    at,
                }) == Verdict::Allow
            })
            .map(|(user, _)| user.to_string())
            .collect();
        found.sort_unstable();
        found
    }
}

/// A data-path pattern a user may act under, with the DENY patterns carved out of it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct DataPathAccess {
    /// Everything under this path (`*` matching any one segment) is allowed...
    pub data_path: String,
    /// ...except under these.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub except: Vec<String>,
}

/// Whether two patterns agree on their common length: one may lie under the other.
fn overlap(a: &[&str], b: &[&str]) -> bool {
    a.iter()
        .zip(b)
        .all(|(x, y)| x == y || *x == "*" || *y == "*")
}

/// Whether `outer` covers everything under `inner`: `outer` is no longer, and each of its
/// segments is `*` or equal to `inner`'s.
fn covers(outer: &[&str], inner: &[&str]) -> bool {
    outer.len() <= inner.len() && outer.iter().zip(inner).all(|(o, i)| *o == "*" || o == i)
}

/// One data-path rule bearing on a user's action: its effect, its pattern's segments (none
/// for a tenant-wide rule) and its grant.
#[derive(Debug, Clone)]
pub struct DataRule {
    pub effect: Effect,
    pub pattern: Vec<String>,
    pub grant: Arc<str>,
}

/// A user's data-path rules for one action under one prefix, to decide many paths below
/// it without a check each: what `check` decides, as the tests hold it to.
#[derive(Debug, Clone, Default)]
pub struct DataRules {
    pub rules: Vec<DataRule>,
}

impl DataRule {
    /// Whether its pattern covers `path` (segments): each of its segments `*` or equal.
    pub fn covers(&self, path: &[&str]) -> bool {
        self.pattern.len() <= path.len()
            && self
                .pattern
                .iter()
                .zip(path)
                .all(|(p, s)| p == "*" || p == s)
    }
}

impl DataRules {
    /// What a check on `path` (under the prefix) decides: any covering DENY wins, then any
    /// covering ALLOW; a disabled user has no rules, and so nothing allowed.
    pub fn verdict(&self, path: &[&str]) -> Verdict {
        let mut verdict = Verdict::NoMatch;
        for rule in self.rules.iter().filter(|r| r.covers(path)) {
            match rule.effect {
                Effect::Deny => return Verdict::Deny,
                Effect::Allow => verdict = Verdict::Allow,
            }
        }
        verdict
    }

    /// The ALLOW rules covering `path`: the grants a check allowing it matched.
    pub fn allowing<'a>(&'a self, path: &'a [&'a str]) -> impl Iterator<Item = &'a DataRule> + 'a {
        self.rules
            .iter()
            .filter(move |r| r.effect == Effect::Allow && r.covers(path))
    }

    pub fn has_allow(&self) -> bool {
        self.rules.iter().any(|r| r.effect == Effect::Allow)
    }
}

impl Snapshot {
    /// Whether any grant carries a row filter.
    pub fn has_row_filters(&self) -> bool {
        !self.row_filters.is_empty()
    }

    /// The data-path rules of `user`'s closure at `at` whose privilege covers `action` and
    /// whose pattern overlaps `prefix` (one may lie under the other), ALLOW and DENY alike;
    /// a tenant-wide rule is the empty pattern. None for a disabled user.
    pub fn data_rules(&self, user: &str, action: &str, prefix: &str, at: i64) -> DataRules {
        let Some(node) = self.users.get(user) else {
            return DataRules::default();
        };
        if node.disabled {
            return DataRules::default();
        }
        let wanted: Vec<&str> = prefix.split('/').collect();
        let mut rules: Vec<DataRule> = Vec::new();
        let query = CheckQuery {
            user,
            action,
            resource: ResourceQuery::DataPath(prefix),
            at,
        };
        // Every rule of the closure whose privilege covers the action and whose pattern
        // overlaps the prefix; tenant-wide rules are the empty pattern.
        for &subject in node.closure_at(at).iter() {
            let tenant_rules = self
                .direct
                .get(&super::snapshot::TENANT)
                .into_iter()
                .flat_map(|b| b.iter());
            let selector_rules = self
                .selectors
                .get(&subject)
                .into_iter()
                .flat_map(|b| b.iter());
            for r in tenant_rules.chain(selector_rules) {
                if r.subject != subject
                    || !r.holds_at(at)
                    || !self.privilege_covers(&r.privilege, query.action)
                {
                    continue;
                }
                let pattern: Vec<String> = match &r.target {
                    super::snapshot::RuleTarget::Tenant => Vec::new(),
                    super::snapshot::RuleTarget::DataPath(p) => {
                        p.iter().map(|s| s.to_string()).collect()
                    }
                    _ => continue,
                };
                let segments: Vec<&str> = pattern.iter().map(String::as_str).collect();
                if overlap(&segments, &wanted) {
                    rules.push(DataRule {
                        effect: r.effect,
                        pattern,
                        grant: r.grant.clone(),
                    });
                }
            }
        }
        DataRules { rules }
    }

    /// The data objects under `prefix` on which `user` may do `action`, as patterns: the
    /// ALLOW grants' patterns that lie under the prefix (or the prefix itself, when one
    /// covers it), minus those a DENY covers whole, each with the DENY patterns inside it.
    /// Sorted by path. A check on a concrete path remains the authority.
    pub fn lookup_data_paths(
        &self,
        user: &str,
        action: &str,
        prefix: &str,
        at: i64,
    ) -> Vec<DataPathAccess> {
        let wanted: Vec<&str> = prefix.split('/').collect();
        let rules: Vec<(Effect, Vec<String>)> = self
            .data_rules(user, action, prefix, at)
            .rules
            .into_iter()
            .map(|r| (r.effect, r.pattern))
            .collect();
        fn split(p: &[String]) -> Vec<&str> {
            p.iter().map(String::as_str).collect()
        }
        let denies: Vec<Vec<&str>> = rules
            .iter()
            .filter(|(e, _)| *e == crate::model::Effect::Deny)
            .map(|(_, p)| split(p))
            .collect();
        let mut found: Vec<DataPathAccess> = Vec::new();
        for (_, allow) in rules
            .iter()
            .filter(|(e, _)| *e == crate::model::Effect::Allow)
        {
            let allow = split(allow);
            // What the grant opens under the prefix: the prefix itself if the grant covers it.
            let opened: Vec<&str> = if covers(&allow, &wanted) {
                wanted.clone()
            } else {
                allow.clone()
            };
            if denies.iter().any(|d| covers(d, &opened)) {
                continue;
            }
            let mut except: Vec<String> = denies
                .iter()
                .filter(|d| overlap(d, &opened))
                .map(|d| d.join("/"))
                .collect();
            except.sort();
            except.dedup();
            found.push(DataPathAccess {
                data_path: opened.join("/"),
                except,
            });
        }
        found.sort_by(|a, b| a.data_path.cmp(&b.data_path));
        found.dedup_by(|a, b| a.data_path == b.data_path);
        found
    }
}
