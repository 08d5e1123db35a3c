//! The caller's authority, enforced by types: a handler that takes `TenantAccess<Write>`
//! cannot run unless the caller is the operator or holds a token of that tenant with the
//! write scope (or a broader one). The `Ctx` a handler passes to the service exists only
//! after that check.

use std::marker::PhantomData;
use std::net::IpAddr;

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::error::ApiError;
use crate::auth::{bearer_secret, Principal};
use crate::http::caller::{self, Credential, Refusal, Unauthenticated};
use crate::http::meta::{client_addr, RequestMeta};
use crate::service::{Actor, Ctx, Scope};
use crate::state::AppState;

/// A scope a route needs, as a type.
pub trait Need: Send + Sync + 'static {
    const SCOPE: Scope;
}

pub struct Admin;
pub struct Write;
pub struct Read;
pub struct Check;

impl Need for Admin {
    const SCOPE: Scope = Scope::Admin;
}
impl Need for Write {
    const SCOPE: Scope = Scope::Write;
}
impl Need for Read {
    const SCOPE: Scope = Scope::Read;
}
impl Need for Check {
    const SCOPE: Scope = Scope::Check;
}

/// A caller allowed to act on the path's tenant with the scope `N`.
pub struct TenantAccess<N: Need> {
    pub ctx: Ctx,
    /// The caller's own scope, at least `N`'s (`admin` for the operator).
    pub scope: Scope,
    _need: PhantomData<N>,
}

impl<N: Need> TenantAccess<N> {
    /// Whether the caller may see the tenant's tokens and access keys (as `GET /tokens`).
    pub fn sees_credentials(&self) -> bool {
        self.scope.covers(Scope::Admin)
    }
}

/// The operator: the only caller that may create, list and delete tenants.
pub struct OperatorAccess {
    pub actor: Actor,
}

/// The native surface's credential: `Authorization: Bearer <token>`.
fn credential(parts: &Parts) -> Credential<'_> {
    match parts.headers.get(AUTHORIZATION) {
        None => Credential::Missing,
        Some(header) => match header.to_str().ok().and_then(bearer_secret) {
            Some(secret) => Credential::Secret(secret),
            None => Credential::Malformed,
        },
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Unauthenticated(why) => ApiError::new(
                "unauthenticated",
                match why {
                    Unauthenticated::Missing => "send a token as `Authorization: Bearer <token>`",
                    Unauthenticated::Malformed => {
                        "the Authorization header must be `Bearer <token>`"
                    }
                    Unauthenticated::Invalid => {
                        "the bearer token is not valid (revoked, or never issued)"
                    }
                },
            ),
            Refusal::RateLimited {
                outcome,
                now,
                per_address,
            } => ApiError::new(
                "rate_limited",
                Refusal::rate_message(&outcome, now, per_address),
            ),
            Refusal::NoSuchTenant(tenant) => {
                ApiError::new("not_found", format!("tenant {tenant} does not exist"))
            }
            Refusal::OtherTenant(tenant) => ApiError::new(
                "forbidden",
                format!("this token is not valid for tenant {tenant}"),
            ),
            Refusal::Scope { has, needs } => ApiError::new(
                "forbidden",
                format!(
                    "this route needs the `{}` scope; the token has `{}`",
                    needs.as_str(),
                    has.as_str()
                ),
            ),
            Refusal::Failed(error) => error.into(),
        }
    }
}

fn actor(principal: &Principal, parts: &Parts) -> Actor {
    let meta = RequestMeta::of(parts);
    Actor {
        name: principal.actor_name(),
        request_id: meta.request_id,
        client_addr: meta.client_addr,
    }
}

/// Whether the caller, from `client`, may act on `tenant` with the scope `need`; counts
/// the request against the caller's rate limits. What `TenantAccess` checks, for a route
/// answered without the router (see `direct`).
pub async fn authorize(
    parts: &Parts,
    client: Option<IpAddr>,
    state: &AppState,
    tenant: &str,
    need: Scope,
) -> Result<Principal, ApiError> {
    Ok(caller::authorize(state, client, credential(parts), tenant, need).await?)
}

impl<N: Need> FromRequestParts<AppState> for TenantAccess<N> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let tenant = RawPathParams::from_request_parts(parts, state)
            .await
            .ok()
            .and_then(|params| {
                params
                    .iter()
                    .find(|(name, _)| *name == "tenant")
                    .map(|(_, v)| v.to_string())
            })
            .unwrap_or_default();
        let principal = authorize(parts, client_addr(parts), state, &tenant, N::SCOPE).await?;
        let scope = match &principal {
            Principal::Operator => Scope::Admin,
            Principal::Tenant { scope, .. } => *scope,
        };
        Ok(TenantAccess {
            ctx: Ctx {
                tenant,
                actor: actor(&principal, parts),
            },
            scope,
            _need: PhantomData,
        })
    }
}

impl FromRequestParts<AppState> for OperatorAccess {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let principal = caller::identify(state, client_addr(parts), credential(parts)).await?;
        match principal {
            principal @ Principal::Operator => Ok(OperatorAccess {
                actor: actor(&principal, parts),
            }),
            Principal::Tenant { .. } => Err(ApiError::new(
                "forbidden",
                "only the operator token may manage tenants",
            )),
        }
    }
}
