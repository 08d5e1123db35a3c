//! Commands and queries on the tenant's objects, generic over the kind.
//!
//! Each write checks the object, that what it references exists, and that it closes no
//! cycle; a delete takes with it every object that references the deleted one by a
//! cascading reference, and is refused while a restricting one remains.

use grantd_core::{Invalid, Object, ObjectKey};
use grantd_store::{AuditEntry, Expect, ListQuery, StoredObject, WriteTx};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::derived;
use super::feed::Page;
use super::{Ctx, Service, ServiceError, ServiceResult};

/// Most objects one filtered listing reads.
const FILTER_SCAN: usize = 10_000;

/// An object with the version that last wrote it and its times (ms since the epoch).
#[derive(Debug, Clone)]
pub struct Versioned<K> {
    pub object: K,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The outcome of a write: the object as written, and whether it was created.
#[derive(Debug, Clone)]
pub struct Written<K> {
    pub value: Versioned<K>,
    pub created: bool,
}

impl<K: Object> Versioned<K> {
    pub(super) fn decode(stored: StoredObject) -> ServiceResult<Self> {
        let object = serde_json::from_value(stored.body).map_err(|e| {
            ServiceError::Internal(format!(
                "stored {} {} is unreadable: {e}",
                K::KIND,
                stored.key
            ))
        })?;
        Ok(Versioned {
            object,
            version: stored.version,
            created_at: stored.created_at,
            updated_at: stored.updated_at,
        })
    }
}

/// One kind seen as another: `K` is the concrete type its `KIND` names.
pub(super) fn cast<A: Serialize + 'static, B: DeserializeOwned + Clone + 'static>(
    value: &A,
) -> ServiceResult<B> {
    // The same type, as it mostly is (a grant checked as a grant), is cloned, not encoded.
    if let Some(same) = (value as &dyn std::any::Any).downcast_ref::<B>() {
        return Ok(same.clone());
    }
    serde_json::to_value(value)
        .and_then(serde_json::from_value)
        .map_err(|e| ServiceError::Internal(format!("kind mismatch: {e}")))
}

pub(super) fn cast_versioned<A: Serialize + 'static, B: DeserializeOwned + Clone + 'static>(
    v: Versioned<A>,
) -> ServiceResult<Versioned<B>> {
    Ok(Versioned {
        object: cast(&v.object)?,
        version: v.version,
        created_at: v.created_at,
        updated_at: v.updated_at,
    })
}

/// `user u1`: how errors name an object.
pub(super) fn describe(key: &ObjectKey) -> String {
    format!("{} {}", key.kind, key.key)
}

pub(super) fn audit(ctx: &Ctx, action: String, target: impl ToString) -> AuditEntry {
    AuditEntry {
        actor: ctx.actor.name.clone(),
        action,
        target: target.to_string(),
        request_id: ctx.actor.request_id.clone(),
        client_addr: ctx.actor.client_addr.map(|ip| ip.to_string()),
        detail: None,
    }
}

/// Applies an RFC 7396 merge patch.
fn merge_patch(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                if value.is_null() {
                    target.remove(key);
                } else {
                    merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
                }
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}

impl Service {
    #[tracing::instrument(skip(self), fields(kind = %K::KIND))]
    pub async fn get<K: Object>(&self, tenant: &str, key: &str) -> ServiceResult<Versioned<K>> {
        let what = describe(&ObjectKey::new(K::KIND, key));
        let stored = self
            .store
            .get(tenant, K::KIND.as_str(), key)
            .await
            .map_err(|e| ServiceError::from_store(e, &what))?
            .ok_or(ServiceError::NotFound(what))?;
        Versioned::decode(stored)
    }

    /// Objects of the kind in key order, `limit` at a time, after the key `after`.
    #[tracing::instrument(skip(self), fields(kind = %K::KIND))]
    pub async fn list<K: Object>(
        &self,
        tenant: &str,
        prefix: Option<String>,
        after: Option<String>,
        limit: u32,
    ) -> ServiceResult<Page<Versioned<K>>> {
        let query = ListQuery {
            prefix,
            after,
            limit: limit + 1,
        };
        let found = self.store.list(tenant, K::KIND.as_str(), &query).await?;
        Page::from_overfetch(found, limit, |o| o.key.clone(), Versioned::decode)
    }

