//! Data permissions enforced in the databases that hold the data: a real PostgreSQL and a
//! real MariaDB of this machine, in databases and roles each test makes and drops. What a
//! test's user may do is tried by connecting as that user.

use std::future::Future;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::mysql::MySqlConnection;
use sqlx::postgres::PgConnection;
use sqlx::{Connection, Executor};

use crate::helpers::{send, spawn_app, spawn_with, TestApp};
use crate::private_pg::PrivatePostgres;

const PG_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const MARIADB_ADMIN: &str = "mysql://root@127.0.0.1:3306";

/// Whether a database listens at `addr`. Outside CI a test without it is skipped (said on
/// stderr), as the README's test command runs on a machine with neither; CI must have both.
async fn here(addr: &str) -> bool {
    let connect = tokio::net::TcpStream::connect(addr);
    let up = tokio::time::timeout(Duration::from_secs(2), connect)
        .await
        .is_ok_and(|c| c.is_ok());
    if !up {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI must have a database at {addr}"
        );
        eprintln!("skipping: no database at {addr}");
    }
    up
}

/// Waits up to 20 s for `probe` to hold.
async fn eventually<F, Fut>(what: &str, mut probe: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    for _ in 0..200 {
        if probe().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never happened: {what}");
}

/// A name for a database, role or source: unique, lower-case, without `-`.
fn unique(prefix: &str) -> String {
    grantd_store::testing::unique_name(prefix)
        .replace('-', "_")
        .to_lowercase()
}

async fn status(app: &TestApp, t: &str, source: &str) -> Value {
    let (code, body) = send(app.op(
        Method::GET,
        &format!("/v1/tenants/{t}/data-sources/{source}/status"),
    ))
    .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    body
}

/// Waits for a pass that holds every change up to now.
async fn synced(app: &TestApp, t: &str, source: &str) {
    let revision = app.revision(t).await;
    eventually("a pass holding every change", || async {
        let s = status(app, t, source).await;
        s["status"]["state"] == "ok" && s["status"]["revision"].as_i64().unwrap_or(0) >= revision
    })
    .await;
}

async fn pg(url: &str) -> PgConnection {
    PgConnection::connect(url)
        .await
        .expect("connect to PostgreSQL")
}

/// A new database `db`: the server's administrator connection, and one to `db`.
async fn scratch_database(db: &str) -> (PgConnection, PgConnection) {
    let mut admin = pg(PG_ADMIN).await;
    admin
        .execute(format!("CREATE DATABASE {db}").as_str())
        .await
        .expect("database");
    let data = pg(&format!("postgres://postgres@127.0.0.1:5432/{db}")).await;
    (admin, data)
}

/// Whether `role` may run `sql` on database `db`.
async fn pg_may(role: &str, db: &str, sql: &str) -> Result<(), String> {
    let mut conn = pg(&format!("postgres://{role}@127.0.0.1:5432/{db}")).await;
    let done = conn
        .execute(sql)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string());
    let _ = conn.close().await;
    done
}

/// Whether `user` (password `pw`) may run `sql` on MariaDB.
async fn maria_may(user: &str, sql: String) -> Result<(), String> {
    let mut conn = MySqlConnection::connect(&format!("mysql://{user}:pw@127.0.0.1:3306"))
        .await
        .expect("connect to MariaDB");
    let done = conn
        .execute(sql.as_str())
        .await
        .map(|_| ())
        .map_err(|e| e.to_string());
    let _ = conn.close().await;
    done
}

/// What a catalog query of one boolean answers.
async fn holds(conn: &mut PgConnection, sql: &str) -> bool {
    sqlx::query_scalar::<_, bool>(sql)
        .fetch_one(conn)
        .await
        .expect("catalog")
}

fn grant(id: &str, user: &str, pattern: &str, actions: &[&str], effect: &str) -> Value {
    json!({"id": id, "subject": {"type": "user", "id": user}, "effect": effect,
           "privilege": {"type": "actions", "actions": actions},
           "target": {"type": "data_path", "pattern": pattern}})
}

