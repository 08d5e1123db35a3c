//! Groups as roles (PostgreSQL): each group some mapped user belongs to becomes a NOLOGIN
//! role, granted to the roles of its members, nested groups as nested roles. A group role
//! holds exactly the privileges every user under it holds, and each user's role keeps the
//! rest: what a user reaches through its roles is what the checks decide for it, a DENY on
//! one member included, whatever the groups.
//!
//! Folding never changes what any user reaches; it only moves privileges a whole group
//! shares onto the group's role. A group that cannot be a role (its name is taken, or not a
//! valid role) passes its members up to the groups above it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::privileges::{Desired, Name, On, Privilege};

/// Each group's direct members, users and groups, as the index has them at the instant
/// (`Snapshot::group_members_at`).
pub type GroupMembers = BTreeMap<String, (Vec<String>, Vec<String>)>;

/// The privilege a membership is written as: `member` holds `On::Role(group)`.
pub const MEMBER: &str = "MEMBER";

/// Folds `desired`'s users' privileges onto the roles of their groups. `roles`: each group
/// that may be a role, and its role's name.
pub fn fold_groups(
    desired: &mut Desired,
    members: &GroupMembers,
    roles: &BTreeMap<String, String>,
) {
    let user_role: BTreeMap<&str, &str> = desired
        .roles
        .iter()
        .map(|(role, user)| (user.as_str(), role.as_str()))
        .collect();
    // The memberships among roles: (member role, group role), without cycles.
    let mut up: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (group, role) in roles {
        let mut found = Vec::new();
        let mut seen = BTreeSet::from([group.clone()]);
        role_members(group, members, &user_role, roles, &mut seen, &mut found);
        for member in found {
            if member != *role && !reaches(&up, role, &member) {
                up.entry(member).or_default().insert(role.clone());
            }
        }
    }
    // The users under each group role.
    let mut under: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for role in desired.roles.keys() {
        for group in ancestors(&up, role).into_iter().filter(|g| g != role) {
            under.entry(group).or_default().push(role.clone());
        }
    }
    // A group role with no user under it holds nothing and is not made.
    up.retain(|member, _| desired.roles.contains_key(member) || under.contains_key(member));
    for groups in up.values_mut() {
        groups.retain(|g| under.contains_key(g));
    }
    if under.is_empty() {
        return;
    }
    // What a group role may hold. A member can `SET ROLE` to its group (PostgreSQL before
    // 16 always lets it), and acts then as the group: not as itself. So the group holds
    // nothing on a table whose rows a filter keeps from some role (its policies are on
    // the users' roles, and would not follow), and no CREATE (a table made as the group
    // would be owned by the group, every member an owner).
    let filtered: BTreeSet<(&str, &str)> = desired
        .filters
        .keys()
        .map(|(s, t)| (s.as_str(), t.as_str()))
        .collect();
    let foldable = |p: &Privilege| match &p.on {
        On::Schema(_) => &*p.privilege != "CREATE",
        On::Table(s, t) | On::Column(s, t, _) => !filtered.contains(&(&**s, &**t)),
        On::Role(_) => false,
    };
    // Every privilege in order: each role's, sorted by object and privilege, side by side.
    let all: Vec<Privilege> = std::mem::take(&mut desired.privileges)
        .into_iter()
        .collect();
    let key = |p: &Privilege| (p.on.clone(), p.privilege.clone());
    let mut slices: HashMap<&str, &[Privilege]> = HashMap::new();
    for chunk in all.chunk_by(|a, b| a.role == b.role) {
        slices.insert(&chunk[0].role, chunk);
    }
    // Each group's: what all its users hold, sorted.
    let mut shared: BTreeMap<&str, Vec<(On, Name)>> = BTreeMap::new();
    for (group, users) in &under {
        let mut lists: Vec<&[Privilege]> = users
            .iter()
            .map(|u| slices.get(u.as_str()).copied().unwrap_or_default())
            .collect();
        lists.sort_by_key(|l| l.len());
        // Narrowed list by list, each step one walk of two sorted lists.
        let mut common: Vec<&Privilege> = lists[0].iter().filter(|p| foldable(p)).collect();
        for list in &lists[1..] {
            let mut i = 0;
            common.retain(|p| {
                while list
                    .get(i)
                    .is_some_and(|q| (&q.on, &q.privilege) < (&p.on, &p.privilege))
                {
                    i += 1;
                }
                list.get(i)
                    .is_some_and(|q| q.on == p.on && q.privilege == p.privilege)
            });
        }
        shared.insert(group, common.into_iter().map(key).collect());
    }
    // What a role gets from the groups above it, sorted; made once for each set of groups
    // (most users share theirs).
    let mut inherited: BTreeMap<BTreeSet<String>, Vec<&(On, Name)>> = BTreeMap::new();
    let mut above = |role: &str| -> BTreeSet<String> {
        let mut groups = ancestors(&up, role);
        groups.remove(role);
        if !inherited.contains_key(&groups) {
            let mut list: Vec<&(On, Name)> = groups
                .iter()
                .flat_map(|g| shared[g.as_str()].iter())
                .collect();
            list.sort_unstable();
            list.dedup();
            inherited.insert(groups.clone(), list);
        }
        groups
    };
    let every_role: Vec<String> = up
        .keys()
        .cloned()
        .chain(shared.keys().map(|g| g.to_string()))
        .collect();
    let roles_above: BTreeMap<&str, BTreeSet<String>> = every_role
        .iter()
        .map(|role| (role.as_str(), above(role)))
        .collect();
    // Each role keeps what it does not get from above: one walk of its sorted privileges
    // beside what it inherits.
    let without = |role: &str, held: &mut dyn Iterator<Item = (&On, &Name)>| -> Vec<Privilege> {
        let from_above = roles_above
            .get(role)
            .and_then(|groups| inherited.get(groups))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let name: Name = Name::from(role);
        let mut i = 0;
        let mut kept = Vec::new();
        for (on, privilege) in held {
            while from_above
                .get(i)
                .is_some_and(|a| (&a.0, &a.1) < (on, privilege))
            {
                i += 1;
            }
            if from_above
                .get(i)
                .is_some_and(|a| a.0 == *on && a.1 == *privilege)
            {
                continue;
            }
            kept.push(Privilege::new(&name, on.clone(), privilege));
        }
        kept
    };
    let mut privileges: Vec<Privilege> = Vec::with_capacity(all.len());
    for chunk in all.chunk_by(|a, b| a.role == b.role) {
        if up.contains_key(&*chunk[0].role) {
            privileges.extend(without(
                &chunk[0].role,
                &mut chunk.iter().map(|p| (&p.on, &p.privilege)),
            ));
        } else {
            privileges.extend_from_slice(chunk);
        }
    }
    for (group, common) in &shared {
        privileges.extend(without(group, &mut common.iter().map(|(o, p)| (o, p))));
    }
    let member: Name = Name::from(MEMBER);
    for (role, groups) in &up {
        for group in groups {
            privileges.push(Privilege::new(
                &Name::from(role.as_str()),
                On::Role(group.as_str().into()),
                &member,
            ));
        }
    }
    let group_of: BTreeMap<&str, &str> = roles
        .iter()
        .map(|(g, r)| (r.as_str(), g.as_str()))
        .collect();
    desired.groups = under
        .keys()
        .map(|role| (role.clone(), group_of[role.as_str()].to_string()))
        .collect();
    privileges.sort_unstable();
    desired.privileges = privileges.into_iter().collect();
}

