//! Health, readiness, metrics, the OpenAPI document and the docs page.

use reqwest::{Method, StatusCode};

use crate::helpers::{send, spawn_app};

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    let (status, body) = send(app.anonymous(Method::GET, "/healthz")).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let (status, body) = send(app.anonymous(Method::GET, "/readyz")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["store"], "sqlite");
}

#[tokio::test]
async fn metrics_count_requests_per_route_and_status() {
    let app = spawn_app().await;
    let tenant = app.tenant().await;
    let _ = send(app.op(Method::GET, &format!("/v1/tenants/{tenant}/users/nobody"))).await;
    let text = app.metrics().await;
    assert!(text.contains("grantd_http_requests_total"), "{text}");
    assert!(
        text.contains(r#"route="/v1/tenants/{tenant}/users/{id}""#),
        "{text}"
    );
    assert!(text.contains(r#"status="404""#));
    assert!(text.contains("grantd_http_request_duration_seconds_bucket"));
    assert!(text.contains("grantd_store_seconds"));
}

#[tokio::test]
async fn openapi_document_lists_every_route_and_error_code() {
    let app = spawn_app().await;
    let (status, doc) = send(app.anonymous(Method::GET, "/openapi.json")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().expect("paths");
    let operations: usize = paths
        .values()
        .map(|p| p.as_object().map_or(0, |m| m.len()))
        .sum();
    // 5 tenant + cluster + 4 token + 14 kinds x 6 + invite acceptance + 2 feed + 4
    // decision operations + watch + export and import + a data source's status and plan.
    assert_eq!(operations, 5 + 1 + 4 + 14 * 6 + 1 + 2 + 4 + 1 + 2 + 2);
    for schema in [
        "DataSource",
        "SyncStatus",
        "Label",
        "Invite",
        "PermissionSet",
        "DataPermission",
        "SetMember",
        "AcceptInvite",
        "User",
        "Group",
        "Member",
        "Role",
        "Permission",
        "Resource",
        "Assignment",
        "Grant",
        "ErrorBody",
    ] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "schema {schema} missing"
        );
    }
    let codes = doc["components"]["schemas"]["ErrorDetail"]["properties"]["code"]["enum"]
        .as_array()
        .expect("codes");
    assert!(codes.iter().any(|c| c == "precondition_failed"));
    assert!(doc["x-error-codes"]
        .as_array()
        .is_some_and(|c| c.len() == codes.len()));
    // Every operation id is unique.
    let mut ids: Vec<&str> = paths
        .values()
        .flat_map(|p| p.as_object().into_iter().flat_map(|m| m.values()))
        .filter_map(|op| op["operationId"].as_str())
        .collect();
    let count = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), count);
}

#[tokio::test]
async fn docs_page_is_self_contained() {
    let app = spawn_app().await;
    let response = app
        .anonymous(Method::GET, "/docs")
        .send()
        .await
        .expect("docs");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"]
        .to_str()
        .expect("ct")
        .starts_with("text/html"));
    let html = response.text().await.expect("html");
    assert!(html.contains("grantd native API"));
    assert!(html.contains("/v1/tenants/{tenant}/grants/{id}"));
    assert!(
        !html.contains("<script") && !html.contains("https://"),
        "the page must need no network"
    );
}