#[tokio::test]
async fn postgres_holds_what_checks_decide_and_nothing_else() {
    if !here("127.0.0.1:5432").await {
        return;
    }
    let app = spawn_app().await;
    let t = app.tenant().await;
    let (db, source, bob) = (unique("gdsync"), unique("dws"), unique("bob"));
    let (mut admin, mut data) = scratch_database(&db).await;
    data.execute(
        "CREATE SCHEMA sales; CREATE SCHEMA reports; \
         CREATE TABLE sales.orders (id int, amount int, region text, secret text); \
         INSERT INTO sales.orders VALUES (1, 10, 'eu', 's1'), (2, 20, 'us', 's2'); \
         CREATE TABLE sales.refunds (id int)",
    )
    .await
    .expect("tables");

    app.create(
        &t,
        "data-sources",
        json!({"id": source, "kind": "postgresql",
        "url": format!("postgres://postgres@127.0.0.1:5432/{db}"), "interval_seconds": 5}),
    )
    .await;
    app.create(&t, "users", json!({"id": bob})).await;
    // A DWS permission of a set naming the source as its cluster, bob its member.
    let set = app
        .create(
            &t,
            "permission-sets",
            json!({"workspace": "ws", "name": "analysts"}),
        )
        .await;
    let set = set["id"].as_str().expect("id").to_string();
    app.create(
        &t,
        &format!("permission-sets/{set}/permissions"),
        json!({"id": "p1",
        "effect": "allow", "actions": ["SELECT"], "datasource_type": "DWS", "cluster_id": source,
        "database_name": db, "schema_name": "sales", "table_name": "orders", "auto_sync": true}),
    )
    .await;
    let member = app
        .create(
            &t,
            &format!("permission-sets/{set}/members"),
            json!({"member": {"type": "user", "id": bob}}),
        )
        .await;
    eventually("SYNC_SUCCESS", || async {
        status(&app, &t, &source).await["permissions"][0]["sync_status"] == "SYNC_SUCCESS"
    })
    .await;
    pg_may(&bob, &db, "SELECT * FROM sales.orders")
        .await
        .expect("bob selects");
    let refused = pg_may(&bob, &db, "DELETE FROM sales.orders")
        .await
        .expect_err("no delete");
    assert!(refused.contains("permission denied"), "{refused}");
    assert!(
        pg_may(&bob, &db, "SELECT * FROM sales.refunds")
            .await
            .is_err(),
        "another table"
    );

    // A DENY on one column: the others stay readable.
    app.create(
        &t,
        "grants",
        grant(
            "no-secret",
            &bob,
            &format!("{source}/{db}/sales/orders/secret"),
            &["SELECT"],
            "deny",
        ),
    )
    .await;
    synced(&app, &t, &source).await;
    pg_may(&bob, &db, "SELECT id, amount, region FROM sales.orders")
        .await
        .expect("other columns");
    let refused = pg_may(&bob, &db, "SELECT secret FROM sales.orders")
        .await
        .expect_err("denied column");
    assert!(refused.contains("permission denied"), "{refused}");

    // A table made after a grant under `*` is readable after the next pass.
    app.create(
        &t,
        "grants",
        grant(
            "reports",
            &bob,
            &format!("{source}/{db}/reports/*"),
            &["SELECT"],
            "allow",
        ),
    )
    .await;
    synced(&app, &t, &source).await;
    data.execute("CREATE TABLE reports.q4 (total int)")
        .await
        .expect("later table");
    eventually("a later table granted", || async {
        pg_may(&bob, &db, "SELECT * FROM reports.q4").await.is_ok()
    })
    .await;

    // A grant made by hand to bob's role is drift: reported and reverted.
    data.execute(format!("GRANT INSERT ON sales.orders TO \"{bob}\"").as_str())
        .await
        .expect("hand grant");
    eventually("drift reverted", || async {
        pg_may(&bob, &db, "INSERT INTO sales.orders (id) VALUES (9)")
            .await
            .is_err()
    })
    .await;
    eventually("drift reported", || async {
        let s = status(&app, &t, &source).await;
        s["status"]["last_drift"].as_array().is_some_and(|d| {
            d.iter().any(|x| {
                x.as_str()
                    .is_some_and(|x| x.starts_with("+ INSERT on table sales.orders"))
            })
        })
    })
    .await;

    // The plan shows exactly what the next pass runs: with the source off, a change is
    // planned; switched on, the pass runs those statements (its audit event lists them).
    let path = format!("/v1/tenants/{t}/data-sources/{source}");
    let (code, off) = send(
        app.op(Method::PATCH, &path)
            .json(&json!({"enabled": false})),
    )
    .await;
    assert_eq!(code, StatusCode::OK, "{off}");
    let set_path = format!("/v1/tenants/{t}/permission-sets/{set}");
    let (_, before) = send(app.op(Method::GET, &set_path)).await;
    let (code, _) = send(app.op(
        Method::DELETE,
        &format!(
            "/v1/tenants/{t}/permission-sets/{set}/members/{}",
            member["id"].as_str().expect("id")
        ),
    ))
    .await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    // A removal moves the set's version, which its permissions' sync status waits for.
    let (_, after) = send(app.op(Method::GET, &set_path)).await;
    assert!(
        after["version"].as_i64() > before["version"].as_i64(),
        "{before} {after}"
    );
    let (code, plan) = send(app.op(Method::GET, &format!("{path}/plan"))).await;
    assert_eq!(code, StatusCode::OK, "{plan}");
    let planned = plan["statements"].clone();
    assert_eq!(
        planned,
        json!([
            format!("REVOKE SELECT (\"amount\", \"id\", \"region\") ON TABLE \"sales\".\"orders\" FROM \"{bob}\""),
            // Bob keeps the schema of his reports only.
            format!("REVOKE USAGE ON SCHEMA \"sales\" FROM \"{bob}\""),
        ]),
        "{plan}"
    );
    pg_may(&bob, &db, "SELECT id FROM sales.orders")
        .await
        .expect("nothing ran while off");
    let (code, on) = send(app.op(Method::PATCH, &path).json(&json!({"enabled": true}))).await;
    assert_eq!(code, StatusCode::OK, "{on}");
    eventually("membership removed", || async {
        pg_may(&bob, &db, "SELECT id FROM sales.orders")
            .await
            .is_err()
    })
    .await;
    // The pass's audit event, written once it has run, lists the planned statements.
    let audited = format!("/v1/tenants/{t}/audit-events?actor=grantd:sync&limit=100");
    eventually("the pass audited with the planned statements", || async {
        let (_, audit) = send(app.op(Method::GET, &audited)).await;
        audit["items"].as_array().is_some_and(|events| {
            events
                .iter()
                .any(|e| e["action"] == "data_source.sync" && e["detail"]["statements"] == planned)
        })
    })
    .await;
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("grantd_sync_statements_total"),
        "metrics count statements"
    );

    let _ = data.close().await;
    admin
        .execute(format!("DROP DATABASE {db} WITH (FORCE)").as_str())
        .await
        .expect("drop database");
    admin
        .execute(format!("DROP ROLE \"{bob}\"").as_str())
        .await
        .expect("drop role");
}

