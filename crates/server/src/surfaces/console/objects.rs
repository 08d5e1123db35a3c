//! Browsing and editing the model's objects, the same way for every kind: a list that
//! pages and searches on the server (by key prefix, a page at a time, so a tenant of
//! 100,000 grants opens as fast as one of ten), and each object as the JSON the native API
//! reads, edited with its version: a change made meanwhile by anyone else is refused, and
//! said, never overwritten.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use grantd_core::model::{
    Assignment, DataPermission, Grant, Group, Member, Permission, PermissionSet, Resource, Role,
    SetMember, User,
};
use grantd_core::Object;
use grantd_store::Expect;
use maud::{html, Markup};
use serde::Deserialize;

use super::layout::{sections, SECTIONS};
use super::session::{failed, page, said, Session, Visitor};
use super::{encode, Base};
use crate::service::{new_id, Scope, ServiceError};
use crate::state::AppState;

/// Objects on one page of a list.
const PAGE: u32 = 50;
/// Characters of an object's JSON a list shows.
const SUMMARY: usize = 140;

/// Runs `$body` with `$K` the model type of the console's kind `$kind`, else `$otherwise`.
macro_rules! with_kind {
    ($kind:expr, $K:ident => $body:expr, else => $otherwise:expr) => {
        match $kind {
            "users" => {
                type $K = User;
                $body
            }
            "groups" => {
                type $K = Group;
                $body
            }
            "members" => {
                type $K = Member;
                $body
            }
            "roles" => {
                type $K = Role;
                $body
            }
            "assignments" => {
                type $K = Assignment;
                $body
            }
            "permissions" => {
                type $K = Permission;
                $body
            }
            "resources" => {
                type $K = Resource;
                $body
            }
            "grants" => {
                type $K = Grant;
                $body
            }
            "permission-sets" => {
                type $K = PermissionSet;
                $body
            }
            "data-permissions" => {
                type $K = DataPermission;
                $body
            }
            "set-members" => {
                type $K = SetMember;
                $body
            }
            _ => $otherwise,
        }
    };
}

/// A new object's starting JSON, per kind.
fn template(kind: &str) -> String {
    let value = match kind {
        "users" => serde_json::json!({"id": "", "name": "", "email": null}),
        "groups" => serde_json::json!({"id": "", "name": ""}),
        "members" => serde_json::json!({"group": "", "member": {"type": "user", "id": ""}}),
        "roles" => serde_json::json!({"id": "", "actions": ["read"], "includes": []}),
        "assignments" => serde_json::json!({"subject": {"type": "user", "id": ""}, "role": ""}),
        "permissions" => serde_json::json!({"id": "", "description": ""}),
        "resources" => serde_json::json!({"type": "", "id": "", "labels": {}}),
        "permission-sets" => {
            serde_json::json!({"id": new_id("ps"), "workspace": "", "name": "", "type": "COMMON"})
        }
        "data-permissions" => serde_json::json!({"id": new_id("dp"), "set": "", "effect": "allow",
            "actions": ["SELECT"], "datasource_type": "DWS", "cluster_id": "", "database_name": "",
            "schema_name": "", "table_name": "", "auto_sync": true}),
        "set-members" => {
            serde_json::json!({"id": new_id("m"), "set": "", "member": {"type": "user", "id": ""}})
        }
        _ => serde_json::json!({"id": new_id("grant"), "subject": {"type": "user", "id": ""},
            "effect": "allow", "privilege": {"type": "role", "id": ""},
            "target": {"type": "resource", "resource": {"type": "", "id": ""}}}),
    };
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

/// Kinds edited here that the navigation reaches through another page.
const OTHER_KINDS: [(&str, &str); 3] = [
    ("/permission-sets", "Permission sets"),
    ("/data-permissions", "Data permissions"),
    ("/set-members", "Permission set members"),
];

fn title(kind: &str) -> &'static str {
    SECTIONS
        .iter()
        .chain(OTHER_KINDS.iter())
        .find(|(path, _)| path.strip_prefix('/') == Some(kind))
        .map_or("Objects", |(_, label)| label)
}

fn not_found(base: &Base, session: &Session, what: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        page(
            base,
            session,
            "Not found",
            html! { h1 { "Not found" } p { (what) } },
        ),
    )
        .into_response()
}

pub async fn home(State(state): State<AppState>, visitor: Visitor) -> Response {
    let base = Base::of(&state);
    let session = or_answer!(visitor.page_for(&state, Scope::Check).await);
    page(
        &base,
        &session,
        "Console",
        html! {
            h1 { "Tenant " (session.tenant) }
            p { "Who may do what in this tenant, and why. Signed in as " code { (session.ctx.actor.name) } "." }
            ul {
                @for (path, label) in sections(session.scope) {
                    li { a href=(base.link(path)) { (label) } }
                }
            }
        },
    )
    .into_response()
}

