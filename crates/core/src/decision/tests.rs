//! Property tests: over random tenants and random sequences of changes, the index decides
//! exactly as the reference evaluator, and lookups agree with checks.
#![allow(clippy::field_reassign_with_default)] // the model is built up field by field

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::to_value;

use super::reference::{Asked, Model};
use super::{CheckQuery, Op, ResourceQuery, Snapshot, Verdict};
use crate::model::*;
use crate::{Kind, Object};

const ACTIONS: [&str; 3] = ["read", "write", "delete"];
const PATHS: [&str; 4] = [
    "hive/c1/sales",
    "hive/c1/sales/orders",
    "hive/c2/hr/people/name",
    "dws/c1",
];
const PATTERNS: [&str; 4] = [
    "hive/c1",
    "hive/*/sales/orders",
    "hive/c2/hr/people/name",
    "*",
];

fn subject(kind: u8, i: u8) -> SubjectRef {
    let (subject_type, prefix) = match kind % 3 {
        0 => (SubjectType::User, "u"),
        1 => (SubjectType::Group, "g"),
        _ => (SubjectType::Role, "r"),
    };
    SubjectRef {
        subject_type,
        id: format!("{prefix}{}", i % 4),
    }
}

fn resource_ref(i: u8) -> ResourceRef {
    ResourceRef {
        resource_type: if i.is_multiple_of(2) {
            "A".into()
        } else {
            "B".into()
        },
        id: format!("x{}", i % 6),
    }
}

fn labels(bits: u8) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    if bits & 1 == 1 {
        labels.insert(
            "env".into(),
            if bits & 2 == 2 {
                "prod".into()
            } else {
                "dev".into()
            },
        );
    }
    if bits & 4 == 4 {
        labels.insert("team".into(), "core".into());
    }
    labels
}

/// The window of the `i`th generated membership: none, or one that overlaps the grants'
/// windows (100 to 200) and the assignments'.
fn member_window(i: usize) -> (Option<Timestamp>, Option<Timestamp>) {
    match i % 4 {
        1 => (Some(Timestamp(130)), None),
        2 => (None, Some(Timestamp(190))),
        3 => (Some(Timestamp(120)), Some(Timestamp(260))),
        _ => (None, None),
    }
}

/// The window of the `i`th generated role assignment.
fn assignment_window(i: usize) -> (Option<Timestamp>, Option<Timestamp>) {
    match i % 3 {
        1 => (Some(Timestamp(50)), Some(Timestamp(180))),
        2 => (Some(Timestamp(150)), None),
        _ => (None, None),
    }
}

/// An enabled user with nothing but an id.
fn user(id: impl Into<String>) -> User {
    User {
        id: id.into(),
        email: None,
        name: None,
        attributes: BTreeMap::new(),
        disabled: false,
    }
}

