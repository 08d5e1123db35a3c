//! The caller's authority, enforced by types: a handler that takes `TenantAccess<Write>`
//! cannot run unless the caller is the operator or holds a token of that tenant with the
//! write scope (or a broader one). The `Ctx` a handler passes to the service exists only
//! after that check.

use std::marker::PhantomData;

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::error::ApiError;
use crate::auth::{bearer_secret, Principal};
use crate::http::meta::RequestMeta;
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
    _need: PhantomData<N>,
}

/// The operator: the only caller that may create, list and delete tenants.
pub struct OperatorAccess {
    pub actor: Actor,
}

async fn principal(parts: &Parts, state: &AppState) -> Result<Principal, ApiError> {
    let header = parts.headers.get(AUTHORIZATION).ok_or_else(|| {
        ApiError::new(
            "unauthenticated",
            "send a token as `Authorization: Bearer <token>`",
        )
    })?;
    let secret = header
        .to_str()
        .ok()
        .and_then(bearer_secret)
        .ok_or_else(|| {
            ApiError::new(
                "unauthenticated",
                "the Authorization header must be `Bearer <token>`",
            )
        })?;
    state.auth.authenticate(secret).await?.ok_or_else(|| {
        ApiError::new(
            "unauthenticated",
            "the bearer token is not valid (revoked, or never issued)",
        )
    })
}

fn actor(principal: &Principal, parts: &Parts) -> Actor {
    let meta = RequestMeta::of(parts);
    Actor {
        name: principal.actor_name(),
        request_id: meta.request_id,
        client_addr: meta.client_addr,
    }
}

/// Whether the caller may act on `tenant` with the scope `need`; counts the request
/// against the caller's rate limits. What `TenantAccess` checks, for a route answered
/// without the router (see `direct`).
pub async fn authorize(
    parts: &Parts,
    state: &AppState,
    tenant: &str,
    need: Scope,
) -> Result<Principal, ApiError> {
    let principal = principal(parts, state).await?;
    let token = match &principal {
        Principal::Operator => {
            if !state.service.tenant_exists(tenant).await? {
                return Err(ApiError::new(
                    "not_found",
                    format!("tenant {tenant} does not exist"),
                ));
            }
            // The operator is not rate limited.
            return Ok(principal);
        }
        Principal::Tenant {
            tenant: own,
            scope,
            actor,
        } => {
            if **own != *tenant {
                return Err(ApiError::new(
                    "forbidden",
                    format!("this token is not valid for tenant {tenant}"),
                ));
            }
            if !scope.covers(need) {
                return Err(ApiError::new(
                    "forbidden",
                    format!(
                        "this route needs the `{}` scope; the token has `{}`",
                        need.as_str(),
                        scope.as_str()
                    ),
                ));
            }
            actor
        }
    };
    let limits = state.config.caller_limits();
    if limits.per_token.is_some() || limits.per_tenant.is_some() {
        let now = std::time::SystemTime::now();
        state
            .limits
            .admit(limits, token, tenant, now)
            .await
            .map_err(|outcome| {
                ApiError::new(
                    "rate_limited",
                    format!(
                        "rate limit of {} requests per minute reached; retry in {} s",
                        outcome.limit,
                        outcome.retry_after(now).as_secs().max(1)
                    ),
                )
            })?;
    }
    Ok(principal)
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
        let principal = authorize(parts, state, &tenant, N::SCOPE).await?;
        Ok(TenantAccess {
            ctx: Ctx {
                tenant,
                actor: actor(&principal, parts),
            },
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
        match principal(parts, state).await? {
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
