//! The tenant the load runs against, written through the native API (and the SlashID and
//! DataArts surfaces for their own objects): users in groups, a tree of resources, role
//! and group grants with a DENY, a tenant token and a DataArts access key.

use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

/// What the operations need to know about the tenant.
pub struct Fixture {
    pub base: String,
    pub tenant: String,
    /// An admin token of the tenant: native, Segment and SlashID requests use it.
    pub token: String,
    pub access_key: String,
    pub secret_key: String,
    pub users: usize,
    pub docs: usize,
    /// SlashID person ids, one per user.
    pub persons: Vec<String>,
    /// SlashID permission names a person's set is drawn from.
    pub slashid_permissions: Vec<String>,
    /// The DataArts permission set the DataArts writes go to.
    pub permission_set: String,
}

pub struct Size {
    pub users: usize,
    pub groups: usize,
    pub folders: usize,
    pub docs: usize,
}

async fn call(
    client: &Client,
    base: &str,
    token: &str,
    method: Method,
    path: &str,
    body: Value,
) -> Result<Value, String> {
    let response = client
        .request(method.clone(), format!("{base}{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .map_err(|e| format!("{method} {path}: {e}"))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(format!("{method} {path}: {status} {text}"));
    }
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Creates the objects of one collection, eight requests at a time.
async fn create_all(
    client: &Client,
    base: &str,
    token: &str,
    path: String,
    bodies: Vec<Value>,
) -> Result<(), String> {
    let mut tasks = tokio::task::JoinSet::new();
    for chunk in bodies.chunks(bodies.len().div_ceil(8).max(1)) {
        let (client, base, token, path, chunk) = (
            client.clone(),
            base.to_string(),
            token.to_string(),
            path.clone(),
            chunk.to_vec(),
        );
        tasks.spawn(async move {
            for body in chunk {
                call(&client, &base, &token, Method::POST, &path, body).await?;
            }
            Ok::<(), String>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.map_err(|e| e.to_string())??;
    }
    Ok(())
}

pub async fn build(
    client: &Client,
    base: &str,
    operator: &str,
    size: &Size,
) -> Result<Fixture, String> {
    let tenant = format!("load-{}", std::process::id());
    let t = format!("/v1/tenants/{tenant}");
    let op = |method: Method, path: String, body: Value| {
        let client = client.clone();
        async move { call(&client, base, operator, method, &path, body).await }
    };
    op(Method::POST, "/v1/tenants".into(), json!({"id": tenant})).await?;
    let token = op(
        Method::POST,
        format!("{t}/tokens"),
        json!({"scopes": ["admin"]}),
    )
    .await?["token"]
        .as_str()
        .ok_or("no token in the answer")?
        .to_string();
    let key = op(
        Method::POST,
        format!("{t}/access-keys"),
        json!({"scopes": ["admin"]}),
    )
    .await?;
    let access_key = key["access_key"]
        .as_str()
        .ok_or("no access key")?
        .to_string();
    let secret_key = key["secret_key"]
        .as_str()
        .ok_or("no secret key")?
        .to_string();

    let groups = (0..size.groups)
        .map(|g| json!({"id": format!("g{g}")}))
        .collect();
    create_all(client, base, operator, format!("{t}/groups"), groups).await?;
    for role in [
        json!({"id": "viewer", "actions": ["read"]}),
        json!({"id": "editor", "actions": ["write"], "includes": ["viewer"]}),
    ] {
        op(Method::POST, format!("{t}/roles"), role).await?;
    }
    let users = (0..size.users)
        .map(|u| json!({"id": format!("u{u}"), "email": format!("u{u}@load.example")}))
        .collect();
    create_all(client, base, operator, format!("{t}/users"), users).await?;
    for g in 0..size.groups {
        let members = (0..size.users)
            .filter(|u| u % size.groups == g)
            .map(|u| json!({"member": {"type": "user", "id": format!("u{u}")}}))
            .collect();
        create_all(
            client,
            base,
            operator,
            format!("{t}/groups/g{g}/members"),
            members,
        )
        .await?;
    }
    let folders = (0..size.folders)
        .map(|f| json!({"type": "folder", "id": format!("f{f}")}))
        .collect();
    create_all(client, base, operator, format!("{t}/resources"), folders).await?;
    let docs = (0..size.docs)
        .map(|d| {
            json!({"type": "doc", "id": format!("d{d}"),
                   "parent": {"type": "folder", "id": format!("f{}", d % size.folders)},
                   "labels": {"env": match d % 2 { 0 => "prod", _ => "dev" }}})
        })
        .collect();
    create_all(client, base, operator, format!("{t}/resources"), docs).await?;
    // Each group may read one folder (and so its documents), and edit another; nobody
    // may write production documents.
    let mut grants: Vec<Value> = (0..size.groups)
        .flat_map(|g| {
            [("viewer", g), ("editor", g + 1)].map(|(role, f)| {
                json!({"subject": {"type": "group", "id": format!("g{g}")},
                       "privilege": {"type": "role", "id": role},
                       "target": {"type": "resource", "resource": {"type": "folder", "id": format!("f{}", f % size.folders)}},
                       "effect": "ALLOW"})
            })
        })
        .collect();
    grants.push(json!({"subject": {"type": "role", "id": "editor"},
                       "privilege": {"type": "actions", "actions": ["write"]},
                       "target": {"type": "labels", "resource_type": "doc", "labels": {"env": "prod"}},
                       "effect": "DENY"}));
    create_all(client, base, operator, format!("{t}/grants"), grants).await?;

    // SlashID: a catalog of permissions and one person per user (persons are users).
    let slashid_permissions: Vec<String> = (0..16).map(|p| format!("reports.read.{p}")).collect();
    for name in &slashid_permissions {
        let response = client
            .post(format!("{base}/slashid/rbac/permissions"))
            .header("SlashID-API-Key", &token)
            .header("SlashID-OrgID", &tenant)
            .json(&json!({"name": name}))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if response.status() != StatusCode::NO_CONTENT {
            return Err(format!("SlashID permission {name}: {}", response.status()));
        }
    }
    let persons = (0..size.users).map(|u| format!("u{u}")).collect();

    // DataArts: a permission set in workspace ws-load, with the first group as member.
    let set = client
        .post(format!("{base}/v1/{tenant}/security/permission-sets"))
        .header("X-Auth-Token", &token)
        .header("workspace", "ws-load")
        .json(&json!({"name": "load"}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let set: Value = set.json().await.map_err(|e| e.to_string())?;
    let permission_set = set["id"]
        .as_str()
        .ok_or(format!("no permission set: {set}"))?
        .to_string();

    Ok(Fixture {
        base: base.to_string(),
        tenant,
        token,
        access_key,
        secret_key,
        users: size.users,
        docs: size.docs,
        persons,
        slashid_permissions,
        permission_set,
    })
}