/// A random tenant: every relation acyclic by construction (edges go to lower indexes).
fn model() -> impl Strategy<Value = Model> {
    (
        prop::collection::vec(any::<bool>(), 4),
        prop::collection::vec((0u8..4, 0u8..2, 0u8..4), 0..8),
        prop::collection::vec((prop::collection::vec(0usize..4, 0..3), 0u8..8), 4),
        prop::collection::vec((prop::option::of(0u8..6), 0u8..8), 6),
        prop::collection::vec((0u8..2, 0u8..4, 0u8..4), 0..6),
        prop::collection::vec(
            (0u8..3, 0u8..4, 0u8..5, 0u8..8, 0u8..6, any::<bool>()),
            0..12,
        ),
    )
        .prop_map(
            |(disabled, members, roles, resources, assignments, grants)| {
                let mut m = Model::default();
                m.users = (0..4)
                    .map(|i| User {
                        id: format!("u{i}"),
                        email: None,
                        name: None,
                        attributes: BTreeMap::new(),
                        disabled: disabled[i] && i == 3,
                    })
                    .collect();
                for (i, (group, kind, member)) in members.into_iter().enumerate() {
                    let member = if kind == 0 {
                        subject(0, member)
                    } else {
                        subject(1, member)
                    };
                    let group = format!("g{group}");
                    let acyclic = member.subject_type == SubjectType::User || member.id < group;
                    if acyclic
                        && !m
                            .members
                            .iter()
                            .any(|x| x.group == group && x.member == member)
                    {
                        let (not_before, expires_at) = member_window(i);
                        m.members.push(Member {
                            group,
                            member,
                            not_before,
                            expires_at,
                        });
                    }
                }
                m.roles = roles
                    .into_iter()
                    .enumerate()
                    .map(|(i, (includes, actions))| Role {
                        id: format!("r{i}"),
                        name: None,
                        description: None,
                        actions: ACTIONS
                            .iter()
                            .chain(["*"].iter())
                            .enumerate()
                            .filter(|(b, _)| actions & (1 << b) != 0)
                            .map(|(_, a)| a.to_string())
                            .collect(),
                        includes: includes
                            .into_iter()
                            .filter(|j| *j < i)
                            .map(|j| format!("r{j}"))
                            .collect::<std::collections::BTreeSet<_>>()
                            .into_iter()
                            .collect(),
                    })
                    .collect();
                m.resources = resources
                    .into_iter()
                    .enumerate()
                    .map(|(i, (parent, bits))| {
                        let me = resource_ref(i as u8);
                        Resource {
                            resource_type: me.resource_type,
                            id: me.id,
                            parent: parent.filter(|p| (*p as usize) < i).map(resource_ref),
                            labels: labels(bits),
                        }
                    })
                    .collect();
                for (i, (kind, s, role)) in assignments.into_iter().enumerate() {
                    let (not_before, expires_at) = assignment_window(i);
                    let a = Assignment {
                        subject: subject(kind, s),
                        role: format!("r{role}"),
                        not_before,
                        expires_at,
                    };
                    if !m.assignments.iter().any(|x| x.key() == a.key()) {
                        m.assignments.push(a);
                    }
                }
                m.grants = grants
                    .into_iter()
                    .enumerate()
                    .map(|(i, (kind, s, privilege, target, pick, allow))| Grant {
                        id: format!("grant{i}"),
                        subject: subject(kind, s),
                        privilege: match privilege {
                            0 | 1 => Privilege::Role {
                                id: format!("r{}", s),
                            },
                            2 => Privilege::Permission {
                                id: ACTIONS[(pick % 3) as usize].into(),
                            },
                            3 => Privilege::Actions {
                                actions: vec!["*".into()],
                            },
                            _ => Privilege::Actions {
                                actions: vec![ACTIONS[(pick % 3) as usize].into(), "x".into()],
                            },
                        },
                        target: match target {
                            0 => Target::Tenant,
                            1..=3 => Target::Resource {
                                resource: resource_ref(pick),
                            },
                            4 | 5 => Target::Labels {
                                resource_type: (pick % 2 == 0).then(|| "A".into()),
                                labels: labels(pick + 1),
                            },
                            _ => Target::DataPath {
                                pattern: PATTERNS[(pick % 4) as usize].into(),
                            },
                        },
                        effect: if allow { Effect::Allow } else { Effect::Deny },
                        origin: None,
                        // Windows open at 100 and close at 200, alone or together.
                        not_before: (matches!((i + pick as usize) % 5, 1 | 3))
                            .then_some(Timestamp(100)),
                        expires_at: (matches!((i + pick as usize) % 5, 2 | 3))
                            .then_some(Timestamp(200)),
                        row_filter: None,
                    })
                    .collect();
                m
            },
        )
}

fn put<K: Object>(object: &K) -> Op {
    Op::Put {
        kind: K::KIND,
        body: to_value(object).expect("encode"),
    }
}

/// The model as one change record, in the order the service could have written it.
fn ops_of(m: &Model) -> Vec<Op> {
    let mut ops: Vec<Op> = m.users.iter().map(put).collect();
    ops.extend((0..4).map(|i| {
        put(&Group {
            id: format!("g{i}"),
            name: None,
            description: None,
        })
    }));
    ops.extend(m.members.iter().map(put));
    ops.extend(m.roles.iter().map(put));
    ops.extend(m.resources.iter().map(put));
    ops.extend(m.assignments.iter().map(put));
    ops.extend(m.grants.iter().map(put));
    ops
}

