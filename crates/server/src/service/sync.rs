//! Data-source sync passes: the privileges a source's database should hold, computed from
//! this node's decision index by the same checks `/check` answers, compared with what its
//! catalog holds, and the difference applied. Each pass's outcome is the source's status,
//! kept in the store for every node to show; a data permission's sync status is derived
//! from it, never stored apart.

use std::collections::BTreeSet;
use std::time::Duration;

use grantd_core::model::{DataPermission, DataSource, PermissionSet, SourceKind, User};
use grantd_core::ObjectKey;
use grantd_sync::{Connection, Dialect, Plan, Privilege, Scope, SyncError};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::{new_id, now_millis, Actor, Consistency, Ctx, Service, ServiceError, ServiceResult};

/// The actor of sync passes in the audit trail.
pub const SYNC_ACTOR: &str = "grantd:sync";
/// Statements a pass's audit event lists at most (it counts them all).
const AUDITED_STATEMENTS: usize = 1000;
/// Longest a pass waits to connect to its database.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What the last pass of a source did, as every node shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SyncStatus {
    /// `never` (no pass yet), `ok`, `failed`.
    pub state: String,
    /// The node that ran the last pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// When the last pass ended (ms since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_pass_at: Option<i64>,
    /// When the last pass that succeeded ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_success_at: Option<i64>,
    /// The tenant revision the database holds: every change up to it is synced.
    pub revision: i64,
    /// Statements the last pass ran.
    pub statements_applied: usize,
    /// Statements run by every pass since this source's status began.
    #[serde(default)]
    pub statements_total: u64,
    /// The drift found and repaired most recently (`+` a privilege added by hand and
    /// revoked, `-` one taken by hand and granted again), and when.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub last_drift: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_drift_at: Option<i64>,
    /// Drift repaired since this source's status began.
    pub drift_repaired: u64,
    /// Roles users map to that grantd leaves alone (not its own, or not a valid name).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<String>,
    /// The database's message when the last pass failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// The statement that failed, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_statement: Option<String>,
}

/// What a pass planned, and whether it ran it.
#[derive(Debug, Clone)]
pub struct PassReport {
    /// The tenant revision the pass decided at.
    pub revision: i64,
    pub plan: Plan,
    /// What the database holds after the pass (if applied).
    pub desired: BTreeSet<Privilege>,
    pub applied: bool,
}

fn dialect(kind: SourceKind) -> Dialect {
    match kind {
        SourceKind::Postgresql => Dialect::Postgres,
        SourceKind::Mysql => Dialect::Mysql,
    }
}

/// What marks the roles a source made as its own.
pub fn marker(tenant: &str, source: &str) -> String {
    format!("managed by grantd: data source {tenant}/{source}")
}

fn status_key(tenant: &str, source: &str) -> String {
    format!("sync/{tenant}/{source}")
}

/// A data permission's sync status, as DataArts names it, and why.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PermissionSync {
    /// `NOT_SYNC`, `SYNCING`, `SYNC_SUCCESS` or `SYNC_FAIL`.
    pub sync_status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync_msg: Option<String>,
}

/// The sources of a tenant and their statuses, to derive permissions' statuses from.
pub struct SyncStates {
    sources: Vec<(DataSource, SyncStatus)>,
    /// Each permission set's version, which its members' every change moves (removals
    /// too): a permission takes effect for a member only once that is synced too.
    sets_written: std::collections::HashMap<String, i64>,
}

impl SyncStates {
    /// The sync status of a data permission written at `version`.
    pub fn of(&self, permission: &DataPermission, version: i64) -> PermissionSync {
        let version = version.max(self.sets_written.get(&permission.set).copied().unwrap_or(0));
        let status = |s: &'static str, msg: Option<String>| PermissionSync {
            sync_status: s,
            sync_msg: msg,
        };
        if !permission.auto_sync {
            return status("NOT_SYNC", None);
        }
        if permission.datasource_type != "DWS" {
            return status(
                "SYNC_FAIL",
                Some(format!(
                    "grantd enforces this permission in its own checks; it has no connector for {} (it syncs DWS into PostgreSQL)",
                    permission.datasource_type
                )),
            );
        }
        let found = self.sources.iter().find(|(s, _)| {
            s.kind == SourceKind::Postgresql
                && s.is_cluster(
                    permission.cluster_id.as_deref(),
                    permission.cluster_name.as_deref(),
                )
        });
        let Some((source, state)) = found else {
            let cluster = permission
                .cluster_id
                .as_deref()
                .or(permission.cluster_name.as_deref())
                .unwrap_or("?");
            return status(
                "SYNC_FAIL",
                Some(format!("no PostgreSQL data source {cluster} is registered (POST /v1/tenants/{{tenant}}/data-sources)")),
            );
        };
        if !source.enabled {
            return status(
                "NOT_SYNC",
                Some(format!("data source {} is switched off", source.id)),
            );
        }
        if state.state == "ok" && state.revision >= version {
            return status("SYNC_SUCCESS", None);
        }
        match &state.last_error {
            Some(error) if state.state == "failed" => status("SYNC_FAIL", Some(error.clone())),
            _ => status("SYNCING", None),
        }
    }
}

