//! Who is calling: the operator, a tenant token, or nobody.
//!
//! The operator token is configured or generated at first start and kept only as a hash.
//! Tenant tokens are looked up by hash; positive answers are cached for a few seconds so
//! that authenticating a check costs no database round trip. A token revoked on this node
//! stops working at once; on other nodes within the cache's lifetime.

pub mod bootstrap;
pub mod secret;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use grantd_store::{Store, TokenRecord};

use crate::service::{Scope, ServiceError, ServiceResult};

/// How long a looked-up token is trusted without asking the store again.
const CACHE_TTL: Duration = Duration::from_secs(5);
/// Past this many entries the cache starts over, bounding its memory.
const CACHE_MAX: usize = 100_000;

/// An authenticated caller.
#[derive(Debug, Clone)]
pub enum Principal {
    Operator,
    Tenant {
        token_id: String,
        tenant: String,
        scope: Scope,
    },
}

impl Principal {
    /// How the caller appears in audit events.
    pub fn actor_name(&self) -> String {
        match self {
            Principal::Operator => "operator".into(),
            Principal::Tenant { token_id, .. } => format!("token:{token_id}"),
        }
    }
}

pub struct Authenticator {
    store: Arc<dyn Store>,
    operator_hash: String,
    cache: RwLock<HashMap<String, (Principal, Instant)>>,
}

impl Authenticator {
    pub fn new(store: Arc<dyn Store>, operator_hash: String) -> Self {
        Self {
            store,
            operator_hash,
            cache: RwLock::new(HashMap::new()),
        }
    }

    /// The principal a bearer secret stands for, or `None` if it stands for nobody.
    pub async fn authenticate(&self, secret: &str) -> ServiceResult<Option<Principal>> {
        let hash = secret::hash(secret);
        if secret::same_hash(&hash, &self.operator_hash) {
            return Ok(Some(Principal::Operator));
        }
        if let Some(principal) = self.cached(&hash) {
            return Ok(Some(principal));
        }
        let Some(record) = self
            .store
            .find_token(&hash)
            .await
            .map_err(ServiceError::from)?
        else {
            return Ok(None);
        };
        let principal = principal_of(record);
        if let Ok(mut cache) = self.cache.write() {
            if cache.len() >= CACHE_MAX {
                cache.clear();
            }
            cache.insert(hash, (principal.clone(), Instant::now()));
        }
        Ok(Some(principal))
    }

    fn cached(&self, hash: &str) -> Option<Principal> {
        let cache = self.cache.read().ok()?;
        let (principal, at) = cache.get(hash)?;
        (at.elapsed() < CACHE_TTL).then(|| principal.clone())
    }

    /// Forgets every token of a deleted tenant at once.
    pub fn forget_tenant(&self, tenant: &str) {
        if let Ok(mut cache) = self.cache.write() {
            cache.retain(|_, (principal, _)| {
                !matches!(principal, Principal::Tenant { tenant: t, .. } if t == tenant)
            });
        }
    }

    /// Forgets a revoked token at once.
    pub fn forget(&self, hash: &str) {
        if let Ok(mut cache) = self.cache.write() {
            cache.remove(hash);
        }
    }
}

/// A token's principal: its broadest scope stands for all, since scopes nest.
fn principal_of(record: TokenRecord) -> Principal {
    let scope = record
        .scopes
        .iter()
        .filter_map(|s| Scope::parse(s))
        .max()
        .unwrap_or(Scope::Check);
    Principal::Tenant {
        token_id: record.id,
        tenant: record.tenant,
        scope,
    }
}