fn verdict(decision: Option<bool>) -> Verdict {
    match decision {
        Some(true) => Verdict::Allow,
        Some(false) => Verdict::Deny,
        None => Verdict::NoMatch,
    }
}

/// Compares every check the index can be asked against the reference.
fn agrees(index: &Snapshot, m: &Model) -> Result<(), TestCaseError> {
    for at in INSTANTS {
        agrees_at(index, m, at)?;
    }
    Ok(())
}

/// Instants before, at the bounds of and inside the windows the generated grants,
/// memberships and assignments have, and after them: one in each stretch between bounds.
const INSTANTS: [i64; 11] = [0, 60, 100, 125, 130, 150, 185, 190, 200, 230, 1_000];

fn agrees_at(index: &Snapshot, m: &Model, at: i64) -> Result<(), TestCaseError> {
    let mut keys: Vec<String> = (0..6).map(|i| resource_ref(i).key()).collect();
    keys.push("A/unknown".into());
    for user in ["u0", "u1", "u2", "u3", "nobody"] {
        for action in ACTIONS {
            for key in &keys {
                let query = CheckQuery {
                    user,
                    action,
                    resource: ResourceQuery::Object { key, labels: None },
                    at,
                };
                let expected = verdict(m.decide(user, action, &Asked::Resource(key), at));
                prop_assert_eq!(
                    index.check(&query),
                    expected,
                    "{} {} {} at {}",
                    user,
                    action,
                    key,
                    at
                );
                prop_assert_eq!(index.explain(&query).verdict, expected);
            }
            for path in PATHS {
                let query = CheckQuery {
                    user,
                    action,
                    resource: ResourceQuery::DataPath(path),
                    at,
                };
                prop_assert_eq!(
                    index.check(&query),
                    verdict(m.decide(user, action, &Asked::DataPath(path), at)),
                    "{} {} {}",
                    user,
                    action,
                    path
                );
            }
            // The rules under a prefix decide its paths as checks do (a disabled user has
            // none: nothing allowed, where a check says deny).
            for prefix in ["hive", "hive/c1"] {
                let rules = index.data_rules(user, action, prefix, at);
                for path in PATHS.iter().filter(|p| p.starts_with(prefix)) {
                    let segments: Vec<&str> = path.split('/').collect();
                    let query = CheckQuery {
                        user,
                        action,
                        resource: ResourceQuery::DataPath(path),
                        at,
                    };
                    prop_assert_eq!(
                        rules.verdict(&segments).allowed(),
                        index.check(&query).allowed(),
                        "rules under {} for {} {} {}",
                        prefix,
                        user,
                        action,
                        path
                    );
                }
            }
            let found = index.lookup_resources(user, action, None, None, at);
            let expected: Vec<String> = {
                let mut k: Vec<String> = m
                    .resources
                    .iter()
                    .map(|r| r.key())
                    .filter(|k| m.decide(user, action, &Asked::Resource(k), at) == Some(true))
                    .collect();
                k.sort();
                k
            };
            prop_assert_eq!(found, expected);
        }
    }
    for key in keys.iter().take(6) {
        let found = index.lookup_subjects(
            "read",
            ResourceQuery::Object { key, labels: None },
            None,
            at,
        );
        let expected: Vec<String> = m
            .users
            .iter()
            .map(|u| u.id.clone())
            .filter(|u| m.decide(u, "read", &Asked::Resource(key), at) == Some(true))
            .collect();
        prop_assert_eq!(found, expected);
    }
    Ok(())
}

