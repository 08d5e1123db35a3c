//! Groups as roles (PostgreSQL): each group some mapped user belongs to becomes a NOLOGIN
//! role, granted to the roles of its members, nested groups as nested roles. A group role
//! holds exactly the privileges every user under it holds, and each user's role keeps the
//! rest: what a user reaches through its roles is what the checks decide for it, a DENY on
//! one member included, whatever the groups.
//!
//! Folding never changes what any user reaches; it only moves privileges a whole group
//! shares onto the group's role. A group that cannot be a role (its name is taken, or not a
//! valid role) passes its members up to the groups above it.

use std::collections::{BTreeMap, BTreeSet, HashSet};

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
    // Each user's privileges, and each group's: those all its users hold.
    let mut own: BTreeMap<Name, HashSet<(On, Name)>> = BTreeMap::new();
    for p in &desired.privileges {
        if up.contains_key(&*p.role) {
            own.entry(p.role.clone())
                .or_default()
                .insert((p.on.clone(), p.privilege.clone()));
        }
    }
    let empty = HashSet::new();
    let mut shared: BTreeMap<&str, HashSet<(On, Name)>> = BTreeMap::new();
    for (group, users) in &under {
        let mut sets: Vec<&HashSet<(On, Name)>> = users
            .iter()
            .map(|u| own.get(u.as_str()).unwrap_or(&empty))
            .collect();
        sets.sort_by_key(|s| s.len());
        let common: HashSet<(On, Name)> = sets[0]
            .iter()
            .filter(|p| sets[1..].iter().all(|s| s.contains(*p)))
            .cloned()
            .collect();
        shared.insert(group, common);
    }
    // Each role keeps what no group above it holds.
    let above: BTreeMap<&str, Vec<&HashSet<(On, Name)>>> = up
        .keys()
        .map(|role| {
            let groups = ancestors(&up, role)
                .into_iter()
                .filter(|g| g != role)
                .map(|g| &shared[g.as_str()])
                .collect();
            (role.as_str(), groups)
        })
        .collect();
    let inherited = |role: &str, p: &Privilege| {
        let groups = above.get(role).map(Vec::as_slice).unwrap_or_default();
        !groups.is_empty() && {
            let key = (p.on.clone(), p.privilege.clone());
            groups.iter().any(|g| g.contains(&key))
        }
    };
    let mut privileges: BTreeSet<Privilege> = std::mem::take(&mut desired.privileges)
        .into_iter()
        .filter(|p| !inherited(&p.role, p))
        .collect();
    for (group, common) in &shared {
        let role: Name = Name::from(*group);
        for (on, privilege) in common {
            let p = Privilege::new(&role, on.clone(), privilege);
            if !inherited(group, &p) {
                privileges.insert(p);
            }
        }
    }
    let member: Name = Name::from(MEMBER);
    for (role, groups) in &up {
        for group in groups {
            privileges.insert(Privilege::new(
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
    desired.privileges = privileges;
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
