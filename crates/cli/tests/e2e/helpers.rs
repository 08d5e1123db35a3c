//! Starting grantd for a test, in-process or as the real binary, and talking to it.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use grantd_server::{Application, Config};
use grantd_store::testing;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub const OPERATOR: &str = "operator-secret-for-tests-kept-32-characters-or-more";

/// A grantd serving on an ephemeral port in this process.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
}

/// Starts grantd on the embedded store in a scratch folder.
pub async fn spawn_app() -> TestApp {
    spawn_with(|_| {}).await
}

/// Starts grantd with the configuration adjusted by `adjust`.
pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let mut config = Config {
        listen: "127.0.0.1:0".parse().expect("addr"),
        data_dir: testing::scratch_dir("e2e"),
        admin_token: Some(OPERATOR.into()),
        ..Config::default()
    };
    adjust(&mut config);
    let app = Application::build(config).await.expect("server starts");
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    TestApp {
        base,
        client: reqwest::Client::new(),
    }
}

impl TestApp {
    /// A request as the operator.
    pub fn op(&self, method: Method, path: &str) -> RequestBuilder {
        self.as_token(OPERATOR, method, path)
    }

    pub fn as_token(&self, token: &str, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token)
    }

    pub fn anonymous(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, format!("{}{path}", self.base))
    }

    /// The Prometheus text `/metrics` serves.
    pub async fn metrics(&self) -> String {
        self.anonymous(Method::GET, "/metrics")
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text")
    }

    /// Creates a tenant with a unique id and returns it.
    pub async fn tenant(&self) -> String {
        let id = testing::unique_name("t");
        let response = self
            .op(Method::POST, "/v1/tenants")
            .json(&json!({"id": id}))
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), StatusCode::CREATED);
        id
    }

    /// Issues a token of `tenant` with one scope and returns its secret.
    pub async fn token(&self, tenant: &str, scope: &str) -> String {
        let (status, body) = send(
            self.op(Method::POST, &format!("/v1/tenants/{tenant}/tokens"))
                .json(&json!({"scopes": [scope]})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["token"].as_str().expect("secret").to_string()
    }

    /// POSTs `body` to a tenant collection as the operator and expects it created.
    pub async fn create(&self, tenant: &str, collection: &str, body: Value) -> Value {
        let (status, created) = send(
            self.op(Method::POST, &format!("/v1/tenants/{tenant}/{collection}"))
                .json(&body),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "creating in {collection}: {created}"
        );
        created
    }

    /// The tenant's first grant whose `origin` starts with `prefix`: one a surface wrote.
    pub async fn grant_with_origin(&self, tenant: &str, prefix: &str) -> Value {
        let (status, grants) =
            send(self.op(Method::GET, &format!("/v1/tenants/{tenant}/grants"))).await;
        assert_eq!(status, StatusCode::OK, "{grants}");
        grants["items"]
            .as_array()
            .and_then(|g| {
                g.iter()
                    .find(|g| g["origin"].as_str().is_some_and(|o| o.starts_with(prefix)))
            })
            .cloned()
            .unwrap_or_else(|| panic!("no grant of origin {prefix}: {grants}"))
    }

    pub async fn revision(&self, tenant: &str) -> i64 {
        let (status, body) = send(self.op(
            Method::GET,
            &format!("/v1/tenants/{tenant}/changes?after=0&limit=1000"),
        ))
        .await;
        assert_eq!(status, StatusCode::OK);
        body["items"]
            .as_array()
            .and_then(|a| a.last())
            .map(|c| c["revision"].as_i64().unwrap_or(0))
            .unwrap_or(0)
    }
}

/// Sends a request; returns the status and the JSON body (`Null` when there is none).
pub async fn send(request: RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.expect("send");
    let status = response.status();
    (status, json_of(response).await)
}

pub async fn json_of(response: Response) -> Value {
    let text = response.text().await.expect("body");
    if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    }
}

/// Asserts a native error envelope with `code`, and returns its message.
pub fn assert_error(body: &Value, code: &str) -> String {
    assert_eq!(
        body["error"]["code"], code,
        "expected error {code}, got {body}"
    );
    let message = body["error"]["message"]
        .as_str()
        .expect("message")
        .to_string();
    assert!(!message.is_empty());
    message
}

/// The real `grantd` binary, serving until killed.
pub struct Server {
    pub child: Child,
    pub base: String,
}

/// Starts `grantd serve` on an ephemeral port with extra arguments; waits until it listens.
/// Returns the server and what it printed on stderr before listening.
pub async fn start_binary(args: &[&str]) -> (Server, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_grantd"))
        .arg("serve")
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .env("GRANTD_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn grantd");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let mut seen = Vec::new();
    let base = loop {
        let line = tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line())
            .await
            .expect("grantd starts within 30 s")
            .expect("read stderr")
            .unwrap_or_else(|| panic!("grantd exited before listening: {seen:?}"));
        if let Some(addr) = line.strip_prefix("grantd: listening on ") {
            break addr.trim().to_string();
        }
        seen.push(line);
    };
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (Server { child, base }, seen)
}

/// A request to `server` as the operator.
pub fn operator(
    client: &reqwest::Client,
    server: &Server,
    method: Method,
    path: &str,
) -> RequestBuilder {
    client
        .request(method, format!("{}{path}", server.base))
        .bearer_auth(OPERATOR)
}

/// A new tenant with user `u`, created through `server` as the operator.
pub async fn tenant_with_user(client: &reqwest::Client, server: &Server) -> String {
    let id = testing::unique_name("t");
    let (status, _) =
        send(operator(client, server, Method::POST, "/v1/tenants").json(&json!({"id": id}))).await;
    assert_eq!(status, StatusCode::CREATED);
    let users = format!("/v1/tenants/{id}/users");
    let (status, _) =
        send(operator(client, server, Method::POST, &users).json(&json!({"id": "u"}))).await;
    assert_eq!(status, StatusCode::CREATED);
    id
}

/// Runs a `grantd` subcommand to completion; returns (success, stdout, stderr).
pub async fn run_binary(args: &[&str]) -> (bool, String, String) {
    run_binary_with(args, |_| {}).await
}

/// `run_binary`, with the command's environment adjusted by `adjust`.
pub async fn run_binary_with(
    args: &[&str],
    adjust: impl FnOnce(&mut Command),
) -> (bool, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_grantd"));
    command.args(args).env("GRANTD_LOG", "warn");
    adjust(&mut command);
    let output = command.output().await.expect("run grantd");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

pub fn path_str(path: &Path) -> String {
    path.display().to_string()
}

pub fn scratch(label: &str) -> PathBuf {
    testing::scratch_dir(label)
}

/// The count of a store operation in a server's `/metrics`.
pub async fn store_calls(client: &reqwest::Client, base: &str, op: &str) -> u64 {
    let text = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let prefix = format!("grantd_store_seconds_count{{op=\"{op}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(|v| v.trim().parse().expect("a count"))
        .unwrap_or(0)
}
