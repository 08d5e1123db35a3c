//! The operations of the mixed workload and their weights: checks and lookups on the
//! native API, and reads and writes through each of the four surfaces. Writes come in
//! pairs that undo each other (grant then revoke, add then remove), so the tenant's size
//! stays the same however long the load runs: memory that grows is a leak, not data.

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use grantd_server::surfaces::dataarts::signature;
use rand::rngs::SmallRng;
use rand::Rng;
use reqwest::{Client, Method, RequestBuilder};
use serde_json::{json, Value};

use crate::fixture::Fixture;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Op {
    Check,
    CheckBatch,
    LookupResources,
    LookupSubjects,
    NativeWrite,
    SegmentRead,
    SegmentWrite,
    SlashIdCheck,
    SlashIdWrite,
    DataArtsRead,
    DataArtsWrite,
}

/// Each operation with its share of the requests, out of 100.
pub const MIX: [(Op, u32); 11] = [
    (Op::Check, 50),
    (Op::CheckBatch, 4),
    (Op::LookupResources, 4),
    (Op::LookupSubjects, 2),
    (Op::NativeWrite, 8),
    (Op::SegmentRead, 5),
    (Op::SegmentWrite, 5),
    (Op::SlashIdCheck, 6),
    (Op::SlashIdWrite, 6),
    (Op::DataArtsRead, 5),
    (Op::DataArtsWrite, 5),
];

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::Check => "native check",
            Op::CheckBatch => "native check/batch (100)",
            Op::LookupResources => "native lookup/resources",
            Op::LookupSubjects => "native lookup/subjects",
            Op::NativeWrite => "native grant write",
            Op::SegmentRead => "Segment getUser",
            Op::SegmentWrite => "Segment replacePermissionsForUser",
            Op::SlashIdCheck => "SlashID rbac/check",
            Op::SlashIdWrite => "SlashID set person permissions",
            Op::DataArtsRead => "DataArts list permissions (signed)",
            Op::DataArtsWrite => "DataArts add/delete permission (signed)",
        }
    }

    /// The short name `--only` takes.
    pub fn key(self) -> &'static str {
        match self {
            Op::Check => "check",
            Op::CheckBatch => "check-batch",
            Op::LookupResources => "lookup-resources",
            Op::LookupSubjects => "lookup-subjects",
            Op::NativeWrite => "native-write",
            Op::SegmentRead => "segment-read",
            Op::SegmentWrite => "segment-write",
            Op::SlashIdCheck => "slashid-check",
            Op::SlashIdWrite => "slashid-write",
            Op::DataArtsRead => "dataarts-read",
            Op::DataArtsWrite => "dataarts-write",
        }
    }
}

/// The operations a run sends, with their weights.
pub struct Mix(Vec<(Op, u32)>);

impl Mix {
    /// The whole mix, or only the operations named.
    pub fn only(names: &[String]) -> Result<Mix, String> {
        if names.is_empty() {
            return Ok(Mix(MIX.to_vec()));
        }
        let mut chosen = Vec::new();
        for name in names {
            let Some(entry) = MIX.iter().find(|(op, _)| op.key() == name) else {
                let known: Vec<&str> = MIX.iter().map(|(op, _)| op.key()).collect();
                return Err(format!(
                    "unknown operation {name:?}: one of {}",
                    known.join(", ")
                ));
            };
            chosen.push(*entry);
        }
        Ok(Mix(chosen))
    }

    pub fn pick(&self, rng: &mut SmallRng) -> Op {
        let total: u32 = self.0.iter().map(|(_, w)| w).sum();
        let mut roll = rng.gen_range(0..total.max(1));
        for &(op, weight) in &self.0 {
            if roll < weight {
                return op;
            }
            roll -= weight;
        }
        self.0.first().map_or(Op::Check, |(op, _)| *op)
    }
}

/// One worker's state: what its last write left behind, to undo it next time.
#[derive(Default)]
pub struct Worker {
    pub id: usize,
    grant: Option<String>,
    data_permission: Option<String>,
}

impl Worker {
    pub fn new(id: usize) -> Worker {
        Worker {
            id,
            ..Worker::default()
        }
    }

