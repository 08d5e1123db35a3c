//! The property that derived state has one owner: random sequences of operations through
//! all four surfaces (DataArts permission sets, Segment permissions and groups, SlashID
//! roles and person permissions, native grants, users and refused edits of what a surface
//! owns), and after each one, what every vendor surface lists is exactly what the native
//! check enforces. Each vendor's listings are read back and evaluated by a model of its own
//! documented meaning (a DataArts DENY wins over its ALLOWs; a Segment role on the
//! workspace covers every source; a SlashID person holds its roles' permissions and its
//! own), for every user and question of a fixed universe, and compared with `/check`.
//!
//! The seeds are fixed so that a failure reproduces; `GRANTD_AGREEMENT_SEEDS=a,b,...`
//! runs others.

use std::collections::BTreeSet;

use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{send, spawn_app, TestApp};

const USERS: [&str; 3] = ["u0", "u1", "u2"];
const GROUP: &str = "g0";
const SOURCES: [&str; 2] = ["s1", "s2"];
const TABLES: [&str; 2] = ["orders", "items"];
const DATA_ACTIONS: [&str; 2] = ["SELECT", "INSERT"];
/// Segment's Source Admin and Source Read-only, with their actions.
const SEGMENT_ROLES: [(&str, &[&str]); 2] = [
    (
        "gpEiJaZ0Gq7LuWXs1iwcmiyl6yE",
        &["source.read", "source.write"],
    ),
    ("he8Skmpd8OFfYgbgpvhpih0fAHO", &["source.read"]),
];
const SLASHID_PERMISSIONS: [&str; 2] = ["docs.read", "docs.write"];
const SLASHID_ROLES: [&str; 2] = ["reader", "writer"];
const STEPS: usize = 30;

/// xorshift64*: small, seeded, the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    /// A non-empty subset, in order.
    fn some<T: Copy>(&mut self, items: &[T]) -> Vec<T> {
        loop {
            let chosen: Vec<T> = items.iter().copied().filter(|_| self.chance(50)).collect();
            if !chosen.is_empty() {
                return chosen;
            }
        }
    }
}

struct World<'a> {
    app: &'a TestApp,
    t: String,
    token: String,
    rng: Rng,
    log: Vec<String>,
}