/// The groups with one of `users` under them, directly or through groups in them.
pub fn groups_over(members: &GroupMembers, users: &BTreeSet<&str>) -> BTreeSet<String> {
    let mut over: BTreeSet<String> = members
        .iter()
        .filter(|(_, (direct, _))| direct.iter().any(|u| users.contains(u.as_str())))
        .map(|(group, _)| group.clone())
        .collect();
    loop {
        let more: Vec<String> = members
            .iter()
            .filter(|(group, (_, inner))| {
                !over.contains(*group) && inner.iter().any(|g| over.contains(g))
            })
            .map(|(group, _)| group.clone())
            .collect();
        if more.is_empty() {
            return over;
        }
        over.extend(more);
    }
}

/// The roles that are direct members of `group`'s role: its users' roles, its groups'
/// roles, and for a group that is not a role, its own members, found the same way.
fn role_members(
    group: &str,
    members: &GroupMembers,
    user_role: &BTreeMap<&str, &str>,
    roles: &BTreeMap<String, String>,
    seen: &mut BTreeSet<String>,
    found: &mut Vec<String>,
) {
    let Some((users, groups)) = members.get(group) else {
        return;
    };
    found.extend(
        users
            .iter()
            .filter_map(|u| user_role.get(u.as_str()))
            .map(|r| r.to_string()),
    );
    for inner in groups {
        if !seen.insert(inner.clone()) {
            continue;
        }
        match roles.get(inner) {
            Some(role) => found.push(role.clone()),
            None => role_members(inner, members, user_role, roles, seen, found),
        }
    }
}

