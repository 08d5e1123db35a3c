//! schemathesis (PyPI) sends generated requests, valid and not, to every operation of
//! grantd's own OpenAPI document and of the Segment and SlashID documents for the routes
//! grantd serves: none may answer 5xx. Fixed seeds and example budgets keep it bounded.
//!
//! Needs `tests/sdk/.venv` with `tests/sdk/requirements.txt` (`.ci/run` sets it up), and
//! `../shared/specs/vendor` for the vendors' documents.

use std::path::PathBuf;

use crate::helpers::{spawn_app, OPERATOR};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn skip(message: &str) {
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{message}");
    eprintln!("skipping: {message}");
}

/// Runs schemathesis with `args`; fails the test if it found a server error.
async fn schemathesis(args: &[String]) {
    let bin = root().join("tests/sdk/.venv/bin/schemathesis");
    let output = tokio::process::Command::new(&bin)
        .arg("run")
        .args(args)
        .args([
            "-c",
            "not_a_server_error",
            "--phases",
            "fuzzing",
            "--seed",
            "1",
        ])
        .env("NO_PROXY", "127.0.0.1")
        .output()
        .await
        .expect("run schemathesis");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "schemathesis found server errors:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("passed"), "{stdout}");
}

#[tokio::test]
async fn no_generated_request_gets_a_server_error() {
    if !root().join("tests/sdk/.venv/bin/schemathesis").exists() {
        skip("schemathesis is not installed: tests/sdk/.venv/bin/pip install -r tests/sdk/requirements.txt");
        return;
    }
    let app = spawn_app().await;
    let tenant = app.tenant().await;
    let token = app.token(&tenant, "admin").await;
    schemathesis(&[
        format!("{}/openapi.json", app.base),
        "-H".into(),
        format!("Authorization: Bearer {OPERATOR}"),
        "-n".into(),
        "5".into(),
        // The change stream answers until the request timeout, by design.
        "--exclude-path-regex".into(),
        "watch".into(),
    ])
    .await;
    let vendor = root().join("../shared/specs/vendor");
    if !vendor.exists() {
        skip("../shared/specs/vendor is not beside the project: the vendors' documents are not fuzzed");
        return;
    }
    schemathesis(&[
        vendor
            .join("segment-openapi-32.0.5.yaml")
            .display()
            .to_string(),
        "--url".into(),
        format!("{}/segment", app.base),
        "-H".into(),
        format!("Authorization: Bearer {token}"),
        "-n".into(),
        "3".into(),
        "--include-path-regex".into(),
        "^/(users|groups|group/|invites|roles|labels|audit-events)".into(),
    ])
    .await;
    schemathesis(&[
        vendor.join("slashid-openapi.yml").display().to_string(),
        "--url".into(),
        format!("{}/slashid", app.base),
        "-H".into(),
        format!("SlashID-API-Key: {token}"),
        "-H".into(),
        format!("SlashID-OrgID: {tenant}"),
        "-n".into(),
        "3".into(),
        "--include-path-regex".into(),
        "^/(persons|rbac|groups)".into(),
    ])
    .await;
}
