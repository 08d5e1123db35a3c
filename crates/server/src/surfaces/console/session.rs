//! Signing in and out, and who a page's caller is. A session is a cookie sealed with the
//! server's key (ChaCha20-Poly1305): the token it was opened with, the tenant, a CSRF
//! secret, its id and when it ends. No node keeps it; each request opens it and
//! authenticates its token again through the one path every surface takes
//! (`http::caller`), so that a revoked token, a narrowed scope or a deleted tenant ends
//! the session at once, and the scope decides what each page offers and what the server
//! accepts. Signing out ends, on every node, every session its token opened until then.

use std::net::IpAddr;

use axum::extract::{FromRequestParts, State};
use axum::http::header::{COOKIE, HOST, ORIGIN, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::html;
use serde::{Deserialize, Serialize};

use super::layout::{self, Frame, Page};
use super::Base;
use crate::auth::Principal;
use crate::http::caller::{self, Credential, Refusal, Unauthenticated};
use crate::http::meta::RequestMeta;
use crate::service::{now_millis, secret, Actor, Ctx, Scope, ServiceError};
use crate::state::AppState;
use crate::surfaces::native::error::ApiError;

/// The cookie's name.
const COOKIE_NAME: &str = "grantd_console";
/// How long a session lasts, whatever is done with it.
const LIFETIME_MS: i64 = 8 * 3600 * 1000;
/// What a session's cookie is sealed for: nothing else sealed with the key opens as one.
const SEALED_FOR: &str = "grantd console session";

/// What the cookie holds, sealed.
#[derive(Serialize, Deserialize)]
struct Sealed {
    token: String,
    tenant: String,
    csrf: String,
    /// When it was opened, and when it ends (ms since the epoch).
    opened: i64,
    ends: i64,
}

/// A request's caller as the cookie says, before it is authenticated.
pub struct Visitor {
    sealed: Option<Sealed>,
    meta: RequestMeta,
    /// Whether the request came from a page of this server (no `Origin`, or this host's).
    same_origin: bool,
}

/// A signed-in caller, admitted for what the page needs.
pub struct Session {
    pub tenant: String,
    pub ctx: Ctx,
    /// What the token may do: pages offer nothing beyond it.
    pub scope: Scope,
    /// Whether the caller is the operator (who chose the tenant at sign-in).
    pub operator: bool,
    csrf: String,
}

impl Session {
    /// The secret every form of this session carries.
    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    pub fn may(&self, scope: Scope) -> bool {
        self.scope.covers(scope)
    }
}

/// The session cookie's value. Two of them (one planted from a sibling domain or an
/// insecure page beside the real one) open no session: which is whose cannot be told.
fn cookie_value(headers: &HeaderMap) -> Option<&str> {
    let mut found = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value);
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

/// Whether the request came from a page of this server: the browser's `Sec-Fetch-Site`,
/// where it sends one, is `same-origin`, and its `Origin`, where it sends one, is this
/// server's host (the `Host` header, or HTTP/2's authority). A form posted from another
/// site is refused before its CSRF secret is looked at; so is a sign-in.
fn same_origin(parts: &Parts) -> bool {
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    if header("sec-fetch-site").is_some_and(|site| site != "same-origin") {
        return false;
    }
    let Some(origin) = header(ORIGIN.as_str()) else {
        return true;
    };
    let host = header(HOST.as_str())
        .map(str::to_string)
        .or_else(|| parts.uri.authority().map(|a| a.to_string()))
        .unwrap_or_default();
    origin
        .split_once("://")
        .is_some_and(|(_, rest)| !host.is_empty() && rest == host)
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let sealed = cookie_value(&parts.headers)
            .and_then(|value| state.console_key.open(SEALED_FOR, value).ok())
            .and_then(|text| serde_json::from_str::<Sealed>(&text).ok())
            .filter(|s| s.ends > now_millis());
        Ok(Visitor {
            sealed,
            meta: RequestMeta::of(parts),
            same_origin: same_origin(parts),
        })
    }
}

/// Why a page cannot be shown to this caller: answered as a page, or by sending the
/// caller to sign in.
pub enum Turned {
    SignIn,
    Refused(StatusCode, String),
}

impl Turned {
    pub fn respond(self, base: &Base) -> Response {
        match self {
            Turned::SignIn => Redirect::to(&base.link("/sign-in")).into_response(),
            Turned::Refused(status, message) => (
                status,
                layout::bare(base, "Refused", html! { p role="alert" { (message) } }),
            )
                .into_response(),
        }
    }
}

