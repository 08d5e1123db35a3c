//! Explanations: every rule that matched, and for each the chain of memberships from the
//! user to the rule's subject. Off the hot path: it allocates, and walks the groups.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use serde::Serialize;
use utoipa::ToSchema;

use super::check::{CheckQuery, Verdict};
use super::snapshot::Snapshot;
use crate::model::{Effect, Timestamp};

/// One grant that matched.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Match {
    pub grant: String,
    pub effect: Effect,
    /// The grant's subject, `kind:key`.
    pub subject: String,
    /// From the user to the grant's subject: `user:alice`, `group:eng`, `role:viewer`.
    pub via: Vec<String>,
    /// When the grant stops matching, if it does (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
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
        self.matching_rules(&user.closure_at(query.at), query, |r| {
            let subject = self
                .names
                .get(&r.subject)
                .cloned()
                .unwrap_or_else(|| Arc::from(""));
            // It stops deciding when the grant ends, or the user's way to its subject.
            let until = r
                .window
                .as_ref()
                .map(|w| w.until)
                .filter(|u| *u != i64::MAX)
                .into_iter()
                .chain(user.reach_ends(r.subject, query.at))
                .min();
            matched.push((r.grant.clone(), r.effect, subject, until));
            true
        });
        let denied = matched.iter().any(|(_, e, _, _)| *e == Effect::Deny);
        let verdict = match (denied, matched.is_empty()) {
            (true, _) => Verdict::Deny,
            (false, false) => Verdict::Allow,
            (false, true) => Verdict::NoMatch,
        };
        let paths = self.membership_paths(query.user, query.at);
        let mut decided_by: Vec<Match> = matched
            .into_iter()
            .filter(|(_, effect, _, _)| !denied || *effect == Effect::Deny)
            .map(|(grant, effect, subject, until)| Match {
                grant: grant.to_string(),
                effect,
                via: paths.to(&subject),
                subject: subject.to_string(),
                expires_at: until.map(Timestamp),
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

    /// Every group and role `user` reaches at `at`, each as the shortest chain of
    /// memberships and assignments leading to it from the user (`user:alice`,
    /// `group:eng`, `role:viewer`), in the order of the subjects' names. None for a user
    /// that does not exist or is disabled.
    pub fn memberships(&self, user: &str, at: i64) -> Vec<Vec<String>> {
        if self.users.get(user).is_none_or(|u| u.disabled) {
            return Vec::new();
        }
        let paths = self.membership_paths(user, at);
        paths
            .0
            .keys()
            .filter(|s| !s.starts_with("user:"))
            .map(|s| paths.to(s))
            .collect()
    }

    /// For every subject in the user's closure at `at`, the shortest chain of memberships
    /// leading to it from the user, through memberships and assignments that hold then. A
    /// breadth-first walk that records where it came from, so that its cost is that of the
    /// closure, however deep it nests; each path is spelled out once, for the subjects
    /// that decided.
    fn membership_paths(&self, user: &str, at: i64) -> Paths {
        let mut came_from: BTreeMap<Arc<str>, Option<Arc<str>>> = BTreeMap::new();
        let Some(node) = self.users.get(user) else {
            return Paths(came_from);
        };
        let start: Arc<str> = Arc::from(format!("user:{user}").as_str());
        came_from.insert(start.clone(), None);
        let mut queue = VecDeque::from([start]);
        while let Some(current) = queue.pop_front() {
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
                if !came_from.contains_key(&n) && self.link_holds(&current, &n, at) {
                    came_from.insert(n.clone(), Some(current.clone()));
                    queue.push_back(n);
                }
            }
        }
        Paths(came_from)
    }
}

/// Where a breadth-first walk reached each subject from.
struct Paths(BTreeMap<Arc<str>, Option<Arc<str>>>);

impl Paths {
    /// The path to `subject`, from the walk's start; the subject alone if it was not
    /// reached.
    fn to(&self, subject: &Arc<str>) -> Vec<String> {
        let mut path = vec![subject.to_string()];
        let mut at = subject;
        while let Some(Some(previous)) = self.0.get(at) {
            path.push(previous.to_string());
            at = previous;
        }
        path.reverse();
        path
    }
}
