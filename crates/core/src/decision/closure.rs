//! Derived data, recomputed after each batch for what the batch touched, and only that:
//! the covered actions of the roles changed and of the roles that include them; the
//! closures (the user, its groups transitively, its roles with those they include) of the
//! users whose groups or roles changed, or whose closure holds a role whose inclusions
//! changed; the ancestors of the resources moved and of what lies below them. The cost of
//! a change is that of what it affects, not the size of the tenant (the service bounds
//! how deep the graphs nest). Every walk is cycle-safe, though the service keeps the
//! graphs acyclic.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use super::apply::Dirty;
use super::cowmap::CowMap;
use super::snapshot::{Actions, GroupNode, Id, RoleNode, Snapshot, Timed, UserNode, Window};

/// The span of a subject reached always.
const ALWAYS: (i64, i64) = (i64::MIN, i64::MAX);

/// Adds `spans` to `into` (sorted, disjoint, not touching; kept so); whether it grew.
fn merge(into: &mut Vec<(i64, i64)>, spans: &[(i64, i64)]) -> bool {
    let mut all: Vec<(i64, i64)> = into.iter().chain(spans).copied().collect();
    all.sort_unstable();
    let mut merged: Vec<(i64, i64)> = Vec::with_capacity(all.len());
    for (from, until) in all {
        match merged.last_mut() {
            Some(last) if from <= last.1 => last.1 = last.1.max(until),
            _ => merged.push((from, until)),
        }
    }
    let grew = merged != *into;
    *into = merged;
    grew
}

impl Snapshot {
    pub(super) fn recompute(&mut self, dirty: Dirty) {
        let mut users = dirty.users;
        if !dirty.roles.is_empty() {
            let included_by = self.included_by();
            let changed = self.roles_including(&dirty.roles, &included_by);
            self.recompute_roles(&changed);
            if !dirty.included.is_empty() {
                // A role whose inclusions changed, or a role including it: whoever holds
                // one holds it in the closure.
                let mut ids = dirty.included;
                let regraphed: BTreeSet<Arc<str>> = dirty
                    .roles
                    .iter()
                    .filter(|r| self.roles.get(&***r).is_some_and(|n| ids.contains(&n.id)))
                    .cloned()
                    .collect();
                ids.extend(
                    self.roles_including(&regraphed, &included_by)
                        .iter()
                        .filter_map(|r| self.roles.get(&**r).map(|n| n.id)),
                );
                for (key, user) in self.users.iter() {
                    if user.closure.iter().any(|id| ids.contains(id)) {
                        users.insert(Arc::from(key.as_str()));
                    }
                }
            }
        }
        for group in &dirty.groups {
            self.users_under(group, &mut users);
        }
        for user in users {
            if let Some((closure, timed)) = self.user_closure(&user) {
                self.users.update(&*user, |u| {
                    u.closure = closure;
                    u.timed = timed;
                });
            }
        }
        let mut resources = BTreeSet::new();
        for resource in dirty.resources {
            self.resources_under(&resource, &mut resources);
        }
        for resource in resources {
            let ancestors = self.ancestors(&resource);
            self.resources
                .update(&*resource, |r| r.change_links(|l| l.ancestors = ancestors));
        }
    }

    /// Every user in `group`, directly or through nested groups.
    pub(super) fn users_under(&self, group: &str, users: &mut BTreeSet<Arc<str>>) {
        let mut seen = BTreeSet::new();
        let mut stack = vec![Arc::<str>::from(group)];
        while let Some(g) = stack.pop() {
            if !seen.insert(g.clone()) {
                continue;
            }
            if let Some(node) = self.groups.get(&*g) {
                users.extend(node.users.iter().cloned());
                stack.extend(node.groups.iter().cloned());
            }
        }
    }

    fn resources_under(&self, resource: &Arc<str>, found: &mut BTreeSet<Arc<str>>) {
        let mut stack = vec![resource.clone()];
        while let Some(r) = stack.pop() {
            if !found.insert(r.clone()) {
                continue;
            }
            if let Some(node) = self.resources.get(&*r) {
                stack.extend(node.children().iter().cloned());
            }
        }
    }

    /// For each role, the roles that include it directly.
    fn included_by(&self) -> HashMap<Arc<str>, Vec<Arc<str>>> {
        let mut by: HashMap<Arc<str>, Vec<Arc<str>>> = HashMap::new();
        for (key, role) in self.roles.iter() {
            for included in &role.includes {
                by.entry(included.clone()).or_default().push(key.clone());
            }
        }
        by
    }

    /// The roles given and every role that includes one of them, transitively.
    fn roles_including(
        &self,
        roles: &BTreeSet<Arc<str>>,
        included_by: &HashMap<Arc<str>, Vec<Arc<str>>>,
    ) -> BTreeSet<Arc<str>> {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<Arc<str>> = roles.iter().cloned().collect();
        while let Some(role) = stack.pop() {
            if !seen.insert(role.clone()) {
                continue;
            }
            if let Some(by) = included_by.get(&role) {
                stack.extend(by.iter().cloned());
            }
        }
        seen
    }

    fn recompute_roles(&mut self, roles: &BTreeSet<Arc<str>>) {
        for key in roles {
            if self.roles.get(&**key).is_none() {
                continue;
            }
            let mut actions: Vec<Arc<str>> = Vec::new();
            for role in self.roles_with_included(std::slice::from_ref(key)) {
                if let Some(node) = self.roles.get(&*role) {
                    actions.extend(node.actions.iter().cloned());
                }
            }
            let covers = Actions::from_list(&actions);
            self.roles.update(&**key, |r| r.covers = covers);
        }
    }

