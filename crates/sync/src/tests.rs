//! The sync's one promise, held over generated tenants: what each user may do in the
//! database, through its own role and every group role above it, is what checks decide
//! for it, under both names of the source, a DENY anywhere winning, groups nested in
//! cycles or not.

use std::collections::{BTreeMap, BTreeSet};

use grantd_core::decision::{CheckQuery, Op, ResourceQuery, Snapshot, Verdict};
use grantd_core::Kind;
use proptest::prelude::*;
use serde_json::json;

use crate::groups::MEMBER;
use crate::{desired, fold_groups, users_with_access, Catalog, Dialect, On, Scope, Table};

const USERS: [&str; 5] = ["u0", "u1", "u2", "u3", "u4"];
const GROUPS: [&str; 4] = ["g0", "g1", "g2", "g3"];
const ACTIONS: [&str; 4] = ["SELECT", "INSERT", "DELETE", "CREATE_TABLE"];
const PATTERNS: [&str; 9] = [
    "wh/db/*",
    "wh/db/s0",
    "wh/db/s0/*",
    "wh/db/s0/t0",
    "wh/db/*/t1",
    "wh/db/s1/t1/a",
    "wh/db/*/*/b",
    "dws/wh/db/s0/t1",
    "dws/wh/db/*",
];

/// A tenant: memberships (user, group), nestings (inner, outer), grants (subject is a
/// user if < 5 else a group, action, pattern, deny, with a row filter if an ALLOW of
/// SELECT), and a disabled user.
type Model = (
    Vec<(usize, usize)>,
    Vec<(usize, usize)>,
    Vec<(usize, usize, usize, bool, bool)>,
    Option<usize>,
);

fn model() -> impl Strategy<Value = Model> {
    (
        prop::collection::vec((0..USERS.len(), 0..GROUPS.len()), 0..8),
        prop::collection::vec((0..GROUPS.len(), 0..GROUPS.len()), 0..4),
        prop::collection::vec(
            (
                0..USERS.len() + GROUPS.len(),
                0..ACTIONS.len(),
                0..PATTERNS.len(),
                prop::bool::weighted(0.3),
                prop::bool::weighted(0.2),
            ),
            1..10,
        ),
        prop::option::of(0..USERS.len()),
    )
}

fn snapshot((members, nested, grants, disabled): &Model) -> Snapshot {
    let mut ops = Vec::new();
    for (i, user) in USERS.iter().enumerate() {
        ops.push(Op::Put {
            kind: Kind::User,
            body: json!({"id": user, "disabled": *disabled == Some(i)}),
        });
    }
    for group in GROUPS {
        ops.push(Op::Put {
            kind: Kind::Group,
            body: json!({"id": group}),
        });
    }
    for (user, group) in members {
        ops.push(Op::Put {
            kind: Kind::Member,
            body: json!({"group": GROUPS[*group], "member": {"type": "user", "id": USERS[*user]}}),
        });
    }
    for (inner, outer) in nested.iter().filter(|(i, o)| i != o) {
        ops.push(Op::Put {
            kind: Kind::Member,
            body: json!({"group": GROUPS[*outer], "member": {"type": "group", "id": GROUPS[*inner]}}),
        });
    }
    for (i, (subject, action, pattern, deny, filtered)) in grants.iter().enumerate() {
        let subject = match USERS.get(*subject) {
            Some(user) => json!({"type": "user", "id": user}),
            None => json!({"type": "group", "id": GROUPS[subject - USERS.len()]}),
        };
        let mut body = json!({"id": format!("gr{i}"), "subject": subject,
            "effect": if *deny { "DENY" } else { "ALLOW" },
            "privilege": {"type": "actions", "actions": [ACTIONS[*action]]},
            "target": {"type": "data_path", "pattern": PATTERNS[*pattern]}});
        if *filtered && !*deny && ACTIONS[*action] == "SELECT" {
            body["row_filter"] = json!("a > 0");
        }
        ops.push(Op::Put {
            kind: Kind::Grant,
            body,
        });
    }
    let mut snapshot = Snapshot::new();
    snapshot.apply(1, &ops);
    snapshot
}