/// The role each group with members may be, its id, by group. A group whose id is not a
/// valid role, or is a user's role or id, is none: its members hold its privileges
/// themselves (said in `problems`).
fn group_roles(
    snapshot: &grantd_core::decision::Snapshot,
    members: &grantd_sync::GroupMembers,
    users: &[(String, String)],
    problems: &mut Vec<String>,
) -> std::collections::BTreeMap<String, String> {
    let user_ids: BTreeSet<&str> = snapshot.user_ids().collect();
    let user_roles: BTreeSet<&str> = users.iter().map(|(r, _)| r.as_str()).collect();
    let mapped: BTreeSet<&str> = users.iter().map(|(_, u)| u.as_str()).collect();
    let mut out = std::collections::BTreeMap::new();
    for group in grantd_sync::groups::groups_over(members, &mapped) {
        let problem = grantd_sync::role_name_problem(&group).or_else(|| {
            (user_ids.contains(group.as_str()) || user_roles.contains(group.as_str()))
                .then_some("a user's role too")
        });
        match problem {
            Some(problem) => problems.push(format!(
                "{group} (group {group}): {problem}: its members hold the group's privileges themselves"
            )),
            None => {
                out.insert(group.clone(), group);
            }
        }
    }
    out
}

impl Service {
    /// The status of a source's last pass; `never` before its first.
    pub async fn sync_status(&self, tenant: &str, source: &str) -> ServiceResult<SyncStatus> {
        match self.store.get_setting(&status_key(tenant, source)).await? {
            Some(text) => serde_json::from_str(&text)
                .map_err(|e| ServiceError::Internal(format!("stored sync status unreadable: {e}"))),
            None => Ok(SyncStatus {
                state: "never".into(),
                ..SyncStatus::default()
            }),
        }
    }

    pub async fn put_sync_status(
        &self,
        tenant: &str,
        source: &str,
        status: &SyncStatus,
    ) -> ServiceResult<()> {
        let text =
            serde_json::to_string(status).map_err(|e| ServiceError::Internal(e.to_string()))?;
        Ok(self
            .store
            .put_setting(&status_key(tenant, source), &text)
            .await?)
    }

    /// Every source of the tenant with its status.
    pub async fn sync_states(&self, tenant: &str) -> ServiceResult<SyncStates> {
        let mut sources = Vec::new();
        for source in self.list_all::<DataSource>(tenant, None).await? {
            let status = self.sync_status(tenant, &source.object.id).await?;
            sources.push((source.object, status));
        }
        let mut sets_written = std::collections::HashMap::new();
        if !sources.is_empty() {
            for set in self.list_all::<PermissionSet>(tenant, None).await? {
                sets_written.insert(set.object.id, set.version);
            }
        }
        Ok(SyncStates {
            sources,
            sets_written,
        })
    }