    /// Objects of the kind that `keep` keeps, in key order, up to `limit` at a time after
    /// the key `after`. A request reads at most `FILTER_SCAN` objects: a page may then hold
    /// fewer than `limit`, and its cursor goes on from the last one read.
    pub async fn list_where<K: Object>(
        &self,
        tenant: &str,
        prefix: Option<String>,
        mut after: Option<String>,
        limit: u32,
        keep: impl Fn(&K) -> bool,
    ) -> ServiceResult<Page<Versioned<K>>> {
        let mut kept: Vec<Versioned<K>> = Vec::new();
        let mut scanned = 0;
        loop {
            let page = self
                .list::<K>(tenant, prefix.clone(), after.clone(), 1000)
                .await?;
            for item in page.items {
                scanned += 1;
                let key = item.object.key();
                if keep(&item.object) {
                    if kept.len() == limit as usize {
                        // One more than a page: another page follows the last kept.
                        let next = kept.last().map(|k| k.object.key());
                        return Ok(Page { items: kept, next });
                    }
                    kept.push(item);
                }
                after = Some(key);
            }
            if page.next.is_none() {
                return Ok(Page {
                    items: kept,
                    next: None,
                });
            }
            if scanned >= FILTER_SCAN {
                return Ok(Page {
                    items: kept,
                    next: after,
                });
            }
        }
    }

    /// Every object of the kind (whose key starts with `prefix`), in key order; for the
    /// surfaces whose listings count their whole collection.
    pub async fn list_all<K: Object>(
        &self,
        tenant: &str,
        prefix: Option<&str>,
    ) -> ServiceResult<Vec<Versioned<K>>> {
        let mut all = Vec::new();
        let mut after = None;
        loop {
            let page = self
                .list::<K>(tenant, prefix.map(str::to_string), after, 1000)
                .await?;
            all.extend(page.items);
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(all),
            }
        }
    }