/// Deletes an object from the model with what references it, as the service cascades,
/// and returns the ops of that change (the object first, then its dependents).
fn delete(m: &mut Model, choice: u8, which: u8) -> Vec<Op> {
    let del = |kind: Kind, key: String| Op::Delete { kind, key };
    let mut ops = Vec::new();
    match choice % 5 {
        0 if !m.users.is_empty() => {
            let user = m.users.remove(which as usize % m.users.len()).id;
            ops.push(del(Kind::User, user.clone()));
            let is = |s: &SubjectRef| s.subject_type == SubjectType::User && s.id == user;
            m.members.retain(|x| {
                if is(&x.member) {
                    ops.push(del(Kind::Member, x.key()));
                    false
                } else {
                    true
                }
            });
            m.assignments.retain(|x| {
                if is(&x.subject) {
                    ops.push(del(Kind::Assignment, x.key()));
                    false
                } else {
                    true
                }
            });
            m.grants.retain(|x| {
                if is(&x.subject) {
                    ops.push(del(Kind::Grant, x.key()));
                    false
                } else {
                    true
                }
            });
        }
        1 if !m.members.is_empty() => ops.push(del(
            Kind::Member,
            m.members.remove(which as usize % m.members.len()).key(),
        )),
        2 if !m.assignments.is_empty() => ops.push(del(
            Kind::Assignment,
            m.assignments
                .remove(which as usize % m.assignments.len())
                .key(),
        )),
        3 if !m.grants.is_empty() => ops.push(del(
            Kind::Grant,
            m.grants.remove(which as usize % m.grants.len()).key(),
        )),
        4 => {
            // A leaf resource (no children) goes with its grants.
            let leaves: Vec<String> = m
                .resources
                .iter()
                .map(|r| r.key())
                .filter(|k| {
                    !m.resources
                        .iter()
                        .any(|r| r.parent.as_ref().is_some_and(|p| p.key() == *k))
                })
                .collect();
            if let Some(key) = leaves.get(which as usize % leaves.len().max(1)).cloned() {
                m.resources.retain(|r| r.key() != key);
                ops.push(del(Kind::Resource, key.clone()));
                m.grants.retain(|g| match &g.target {
                    Target::Resource { resource } if resource.key() == key => {
                        ops.push(del(Kind::Grant, g.key()));
                        false
                    }
                    _ => true,
                });
            }
        }
        _ => {}
    }
    ops
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

    #[test]
    fn index_decides_as_the_reference(m in model()) {
        let mut index = Snapshot::new();
        index.apply(1, &ops_of(&m));
        agrees(&index, &m)?;
    }

    #[test]
    fn index_follows_writes_and_deletes(m in model(), changes in prop::collection::vec((0u8..9, any::<u8>(), any::<u8>()), 1..12)) {
        let mut m = m;
        let mut index = Snapshot::new();
        index.apply(1, &ops_of(&m));
        let before = index.clone();
        for (revision, (choice, which, flip)) in changes.into_iter().enumerate() {
            let ops = match choice {
                5 if !m.grants.is_empty() => {
                    // Flip a grant's effect in place.
                    let i = which as usize % m.grants.len();
                    m.grants[i].effect = if flip % 2 == 0 { Effect::Allow } else { Effect::Deny };
                    vec![put(&m.grants[i])]
                }
                6 if !m.users.is_empty() => {
                    let i = which as usize % m.users.len();
                    m.users[i].disabled = flip % 3 == 0;
                    vec![put(&m.users[i])]
                }
                7 if !m.roles.is_empty() => {
                    // A role's actions and inclusions changed in place (only roles before
                    // it are included, so the graph stays acyclic): only what it affects
                    // is recomputed, and that must be everything it affects.
                    let i = which as usize % m.roles.len();
                    m.roles[i].actions = ACTIONS
                        .iter()
                        .enumerate()
                        .filter(|(b, _)| flip & (1 << b) != 0)
                        .map(|(_, a)| a.to_string())
                        .collect();
                    m.roles[i].includes = (0..i)
                        .filter(|j| flip & (1 << (4 + j % 4)) != 0)
                        .map(|j| format!("r{j}"))
                        .collect();
                    vec![put(&m.roles[i])]
                }
                8 if !m.members.is_empty() || !m.assignments.is_empty() => {
                    // A membership's or an assignment's window moved, made, or taken away.
                    let i = which as usize;
                    let (nb, ea) = member_window(flip as usize);
                    if flip % 2 == 0 && !m.members.is_empty() {
                        let n = m.members.len();
                        let x = &mut m.members[i % n];
                        (x.not_before, x.expires_at) = (nb, ea);
                        vec![put(&*x)]
                    } else if !m.assignments.is_empty() {
                        let n = m.assignments.len();
                        let x = &mut m.assignments[i % n];
                        (x.not_before, x.expires_at) = (nb, ea);
                        vec![put(&*x)]
                    } else {
                        Vec::new()
                    }
                }
                _ => delete(&mut m, choice, which),
            };
            index.apply(revision as i64 + 2, &ops);
        }
        agrees(&index, &m)?;
        // The snapshot taken before the changes is untouched by them.
        prop_assert_eq!(before.revision(), 1);
    }
}

