//! Checks, explanations, batches, lookups and consistency, through HTTP.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_error, send, spawn_app, spawn_with, TestApp};

/// alice ∈ sre ∈ eng; eng holds `editor`, which includes `viewer`; `viewer` may read
/// SOURCE w1 and what lies below it; bob is in no group; carol is disabled.
async fn tenant_with_grants(app: &TestApp) -> String {
    let t = app.tenant().await;
    for user in [
        json!({"id": "alice"}),
        json!({"id": "bob"}),
        json!({"id": "carol", "disabled": true}),
    ] {
        app.create(&t, "users", user).await;
    }
    for g in ["eng", "sre"] {
        app.create(&t, "groups", json!({"id": g})).await;
    }
    app.create(
        &t,
        "groups/sre/members",
        json!({"member": {"type": "user", "id": "alice"}}),
    )
    .await;
    app.create(
        &t,
        "groups/eng/members",
        json!({"member": {"type": "group", "id": "sre"}}),
    )
    .await;
    app.create(
        &t,
        "groups/eng/members",
        json!({"member": {"type": "user", "id": "carol"}}),
    )
    .await;
    app.create(&t, "roles", json!({"id": "viewer", "actions": ["read"]}))
        .await;
    app.create(
        &t,
        "roles",
        json!({"id": "editor", "actions": ["write"], "includes": ["viewer"]}),
    )
    .await;
    app.create(
        &t,
        "role-assignments",
        json!({"subject": {"type": "group", "id": "eng"}, "role": "editor"}),
    )
    .await;
    app.create(&t, "resources", json!({"type": "WORKSPACE", "id": "w1"}))
        .await;
    app.create(&t, "resources", json!({"type": "SOURCE", "id": "s1", "parent": {"type": "WORKSPACE", "id": "w1"}, "labels": {"env": "prod"}})).await;
    app.create(
        &t,
        "resources",
        json!({"type": "SOURCE", "id": "s2", "labels": {"env": "dev"}}),
    )
    .await;
    app.create(&t, "grants", json!({"id": "viewers-read-w1", "subject": {"type": "role", "id": "viewer"}, "privilege": {"type": "role", "id": "viewer"}, "target": {"type": "resource", "resource": {"type": "WORKSPACE", "id": "w1"}}, "effect": "ALLOW"})).await;
    t
}

fn check_body(user: &str, action: &str, resource: Value) -> Value {
    json!({"subject": {"type": "user", "id": user}, "action": action, "resource": resource, "consistency": {"mode": "fully_consistent"}})
}