#[tokio::test]
async fn groups_become_roles_and_a_deny_on_one_member_still_wins() {
    if !here("127.0.0.1:5432").await {
        return;
    }
    let app = spawn_app().await;
    let t = app.tenant().await;
    let (db, source) = (unique("gdsync"), unique("dws"));
    let (ann, bob, eng, core, mallory) = (
        unique("ann"),
        unique("bob"),
        unique("eng"),
        unique("core"),
        unique("mallory"),
    );
    let (mut admin, mut data) = scratch_database(&db).await;
    data.execute(
        "CREATE SCHEMA sales; CREATE TABLE sales.orders (id int); \
         CREATE TABLE sales.refunds (id int)",
    )
    .await
    .expect("tables");
    app.create(
        &t,
        "data-sources",
        json!({"id": source, "kind": "postgresql",
        "url": format!("postgres://postgres@127.0.0.1:5432/{db}"), "interval_seconds": 5}),
    )
    .await;
    // eng holds ann and the group core, which holds bob.
    for user in [&ann, &bob] {
        app.create(&t, "users", json!({"id": user})).await;
    }
    for group in [&eng, &core] {
        app.create(&t, "groups", json!({"id": group})).await;
    }
    let member = |kind: &str, id: &str| json!({"member": {"type": kind, "id": id}});
    app.create(&t, &format!("groups/{eng}/members"), member("user", &ann))
        .await;
    app.create(&t, &format!("groups/{eng}/members"), member("group", &core))
        .await;
    app.create(&t, &format!("groups/{core}/members"), member("user", &bob))
        .await;
    app.create(
        &t,
        "grants",
        json!({"id": "eng-reads", "subject": {"type": "group", "id": eng}, "effect": "allow",
               "privilege": {"type": "actions", "actions": ["SELECT"]},
               "target": {"type": "data_path", "pattern": format!("{source}/{db}/sales/*")}}),
    )
    .await;
    synced(&app, &t, &source).await;

    // The group is a NOLOGIN role of this source's, its members' roles in it (core's
    // through core's role), and it holds what they share.
    let (login, comment): (bool, String) = sqlx::query_as(
        "SELECT rolcanlogin, shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = $1",
    )
    .bind(&eng)
    .fetch_one(&mut data)
    .await
    .expect("the group's role");
    assert!(!login, "a group's role cannot sign in");
    assert!(comment.starts_with("managed by grantd"), "{comment}");
    assert!(
        holds(
            &mut data,
            &format!("SELECT pg_has_role('{bob}', '{core}', 'MEMBER')")
        )
        .await
    );
    assert!(
        holds(
            &mut data,
            &format!("SELECT pg_has_role('{core}', '{eng}', 'MEMBER')")
        )
        .await
    );
    assert!(
        holds(
            &mut data,
            &format!("SELECT has_table_privilege('{eng}', 'sales.refunds', 'SELECT')")
        )
        .await
    );
    for user in [&ann, &bob] {
        pg_may(user, &db, "SELECT * FROM sales.refunds")
            .await
            .expect("a member selects");
    }

    // A DENY on ann: ann is refused, bob is not, and the group holds only what both do.
    app.create(
        &t,
        "grants",
        grant(
            "ann-no",
            &ann,
            &format!("{source}/{db}/sales/refunds"),
            &["SELECT"],
            "deny",
        ),
    )
    .await;
    synced(&app, &t, &source).await;
    let refused = pg_may(&ann, &db, "SELECT * FROM sales.refunds")
        .await
        .expect_err("ann denied");
    assert!(refused.contains("permission denied"), "{refused}");
    pg_may(&bob, &db, "SELECT * FROM sales.refunds")
        .await
        .expect("bob still reads");
    pg_may(&ann, &db, "SELECT * FROM sales.orders")
        .await
        .expect("ann reads the rest");
    assert!(
        !holds(
            &mut data,
            &format!("SELECT has_table_privilege('{eng}', 'sales.refunds', 'SELECT')")
        )
        .await
    );

    // A membership in the group made by hand is drift: revoked and reported.
    admin
        .execute(format!("CREATE ROLE \"{mallory}\" LOGIN").as_str())
        .await
        .expect("a DBA's role");
    data.execute(format!("GRANT \"{eng}\" TO \"{mallory}\"").as_str())
        .await
        .expect("hand membership");
    eventually("the hand-made membership revoked", || async {
        pg_may(&mallory, &db, "SELECT * FROM sales.orders")
            .await
            .is_err()
    })
    .await;
    eventually("the hand-made membership reported as drift", || async {
        let drift = status(&app, &t, &source).await["status"]["last_drift"].to_string();
        drift.contains(&format!("+ {mallory} member of role {eng}"))
    })
    .await;

    // A role of this source's that signs in (made for a user once) is never a group's:
    // its sessions would reach the group's privileges.
    let ops = unique("ops");
    let marker: String = sqlx::query_scalar(
        "SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = $1",
    )
    .bind(&eng)
    .fetch_one(&mut data)
    .await
    .expect("marker");
    admin
        .execute(
            format!("CREATE ROLE \"{ops}\" LOGIN; COMMENT ON ROLE \"{ops}\" IS '{marker}'")
                .as_str(),
        )
        .await
        .expect("a login role of grantd's");
    app.create(&t, "groups", json!({"id": ops})).await;
    app.create(&t, &format!("groups/{ops}/members"), member("user", &bob))
        .await;
    synced(&app, &t, &source).await;
    let skipped = status(&app, &t, &source).await["status"]["skipped"].to_string();
    assert!(
        skipped.contains(&format!("{ops} (group {ops}): a role that signs in")),
        "{skipped}"
    );
    assert!(
        !holds(
            &mut data,
            &format!("SELECT pg_has_role('{bob}', '{ops}', 'MEMBER')")
        )
        .await
    );

    let _ = data.close().await;
    admin
        .execute(format!("DROP DATABASE {db} WITH (FORCE)").as_str())
        .await
        .expect("drop database");
    for role in [&mallory, &ann, &bob, &core, &eng, &ops] {
        admin
            .execute(format!("DROP ROLE \"{role}\"").as_str())
            .await
            .expect("drop role");
    }
}

