//! The reference evaluator: the decision semantics written as plainly as possible, over the
//! model's objects, with no index. Slow and obviously right; the property tests hold the
//! index to it.

use std::collections::BTreeSet;

use crate::model::{
    Assignment, Effect, Grant, Member, Privilege, Resource, Role, SubjectType, Target, User,
    Windowed,
};

/// A tenant's objects, as the store holds them.
#[derive(Debug, Clone, Default)]
pub struct Model {
    pub users: Vec<User>,
    pub members: Vec<Member>,
    pub roles: Vec<Role>,
    pub resources: Vec<Resource>,
    pub assignments: Vec<Assignment>,
    pub grants: Vec<Grant>,
}

/// What the reference is asked: a user, an action, and a resource key or a data path.
pub enum Asked<'a> {
    Resource(&'a str),
    DataPath(&'a str),
}

impl Model {
    /// `kind:id` of the user, its groups (transitively) and its roles (with included ones),
    /// through the memberships and assignments that hold at `at`.
    fn subjects(&self, user: &str, at: i64) -> BTreeSet<String> {
        let mut groups: BTreeSet<String> = BTreeSet::new();
        loop {
            let before = groups.len();
            for m in self.members.iter().filter(|m| m.holds_at(at)) {
                let inside = match m.member.subject_type {
                    SubjectType::User => m.member.id == user,
                    SubjectType::Group => groups.contains(&m.member.id),
                    SubjectType::Role => false,
                };
                if inside {
                    groups.insert(m.group.clone());
                }
            }
            if groups.len() == before {
                break;
            }
        }
        let mut roles: BTreeSet<String> = self
            .assignments
            .iter()
            .filter(|a| a.holds_at(at))
            .filter(|a| match a.subject.subject_type {
                SubjectType::User => a.subject.id == user,
                SubjectType::Group => groups.contains(&a.subject.id),
                SubjectType::Role => false,
            })
            .map(|a| a.role.clone())
            .collect();
        loop {
            let before = roles.len();
            for r in &self.roles {
                if roles.contains(&r.id) {
                    roles.extend(r.includes.iter().cloned());
                }
            }
            if roles.len() == before {
                break;
            }
        }
        let mut all = BTreeSet::from([format!("user:{user}")]);
        all.extend(groups.into_iter().map(|g| format!("group:{g}")));
        all.extend(roles.into_iter().map(|r| format!("role:{r}")));
        all
    }

    fn role_actions(&self, role: &str) -> Vec<String> {
        let mut roles = BTreeSet::from([role.to_string()]);
        loop {
            let before = roles.len();
            for r in &self.roles {
                if roles.contains(&r.id) {
                    roles.extend(r.includes.iter().cloned());
                }
            }
            if roles.len() == before {
                break;
            }
        }
        self.roles
            .iter()
            .filter(|r| roles.contains(&r.id))
            .flat_map(|r| r.actions.clone())
            .collect()
    }

    fn covers_action(&self, privilege: &Privilege, action: &str) -> bool {
        let actions = match privilege {
            Privilege::Role { id } => {
                if !self.roles.iter().any(|r| r.id == *id) {
                    return false;
                }
                self.role_actions(id)
            }
            Privilege::Permission { id } => vec![id.clone()],
            Privilege::Actions { actions } => actions.clone(),
        };
        actions
            .iter()
            .any(|a| a == action || a == "*" || a == "ALL")
    }

    fn ancestors(&self, key: &str) -> Vec<&Resource> {
        let mut chain = Vec::new();
        let mut next = self.resources.iter().find(|r| r.reference().key() == key);
        while let Some(r) = next {
            if chain
                .iter()
                .any(|c: &&Resource| c.reference() == r.reference())
            {
                break;
            }
            chain.push(r);
            next = r
                .parent
                .as_ref()
                .and_then(|p| self.resources.iter().find(|x| x.reference() == *p));
        }
        chain
    }

    fn covers_target(&self, target: &Target, asked: &Asked<'_>) -> bool {
        match (target, asked) {
            (Target::Tenant, _) => true,
            (Target::Resource { resource }, Asked::Resource(key)) => self
                .ancestors(key)
                .iter()
                .any(|r| r.reference() == *resource),
            (
                Target::Labels {
                    resource_type,
                    labels,
                },
                Asked::Resource(key),
            ) => {
                let Some(r) = self.resources.iter().find(|r| r.reference().key() == *key) else {
                    return false;
                };
                resource_type.as_ref().is_none_or(|t| *t == r.resource_type)
                    && labels.iter().all(|(k, v)| r.labels.get(k) == Some(v))
            }
            (Target::DataPath { pattern }, Asked::DataPath(path)) => {
                let pattern: Vec<&str> = pattern.split('/').collect();
                let path: Vec<&str> = path.split('/').collect();
                pattern.len() <= path.len()
                    && pattern.iter().zip(&path).all(|(p, s)| *p == "*" || p == s)
            }
            _ => false,
        }
    }

    /// Some(true) allow, Some(false) deny, None no match; at `at` (ms since the epoch), when
    /// only the grants whose window holds then count.
    pub fn decide(&self, user: &str, action: &str, asked: &Asked<'_>, at: i64) -> Option<bool> {
        let u = self.users.iter().find(|u| u.id == user)?;
        if u.disabled {
            return Some(false);
        }
        let subjects = self.subjects(user, at);
        let matching: Vec<&Grant> = self
            .grants
            .iter()
            .filter(|g| g.holds_at(at))
            .filter(|g| subjects.contains(&g.subject.object_key().to_string()))
            .filter(|g| self.covers_action(&g.privilege, action))
            .filter(|g| self.covers_target(&g.target, asked))
            .collect();
        if matching.iter().any(|g| g.effect == Effect::Deny) {
            Some(false)
        } else if matching.is_empty() {
            None
        } else {
            Some(true)
        }
    }
}