    /// Plans a pass over `source` (and, if `apply`, runs it) at the index `consistency`
    /// asks for. `known`: what the last pass on this node left, to tell drift apart. The outer error is grantd's own; the inner
    /// one the database's.
    pub async fn sync_pass(
        &self,
        tenant: &str,
        source: &DataSource,
        known: Option<&BTreeSet<Privilege>>,
        consistency: Consistency,
        apply: bool,
    ) -> ServiceResult<Result<PassReport, SyncError>> {
        let snapshot = self.snapshot(tenant, consistency).await?;
        let at = now_millis();
        let password = self.data_source_password(tenant, source)?;
        let opened = tokio::time::timeout(
            CONNECT_TIMEOUT,
            Connection::open(dialect(source.kind), &source.url, password.as_deref()),
        )
        .await;
        let mut conn = match opened {
            Ok(Ok(conn)) => conn,
            Ok(Err(e)) => return Ok(Err(e)),
            Err(_) => return Ok(Err(SyncError::new("could not connect within 10 s"))),
        };
        let outcome = async {
            let base = conn.base().await?;
            let scope = Scope {
                roots: source.roots(),
                base,
                dialect: conn.dialect(),
            };
            let catalog = conn.catalog(&source.schemas).await?;
            let users = grantd_sync::users_with_access(&snapshot, at, &scope);
            let (roles, mut problems) = self.roles_of(tenant, source, users).await;
            let members = match conn.dialect() {
                Dialect::Postgres => snapshot.group_members_at(at),
                Dialect::Mysql => grantd_sync::GroupMembers::new(),
            };
            let mut groups = group_roles(&snapshot, &members, &roles, &mut problems);
            let names: Vec<String> = roles
                .iter()
                .map(|(r, _)| r.clone())
                .chain(groups.values().cloned())
                .collect();
            let marker = marker(tenant, &source.id);
            let mut actual = conn.actual(&names, &marker, &catalog).await?;
            // A group's role is one grantd made for a group: never another's, nor one that
            // signs in (made for a user once: its sessions and password would reach the
            // group's privileges).
            groups.retain(|group, role| {
                let why = if actual.foreign.contains(role) {
                    "a role that is not this source's"
                } else if actual.login.contains(role) {
                    "a role that signs in (a user's once)"
                } else {
                    return true;
                };
                problems.push(format!("{role} (group {group}): {why}: its members hold the group's privileges themselves"));
                false
            });
            actual.rls = conn.rls(&catalog, &marker).await?;
            let mut desired = grantd_sync::desired(&snapshot, at, &scope, &catalog, &roles);
            problems.append(&mut desired.problems);
            // A filter the database does not take as an expression grants nothing.
            let filtered: Vec<(String, String, String, String)> = desired
                .filters
                .iter()
                .flat_map(|((s, t), roles)| roles.iter().map(move |(r, f)| (s.clone(), t.clone(), r.clone(), f.clone())))
                .collect();
            for (schema, table, role, filter) in filtered {
                if let Err(error) = conn.check_row_filter(&schema, &table, &filter).await {
                    desired.privileges.retain(|p| !(*p.role == *role && &*p.privilege == "SELECT" && p.on.is_in(&schema, &table)));
                    if let Some(roles) = desired.filters.get_mut(&(schema.clone(), table.clone())) {
                        roles.remove(&role);
                    }
                    problems.push(format!("{role}: SELECT on {schema}.{table} not granted: its row filter does not parse: {}", error.message));
                }
            }
            grantd_sync::fold_groups(&mut desired, &members, &groups);
            let mut plan = grantd_sync::plan(conn.dialect(), &actual, &desired, known, &marker);
            plan.skipped.append(&mut problems);
            if apply && !plan.is_empty() {
                if let Err(error) = conn.apply(&plan.statements).await {
                    // A statement that cannot run never keeps a revoke from the database:
                    // the revokes alone are applied, and the pass still fails.
                    let revokes: Vec<String> = plan
                        .statements
                        .iter()
                        .filter(|s| s.starts_with("REVOKE "))
                        .cloned()
                        .collect();
                    if !revokes.is_empty() && revokes.len() < plan.statements.len() {
                        if let Err(also) = conn.apply(&revokes).await {
                            tracing::warn!(error = %also.message, "the revokes alone failed too");
                        }
                    }
                    return Err(error);
                }
            }
            let kept: BTreeSet<Privilege> = desired
                .privileges
                .into_iter()
                .filter(|p| !actual.foreign.contains(&*p.role))
                .collect();
            Ok(PassReport {
                revision: snapshot.revision(),
                plan,
                desired: kept,
                applied: apply,
            })
        }
        .await;
        conn.close().await;
        Ok(outcome)
    }

    /// The database role of each user: its `role_attribute`, else its id. A name that is
    /// not a valid role, or a role two users would share, is left out and said why.
    async fn roles_of(
        &self,
        tenant: &str,
        source: &DataSource,
        users: Vec<String>,
    ) -> (Vec<(String, String)>, Vec<String>) {
        let mut named: Vec<(String, String)> = Vec::new();
        let mut problems = Vec::new();
        for user in users {
            let role = match self.get::<User>(tenant, &user).await {
                Ok(found) => found
                    .object
                    .attributes
                    .get(&source.role_attribute)
                    .cloned()
                    .unwrap_or_else(|| user.clone()),
                Err(_) => user.clone(),
            };
            if let Some(problem) = grantd_sync::role_name_problem(&role) {
                problems.push(format!("{role} (user {user}): {problem}"));
            } else {
                named.push((role, user));
            }
        }
        // A role is one user's: one that two users name, or that is another user's id (that
        // user's role, whether or not it reaches anything now), goes to neither.
        let mut roles = Vec::new();
        for (role, user) in &named {
            let shared = named.iter().any(|(r, u)| r == role && u != user);
            let anothers = role != user && self.get::<User>(tenant, role).await.is_ok();
            if shared || anothers {
                problems.push(format!(
                    "{role} (user {user}): another user's role too: left to neither"
                ));
            } else {
                roles.push((role.clone(), user.clone()));
            }
        }
        (roles, problems)
    }

    /// Writes in the audit trail that a pass changed `source`'s database.
    pub async fn record_sync_pass(
        &self,
        tenant: &str,
        source: &str,
        report: &PassReport,
    ) -> ServiceResult<i64> {
        let ctx = Ctx {
            tenant: tenant.to_string(),
            actor: Actor {
                name: SYNC_ACTOR.into(),
                request_id: new_id("sync"),
                client_addr: None,
            },
        };
        let batch = self.batch(&ctx).await?;
        let detail = json!({
            "revision": report.revision,
            "statements": report.plan.statements.iter().take(AUDITED_STATEMENTS).collect::<Vec<_>>(),
            "statement_count": report.plan.statements.len(),
            "granted": report.plan.granted,
            "revoked": report.plan.revoked,
            "roles_created": report.plan.created,
            "drift": report.plan.drift,
        });
        let target = ObjectKey::new(grantd_core::Kind::DataSource, source);
        batch
            .commit("data_source.sync", &target, Some(detail))
            .await
    }
}
