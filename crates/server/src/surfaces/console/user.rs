//! A user's page: who they are, the groups and roles they reach and how (the chain of
//! memberships to each), the grants that apply to them (their own, and those of every
//! group and role they reach, a DENY marked), and the recent audit events about them.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use grantd_core::model::{Effect, Grant, Privilege, Target, User};
use grantd_core::{Kind, ObjectKey};
use grantd_store::AuditFilter;
use maud::{html, Markup};
use serde::Deserialize;

use super::session::{failed, page, Visitor};
use super::{encode, Base};
use crate::service::{now_millis, Consistency, Scope, ServiceError, Versioned};
use crate::state::AppState;

/// Grants the page reads and shows at most.
const GRANTS: usize = 200;
/// Audit events the page shows.
const RECENT: usize = 20;
/// Audit events about one user a page reads at most, to find the latest.
const AUDIT_READ: u32 = 10_000;

#[derive(Deserialize)]
pub struct Who {
    id: String,
}

/// A grant's privilege and target in a few words.
fn privilege_text(privilege: &Privilege) -> String {
    match privilege {
        Privilege::Role { id } => format!("role {id}"),
        Privilege::Permission { id } => format!("permission {id}"),
        Privilege::Actions { actions } => actions.join(", "),
    }
}

fn target_text(target: &Target) -> String {
    match target {
        Target::Tenant => "the whole tenant".into(),
        Target::Resource { resource } => format!("{}/{}", resource.resource_type, resource.id),
        Target::Labels {
            resource_type,
            labels,
        } => {
            let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!(
                "{} labelled {}",
                resource_type.as_deref().unwrap_or("any resource"),
                labels.join(", ")
            )
        }
        Target::DataPath { pattern } => format!("data {pattern}"),
    }
}

pub async fn page_of(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(who): Query<Who>,
) -> Response {
    let base = Base::of(&state);
    let session = or_answer!(visitor.page_for(&state, Scope::Read).await);
    let tenant = &session.tenant;
    let built = async {
        let user = state.service.get::<User>(tenant, &who.id).await?;
        let snapshot = state
            .service
            .snapshot(tenant, Consistency::FullyConsistent)
            .await?;
        let reached = snapshot.memberships(&who.id, now_millis());
        // The user's own grants, then those of each group and role it reaches.
        let mut subjects = vec![ObjectKey::new(Kind::User, &who.id)];
        for path in &reached {
            let last = path.last().map(String::as_str).unwrap_or("");
            if let Some((kind, key)) = last.split_once(':') {
                let kind = if kind == "group" {
                    Kind::Group
                } else {
                    Kind::Role
                };
                subjects.push(ObjectKey::new(kind, key));
            }
        }
        // At most `GRANTS` of them are read; the rest are counted.
        let mut grants: Vec<(String, Versioned<Grant>)> = Vec::new();
        let mut unshown = 0;
        for subject in &subjects {
            let keys = state.service.referencing(tenant, subject).await?;
            for key in keys.into_iter().filter(|k| k.kind == Kind::Grant) {
                if grants.len() == GRANTS {
                    unshown += 1;
                    continue;
                }
                match state.service.get::<Grant>(tenant, &key.key).await {
                    Ok(grant) => grants.push((subject.to_string(), grant)),
                    Err(ServiceError::NotFound(_)) => {}
                    Err(error) => return Err(error),
                }
            }
        }
        // The trail reads forwards: the last `RECENT` of the events about the user, read a
        // page at a time, up to `AUDIT_READ` of them.
        let mut filter = AuditFilter {
            target: Some(format!("user:{}", who.id)),
            limit: 500,
            ..AuditFilter::default()
        };
        let mut recent = std::collections::VecDeque::new();
        for _ in 0..AUDIT_READ / 500 {
            let page = state.service.audit_events(tenant, &filter).await?;
            for event in page.items {
                filter.after = event.revision;
                recent.push_back(event);
                if recent.len() > RECENT {
                    recent.pop_front();
                }
            }
            if page.next.is_none() {
                break;
            }
        }
        Ok::<_, ServiceError>((user, reached, grants, unshown, Vec::from(recent)))
    }
    .await;
    let (user, reached, grants, unshown, audit) = match built {
        Ok(found) => found,
        Err(error) => {
            return failed(&base, &session, "User", error);
        }
    };
    let edit = format!("{}?key={}", base.link("/users/view"), encode(&who.id));
    let object = user.object;
    let body: Markup = html! {
        h1 { "User " code { (object.id) } }
        p {
            @if let Some(name) = &object.name { (name) " · " }
            @if let Some(email) = &object.email { (email) " · " }
            @if object.disabled { strong.error { "disabled: allowed nothing" } " · " }
            a href=(edit) { "Edit" }
            " · "
            a href=(format!("{}?user={}", base.link("/explorer"), encode(&object.id))) { "Ask the explorer" }
        }
        h2 { "Groups and roles, and how" }
        @if reached.is_empty() { p { "None." } }
        ul #reached {
            @for path in &reached {
                li {
                    @for (i, step) in path.iter().enumerate() {
                        @if i > 0 { " → " }
                        code { (step) }
                    }
                }
            }
        }
        h2 { "Grants that apply" }
        @if grants.is_empty() { p { "None: this user is allowed nothing." } }
        @else {
            table #grants {
                thead { tr {
                    th scope="col" { "Grant" } th scope="col" { "Through" } th scope="col" { "Effect" }
                    th scope="col" { "Privilege" } th scope="col" { "On" } th scope="col" { "Until" }
                } }
                tbody {
                    @for (through, grant) in &grants {
                        @let g = &grant.object;
                        tr {
                            td { a href=(format!("{}?key={}", base.link("/grants/view"), encode(&g.id))) { (g.id) } }
                            td { code { (through) } }
                            td { @if g.effect == Effect::Deny { strong.error { "DENY" } } @else { "ALLOW" } }
                            td { (privilege_text(&g.privilege)) }
                            td { (target_text(&g.target)) }
                            td { @if let Some(ends) = g.expires_at { (ends.to_rfc3339()) } }
                        }
                    }
                }
            }
        }
        @if unshown > 0 {
            p { "And " (unshown) " more grants (the grants list, or the API's grants filtered by subject, shows them all)." }
        }
        h2 { "Recent audit events about this user" }
        @if audit.is_empty() { p { "None." } }
        @else {
            table {
                thead { tr { th scope="col" { "Revision" } th scope="col" { "When" } th scope="col" { "Who" } th scope="col" { "What" } } }
                tbody {
                    @for event in audit.iter().rev() {
                        tr {
                            td { (event.revision) }
                            td { (grantd_core::model::Timestamp(event.at).to_rfc3339()) }
                            td { code { (event.entry.actor) } }
                            td { (event.entry.action) }
                        }
                    }
                }
            }
        }
    };
    page(&base, &session, "User", body).into_response()
}
