//! The isolation scenario (`--scenario isolation`): one tenant hammers changes to a deep
//! graph while another revokes grants, and what a user of the other tenant sees is timed.
//!
//! The busy tenant holds a chain of `depth` roles (each including the one before) held by
//! `users` users, and a chain of `depth` groups with those users at the bottom. Writers
//! change the bottom role's actions and move a user in and out of the bottom group, as fast
//! as the server takes them: each change reaches the whole chain. Meanwhile, every 100 ms,
//! the quiet tenant revokes a grant and checks (`minimize_latency`) until the revocation
//! shows, and `/healthz` is timed every 50 ms. Reported: the revocation's p50/p99/max from
//! the acknowledged delete to the first check that no longer allows, and `/healthz`'s.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

pub struct Settings {
    pub url: String,
    pub admin_token: String,
    pub depth: usize,
    pub users: usize,
    pub writers: usize,
    pub secs: u64,
}

struct Api {
    client: Client,
    url: String,
    token: String,
}

impl Api {
    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value, String> {
        let mut request = self
            .client
            .request(method.clone(), format!("{}{path}", self.url))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| e.to_string())?;
        let status = response.status();
        let text = response.text().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!("{method} {path}: {status} {text}"));
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value, String> {
        self.send(Method::POST, path, Some(body)).await
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn summary(name: &str, mut samples: Vec<Duration>) -> String {
    samples.sort();
    format!(
        "{name}: {} samples, p50 {:.2?}, p99 {:.2?}, max {:.2?}",
        samples.len(),
        percentile(&samples, 0.5),
        percentile(&samples, 0.99),
        samples.last().copied().unwrap_or_default()
    )
}

/// Builds both tenants, runs the scenario, and returns the report's lines.
pub async fn run(s: &Settings) -> Result<Vec<String>, String> {
    let api = Arc::new(Api {
        client: Client::new(),
        url: s.url.clone(),
        token: s.admin_token.clone(),
    });
    let stamp = std::process::id();
    let busy = format!("busy-{stamp}");
    let quiet = format!("quiet-{stamp}");
    for t in [&busy, &quiet] {
        api.post("/v1/tenants", json!({"id": t})).await?;
    }
    let started = Instant::now();
    let b = format!("/v1/tenants/{busy}");
    api.post(&format!("{b}/roles"), json!({"id": "r0", "actions": ["a"]}))
        .await?;
    api.post(&format!("{b}/groups"), json!({"id": "g0"}))
        .await?;
    for i in 1..s.depth {
        api.post(
            &format!("{b}/roles"),
            json!({"id": format!("r{i}"), "includes": [format!("r{}", i - 1)]}),
        )
        .await?;
        api.post(&format!("{b}/groups"), json!({"id": format!("g{i}")}))
            .await?;
        api.post(
            &format!("{b}/groups/g{}/members", i - 1),
            json!({"member": {"type": "group", "id": format!("g{i}")}}),
        )
        .await?;
    }
    let top = format!("r{}", s.depth - 1);
    let bottom = format!("g{}", s.depth - 1);
    for u in 0..s.users {
        let user = format!("u{u}");
        api.post(&format!("{b}/users"), json!({"id": user})).await?;
        api.post(
            &format!("{b}/role-assignments"),
            json!({"subject": {"type": "user", "id": user}, "role": top}),
        )
        .await?;
        api.post(
            &format!("{b}/groups/{bottom}/members"),
            json!({"member": {"type": "user", "id": user}}),
        )
        .await?;
    }
    let q = format!("/v1/tenants/{quiet}");
    api.post(&format!("{q}/users"), json!({"id": "u"})).await?;
    let mut lines = vec![format!(
        "built: chains of {} roles and {} groups, {} users, in {:.1} s",
        s.depth,
        s.depth,
        s.users,
        started.elapsed().as_secs_f64()
    )];

    let stop = Arc::new(AtomicBool::new(false));
    let changes = Arc::new(AtomicU64::new(0));
    let mut writers = Vec::new();
    for w in 0..s.writers {
        let (api, stop, changes, b) = (api.clone(), stop.clone(), changes.clone(), b.clone());
        let bottom = bottom.clone();
        writers.push(tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let result = if n.is_multiple_of(2) {
                    api.send(
                        Method::PATCH,
                        &format!("{b}/roles/r0"),
                        Some(json!({"actions": [format!("a{w}-{n}")]})),
                    )
                    .await
                } else {
                    let path = format!("{b}/groups/{bottom}/members/user/u{w}");
                    let gone = api.send(Method::DELETE, &path, None).await;
                    match gone {
                        Ok(_) => api.send(Method::PUT, &path, Some(json!({}))).await,
                        Err(e) => Err(e),
                    }
                };
                if let Err(e) = result {
                    eprintln!("grantd-load: busy writer: {e}");
                }
                changes.fetch_add(1, Ordering::Relaxed);
                n += 1;
            }
        }));
    }

    let health = {
        let (client, url, stop) = (api.client.clone(), s.url.clone(), stop.clone());
        tokio::spawn(async move {
            let mut samples = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let at = Instant::now();
                let ok = client
                    .get(format!("{url}/healthz"))
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == StatusCode::OK);
                if ok {
                    samples.push(at.elapsed());
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            samples
        })
    };

    let mut revocations = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(s.secs);
    let check = json!({"subject": {"type": "user", "id": "u"}, "action": "read",
                       "resource": {"type": "doc", "id": "d"}});
    while Instant::now() < deadline {
        let grant = api
            .post(
                &format!("{q}/grants"),
                json!({"subject": {"type": "user", "id": "u"},
                       "privilege": {"type": "actions", "actions": ["read"]},
                       "target": {"type": "tenant"}, "effect": "ALLOW"}),
            )
            .await?;
        let id = grant["id"].as_str().unwrap_or_default().to_string();
        // Allowed first (waiting for the grant to apply), then revoked.
        while api.post(&format!("{q}/check"), check.clone()).await?["allowed"] != true {}
        api.send(Method::DELETE, &format!("{q}/grants/{id}"), None)
            .await?;
        let revoked = Instant::now();
        while api.post(&format!("{q}/check"), check.clone()).await?["allowed"] == true {}
        revocations.push(revoked.elapsed());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        let _ = w.await;
    }
    let health = health.await.unwrap_or_default();
    lines.push(format!(
        "busy tenant: {} changes to its chains in {} s ({:.0}/s)",
        changes.load(Ordering::Relaxed),
        s.secs,
        changes.load(Ordering::Relaxed) as f64 / s.secs as f64
    ));
    lines.push(summary(
        "quiet tenant's revocation reaching its checks",
        revocations,
    ));
    lines.push(summary("/healthz", health));
    Ok(lines)
}
