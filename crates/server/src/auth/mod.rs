//! Who is calling: the operator, a tenant token, or nobody.
//!
//! The operator token is configured or generated at first start and kept only as a hash.
//! Tenant tokens are looked up by hash; positive answers are cached for a few seconds so
//! that authenticating a check costs neither a database round trip nor a hash. A token
//! revoked on this node stops working at once; on other nodes as soon as their index
//! applies the revocation's change record (a `Revoker` forgets it), and within the cache's
//! lifetime at the latest. While the database cannot be reached, a token looked up before
//! keeps working, so that checks go on from the index, unless it was revoked or found
//! missing since: a lookup that finds no token forgets it, as does every revocation the
//! index applies.

pub mod bootstrap;
mod misses;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, Instant};

use foldhash::fast::RandomState;
use grantd_store::{Store, StoreError, TokenRecord};

use crate::service::{secret, Scope, ServiceError, ServiceResult};

/// How long a looked-up token is trusted without asking the store again.
const CACHE_TTL: Duration = Duration::from_secs(5);
/// Past this many entries the cache starts over, bounding its memory.
const CACHE_MAX: usize = 100_000;

/// An authenticated caller. Cheap to clone: its strings are shared.
#[derive(Debug, Clone)]
pub enum Principal {
    Operator,
    Tenant {
        /// `token:<id>`, as the caller appears in audit events.
        actor: Arc<str>,
        tenant: Arc<str>,
        scope: Scope,
    },
}

impl Principal {
    /// How the caller appears in audit events.
    pub fn actor_name(&self) -> String {
        match self {
            Principal::Operator => "operator".into(),
            Principal::Tenant { actor, .. } => actor.to_string(),
        }
    }
}

/// Looked-up tokens by the secret itself, so that a cached token costs no SHA-256; the
/// secret is in the request anyway, and never leaves this process. Hashed with foldhash
/// (randomly seeded): only valid tokens are ever inserted, so a caller cannot choose the
/// keys.
#[derive(Default)]
struct Cache {
    entries: RwLock<HashMap<Box<str>, (Principal, Instant), RandomState>>,
    /// Counts the forgettings (each made under the write lock): a lookup that started
    /// before one does not cache what it found, for it may be what was just revoked.
    forgettings: AtomicU64,
}