#[tokio::test]
async fn mariadb_holds_what_checks_decide_and_nothing_else() {
    if !here("127.0.0.1:3306").await {
        return;
    }
    let app = spawn_app().await;
    let t = app.tenant().await;
    let (db, source, bob) = (unique("gdsync"), unique("maria"), unique("bob"));
    let mut admin = MySqlConnection::connect(MARIADB_ADMIN)
        .await
        .expect("connect to MariaDB");
    for sql in [
        format!("CREATE DATABASE {db}"),
        format!("CREATE TABLE {db}.orders (id int, amount int, secret text)"),
        format!("INSERT INTO {db}.orders VALUES (1, 10, 's1')"),
    ] {
        admin.execute(sql.as_str()).await.expect("setup");
    }
    app.create(
        &t,
        "data-sources",
        json!({"id": source, "kind": "mysql", "url": MARIADB_ADMIN,
        "schemas": [db], "interval_seconds": 5}),
    )
    .await;
    app.create(&t, "users", json!({"id": bob})).await;
    app.create(
        &t,
        "grants",
        grant(
            "read",
            &bob,
            &format!("{source}/{db}/orders"),
            &["SELECT"],
            "allow",
        ),
    )
    .await;
    synced(&app, &t, &source).await;
    // grantd makes the account locked; how it signs in is the DBA's.
    admin
        .execute(format!("ALTER USER '{bob}'@'%' IDENTIFIED BY 'pw' ACCOUNT UNLOCK").as_str())
        .await
        .expect("unlock");
    let as_bob = |sql: String| maria_may(&bob, sql);
    as_bob(format!("SELECT * FROM {db}.orders"))
        .await
        .expect("bob selects");
    let refused = as_bob(format!("DELETE FROM {db}.orders"))
        .await
        .expect_err("no delete");
    assert!(refused.contains("denied"), "{refused}");

    // CREATE on the database, escaped: `_` in a grant's database name is a wildcard, and
    // a database one character away gets nothing.
    let sibling = db.replacen('_', "x", 1);
    admin
        .execute(format!("CREATE DATABASE {sibling}").as_str())
        .await
        .expect("sibling");
    app.create(
        &t,
        "grants",
        grant(
            "create",
            &bob,
            &format!("{source}/{db}"),
            &["CREATE_TABLE"],
            "allow",
        ),
    )
    .await;
    synced(&app, &t, &source).await;
    as_bob(format!("CREATE TABLE {db}.mine (x int)"))
        .await
        .expect("bob creates in the database");
    let refused = as_bob(format!("CREATE TABLE {sibling}.mine (x int)"))
        .await
        .expect_err("not in its sibling");
    assert!(refused.contains("denied"), "{refused}");

    // A database-level grant on a pattern, made by hand (`_` a wildcard: it reaches the
    // sibling too), is none of grantd's: revoked as stored.
    admin
        .execute(format!("CREATE TABLE {sibling}.t (x int)").as_str())
        .await
        .expect("sibling table");
    admin
        .execute(format!("GRANT SELECT ON `{db}`.* TO '{bob}'@'%'").as_str())
        .await
        .expect("hand pattern grant");
    eventually("the pattern grant revoked", || async {
        as_bob(format!("SELECT * FROM {sibling}.t")).await.is_err()
    })
    .await;
    eventually("the pattern grant reported as drift", || async {
        let drift = status(&app, &t, &source).await["status"]["last_drift"].to_string();
        drift.contains("on databases matching")
    })
    .await;

    app.create(
        &t,
        "grants",
        grant(
            "no-secret",
            &bob,
            &format!("{source}/{db}/orders/secret"),
            &["SELECT"],
            "deny",
        ),
    )
    .await;
    synced(&app, &t, &source).await;
    as_bob(format!("SELECT id, amount FROM {db}.orders"))
        .await
        .expect("other columns");
    assert!(
        as_bob(format!("SELECT secret FROM {db}.orders"))
            .await
            .is_err(),
        "denied column"
    );

    // Drift by hand, reverted; then the grant deleted: nothing left.
    admin
        .execute(format!("GRANT INSERT ON {db}.orders TO '{bob}'@'%'").as_str())
        .await
        .expect("hand grant");
    eventually("drift reverted", || async {
        as_bob(format!("INSERT INTO {db}.orders (id) VALUES (9)"))
            .await
            .is_err()
    })
    .await;
    for id in ["read", "create"] {
        let (code, _) = send(app.op(Method::DELETE, &format!("/v1/tenants/{t}/grants/{id}"))).await;
        assert_eq!(code, StatusCode::NO_CONTENT);
    }
    synced(&app, &t, &source).await;
    assert!(
        as_bob(format!("SELECT id FROM {db}.orders")).await.is_err(),
        "revoked"
    );

    // A DBA drops the account: grantd forgets it, so an account made later under its name
    // is not taken for grantd's.
    admin
        .execute(format!("DROP USER '{bob}'@'%'").as_str())
        .await
        .expect("drop user");
    eventually("the ledger forgets the dropped account", || async {
        let mut conn = MySqlConnection::connect(MARIADB_ADMIN)
            .await
            .expect("connect");
        let left: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM grantd_sync.managed_roles WHERE role = ?")
                .bind(&bob)
                .fetch_one(&mut conn)
                .await
                .expect("ledger");
        let _ = conn.close().await;
        left == 0
    })
    .await;

    for sql in [
        format!("DROP DATABASE {db}"),
        format!("DROP DATABASE {sibling}"),
    ] {
        admin.execute(sql.as_str()).await.expect("cleanup");
    }
}