async fn decide(app: &TestApp, t: &str, body: Value) -> Value {
    let (status, answer) = send(
        app.op(Method::POST, &format!("/v1/tenants/{t}/check"))
            .json(&body),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer
}

#[tokio::test]
async fn checks_follow_groups_roles_parents_labels_paths_and_deny() {
    let app = spawn_app().await;
    let t = tenant_with_grants(&app).await;
    let s1 = json!({"type": "SOURCE", "id": "s1"});

    let answer = decide(&app, &t, check_body("alice", "read", s1.clone())).await;
    assert_eq!(
        (answer["allowed"].as_bool(), answer["decision"].as_str()),
        (Some(true), Some("allow"))
    );
    assert!(answer["revision"].as_i64() > Some(1));
    assert!(
        answer.get("explanation").is_none(),
        "the fast path explains nothing"
    );
    let answer = decide(&app, &t, check_body("alice", "write", s1.clone())).await;
    assert_eq!(
        answer["decision"], "no_match",
        "editor's own action is not granted on w1"
    );
    let answer = decide(&app, &t, check_body("bob", "read", s1.clone())).await;
    assert_eq!(answer["decision"], "no_match");
    let answer = decide(&app, &t, check_body("carol", "read", s1.clone())).await;
    assert_eq!(answer["decision"], "deny", "a disabled user is denied");
    let answer = decide(&app, &t, check_body("nobody", "read", s1.clone())).await;
    assert_eq!(answer["decision"], "no_match");

    let mut explained = check_body("alice", "read", s1.clone());
    explained["explain"] = json!(true);
    let answer = decide(&app, &t, explained.clone()).await;
    let decided = &answer["explanation"]["decided_by"][0];
    assert_eq!(decided["grant"], "viewers-read-w1");
    assert_eq!(
        decided["via"],
        json!([
            "user:alice",
            "group:sre",
            "group:eng",
            "role:editor",
            "role:viewer"
        ])
    );

    // Labels: a DENY on prod sources wins over the ALLOW through the parent.
    app.create(&t, "grants", json!({"id": "no-prod", "subject": {"type": "group", "id": "sre"}, "privilege": {"type": "actions", "actions": ["*"]}, "target": {"type": "labels", "resource_type": "SOURCE", "labels": {"env": "prod"}}, "effect": "DENY"})).await;
    let answer = decide(&app, &t, explained).await;
    assert_eq!(answer["decision"], "deny");
    assert_eq!(answer["explanation"]["decided_by"][0]["grant"], "no-prod");
    assert!(answer["explanation"]["reason"]
        .as_str()
        .is_some_and(|r| r.contains("DENY wins")));
    // A resource grantd does not store is matched by the labels the check gives.
    let answer = decide(
        &app,
        &t,
        check_body(
            "alice",
            "read",
            json!({"type": "SOURCE", "id": "elsewhere", "labels": {"env": "prod"}}),
        ),
    )
    .await;
    assert_eq!(answer["decision"], "deny");

    // Data paths: a grant on a database covers its tables.
    app.create(&t, "grants", json!({"subject": {"type": "user", "id": "bob"}, "privilege": {"type": "actions", "actions": ["SELECT"]}, "target": {"type": "data_path", "pattern": "hive/c1/sales"}, "effect": "ALLOW"})).await;
    let path = |p: &str| json!({"subject": {"type": "user", "id": "bob"}, "action": "SELECT", "data_path": p, "consistency": {"mode": "fully_consistent"}});
    assert_eq!(
        decide(&app, &t, path("hive/c1/sales/public/orders")).await["decision"],
        "allow"
    );
    assert_eq!(
        decide(&app, &t, path("hive/c1/hr/public/people")).await["decision"],
        "no_match"
    );
    assert_eq!(
        decide(&app, &t, path("hive/c1")).await["decision"],
        "no_match"
    );
    let (status, page) = send(app.op(Method::POST, &format!("/v1/tenants/{t}/lookup/resources")).json(&json!({"subject": {"type": "user", "id": "bob"}, "action": "SELECT", "data_path": "hive/c1", "consistency": {"mode": "fully_consistent"}}))).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["items"], json!([{"data_path": "hive/c1/sales"}]));

    // A wildcard in the question (issue 15, finding 9): `hive/c1/sales/*/orders` matched the
    // ALLOW on `hive/c1/sales` but not the DENY on `hive/c1/sales/secret`, so it was allowed
    // over a partly denied subtree. A check names one object; a wildcard is refused.
    app.create(&t, "grants", json!({"subject": {"type": "user", "id": "bob"}, "privilege": {"type": "actions", "actions": ["SELECT"]}, "target": {"type": "data_path", "pattern": "hive/c1/sales/secret"}, "effect": "DENY"})).await;
    assert_eq!(
        decide(&app, &t, path("hive/c1/sales/secret/orders")).await["decision"],
        "deny"
    );
    for wildcard in ["hive/c1/sales/*/orders", "hive/c1/sales/*", "*"] {
        let (status, body) = send(
            app.op(Method::POST, &format!("/v1/tenants/{t}/check"))
                .json(&path(wildcard)),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{wildcard}: {body}"
        );
        assert!(body.to_string().contains("data_path"), "{body}");
    }
}

#[tokio::test]
async fn a_writes_revision_makes_the_next_check_see_it() {
    let app = spawn_app().await;
    let t = app.tenant().await;
    app.create(&t, "users", json!({"id": "u"})).await;
    let grants = format!("/v1/tenants/{t}/grants");
    for round in 0..20 {
        let response = app
            .op(Method::PUT, &format!("{grants}/g"))
            .json(&json!({"subject": {"type": "user", "id": "u"}, "privilege": {"type": "actions", "actions": ["read"]}, "target": {"type": "tenant"}, "effect": if round % 2 == 0 { "ALLOW" } else { "DENY" }}))
            .send()
            .await
            .expect("send");
        let revision: i64 = response.headers()["grantd-revision"]
            .to_str()
            .expect("header")
            .parse()
            .expect("number");
        let body = json!({"subject": {"type": "user", "id": "u"}, "action": "read", "resource": {"type": "doc", "id": "d"}, "consistency": {"mode": "at_least_as_fresh", "revision": revision}});
        let answer = decide(&app, &t, body).await;
        assert_eq!(answer["allowed"], round % 2 == 0, "round {round}: {answer}");
        assert!(answer["revision"].as_i64() >= Some(revision));
    }
    let body = json!({"subject": {"type": "user", "id": "u"}, "action": "read", "resource": {"type": "doc", "id": "d"}, "consistency": {"mode": "at_least_as_fresh", "revision": 10_000}});
    let (status, answer) = send(
        app.op(Method::POST, &format!("/v1/tenants/{t}/check"))
            .json(&body),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a revision never written: {answer}"
    );
    assert_eq!(
        answer["error"]["details"][0]["field"],
        "consistency.revision"
    );
}