#[derive(Deserialize)]
pub struct ListQuery {
    /// Keys starting with this.
    #[serde(default)]
    q: String,
    #[serde(default)]
    after: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    Path(kind): Path<String>,
    visitor: Visitor,
    Query(query): Query<ListQuery>,
) -> Response {
    let base = Base::of(&state);
    let session = or_answer!(visitor.page_for(&state, Scope::Read).await);
    with_kind!(kind.as_str(), K => list_page::<K>(&state, &base, &session, &kind, &query).await,
        else => not_found(&base, &session, "no such section"))
}

async fn list_page<K: Object>(
    state: &AppState,
    base: &Base,
    session: &Session,
    kind: &str,
    query: &ListQuery,
) -> Response {
    let prefix = (!query.q.is_empty()).then(|| query.q.clone());
    let found = state
        .service
        .list::<K>(&session.tenant, prefix, query.after.clone(), PAGE)
        .await;
    let found = match found {
        Ok(found) => found,
        Err(error) => return failed(base, session, "Not done", error),
    };
    let heading = title(kind);
    let view = |key: &str| {
        format!(
            "{}?key={}",
            base.link(&format!("/{kind}/view")),
            encode(key)
        )
    };
    let next = found.next.as_ref().map(|after| {
        format!(
            "{}?q={}&after={}",
            base.link(&format!("/{kind}")),
            encode(&query.q),
            encode(after)
        )
    });
    page(
        base,
        session,
        heading,
        html! {
            h1 { (heading) }
            form.search method="get" action=(base.link(&format!("/{kind}"))) role="search" {
                div {
                    label for="q" { "Key starts with" }
                    input #q type="search" name="q" value=(query.q);
                }
                button type="submit" { "Search" }
            }
            @if session.may(Scope::Write) {
                p { a #new href=(base.link(&format!("/{kind}/new"))) { "New" } }
            }
            @if kind == "resources" {
                p { a #tree href=(base.link("/resources/tree")) { "As a tree, by parent" } }
            }
            table {
                thead { tr { th scope="col" { "Key" } th scope="col" { "Version" } th scope="col" { "Object" } } }
                tbody {
                    @for item in &found.items {
                        @let key = item.object.key();
                        tr {
                            td { a href=(view(&key)) { (key) } }
                            td { (item.version) }
                            td { code { (summary(&item.object)) } }
                        }
                    }
                }
            }
            @if found.items.is_empty() {
                p { "None." }
            }
            div.pager {
                @if query.after.is_some() {
                    a href=(base.link(&format!("/{kind}?q={}", encode(&query.q)))) { "First page" }
                }
                @if let Some(next) = next {
                    a rel="next" href=(next) { "Next page" }
                }
            }
        },
    )
    .into_response()
}

fn summary<K: Object>(object: &K) -> String {
    let text = serde_json::to_string(object).unwrap_or_default();
    match text.char_indices().nth(SUMMARY) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

#[derive(Deserialize)]
pub struct KeyQuery {
    key: String,
    #[serde(default)]
    saved: Option<String>,
}

/// An object's editor: its JSON, its version, and (with the write scope) save and delete.
#[allow(clippy::too_many_arguments)]
fn editor(
    base: &Base,
    session: &Session,
    kind: &str,
    key: Option<&str>,
    version: Option<i64>,
    body: &str,
    message: Option<Markup>,
) -> Markup {
    let writable = session.may(Scope::Write);
    html! {
        h1 { (title(kind)) ": " @if let Some(key) = key { code { (key) } } @else { "new" } }
        @if let Some(message) = message { (message) }
        @if let Some(version) = version {
            p {
                "Version " strong #version { (version) }
                @if let (Some(key), "users") = (key, kind) {
                    " · " a #access href=(format!("{}?id={}", base.link("/user"), encode(key))) { "This user's access" }
                }
            }
        }
        @if writable {
            form method="post" action=(base.link(&format!("/{kind}/save"))) {
                input type="hidden" name="csrf" value=(session.csrf());
                @if let Some(key) = key { input type="hidden" name="key" value=(key); }
                @if let Some(version) = version { input type="hidden" name="version" value=(version); }
                label for="body" { "JSON " span.hint { "(as the native API reads it)" } }
                textarea #body name="body" spellcheck="false" { (body) }
                button #save type="submit" { "Save" }
            }
            @if let (Some(key), Some(version)) = (key, version) {
                form method="post" action=(base.link(&format!("/{kind}/delete"))) {
                    input type="hidden" name="csrf" value=(session.csrf());
                    input type="hidden" name="key" value=(key);
                    input type="hidden" name="version" value=(version);
                    button.danger #delete type="submit" { "Delete" }
                }
            }
        } @else {
            pre #body { (body) }
        }
        p { a href=(base.link(&format!("/{kind}"))) { "Back to " (title(kind)) } }
    }
}

pub async fn view(
    State(state): State<AppState>,
    Path(kind): Path<String>,
    visitor: Visitor,
    Query(query): Query<KeyQuery>,
) -> Response {
    let base = Base::of(&state);
    let session = or_answer!(visitor.page_for(&state, Scope::Read).await);
    with_kind!(kind.as_str(), K => {
        match state.service.get::<K>(&session.tenant, &query.key).await {
            Ok(found) => {
                let body = serde_json::to_string_pretty(&found.object).unwrap_or_default();
                let saved = query.saved.as_ref().map(|_| html! { p.notice role="status" { "Saved." } });
                page(&base, &session, title(&kind), editor(&base, &session, &kind, Some(&query.key), Some(found.version), &body, saved)).into_response()
            }
            Err(error) => failed(&base, &session, "Not done", error),
        }
    }, else => not_found(&base, &session, "no such section"))
}

pub async fn new(
    State(state): State<AppState>,
    Path(kind): Path<String>,
    visitor: Visitor,
) -> Response {
    let base = Base::of(&state);
    let session = or_answer!(visitor.page_for(&state, Scope::Write).await);
    with_kind!(kind.as_str(), _K => {
        page(&base, &session, title(&kind), editor(&base, &session, &kind, None, None, &template(&kind), None)).into_response()
    }, else => not_found(&base, &session, "no such section"))
}

#[derive(Deserialize)]
pub struct Change {
    #[serde(default)]
    csrf: Option<String>,
    /// The object's key when it was opened; none for a new one.
    #[serde(default)]
    key: Option<String>,
    /// The version it was opened at; none for a new one.
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    body: String,
}

pub async fn save(
    State(state): State<AppState>,
    Path(kind): Path<String>,
    visitor: Visitor,
    Form(change): Form<Change>,
) -> Response {
    let base = Base::of(&state);
    let session = or_answer!(
        visitor
            .change_for(&state, Scope::Write, change.csrf.as_deref())
            .await
    );
    with_kind!(kind.as_str(), K => save_as::<K>(&state, &base, &session, &kind, &change).await,
        else => not_found(&base, &session, "no such section"))
}

async fn save_as<K: Object>(
    state: &AppState,
    base: &Base,
    session: &Session,
    kind: &str,
    change: &Change,
) -> Response {
    let version = change
        .version
        .as_deref()
        .and_then(|v| v.parse::<i64>().ok());
    let again = |status: StatusCode, message: Markup| {
        let editor = editor(
            base,
            session,
            kind,
            change.key.as_deref(),
            version,
            &change.body,
            Some(message),
        );
        (status, page(base, session, title(kind), editor)).into_response()
    };
    let object: K = match serde_json::from_str(&change.body) {
        Ok(object) => object,
        Err(error) => {
            return again(
                StatusCode::UNPROCESSABLE_ENTITY,
                html! { p.error role="alert" { "This is not a valid object: " (error.to_string()) ". Nothing was saved." } },
            )
        }
    };
    let key = object.key();
    if change.key.as_deref().is_some_and(|opened| opened != key) {
        return again(
            StatusCode::UNPROCESSABLE_ENTITY,
            html! { p.error role="alert" { "The fields that identify an object cannot change (it was " code { (change.key.as_deref().unwrap_or("")) } "). Nothing was saved." } },
        );
    }
    let written = match version {
        Some(version) => {
            state
                .service
                .put(&session.ctx, object, Expect::Version(version))
                .await
        }
        None => state.service.create(&session.ctx, object).await,
    };
    match written {
        Ok(_) => Redirect::to(&format!(
            "{}?key={}&saved=1",
            base.link(&format!("/{kind}/view")),
            encode(&key)
        ))
        .into_response(),
        Err(ServiceError::PreconditionFailed(_)) => again(
            StatusCode::CONFLICT,
            html! {
                div.error role="alert" #conflict {
                    p { "Someone changed this object since you opened it: nothing was saved, and their change stands." }
                    p { a href=(format!("{}?key={}", base.link(&format!("/{kind}/view")), encode(&key))) { "Open the current version" } }
                }
            },
        ),
        Err(ServiceError::Invalid(invalid)) => again(
            StatusCode::UNPROCESSABLE_ENTITY,
            html! { p.error role="alert" { (invalid.to_string()) ". Nothing was saved." } },
        ),
        Err(error) => {
            let (status, message) = said(error);
            again(
                status,
                html! { p.error role="alert" { (message) ". Nothing was saved." } },
            )
        }
    }
}

pub async fn delete(
    State(state): State<AppState>,
    Path(kind): Path<String>,
    visitor: Visitor,
    Form(change): Form<Change>,
) -> Response {
    let base = Base::of(&state);
    let session = or_answer!(
        visitor
            .change_for(&state, Scope::Write, change.csrf.as_deref())
            .await
    );
    let key = change.key.clone().unwrap_or_default();
    // A delete names the version it was shown, as an edit does.
    let Some(version) = change
        .version
        .as_deref()
        .and_then(|v| v.parse::<i64>().ok())
    else {
        let missing =
            grantd_core::Invalid::field("version", "a delete names the version it deletes");
        return failed(&base, &session, "Not done", ServiceError::Invalid(missing));
    };
    let expect = Expect::Version(version);
    with_kind!(kind.as_str(), K => {
        match state.service.delete::<K>(&session.ctx, &key, expect).await {
            Ok(_) => Redirect::to(&base.link(&format!("/{kind}"))).into_response(),
            Err(error) => failed(&base, &session, "Not done", error),
        }
    }, else => not_found(&base, &session, "no such section"))
}