/// A target with more rules than are scanned is searched by subject: every user finds its
/// own grant and no one else's.
#[test]
fn large_buckets_are_searched_by_subject() {
    let mut m = Model::default();
    m.resources.push(Resource {
        resource_type: "A".into(),
        id: "big".into(),
        parent: None,
        labels: BTreeMap::new(),
    });
    for i in 0..40 {
        m.users.push(user(format!("u{i}")));
        m.grants.push(Grant {
            id: format!("g{i}"),
            subject: SubjectRef {
                subject_type: SubjectType::User,
                id: format!("u{i}"),
            },
            privilege: Privilege::Actions {
                actions: vec![format!("act{}", i % 3)],
            },
            target: if i % 5 == 0 {
                Target::Tenant
            } else {
                Target::Resource {
                    resource: ResourceRef {
                        resource_type: "A".into(),
                        id: "big".into(),
                    },
                }
            },
            effect: if i % 7 == 0 {
                Effect::Deny
            } else {
                Effect::Allow
            },
            origin: None,
            not_before: None,
            expires_at: None,
            row_filter: None,
        });
    }
    let mut index = Snapshot::new();
    index.apply(1, &ops_of(&m));
    for i in 0..40 {
        for action in ["act0", "act1", "act2"] {
            let user = format!("u{i}");
            let query = CheckQuery {
                user: &user,
                action,
                resource: ResourceQuery::Object {
                    key: "A/big",
                    labels: None,
                },
                at: 0,
            };
            assert_eq!(
                index.check(&query),
                verdict(m.decide(&user, action, &Asked::Resource("A/big"), 0)),
                "{user} {action}"
            );
        }
    }
}

/// One change that writes a grant, moves it to another target and writes others beside
/// it, or writes and deletes one, leaves each bucket as the last write says: the buckets
/// are written once, when the change is done.
#[test]
fn a_change_leaves_each_bucket_as_its_last_write_says() {
    let grant = |id: &str, user: &str, target: Target| Grant {
        id: id.into(),
        subject: SubjectRef {
            subject_type: SubjectType::User,
            id: user.into(),
        },
        privilege: Privilege::Actions {
            actions: vec!["read".into()],
        },
        target,
        effect: Effect::Allow,
        origin: None,
        not_before: None,
        expires_at: None,
        row_filter: None,
    };
    let on_doc = || Target::Resource {
        resource: ResourceRef {
            resource_type: "doc".into(),
            id: "1".into(),
        },
    };
    let doc = Resource {
        resource_type: "doc".into(),
        id: "1".into(),
        parent: None,
        labels: BTreeMap::new(),
    };
    let mut ops = vec![put(&user("a")), put(&user("b")), put(&user("c")), put(&doc)];
    ops.push(put(&grant("moved", "a", on_doc())));
    ops.push(put(&grant("kept", "b", on_doc())));
    ops.push(put(&grant("moved", "a", Target::Tenant)));
    ops.push(put(&grant("gone", "c", on_doc())));
    ops.push(Op::Delete {
        kind: Kind::Grant,
        key: "gone".into(),
    });
    let mut index = Snapshot::new();
    index.apply(1, &ops);
    let on = |index: &Snapshot, user: &str, key: &str| {
        index.check(&CheckQuery {
            user,
            action: "read",
            resource: ResourceQuery::Object { key, labels: None },
            at: 0,
        })
    };
    assert_eq!(
        on(&index, "a", "doc/2"),
        Verdict::Allow,
        "moved to the tenant"
    );
    assert_eq!(
        on(&index, "b", "doc/1"),
        Verdict::Allow,
        "kept on the document"
    );
    assert_eq!(on(&index, "b", "doc/2"), Verdict::NoMatch);
    assert_eq!(
        on(&index, "c", "doc/1"),
        Verdict::NoMatch,
        "written and deleted"
    );
    // A later change moves it back, and takes the kept one away.
    index.apply(
        2,
        &[
            put(&grant("moved", "a", on_doc())),
            Op::Delete {
                kind: Kind::Grant,
                key: "kept".into(),
            },
        ],
    );
    assert_eq!(on(&index, "a", "doc/2"), Verdict::NoMatch);
    assert_eq!(on(&index, "a", "doc/1"), Verdict::Allow);
    assert_eq!(on(&index, "b", "doc/1"), Verdict::NoMatch);
}

