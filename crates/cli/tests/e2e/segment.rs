//! The Segment surface's wire details that the SDK does not exercise: media types, the
//! query forms other clients send, errors in Segment's envelope on every path, the rate
//! limit's headers and configuration, the base path, and isolation on every route.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_error, send, spawn_app, spawn_with, store_calls, TestApp};

/// A tenant with users u1 (ada@example.com) and u2, and an admin token.
async fn workspace(app: &TestApp) -> (String, String) {
    let tenant = app.tenant().await;
    for (id, email) in [("u1", "ada@example.com"), ("u2", "bob@example.com")] {
        app.create(
            &tenant,
            "users",
            json!({"id": id, "email": email, "name": id}),
        )
        .await;
    }
    let token = app.token(&tenant, "admin").await;
    (tenant, token)
}

fn seg(app: &TestApp, token: &str, method: Method, path: &str) -> reqwest::RequestBuilder {
    app.as_token(token, method, &format!("/segment{path}"))
}

fn assert_segment_error(body: &Value, kind: &str) {
    assert_eq!(body["errors"][0]["type"], kind, "{body}");
    assert!(
        body.get("data").is_none(),
        "never both data and errors: {body}"
    );
}

#[tokio::test]
async fn bodies_in_every_segment_media_type_and_answers_in_the_one_asked_for() {
    let app = spawn_app().await;
    let (tenant, token) = workspace(&app).await;
    let body = json!({"permissions": [{"roleId": "1WDUuRLxv84rrfCNUwvkrRtkxnS",
        "resources": [{"id": tenant, "type": "WORKSPACE"}]}]});
    for media in [
        "application/json",
        "application/vnd.segment.v1+json",
        "application/vnd.segment.v1beta+json",
        "application/vnd.segment.v1alpha+json",
    ] {
        let response = seg(&app, &token, Method::POST, "/users/u1/permissions")
            .header("content-type", media)
            .header("accept", media)
            .body(body.to_string())
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), StatusCode::OK, "{media}");
        assert_eq!(response.headers()["content-type"], media);
    }
    // Adding the same permission again grants nothing twice.
    let (_, user) = send(seg(&app, &token, Method::GET, "/users/u1")).await;
    assert_eq!(
        user["data"]["user"]["permissions"].as_array().map(Vec::len),
        Some(1),
        "{user}"
    );
    let (status, error) = send(
        seg(&app, &token, Method::POST, "/users/u1/permissions")
            .header("content-type", "text/plain")
            .body(body.to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_segment_error(&error, "UnsupportedMediaType");
    let (status, error) = send(
        seg(&app, &token, Method::POST, "/users/u1/permissions")
            .header("content-type", "application/json")
            .body("{not json"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_segment_error(&error, "BadRequest");
}

#[tokio::test]
async fn pagination_and_arrays_in_every_form() {
    let app = spawn_app().await;
    let (_, token) = workspace(&app).await;
    let (status, dot) = send(seg(&app, &token, Method::GET, "/users?pagination.count=1")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(dot["data"]["users"][0]["id"], "u1");
    let next = dot["data"]["pagination"]["next"]
        .as_str()
        .expect("next")
        .to_string();
    let (_, second) = send(seg(
        &app,
        &token,
        Method::GET,
        &format!(
            "/users?pagination.count=1&pagination.cursor={}",
            urlencode(&next)
        ),
    ))
    .await;
    assert_eq!(second["data"]["users"][0]["id"], "u2");
    assert!(second["data"]["pagination"].get("next").is_none());
    let (_, in_body) = send(
        seg(&app, &token, Method::GET, "/users")
            .json(&json!({"pagination": {"count": 1, "cursor": next}})),
    )
    .await;
    assert_eq!(in_body["data"]["users"][0]["id"], "u2");
    for (path, field) in [
        ("/users", "pagination.count"),
        ("/users?pagination[count]=0", "pagination.count"),
        ("/users?pagination[count]=1001", "pagination.count"),
        (
            "/users?pagination[count]=2&pagination[cursor]=junk!",
            "pagination.cursor",
        ),
        ("/roles", "pagination.count"),
        (
            "/audit-events?pagination[count]=5&startTime=yesterday",
            "startTime",
        ),
    ] {
        let (status, error) = send(seg(&app, &token, Method::GET, path)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        assert_segment_error(&error, "input-validation");
        assert_eq!(error["errors"][0]["field"], field, "{path}");
    }
    // Arrays: repeated and `[]` forms delete too; the delete is all or nothing.
    let (status, _) = send(seg(
        &app,
        &token,
        Method::DELETE,
        "/users?userIds[]=u1&userIds[]=nobody",
    ))
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = send(seg(&app, &token, Method::GET, "/users/u1")).await;
    assert_eq!(status, StatusCode::OK, "nothing was deleted");
    let (status, _) = send(seg(
        &app,
        &token,
        Method::DELETE,
        "/users?userIds=u1&userIds=u2",
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, empty) = send(seg(&app, &token, Method::GET, "/users?pagination[count]=5")).await;
    assert_eq!(empty["data"]["pagination"]["totalEntries"], 0);
    let (status, error) = send(seg(&app, &token, Method::DELETE, "/users")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["errors"][0]["field"], "userIds");
}

fn fields(error: &Value) -> Vec<&str> {
    error["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect()
}

fn urlencode(value: &str) -> String {
    value
        .replace('+', "%2B")
        .replace('=', "%3D")
        .replace('/', "%2F")
}

#[tokio::test]
async fn errors_keep_segments_envelope_everywhere() {
    let app = spawn_app().await;
    let (tenant, token) = workspace(&app).await;
    let (status, error) =
        send(app.anonymous(Method::GET, "/segment/users?pagination[count]=1")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_segment_error(&error, "Unauthorized");
    let (status, error) = send(app.op(Method::GET, "/segment/")).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the operator has no workspace"
    );
    assert_segment_error(&error, "Unauthorized");
    let (status, error) = send(seg(&app, &token, Method::GET, "/no/such/path")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_segment_error(&error, "NotFound");
    let (status, error) = send(seg(&app, &token, Method::PATCH, "/users")).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_segment_error(&error, "MethodNotAllowed");
    let long = "x".repeat(256);
    let (status, error) = send(seg(&app, &token, Method::GET, &format!("/users/{long}"))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["errors"][0]["field"], "userId");
    // A WORKSPACE resource must be this workspace, a role must exist; an invalid write
    // changes nothing and records nothing (not even the label it would have created).
    let before = app.revision(&tenant).await;
    let (status, error) = send(
        seg(&app, &token, Method::POST, "/users/u1/permissions").json(&json!({
            "permissions": [{"roleId": "1WDUuRLxv84rrfCNUwvkrRtkxnS", "resources": [
                {"id": "elsewhere", "type": "WORKSPACE"},
                {"id": tenant, "type": "WORKSPACE", "labels": [{"key": "no", "value": "such"}]},
            ]}, {"roleId": "no-such-role", "resources": []}]
        })),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(
        fields(&error),
        ["permissions.0.resources.0.id", "permissions.1.roleId"]
    );
    let (status, error) = send(
        seg(&app, &token, Method::POST, "/users/u1/permissions").json(&json!({
            "permissions": [{"roleId": "1WDUuRLxv84rrfCNUwvkrRtkxnS", "resources": [
                {"id": "s1", "type": "SOURCE", "labels": [{"key": "environment", "value": "prod"}]}
            ]}]
        })),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(fields(&error), ["permissions.0.resources.0.labels"]);
    assert_eq!(app.revision(&tenant).await, before);
    let (_, listed) = send(seg(&app, &token, Method::GET, "/labels")).await;
    assert!(!listed.to_string().contains("such"), "{listed}");

    // A label the workspace does not hold yet is created with the permission that names
    // it, with its description, in the same write (issue 16): a client moving its policies
    // from Segment passes the labels its workspace already has.
    let (status, added) = send(
        seg(&app, &token, Method::POST, "/users/u1/permissions").json(&json!({
            "permissions": [{"roleId": "1WDUuRLxv84rrfCNUwvkrRtkxnS", "resources": [
                {"id": tenant, "type": "WORKSPACE", "labels": [
                    {"key": "team", "value": "data", "description": "The data team"}
                ]}
            ]}]
        })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{added}");
    assert!(added.to_string().contains("\"team\""), "{added}");
    assert_eq!(app.revision(&tenant).await, before + 1, "one write");
    let (_, listed) = send(seg(&app, &token, Method::GET, "/labels")).await;
    let labels = listed["data"]["labels"].as_array().expect("labels");
    assert!(
        labels.contains(&json!({"key": "team", "value": "data", "description": "The data team"})),
        "{listed}"
    );
    // A label in use cannot be deleted; built-in ones never.
    let (status, _) = send(seg(
        &app,
        &token,
        Method::DELETE,
        "/labels/environment/prod",
    ))
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn limits_are_per_token_and_operation_configurable_and_on_every_answer() {
    let app = spawn_with(|c| {
        c.segment_write_limit = 2;
        c.segment_read_limit = 3;
        c.segment_base_path = "/api/segment".into();
    })
    .await;
    let (_, token) = workspace(&app).await;
    let path = |p: &str| format!("/api/segment{p}");
    for expected in [2, 1, 0] {
        let response = app
            .as_token(&token, Method::GET, &path("/users?pagination[count]=1"))
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["x-ratelimit-remaining"],
            expected.to_string().as_str()
        );
        let reset = response.headers()["x-ratelimit-reset"]
            .to_str()
            .expect("ascii");
        assert!(
            chrono::DateTime::parse_from_rfc2822(reset).is_ok(),
            "{reset}"
        );
    }
    let response = app
        .as_token(&token, Method::GET, &path("/users?pagination[count]=1"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    // Another read operation has its own window, as has every write.
    let (status, _) =
        send(app.as_token(&token, Method::GET, &path("/roles?pagination[count]=1"))).await;
    assert_eq!(status, StatusCode::OK);
    for expected in [
        StatusCode::OK,
        StatusCode::OK,
        StatusCode::TOO_MANY_REQUESTS,
    ] {
        let (status, body) = send(
            app.as_token(&token, Method::POST, &path("/groups"))
                .json(&json!({"name": "g"})),
        )
        .await;
        assert_eq!(status, expected, "{body}");
    }
    let (status, _) = send(app.as_token(&token, Method::GET, "/segment/")).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "the default base path is not served"
    );
}

#[tokio::test]
async fn no_segment_route_reaches_another_workspace() {
    let app = spawn_app().await;
    let (tenant, token) = workspace(&app).await;
    // Things in the first workspace for the other one to look for.
    let (_, group) =
        send(seg(&app, &token, Method::POST, "/groups").json(&json!({"name": "g"}))).await;
    let group = group["data"]["userGroup"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    send(
        seg(&app, &token, Method::POST, "/invites")
            .json(&json!({"invites": [{"email": "x@example.com"}]})),
    )
    .await;
    send(
        seg(&app, &token, Method::POST, "/labels")
            .json(&json!({"label": {"key": "k", "value": "v"}})),
    )
    .await;
    let (other_tenant, other) = workspace(&app).await;
    let not_found: Vec<(Method, String, Value)> = vec![
        (
            Method::POST,
            format!("/groups/{group}/users"),
            json!({"emails": ["ada@example.com"]}),
        ),
        (
            Method::PUT,
            format!("/group/{group}/users"),
            json!({"emails": []}),
        ),
        (
            Method::DELETE,
            format!("/group/{group}/users?emails=ada@example.com"),
            Value::Null,
        ),
        (Method::GET, format!("/groups/{group}"), Value::Null),
        (
            Method::PATCH,
            format!("/groups/{group}"),
            json!({"name": "mine"}),
        ),
        (Method::DELETE, format!("/groups/{group}"), Value::Null),
        (
            Method::GET,
            format!("/groups/{group}/users?pagination[count]=1"),
            Value::Null,
        ),
        (
            Method::GET,
            format!("/groups/{group}/invites?pagination[count]=1"),
            Value::Null,
        ),
        (
            Method::POST,
            format!("/groups/{group}/permissions"),
            json!({"permissions": []}),
        ),
        (
            Method::PUT,
            format!("/groups/{group}/permissions"),
            json!({"permissions": []}),
        ),
        (
            Method::DELETE,
            "/invites?emails=x@example.com".into(),
            Value::Null,
        ),
        (Method::DELETE, "/labels/k/v".into(), Value::Null),
    ];
    for (method, path, body) in not_found {
        let mut request = seg(&app, &other, method.clone(), &path);
        if !body.is_null() {
            request = request.json(&body);
        }
        let (status, answer) = send(request).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {answer}");
    }
    let (_, groups) = send(seg(
        &app,
        &other,
        Method::GET,
        "/groups?pagination[count]=10",
    ))
    .await;
    assert_eq!(groups["data"]["userGroups"], json!([]));
    let (_, invites) = send(seg(
        &app,
        &other,
        Method::GET,
        "/invites?pagination[count]=10",
    ))
    .await;
    assert_eq!(invites["data"]["invites"], json!([]));
    let (_, roles) = send(seg(
        &app,
        &other,
        Method::GET,
        "/roles?pagination[count]=100",
    ))
    .await;
    assert_eq!(roles["data"]["pagination"]["totalEntries"], 14);
    let (_, workspace) = send(seg(&app, &other, Method::GET, "/")).await;
    assert_eq!(workspace["data"]["workspace"]["id"], other_tenant.as_str());
    let (_, events) = send(seg(
        &app,
        &other,
        Method::GET,
        "/audit-events?pagination[count]=100",
    ))
    .await;
    let leaked = events["data"]["events"]
        .as_array()
        .expect("events")
        .iter()
        .any(|e| e["resourceId"] == group.as_str());
    assert!(!leaked);
    // And the first workspace is untouched.
    let (_, g) = send(seg(&app, &token, Method::GET, &format!("/groups/{group}"))).await;
    assert_eq!(g["data"]["userGroup"]["name"], "g", "{tenant}");
}

#[tokio::test]
async fn audit_event_filters_are_one_bounded_store_query() {
    use crate::helpers::{operator, path_str, scratch, start_binary, tenant_with_user, OPERATOR};
    let data = path_str(&scratch("segment-audit").join("data"));
    let (server, _) = start_binary(&["--data-dir", &data, "--admin-token", OPERATOR]).await;
    let client = reqwest::Client::new();
    let tenant = tenant_with_user(&client, &server).await;
    let (status, issued) = send(
        operator(
            &client,
            &server,
            Method::POST,
            &format!("/v1/tenants/{tenant}/tokens"),
        )
        .json(&json!({"scopes": ["read"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let token = issued["token"].as_str().expect("secret").to_string();
    // A trail longer than a store page (1000 events).
    let mut writers = tokio::task::JoinSet::new();
    for w in 0..8 {
        let (client, base, tenant) = (client.clone(), server.base.clone(), tenant.clone());
        writers.spawn(async move {
            for i in (w..1100).step_by(8) {
                let response = client
                    .post(format!("{base}/v1/tenants/{tenant}/users"))
                    .bearer_auth(OPERATOR)
                    .json(&json!({"id": format!("n{i}")}))
                    .send()
                    .await
                    .expect("send");
                assert_eq!(response.status(), StatusCode::CREATED);
            }
        });
    }
    while let Some(done) = writers.join_next().await {
        done.expect("writer");
    }
    let list = |query: &str| {
        client
            .get(format!("{}/segment/audit-events?{query}", server.base))
            .bearer_auth(&token)
    };
    for (query, expected) in [
        ("resourceId=n1099&pagination[count]=1", vec!["n1099"]),
        ("resourceId=nobody&pagination[count]=10", vec![]),
        (
            "resourceType=user&resourceId=n7&pagination[count]=10",
            vec!["n7"],
        ),
    ] {
        let before = store_calls(&client, &server.base, "list_audit").await;
        let (status, body) = send(list(query)).await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
        let found: Vec<&str> = body["data"]["events"]
            .as_array()
            .expect("events")
            .iter()
            .map(|e| e["resourceId"].as_str().expect("id"))
            .collect();
        assert_eq!(found, expected, "{query}: {body}");
        assert!(body["data"]["pagination"].get("next").is_none(), "{body}");
        let reads = store_calls(&client, &server.base, "list_audit").await - before;
        assert_eq!(
            reads, 1,
            "{query}: one store query, not a walk through the trail"
        );
    }
}

/// Issue 16: a grant written for a Segment policy has one owner, the policy. Changing or
/// deleting it through the native API was accepted (204) and left Segment listing a
/// permission that no longer decided; now it is refused with 409 naming the owner, and a
/// native grant cannot claim a policy as its origin either.
#[tokio::test]
async fn a_policys_grants_are_changed_through_the_policy_only() {
    let app = spawn_app().await;
    let (tenant, token) = workspace(&app).await;
    let (status, added) = send(
        seg(&app, &token, Method::POST, "/users/u1/permissions").json(&json!({
            "permissions": [{"roleId": "1WDUuRLxv84rrfCNUwvkrRtkxnS", "resources": [
                {"id": tenant, "type": "WORKSPACE"}
            ]}]
        })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{added}");
    let grant = app.grant_with_origin(&tenant, "segment:policy:").await;
    let id = grant["id"].as_str().expect("id");
    let path = format!("/v1/tenants/{tenant}/grants/{id}");
    let before = app.revision(&tenant).await;
    for request in [
        app.op(Method::DELETE, &path),
        app.op(Method::PATCH, &path)
            .json(&json!({"effect": "DENY"})),
    ] {
        let (status, body) = send(request).await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        assert!(
            assert_error(&body, "derived_object").contains("Segment policy"),
            "{body}"
        );
    }
    let mut forged = grant.clone();
    forged["id"] = json!("forged");
    let (status, body) = send(
        app.op(Method::POST, &format!("/v1/tenants/{tenant}/grants"))
            .json(&forged),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(app.revision(&tenant).await, before, "nothing written");
    // Nor through a PATCH of a grant of its own, nor an invite's pending grant.
    let own = app
        .create(
            &tenant,
            "grants",
            json!({"subject": {"type": "user", "id": "u2"},
                   "privilege": {"type": "actions", "actions": ["read"]},
                   "target": {"type": "tenant"}, "effect": "ALLOW"}),
        )
        .await;
    let before = app.revision(&tenant).await;
    let own_path = format!(
        "/v1/tenants/{tenant}/grants/{}",
        own["id"].as_str().expect("id")
    );
    let claim = json!({"origin": grant["origin"]});
    let (status, body) = send(app.op(Method::PATCH, &own_path).json(&claim)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let invite = json!({"email": "eve@example.com", "grants": [{
        "privilege": {"type": "actions", "actions": ["read"]}, "target": {"type": "tenant"},
        "effect": "ALLOW", "origin": grant["origin"]}]});
    let (status, body) = send(
        app.op(Method::POST, &format!("/v1/tenants/{tenant}/invites"))
            .json(&invite),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(app.revision(&tenant).await, before, "nothing written");
    // What Segment lists is still what the engine enforces.
    let (_, user) = send(seg(&app, &token, Method::GET, "/users/u1")).await;
    assert!(
        user.to_string().contains("1WDUuRLxv84rrfCNUwvkrRtkxnS"),
        "{user}"
    );
}
