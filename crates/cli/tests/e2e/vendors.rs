//! The vendors' own artefacts against grantd, through scripts in `tests/sdk`:
//! - Segment's official TypeScript SDK drives every IAM and audit-trail operation
//!   (`segment.js`), each answer checked (and, with Segment's OpenAPI document beside the
//!   project, validated against its schema);
//! - every SlashID operation's requests and answers are validated against SlashID's own
//!   OpenAPI document (`slashid.js`);
//! - Huawei Cloud's official Python SDK drives every DataArts permission-set operation,
//!   signing with an access key grantd issued (`dataarts.py`).
//!
//! Needs Node.js and `npm ci --prefix tests/sdk`, a Python virtualenv at `tests/sdk/.venv`
//! with `tests/sdk/requirements.txt` (`.ci/run` sets up all three) and, for the documents,
//! `../shared/specs/vendor` beside the project. Outside CI what is missing skips
//! the test with a message; under `CI=true` it fails the run.

use std::path::PathBuf;

use reqwest::Method;
use serde_json::json;

use crate::helpers::{send, spawn_app};

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Says why a test does not run; under `CI=true` that fails it instead.
fn skip(message: &str) {
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{message}");
    eprintln!("skipping: {message}");
}

/// A vendor's OpenAPI document from `../shared/specs/vendor`, if it is there.
fn vendor_document(name: &str) -> Option<PathBuf> {
    let path = workspace_root().join("../shared/specs/vendor").join(name);
    path.exists().then_some(path)
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
        skip(&format!(
            "{package} is not installed: run `npm ci --prefix tests/sdk` to run the SDK tests"
        ));
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
    let document = vendor_document("segment-openapi-32.0.5.yaml");
    match &document {
        Some(path) => vars.push(("SEGMENT_OPENAPI", path.display().to_string())),
        None => skip(
            "../shared/specs/vendor is not beside the project: answers are not checked against Segment's OpenAPI document",
        ),
    }
    let Some(out) = run_sdk_script("segment.js", "@segment/public-api-sdk-typescript", &vars).await
    else {
        return;
    };
    assert!(out.contains("21 steps passed"), "{out}");
    if document.is_some() {
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

#[tokio::test]
async fn slashid_operations_match_slashids_document() {
    let Some(document) = vendor_document("slashid-openapi.yml") else {
        skip("../shared/specs/vendor is not beside the project: SlashID's document is not there to check against");
        return;
    };
    let app = spawn_app().await;
    let org = app.tenant().await;
    let vars = vec![
        ("SLASHID_BASE", format!("{}/slashid", app.base)),
        ("API_KEY", app.token(&org, "admin").await),
        ("ORG", org),
        ("SLASHID_OPENAPI", document.display().to_string()),
    ];
    let Some(out) = run_sdk_script("slashid.js", "ajv", &vars).await else {
        return;
    };
    assert!(out.contains("# 31 SlashID operations"), "{out}");
}

#[tokio::test]
async fn huawei_sdk_drives_every_dataarts_operation() {
    let python = workspace_root().join("tests/sdk/.venv/bin/python");
    if !python.exists() {
        skip("the Huawei SDK is not installed: run `python3 -m venv tests/sdk/.venv && tests/sdk/.venv/bin/pip install -r tests/sdk/requirements.txt`");
        return;
    }
    let app = spawn_app().await;
    let project = app.tenant().await;
    let other = app.tenant().await;
    let key = |tenant: String| {
        let app = &app;
        async move {
            let (status, body) = send(
                app.op(Method::POST, &format!("/v1/tenants/{tenant}/access-keys"))
                    .json(&json!({"scopes": ["admin"]})),
            )
            .await;
            assert_eq!(status, reqwest::StatusCode::CREATED, "{body}");
            (
                body["access_key"].as_str().expect("ak").to_string(),
                body["secret_key"].as_str().expect("sk").to_string(),
            )
        }
    };
    let (ak, sk) = key(project.clone()).await;
    let (other_ak, other_sk) = key(other.clone()).await;
    let output = tokio::process::Command::new(&python)
        .arg("dataarts.py")
        .current_dir(workspace_root().join("tests/sdk"))
        .env("NO_PROXY", "127.0.0.1")
        .env("GRANTD_URL", &app.base)
        .env("TOKEN", app.token(&project, "admin").await)
        .env("PROJECT", &project)
        .env("AK", ak)
        .env("SK", sk)
        .env("OTHER_PROJECT", &other)
        .env("OTHER_AK", other_ak)
        .env("OTHER_SK", other_sk)
        .output()
        .await
        .expect("run python");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "dataarts.py failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("# 18 steps passed"), "{stdout}");
}