    /// Sends one operation; `Err` describes any answer that is not a success.
    pub async fn run(
        &mut self,
        op: Op,
        client: &Client,
        fx: &Fixture,
        rng: &mut SmallRng,
    ) -> Result<(), String> {
        let user = rng.gen_range(0..fx.users);
        let doc = rng.gen_range(0..fx.docs);
        let t = format!("{}/v1/tenants/{}", fx.base, fx.tenant);
        let request = match op {
            Op::Check => client.post(format!("{t}/check")).json(&check(user, doc)),
            Op::CheckBatch => {
                let checks: Vec<Value> = (0..100)
                    .map(|_| check(rng.gen_range(0..fx.users), rng.gen_range(0..fx.docs)))
                    .collect();
                client
                    .post(format!("{t}/check/batch"))
                    .json(&json!({ "checks": checks }))
            }
            Op::LookupResources => client.post(format!("{t}/lookup/resources")).json(&json!({
                "subject": {"type": "user", "id": format!("u{user}")},
                "action": "read", "resource_type": "doc", "limit": 100
            })),
            Op::LookupSubjects => client.post(format!("{t}/lookup/subjects")).json(&json!({
                "action": "read", "limit": 100,
                "resource": {"type": "doc", "id": format!("d{doc}")}
            })),
            Op::NativeWrite => match self.grant.take() {
                Some(id) => client.delete(format!("{t}/grants/{id}")),
                None => {
                    let id = format!("load-w{}", self.id);
                    self.grant = Some(id.clone());
                    client.post(format!("{t}/grants")).json(&json!({
                        "id": id,
                        "subject": {"type": "user", "id": format!("u{user}")},
                        "privilege": {"type": "actions", "actions": ["read"]},
                        "target": {"type": "resource", "resource": {"type": "doc", "id": format!("d{doc}")}},
                        "effect": "ALLOW"
                    }))
                }
            },
            Op::SegmentRead => client.get(format!("{}/segment/users/u{user}", fx.base)),
            Op::SegmentWrite => {
                // Replace the permissions of this worker's own user: a Workspace Member or
                // nothing, alternately.
                let permissions = if rng.gen_bool(0.5) {
                    json!([{"roleId": "1WDUuRLxv84rrfCNUwvkrRtkxnS",
                            "resources": [{"id": fx.tenant, "type": "WORKSPACE"}]}])
                } else {
                    json!([])
                };
                client
                    .put(format!("{}/segment/users/u{}/permissions", fx.base, self.id))
                    .json(&json!({ "permissions": permissions }))
            }
            Op::SlashIdCheck => slashid(client, fx, Method::POST, "/rbac/check").json(&json!({
                "person_id": fx.persons[user],
                "permission_name": fx.slashid_permissions[rng.gen_range(0..fx.slashid_permissions.len())]
            })),
            Op::SlashIdWrite => {
                let set: Vec<&String> = fx
                    .slashid_permissions
                    .iter()
                    .filter(|_| rng.gen_bool(0.25))
                    .collect();
                slashid(
                    client,
                    fx,
                    Method::PUT,
                    &format!("/persons/{}/permissions", fx.persons[self.id % fx.users]),
                )
                .json(&json!({ "permissions": set }))
            }
            Op::DataArtsRead => dataarts(
                client,
                fx,
                Method::GET,
                &format!("/permission-sets/{}/permissions", fx.permission_set),
                None,
            ),
            Op::DataArtsWrite => match self.data_permission.take() {
                Some(id) => dataarts(
                    client,
                    fx,
                    Method::POST,
                    &format!("/permission-sets/{}/permissions/batch-delete", fx.permission_set),
                    Some(json!({ "ids": [id] })),
                ),
                None => {
                    let created = dataarts(
                        client,
                        fx,
                        Method::POST,
                        &format!("/permission-sets/{}/permissions", fx.permission_set),
                        Some(json!({"permission_actions": ["SELECT"], "datasource_type": "HIVE",
                                    "cluster_id": "c1", "database_name": format!("db{}", self.id),
                                    "table_name": format!("t{doc}")})),
                    );
                    let body = answer(created).await?;
                    self.data_permission = body["id"].as_str().map(String::from);
                    return Ok(());
                }
            },
        };
        let request = match op {
            Op::SlashIdCheck | Op::SlashIdWrite | Op::DataArtsRead | Op::DataArtsWrite => request,
            _ => request.bearer_auth(&fx.token),
        };
        answer(request).await.map(|_| ())
    }
}

impl Worker {
    /// Undoes what the last writes left behind, so that the next phase starts clean.
    pub async fn undo(&mut self, client: &Client, fx: &Fixture) -> Result<(), String> {
        if let Some(id) = self.grant.take() {
            let t = format!("{}/v1/tenants/{}", fx.base, fx.tenant);
            answer(
                client
                    .delete(format!("{t}/grants/{id}"))
                    .bearer_auth(&fx.token),
            )
            .await?;
        }
        if let Some(id) = self.data_permission.take() {
            let path = format!(
                "/permission-sets/{}/permissions/batch-delete",
                fx.permission_set
            );
            answer(dataarts(
                client,
                fx,
                Method::POST,
                &path,
                Some(json!({ "ids": [id] })),
            ))
            .await?;
        }
        Ok(())
    }
}

fn check(user: usize, doc: usize) -> Value {
    json!({
        "subject": {"type": "user", "id": format!("u{user}")},
        "action": match doc % 3 { 0 => "write", _ => "read" },
        "resource": {"type": "doc", "id": format!("d{doc}")}
    })
}

async fn answer(request: RequestBuilder) -> Result<Value, String> {
    let response = request.send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    let body = response.bytes().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("{status}: {}", String::from_utf8_lossy(&body)));
    }
    Ok(serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn slashid(client: &Client, fx: &Fixture, method: Method, path: &str) -> RequestBuilder {
    client
        .request(method, format!("{}/slashid{path}", fx.base))
        .header("SlashID-API-Key", &fx.token)
        .header("SlashID-OrgID", &fx.tenant)
}

/// A DataArts request signed with the fixture's access key, as Huawei's SDK signs it.
fn dataarts(
    client: &Client,
    fx: &Fixture,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> RequestBuilder {
    let path = format!("/v1/{}/security{path}", fx.tenant);
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let host = fx.base.trim_start_matches("http://").to_string();
    let date = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let signed = [
        ("content-type", "application/json"),
        ("host", host.as_str()),
        ("workspace", "ws-load"),
        ("x-sdk-date", date.as_str()),
    ];
    let mut headers = HeaderMap::new();
    for (name, value) in signed {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    let authorization = signature::authorization(
        &fx.access_key,
        &fx.secret_key,
        &method,
        &path,
        &headers,
        body.as_bytes(),
    );
    client
        .request(method, format!("{}{path}", fx.base))
        .header("content-type", "application/json")
        .header("workspace", "ws-load")
        .header("x-sdk-date", date)
        .header("authorization", authorization)
        .body(body)
}
