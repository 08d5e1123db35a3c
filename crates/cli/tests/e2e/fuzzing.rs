//! schemathesis (PyPI) sends generated requests, valid and not, to every operation of
//! grantd's own OpenAPI document and of the Segment and SlashID documents for the routes
//! grantd serves: none may answer 5xx, and every 4xx must be in its surface's error
//! envelope (`tests/sdk/envelope.py`). Fixed seeds and example budgets keep it bounded.
//! Huawei publishes no OpenAPI document for DataArts Security, so its routes get requests
//! generated here from its DTOs' field names and hostile values, with a fixed seed: no 5xx,
//! and every refusal in DataArts' `{error_code, error_msg}` envelope.
//!
//! Needs `tests/sdk/.venv` with `tests/sdk/requirements.txt` (`.ci/run` sets it up), and
//! `../shared/specs/vendor` for the vendors' documents.

use std::path::PathBuf;

use reqwest::Method;
use serde_json::{json, Map, Value};

use crate::helpers::{send, spawn_app, OPERATOR};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn skip(message: &str) {
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{message}");
    eprintln!("skipping: {message}");
}

/// Runs schemathesis with `args`; fails the test if it found a server error, or a refusal
/// outside the `envelope` surface's error envelope (`tests/sdk/envelope.py`).
async fn schemathesis(envelope: &str, args: &[String]) {
    let sdk = root().join("tests/sdk");
    let output = tokio::process::Command::new(sdk.join(".venv/bin/schemathesis"))
        .arg("run")
        .args(args)
        .args([
            "-c",
            "not_a_server_error,error_envelope",
            "--phases",
            "fuzzing",
            "--seed",
            "1",
        ])
        .env("NO_PROXY", "127.0.0.1")
        .env("SCHEMATHESIS_HOOKS", "envelope")
        .env("PYTHONPATH", &sdk)
        .env("GRANTD_ENVELOPE", envelope)
        .output()
        .await
        .expect("run schemathesis");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "schemathesis found server errors or refusals outside the envelope:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("passed"), "{stdout}");
    // The summary: operations and test cases generated, for the record.
    for line in stdout
        .lines()
        .filter(|l| l.contains("generated") || l.contains("passed") || l.contains("Test cases"))
    {
        eprintln!("schemathesis: {}", line.trim());
    }
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
    schemathesis(
        "native",
        &[
            format!("{}/openapi.json", app.base),
            "-H".into(),
            format!("Authorization: Bearer {OPERATOR}"),
            "-n".into(),
            "5".into(),
            // The change stream answers until the request timeout, by design.
            "--exclude-path-regex".into(),
            "watch".into(),
        ],
    )
    .await;
    let vendor = root().join("../shared/specs/vendor");
    if !vendor.exists() {
        skip("../shared/specs/vendor is not beside the project: the vendors' documents are not fuzzed");
        return;
    }
    schemathesis(
        "segment",
        &[
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
        ],
    )
    .await;
    schemathesis(
        "slashid",
        &[
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
        ],
    )
    .await;
}

/// A small deterministic generator (xorshift), so that a failure replays exactly.
struct Generator(u64);

impl Generator {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn value(&mut self) -> Value {
        match self.below(16) {
            0 => Value::Null,
            1 => json!(true),
            2 => json!(-1),
            3 => json!(0),
            4 => json!(1e308),
            5 => json!(u64::MAX),
            6 => json!(""),
            7 => json!("x".repeat(5000)),
            8 => json!(["ALL", "SELECT", "DROP", 7]),
            9 => json!("../../etc/passwd"),
            10 => json!("\u{0}\u{1f4a5}%00'\"--"),
            11 => json!({"nested": {"deeper": [1, {"a": null}]}}),
            12 => json!([]),
            13 => json!("ALLOW"),
            14 => json!("USER"),
            _ => json!("HIVE"),
        }
    }

    fn body(&mut self) -> String {
        const FIELDS: [&str; 24] = [
            "name",
            "description",
            "permission_actions",
            "datasource_type",
            "cluster_id",
            "cluster_name",
            "database_name",
            "schema_name",
            "table_name",
            "column_name",
            "permission_type",
            "ids",
            "member_type",
            "member_id",
            "member_name",
            "parent_id",
            "managers",
            "manager_id",
            "url",
            "auto_sync",
            "permissions",
            "members",
            "role_ids",
            "type",
        ];
        match self.below(10) {
            0 => "{not json".into(),
            1 => self.value().to_string(),
            2 => json!([{"name": "a"}, 3]).to_string(),
            _ => {
                let mut object = Map::new();
                for _ in 0..self.below(8) {
                    let field = FIELDS[self.below(FIELDS.len())];
                    object.insert(field.into(), self.value());
                }
                Value::Object(object).to_string()
            }
        }
    }

