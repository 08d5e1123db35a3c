//! Time-bound grants (issue 20): a grant decides only inside its window, at the time of
//! each request, with nothing written when the window opens or closes.

use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_error, send, spawn_app, spawn_with, TestApp};

/// RFC 3339 for `from_now` from now.
fn at(from_now: Duration) -> String {
    let then = Utc::now() + chrono::Duration::from_std(from_now).expect("duration");
    then.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn past(ago: Duration) -> String {
    let then = Utc::now() - chrono::Duration::from_std(ago).expect("duration");
    then.to_rfc3339_opts(SecondsFormat::Millis, true)
}

async fn check(app: &TestApp, t: &str, explain: bool) -> Value {
    let body = json!({"subject": {"type": "user", "id": "bob"}, "action": "read",
                      "resource": {"type": "doc", "id": "d1"}, "explain": explain,
                      "consistency": {"mode": "fully_consistent"}});
    let (status, answer) = send(
        app.op(Method::POST, &format!("/v1/tenants/{t}/check"))
            .json(&body),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer
}

fn grant(window: Value) -> Value {
    let mut grant = json!({"subject": {"type": "user", "id": "bob"},
        "privilege": {"type": "actions", "actions": ["read"]},
        "target": {"type": "tenant"}, "effect": "ALLOW"});
    for (k, v) in window.as_object().expect("object") {
        grant[k] = v.clone();
    }
    grant
}

#[tokio::test]
async fn a_grant_that_ends_stops_matching_with_no_write() {
    // No node writes the end down here, so that a write could not be what decided.
    let app = spawn_with(|c| c.expiry_interval_ms = 0).await;
    let t = app.tenant().await;
    app.create(&t, "users", json!({"id": "bob"})).await;
    let ends = at(Duration::from_secs(2));
    app.create(&t, "grants", grant(json!({"id": "g1", "expires_at": ends})))
        .await;
    let allowed = check(&app, &t, true).await;
    assert_eq!(allowed["decision"], "allow", "{allowed}");
    let decided = &allowed["explanation"]["decided_by"][0];
    assert_eq!(
        decided["expires_at"].as_str().map(|e| e.len()),
        Some(ends.len()),
        "{allowed}"
    );
    let (_, page) = send(
        app.op(Method::POST, &format!("/v1/tenants/{t}/lookup/resources"))
            .json(&json!({"subject": {"type": "user", "id": "bob"}, "action": "read"})),
    )
    .await;
    let revision = app.revision(&t).await;
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    let after = check(&app, &t, false).await;
    assert_eq!(after["decision"], "no_match", "{after}");
    assert_eq!(app.revision(&t).await, revision, "nothing was written");
    // What has expired is listed as such.
    let (status, expired) =
        send(app.op(Method::GET, &format!("/v1/tenants/{t}/grants?expired=true"))).await;
    assert_eq!(status, StatusCode::OK, "{expired}");
    assert_eq!(expired["items"][0]["id"], "g1", "{expired}");
    assert!(page["items"].is_array(), "{page}");
}

#[tokio::test]
async fn a_grant_that_starts_later_grants_nothing_until_then() {
    let app = spawn_app().await;
    let t = app.tenant().await;
    app.create(&t, "users", json!({"id": "bob"})).await;
    let window = json!({"not_before": at(Duration::from_millis(1_500)), "expires_at": at(Duration::from_secs(60))});
    app.create(&t, "grants", grant(window)).await;
    assert_eq!(check(&app, &t, false).await["decision"], "no_match");
    tokio::time::sleep(Duration::from_millis(1_700)).await;
    assert_eq!(check(&app, &t, false).await["decision"], "allow");
}

#[tokio::test]
async fn windows_are_checked_and_changed_with_if_match() {
    let app = spawn_app().await;
    let t = app.tenant().await;
    app.create(&t, "users", json!({"id": "bob"})).await;
    let grants = format!("/v1/tenants/{t}/grants");
    let before = app.revision(&t).await;
    for (window, field) in [
        (
            json!({"expires_at": past(Duration::from_secs(1))}),
            "expires_at",
        ),
        (
            json!({"not_before": at(Duration::from_secs(20)), "expires_at": at(Duration::from_secs(10))}),
            "expires_at",
        ),
        (json!({"expires_at": "next tuesday"}), "RFC 3339"),
    ] {
        let (status, body) = send(app.op(Method::POST, &grants).json(&grant(window))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(body.to_string().contains(field), "{body}");
    }
    assert_eq!(app.revision(&t).await, before, "nothing written");
    let created = app
        .create(
            &t,
            "grants",
            grant(json!({"id": "g1", "expires_at": at(Duration::from_secs(5))})),
        )
        .await;
    let etag = format!("\"{}\"", created["version"]);
    // Extended with the current ETag; a stale one changes nothing.
    let extend = |etag: &str, body: Value| {
        app.op(Method::PATCH, &format!("{grants}/g1"))
            .header("if-match", etag.to_string())
            .json(&body)
    };
    let (status, extended) = send(extend(
        &etag,
        json!({"expires_at": at(Duration::from_secs(3600))}),
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{extended}");
    let (status, body) = send(extend(&etag, json!({"expires_at": null}))).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{body}");
    // Made permanent.
    let etag = format!("\"{}\"", extended["version"]);
    let (status, permanent) = send(extend(&etag, json!({"expires_at": null}))).await;
    assert_eq!(status, StatusCode::OK, "{permanent}");
    assert!(permanent.get("expires_at").is_none(), "{permanent}");
    // A grant whose end has passed can still be read and renamed without moving its end.
    let (status, body) = send(
        app.op(Method::PATCH, &format!("{grants}/g1"))
            .json(&json!({"expires_at": past(Duration::from_secs(5))})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_error(&body, "validation_failed");
}

#[tokio::test]
async fn lists_filter_on_when_grants_end() {
    let app = spawn_app().await;
    let t = app.tenant().await;
    app.create(&t, "users", json!({"id": "bob"})).await;
    for (id, ends) in [
        ("soon", Some(Duration::from_secs(3600))),
        ("later", Some(Duration::from_secs(3 * 86_400))),
        ("never", None),
    ] {
        let window = match ends {
            Some(d) => json!({"id": id, "expires_at": at(d)}),
            None => json!({"id": id}),
        };
        app.create(&t, "grants", grant(window)).await;
    }
    let ids = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|g| g["id"].as_str().expect("id").to_string())
            .collect()
    };
    let list = |query: &str| send(app.op(Method::GET, &format!("/v1/tenants/{t}/grants?{query}")));
    let (_, page) = list("expires_within=2h").await;
    assert_eq!(ids(&page), ["soon"]);
    let (_, page) = list("expires_within=7d&limit=1").await;
    assert_eq!(ids(&page), ["later"], "key order, one a page");
    assert!(page["next_cursor"].is_string(), "{page}");
    let (_, page) = list("expired=false").await;
    assert_eq!(ids(&page), ["later", "never", "soon"]);
    let (_, page) = list("expired=true").await;
    assert_eq!(ids(&page), Vec::<String>::new());
    let (status, body) = list("expires_within=soon").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

/// What a vendor surface lists is what the engine enforces at the time of the listing: a
/// time-bound grant made natively shows in Segment's and SlashID's listings inside its
/// window and not after.
#[tokio::test]
async fn vendor_listings_follow_windows() {
    let app = spawn_app().await;
    let t = app.tenant().await;
    let token = app.token(&t, "admin").await;
    app.create(
        &t,
        "users",
        json!({"id": "bob", "email": "bob@example.com"}),
    )
    .await;
    app.create(
        &t,
        "roles",
        json!({"id": "viewer", "actions": ["source.read"]}),
    )
    .await;
    app.create(&t, "resources", json!({"type": "SOURCE", "id": "s1"}))
        .await;
    let (status, body) = send(
        app.anonymous(Method::POST, "/slashid/rbac/permissions")
            .header("SlashID-API-Key", &token)
            .header("SlashID-OrgID", &t)
            .json(&json!({"name": "docs.read"})),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let ends = at(Duration::from_millis(1_500));
    app.create(
        &t,
        "grants",
        json!({"subject": {"type": "user", "id": "bob"},
        "privilege": {"type": "role", "id": "viewer"},
        "target": {"type": "resource", "resource": {"type": "SOURCE", "id": "s1"}},
        "effect": "ALLOW", "expires_at": ends}),
    )
    .await;
    app.create(
        &t,
        "grants",
        json!({"subject": {"type": "user", "id": "bob"},
        "privilege": {"type": "permission", "id": "docs.read"}, "target": {"type": "tenant"},
        "effect": "ALLOW", "expires_at": ends}),
    )
    .await;
    let listed = || async {
        let (_, segment) = send(app.as_token(&token, Method::GET, "/segment/users/bob")).await;
        let (_, slashid) = send(
            app.anonymous(Method::GET, "/slashid/persons/bob/additional-permissions")
                .header("SlashID-API-Key", &token)
                .header("SlashID-OrgID", &t),
        )
        .await;
        let segment = segment["data"]["user"]["permissions"]
            .as_array()
            .map_or(0, Vec::len);
        let slashid = slashid["result"].as_array().map_or(0, Vec::len);
        (segment, slashid)
    };
    assert_eq!(listed().await, (1, 1), "inside the window");
    tokio::time::sleep(Duration::from_millis(1_700)).await;
    assert_eq!(listed().await, (0, 0), "after it");
}

/// Memberships and role assignments hold for a while too (issue 20): one that starts
/// later grants nothing until then, one that ends stops granting, with no write in
/// between; both are listed by when they end, changed with If-Match, and shown by the
/// vendor surfaces only while they hold.
#[tokio::test]
async fn memberships_and_assignments_hold_within_their_windows() {
    let app = spawn_with(|c| c.expiry_interval_ms = 0).await;
    let t = app.tenant().await;
    let token = app.token(&t, "admin").await;
    app.create(&t, "users", json!({"id": "bob"})).await;
    app.create(&t, "groups", json!({"id": "oncall"})).await;
    app.create(&t, "roles", json!({"id": "reader", "actions": ["read"]}))
        .await;
    let ask = |action: &'static str| {
        let body = json!({"subject": {"type": "user", "id": "bob"}, "action": action,
                          "resource": {"type": "doc", "id": "d1"}, "explain": true,
                          "consistency": {"mode": "fully_consistent"}});
        let request = app
            .op(Method::POST, &format!("/v1/tenants/{t}/check"))
            .json(&body);
        async move { send(request).await.1 }
    };
    // The group may page; its membership starts in 1.5 s.
    app.create(
        &t,
        "grants",
        json!({"subject": {"type": "group", "id": "oncall"},
            "privilege": {"type": "actions", "actions": ["page"]},
            "target": {"type": "tenant"}, "effect": "ALLOW"}),
    )
    .await;
    let starts = at(Duration::from_millis(1_500));
    let members = format!("/v1/tenants/{t}/groups/oncall/members");
    let (status, member) = send(app.op(Method::POST, &members).json(
        &json!({"member": {"type": "user", "id": "bob"}, "not_before": starts,
                "expires_at": at(Duration::from_secs(3600))}),
    ))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{member}");
    // The role's holders may read; bob holds it for 1.5 s.
    app.create(
        &t,
        "grants",
        json!({"subject": {"type": "role", "id": "reader"},
            "privilege": {"type": "role", "id": "reader"},
            "target": {"type": "tenant"}, "effect": "ALLOW"}),
    )
    .await;
    let ends = at(Duration::from_millis(1_500));
    app.create(
        &t,
        "role-assignments",
        json!({"subject": {"type": "user", "id": "bob"}, "role": "reader", "expires_at": ends}),
    )
    .await;
    let page = ask("page").await;
    assert_eq!(page["decision"], "no_match", "not a member yet: {page}");
    let read = ask("read").await;
    assert_eq!(read["decision"], "allow", "{read}");
    assert_eq!(
        read["explanation"]["decided_by"][0]["expires_at"]
            .as_str()
            .map(str::len),
        Some(ends.len()),
        "the explanation says when the assignment ends: {read}"
    );
    let slashid_groups = || {
        let request = app
            .anonymous(Method::GET, "/slashid/persons/bob/groups")
            .header("SlashID-API-Key", &token)
            .header("SlashID-OrgID", &t);
        async move { send(request).await.1["result"].clone() }
    };
    assert_eq!(slashid_groups().await, json!([]), "not a member yet");
    let (_, ending) = send(app.op(
        Method::GET,
        &format!("/v1/tenants/{t}/role-assignments?expires_within=1m"),
    ))
    .await;
    assert_eq!(ending["items"][0]["role"], "reader", "{ending}");
    let revision = app.revision(&t).await;
    tokio::time::sleep(Duration::from_millis(1_700)).await;
    assert_eq!(ask("page").await["decision"], "allow", "a member now");
    assert_eq!(ask("read").await["decision"], "no_match", "the role ended");
    assert_eq!(app.revision(&t).await, revision, "nothing was written");
    assert_eq!(slashid_groups().await, json!(["oncall"]));
    let (_, expired) = send(app.op(
        Method::GET,
        &format!("/v1/tenants/{t}/role-assignments?expired=true"),
    ))
    .await;
    assert_eq!(expired["items"][0]["role"], "reader", "{expired}");
    // The membership's end moved with If-Match; a stale ETag changes nothing.
    let item = format!("{members}/user/bob");
    let etag = format!("\"{}\"", member["version"]);
    let (status, shortened) = send(
        app.op(Method::PATCH, &item)
            .header("if-match", etag.clone())
            .json(&json!({"expires_at": at(Duration::from_secs(60))})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{shortened}");
    let (status, body) = send(
        app.op(Method::PATCH, &item)
            .header("if-match", etag)
            .json(&json!({"expires_at": null})),
    )
    .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{body}");
    // An end before the start is refused, and so is one in the past.
    for window in [
        json!({"not_before": at(Duration::from_secs(20)), "expires_at": at(Duration::from_secs(10))}),
        json!({"expires_at": past(Duration::from_secs(1))}),
    ] {
        let (status, body) = send(app.op(Method::PATCH, &item).json(&window)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_error(&body, "validation_failed");
    }
    // A vendor surface that sets the person's roles sees only what holds now: asking
    // for the ended role gives it now, instead of keeping the ended assignment.
    let (status, body) = send(
        app.anonymous(Method::PUT, "/slashid/persons/bob/roles")
            .header("SlashID-API-Key", &token)
            .header("SlashID-OrgID", &t)
            .json(&json!({"roles": ["reader"]})),
    )
    .await;
    assert!(status.is_success(), "{status} {body}");
    assert_eq!(ask("read").await["decision"], "allow", "given again, now");
}
