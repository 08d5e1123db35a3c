//! Several writes as one command: one transaction, one change record, one audit event.
//!
//! A command whose single request touches several objects (a policy writes a grant per
//! target; accepting an invite writes a user, its grants and its memberships) opens a
//! batch, reads and writes through it, and commits once. Batches are the service's own:
//! no surface opens one. Every write goes through the same checks as a single one:
//! validation, references, cycles, cascades. Dropping a batch without committing writes
//! nothing.

use grantd_core::{Invalid, Kind, Object, ObjectKey};
use grantd_store::{Expect, ListQuery, WriteTx};
use serde_json::Value;

use super::integrity::delete_with_dependents;
use super::objects::{audit, cast, cast_versioned, describe, Versioned};

use super::{Ctx, Service, ServiceError, ServiceResult};

/// Rows read per round trip when a batch reads a whole kind.
const PAGE: u32 = 1000;

pub(super) struct Batch<'a> {
    service: &'a Service,
    ctx: Ctx,
    tx: Box<dyn WriteTx>,
}

impl Service {
    /// Opens a batch on the context's tenant, taking its write lock.
    pub(super) async fn batch(&self, ctx: &Ctx) -> ServiceResult<Batch<'_>> {
        Ok(Batch {
            service: self,
            ctx: ctx.clone(),
            tx: self.begin(ctx).await?,
        })
    }

    /// `batch`, for a long command (an import): its transaction is shared with no other
    /// write, so that none waits for it to be answered.
    pub(super) async fn batch_alone(&self, ctx: &Ctx) -> ServiceResult<Batch<'_>> {
        let tx = self
            .store
            .begin_alone(&ctx.tenant)
            .await
            .map_err(|e| ServiceError::from_store(e, &format!("tenant {}", ctx.tenant)))?;
        Ok(Batch {
            service: self,
            ctx: ctx.clone(),
            tx,
        })
    }
}