impl World<'_> {
    fn da(&self, method: Method, path: &str) -> RequestBuilder {
        self.app
            .anonymous(method, &format!("/v1/{}/security{path}", self.t))
            .header("X-Auth-Token", &self.token)
            .header("workspace", "ws-1")
    }

    fn seg(&self, method: Method, path: &str) -> RequestBuilder {
        self.app
            .as_token(&self.token, method, &format!("/segment{path}"))
    }

    fn sid(&self, method: Method, path: &str) -> RequestBuilder {
        self.app
            .anonymous(method, &format!("/slashid{path}"))
            .header("SlashID-API-Key", &self.token)
            .header("SlashID-OrgID", &self.t)
    }

    fn native(&self, method: Method, path: &str) -> RequestBuilder {
        self.app
            .op(method, &format!("/v1/tenants/{}{path}", self.t))
    }

    /// Sends an operation of the sequence: refusals are part of the game, server errors
    /// are not.
    async fn apply(&mut self, what: String, request: RequestBuilder) -> (StatusCode, Value) {
        let (status, body) = send(request).await;
        assert!(
            !status.is_server_error(),
            "{what}: {status} {body}\nafter: {:#?}",
            self.log
        );
        if status.is_client_error() {
            self.log.push(format!("{what} -> {status} {body}"));
        } else {
            self.log.push(format!("{what} -> {status}"));
        }
        (status, body)
    }

    async fn read(&self, request: RequestBuilder) -> Value {
        let (status, body) = send(request).await;
        assert_eq!(status, StatusCode::OK, "{body}\nafter: {:#?}", self.log);
        body
    }

    async fn sets(&self) -> Vec<Value> {
        let body = self
            .read(self.da(Method::GET, "/permission-sets?limit=100"))
            .await;
        body["permission_sets"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    async fn set_items(&self, set: &str, what: &str, list: &str) -> Vec<Value> {
        let path = format!("/permission-sets/{set}/{what}?limit=100");
        let body = self.read(self.da(Method::GET, &path)).await;
        body[list].as_array().cloned().unwrap_or_default()
    }

    async fn group_members(&self) -> BTreeSet<String> {
        let body = self
            .read(self.native(Method::GET, &format!("/groups/{GROUP}/members")))
            .await;
        body["items"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| m["member"]["id"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    async fn allowed(&self, user: &str, action: &str, on: Value) -> bool {
        let mut check = json!({"subject": {"type": "user", "id": user}, "action": action,
                               "consistency": {"mode": "fully_consistent"}});
        for (k, v) in on.as_object().expect("object") {
            check[k] = v.clone();
        }
        let body = self
            .read(self.native(Method::POST, "/check").json(&check))
            .await;
        body["allowed"].as_bool().expect("allowed")
    }

    async fn step(&mut self) {
        let user = self.rng.pick(&USERS);
        match self.rng.below(16) {
            0 => {
                let sets = self.sets().await;
                let mut body = json!({"name": format!("set{}", self.log.len())});
                if !sets.is_empty() && self.rng.chance(40) {
                    body["parent_id"] = sets[self.rng.below(sets.len())]["id"].clone();
                }
                let request = self.da(Method::POST, "/permission-sets").json(&body);
                self.apply(format!("dataarts create set {body}"), request)
                    .await;
            }
            1 | 2 => {
                let Some(set) = self.any_set().await else {
                    return;
                };
                let mut p = json!({
                    "permission_type": if self.rng.chance(20) { "DENY" } else { "ALLOW" },
                    "permission_actions": self.rng.some(&DATA_ACTIONS),
                    "datasource_type": "DWS", "cluster_id": "c1", "database_name": "sales",
                });
                if self.rng.chance(60) {
                    p["schema_name"] = json!("public");
                    p["table_name"] = json!(self.rng.pick(&TABLES));
                }
                let path = format!("/permission-sets/{set}/permissions");
                let request = self.da(Method::POST, &path).json(&p);
                self.apply(format!("dataarts add to {set}: {p}"), request)
                    .await;
            }
            3 => {
                let Some((set, id)) = self.any_item("permissions", "permissions").await else {
                    return;
                };
                let actions = self.rng.some(&DATA_ACTIONS);
                let path = format!("/permission-sets/{set}/permissions/{id}");
                let request = self
                    .da(Method::PUT, &path)
                    .json(&json!({"permission_actions": actions}));
                self.apply(format!("dataarts narrow {id} to {actions:?}"), request)
                    .await;
            }
            4 => {
                let Some((set, id)) = self.any_item("permissions", "permissions").await else {
                    return;
                };
                let path = format!("/permission-sets/{set}/permissions/batch-delete");
                let request = self.da(Method::POST, &path).json(&json!({"ids": [id]}));
                self.apply(format!("dataarts delete permission {id}"), request)
                    .await;
            }
            5 | 6 => {
                let Some(set) = self.any_set().await else {
                    return;
                };
                let member = if self.rng.chance(30) {
                    json!({"member_type": "USER_GROUP", "member_id": GROUP})
                } else {
                    json!({"member_type": "USER", "member_id": user})
                };
                let path = format!("/permission-sets/{set}/members");
                let request = self.da(Method::POST, &path).json(&member);
                self.apply(format!("dataarts member {member} of {set}"), request)
                    .await;
            }
            7 => {
                let Some((set, id)) = self.any_item("members", "permission_set_members").await
                else {
                    return;
                };
                let path = format!("/permission-sets/{set}/members/batch-delete");
                let request = self.da(Method::POST, &path).json(&json!({"ids": [id]}));
                self.apply(format!("dataarts remove member {id}"), request)
                    .await;
            }
            8 => {
                let Some(set) = self.any_set().await else {
                    return;
                };
                let request = self.da(Method::DELETE, &format!("/permission-sets/{set}"));
                self.apply(format!("dataarts delete set {set}"), request)
                    .await;
            }
            9 | 10 => {
                let (role, _) = self.rng.pick(&SEGMENT_ROLES);
                let resource = if self.rng.chance(30) {
                    json!({"id": self.t, "type": "WORKSPACE"})
                } else {
                    json!({"id": self.rng.pick(&SOURCES), "type": "SOURCE"})
                };
                let subject = if self.rng.chance(30) {
                    format!("/groups/{GROUP}")
                } else {
                    format!("/users/{user}")
                };
                let method = if self.rng.chance(70) {
                    Method::POST
                } else {
                    Method::PUT
                };
                let body = json!({"permissions": [{"roleId": role, "resources": [resource]}]});
                let request = self
                    .seg(method.clone(), &format!("{subject}/permissions"))
                    .json(&body);
                self.apply(format!("segment {method} {subject} {body}"), request)
                    .await;
            }
            11 => {
                let email = format!("{user}@example.com");
                let request = if self.rng.chance(60) {
                    self.seg(Method::POST, &format!("/groups/{GROUP}/users"))
                        .json(&json!({"emails": [email]}))
                } else {
                    self.seg(
                        Method::DELETE,
                        &format!("/group/{GROUP}/users?emails={email}"),
                    )
                };
                self.apply(format!("segment group membership of {email}"), request)
                    .await;
            }
            12 => {
                let role = self.rng.pick(&SLASHID_ROLES);
                let permissions = self.rng.some(&SLASHID_PERMISSIONS);
                let request = self
                    .sid(Method::PATCH, &format!("/rbac/roles/{role}"))
                    .json(&json!({"permissions": permissions}));
                self.apply(format!("slashid role {role} = {permissions:?}"), request)
                    .await;
            }
            13 => {
                let roles: Vec<String> = SLASHID_ROLES
                    .iter()
                    .filter(|_| self.rng.chance(50))
                    .map(|r| format!("{}/{r}", self.t))
                    .collect();
                let request = self
                    .sid(Method::PUT, &format!("/persons/{user}/roles"))
                    .json(&json!({"roles": roles}));
                self.apply(format!("slashid roles of {user} = {roles:?}"), request)
                    .await;
            }
            14 => {
                let permissions: Vec<&str> = SLASHID_PERMISSIONS
                    .iter()
                    .copied()
                    .filter(|_| self.rng.chance(50))
                    .collect();
                let path = format!("/persons/{user}/additional-permissions");
                let request = self
                    .sid(Method::PUT, &path)
                    .json(&json!({"permissions": permissions}));
                self.apply(
                    format!("slashid permissions of {user} = {permissions:?}"),
                    request,
                )
                .await;
            }
            _ => self.native_step(user).await,
        }
    }

    /// A native write: an edit of a grant a surface owns (always refused), a grant of a
    /// Segment role made natively (which Segment lists), or a user deleted and re-created.
    async fn native_step(&mut self, user: &str) {
        let grants = self
            .read(self.native(Method::GET, "/grants?limit=1000"))
            .await;
        let grants = grants["items"].as_array().cloned().unwrap_or_default();
        let derived: Vec<&Value> = grants.iter().filter(|g| g["origin"].is_string()).collect();
        match self.rng.below(4) {
            0 if !derived.is_empty() => {
                let id = derived[self.rng.below(derived.len())]["id"]
                    .as_str()
                    .expect("id")
                    .to_string();
                let request = if self.rng.chance(50) {
                    self.native(Method::DELETE, &format!("/grants/{id}"))
                } else {
                    self.native(Method::PATCH, &format!("/grants/{id}"))
                        .json(&json!({"target": {"type": "tenant"}}))
                };
                let (status, body) = self
                    .apply(format!("native edit of derived {id}"), request)
                    .await;
                assert_eq!(status, StatusCode::CONFLICT, "{body}");
                assert_eq!(body["error"]["code"], "derived_object", "{body}");
            }
            1 => {
                let (role, _) = self.rng.pick(&SEGMENT_ROLES);
                let grant = json!({"subject": {"type": "user", "id": user},
                    "privilege": {"type": "role", "id": role},
                    "target": {"type": "resource", "resource": {"type": "SOURCE", "id": self.rng.pick(&SOURCES)}},
                    "effect": "ALLOW"});
                let request = self.native(Method::POST, "/grants").json(&grant);
                self.apply(format!("native grant {grant}"), request).await;
            }
            2 => {
                let own: Vec<&Value> = grants.iter().filter(|g| g["origin"].is_null()).collect();
                if own.is_empty() {
                    return;
                }
                let id = own[self.rng.below(own.len())]["id"]
                    .as_str()
                    .expect("id")
                    .to_string();
                let request = self.native(Method::DELETE, &format!("/grants/{id}"));
                self.apply(format!("native delete grant {id}"), request)
                    .await;
            }
            _ => {
                let request = self.native(Method::DELETE, &format!("/users/{user}"));
                self.apply(format!("native delete user {user}"), request)
                    .await;
                let request = self
                    .native(Method::POST, "/users")
                    .json(&json!({"id": user, "email": format!("{user}@example.com")}));
                self.apply(format!("native re-create user {user}"), request)
                    .await;
            }
        }
    }

    async fn any_set(&mut self) -> Option<String> {
        let sets = self.sets().await;
        if sets.is_empty() {
            return None;
        }
        Some(sets[self.rng.below(sets.len())]["id"].as_str()?.to_string())
    }

    /// A random permission or member record of a random set: (set, id).
    async fn any_item(&mut self, what: &str, list: &str) -> Option<(String, String)> {
        let set = self.any_set().await?;
        let items = self.set_items(&set, what, list).await;
        if items.is_empty() {
            return None;
        }
        let id = items[self.rng.below(items.len())]["id"]
            .as_str()?
            .to_string();
        Some((set, id))
    }

    /// Every question of the universe, answered from the vendors' listings and by the
    /// check; panics on the first disagreement, with the operations that led to it.
    async fn agree(&self) {
        let in_group = self.group_members().await;
        // DataArts: the permissions of the sets each user is a member of.
        let mut data = Vec::new(); // (user, effect, actions, table or None)
        for set in self.sets().await {
            let id = set["id"].as_str().expect("id");
            let members = self
                .set_items(id, "members", "permission_set_members")
                .await;
            let holders: Vec<&str> = USERS
                .iter()
                .copied()
                .filter(|u| {
                    members.iter().any(|m| {
                        (m["member_type"] == "USER" && m["member_id"] == *u)
                            || (m["member_type"] == "USER_GROUP"
                                && m["member_id"] == GROUP
                                && in_group.contains(*u))
                    })
                })
                .collect();
            for p in self.set_items(id, "permissions", "permissions").await {
                for u in &holders {
                    data.push((u.to_string(), p.clone()));
                }
            }
        }
        for user in USERS {
            for table in TABLES {
                for action in DATA_ACTIONS {
                    let covering = |effect: &str| {
                        data.iter().any(|(u, p)| {
                            u == user
                                && p["permission_type"] == effect
                                && p["permission_actions"]
                                    .as_array()
                                    .is_some_and(|a| a.iter().any(|x| x == action || x == "ALL"))
                                && (p["table_name"].is_null() || p["table_name"] == table)
                        })
                    };
                    let listed = covering("ALLOW") && !covering("DENY");
                    let path = format!("dws/c1/sales/public/{table}");
                    let checked = self.allowed(user, action, json!({"data_path": path})).await;
                    assert_eq!(
                        listed, checked,
                        "DataArts lists {user} {action} on {path} as {listed}, the check says {checked}\n{:#?}",
                        self.log
                    );
                }
            }
        }
        // Segment: the user's permissions and its group's.
        let group = self
            .read(self.seg(Method::GET, &format!("/groups/{GROUP}")))
            .await;
        let group_permissions = group["data"]["userGroup"]["permissions"].clone();
        for user in USERS {
            let mine = self
                .read(self.seg(Method::GET, &format!("/users/{user}")))
                .await;
            let mut permissions: Vec<Value> = mine["data"]["user"]["permissions"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if in_group.contains(user) {
                permissions.extend(group_permissions.as_array().cloned().unwrap_or_default());
            }
            for source in SOURCES {
                for action in ["source.read", "source.write"] {
                    let listed = permissions.iter().any(|p| {
                        let actions = SEGMENT_ROLES
                            .iter()
                            .find(|(id, _)| p["roleId"] == *id)
                            .map_or(&[][..], |(_, a)| *a);
                        actions.contains(&action)
                            && p["resources"].as_array().is_some_and(|rs| {
                                rs.iter().any(|r| {
                                    r["type"] == "WORKSPACE"
                                        || (r["type"] == "SOURCE" && r["id"] == source)
                                })
                            })
                    });
                    let on = json!({"resource": {"type": "SOURCE", "id": source}});
                    let checked = self.allowed(user, action, on).await;
                    assert_eq!(
                        listed, checked,
                        "Segment lists {user} {action} on SOURCE {source} as {listed}, the check says {checked}\n{:#?}",
                        self.log
                    );
                }
            }
        }
        // SlashID: the person's roles' permissions and its own.
        for user in USERS {
            let roles = self
                .read(self.sid(Method::GET, &format!("/persons/{user}/roles")))
                .await;
            let mut held: BTreeSet<String> = BTreeSet::new();
            for role in roles["result"].as_array().into_iter().flatten() {
                let name = role.as_str().expect("name");
                let name = name.strip_prefix(&format!("{}/", self.t)).unwrap_or(name);
                let role = self
                    .read(self.sid(Method::GET, &format!("/rbac/roles/{name}")))
                    .await;
                for p in role["result"]["permissions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    held.insert(p.as_str().unwrap_or_default().to_string());
                }
            }
            let path = format!("/persons/{user}/additional-permissions");
            let own = self.read(self.sid(Method::GET, &path)).await;
            for p in own["result"].as_array().into_iter().flatten() {
                held.insert(p.as_str().unwrap_or_default().to_string());
            }
            for permission in SLASHID_PERMISSIONS {
                let listed = held.contains(permission);
                let on = json!({"resource": {"type": "document", "id": "any"}});
                let checked = self.allowed(user, permission, on).await;
                assert_eq!(
                    listed, checked,
                    "SlashID lists {user} {permission} as {listed}, the check says {checked}\n{:#?}",
                    self.log
                );
            }
        }
    }
}

async fn world(app: &TestApp, seed: u64) -> World<'_> {
    let t = app.tenant().await;
    let token = app.token(&t, "admin").await;
    for user in USERS {
        app.create(
            &t,
            "users",
            json!({"id": user, "email": format!("{user}@example.com")}),
        )
        .await;
    }
    app.create(&t, "groups", json!({"id": GROUP})).await;
    let world = World {
        app,
        t,
        token,
        rng: Rng(seed.max(1)),
        log: Vec::new(),
    };
    for name in SLASHID_PERMISSIONS {
        let request = world
            .sid(Method::POST, "/rbac/permissions")
            .json(&json!({"name": name}));
        let (status, body) = send(request).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }
    for (role, permission) in SLASHID_ROLES.iter().zip(SLASHID_PERMISSIONS) {
        let body = json!({"name": role, "permissions": [permission]});
        let (status, body) = send(world.sid(Method::POST, "/rbac/roles").json(&body)).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }
    world
}

#[tokio::test]
async fn every_vendor_listing_agrees_with_the_check_after_every_operation() {
    let seeds: Vec<u64> = match std::env::var("GRANTD_AGREEMENT_SEEDS") {
        Ok(given) => given
            .split(',')
            .filter_map(|s| s.trim().parse().ok())
            .collect(),
        Err(_) => vec![1, 2, 3, 4, 5, 6],
    };
    let app = spawn_app().await;
    for seed in seeds {
        let mut world = world(&app, seed).await;
        world.agree().await;
        for _ in 0..STEPS {
            world.step().await;
            world.agree().await;
        }
        // Not a sequence of refusals: most operations changed something.
        let done = world
            .log
            .iter()
            .filter(|l| l.ends_with(" OK") || l.contains("-> 20"))
            .count();
        eprintln!(
            "seed {seed}: {done} of {} operations written\n{:#?}",
            world.log.len(),
            world.log
        );
        assert!(done * 2 > world.log.len(), "{:#?}", world.log);
    }
}