#[tokio::test]
async fn batches_answer_in_order_on_one_snapshot() {
    let app = spawn_app().await;
    let t = tenant_with_grants(&app).await;
    let checks: Vec<Value> = (0..1000)
        .map(|i| {
            let user = ["alice", "bob"][i % 2];
            json!({"subject": {"type": "user", "id": user}, "action": "read", "resource": {"type": "SOURCE", "id": "s1"}})
        })
        .collect();
    let (status, answer) = send(
        app.op(Method::POST, &format!("/v1/tenants/{t}/check/batch"))
            .json(&json!({"checks": checks, "consistency": {"mode": "fully_consistent"}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let results = answer["results"].as_array().expect("results");
    assert_eq!(results.len(), 1000);
    assert!(results
        .iter()
        .enumerate()
        .all(|(i, r)| r["allowed"] == (i % 2 == 0)));

    let mut too_many = checks.clone();
    too_many.push(checks[0].clone());
    let (status, answer) = send(
        app.op(Method::POST, &format!("/v1/tenants/{t}/check/batch"))
            .json(&json!({"checks": too_many})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer["error"]["details"][0]["field"], "checks");
    let bad = json!({"checks": [{"subject": {"type": "group", "id": "eng"}, "action": "read", "data_path": "a//b"}]});
    let (status, answer) = send(
        app.op(Method::POST, &format!("/v1/tenants/{t}/check/batch"))
            .json(&bad),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = answer["error"]["details"]
        .as_array()
        .expect("details")
        .iter()
        .filter_map(|d| d["field"].as_str())
        .collect();
    assert_eq!(fields, ["checks[0].subject.type", "checks[0].data_path"]);
}

#[tokio::test]
async fn lookups_are_complete_paged_and_agree_with_checks() {
    let app = spawn_app().await;
    let t = tenant_with_grants(&app).await;
    for i in 0..25 {
        app.create(&t, "resources", json!({"type": "SOURCE", "id": format!("child{i:02}"), "parent": {"type": "WORKSPACE", "id": "w1"}})).await;
    }
    let mut found = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut body = json!({"subject": {"type": "user", "id": "alice"}, "action": "read", "resource_type": "SOURCE", "limit": 10, "consistency": {"mode": "fully_consistent"}});
        if let Some(c) = &cursor {
            body["cursor"] = json!(c);
        }
        let (status, page) = send(
            app.op(Method::POST, &format!("/v1/tenants/{t}/lookup/resources"))
                .json(&body),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        found.extend(
            page["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|i| i["id"].as_str().unwrap_or_default().to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let mut expected: Vec<String> = (0..25).map(|i| format!("child{i:02}")).collect();
    expected.push("s1".into());
    assert_eq!(
        found, expected,
        "s2 has no grant; the children inherit w1's"
    );

    let (_, page) = send(app.op(Method::POST, &format!("/v1/tenants/{t}/lookup/subjects")).json(&json!({"action": "read", "resource": {"type": "SOURCE", "id": "s1"}, "consistency": {"mode": "fully_consistent"}}))).await;
    assert_eq!(
        page["items"],
        json!([{"type": "user", "id": "alice"}]),
        "carol is disabled, bob has no grant"
    );
    let (status, _) = send(
        app.op(Method::POST, &format!("/v1/tenants/{t}/lookup/subjects"))
            .json(&json!({"action": "read"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn check_tokens_decide_but_cannot_read_and_bodies_are_checked() {
    let app = spawn_app().await;
    let t = tenant_with_grants(&app).await;
    let checker = app.token(&t, "check").await;
    let body = check_body("alice", "read", json!({"type": "SOURCE", "id": "s1"}));
    let (status, answer) = send(
        app.as_token(&checker, Method::POST, &format!("/v1/tenants/{t}/check"))
            .json(&body),
    )
    .await;
    assert_eq!(
        (status, answer["allowed"].as_bool()),
        (StatusCode::OK, Some(true))
    );
    let (status, _) =
        send(app.as_token(&checker, Method::GET, &format!("/v1/tenants/{t}/users"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let check = format!("/v1/tenants/{t}/check");
    let (status, answer) = send(
        app.op(Method::POST, &check)
            .json(&json!({"subject": {"type": "user", "id": "alice"}, "action": "read"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(assert_error(&answer, "validation_failed").contains("exactly one"));
    let (status, _) = send(app.op(Method::POST, &check).json(&json!({"subject": {"type": "user", "id": "alice"}, "action": "read", "resource": {"type": "SOURCE", "id": "s1"}, "extra": 1}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = send(
        app.op(Method::POST, &check)
            .header("content-type", "application/json")
            .body("{"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = send(app.op(Method::POST, &check).json(&json!({"subject": {"type": "user", "id": "alice"}, "action": "read", "resource": {"type": "SOURCE", "id": "s1"}, "consistency": {"mode": "eventually"}}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// A check to `/v1/tenants/{t}/check` is answered before the router; one whose tenant is
/// percent-encoded goes through the router. Both must answer every request alike.
#[tokio::test]
async fn a_check_answers_alike_with_or_without_the_router() {
    let app = spawn_with(|c| c.max_body_bytes = 4096).await;
    let t = tenant_with_grants(&app).await;
    let other = app.tenant().await;
    let checker = app.token(&t, "check").await;
    let outsider = app.token(&other, "check").await;
    let direct = format!("/v1/tenants/{t}/check");
    let routed = format!("/v1/tenants/%{:02X}{}/check", t.as_bytes()[0], &t[1..]);
    let allowed = r#"{"subject":{"type":"user","id":"alice"},"action":"read","resource":{"type":"SOURCE","id":"s1"}}"#;
    // The cases below read the latest snapshot this node has (the default consistency):
    // wait until it has applied every write above, so that both ways see one revision.
    let (status, _) = send(app.as_token(&checker, Method::POST, &direct).json(&json!({
        "subject": {"type": "user", "id": "alice"}, "action": "read",
        "resource": {"type": "SOURCE", "id": "s1"}, "consistency": {"mode": "fully_consistent"}
    })))
    .await;
    assert_eq!(status, StatusCode::OK);
    let cases: Vec<(&str, Option<&str>, Option<&str>, String)> = vec![
        ("allowed", Some(&checker), Some("application/json"), allowed.into()),
        ("escaped strings", Some(&checker), Some("application/json"), r#"{"subject":{"type":"user","id":"\u0061lice"},"action":"re\u0061d","resource":{"type":"SOURCE","id":"s1"}}"#.into()),
        ("no match", Some(&checker), Some("application/json"), r#"{"subject":{"type":"user","id":"bob"},"action":"read","resource":{"type":"SOURCE","id":"s1"}}"#.into()),
        ("disabled", Some(&checker), Some("application/json"), r#"{"subject":{"type":"user","id":"carol"},"action":"read","resource":{"type":"SOURCE","id":"s1"}}"#.into()),
        ("explained", Some(&checker), Some("application/json"), r#"{"subject":{"type":"user","id":"alice"},"action":"read","resource":{"type":"SOURCE","id":"s1"},"explain":true}"#.into()),
        ("no token", None, Some("application/json"), allowed.into()),
        ("bad token", Some("nonsense"), Some("application/json"), allowed.into()),
        ("another tenant's token", Some(&outsider), Some("application/json"), allowed.into()),
        ("not JSON", Some(&checker), Some("text/plain"), allowed.into()),
        ("too large", Some(&checker), Some("application/json"), format!("{{\"pad\": \"{}\"}}", "x".repeat(5000))),
        ("malformed", Some(&checker), Some("application/json"), "{\"subject\":".into()),
        ("unknown field", Some(&checker), Some("application/json"), r#"{"subject":{"type":"user","id":"alice"},"action":"read","resource":{"type":"SOURCE","id":"s1"},"extra":1}"#.into()),
        ("a group asks", Some(&checker), Some("application/json"), r#"{"subject":{"type":"group","id":"eng"},"action":"read","resource":{"type":"SOURCE","id":"s1"}}"#.into()),
        ("bad action", Some(&checker), Some("application/json"), r#"{"subject":{"type":"user","id":"alice"},"action":"","data_path":"hive/c1"}"#.into()),
    ];
    let mut answers = Vec::new();
    for (name, token, content_type, body) in &cases {
        let mut outcomes = Vec::new();
        for path in [&direct, &routed] {
            let mut request = app.anonymous(Method::POST, path).body(body.clone());
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            if let Some(content_type) = content_type {
                request = request.header("content-type", *content_type);
            }
            let response = request.send().await.expect("send");
            let status = response.status();
            let content_type = response.headers()["content-type"].clone();
            outcomes.push((status, content_type, response.text().await.expect("body")));
        }
        assert_eq!(outcomes[0], outcomes[1], "{name}");
        answers.push((*name, outcomes.swap_remove(0)));
    }
    let status = |name: &str| answers.iter().find(|(n, _)| *n == name).expect(name).1 .0;
    let body = |name: &str| {
        let text = &answers.iter().find(|(n, _)| *n == name).expect(name).1 .2;
        serde_json::from_str::<Value>(text).expect("JSON")
    };
    assert_eq!(body("allowed")["decision"], "allow");
    assert_eq!(body("escaped strings")["decision"], "allow");
    assert_eq!(body("no match")["decision"], "no_match");
    assert_eq!(body("disabled")["decision"], "deny");
    assert!(body("explained")["explanation"].is_object());
    for (name, expected, code) in [
        ("no token", StatusCode::UNAUTHORIZED, "unauthenticated"),
        ("bad token", StatusCode::UNAUTHORIZED, "unauthenticated"),
        ("another tenant's token", StatusCode::FORBIDDEN, "forbidden"),
        (
            "not JSON",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "too large",
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        ("malformed", StatusCode::BAD_REQUEST, "bad_request"),
        (
            "unknown field",
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "a group asks",
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "bad action",
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
    ] {
        assert_eq!(status(name), expected, "{name}");
        assert_error(&body(name), code);
    }
    // Both ways count under the route's template.
    let metrics = app.metrics().await;
    for status in ["200", "401", "403", "413", "415"] {
        assert!(
            metrics
                .lines()
                .any(|l| l.starts_with("grantd_http_requests_total")
                    && l.contains(r#"route="/v1/tenants/{tenant}/check""#)
                    && l.contains(&format!(r#"status="{status}""#))),
            "{status}: {metrics}"
        );
    }
}

#[tokio::test]
async fn the_command_line_checks_and_looks_up() {
    let app = spawn_app().await;
    let t = tenant_with_grants(&app).await;
    let token = app.token(&t, "check").await;
    let remote = [
        "--url",
        app.base.as_str(),
        "--token",
        token.as_str(),
        "--tenant",
        t.as_str(),
    ];
    let args = |extra: &[&'static str]| -> Vec<String> {
        extra
            .iter()
            .map(|s| s.to_string())
            .chain(remote.iter().map(|s| s.to_string()))
            .collect()
    };

    let run = |args: Vec<String>| async move {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        crate::helpers::run_binary(&args).await
    };
    let (ok, out, err) = run(args(&[
        "check",
        "--user",
        "alice",
        "--action",
        "read",
        "--resource",
        "SOURCE/s1",
        "--explain",
        "--fully-consistent",
    ]))
    .await;
    assert!(ok, "{err}");
    assert!(out.starts_with("allow (revision"), "{out}");
    assert!(out.contains("viewers-read-w1 via user:alice -> group:sre -> group:eng -> role:editor -> role:viewer"), "{out}");
    let (ok, out, err) = run(args(&[
        "check",
        "--user",
        "bob",
        "--action",
        "read",
        "--resource",
        "SOURCE/s1",
    ]))
    .await;
    assert!(
        !ok && out.starts_with("no_match") && err.contains("not allowed"),
        "{out} {err}"
    );
    let (ok, out, err) = run(args(&[
        "lookup",
        "resources",
        "--user",
        "alice",
        "--action",
        "read",
        "--type",
        "SOURCE",
    ]))
    .await;
    assert!(ok, "{err}");
    assert_eq!(out.lines().collect::<Vec<_>>(), ["SOURCE/s1"]);
    let (ok, out, _) = run(args(&[
        "lookup",
        "subjects",
        "--action",
        "read",
        "--resource",
        "WORKSPACE/w1",
    ]))
    .await;
    assert!(ok);
    assert_eq!(out.lines().collect::<Vec<_>>(), ["user/alice"]);
    let (ok, _, err) = run(args(&["check", "--user", "alice", "--action", "read"])).await;
    assert!(!ok && err.contains("--resource"), "{err}");
}