/// What checks decide for `user` at `tail` below the source, under both its names.
fn decided(snapshot: &Snapshot, user: &str, action: &str, tail: &str) -> bool {
    let verdicts: Vec<Verdict> = ["wh/db", "dws/wh/db"]
        .iter()
        .map(|root| {
            snapshot.check(&CheckQuery {
                user,
                action,
                resource: ResourceQuery::DataPath(&format!("{root}/{tail}")),
                at: 0,
            })
        })
        .collect();
    verdicts.contains(&Verdict::Allow) && !verdicts.contains(&Verdict::Deny)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    #[test]
    fn each_user_reaches_in_the_database_what_checks_decide(m in model()) {
        let snapshot = snapshot(&m);
        let scope = Scope {
            roots: vec!["wh".into(), "dws/wh".into()],
            base: "/db".into(),
            dialect: Dialect::Postgres,
        };
        let columns: Vec<crate::Name> = vec!["a".into(), "b".into()];
        let catalog = Catalog {
            schemas: vec!["s0".into(), "s1".into()],
            tables: ["s0", "s1"]
                .iter()
                .flat_map(|s| ["t0", "t1"].map(|t| Table {
                    schema: (*s).into(),
                    name: t.into(),
                    columns: columns.clone(),
                }))
                .collect(),
        };
        let roles: Vec<(String, String)> = users_with_access(&snapshot, 0, &scope)
            .into_iter()
            .map(|u| (u.clone(), u))
            .collect();
        let mut wanted = desired(&snapshot, 0, &scope, &catalog, &roles);
        let members = snapshot.group_members_at(0);
        let groups: BTreeMap<String, String> =
            GROUPS.iter().map(|g| (g.to_string(), g.to_string())).collect();
        fold_groups(&mut wanted, &members, &groups);

        // A member may act as its group (`SET ROLE`): a group role holds nothing on a
        // filtered table, where the filters are on the users' roles, and no CREATE.
        for p in wanted.privileges.iter().filter(|p| wanted.groups.contains_key(&*p.role)) {
            prop_assert!(&*p.privilege != "CREATE", "{}", p);
            if let On::Table(s, t) | On::Column(s, t, _) = &p.on {
                prop_assert!(
                    !wanted.filters.contains_key(&(s.to_string(), t.to_string())),
                    "{} on a filtered table", p
                );
            }
        }

        for user in USERS {
            // The roles the user's role is in, transitively, through the memberships made.
            let mut reached: BTreeSet<String> = BTreeSet::new();
            if roles.iter().any(|(r, _)| r == user) {
                reached.insert(user.to_string());
            }
            loop {
                let more: Vec<String> = wanted
                    .privileges
                    .iter()
                    .filter(|p| &*p.privilege == MEMBER && reached.contains(&*p.role))
                    .filter_map(|p| match &p.on {
                        On::Role(g) if !reached.contains(&**g) => Some(g.to_string()),
                        _ => None,
                    })
                    .collect();
                if more.is_empty() {
                    break;
                }
                reached.extend(more);
            }
            let holds = |on: &On, privilege: &str| {
                wanted.privileges.iter().any(|p| {
                    reached.contains(&*p.role) && p.on == *on && &*p.privilege == privilege
                })
            };
            for table in &catalog.tables {
                let (s, t) = (&*table.schema, &*table.name);
                let whole = On::Table(table.schema.clone(), table.name.clone());
                for action in ["SELECT", "INSERT"] {
                    for c in &table.columns {
                        let column = On::Column(table.schema.clone(), table.name.clone(), c.clone());
                        let may = holds(&whole, action) || holds(&column, action);
                        prop_assert_eq!(
                            may,
                            decided(&snapshot, user, action, &format!("{s}/{t}/{c}")),
                            "{} {} on {}.{}.{}: {:?}", user, action, s, t, c, wanted.privileges
                        );
                    }
                }
                let every_column = table
                    .columns
                    .iter()
                    .all(|c| decided(&snapshot, user, "DELETE", &format!("{s}/{t}/{c}")));
                prop_assert_eq!(
                    holds(&whole, "DELETE"),
                    decided(&snapshot, user, "DELETE", &format!("{s}/{t}")) && every_column,
                    "{} DELETE on {}.{}", user, s, t
                );
            }
            for schema in &catalog.schemas {
                prop_assert_eq!(
                    holds(&On::Schema(schema.as_str().into()), "CREATE"),
                    decided(&snapshot, user, "CREATE_TABLE", schema),
                    "{} CREATE on {}", user, schema
                );
            }
        }
    }
}