impl From<Refusal> for Turned {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Unauthenticated(_) | Refusal::NoSuchTenant(_) | Refusal::OtherTenant(_) => {
                Turned::SignIn
            }
            Refusal::RateLimited {
                outcome,
                now,
                per_address,
            } => Turned::Refused(
                StatusCode::TOO_MANY_REQUESTS,
                Refusal::rate_message(&outcome, now, per_address),
            ),
            Refusal::Scope { has, needs } => Turned::Refused(
                StatusCode::FORBIDDEN,
                format!(
                    "this needs the `{}` scope; you signed in with a token of scope `{}`",
                    needs.as_str(),
                    has.as_str()
                ),
            ),
            Refusal::Failed(error) => failure(error),
        }
    }
}

/// What a page says of the service's error, and its status: the API's words (an internal
/// error or an outage is logged, and not shown).
pub fn said(error: ServiceError) -> (StatusCode, String) {
    let said = ApiError::from(error);
    (said.status(), said.message)
}

/// The page that says a request was not done, and why, with its status.
pub fn failed(base: &Base, session: &Session, title: &str, error: ServiceError) -> Response {
    let (status, message) = said(error);
    let body = html! { h1 { (title) } p.error role="alert" { (message) } };
    (status, page(base, session, title, body)).into_response()
}

pub fn failure(error: ServiceError) -> Turned {
    let (status, message) = said(error);
    Turned::Refused(status, message)
}

impl Visitor {
    /// The session, if the cookie opens, was not signed out, and its token may still act
    /// on its tenant with `need`.
    pub async fn admit(&self, state: &AppState, need: Scope) -> Result<Session, Turned> {
        let sealed = self.sealed.as_ref().ok_or(Turned::SignIn)?;
        let ended = state
            .service
            .sessions_ended(&sealed.token)
            .await
            .map_err(failure)?;
        if ended.is_some_and(|at| at >= sealed.opened) {
            return Err(Turned::SignIn);
        }
        let principal = caller::authorize(
            state,
            self.meta.client_addr,
            Credential::Secret(&sealed.token),
            &sealed.tenant,
            need,
        )
        .await?;
        let (scope, operator) = match &principal {
            Principal::Operator => (Scope::Admin, true),
            Principal::Tenant { scope, .. } => (*scope, false),
        };
        Ok(Session {
            tenant: sealed.tenant.clone(),
            ctx: Ctx {
                tenant: sealed.tenant.clone(),
                actor: Actor {
                    name: principal.actor_name(),
                    request_id: self.meta.request_id.clone(),
                    client_addr: self.meta.client_addr,
                },
            },
            scope,
            operator,
            csrf: sealed.csrf.clone(),
        })
    }

    /// The session for a change: admitted for `need`, and the form's CSRF secret (and
    /// origin) its own.
    pub async fn admit_change(
        &self,
        state: &AppState,
        need: Scope,
        csrf: Option<&str>,
    ) -> Result<Session, Turned> {
        let session = self.admit(state, need).await?;
        let given = csrf.unwrap_or("").as_bytes();
        if !self.same_origin || !secret::same_bytes(given, session.csrf.as_bytes()) {
            return Err(Turned::Refused(
                StatusCode::FORBIDDEN,
                "this change did not come from a page of this session (its CSRF token is missing or wrong): nothing was changed".into(),
            ));
        }
        Ok(session)
    }

    /// `admit`, or the answer that turns the caller away.
    pub async fn page_for(&self, state: &AppState, need: Scope) -> Result<Session, Response> {
        self.admit(state, need)
            .await
            .map_err(|turned| turned.respond(&Base::of(state)))
    }

    /// `admit_change`, or the answer that turns the caller away.
    pub async fn change_for(
        &self,
        state: &AppState,
        need: Scope,
        csrf: Option<&str>,
    ) -> Result<Session, Response> {
        self.admit_change(state, need, csrf)
            .await
            .map_err(|turned| turned.respond(&Base::of(state)))
    }

    fn client(&self) -> Option<IpAddr> {
        self.meta.client_addr
    }
}

/// The `Set-Cookie` header for `value` (empty: the cookie removed).
fn set_cookie(state: &AppState, base: &Base, value: &str) -> String {
    let path = if base.path().is_empty() {
        "/"
    } else {
        base.path()
    };
    let age = if value.is_empty() {
        0
    } else {
        LIFETIME_MS / 1000
    };
    let secure = if state.config.tls_cert.is_some() {
        "; Secure"
    } else {
        ""
    };
    format!("{COOKIE_NAME}={value}; Path={path}; Max-Age={age}; HttpOnly; SameSite=Strict{secure}")
}

