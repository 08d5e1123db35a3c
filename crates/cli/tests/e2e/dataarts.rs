//! The DataArts surface beyond what the SDK run shows: authentication failures (expired
//! and missing signatures, a token of another project, a captured signature over another
//! body, `UNSIGNED-PAYLOAD`), the workspace header, errors in DataArts' envelope, and
//! isolation between projects on every route.

use grantd_server::surfaces::dataarts::signature;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{send, spawn_app, TestApp};

pub fn da(app: &TestApp, token: &str, method: Method, project: &str, path: &str) -> RequestBuilder {
    app.anonymous(method, &format!("/v1/{project}/security{path}"))
        .header("X-Auth-Token", token)
        .header("workspace", "ws-1")
}

/// POSTs `body` to a DataArts `path` of project `t`; returns the id of what it created.
pub async fn created(app: &TestApp, token: &str, t: &str, path: &str, body: Value) -> String {
    let (status, answer) = send(da(app, token, Method::POST, t, path).json(&body)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer["id"].as_str().expect("id").to_string()
}

/// Moving set `(name, id)` under `parent` is refused with a message saying `why`, and
/// nothing is written.
async fn move_is_refused(
    app: &TestApp,
    token: &str,
    t: &str,
    (name, id): (&str, &str),
    parent: &str,
    why: &str,
) {
    let before = app.revision(t).await;
    let path = format!("/permission-sets/{id}");
    let (status, body) = send(
        da(app, token, Method::PUT, t, &path).json(&json!({"name": name, "parent_id": parent})),
    )
    .await;
    assert!(status.is_client_error(), "{status} {body}");
    assert!(body.to_string().contains(why), "{body}");
    assert_eq!(app.revision(t).await, before, "nothing written");
}

fn assert_envelope(body: &Value, code: &str) {
    assert_eq!(body["error_code"], code, "{body}");
    assert!(body["error_msg"].as_str().is_some_and(|m| !m.is_empty()));
}

async fn access_key(app: &TestApp, tenant: &str) -> (String, String) {
    access_key_with(app, tenant, "read").await
}

async fn access_key_with(app: &TestApp, tenant: &str, scope: &str) -> (String, String) {
    let (status, body) = send(
        app.op(Method::POST, &format!("/v1/tenants/{tenant}/access-keys"))
            .json(&json!({"scopes": [scope]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["kind"], "access_key");
    (
        body["access_key"].as_str().expect("ak").into(),
        body["secret_key"].as_str().expect("sk").into(),
    )
}

/// A GET signed as the SDK signs it, dated `date`.
fn signed_get(app: &TestApp, project: &str, ak: &str, sk: &str, date: &str) -> RequestBuilder {
    let path = format!("/v1/{project}/security/permission-sets");
    let host = app.base.trim_start_matches("http://").to_string();
    let mut headers = axum::http::HeaderMap::new();
    for (name, value) in [
        ("content-type", "application/json"),
        ("host", host.as_str()),
        ("workspace", "ws-1"),
        ("x-sdk-date", date),
    ] {
        headers.insert(name, value.parse().expect("value"));
    }
    let authorization =
        signature::authorization(ak, sk, &axum::http::Method::GET, &path, &headers, b"");
    app.anonymous(Method::GET, &path)
        .header("content-type", "application/json")
        .header("workspace", "ws-1")
        .header("x-sdk-date", date)
        .header("authorization", authorization)
}

/// A signed request as it went over the wire: its headers (reqwest sends `host`), its
/// `Authorization` and its body; re-sent as is, or changed, by whoever captured it.
#[derive(Clone)]
struct Captured {
    method: Method,
    path: String,
    headers: Vec<(String, String)>,
    authorization: String,
    body: Vec<u8>,
}

impl Captured {
    /// Signed as Huawei's SDK signs: `signed` and `host` in SignedHeaders, `payload` as the
    /// payload hash (the SDK's: the body's hash, or `X-Sdk-Content-Sha256` for a body), and
    /// `unsigned` headers sent beside them.
    #[allow(clippy::too_many_arguments)]
    fn sign(
        app: &TestApp,
        (ak, sk): (&str, &str),
        method: Method,
        path: &str,
        signed: &[(&str, &str)],
        unsigned: &[(&str, &str)],
        body: &[u8],
        payload: &str,
    ) -> Captured {
        let host = app.base.trim_start_matches("http://").to_string();
        let date = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
        let mut map = axum::http::HeaderMap::new();
        let mut headers: Vec<(String, String)> = vec![("x-sdk-date".into(), date)];
        headers.extend(signed.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        for (name, value) in headers.iter().chain([&("host".to_string(), host)]) {
            let name = axum::http::HeaderName::from_bytes(name.as_bytes()).expect("name");
            map.insert(name, value.parse().expect("value"));
        }
        let mut names: Vec<String> = map.keys().map(|k| k.as_str().to_string()).collect();
        names.sort();
        let to_sign = signature::string_to_sign_with_payload(
            &axum::http::Method::from_bytes(method.as_str().as_bytes()).expect("method"),
            path,
            None,
            &map,
            &names,
            payload,
        );
        headers.extend(unsigned.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Captured {
            method,
            path: path.to_string(),
            headers,
            authorization: format!(
                "SDK-HMAC-SHA256 Access={ak}, SignedHeaders={}, Signature={}",
                names.join(";"),
                signature::sign(sk, &to_sign)
            ),
            body: body.to_vec(),
        }
    }

    fn with_body(&self, body: &[u8]) -> Captured {
        Captured {
            body: body.to_vec(),
            ..self.clone()
        }
    }

    fn with_header(&self, name: &str, value: &str) -> Captured {
        let mut changed = self.clone();
        changed
            .headers
            .retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        changed.headers.push((name.to_string(), value.to_string()));
        changed
    }

    async fn send(&self, app: &TestApp) -> (StatusCode, Value) {
        let mut request = app
            .anonymous(self.method.clone(), &self.path)
            .header("authorization", &self.authorization)
            .body(self.body.clone());
        for (name, value) in &self.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        send(request).await
    }
}

/// The names of the permission sets of workspace `ws-1`, as a token lists them, sorted.
async fn set_names(app: &TestApp, token: &str, project: &str) -> Vec<String> {
    let (status, body) = send(da(
        app,
        token,
        Method::GET,
        project,
        "/permission-sets?limit=100",
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["permission_sets"]
        .as_array()
        .expect("sets")
        .iter()
        .map(|s| s["name"].as_str().unwrap_or_default().to_string())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

const JSON: (&str, &str) = ("content-type", "application/json;charset=utf-8");
const WORKSPACE: (&str, &str) = ("workspace", "ws-1");
const CONTENT_SHA256: &str = "x-sdk-content-sha256";
const EVIL: &[u8] = br#"{"name": "EVIL-substituted-body"}"#;

#[tokio::test]
async fn a_captured_signed_body_cannot_be_swapped() {
    let app = spawn_app().await;
    let project = app.tenant().await;
    let (ak, sk) = access_key_with(&app, &project, "write").await;
    let token = app.token(&project, "read").await;
    let path = format!("/v1/{project}/security/permission-sets");
    let sign = |signed: &[(&str, &str)], unsigned: &[(&str, &str)], body: &[u8]| {
        let payload = signature::payload_hash(body);
        Captured::sign(
            &app,
            (&ak, &sk),
            Method::POST,
            &path,
            signed,
            unsigned,
            body,
            &payload,
        )
    };
    let refused = |(status, body): (StatusCode, Value), what: &str| {
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {body}");
        assert_envelope(&body, "APIGW.0301");
    };

    // A signed POST, captured, then re-sent with another body and X-Sdk-Content-Sha256 (not
    // signed): the hash the signature covers, the new body's, or UNSIGNED-PAYLOAD.
    let first = br#"{"name": "legit-1"}"#;
    let captured = sign(&[JSON, WORKSPACE], &[], first);
    let (status, body) = captured.send(&app).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for value in [
        signature::payload_hash(first),
        signature::payload_hash(EVIL),
        "UNSIGNED-PAYLOAD".to_string(),
    ] {
        let swapped = captured.with_body(EVIL).with_header(CONTENT_SHA256, &value);
        refused(
            swapped.send(&app).await,
            &format!("unsigned header {value}"),
        );
    }
    refused(captured.with_body(EVIL).send(&app).await, "no header");

    // Sent with the header, the header not in SignedHeaders: refused, swapped or not.
    let second = br#"{"name": "legit-2"}"#;
    let hash = signature::payload_hash(second);
    let captured = sign(&[JSON, WORKSPACE], &[(CONTENT_SHA256, &hash)], second);
    refused(captured.send(&app).await, "the header not signed");
    refused(
        captured.with_body(EVIL).send(&app).await,
        "the header not signed, body swapped",
    );

    // The header signed: accepted with its body, refused with another.
    let third = br#"{"name": "legit-3"}"#;
    let hash = signature::payload_hash(third);
    let captured = sign(&[JSON, WORKSPACE, (CONTENT_SHA256, &hash)], &[], third);
    let (status, body) = captured.send(&app).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    refused(
        captured.with_body(EVIL).send(&app).await,
        "the header signed, body swapped",
    );

    assert_eq!(
        set_names(&app, &token, &project).await,
        ["legit-1", "legit-3"],
        "nothing but the signed bodies was created"
    );
}

#[tokio::test]
async fn unsigned_payload_is_accepted_signed_and_without_a_body_only() {
    let app = spawn_app().await;
    let project = app.tenant().await;
    let (ak, sk) = access_key_with(&app, &project, "write").await;
    let token = app.token(&project, "read").await;
    let path = format!("/v1/{project}/security/permission-sets");
    let unsigned_payload = (CONTENT_SHA256, "UNSIGNED-PAYLOAD");
    let empty = signature::payload_hash(b"");
    let sign = |method: Method,
                signed: &[(&str, &str)],
                unsigned: &[(&str, &str)],
                body: &[u8],
                payload: &str| {
        Captured::sign(
            &app,
            (&ak, &sk),
            method,
            &path,
            signed,
            unsigned,
            body,
            payload,
        )
    };

    // Without a body the SDK signs the empty body's hash whatever the header says.
    let get = sign(
        Method::GET,
        &[JSON, WORKSPACE, unsigned_payload],
        &[],
        b"",
        &empty,
    );
    let (status, body) = get.send(&app).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "signed UNSIGNED-PAYLOAD, no body: {body}"
    );
    let get = sign(
        Method::GET,
        &[JSON, WORKSPACE],
        &[unsigned_payload],
        b"",
        &empty,
    );
    let (status, body) = get.send(&app).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "unsigned UNSIGNED-PAYLOAD: {body}"
    );
    assert_envelope(&body, "APIGW.0301");

    // With a body, signed as the SDK would sign it (it never does for JSON): refused, as is
    // anything the captured request is changed into.
    let body = br#"{"name": "unhashed"}"#;
    let post = sign(
        Method::POST,
        &[JSON, WORKSPACE, unsigned_payload],
        &[],
        body,
        "UNSIGNED-PAYLOAD",
    );
    for (request, what) in [
        (post.clone(), "as signed"),
        (post.with_body(EVIL), "body swapped"),
    ] {
        let (status, answer) = request.send(&app).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {answer}");
        assert_envelope(&answer, "APIGW.0301");
    }
    assert!(set_names(&app, &token, &project).await.is_empty());
}

#[tokio::test]
async fn signatures_dates_and_credentials_are_checked() {
    let app = spawn_app().await;
    let project = app.tenant().await;
    let other = app.tenant().await;
    let (ak, sk) = access_key(&app, &project).await;
    let now = chrono::Utc::now();
    let fresh = now.format("%Y%m%dT%H%M%SZ").to_string();
    let (status, body) = send(signed_get(&app, &project, &ak, &sk, &fresh)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["total"], 0);
    let stale = (now - chrono::Duration::minutes(16))
        .format("%Y%m%dT%H%M%SZ")
        .to_string();
    let (status, body) = send(signed_get(&app, &project, &ak, &sk, &stale)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_envelope(&body, "APIGW.0303");
    let (status, body) = send(signed_get(&app, &project, &ak, "wrong", &fresh)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_envelope(&body, "APIGW.0301");
    let (status, body) = send(signed_get(&app, &other, &ak, &sk, &fresh)).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "an access key works in its own project only"
    );
    assert_envelope(&body, "APIGW.0301");
    // A read-only key cannot write.
    let token = app.token(&project, "read").await;
    let (status, body) = send(
        da(&app, &token, Method::POST, &project, "/permission-sets").json(&json!({"name": "x"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_envelope(&body, "DLS.0403");
    // No credentials; no workspace; a token of another project.
    let (status, body) = send(app.anonymous(
        Method::GET,
        &format!("/v1/{project}/security/permission-sets"),
    ))
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_envelope(&body, "APIGW.0301");
    let admin = app.token(&project, "admin").await;
    let (status, body) = send(
        app.anonymous(
            Method::GET,
            &format!("/v1/{project}/security/permission-sets"),
        )
        .header("X-Auth-Token", &admin),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_envelope(&body, "DLS.0001");
    let (status, body) = send(da(&app, &admin, Method::GET, &other, "/permission-sets")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_envelope(&body, "DLS.0403");
    let (status, body) = send(da(&app, &admin, Method::GET, &project, "/no/such/path")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_envelope(&body, "DLS.0404");
    // Access keys are listed as tokens, never with their secret, and revoked as tokens.
    let (_, tokens) = send(app.op(Method::GET, &format!("/v1/tenants/{project}/tokens"))).await;
    let listed = tokens.to_string();
    assert!(listed.contains(&ak) && !listed.contains(&sk), "{listed}");
    let (status, _) = send(app.op(
        Method::DELETE,
        &format!("/v1/tenants/{project}/tokens/{ak}"),
    ))
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = send(signed_get(&app, &project, &ak, &sk, &fresh)).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a revoked key signs nothing"
    );
}

#[tokio::test]
async fn no_dataarts_route_reaches_another_project() {
    let app = spawn_app().await;
    let a = app.tenant().await;
    let b = app.tenant().await;
    let token_a = app.token(&a, "admin").await;
    let token_b = app.token(&b, "admin").await;
    app.create(&a, "users", json!({"id": "u-1", "name": "alice"}))
        .await;
    let (status, set) =
        send(da(&app, &token_a, Method::POST, &a, "/permission-sets").json(&json!({"name": "s"})))
            .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    let set = set["id"].as_str().expect("id").to_string();
    let (_, permission) = send(
        da(&app, &token_a, Method::POST, &a, &format!("/permission-sets/{set}/permissions")).json(
            &json!({"permission_actions": ["SELECT"], "datasource_type": "HIVE", "cluster_id": "c", "database_name": "d"}),
        ),
    )
    .await;
    let permission = permission["id"].as_str().expect("id").to_string();
    let (_, member) = send(
        da(
            &app,
            &token_a,
            Method::POST,
            &a,
            &format!("/permission-sets/{set}/members"),
        )
        .json(&json!({"member_type": "USER", "member_id": "u-1"})),
    )
    .await;
    let member = member["id"].as_str().expect("id").to_string();
    let base = format!("/permission-sets/{set}");
    let routes: Vec<(Method, String, Value)> = vec![
        (Method::GET, base.clone(), Value::Null),
        (Method::PUT, base.clone(), json!({"name": "mine"})),
        (Method::DELETE, base.clone(), Value::Null),
        (Method::GET, format!("{base}/permissions"), Value::Null),
        (Method::POST, format!("{base}/permissions"), json!({"permission_actions": ["SELECT"], "datasource_type": "HIVE", "cluster_id": "c", "database_name": "d"})),
        (Method::POST, format!("{base}/permissions/batch-append"), json!({"permission_actions": ["SELECT"], "datasource_type": "HIVE", "cluster_id": "c", "database_name": "d"})),
        (Method::PUT, format!("{base}/permissions/{permission}"), json!({"permission_actions": ["ALL"]})),
        (Method::POST, format!("{base}/permissions/batch-delete"), json!({"ids": [permission]})),
        (Method::GET, format!("{base}/members"), Value::Null),
        (Method::POST, format!("{base}/members"), json!({"member_type": "USER", "member_id": "u-1"})),
        (Method::POST, format!("{base}/members/batch-create"), json!({"members": [{"member_type": "USER", "member_id": "u-1"}]})),
        (Method::POST, format!("{base}/members/batch-delete"), json!({"ids": [member]})),
        (Method::GET, format!("/permission-sets/datasource/actions?datasource_type=HIVE&parent_permission_set_id={set}"), Value::Null),
    ];
    for (method, path, body) in routes {
        let mut request = da(&app, &token_b, method.clone(), &b, &path);
        if !body.is_null() {
            request = request.json(&body);
        }
        let (status, answer) = send(request).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{method} {path}: {answer}");
        let code = answer["error_code"].as_str().unwrap_or_default();
        assert!(
            code.starts_with("DLS.3027") || code == "DLS.6036",
            "{method} {path}: {answer}"
        );
    }
    for path in [
        "/permission-sets".to_string(),
        "/permission-governance/my-permissions?user_name=alice".into(),
        "/member-permission/query/u-1".into(),
        "/member-permission/u-1".into(),
        "/admin".into(),
    ] {
        let (status, answer) = send(da(&app, &token_b, Method::GET, &b, &path)).await;
        let leaked =
            answer.to_string().contains(&set) || answer.to_string().contains("u-1\",\"member_name");
        assert!(!leaked, "{path}: {status} {answer}");
    }
    // Project a's data is untouched, and alice still holds the set's permission.
    let (_, shown) = send(da(&app, &token_a, Method::GET, &a, &base)).await;
    assert_eq!(shown["name"], "s");
    let (_, check) = send(
        app.as_token(&token_a, Method::POST, &format!("/v1/tenants/{a}/check")).json(&json!({
            "subject": {"type": "user", "id": "u-1"}, "action": "SELECT", "data_path": "hive/c/d/t"
        })),
    )
    .await;
    assert_eq!(check["allowed"], true, "{check}");
}

/// Issue 16: parent cycles of permission sets (A under B under A) were accepted. A move
/// that would close one is refused, and nothing changes.
#[tokio::test]
async fn a_permission_set_cannot_be_moved_under_its_own_sub_set() {
    let app = spawn_app().await;
    let t = app.tenant().await;
    let token = app.token(&t, "admin").await;
    let a = created(&app, &token, &t, "/permission-sets", json!({"name": "a"})).await;
    let b = json!({"name": "b", "parent_id": a});
    let b = created(&app, &token, &t, "/permission-sets", b).await;
    move_is_refused(&app, &token, &t, ("a", &a), &b, "cycle").await;
}

/// Issue 16: the set's role given natively to a user whom DataArts does not list as a
/// member allowed, and a native delete of the set's derived grant answered 204 while
/// DataArts still listed the permission. The set owns its role, members and grants.
#[tokio::test]
async fn a_permission_sets_role_members_and_grants_are_changed_through_the_set() {
    let app = spawn_app().await;
    let t = app.tenant().await;
    let token = app.token(&t, "admin").await;
    app.create(&t, "users", json!({"id": "bob"})).await;
    let set = created(&app, &token, &t, "/permission-sets", json!({"name": "s"})).await;
    let on_sales = json!({"permission_actions": ["SELECT"], "datasource_type": "DWS", "cluster_id": "c", "database_name": "sales"});
    created(
        &app,
        &token,
        &t,
        &format!("/permission-sets/{set}/permissions"),
        on_sales,
    )
    .await;
    let grant = app.grant_with_origin(&t, "dataarts:").await;
    let grant = grant["id"].as_str().expect("id");
    let role = format!("dataarts.ps.{set}");
    let before = app.revision(&t).await;
    for request in [
        app.op(Method::DELETE, &format!("/v1/tenants/{t}/grants/{grant}")),
        app.op(Method::POST, &format!("/v1/tenants/{t}/role-assignments"))
            .json(&json!({"subject": {"type": "user", "id": "bob"}, "role": role})),
        app.op(Method::PATCH, &format!("/v1/tenants/{t}/roles/{role}"))
            .json(&json!({"actions": ["*"]})),
    ] {
        let (status, body) = send(request).await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        assert_eq!(body["error"]["code"], "derived_object", "{body}");
    }
    assert_eq!(app.revision(&t).await, before, "nothing written");
}

/// Issue 16: a sub-set's permissions had to lie within its parent's only when they were
/// added; narrowing or deleting the parent's, or moving the sub-set, left it enforcing what
/// no parent covered. Now a move that would is refused, and narrowing or deleting the
/// parent's takes the sub-set's uncovered permissions (and their grants) with it, in the
/// same write, as DataArts' own API answers such deletes with success.
#[tokio::test]
async fn a_sub_sets_permissions_stay_within_its_parents_whatever_changes() {
    let app = spawn_app().await;
    let t = app.tenant().await;
    let token = app.token(&t, "admin").await;
    let on_sales = |actions: &[&str]| json!({"permission_actions": actions, "datasource_type": "HIVE", "cluster_id": "c", "database_name": "sales"});
    let sub_permissions = |sub: String| {
        let request = da(
            &app,
            &token,
            Method::GET,
            &t,
            &format!("/permission-sets/{sub}/permissions"),
        );
        async move {
            let (status, listed) = send(request).await;
            assert_eq!(status, StatusCode::OK, "{listed}");
            listed["total"].as_u64().expect("total")
        }
    };
    let parent = created(
        &app,
        &token,
        &t,
        "/permission-sets",
        json!({"name": "parent"}),
    )
    .await;
    let granted = created(
        &app,
        &token,
        &t,
        &format!("/permission-sets/{parent}/permissions"),
        on_sales(&["SELECT", "UPDATE"]),
    )
    .await;
    let sub = created(
        &app,
        &token,
        &t,
        "/permission-sets",
        json!({"name": "sub", "parent_id": parent}),
    )
    .await;
    created(
        &app,
        &token,
        &t,
        &format!("/permission-sets/{sub}/permissions"),
        on_sales(&["SELECT"]),
    )
    .await;
    created(
        &app,
        &token,
        &t,
        &format!("/permission-sets/{sub}/permissions"),
        on_sales(&["UPDATE"]),
    )
    .await;
    let other = created(
        &app,
        &token,
        &t,
        "/permission-sets",
        json!({"name": "other"}),
    )
    .await;

    // The sub-set moved under a set that covers nothing: refused, nothing written.
    move_is_refused(&app, &token, &t, ("sub", &sub), &other, "within its parent").await;

    // The parent's permission narrowed: the sub-set's SELECT goes, its UPDATE stays.
    let (status, body) = send(
        da(
            &app,
            &token,
            Method::PUT,
            &t,
            &format!("/permission-sets/{parent}/permissions/{granted}"),
        )
        .json(&json!({"permission_actions": ["UPDATE"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(sub_permissions(sub.clone()).await, 1);
    // The parent's permission deleted: the sub-set keeps nothing, in the same write.
    let before = app.revision(&t).await;
    let (status, body) = send(
        da(
            &app,
            &token,
            Method::POST,
            &t,
            &format!("/permission-sets/{parent}/permissions/batch-delete"),
        )
        .json(&json!({"ids": [granted]})),
    )
    .await;
    assert!(status.is_success(), "{status} {body}");
    assert_eq!(app.revision(&t).await, before + 1, "one write");
    assert_eq!(sub_permissions(sub.clone()).await, 0);
    let (_, grants) = send(app.op(Method::GET, &format!("/v1/tenants/{t}/grants"))).await;
    assert_eq!(
        grants["items"],
        json!([]),
        "no grant outlives its permission"
    );
}
