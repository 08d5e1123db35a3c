//! Data permissions and where they are enforced: each data source with its last sync pass
//! (the revision its database holds, drift repaired, roles skipped, the database's last
//! error), and each permission set with its data permissions, each one's sync status as
//! DataArts shows it, and its members. Statuses are derived as the API derives them
//! (`Service::sync_states`), never kept apart.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use grantd_core::model::{DataPermission, DataSource, Effect, PermissionSet, SetMember, Timestamp};
use grantd_core::Object;
use maud::{html, Markup};
use serde::Deserialize;

use super::session::{failed, page, Visitor};
use super::{encode, Base};
use crate::service::{Scope, ServiceError, SyncStates, SyncStatus, Versioned};
use crate::state::AppState;

/// Sets on one page.
const PAGE: u32 = 20;

#[derive(Deserialize, Default)]
pub struct Paging {
    #[serde(default)]
    after: Option<String>,
}

/// Where a data permission applies: cluster, database, schema, table, column.
fn place(p: &DataPermission) -> String {
    [
        p.cluster_id.as_deref().or(p.cluster_name.as_deref()),
        p.database_name.as_deref(),
        p.schema_name.as_deref(),
        p.table_name.as_deref(),
        p.column_name.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(".")
}

fn source_row(source: &DataSource, status: &SyncStatus) -> Markup {
    let when = |ms: Option<i64>| ms.map(|ms| Timestamp(ms).to_rfc3339()).unwrap_or_default();
    html! {
        tr {
            td { code { (source.id) } }
            td { (format!("{:?}", source.kind).to_lowercase()) }
            td {
                @if !source.enabled { "switched off" }
                @else if status.state == "failed" { strong.error { "failed" } }
                @else { (status.state) }
            }
            td { (status.revision) }
            td { (when(status.last_pass_at)) }
            td { (status.drift_repaired) }
            td { (status.skipped.len()) }
            td { (status.last_error.as_deref().unwrap_or("")) }
        }
    }
}

fn set_section(
    base: &Base,
    set: &Versioned<PermissionSet>,
    permissions: &[Versioned<DataPermission>],
    members: &[Versioned<SetMember>],
    states: &SyncStates,
) -> Markup {
    let set = &set.object;
    html! {
        section.set {
            h2 { "Permission set " (set.name) " " span.hint { "(" (set.id) ", workspace " (set.workspace) ")" } }
            @if permissions.is_empty() { p { "No data permissions." } }
            @else {
                table {
                    caption.skip { "Data permissions of " (set.name) }
                    thead { tr {
                        th scope="col" { "Permission" } th scope="col" { "Effect" } th scope="col" { "Actions" }
                        th scope="col" { "Type" } th scope="col" { "On" } th scope="col" { "Sync status" }
                    } }
                    tbody {
                        @for p in permissions {
                            @let sync = states.of(&p.object, p.version);
                            tr {
                                td { code { (p.object.id) } }
                                td { @if p.object.effect == Effect::Deny { strong.error { "DENY" } } @else { "ALLOW" } }
                                td { (p.object.actions.join(", ")) }
                                td { (p.object.datasource_type) }
                                td { code { (place(&p.object)) } }
                                td.sync {
                                    (sync.sync_status)
                                    @if let Some(message) = &sync.sync_msg { br; span.hint { (message) } }
                                }
                            }
                        }
                    }
                }
            }
            p {
                "Members: "
                @if members.is_empty() { "none." }
                @for (i, m) in members.iter().enumerate() {
                    @if i > 0 { ", " }
                    @let key = m.object.member.key();
                    code { (key) }
                }
                " · "
                a href=(format!("{}?key={}", base.link("/permission-sets/view"), encode(&set.key()))) { "the set's JSON" }
            }
        }
    }
}

pub async fn overview(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(paging): Query<Paging>,
) -> Response {
    let base = Base::of(&state);
    let session = or_answer!(visitor.page_for(&state, Scope::Read).await);
    let tenant = &session.tenant;
    let built = async {
        let states = state.service.sync_states(tenant).await?;
        let mut sources = Vec::new();
        for source in state.service.list_all::<DataSource>(tenant, None).await? {
            let status = state.service.sync_status(tenant, &source.object.id).await?;
            sources.push((source.object, status));
        }
        let sets = state
            .service
            .list::<PermissionSet>(tenant, None, paging.after.clone(), PAGE)
            .await?;
        let mut sections = Vec::new();
        for set in &sets.items {
            let key = set.object.object_key();
            let permissions = state
                .service
                .holders::<DataPermission>(tenant, &key)
                .await?;
            let members = state.service.holders::<SetMember>(tenant, &key).await?;
            sections.push(set_section(&base, set, &permissions, &members, &states));
        }
        Ok::<_, ServiceError>((sources, sections, sets.next))
    }
    .await;
    let (sources, sections, next) = match built {
        Ok(built) => built,
        Err(error) => {
            return failed(&base, &session, "Data permissions", error);
        }
    };
    let body = html! {
        h1 { "Data permissions" }
        h2 { "Data sources" }
        p.hint { "The databases grantd keeps holding what its checks decide (docs/SYNC.md)." }
        @if sources.is_empty() { p { "No data source is registered." } }
        @else {
            table #sources {
                thead { tr {
                    th scope="col" { "Source" } th scope="col" { "Kind" } th scope="col" { "Last pass" }
                    th scope="col" { "Revision held" } th scope="col" { "When" } th scope="col" { "Drift repaired" }
                    th scope="col" { "Skipped" } th scope="col" { "Last error" }
                } }
                tbody { @for (source, status) in &sources { (source_row(source, status)) } }
            }
        }
        @if sections.is_empty() { p { "No permission set." } }
        @for section in &sections { (section) }
        @if let Some(after) = next {
            div.pager { a rel="next" href=(format!("{}?after={}", base.link("/data"), encode(&after))) { "Next sets" } }
        }
    };
    page(&base, &session, "Data permissions", body).into_response()
}
