//! The tenant's tokens and access keys (the admin scope only): listed without their
//! secrets, issued with the secret shown on the answer and never again, and revoked,
//! which ends at once every request and console session they made.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form;
use grantd_core::model::Timestamp;
use maud::html;
use serde::Deserialize;

use super::session::{failed, page, Visitor};
use super::Base;
use crate::service::Scope;
use crate::state::AppState;

/// Tokens the page lists.
const LISTED: u32 = 200;

pub async fn list(State(state): State<AppState>, visitor: Visitor) -> Response {
    let base = Base::of(&state);
    let session = or_answer!(visitor.page_for(&state, Scope::Admin).await);
    let found = match state
        .service
        .list_tokens(&session.tenant, None, LISTED)
        .await
    {
        Ok(found) => found,
        Err(error) => {
            return failed(&base, &session, "Tokens", error);
        }
    };
    let body = html! {
        h1 { "Tokens and access keys" }
        p { "A token's secret, or an access key's secret key, is shown once, when it is issued." }
        form method="post" action=(base.link("/tokens/issue")) {
            input type="hidden" name="csrf" value=(session.csrf());
            fieldset {
                legend { "Issue" }
                label for="name" { "Name" }
                input #name type="text" name="name";
                label for="issue-scope" { "Scope" }
                select #issue-scope name="scope" {
                    @for scope in Scope::ALL { option value=(scope.as_str()) selected[scope == Scope::Read] { (scope.as_str()) } }
                }
                label for="kind" { "Kind" }
                select #kind name="kind" {
                    option value="bearer" { "bearer token" }
                    option value="access_key" { "access key (AK/SK, for DataArts' signed requests)" }
                }
                button #issue type="submit" { "Issue" }
            }
        }
        table #tokens {
            thead { tr { th scope="col" { "Id" } th scope="col" { "Kind" } th scope="col" { "Scope" } th scope="col" { "Name" } th scope="col" { "Issued" } th scope="col" { span.skip { "Revoke" } } } }
            tbody {
                @for token in &found.items {
                    tr {
                        td { code { (token.id) } }
                        td { (token.kind) }
                        td { (token.scopes.join(", ")) }
                        td { (token.name.as_deref().unwrap_or("")) }
                        td { (Timestamp(token.created_at).to_rfc3339()) }
                        td {
                            form.inline method="post" action=(base.link("/tokens/revoke")) {
                                input type="hidden" name="csrf" value=(session.csrf());
                                input type="hidden" name="id" value=(token.id);
                                button.danger type="submit" aria-label=(format!("Revoke {}", token.id)) { "Revoke" }
                            }
                        }
                    }
                }
            }
        }
        @if found.next.is_some() { p { "The first " (LISTED) " are shown; the API lists them all." } }
    };
    page(&base, &session, "Tokens", body).into_response()
}

#[derive(Deserialize)]
pub struct Issue {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    name: String,
    scope: String,
    kind: String,
}

pub async fn issue(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(form): Form<Issue>,
) -> Response {
    let base = Base::of(&state);
    let session = or_answer!(
        visitor
            .change_for(&state, Scope::Admin, form.csrf.as_deref())
            .await
    );
    let scopes = [form.scope.clone()];
    let name = (!form.name.trim().is_empty()).then(|| form.name.trim().to_string());
    let issued = if form.kind == "access_key" {
        state
            .service
            .create_access_key(&session.ctx, &scopes, name)
            .await
    } else {
        state
            .service
            .create_token(&session.ctx, &scopes, name)
            .await
    };
    let issued = match issued {
        Ok(issued) => issued,
        Err(error) => {
            return failed(&base, &session, "Tokens", error);
        }
    };
    let body = html! {
        h1 { "Issued" }
        div.notice role="status" {
            p { "Copy the secret now: it is not kept in clear, and this page is the only time it is shown." }
        }
        dl {
            dt { @if issued.view.kind == "access_key" { "Access key (AK)" } @else { "Id" } }
            dd { code #issued-id { (issued.view.id) } }
            dt { @if issued.view.kind == "access_key" { "Secret key (SK)" } @else { "Token" } }
            dd { code #secret { (issued.secret) } }
            dt { "Scope" }
            dd { (issued.view.scopes.join(", ")) }
        }
        p { a href=(base.link("/tokens")) { "Back to the tokens" } }
    };
    (StatusCode::CREATED, page(&base, &session, "Issued", body)).into_response()
}

#[derive(Deserialize)]
pub struct Revoke {
    #[serde(default)]
    csrf: Option<String>,
    id: String,
}

pub async fn revoke(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(form): Form<Revoke>,
) -> Response {
    let base = Base::of(&state);
    let session = or_answer!(
        visitor
            .change_for(&state, Scope::Admin, form.csrf.as_deref())
            .await
    );
    match state.service.delete_token(&session.ctx, &form.id).await {
        Ok((hash, _)) => {
            state.auth.forget(&hash);
            axum::response::Redirect::to(&base.link("/tokens")).into_response()
        }
        Err(error) => failed(&base, &session, "Tokens", error),
    }
}
