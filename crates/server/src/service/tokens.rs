//! Tenant tokens: 256-bit random secrets, shown once at creation and stored only as their
//! SHA-256 hash. A token carries scopes; each route needs one. An access key (AK/SK pair)
//! is a token for signed requests (DataArts' `SDK-HMAC-SHA256`): its id is the access key
//! and its secret key is kept to verify signatures.

use grantd_core::invalid::Checker;
use grantd_store::{ListQuery, TokenRecord};
use serde::Serialize;
use utoipa::ToSchema;

use super::objects::audit;
use super::secret;
use super::{Ctx, Page, Service, ServiceError, ServiceResult};

/// What a token may do. Each scope includes the ones after it: admin ⊇ write ⊇ read ⊇ check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Only checks and lookups.
    Check,
    /// Reads of the model, its changes and audit trail, and checks.
    Read,
    /// Changes to the model, and reads.
    Write,
    /// Everything in the tenant, tokens included.
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 4] = [Scope::Check, Scope::Read, Scope::Write, Scope::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Check => "check",
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(value: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.as_str() == value)
    }

    /// Whether a token holding `self` may use a route that needs `needed`.
    pub fn covers(self, needed: Scope) -> bool {
        self >= needed
    }
}

/// A token as listed: never its secret.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenView {
    pub id: String,
    pub scopes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub created_at: i64,
    /// `bearer`, or `access_key` for an AK/SK pair (whose id is the AK) that signs requests.
    pub kind: &'static str,
}

/// A token just created, with its secret: the only time the secret is shown.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub view: TokenView,
    pub secret: String,
    pub revision: i64,
}

impl From<TokenRecord> for TokenView {
    fn from(record: TokenRecord) -> Self {
        TokenView {
            id: record.id,
            scopes: record.scopes,
            name: record.name,
            created_at: record.created_at,
            kind: if record.signing_key.is_some() {
                "access_key"
            } else {
                "bearer"
            },
        }
    }
}

impl Service {
    #[tracing::instrument(skip(self, ctx), fields(tenant = %ctx.tenant))]
    pub async fn create_token(
        &self,
        ctx: &Ctx,
        scopes: &[String],
        name: Option<String>,
    ) -> ServiceResult<IssuedToken> {
        self.issue(ctx, scopes, name, false).await
    }

    /// Issues an access key: `view.id` is the AK, `secret` the SK (shown this once).
    #[tracing::instrument(skip(self, ctx), fields(tenant = %ctx.tenant))]
    pub async fn create_access_key(
        &self,
        ctx: &Ctx,
        scopes: &[String],
        name: Option<String>,
    ) -> ServiceResult<IssuedToken> {
        self.issue(ctx, scopes, name, true).await
    }

    async fn issue(
        &self,
        ctx: &Ctx,
        scopes: &[String],
        name: Option<String>,
        access_key: bool,
    ) -> ServiceResult<IssuedToken> {
        let mut c = Checker::new();
        if scopes.is_empty() {
            c.fail(
                "scopes",
                "must name at least one of: admin, write, read, check",
            );
        }
        for (i, s) in scopes.iter().enumerate() {
            if Scope::parse(s).is_none() {
                c.fail(
                    format!("scopes[{i}]"),
                    format!("{s:?} is not one of: admin, write, read, check"),
                );
            }
        }
        c.check("name", grantd_core::ids::text(&name));
        c.finish()?;
        let mut scopes = scopes.to_vec();
        scopes.sort();
        scopes.dedup();

        let (id, secret, hash, signing_key) = if access_key {
            let (ak, sk) = secret::access_key_pair();
            let hash = format!("ak:{ak}");
            // A secret key is never stored in clear: without a key to seal it, none is made.
            let sealer = self.sealer.as_ref().ok_or_else(|| {
                ServiceError::Invalid(grantd_core::Invalid::field(
                    "access_key",
                    "this server has no secret key to store an access key's secret key with: \
                     start every node with the same --secret-key-file",
                ))
            })?;
            let stored = sealer.seal(&access_key_owner(&ctx.tenant, &ak), &sk);
            (ak, sk, hash, Some(stored))
        } else {
            let secret = secret::generate();
            let hash = secret::hash(&secret);
            (super::new_id("tok"), secret, hash, None)
        };
        let record = TokenRecord {
            id,
            tenant: ctx.tenant.clone(),
            hash,
            scopes,
            name,
            created_at: chrono::Utc::now().timestamp_millis(),
            signing_key,
        };
        let mut tx = self.begin(ctx).await?;
        tx.insert_token(&record).await?;
        let target = format!("token:{}", record.id);
        let revision = self
            .commit(tx, audit(ctx, "token.create".into(), target))
            .await?;
        Ok(IssuedToken {
            view: record.into(),
            secret,
            revision,
        })
    }

    pub async fn list_tokens(
        &self,
        tenant: &str,
        after: Option<String>,
        limit: u32,
    ) -> ServiceResult<Page<TokenView>> {
        let query = ListQuery {
            prefix: None,
            after,
            limit: limit + 1,
        };
        let rows = self.store.list_tokens(tenant, &query).await?;
        Page::from_overfetch(
            rows,
            limit,
            |t| t.id.clone(),
            |t| Ok::<_, ServiceError>(t.into()),
        )
    }

    /// Revokes a token; returns its hash (for the caller's cache) and the revision.
    #[tracing::instrument(skip(self, ctx), fields(tenant = %ctx.tenant))]
    pub async fn delete_token(&self, ctx: &Ctx, id: &str) -> ServiceResult<(String, i64)> {
        let mut tx = self.begin(ctx).await?;
        let record = tx
            .delete_token(id)
            .await
            .map_err(|e| ServiceError::from_store(e, &format!("token {id}")))?;
        let revision = self
            .commit(tx, audit(ctx, "token.delete".into(), format!("token:{id}")))
            .await?;
        Ok((record.hash, revision))
    }
}

/// What an access key's sealed secret key is bound to.
fn access_key_owner(tenant: &str, id: &str) -> String {
    format!("{tenant}/access_key:{id}")
}

impl Service {
    /// The access key `id` of `tenant` and its secret key in clear, to verify a signature.
    pub async fn access_key(
        &self,
        tenant: &str,
        id: &str,
    ) -> ServiceResult<Option<(TokenRecord, String)>> {
        let Some(record) = self.store.find_access_key(tenant, id).await? else {
            return Ok(None);
        };
        let stored = record.signing_key.clone().unwrap_or_default();
        if !super::sealing::Sealer::is_sealed(&stored) {
            return Ok(Some((record, stored)));
        }
        let sealer = self.sealer.as_ref().ok_or_else(|| {
            ServiceError::Internal(
                "an access key is sealed and this server has no secret key".into(),
            )
        })?;
        let clear = sealer
            .open(&access_key_owner(tenant, id), &stored)
            .map_err(ServiceError::Internal)?;
        Ok(Some((record, clear)))
    }

    /// Seals the secret keys of access keys written in clear (before secrets were sealed,
    /// or by a node without a secret key); how many.
    pub async fn seal_access_keys(&self) -> ServiceResult<usize> {
        let Some(sealer) = &self.sealer else {
            return Ok(0);
        };
        let mut sealed = 0;
        for key in self.store.access_keys_without("sealed:").await? {
            let Some(clear) = key.signing_key else {
                continue;
            };
            let to = sealer.seal(&access_key_owner(&key.tenant, &key.id), &clear);
            if self.store.replace_signing_key(&key.id, &clear, &to).await? {
                sealed += 1;
            }
        }
        Ok(sealed)
    }
}
