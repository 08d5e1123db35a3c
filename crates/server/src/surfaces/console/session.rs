//! Signing in and out, and who a page's caller is. A session is a cookie sealed with the
//! server's key (ChaCha20-Poly1305): the token it was opened with, the tenant, a CSRF
//! secret, its id and when it ends. No node keeps it; each request opens it and
//! authenticates its token again through the one path every surface takes
//! (`http::caller`), so that a revoked token, a narrowed scope or a deleted tenant ends
//! the session at once, and the scope decides what each page offers and what the server
//! accepts. Signing out records the session's id as ended, for every node.

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
use crate::service::{new_id, now_millis, Actor, Ctx, Scope};
use crate::state::AppState;

/// The cookie's name.
const COOKIE_NAME: &str = "grantd_console";
/// How long a session lasts, whatever is done with it.
const LIFETIME_MS: i64 = 8 * 3600 * 1000;
/// What a session's cookie is sealed for: nothing else sealed with the key opens as one.
const SEALED_FOR: &str = "grantd console session";

/// What the cookie holds, sealed.
#[derive(Serialize, Deserialize)]
struct Sealed {
    id: String,
    token: String,
    tenant: String,
    csrf: String,
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
    id: String,
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

fn cookie_value(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value)
}

/// Whether the request's `Origin`, if it has one, is this server: a form posted from
/// another site is refused even before its CSRF secret is looked at.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    origin
        .split_once("://")
        .is_some_and(|(_, rest)| rest == host)
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
            same_origin: same_origin(&parts.headers),
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
            Refusal::Failed(error) => {
                Turned::Refused(StatusCode::SERVICE_UNAVAILABLE, error.to_string())
            }
        }
    }
}

impl Visitor {
    /// The session, if the cookie opens, was not signed out, and its token may still act
    /// on its tenant with `need`.
    pub async fn admit(&self, state: &AppState, need: Scope) -> Result<Session, Turned> {
        let sealed = self.sealed.as_ref().ok_or(Turned::SignIn)?;
        let ended = state
            .service
            .session_ended(&sealed.id)
            .await
            .map_err(|e| Turned::Refused(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?;
        if ended {
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
            id: sealed.id.clone(),
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
        if !self.same_origin || !constant_time_eq(given, session.csrf.as_bytes()) {
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

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
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
    let sealed = Sealed {
        id: new_id("ses"),
        token: token.to_string(),
        tenant,
        csrf: crate::service::secret::generate(),
        ends: now_millis() + LIFETIME_MS,
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
    let session = or_answer!(
        visitor
            .change_for(&state, Scope::Check, form.csrf.as_deref())
            .await
    );
    if let Err(error) = state.service.end_session(&session.id).await {
        return Turned::Refused(StatusCode::SERVICE_UNAVAILABLE, error.to_string()).respond(&base);
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