#[tokio::test]
async fn a_stopped_database_fails_the_pass_with_its_message_and_the_next_one_heals() {
    let Some(cluster) = PrivatePostgres::create() else {
        return;
    };
    let app = spawn_app().await;
    let t = app.tenant().await;
    let (source, bob) = (unique("dws"), unique("bob"));
    let mut data = pg(&cluster.url()).await;
    data.execute("CREATE TABLE public.orders (id int)")
        .await
        .expect("table");
    let _ = data.close().await;
    app.create(
        &t,
        "data-sources",
        json!({"id": source, "kind": "postgresql", "url": cluster.url(), "interval_seconds": 5}),
    )
    .await;
    app.create(&t, "users", json!({"id": bob})).await;
    app.create(
        &t,
        "grants",
        grant(
            "read",
            &bob,
            &format!("{source}/postgres/public/orders"),
            &["SELECT"],
            "allow",
        ),
    )
    .await;
    synced(&app, &t, &source).await;

    cluster.stop();
    app.create(
        &t,
        "grants",
        grant(
            "write",
            &bob,
            &format!("{source}/postgres/public/orders"),
            &["INSERT"],
            "allow",
        ),
    )
    .await;
    eventually("SYNC_FAIL with the database's message", || async {
        let s = status(&app, &t, &source).await;
        s["status"]["state"] == "failed"
            && s["status"]["last_error"]
                .as_str()
                .is_some_and(|e| !e.is_empty())
    })
    .await;
    cluster.start();
    synced(&app, &t, &source).await;
    let url = cluster.url().replace("postgres@", &format!("{bob}@"));
    let mut conn = pg(&url).await;
    conn.execute("INSERT INTO public.orders VALUES (1)")
        .await
        .expect("the change made while down is synced");
}