#[derive(Deserialize)]
pub struct SignIn {
    token: String,
    #[serde(default)]
    tenant: String,
}

fn sign_in_form(base: &Base, error: Option<&str>) -> Page {
    layout::bare(
        base,
        "Sign in",
        html! {
            h1 { "Sign in to grantd" }
            @if let Some(error) = error {
                p.error role="alert" { (error) }
            }
            form method="post" action=(base.link("/sign-in")) {
                label for="token" { "Token" }
                input #token type="password" name="token" required autocomplete="off";
                label for="tenant" { "Tenant " span.hint { "(the operator chooses one; a tenant's token is its own)" } }
                input #tenant type="text" name="tenant" autocomplete="off";
                button type="submit" { "Sign in" }
            }
        },
    )
}

pub async fn sign_in_page(State(state): State<AppState>) -> Response {
    sign_in_form(&Base::of(&state), None).into_response()
}

pub async fn sign_in(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(form): Form<SignIn>,
) -> Response {
    let base = Base::of(&state);
    let refused = |status: StatusCode, message: &str| {
        (status, sign_in_form(&base, Some(message))).into_response()
    };
    if !visitor.same_origin {
        return refused(
            StatusCode::FORBIDDEN,
            "a sign-in must come from this server's page",
        );
    }
    let token = form.token.trim();
    let principal =
        match caller::identify(&state, visitor.client(), Credential::Secret(token)).await {
            Ok(principal) => principal,
            Err(Refusal::Unauthenticated(
                Unauthenticated::Invalid | Unauthenticated::Missing | Unauthenticated::Malformed,
            )) => return refused(StatusCode::UNAUTHORIZED, "this token is not valid"),
            Err(other) => {
                let Turned::Refused(status, message) = Turned::from(other) else {
                    return refused(StatusCode::UNAUTHORIZED, "this token is not valid");
                };
                return refused(status, &message);
            }
        };
    let tenant = match &principal {
        Principal::Tenant { tenant, .. } => tenant.to_string(),
        Principal::Operator => form.tenant.trim().to_string(),
    };
    if tenant.is_empty() {
        return refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "the operator names the tenant to open",
        );
    }
    if let Err(refusal) = caller::admit(&state, &principal, &tenant, Scope::Check).await {
        let message = match refusal {
            Refusal::NoSuchTenant(t) => format!("there is no tenant {t}"),
            Refusal::OtherTenant(t) => format!("this token is not valid for tenant {t}"),
            other => match Turned::from(other) {
                Turned::Refused(_, message) => message,
                Turned::SignIn => "this token is not valid".into(),
            },
        };
        return refused(StatusCode::FORBIDDEN, &message);
    }
    let now = now_millis();
    let sealed = Sealed {
        token: token.to_string(),
        tenant,
        csrf: secret::generate(),
        opened: now,
        ends: now + LIFETIME_MS,
    };
    let Ok(text) = serde_json::to_string(&sealed) else {
        return refused(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the session could not be made",
        );
    };
    let value = state.console_key.seal(SEALED_FOR, &text);
    (
        [(SET_COOKIE, set_cookie(&state, &base, &value))],
        Redirect::to(&base.link("/")),
    )
        .into_response()
}

#[derive(Deserialize)]
pub struct Csrf {
    #[serde(default)]
    pub csrf: Option<String>,
}

pub async fn sign_out(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(form): Form<Csrf>,
) -> Response {
    let base = Base::of(&state);
    let Some(sealed) = &visitor.sealed else {
        return Turned::SignIn.respond(&base);
    };
    // The form must be this session's; its token need not still be valid (the holder of
    // a revoked one signs out too, and the cookie goes).
    let given = form.csrf.as_deref().unwrap_or("").as_bytes();
    if !visitor.same_origin || !secret::same_bytes(given, sealed.csrf.as_bytes()) {
        return Turned::Refused(
            StatusCode::FORBIDDEN,
            "this sign-out did not come from a page of this session".into(),
        )
        .respond(&base);
    }
    if let Err(error) = state
        .service
        .end_sessions(&sealed.token, now_millis())
        .await
    {
        return failure(error).respond(&base);
    }
    (
        [(SET_COOKIE, set_cookie(&state, &base, ""))],
        Redirect::to(&base.link("/sign-in")),
    )
        .into_response()
}

/// A page for the session, in the console's frame.
pub fn page(base: &Base, session: &Session, title: &str, body: maud::Markup) -> Page {
    let frame = Frame {
        tenant: &session.tenant,
        scope: session.scope,
        operator: session.operator,
        csrf: &session.csrf,
    };
    layout::page(base, &frame, title, body)
}