    fn query(&mut self) -> String {
        const PAIRS: [&str; 10] = [
            "limit=-1",
            "limit=100000",
            "offset=abc",
            "order_by=NOPE",
            "order_by_asc=maybe",
            "permission_type=ALL",
            "user_name=%00",
            "member_type=X",
            "name=%F0%9F%92%A5",
            "datasource_type=HIVE",
        ];
        (0..self.below(4))
            .map(|_| PAIRS[self.below(PAIRS.len())])
            .collect::<Vec<_>>()
            .join("&")
    }
}

#[tokio::test]
async fn generated_dataarts_requests_get_no_server_error_and_the_dataarts_envelope() {
    let app = spawn_app().await;
    let project = app.tenant().await;
    let token = app.token(&project, "admin").await;
    app.create(&project, "users", json!({"id": "u-1", "name": "alice"}))
        .await;
    let da = |method: Method, path: &str| {
        app.anonymous(method, &format!("/v1/{project}/security{path}"))
            .header("X-Auth-Token", &token)
            .header("workspace", "ws-1")
    };
    let (_, set) = send(da(Method::POST, "/permission-sets").json(&json!({"name": "s"}))).await;
    let set = set["id"].as_str().expect("a set").to_string();
    let (_, permission) = send(da(Method::POST, &format!("/permission-sets/{set}/permissions")).json(
        &json!({"permission_actions": ["SELECT"], "datasource_type": "HIVE", "cluster_id": "c", "database_name": "d"}),
    ))
    .await;
    let permission = permission["id"].as_str().expect("a permission").to_string();
    let routes = [
        (Method::GET, "/permission-sets"),
        (Method::POST, "/permission-sets"),
        (Method::GET, "/permission-sets/{set}"),
        (Method::PUT, "/permission-sets/{set}"),
        (Method::GET, "/permission-sets/{set}/permissions"),
        (Method::POST, "/permission-sets/{set}/permissions"),
        (
            Method::POST,
            "/permission-sets/{set}/permissions/batch-append",
        ),
        (
            Method::PUT,
            "/permission-sets/{set}/permissions/{permission}",
        ),
        (Method::GET, "/permission-sets/{set}/members"),
        (Method::POST, "/permission-sets/{set}/members"),
        (Method::POST, "/permission-sets/{set}/members/batch-create"),
        (Method::GET, "/permission-sets/datasource/configurations"),
        (Method::GET, "/permission-sets/datasource/actions"),
        (Method::GET, "/permission-sets/datasource/urls"),
        (
            Method::POST,
            "/permission-sets/datasource/role/batch-actions",
        ),
        (Method::GET, "/admin"),
        (Method::POST, "/admin"),
        (Method::GET, "/permission-governance/my-permissions"),
        (Method::GET, "/member-permission/query/u-1"),
        (Method::GET, "/member-permission/u-1"),
        // Deletes last: they may empty what the others use.
        (
            Method::POST,
            "/permission-sets/{set}/permissions/batch-delete",
        ),
        (Method::POST, "/permission-sets/{set}/members/batch-delete"),
        (Method::DELETE, "/permission-sets/{set}"),
    ];
    let mut generator = Generator(0x9e37_79b9_7f4a_7c15);
    let mut tried = 0;
    for (method, template) in routes {
        for round in 0..30 {
            // Mostly the real ids; sometimes ids that do not exist or cannot be ids.
            let (set_id, permission_id) = match round % 5 {
                0 => ("nope".to_string(), "%2e%2e".to_string()),
                _ => (set.clone(), permission.clone()),
            };
            let path = template
                .replace("{set}", &set_id)
                .replace("{permission}", &permission_id);
            let query = generator.query();
            let path = if query.is_empty() {
                path
            } else {
                format!("{path}?{query}")
            };
            let mut request = da(method.clone(), &path);
            if method != Method::GET && method != Method::DELETE {
                request = request
                    .header("content-type", "application/json")
                    .body(generator.body());
            }
            let (status, body) = send(request).await;
            tried += 1;
            assert!(status.as_u16() < 500, "{method} {path}: {status} {body}");
            if status.is_client_error() {
                assert!(
                    body["error_code"].as_str().is_some_and(|c| !c.is_empty())
                        && body["error_msg"].as_str().is_some_and(|m| !m.is_empty()),
                    "{method} {path}: {status} not in the DataArts envelope: {body}"
                );
            }
        }
    }
    eprintln!(
        "DataArts: {tried} generated requests, no server error, every refusal in its envelope"
    );
}