#[tokio::test]
async fn a_data_sources_password_is_sealed_and_never_read_back() {
    let dir = grantd_store::testing::scratch_dir("sealed");
    let data_dir = dir.clone();
    let app = spawn_with(move |c| c.data_dir = data_dir).await;
    let t = app.tenant().await;
    let secret = "correct-horse-battery-staple";
    let body = json!({"id": "wh", "kind": "postgresql", "url": "postgres://admin@127.0.0.1:1/db",
                      "password": secret, "enabled": false});
    // A write-scoped token may not register a source: it holds an administrator's login.
    let writer = app.token(&t, "write").await;
    let (code, refused) = send(
        app.as_token(
            &writer,
            Method::POST,
            &format!("/v1/tenants/{t}/data-sources"),
        )
        .json(&body),
    )
    .await;
    assert_eq!(code, StatusCode::FORBIDDEN, "{refused}");
    let (code, with_password) = send(
        app.op(Method::POST, &format!("/v1/tenants/{t}/data-sources"))
            .json(&json!({
        "id": "bad", "kind": "postgresql", "url": format!("postgres://admin:{secret}@h/db")})),
    )
    .await;
    assert_eq!(
        code,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a password in the url: {with_password}"
    );

    let created = app.create(&t, "data-sources", body).await;
    assert_eq!(created["password_set"], true);
    let path = format!("/v1/tenants/{t}/data-sources/wh");
    let (_, read) = send(app.op(Method::GET, &path)).await;
    // Sent back as read, the password stays.
    let (code, replaced) = send(app.op(Method::PUT, &path).json(&read)).await;
    assert_eq!(code, StatusCode::OK, "{replaced}");
    assert_eq!(replaced["password_set"], true);
    let (code, patched) = send(
        app.op(Method::PATCH, &path)
            .json(&json!({"name": "warehouse"})),
    )
    .await;
    assert_eq!(code, StatusCode::OK, "{patched}");
    assert_eq!(patched["password_set"], true);
    let mut seen = String::new();
    for route in [
        path.clone(),
        format!("/v1/tenants/{t}/data-sources"),
        format!("/v1/tenants/{t}/changes?after=0"),
        format!("/v1/tenants/{t}/audit-events"),
        format!("/v1/tenants/{t}/export"),
    ] {
        let response = app.op(Method::GET, &route).send().await.expect("send");
        seen.push_str(&response.text().await.expect("text"));
    }
    assert!(seen.contains("password_set"), "reads say a password is set");
    assert!(!seen.contains(secret), "no read returns the password");
    assert!(!seen.contains("sealed:v1:"), "nor its sealed form");
    // Sealed where it is stored: never the clear text, bound to this source.
    let (code, copied) = send(app.op(Method::POST, &format!("/v1/tenants/{t}/data-sources")).json(&json!({
        "id": "copy", "kind": "postgresql", "url": "postgres://admin@h/db", "password": "sealed:v1:AAAA"}))).await;
    assert_eq!(
        code,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a sealed value is not a password: {copied}"
    );
    // On disk: the password and an access key's secret key sealed, never in clear.
    let (code, key) = send(
        app.op(Method::POST, &format!("/v1/tenants/{t}/access-keys"))
            .json(&json!({"scopes": ["read"]})),
    )
    .await;
    assert_eq!(code, StatusCode::CREATED, "{key}");
    let secret_key = key["secret_key"].as_str().expect("sk").to_string();
    let mut file =
        sqlx::SqliteConnection::connect(&format!("sqlite://{}", dir.join("grantd.db").display()))
            .await
            .expect("open the store file");
    let body: String =
        sqlx::query_scalar("SELECT body FROM objects WHERE kind = 'data_source' AND key = 'wh'")
            .fetch_one(&mut file)
            .await
            .expect("stored source");
    assert!(
        body.contains("sealed:v1:") && !body.contains(secret),
        "{body}"
    );
    let stored: String = sqlx::query_scalar("SELECT signing_key FROM tokens WHERE id = $1")
        .bind(key["access_key"].as_str().expect("ak"))
        .fetch_one(&mut file)
        .await
        .expect("stored key");
    assert!(
        stored.starts_with("sealed:v1:") && stored != secret_key,
        "{stored}"
    );
    let _ = file.close().await;
    // Pointed at another server without a new password, it keeps none: the password goes
    // with the server it was given for.
    let (code, moved) = send(
        app.op(Method::PATCH, &path)
            .json(&json!({"url": "postgres://admin@evil.example:5432/db"})),
    )
    .await;
    assert_eq!(code, StatusCode::OK, "{moved}");
    assert_eq!(moved["password_set"], false, "{moved}");
    let (_, back) = send(
        app.op(Method::PATCH, &path)
            .json(&json!({"url": "postgres://admin@127.0.0.1:1/db", "password": secret})),
    )
    .await;
    assert_eq!(back["password_set"], true, "{back}");
    // `""` removes it.
    let (_, cleared) = send(app.op(Method::PATCH, &path).json(&json!({"password": ""}))).await;
    assert_eq!(cleared["password_set"], false, "{cleared}");
}

/// A server with no secret key (PostgreSQL store, no key file) stores no secret in clear:
/// it makes no access key and takes no data source password.
#[tokio::test]
async fn without_a_secret_key_no_secret_is_stored_at_all() {
    let Some(url) = grantd_store::testing::postgres_url().await else {
        return;
    };
    let app = spawn_with(move |c| c.database_url = Some(url)).await;
    let t = app.tenant().await;
    let (code, body) = send(
        app.op(Method::POST, &format!("/v1/tenants/{t}/access-keys"))
            .json(&json!({"scopes": ["read"]})),
    )
    .await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.to_string().contains("--secret-key-file"), "{body}");
    let (code, body) = send(
        app.op(Method::POST, &format!("/v1/tenants/{t}/data-sources"))
            .json(&json!({"id": "wh", "kind": "postgresql",
                          "url": "postgres://admin@127.0.0.1:1/db", "password": "pw"})),
    )
    .await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (_, tokens) = send(app.op(Method::GET, &format!("/v1/tenants/{t}/tokens"))).await;
    assert_eq!(tokens["items"], json!([]), "nothing made: {tokens}");
}

