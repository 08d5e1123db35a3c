//! The console in a real headless Chromium (Debian's `chromium`, driven by npm's
//! `playwright-core`) against a real grantd: `tests/console/console.mjs` signs in, makes
//! objects, asks the explorer, and attacks the pages as a read-only token, another
//! tenant, a stale editor and a cross-site form would, with an accessibility check on
//! every page. Its screenshots are docs/console's.
//!
//! Needs `/usr/bin/chromium` and `npm ci --prefix tests/console` (`.ci/run` sets up both).
//! Outside CI what is missing skips the test with a message; under `CI=true` it fails.

use std::path::PathBuf;

use reqwest::Method;
use serde_json::json;

use crate::helpers::{send, spawn_app, spawn_with};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Says why the test does not run; under `CI=true` that fails it instead.
fn missing(what: &str) -> bool {
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI must have {what}"
    );
    eprintln!("skipping: {what} is not here");
    true
}

#[tokio::test]
async fn the_console_in_a_real_browser() {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let scripts = root().join("tests/console");
    if (!PathBuf::from(&chromium).exists() && missing("Chromium (apt-get install chromium)"))
        || (!scripts.join("node_modules/playwright-core").exists()
            && missing("playwright-core (npm ci --prefix tests/console)"))
    {
        return;
    }
    let app = spawn_app().await;
    let tenant = app.tenant().await;
    let other = app.tenant().await;
    let (code, _) = send(
        app.op(Method::POST, &format!("/v1/tenants/{other}/users"))
            .json(&json!({"id": "zed", "name": "Another tenant's secret name"})),
    )
    .await;
    assert_eq!(code, reqwest::StatusCode::CREATED);
    let output = tokio::process::Command::new("node")
        .arg("console.mjs")
        .current_dir(&scripts)
        .env("GRANTD_URL", &app.base)
        .env("TENANT", &tenant)
        .env("ADMIN_TOKEN", app.token(&tenant, "admin").await)
        .env("READ_TOKEN", app.token(&tenant, "read").await)
        .env("OPERATOR_TOKEN", crate::helpers::OPERATOR)
        .env("OTHER_USER", "zed")
        .env("OTHER_NAME", "Another tenant's secret name")
        .env("CHROMIUM", &chromium)
        .env("SCREENSHOTS", root().join("docs/console"))
        .output()
        .await
        .expect("run node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "console.mjs failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("19 steps passed"), "{stdout}");
}

/// `console_path = ""` serves no console at all.
#[tokio::test]
async fn the_console_can_be_switched_off() {
    let app = spawn_with(|c| c.console_path = String::new()).await;
    let (code, _) = send(app.anonymous(Method::GET, "/console/sign-in")).await;
    assert_eq!(code, reqwest::StatusCode::NOT_FOUND);
    let on = spawn_app().await;
    let response = on
        .anonymous(Method::GET, "/console/sign-in")
        .send()
        .await
        .expect("sign-in page");
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let policy = response.headers()["content-security-policy"]
        .to_str()
        .expect("text");
    assert!(policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'"));
}
