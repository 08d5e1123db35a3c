//! Who is calling, and whether they may: the one path every surface's guard takes (the
//! native extractors, the check answered before the router, Segment, SlashID, DataArts).
//! Each surface finds the credential where its clients send it and renders a `Refusal`
//! in its own envelope; what is decided, and counted, is decided here.
//!
//! - A credential that stands for nobody (or none at all) is refused, and counted against
//!   the client's address (`rate_limit_per_address`). Once the address has used up its
//!   refusals, a credential not authenticated moments ago is refused with 429 before it
//!   is hashed or looked up, so that a flood of bad tokens costs no store work.
//! - The operator may act in any tenant that exists and is not rate limited.
//! - A tenant's token may act in its own tenant only, within its scope, and each request
//!   counts against the per-token and per-tenant limits of the class of route (the scope
//!   it needs); see `RateLimiter::admit`.

use std::net::IpAddr;
use std::time::SystemTime;

use crate::auth::Principal;
use crate::ratelimit::Outcome;
use crate::service::{Scope, ServiceError};
use crate::state::AppState;

/// What a request presented as its credential.
#[derive(Debug, Clone, Copy)]
pub enum Credential<'a> {
    /// No credential header.
    Missing,
    /// A credential header that is not of the form the surface expects.
    Malformed,
    /// A bearer secret (a token), to authenticate.
    Secret(&'a str),
}

/// Why a credential did not authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unauthenticated {
    Missing,
    Malformed,
    /// It stands for nobody: revoked, never issued, or a signature that does not hold.
    Invalid,
}

/// Why a request may not go on; each surface answers it in its own envelope.
#[derive(Debug)]
pub enum Refusal {
    /// 401.
    Unauthenticated(Unauthenticated),
    /// 429: a caller's limit (`per_address` false) or the client address's limit of
    /// failed authentications (`per_address` true).
    RateLimited {
        outcome: Outcome,
        now: SystemTime,
        per_address: bool,
    },
    /// The operator named a tenant that does not exist (this one).
    NoSuchTenant(String),
    /// A tenant's credential on another tenant's path (this one).
    OtherTenant(String),
    /// The credential's scope does not cover the route's.
    Scope { has: Scope, needs: Scope },
    /// The store could not answer.
    Failed(ServiceError),
}

impl From<ServiceError> for Refusal {
    fn from(error: ServiceError) -> Self {
        Refusal::Failed(error)
    }
}

impl Refusal {
    /// Seconds until a rate-limited request may be retried (at least 1).
    pub fn retry_after_secs(outcome: &Outcome, now: SystemTime) -> u64 {
        outcome.retry_after(now).as_secs_f64().ceil().max(1.0) as u64
    }

    /// A 429's message, for the surfaces whose envelope has one.
    pub fn rate_message(outcome: &Outcome, now: SystemTime, per_address: bool) -> String {
        let retry = Self::retry_after_secs(outcome, now);
        if per_address {
            format!(
                "too many requests without a valid credential from this address ({} per minute); retry in {retry} s",
                outcome.limit
            )
        } else {
            format!(
                "rate limit of {} requests per minute reached; retry in {retry} s",
                outcome.limit
            )
        }
    }
}

fn address_limited(outcome: Outcome, now: SystemTime) -> Refusal {
    Refusal::RateLimited {
        outcome,
        now,
        per_address: true,
    }
}

/// `Err` once `client` has used up its failed authentications: what to answer instead of
/// hashing or looking up a credential.
pub fn gate(state: &AppState, client: Option<IpAddr>) -> Result<(), Refusal> {
    let now = SystemTime::now();
    match state.strangers.exhausted(client, now) {
        Some(outcome) => Err(address_limited(outcome, now)),
        None => Ok(()),
    }
}

/// Counts a failed authentication from `client`: the refusal is `why`, or 429 past the
/// address's limit. For a credential checked elsewhere (a DataArts signature) too.
pub fn failed(state: &AppState, client: Option<IpAddr>, why: Unauthenticated) -> Refusal {
    let now = SystemTime::now();
    match state.strangers.failed(client, now) {
        Some(outcome) if !outcome.allowed => address_limited(outcome, now),
        _ => Refusal::Unauthenticated(why),
    }
}

/// Who `credential` stands for.
pub async fn identify(
    state: &AppState,
    client: Option<IpAddr>,
    credential: Credential<'_>,
) -> Result<Principal, Refusal> {
    let secret = match credential {
        Credential::Secret(secret) => secret,
        Credential::Missing => return Err(failed(state, client, Unauthenticated::Missing)),
        Credential::Malformed => return Err(failed(state, client, Unauthenticated::Malformed)),
    };
    if let Some(principal) = state.auth.cached(secret) {
        return Ok(principal);
    }
    gate(state, client)?;
    match state.auth.authenticate(secret).await? {
        Some(principal) => Ok(principal),
        None => Err(failed(state, client, Unauthenticated::Invalid)),
    }
}

/// Whether `principal` may act on `tenant` with the scope `need`; counts the request
/// against the caller's rate limits.
pub async fn admit(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
    need: Scope,
) -> Result<(), Refusal> {
    let (actor, own, scope) = match principal {
        Principal::Operator => {
            return if state.service.tenant_exists(tenant).await? {
                Ok(())
            } else {
                Err(Refusal::NoSuchTenant(tenant.to_string()))
            };
        }
        Principal::Tenant {
            actor,
            tenant,
            scope,
        } => (actor, tenant, *scope),
    };
    if **own != *tenant {
        return Err(Refusal::OtherTenant(tenant.to_string()));
    }
    if !scope.covers(need) {
        return Err(Refusal::Scope {
            has: scope,
            needs: need,
        });
    }
    let limits = state.config.caller_limits();
    if limits.per_token.is_none() && limits.per_tenant.is_none() {
        return Ok(());
    }
    let now = SystemTime::now();
    state
        .limits
        .admit(limits, actor, tenant, need, now)
        .await
        .map_err(|outcome| Refusal::RateLimited {
            outcome,
            now,
            per_address: false,
        })
}

/// `identify`, then `admit`.
pub async fn authorize(
    state: &AppState,
    client: Option<IpAddr>,
    credential: Credential<'_>,
    tenant: &str,
    need: Scope,
) -> Result<Principal, Refusal> {
    let principal = identify(state, client, credential).await?;
    admit(state, &principal, tenant, need).await?;
    Ok(principal)
}