#[tokio::test]
async fn a_row_filter_keeps_a_role_to_its_rows_and_is_checked_by_the_database() {
    if !here("127.0.0.1:5432").await {
        return;
    }
    let app = spawn_app().await;
    let t = app.tenant().await;
    let (db, source, bob, ann) = (
        unique("gdsync"),
        unique("dws"),
        unique("bob"),
        unique("ann"),
    );
    let (mut admin, mut data) = scratch_database(&db).await;
    data.execute(
        "CREATE SCHEMA sales; CREATE TABLE sales.orders (id int, region text); \
         INSERT INTO sales.orders VALUES (1, 'eu'), (2, 'us'), (3, 'eu')",
    )
    .await
    .expect("tables");
    app.create(
        &t,
        "data-sources",
        json!({"id": source, "kind": "postgresql",
        "url": format!("postgres://postgres@127.0.0.1:5432/{db}"), "interval_seconds": 5}),
    )
    .await;
    for user in [&bob, &ann] {
        app.create(&t, "users", json!({"id": user})).await;
    }
    let table = format!("{source}/{db}/sales/orders");
    // A filter the database cannot parse over the table is refused, and changes nothing.
    let mut bad = grant("bob-eu", &bob, &table, &["SELECT"], "allow");
    bad["row_filter"] = json!("no_such_column = 1");
    let (code, refused) = send(
        app.op(Method::POST, &format!("/v1/tenants/{t}/grants"))
            .json(&bad),
    )
    .await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert!(
        refused.to_string().contains("no_such_column"),
        "the database's message: {refused}"
    );
    let mut injected = bad.clone();
    injected["row_filter"] = json!("true) TO PUBLIC USING (true); DROP TABLE sales.orders; --");
    let (code, refused) = send(
        app.op(Method::POST, &format!("/v1/tenants/{t}/grants"))
            .json(&injected),
    )
    .await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    // What parses in a select list but never in a policy, a view, a write with a filter,
    // and an escaped quote hiding a comment: all refused, so no pass is made to fail.
    data.execute("CREATE VIEW sales.v AS SELECT * FROM sales.orders")
        .await
        .expect("view");
    let refusals = [
        ("count(*) > 0", table.clone(), &["SELECT"][..]),
        ("generate_series(1, 2) > 0", table.clone(), &["SELECT"][..]),
        (
            "region = 'eu'",
            format!("{source}/{db}/sales/v"),
            &["SELECT"][..],
        ),
        ("region = 'eu'", table.clone(), &["SELECT", "DELETE"][..]),
        ("region = E'\\'' -- '", table.clone(), &["SELECT"][..]),
    ];
    for (filter, pattern, actions) in refusals {
        let mut hostile = grant("hostile", &bob, &pattern, actions, "allow");
        hostile["row_filter"] = json!(filter);
        let (code, refused) = send(
            app.op(Method::POST, &format!("/v1/tenants/{t}/grants"))
                .json(&hostile),
        )
        .await;
        assert_eq!(
            code,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{filter} on {pattern}: {refused}"
        );
    }

    let mut eu = bad.clone();
    eu["row_filter"] = json!("region = 'eu'");
    app.create(&t, "grants", eu).await;
    app.create(
        &t,
        "grants",
        grant("ann-all", &ann, &table, &["SELECT"], "allow"),
    )
    .await;
    synced(&app, &t, &source).await;
    let count = |role: String| {
        let db = db.clone();
        async move {
            let mut conn = pg(&format!("postgres://{role}@127.0.0.1:5432/{db}")).await;
            let n: i64 = sqlx::query_scalar("SELECT count(*) FROM sales.orders")
                .fetch_one(&mut conn)
                .await
                .expect("count");
            let _ = conn.close().await;
            n
        }
    };
    assert_eq!(count(bob.clone()).await, 2, "bob sees the EU rows only");
    assert_eq!(
        count(ann.clone()).await,
        3,
        "ann, unfiltered, sees every row"
    );

    // Another tenant registering the same database leaves this one's filters alone.
    let other = app.tenant().await;
    app.create(
        &other,
        "data-sources",
        json!({"id": source, "kind": "postgresql",
        "url": format!("postgres://postgres@127.0.0.1:5432/{db}"), "interval_seconds": 5}),
    )
    .await;
    synced(&app, &other, &source).await;
    assert_eq!(
        count(bob.clone()).await,
        2,
        "bob's filter survives the other tenant's pass"
    );

    // A user naming another user's role as its own gets it, and neither does.
    app.create(
        &t,
        "users",
        json!({"id": "mallory", "attributes": {"db_role": ann}}),
    )
    .await;
    app.create(
        &t,
        "grants",
        grant(
            "mallory-all",
            "mallory",
            &table,
            &["SELECT", "DELETE"],
            "allow",
        ),
    )
    .await;
    synced(&app, &t, &source).await;
    let s = status(&app, &t, &source).await;
    assert!(
        s["status"]["skipped"]
            .to_string()
            .contains("(user mallory)"),
        "{s}"
    );
    let deleted = pg_may(&ann, &db, "DELETE FROM sales.orders WHERE false").await;
    assert!(deleted.is_err(), "ann's role never gets mallory's DELETE");

    // The filter lifted: every row, and row-level security off again (grantd turned it on).
    let (code, lifted) = send(
        app.op(Method::PATCH, &format!("/v1/tenants/{t}/grants/bob-eu"))
            .json(&json!({"row_filter": null})),
    )
    .await;
    assert_eq!(code, StatusCode::OK, "{lifted}");
    synced(&app, &t, &source).await;
    assert_eq!(count(bob.clone()).await, 3);
    let on: bool = sqlx::query_scalar(
        "SELECT relrowsecurity FROM pg_class WHERE oid = 'sales.orders'::regclass",
    )
    .fetch_one(&mut data)
    .await
    .expect("rls");
    assert!(!on, "row-level security off once nothing is filtered");

    // DataArts' row_level_security is the enforcing grant's row filter.
    let set = app
        .create(
            &t,
            "permission-sets",
            json!({"workspace": "ws", "name": "eu"}),
        )
        .await;
    let set = set["id"].as_str().expect("id").to_string();
    app.create(
        &t,
        &format!("permission-sets/{set}/permissions"),
        json!({"id": "p-eu",
        "effect": "allow", "actions": ["SELECT"], "datasource_type": "DWS", "cluster_id": source,
        "database_name": db, "schema_name": "sales", "table_name": "orders",
        "row_level_security": "region = 'us'", "auto_sync": true}),
    )
    .await;
    let (_, derived) = send(app.op(
        Method::GET,
        &format!("/v1/tenants/{t}/grants/dataarts.p-eu"),
    ))
    .await;
    assert_eq!(derived["row_filter"], "region = 'us'", "{derived}");

    let _ = data.close().await;
    admin
        .execute(format!("DROP DATABASE {db} WITH (FORCE)").as_str())
        .await
        .expect("drop database");
    for role in [&bob, &ann] {
        admin
            .execute(format!("DROP ROLE \"{role}\"").as_str())
            .await
            .expect("drop role");
    }
}