/// Data-object lookups name what a user may reach under a path, with what DENY carves out.
#[test]
fn data_path_lookups_list_allowed_patterns_minus_denies() {
    let mut m = Model::default();
    m.users.push(user("bob"));
    let grant = |id: &str, pattern: &str, effect: Effect| Grant {
        id: id.into(),
        subject: SubjectRef {
            subject_type: SubjectType::User,
            id: "bob".into(),
        },
        privilege: Privilege::Actions {
            actions: vec!["SELECT".into()],
        },
        target: Target::DataPath {
            pattern: pattern.into(),
        },
        effect,
        origin: None,
        not_before: None,
        expires_at: None,
        row_filter: None,
    };
    m.grants.push(grant("a", "hive/c1/sales", Effect::Allow));
    m.grants
        .push(grant("b", "hive/c1/sales/secret", Effect::Deny));
    m.grants
        .push(grant("c", "hive/c1/hr/*/people", Effect::Allow));
    m.grants
        .push(grant("d", "hive/c1/hr/eu/people", Effect::Deny));
    m.grants.push(grant("e", "dws/c9", Effect::Allow));
    let mut index = Snapshot::new();
    index.apply(1, &ops_of(&m));
    let found = index.lookup_data_paths("bob", "SELECT", "hive/c1", 0);
    let paths: Vec<(&str, Vec<&str>)> = found
        .iter()
        .map(|f| {
            (
                f.data_path.as_str(),
                f.except.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        paths,
        [
            ("hive/c1/hr/*/people", vec!["hive/c1/hr/eu/people"]),
            ("hive/c1/sales", vec!["hive/c1/sales/secret"])
        ]
    );
    // Under a covered prefix, the prefix itself is reported.
    let found = index.lookup_data_paths("bob", "SELECT", "hive/c1/sales/q1", 0);
    assert_eq!(
        found
            .iter()
            .map(|f| f.data_path.as_str())
            .collect::<Vec<_>>(),
        ["hive/c1/sales/q1"]
    );
    assert!(
        index
            .lookup_data_paths("bob", "SELECT", "hive/c1/sales/secret/x", 0)
            .is_empty(),
        "a DENY covers it whole"
    );
    assert!(index
        .lookup_data_paths("bob", "INSERT", "hive", 0)
        .is_empty());
    // What the lookup reports agrees with checks on concrete paths.
    for (path, allowed) in [
        ("hive/c1/sales/q1/t", true),
        ("hive/c1/sales/secret/t", false),
        ("hive/c1/hr/us/people/name", true),
        ("hive/c1/hr/eu/people/name", false),
    ] {
        let query = CheckQuery {
            user: "bob",
            action: "SELECT",
            resource: ResourceQuery::DataPath(path),
            at: 0,
        };
        assert_eq!(index.check(&query) == Verdict::Allow, allowed, "{path}");
    }
}

#[test]
fn users_reach_their_groups_and_roles_transitively() {
    let mut m = Model::default();
    for (id, disabled) in [("bob", false), ("eve", true)] {
        m.users.push(User {
            disabled,
            ..user(id)
        });
    }
    let member = |group: &str, kind: SubjectType, id: &str| {
        Member::new(
            group,
            SubjectRef {
                subject_type: kind,
                id: id.into(),
            },
        )
    };
    m.members.push(member("g", SubjectType::User, "bob"));
    m.members.push(member("g", SubjectType::User, "eve"));
    m.members.push(member("g2", SubjectType::Group, "g"));
    let role = |id: &str, includes: &[&str]| Role {
        id: id.into(),
        name: None,
        description: None,
        actions: vec![],
        includes: includes.iter().map(|s| (*s).into()).collect(),
    };
    m.roles = vec![role("r", &["r2"]), role("r2", &[]), role("x", &[])];
    m.assignments.push(Assignment::new(
        SubjectRef {
            subject_type: SubjectType::Group,
            id: "g2".into(),
        },
        "r",
    ));
    let mut ops: Vec<Op> = ["g", "g2"]
        .iter()
        .map(|id| {
            put(&Group {
                id: (*id).into(),
                name: None,
                description: None,
            })
        })
        .collect();
    ops.extend(ops_of(&m));
    let mut index = Snapshot::new();
    index.apply(1, &ops);
    for reached in ["user:bob", "group:g", "group:g2", "role:r", "role:r2"] {
        assert!(index.reaches("bob", reached, 0), "{reached}");
    }
    assert!(!index.reaches("bob", "role:x", 0));
    assert!(!index.reaches("bob", "role:nope", 0));
    assert!(
        !index.reaches("eve", "group:g", 0),
        "a disabled user reaches nothing"
    );
    assert!(!index.reaches("nobody", "group:g", 0));
}

#[test]
fn the_index_knows_which_windows_end_when() {
    let grant = |id: &str, end: Option<i64>| Grant {
        id: id.into(),
        subject: SubjectRef {
            subject_type: SubjectType::User,
            id: "bob".into(),
        },
        privilege: Privilege::Actions {
            actions: vec!["read".into()],
        },
        target: Target::Tenant,
        effect: Effect::Allow,
        origin: None,
        not_before: None,
        expires_at: end.map(Timestamp),
        row_filter: None,
    };
    let bob = user("bob");
    let mut index = Snapshot::new();
    let ended = |index: &Snapshot, from: i64, to: i64| -> Vec<String> {
        index
            .ended(from, to)
            .iter()
            .map(|g| g.to_string())
            .collect()
    };
    index.apply(
        1,
        &[
            put(&bob),
            put(&grant("g1", Some(1_500))),
            put(&grant("g2", Some(2_500))),
            put(&grant("g3", None)),
        ],
    );
    assert_eq!(ended(&index, 0, 1_999), ["grant:g1"]);
    assert_eq!(ended(&index, 2_000, 3_000), ["grant:g2"]);
    assert_eq!(ended(&index, i64::MIN, 10_000), ["grant:g1", "grant:g2"]);
    // Extended, and deleted: the index follows.
    index.apply(
        2,
        &[
            put(&grant("g1", Some(5_500))),
            Op::Delete {
                kind: Kind::Grant,
                key: "g2".into(),
            },
        ],
    );
    assert!(ended(&index, 0, 3_000).is_empty());
    assert_eq!(ended(&index, 5_000, 6_000), ["grant:g1"]);
    // Memberships and role assignments are there too, under their kind.
    let mut member = Member::new("g", grant("x", None).subject);
    member.expires_at = Some(Timestamp(7_200));
    let mut assignment = Assignment::new(grant("x", None).subject, "r");
    assignment.expires_at = Some(Timestamp(7_700));
    index.apply(3, &[put(&member), put(&assignment)]);
    assert_eq!(
        ended(&index, 7_000, 8_000),
        ["assignment:user:bob/r", "member:g/user:bob"]
    );
    index.apply::<serde_json::Value>(
        4,
        &[Op::Delete {
            kind: Kind::Member,
            key: member.key(),
        }],
    );
    assert_eq!(ended(&index, 7_000, 8_000), ["assignment:user:bob/r"]);
}

/// A membership and an assignment that hold for a while: what they lead to is reached
/// only then, the explanation says when it stops, and the path shown is one that holds.
#[test]
fn memberships_and_assignments_hold_within_their_windows() {
    let bob = SubjectRef {
        subject_type: SubjectType::User,
        id: "bob".into(),
    };
    let mut m = Model::default();
    m.users.push(user("bob"));
    let mut member = Member::new("oncall", bob.clone());
    (member.not_before, member.expires_at) = (Some(Timestamp(1_000)), Some(Timestamp(2_000)));
    m.members.push(member);
    // The group holds the role for a shorter while: bob holds it only where both hold.
    let mut assignment = Assignment::new(
        SubjectRef {
            subject_type: SubjectType::Group,
            id: "oncall".into(),
        },
        "responder",
    );
    (assignment.not_before, assignment.expires_at) = (None, Some(Timestamp(1_500)));
    m.assignments.push(assignment);
    m.roles.push(Role {
        id: "responder".into(),
        name: None,
        description: None,
        actions: vec!["restart".into()],
        includes: vec![],
    });
    let grant = |id: &str, subject: SubjectRef, privilege: Privilege| Grant {
        id: id.into(),
        subject,
        privilege,
        target: Target::Tenant,
        effect: Effect::Allow,
        origin: None,
        not_before: None,
        expires_at: None,
        row_filter: None,
    };
    m.grants.push(grant(
        "pages",
        SubjectRef {
            subject_type: SubjectType::Group,
            id: "oncall".into(),
        },
        Privilege::Actions {
            actions: vec!["page".into()],
        },
    ));
    m.grants.push(grant(
        "restarts",
        SubjectRef {
            subject_type: SubjectType::Role,
            id: "responder".into(),
        },
        Privilege::Role {
            id: "responder".into(),
        },
    ));
    let mut ops = vec![put(&Group {
        id: "oncall".into(),
        name: None,
        description: None,
    })];
    ops.extend(ops_of(&m));
    let mut index = Snapshot::new();
    index.apply(1, &ops);
    let ask = |action: &'static str, at: i64| CheckQuery {
        user: "bob",
        action,
        resource: ResourceQuery::Object {
            key: "A/x",
            labels: None,
        },
        at,
    };
    for (at, page, restart) in [
        (999, Verdict::NoMatch, Verdict::NoMatch),
        (1_000, Verdict::Allow, Verdict::Allow),
        (1_499, Verdict::Allow, Verdict::Allow),
        (1_500, Verdict::Allow, Verdict::NoMatch),
        (2_000, Verdict::NoMatch, Verdict::NoMatch),
    ] {
        assert_eq!(index.check(&ask("page", at)), page, "page at {at}");
        assert_eq!(index.check(&ask("restart", at)), restart, "restart at {at}");
        assert_eq!(
            verdict(m.decide("bob", "restart", &Asked::Resource("A/x"), at)),
            restart
        );
        assert_eq!(
            index.reaches("bob", "role:responder", at),
            restart.allowed()
        );
    }
    let why = index.explain(&ask("restart", 1_200));
    assert_eq!(
        why.decided_by[0].via,
        ["user:bob", "group:oncall", "role:responder"]
    );
    assert_eq!(
        why.decided_by[0].expires_at,
        Some(Timestamp(1_500)),
        "it stops deciding when the assignment ends"
    );
    let why = index.explain(&ask("page", 1_700));
    assert_eq!(why.decided_by[0].expires_at, Some(Timestamp(2_000)));
    assert_eq!(index.explain(&ask("page", 2_500)).verdict, Verdict::NoMatch);
}
