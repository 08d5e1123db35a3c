//! Segment's official TypeScript SDK against grantd: `tests/sdk/segment.js` drives every
//! IAM and audit-trail operation through `@segment/public-api-sdk-typescript` and checks
//! each answer (and, with Segment's OpenAPI document beside the project, its schema).
//!
//! Needs Node.js and `npm ci --prefix tests/sdk` (`.ci/run` does both). Outside CI a
//! missing SDK skips this test with a message; under `CI=true` it fails the run.

use std::path::PathBuf;

use reqwest::Method;
use serde_json::json;

use crate::helpers::{send, spawn_app};

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs a vendor SDK script from `tests/sdk` with `vars`; `None` when the SDK is not
/// installed (and this is not CI).
pub async fn run_sdk_script(
    script: &str,
    package: &str,
    vars: &[(&str, String)],
) -> Option<String> {
    let sdk = workspace_root().join("tests/sdk");
    if !sdk.join("node_modules").join(package).exists() {
        let message = format!(
            "{package} is not installed: run `npm ci --prefix tests/sdk` to run the SDK tests"
        );
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{message}");
        eprintln!("skipping: {message}");
        return None;
    }
    let output = tokio::process::Command::new("node")
        .arg(script)
        .current_dir(&sdk)
        .envs(vars.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .await
        .expect("run node");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{script} failed:\n{stdout}\n{stderr}"
    );
    Some(stdout)
}

#[tokio::test]
async fn segment_sdk_drives_every_operation() {
    let app = spawn_app().await;
    let workspace = app.tenant().await;
    let other = app.tenant().await;
    let mut vars = vec![
        ("GRANTD_URL", app.base.clone()),
        ("SEGMENT_BASE", format!("{}/segment", app.base)),
        ("WORKSPACE", workspace.clone()),
        ("TOKEN", app.token(&workspace, "admin").await),
        ("LIMITED_TOKEN", app.token(&workspace, "admin").await),
        ("READ_TOKEN", app.token(&workspace, "read").await),
        ("OTHER_TOKEN", app.token(&other, "admin").await),
    ];
    let document = workspace_root().join("../shared/specs/vendor/segment-openapi-32.0.5.yaml");
    if document.exists() {
        vars.push(("SEGMENT_OPENAPI", document.display().to_string()));
    } else {
        eprintln!(
            "../shared/specs/vendor is not beside the project: answers are not checked against Segment's OpenAPI document"
        );
    }
    let Some(out) = run_sdk_script("segment.js", "@segment/public-api-sdk-typescript", &vars).await
    else {
        return;
    };
    assert!(out.contains("21 steps passed"), "{out}");
    if document.exists() {
        assert!(!out.contains(" 0 bodies validated"), "{out}");
    }
    // The other tenant's trail holds nothing the SDK did in this one.
    let (_, trail) = send(app.op(
        Method::GET,
        &format!("/v1/tenants/{other}/audit-events?limit=100"),
    ))
    .await;
    assert_eq!(
        trail["items"].as_array().map(Vec::len),
        Some(2),
        "{}",
        json!(trail)
    );
}
