//! Explanations: every rule that matched, and for each the chain of memberships from the
//! user to the rule's subject. Off the hot path: it allocates, and walks the groups.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use serde::Serialize;
use utoipa::ToSchema;

use super::check::{CheckQuery, Verdict};
use super::snapshot::Snapshot;
use crate::model::Effect;

/// One grant that matched.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Match {
    pub grant: String,
    pub effect: Effect,
    /// The grant's subject, `kind:key`.
    pub subject: String,
    /// From the user to the grant's subject: `user:alice`, `group:eng`, `role:viewer`.
    pub via: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Explanation {
    #[serde(skip)]
    pub verdict: Verdict,
    /// Why, in words.
    pub reason: String,
    /// The grants that decided: the DENY ones when denied, else the ALLOW ones.
    pub decided_by: Vec<Match>,
}

impl Snapshot {
    /// The check's verdict with its reasons.
    pub fn explain(&self, query: &CheckQuery<'_>) -> Explanation {
        let Some(user) = self.users.get(query.user) else {
            return Explanation {
                verdict: Verdict::NoMatch,
                reason: format!("user {} does not exist", query.user),
                decided_by: vec![],
            };
        };
        if user.disabled {
            return Explanation {
                verdict: Verdict::Deny,
                reason: format!("user {} is disabled", query.user),
                decided_by: vec![],
            };
        }
        let mut matched = Vec::new();
        self.matching_rules(&user.closure, query, |r| {
            let subject = self
                .names
                .get(&r.subject)
                .cloned()
                .unwrap_or_else(|| Arc::from(""));
            matched.push((r.grant.clone(), r.effect, subject));
            true
        });
        let denied = matched.iter().any(|(_, e, _)| *e == Effect::Deny);
        let verdict = match (denied, matched.is_empty()) {
            (true, _) => Verdict::Deny,
            (false, false) => Verdict::Allow,
            (false, true) => Verdict::NoMatch,
        };
        let paths = self.membership_paths(query.user);
        let mut decided_by: Vec<Match> = matched
            .into_iter()
            .filter(|(_, effect, _)| !denied || *effect == Effect::Deny)
            .map(|(grant, effect, subject)| Match {
                grant: grant.to_string(),
                effect,
                via: paths
                    .get(&subject)
                    .cloned()
                    .unwrap_or_else(|| vec![subject.to_string()]),
                subject: subject.to_string(),
            })
            .collect();
        decided_by.sort_by(|a, b| a.grant.cmp(&b.grant));
        let reason = match verdict {
            Verdict::Deny => format!(
                "denied by {} DENY grant(s); DENY wins over ALLOW",
                decided_by.len()
            ),
            Verdict::Allow => format!(
                "allowed by {} grant(s), and no DENY grant matched",
                decided_by.len()
            ),
            Verdict::NoMatch => "no grant matched: not allowed".to_string(),
        };
        Explanation {
            verdict,
            reason,
            decided_by,
        }
    }

    /// For every subject in the user's closure, the shortest chain of memberships leading
    /// to it from the user.
    fn membership_paths(&self, user: &str) -> BTreeMap<Arc<str>, Vec<String>> {
        let mut paths: BTreeMap<Arc<str>, Vec<String>> = BTreeMap::new();
        let Some(node) = self.users.get(user) else {
            return paths;
        };
        let start: Arc<str> = Arc::from(format!("user:{user}").as_str());
        paths.insert(start.clone(), vec![start.to_string()]);
        let mut queue = VecDeque::from([start]);
        while let Some(current) = queue.pop_front() {
            let path = paths[&current].clone();
            let (kind, key) = current.split_once(':').unwrap_or(("", ""));
            let next: Vec<String> = match kind {
                "user" => node
                    .groups
                    .iter()
                    .map(|g| format!("group:{g}"))
                    .chain(node.roles.iter().map(|r| format!("role:{r}")))
                    .collect(),
                "group" => self
                    .groups
                    .get(key)
                    .map(|g| {
                        g.parents
                            .iter()
                            .map(|p| format!("group:{p}"))
                            .chain(g.roles.iter().map(|r| format!("role:{r}")))
                            .collect()
                    })
                    .unwrap_or_default(),
                "role" => self
                    .roles
                    .get(key)
                    .map(|r| r.includes.iter().map(|i| format!("role:{i}")).collect())
                    .unwrap_or_default(),
                _ => Vec::new(),
            };
            for n in next {
                let n: Arc<str> = Arc::from(n.as_str());
                if !paths.contains_key(&n) {
                    let mut extended = path.clone();
                    extended.push(n.to_string());
                    paths.insert(n.clone(), extended);
                    queue.push_back(n);
                }
            }
        }
        paths
    }
}