#[tokio::test]
async fn mariadb_refuses_a_row_filter() {
    let app = spawn_app().await;
    let t = app.tenant().await;
    let source = unique("maria");
    app.create(
        &t,
        "data-sources",
        json!({"id": source, "kind": "mysql", "url": MARIADB_ADMIN,
        "schemas": ["none"], "enabled": false}),
    )
    .await;
    app.create(&t, "users", json!({"id": "bob"})).await;
    let mut filtered = grant(
        "g",
        "bob",
        &format!("{source}/shop/orders"),
        &["SELECT"],
        "allow",
    );
    filtered["row_filter"] = json!("region = 'eu'");
    let (code, refused) = send(
        app.op(Method::POST, &format!("/v1/tenants/{t}/grants"))
            .json(&filtered),
    )
    .await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert!(
        refused.to_string().contains("no row-level security"),
        "{refused}"
    );
}

#[tokio::test]
async fn an_ended_window_is_revoked_in_the_database_without_a_write() {
    if !here("127.0.0.1:5432").await {
        return;
    }
    let app = spawn_app().await;
    let t = app.tenant().await;
    let (db, source, bob) = (unique("gdsync"), unique("dws"), unique("bob"));
    let (mut admin, mut data) = scratch_database(&db).await;
    data.execute("CREATE TABLE public.orders (id int)")
        .await
        .expect("table");
    let _ = data.close().await;
    app.create(
        &t,
        "data-sources",
        json!({"id": source, "kind": "postgresql",
        "url": format!("postgres://postgres@127.0.0.1:5432/{db}")}),
    )
    .await;
    app.create(&t, "users", json!({"id": bob})).await;
    let ends = chrono::Utc::now() + chrono::Duration::seconds(3);
    let mut windowed = grant(
        "for-now",
        &bob,
        &format!("{source}/{db}/public/orders"),
        &["SELECT"],
        "allow",
    );
    windowed["expires_at"] = json!(ends.to_rfc3339());
    app.create(&t, "grants", windowed).await;
    synced(&app, &t, &source).await;
    pg_may(&bob, &db, "SELECT * FROM public.orders")
        .await
        .expect("within its window");
    // No write from here: the window's end is recorded by grantd, and the next pass revokes.
    eventually("revoked once the window ended", || async {
        pg_may(&bob, &db, "SELECT * FROM public.orders")
            .await
            .is_err()
    })
    .await;
    assert!(chrono::Utc::now() >= ends, "not revoked before its end");
    admin
        .execute(format!("DROP DATABASE {db} WITH (FORCE)").as_str())
        .await
        .expect("drop database");
    admin
        .execute(format!("DROP ROLE \"{bob}\"").as_str())
        .await
        .expect("drop role");
}
