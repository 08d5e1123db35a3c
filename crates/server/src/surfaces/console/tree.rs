//! Resources as a tree by parent: the roots a page at a time, and each resource with the
//! chain of its ancestors, its labels and its children, each opening its own branch. A
//! page reads what it shows, whatever the tenant's size: a page of roots scans at most the
//! service's filter bound, a branch lists at most `CHILDREN` children.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use grantd_core::model::Resource;
use grantd_core::{Kind, Object, ObjectKey};
use maud::html;
use serde::Deserialize;

use super::session::{failed, page, Visitor};
use super::{encode, Base};
use crate::service::{Scope, ServiceError, Versioned};
use crate::state::AppState;

/// Roots on one page.
const ROOTS: u32 = 50;
/// Children a branch shows.
const CHILDREN: usize = 200;
/// Ancestors followed up from a resource (a chain is never longer: the service refuses
/// one that would be).
const DEPTH: usize = 64;

#[derive(Deserialize, Default)]
pub struct At {
    /// `type/id`; none for the roots.
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    after: Option<String>,
}

pub async fn tree(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(at): Query<At>,
) -> Response {
    let base = Base::of(&state);
    let session = or_answer!(visitor.page_for(&state, Scope::Read).await);
    let tenant = &session.tenant;
    let branch = |key: &str| format!("{}?key={}", base.link("/resources/tree"), encode(key));
    let built = async {
        let Some(key) = at.key.as_deref().filter(|k| !k.is_empty()) else {
            let roots = state
                .service
                .list_where::<Resource>(tenant, None, at.after.clone(), ROOTS, |r| r.parent.is_none())
                .await?;
            return Ok::<_, ServiceError>(html! {
                h1 { "Resources" }
                p.hint { "The resources with no parent; each opens its branch." }
                ul #roots {
                    @for r in &roots.items {
                        @let key = r.object.key();
                        li { a href=(branch(&key)) { (key) } }
                    }
                }
                @if roots.items.is_empty() { p { "None." } }
                @if let Some(next) = &roots.next {
                    div.pager { a rel="next" href=(format!("{}?after={}", base.link("/resources/tree"), encode(next))) { "More" } }
                }
            });
        };
        let resource = state.service.get::<Resource>(tenant, key).await?;
        let mut ancestors: Vec<String> = Vec::new();
        let mut parent = resource.object.parent.clone();
        while let Some(p) = parent.take().filter(|_| ancestors.len() < DEPTH) {
            let key = p.key();
            parent = match state.service.get::<Resource>(tenant, &key).await {
                Ok(found) => found.object.parent,
                Err(ServiceError::NotFound(_)) => None,
                Err(error) => return Err(error),
            };
            ancestors.push(key);
        }
        ancestors.reverse();
        let mut children: Vec<Versioned<Resource>> = Vec::new();
        let target = ObjectKey::new(Kind::Resource, key);
        let holders = state.service.referencing(tenant, &target).await?;
        let more = holders.iter().filter(|h| h.kind == Kind::Resource).count() > CHILDREN;
        for holder in holders.into_iter().filter(|h| h.kind == Kind::Resource).take(CHILDREN) {
            match state.service.get::<Resource>(tenant, &holder.key).await {
                Ok(child) => children.push(child),
                Err(ServiceError::NotFound(_)) => {}
                Err(error) => return Err(error),
            }
        }
        let object = &resource.object;
        Ok(html! {
            h1 { "Resource " code { (key) } }
            nav aria-label="Ancestors" {
                a href=(base.link("/resources/tree")) { "Roots" }
                @for a in &ancestors { " / " a href=(branch(a)) { (a) } }
                " / " strong { (key) }
            }
            h2 { "Labels" }
            @if object.labels.is_empty() { p { "None." } }
            ul #labels { @for (k, v) in &object.labels { li { code { (k) "=" (v) } } } }
            p { a href=(format!("{}?key={}", base.link("/resources/view"), encode(key))) { "Edit" } }
            h2 { "Children" }
            @if children.is_empty() { p { "None." } }
            ul #children {
                @for child in &children {
                    @let child_key = child.object.key();
                    li { a href=(branch(&child_key)) { (child_key) } }
                }
            }
            @if more { p { "The first " (CHILDREN) " are shown." } }
        })
    }
    .await;
    match built {
        Ok(body) => page(&base, &session, "Resources", body).into_response(),
        Err(error) => failed(&base, &session, "Resources", error),
    }
}