/// `role` and every role it is a member of, transitively.
fn ancestors(up: &BTreeMap<String, BTreeSet<String>>, role: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::from([role.to_string()]);
    let mut todo = vec![role.to_string()];
    while let Some(next) = todo.pop() {
        for parent in up.get(&next).into_iter().flatten() {
            if out.insert(parent.clone()) {
                todo.push(parent.clone());
            }
        }
    }
    out
}

/// Whether `from` is `to` or a member of it, transitively.
fn reaches(up: &BTreeMap<String, BTreeSet<String>>, from: &str, to: &str) -> bool {
    ancestors(up, from).contains(to)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(role: &str, table: &str) -> Privilege {
        Privilege::new(
            &role.into(),
            On::Table("s".into(), table.into()),
            &"SELECT".into(),
        )
    }

    /// What each user reaches through its role and every group role above it.
    fn reached(desired: &Desired, role: &str) -> BTreeSet<(On, Name)> {
        let mut roles = BTreeSet::from([role.to_string()]);
        loop {
            let more: BTreeSet<String> = desired
                .privileges
                .iter()
                .filter(|p| roles.contains(&*p.role) && &*p.privilege == MEMBER)
                .filter_map(|p| match &p.on {
                    On::Role(g) => Some(g.to_string()),
                    _ => None,
                })
                .filter(|g| !roles.contains(g))
                .collect();
            if more.is_empty() {
                break;
            }
            roles.extend(more);
        }
        desired
            .privileges
            .iter()
            .filter(|p| roles.contains(&*p.role) && &*p.privilege != MEMBER)
            .map(|p| (p.on.clone(), p.privilege.clone()))
            .collect()
    }

    #[test]
    fn groups_hold_what_all_their_users_hold_and_users_reach_what_they_did() {
        // eng ⊃ backend; ann and bob in backend, cat in eng; bob denied `pay`.
        let mut desired = Desired::default();
        for u in ["ann", "bob", "cat", "dan"] {
            desired.roles.insert(u.into(), u.into());
        }
        for (u, t) in [
            ("ann", "orders"),
            ("ann", "pay"),
            ("ann", "logs"),
            ("bob", "orders"),
            ("bob", "logs"),
            ("cat", "orders"),
            ("dan", "orders"),
        ] {
            desired.privileges.insert(p(u, t));
        }
        let before: Vec<BTreeSet<(On, Name)>> = ["ann", "bob", "cat", "dan"]
            .iter()
            .map(|u| reached(&desired, u))
            .collect();
        let mut members = GroupMembers::new();
        members.insert(
            "eng".into(),
            (vec!["cat".into()], vec!["backend".into(), "team".into()]),
        );
        members.insert("team".into(), (vec![], vec!["backend".into()]));
        members.insert("backend".into(), (vec!["ann".into(), "bob".into()], vec![]));
        members.insert("empty".into(), (vec!["nobody".into()], vec![]));
        // A cycle: x and y in each other, dan in x.
        members.insert("x".into(), (vec!["dan".into()], vec!["y".into()]));
        members.insert("y".into(), (vec![], vec!["x".into()]));
        // `team` cannot be a role: its members pass up to eng.
        let roles: BTreeMap<String, String> = [
            ("eng", "eng"),
            ("backend", "backend"),
            ("empty", "empty"),
            ("x", "x"),
            ("y", "y"),
        ]
        .iter()
        .map(|(g, r)| (g.to_string(), r.to_string()))
        .collect();
        fold_groups(&mut desired, &members, &roles);
        let after: Vec<BTreeSet<(On, Name)>> = ["ann", "bob", "cat", "dan"]
            .iter()
            .map(|u| reached(&desired, u))
            .collect();
        assert_eq!(before, after, "no user reaches more or less");
        let held: BTreeSet<String> = desired.privileges.iter().map(|p| p.to_string()).collect();
        let expected: BTreeSet<String> = [
            "SELECT on table s.pay to ann",
            "SELECT on table s.logs to backend",
            "SELECT on table s.orders to eng",
            "SELECT on table s.orders to x",
            "dan member of role x",
            "ann member of role backend",
            "bob member of role backend",
            "backend member of role eng",
            "cat member of role eng",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(held, expected);
        assert_eq!(
            desired.groups.keys().collect::<Vec<_>>(),
            ["backend", "eng", "x"],
            "a group with no user under it is no role"
        );
    }
}
