//! Tenant routes: operator only, except reading one's own tenant.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{assert_error, send, spawn_app};

#[tokio::test]
async fn operator_creates_reads_changes_and_deletes_tenants() {
    let app = spawn_app().await;
    let response = app
        .op(Method::POST, "/v1/tenants")
        .json(&json!({"id": "acme", "name": "Acme"}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["grantd-revision"], "1");
    assert_eq!(response.headers()["etag"], "\"1\"");
    assert_eq!(response.headers()["location"], "/v1/tenants/acme");

    let (status, body) = send(
        app.op(Method::POST, "/v1/tenants")
            .json(&json!({"id": "acme"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_error(&body, "already_exists");
    let (status, body) = send(
        app.op(Method::POST, "/v1/tenants")
            .json(&json!({"id": "bad id!"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["details"][0]["field"], "id");

    let (status, body) = send(app.op(Method::GET, "/v1/tenants/acme")).await;
    assert_eq!(
        (status, body["name"].as_str()),
        (StatusCode::OK, Some("Acme"))
    );
    let reader = app.token("acme", "read").await;
    let (status, _) = send(app.as_token(&reader, Method::GET, "/v1/tenants/acme")).await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = send(
        app.op(Method::PATCH, "/v1/tenants/acme")
            .header("if-match", "\"9\"")
            .json(&json!({"name": "Acme Corp"})),
    )
    .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{body}");
    let (status, body) = send(
        app.op(Method::PATCH, "/v1/tenants/acme")
            .header("if-match", "\"1\"")
            .json(&json!({"name": "Acme Corp"})),
    )
    .await;
    assert_eq!(
        (status, body["name"].as_str()),
        (StatusCode::OK, Some("Acme Corp"))
    );

    let (status, body) = send(app.op(Method::GET, "/v1/tenants?limit=1")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["items"].as_array().map(Vec::len), Some(1));

    let (status, _) = send(app.op(Method::DELETE, "/v1/tenants/acme")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = send(app.op(Method::GET, "/v1/tenants/acme")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, "not_found");
    let (status, _) = send(app.as_token(&reader, Method::GET, "/v1/tenants/acme")).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a deleted tenant's tokens die with it"
    );
    let (status, _) = send(app.op(Method::DELETE, "/v1/tenants/acme")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn only_the_operator_manages_tenants() {
    let app = spawn_app().await;
    let tenant = app.tenant().await;
    let admin = app.token(&tenant, "admin").await;
    for (method, path) in [
        (Method::POST, "/v1/tenants".to_string()),
        (Method::GET, "/v1/tenants".to_string()),
        (Method::PATCH, format!("/v1/tenants/{tenant}")),
        (Method::DELETE, format!("/v1/tenants/{tenant}")),
    ] {
        let (status, body) = send(
            app.as_token(&admin, method.clone(), &path)
                .json(&json!({"id": "x"})),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}");
        assert_error(&body, "forbidden");
    }
    let (status, body) = send(app.anonymous(Method::GET, "/v1/tenants")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_error(&body, "unauthenticated");
    let (status, _) = send(app.as_token("gd_wrong", Method::GET, "/v1/tenants")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = send(
        app.anonymous(Method::GET, "/v1/tenants")
            .header("authorization", "Basic abc"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = send(app.op(Method::GET, "/v1/tenants/no-such-tenant/users")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(assert_error(&body, "not_found").contains("no-such-tenant"));
}