    /// Objects of the kind that refer to `owner` (a set's permissions), in key order,
    /// `limit` at a time, after the key `after`; not found if `owner` is missing.
    pub async fn list_held<K: Object>(
        &self,
        tenant: &str,
        owner: &ObjectKey,
        after: Option<String>,
        limit: u32,
    ) -> ServiceResult<Page<Versioned<K>>> {
        let what = describe(owner);
        self.store
            .get(tenant, owner.kind.as_str(), &owner.key)
            .await
            .map_err(|e| ServiceError::from_store(e, &what))?
            .ok_or(ServiceError::NotFound(what))?;
        let mut keys: Vec<String> = self
            .referencing(tenant, owner)
            .await?
            .into_iter()
            .filter(|k| k.kind == K::KIND && after.as_ref().is_none_or(|a| k.key > *a))
            .map(|k| k.key)
            .collect();
        keys.sort();
        keys.dedup();
        keys.truncate(limit as usize + 1);
        let mut found = Vec::new();
        for key in keys {
            match self.get::<K>(tenant, &key).await {
                Ok(object) => found.push(object),
                Err(ServiceError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Page::from_overfetch(found, limit, |o| o.object.key(), Ok)
    }

    /// The keys of the objects that refer to `target`.
    pub async fn referencing(
        &self,
        tenant: &str,
        target: &ObjectKey,
    ) -> ServiceResult<Vec<ObjectKey>> {
        let holders = self.store.referencing(tenant, &target.to_string()).await?;
        Ok(holders
            .into_iter()
            .filter_map(|h| Some(ObjectKey::new(grantd_core::Kind::parse(&h.kind)?, h.key)))
            .collect())
    }

    /// The objects of kind `K` that refer to `target` (a subject's grants, a set's members).
    pub async fn holders<K: Object>(
        &self,
        tenant: &str,
        target: &ObjectKey,
    ) -> ServiceResult<Vec<Versioned<K>>> {
        let mut found = Vec::new();
        for key in self.referencing(tenant, target).await? {
            if key.kind == K::KIND {
                match self.get::<K>(tenant, &key.key).await {
                    Ok(object) => found.push(object),
                    // Deleted since the references were read.
                    Err(ServiceError::NotFound(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(found)
    }

    /// Creates an object; `AlreadyExists` if its key is taken.
    pub async fn create<K: Object>(&self, ctx: &Ctx, object: K) -> ServiceResult<Written<K>> {
        self.write(ctx, object, Expect::Absent).await
    }

    /// Creates or replaces the object at its key, if `expect` holds; with `Expect::Absent`
    /// (If-None-Match: *) an existing object fails the precondition.
    pub async fn put<K: Object>(
        &self,
        ctx: &Ctx,
        object: K,
        expect: Expect,
    ) -> ServiceResult<Written<K>> {
        self.write(ctx, object, expect).await.map_err(|e| match e {
            ServiceError::AlreadyExists(what) if expect == Expect::Absent => {
                ServiceError::PreconditionFailed(format!(
                    "{what} already exists and If-None-Match: * allows only creating it"
                ))
            }
            other => other,
        })
    }

    /// Applies a JSON merge patch to the object at `key`, if `expect` holds. Fields that
    /// identify the object cannot change.
    #[tracing::instrument(skip(self, ctx, patch), fields(kind = %K::KIND, tenant = %ctx.tenant))]
    pub async fn patch<K: Object>(
        &self,
        ctx: &Ctx,
        key: &str,
        patch: &Value,
        expect: Expect,
    ) -> ServiceResult<Written<K>> {
        let target = ObjectKey::new(K::KIND, key);
        let what = describe(&target);
        let mut batch = self.batch(ctx).await?;
        let current = batch
            .get::<K>(key)
            .await?
            .ok_or_else(|| ServiceError::NotFound(what.clone()))?;
        if let Expect::Version(v) = expect {
            if v != current.version {
                return Err(ServiceError::from_store(
                    grantd_store::StoreError::VersionMismatch {
                        current: current.version,
                    },
                    &what,
                ));
            }
        }
        let stored = batch.stored(&target).await?.unwrap_or(Value::Null);
        let mut body = stored.clone();
        merge_patch(&mut body, patch);
        derived::refuse_derived(K::KIND, &what, Some(&stored), Some(&body))?;
        let object: K =
            serde_json::from_value(body).map_err(|e| Invalid::field("body", e.to_string()))?;
        if object.key() != key {
            return Err(Invalid::field(
                "body",
                "the fields that identify the object cannot change",
            )
            .into());
        }
        let value = batch.put(&object, Expect::Version(current.version)).await?;
        let action = format!("{}.update", K::KIND);
        let revision = batch
            .commit_kind(&action, &target, None, K::KIND.as_str())
            .await?;
        debug_assert_eq!(revision, value.version);
        Ok(Written {
            value,
            created: false,
        })
    }

    /// Deletes the object at `key`, if `expect` holds, with every object that references it
    /// by a cascading reference. Returns the revision.
    #[tracing::instrument(skip(self, ctx), fields(kind = %K::KIND, tenant = %ctx.tenant))]
    pub async fn delete<K: Object>(
        &self,
        ctx: &Ctx,
        key: &str,
        expect: Expect,
    ) -> ServiceResult<i64> {
        let target = ObjectKey::new(K::KIND, key);
        let mut batch = self.batch(ctx).await?;
        if let Some(stored) = batch.stored(&target).await? {
            derived::refuse_derived(K::KIND, &describe(&target), Some(&stored), None)?;
        }
        let removed = batch.delete_expecting(&target, expect).await?;
        let detail = (removed.len() > 1).then(|| {
            let cascaded: Vec<String> = removed[1..].iter().map(ToString::to_string).collect();
            serde_json::json!({ "cascaded": cascaded })
        });
        let action = format!("{}.delete", K::KIND);
        batch
            .commit_kind(&action, &target, detail, K::KIND.as_str())
            .await
    }

    pub(super) async fn begin(&self, ctx: &Ctx) -> ServiceResult<Box<dyn WriteTx>> {
        self.store
            .begin(&ctx.tenant)
            .await
            .map_err(|e| ServiceError::from_store(e, &format!("tenant {}", ctx.tenant)))
    }

    #[tracing::instrument(skip(self, ctx, object), fields(kind = %K::KIND, tenant = %ctx.tenant))]
    async fn write<K: Object>(
        &self,
        ctx: &Ctx,
        object: K,
        expect: Expect,
    ) -> ServiceResult<Written<K>> {
        object.validate()?;
        let target = object.object_key();
        let what = describe(&target);
        let body = serde_json::to_value(&object)
            .map_err(|e| ServiceError::Internal(format!("cannot encode {target}: {e}")))?;
        let mut batch = self.batch(ctx).await?;
        // Whether the object and what it refers to exist, in one read: a create then
        // makes no other.
        let refs = object.refs();
        let mut wanted = vec![(K::KIND.as_str(), target.key.as_str())];
        wanted.extend(
            refs.iter()
                .map(|r| (r.target.kind.as_str(), r.target.key.as_str())),
        );
        batch.prefetch(&wanted).await?;
        let stored = batch.stored(&target).await?;
        derived::refuse_derived(K::KIND, &what, stored.as_ref(), Some(&body))?;
        let existed = stored.is_some();
        let value = batch.put(&object, expect).await?;
        let verb = if existed { "replace" } else { "create" };
        let action = format!("{}.{verb}", K::KIND);
        batch
            .commit_kind(&action, &target, None, K::KIND.as_str())
            .await?;
        Ok(Written {
            value,
            created: !existed,
        })
    }
}