impl Cache {
    fn forget(&self, keep: impl Fn(&str, &Principal) -> bool) {
        if let Ok(mut entries) = self.entries.write() {
            entries.retain(|secret, (principal, _)| keep(secret, principal));
            self.forgettings.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn remove(&self, secret: &str) {
        if let Ok(mut entries) = self.entries.write() {
            if entries.remove(secret).is_some() {
                self.forgettings.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
}

pub struct Authenticator {
    store: Arc<dyn Store>,
    operator: [u8; 32],
    cache: Arc<Cache>,
    /// Digests that stood for nobody moments ago: a repeated bad token is not looked up.
    misses: misses::Misses,
}

/// Forgets revoked tokens in an authenticator's cache, for whoever learns of revocations
/// (the index follower, through the application). Holds the cache weakly.
pub struct Revoker(Weak<Cache>);

impl Revoker {
    /// Forgets the tenant's token or access key `id`; false once the cache is gone.
    pub fn token(&self, tenant: &str, id: &str) -> bool {
        let actor = format!("token:{id}");
        self.retain(|p| !matches!(p, Principal::Tenant { tenant: t, actor: a, .. } if &**t == tenant && **a == *actor))
    }

    /// Forgets every token of a tenant (deleted, or deleted and created again).
    pub fn tenant(&self, tenant: &str) -> bool {
        self.retain(|p| !matches!(p, Principal::Tenant { tenant: t, .. } if &**t == tenant))
    }

    /// Forgets every token: for one who may have missed revocations.
    pub fn everything(&self) -> bool {
        self.retain(|_| false)
    }

    fn retain(&self, keep: impl Fn(&Principal) -> bool) -> bool {
        let Some(cache) = self.0.upgrade() else {
            return false;
        };
        cache.forget(|_, principal| keep(principal));
        true
    }
}

impl Authenticator {
    /// `operator_hash` is the hex SHA-256 of the operator token.
    pub fn new(store: Arc<dyn Store>, operator_hash: &str) -> Self {
        let mut operator = [0u8; 32];
        if hex::decode_to_slice(operator_hash, &mut operator).is_err() {
            // An unreadable stored hash matches no token; a restart with a token fixes it.
            tracing::error!(
                "the stored operator token hash is not valid hex: no token is the operator's"
            );
            operator = secret::digest(&secret::generate());
        }
        Self {
            store,
            operator,
            cache: Arc::new(Cache::default()),
            misses: misses::Misses::default(),
        }
    }

    /// A handle that forgets revoked tokens in this authenticator's cache.
    pub fn revoker(&self) -> Revoker {
        Revoker(Arc::downgrade(&self.cache))
    }

    /// The principal a bearer secret stands for, or `None` if it stands for nobody.
    pub async fn authenticate(&self, secret: &str) -> ServiceResult<Option<Principal>> {
        if let Some(principal) = self.cached(secret) {
            return Ok(Some(principal));
        }
        let digest = secret::digest(secret);
        let forgettings = self.cache.forgettings.load(Ordering::SeqCst);
        let principal = if secret::same_digest(&digest, &self.operator) {
            Principal::Operator
        } else {
            if self.misses.contains(&digest) {
                return Ok(None);
            }
            let found = match self.store.find_token(&hex::encode(digest)).await {
                Ok(found) => found,
                // While the database is away, a token seen before keeps working: nobody
                // can revoke it meanwhile, and checks go on from the index.
                Err(StoreError::Unavailable(reason)) => match self.last_known(secret) {
                    Some(principal) => return Ok(Some(principal)),
                    None => return Err(ServiceError::Unavailable(reason)),
                },
                Err(other) => return Err(other.into()),
            };
            let Some(record) = found else {
                // Revoked or never issued: not even an outage brings it back.
                self.cache.remove(secret);
                self.misses.insert(digest);
                return Ok(None);
            };
            principal_of(record)
        };
        if let Ok(mut cache) = self.cache.entries.write() {
            if self.cache.forgettings.load(Ordering::SeqCst) != forgettings {
                // Something was revoked while the store was asked: perhaps this.
                return Ok(Some(principal));
            }
            if cache.len() >= CACHE_MAX {
                cache.clear();
            }
            cache.insert(Box::from(secret), (principal.clone(), Instant::now()));
        }
        Ok(Some(principal))
    }

    /// The principal of a secret looked up moments ago, if any: no hash, no lookup.
    pub fn cached(&self, secret: &str) -> Option<Principal> {
        let cache = self.cache.entries.read().ok()?;
        let (principal, at) = cache.get(secret)?;
        (at.elapsed() < CACHE_TTL).then(|| principal.clone())
    }

    /// The principal a secret stood for when last looked up, however long ago.
    fn last_known(&self, secret: &str) -> Option<Principal> {
        let cache = self.cache.entries.read().ok()?;
        cache.get(secret).map(|(principal, _)| principal.clone())
    }

    /// Forgets every token of a deleted tenant at once.
    pub fn forget_tenant(&self, tenant: &str) {
        self.revoker().tenant(tenant);
    }

    /// Forgets a revoked token, named by its hex hash, at once.
    pub fn forget(&self, hash: &str) {
        self.cache.forget(|secret, _| secret::hash(secret) != hash);
    }
}

/// The secret of an `Authorization: Bearer <secret>` header value, if it has that form.
pub fn bearer_secret(header: &str) -> Option<&str> {
    header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// A token's principal: its broadest scope stands for all, since scopes nest.
pub fn principal_of(record: TokenRecord) -> Principal {
    let scope = record
        .scopes
        .iter()
        .filter_map(|s| Scope::parse(s))
        .max()
        .unwrap_or(Scope::Check);
    Principal::Tenant {
        actor: Arc::from(format!("token:{}", record.id).as_str()),
        tenant: Arc::from(record.tenant.as_str()),
        scope,
    }
}