    /// The roles given and every role they include, transitively.
    pub(super) fn roles_with_included(&self, roles: &[Arc<str>]) -> BTreeSet<Arc<str>> {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<Arc<str>> = roles.to_vec();
        while let Some(role) = stack.pop() {
            if !seen.insert(role.clone()) {
                continue;
            }
            if let Some(node) = self.roles.get(&*role) {
                stack.extend(node.includes.iter().cloned());
            }
        }
        seen
    }

    /// The groups a user is in, directly or through nesting.
    pub(super) fn groups_of(&self, direct: &[Arc<str>]) -> BTreeSet<Arc<str>> {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<Arc<str>> = direct.to_vec();
        while let Some(group) = stack.pop() {
            if !seen.insert(group.clone()) {
                continue;
            }
            if let Some(node) = self.groups.get(&*group) {
                stack.extend(node.parents.iter().cloned());
            }
        }
        seen
    }

    /// The user's closure, and when its subjects reached through time-bound memberships or
    /// assignments are reached.
    fn user_closure(&self, user: &str) -> Option<(Arc<[Id]>, Option<Timed>)> {
        let node = self.users.get(user)?;
        if !self.windows.is_empty() {
            return Some(self.timed_closure(node));
        }
        let mut ids = vec![node.id];
        let mut roles = node.roles.clone();
        for group in self.groups_of(&node.groups) {
            if let Some(g) = self.groups.get(&*group) {
                ids.push(g.id);
                roles.extend(g.roles.iter().cloned());
            }
        }
        for role in self.roles_with_included(&roles) {
            if let Some(r) = self.roles.get(&*role) {
                ids.push(r.id);
            }
        }
        ids.sort_unstable();
        ids.dedup();
        Some((Arc::from(ids), None))
    }

    /// The closure when some memberships or assignments hold only for a while: a walk
    /// that carries, for each subject reached, when it is reached: the union, over the
    /// paths to it, of the intersection of the windows along each path. A subject's spans
    /// only grow, and only from the windows' own bounds, so the walk ends, cycles or not.
    fn timed_closure(&self, node: &UserNode) -> (Arc<[Id]>, Option<Timed>) {
        enum Via<'a> {
            Group(&'a GroupNode),
            Role(&'a RoleNode),
        }
        type Reach = HashMap<Id, Vec<(i64, i64)>>;
        /// Carries `from`'s spans over its edge to `to`, clipped to the edge's window.
        fn spread<'a>(
            windows: &CowMap<(Id, Id), Window>,
            reach: &mut Reach,
            work: &mut Vec<(Id, Via<'a>)>,
            from: Id,
            to: Option<(Id, Via<'a>)>,
        ) {
            let Some((to, via)) = to else { return };
            let window = windows.get(&(from, to));
            let spans: Vec<(i64, i64)> = reach[&from]
                .iter()
                .filter_map(|&(a, b)| {
                    let (a, b) = window.map_or((a, b), |w| (a.max(w.from), b.min(w.until)));
                    (a < b).then_some((a, b))
                })
                .collect();
            if !spans.is_empty() && merge(reach.entry(to).or_default(), &spans) {
                work.push((to, via));
            }
        }
        let mut reach: Reach = HashMap::from([(node.id, vec![ALWAYS])]);
        let mut work: Vec<(Id, Via<'_>)> = Vec::new();
        let w = &self.windows;
        let group = |key: &Arc<str>| self.groups.get(&**key).map(|g| (g.id, Via::Group(g)));
        let role = |key: &Arc<str>| self.roles.get(&**key).map(|r| (r.id, Via::Role(r)));
        for g in &node.groups {
            spread(w, &mut reach, &mut work, node.id, group(g));
        }
        for r in &node.roles {
            spread(w, &mut reach, &mut work, node.id, role(r));
        }
        while let Some((id, via)) = work.pop() {
            match via {
                Via::Group(g) => {
                    for p in &g.parents {
                        spread(w, &mut reach, &mut work, id, group(p));
                    }
                    for r in &g.roles {
                        spread(w, &mut reach, &mut work, id, role(r));
                    }
                }
                Via::Role(r) => {
                    for i in &r.includes {
                        spread(w, &mut reach, &mut work, id, role(i));
                    }
                }
            }
        }
        let mut ids: Vec<Id> = reach.keys().copied().collect();
        ids.sort_unstable();
        let timed: Vec<(Id, i64, i64)> = ids
            .iter()
            .filter(|id| reach[id] != [ALWAYS])
            .flat_map(|id| reach[id].iter().map(|&(from, until)| (*id, from, until)))
            .collect();
        (
            Arc::from(ids),
            (!timed.is_empty()).then(|| Arc::from(timed)),
        )
    }

    /// The ids of the resource's parent, grandparent...: cycle-safe; `None` if it has none.
    fn ancestors(&self, resource: &str) -> Option<Arc<[Id]>> {
        let mut ids: Vec<Id> = Vec::new();
        let mut next = self.resources.get(resource).and_then(|n| {
            ids.push(n.id);
            n.parent().cloned()
        });
        while let Some(key) = next.take() {
            let Some(node) = self.resources.get(&*key) else {
                break;
            };
            if ids.contains(&node.id) {
                break;
            }
            ids.push(node.id);
            next = node.parent().cloned();
        }
        let parents = ids.get(1..).unwrap_or_default();
        (!parents.is_empty()).then(|| Arc::from(parents))
    }
}