impl Batch<'_> {
    pub async fn get<K: Object>(&mut self, key: &str) -> ServiceResult<Option<Versioned<K>>> {
        match self.tx.get(K::KIND.as_str(), key).await? {
            Some(stored) => Versioned::decode(stored).map(Some),
            None => Ok(None),
        }
    }

    /// Every object of the kind (whose key starts with `prefix`), in key order.
    pub async fn list<K: Object>(
        &mut self,
        prefix: Option<&str>,
    ) -> ServiceResult<Vec<Versioned<K>>> {
        let mut all = Vec::new();
        let mut after = None;
        loop {
            let query = ListQuery {
                prefix: prefix.map(str::to_string),
                after,
                limit: PAGE,
            };
            let page = self.tx.list(K::KIND.as_str(), &query).await?;
            let full = page.len() == PAGE as usize;
            after = page.last().map(|o| o.key.clone());
            for stored in page {
                all.push(Versioned::decode(stored)?);
            }
            if !full {
                return Ok(all);
            }
        }
    }

    /// Learns, in a few reads, which of `objects` (kind, key) exist: a command about to
    /// write them all then writes without a round trip each.
    pub async fn prefetch(&mut self, objects: &[(&str, &str)]) -> ServiceResult<()> {
        Ok(self.tx.prefetch(objects).await?)
    }

    /// Makes room for about `bytes` of change record (see `WriteTx::reserve_record`).
    pub fn reserve_record(&mut self, bytes: usize) {
        self.tx.reserve_record(bytes);
    }

    /// The objects that refer to `target`.
    pub async fn referencing(&mut self, target: &ObjectKey) -> ServiceResult<Vec<ObjectKey>> {
        let holders = self.tx.referencing(&target.to_string()).await?;
        Ok(holders
            .into_iter()
            .filter_map(|h| Some(ObjectKey::new(Kind::parse(&h.kind)?, h.key)))
            .collect())
    }

    /// The objects of kind `K` that refer to `target` (a subject's grants, a set's members).
    pub async fn holders<K: Object>(
        &mut self,
        target: &ObjectKey,
    ) -> ServiceResult<Vec<Versioned<K>>> {
        let mut found = Vec::new();
        for key in self.referencing(target).await? {
            if key.kind == K::KIND {
                if let Some(object) = self.get::<K>(&key.key).await? {
                    found.push(object);
                }
            }
        }
        Ok(found)
    }

    /// The tenant the batch writes to.
    pub fn tenant(&self) -> &str {
        &self.ctx.tenant
    }

    pub(super) fn service(&self) -> &Service {
        self.service
    }

    /// Who the batch writes for.
    pub fn actor(&self) -> &str {
        &self.ctx.actor.name
    }

    /// Writes an object if `expect` holds, with every check a single write makes and what
    /// it derives (a permission set's role, a data permission's grant, a member's role).
    pub async fn put<K: Object>(
        &mut self,
        object: &K,
        expect: Expect,
    ) -> ServiceResult<Versioned<K>> {
        if K::KIND == Kind::Grant {
            self.check_row_filter(&cast(object)?).await?;
        }
        if K::KIND == Kind::DataSource {
            let written = self.put_data_source(&cast(object)?, expect).await?;
            return cast_versioned(written);
        }
        match self.put_owned(object, expect).await? {
            Some(written) => Ok(written),
            None => self.put_plain(object, expect).await,
        }
    }

    /// Writes just this object, with every check a single write makes.
    pub(super) async fn put_plain<K: Object>(
        &mut self,
        object: &K,
        expect: Expect,
    ) -> ServiceResult<Versioned<K>> {
        self.service.write_in(&mut self.tx, object, expect).await
    }

    /// Deletes an object, what cascades from it and what it derived; returns the deleted
    /// keys, `target` first.
    pub async fn delete(&mut self, target: &ObjectKey) -> ServiceResult<Vec<ObjectKey>> {
        self.delete_expecting(target, Expect::Any).await
    }

    /// `delete`, if `expect` holds.
    pub(super) async fn delete_expecting(
        &mut self,
        target: &ObjectKey,
        expect: Expect,
    ) -> ServiceResult<Vec<ObjectKey>> {
        if target.kind == Kind::Label {
            self.refuse_label_in_use(&target.key).await?;
        }
        match self.delete_owned(target, expect).await? {
            Some(removed) => Ok(removed),
            None => self.delete_plain(target, expect).await,
        }
    }

    /// Deletes just this object and what cascades from it.
    pub(super) async fn delete_plain(
        &mut self,
        target: &ObjectKey,
        expect: Expect,
    ) -> ServiceResult<Vec<ObjectKey>> {
        delete_with_dependents(&mut *self.tx, target, expect).await
    }

    /// The stored body of `target`, if any.
    pub(super) async fn stored(&mut self, target: &ObjectKey) -> ServiceResult<Option<Value>> {
        Ok(self
            .tx
            .get(target.kind.as_str(), &target.key)
            .await?
            .map(|s| s.body))
    }

    /// Commits everything as one revision, audited as `action` on `target` with `detail`.
    pub async fn commit(
        self,
        action: &str,
        target: &ObjectKey,
        detail: Option<Value>,
    ) -> ServiceResult<i64> {
        self.commit_kind(action, target, detail, "batch").await
    }

    /// `commit`, counted in the write metrics under `kind`.
    pub(super) async fn commit_kind(
        self,
        action: &str,
        target: &ObjectKey,
        detail: Option<Value>,
        kind: &'static str,
    ) -> ServiceResult<i64> {
        let mut entry = audit(&self.ctx, action.to_string(), target);
        entry.detail = detail;
        let revision = self.service.commit(self.tx, entry).await?;
        metrics::counter!("grantd_writes_total", "kind" => kind).increment(1);
        Ok(revision)
    }
}

impl ServiceError {
    /// Places the field names of a validation error under `prefix` (an item of a request
    /// that holds several objects); other errors are unchanged.
    pub fn within(self, prefix: &str) -> ServiceError {
        match self {
            ServiceError::Invalid(Invalid(errors)) => ServiceError::Invalid(Invalid(
                errors
                    .into_iter()
                    .map(|mut e| {
                        e.field = format!("{prefix}.{}", e.field);
                        e
                    })
                    .collect(),
            )),
            other => other,
        }
    }

    /// `NotFound` for the object `key`.
    pub fn not_found(key: &ObjectKey) -> ServiceError {
        ServiceError::NotFound(describe(key))
    }
}
