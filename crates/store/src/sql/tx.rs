//! A tenant's write: one member of a group of writes sharing one transaction (`group`).
//! It holds the tenant's lane from begin to the end of its part, remembers what it put and
//! deleted, and records that as its change record beside its audit event; it is answered
//! once the group has committed.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use sqlx::{AnyConnection, Row};
use tokio::sync::OwnedMutexGuard;
use tokio::task::JoinHandle;

use super::behind::{self, Behind, Held, HeldRef};
use super::dialect::Backend;
use super::group::{self, Group, Lane};
use super::owned_tx::OwnedTx;
use super::rows::{self, OBJECT_COLUMNS};
use crate::{
    AuditEntry, ChangeOp, Committed, Expect, ListQuery, NewObject, ObjectText, ReadTx, RefHolder,
    Result, StoreError, StoredObject, TokenRecord, WriteTx,
};

/// References written, or objects looked up, per statement: well within SQLite's 999
/// parameters.
const REFS_PER_STATEMENT: usize = 100;

/// Objects a prefetch learns of one by one at most; past that it first asks which of their
/// kinds the tenant holds none of.
const PREFETCH_BY_KIND: usize = 1000;

pub struct SqlTx {
    pub(super) turn: Turn,
    pub(super) tenant: String,
    pub(super) revision: i64,
    pub(super) ops: Ops,
    pub(super) now: i64,
    /// What is known without a read, and the new objects not yet written.
    pub(super) behind: Behind,
}

/// A change record's operations as a JSON array, each written out as it is done: a long
/// write keeps its bodies once, in the objects it returns, not again in its change.
#[derive(Default)]
pub(super) struct Ops(Vec<u8>);

impl Ops {
    fn push<B: serde::Serialize>(&mut self, op: &ChangeOp<B>) -> Result<()> {
        self.0.push(if self.0.is_empty() { b'[' } else { b',' });
        serde_json::to_writer(&mut self.0, op)?;
        Ok(())
    }

    fn finish(mut self) -> Result<String> {
        if self.0.is_empty() {
            self.0.push(b'[');
        }
        self.0.push(b']');
        String::from_utf8(self.0)
            .map_err(|e| StoreError::Internal(format!("a change record is not text: {e}")))
    }
}

/// A writer's hold on its tenant's lane, and through it on the group's transaction.
pub(super) struct Turn {
    pub(super) lane: Arc<Lane>,
    /// `None` once the writer's part has ended.
    pub(super) guard: Option<OwnedMutexGuard<Option<Group>>>,
    /// The writer that began the transaction; the others each wrote behind a savepoint.
    pub(super) leader: bool,
    /// The group, while a task of its own writes held rows on its connection (`send_away`).
    pub(super) away: Option<JoinHandle<(Group, Result<()>)>>,
}

impl Turn {
    /// The group, back from a task writing on its connection, if one was: a write it failed
    /// fails the group.
    async fn group(&mut self) -> Result<&mut Group> {
        if let Some(away) = self.away.take() {
            let (mut group, written) = away.await.map_err(|e| {
                StoreError::Internal(format!("a write's rows were lost with their task: {e}"))
            })?;
            if let Err(error) = written {
                group.break_with(error.clone());
                self.put_back(group);
                return Err(error);
            }
            self.put_back(group);
        }
        match self.guard.as_mut().and_then(|guard| guard.as_mut()) {
            Some(group) => Ok(group),
            None => Err(StoreError::Internal(
                "a write's transaction was lost with its task".into(),
            )),
        }
    }

    fn put_back(&mut self, group: Group) {
        if let Some(guard) = self.guard.as_mut() {
            **guard = Some(group);
        }
    }

    async fn conn(&mut self) -> Result<&mut AnyConnection> {
        Ok(self.group().await?.conn())
    }

    async fn conn_to(&mut self) -> Result<(&mut AnyConnection, Backend)> {
        Ok(self.group().await?.conn_to())
    }

    /// Writes `held` on a task of its own, which takes the group (and its connection) until
    /// the next use of either. Only a group no one joins goes: a member's savepoint would
    /// otherwise be undone on a connection that is away.
    async fn send_away(&mut self, held: Held, at: (String, i64, i64)) -> Result<()> {
        self.group().await?;
        let Some(mut group) = self.guard.as_mut().and_then(|guard| guard.take()) else {
            return Err(StoreError::Internal(
                "a write's transaction was lost".into(),
            ));
        };
        self.away = Some(tokio::spawn(async move {
            let (tenant, revision, now) = at;
            let (conn, backend) = group.conn_to();
            let written = held.write(conn, backend, &tenant, revision, now).await;
            (group, written)
        }));
        // A task spawned here waits for this one to yield before it starts: let it start.
        tokio::task::yield_now().await;
        Ok(())
    }
}

impl Drop for Turn {
    /// A part dropped before its commit is undone. The leader's is the whole transaction
    /// (no one has joined while the leader held the lane), rolled back with the group.
    fn drop(&mut self) {
        let Some(mut guard) = self.guard.take() else {
            return;
        };
        if self.leader {
            drop(guard.take());
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    if let Some(group) = guard.as_mut() {
                        group.undo_member().await;
                    }
                });
            }
            Err(_) => {
                if let Some(group) = guard.as_mut() {
                    group.break_with(StoreError::Internal(
                        "a write was dropped outside the runtime".into(),
                    ));
                }
            }
        }
    }
}

/// A tenant's read at one snapshot (`Store::begin_read`).
pub struct SqlRead {
    pub(super) tx: OwnedTx,
    pub(super) tenant: String,
    pub(super) revision: i64,
}

#[async_trait]
impl ReadTx for SqlRead {
    fn revision(&self) -> i64 {
        self.revision
    }

    async fn list(&mut self, kind: &str, query: &ListQuery) -> Result<Vec<ObjectText>> {
        rows::list_texts(&mut *self.tx, &self.tenant, kind, query).await
    }
}

impl SqlTx {
    /// Records a write in the change record; the object as stored.
    fn written(&mut self, object: NewObject, created_at: i64) -> Result<StoredObject> {
        self.ops.push(&ChangeOp::Put {
            kind: object.kind.clone(),
            key: object.key.clone(),
            body: &object.body,
        })?;
        Ok(StoredObject {
            kind: object.kind,
            key: object.key,
            version: self.revision,
            body: object.body,
            created_at,
            updated_at: self.now,
        })
    }

    /// Tells a missing object from one at another version, after a conditional write
    /// touched no row.
    async fn miss(&mut self, kind: &str, key: &str) -> StoreError {
        let conn = match self.turn.conn().await {
            Ok(conn) => conn,
            Err(error) => return error,
        };
        match rows::get_object(conn, &self.tenant, kind, key).await {
            Ok(Some(current)) => StoreError::VersionMismatch {
                current: current.version,
            },
            Ok(None) => StoreError::NotFound,
            Err(error) => error,
        }
    }

    /// Writes the object's references in place of the old ones (a new object has none),
    /// several rows a statement.
    async fn replace_refs(&mut self, object: &NewObject, new: bool) -> Result<()> {
        if !new {
            self.delete_refs(&object.kind, &object.key).await?;
        }
        let rows: Vec<HeldRef> = HeldRef::of(object).collect();
        let (conn, backend) = self.turn.conn_to().await?;
        behind::insert_refs(conn, backend, &self.tenant, &rows).await
    }

    /// Writes the new objects held back.
    async fn flush(&mut self) -> Result<()> {
        let (conn, backend) = self.turn.conn_to().await?;
        self.behind
            .flush(conn, backend, &self.tenant, self.revision, self.now)
            .await
    }

    /// Writes the new objects held back; a long write's (an import's) on a task of its own,
    /// so that the database writes them while this one makes the next.
    async fn flush_aside(&mut self) -> Result<()> {
        if !self.turn.group().await?.alone() {
            return self.flush().await;
        }
        let held = self.behind.take_held();
        let at = (self.tenant.clone(), self.revision, self.now);
        self.turn.send_away(held, at).await
    }

    /// Which of `objects` the database holds, a hundred lookups a statement.
    async fn existing_stored(&mut self, objects: &[(&str, &str)]) -> Result<Vec<(String, String)>> {
        let mut found = Vec::new();
        for chunk in objects.chunks(REFS_PER_STATEMENT) {
            // One indexed lookup each, joined: an OR of them would scan the tenant's rows
            // on SQLite.
            let lookups: Vec<String> = (0..chunk.len())
                .map(|i| {
                    format!(
                        "SELECT kind, key FROM objects WHERE tenant = $1 AND kind = ${} AND key = ${}",
                        2 * i + 2,
                        2 * i + 3
                    )
                })
                .collect();
            let sql = lookups.join(" UNION ALL ");
            let mut statement = sqlx::query(&sql).bind(&self.tenant);
            for (kind, key) in chunk {
                statement = statement.bind(*kind).bind(*key);
            }
            for row in statement.fetch_all(self.turn.conn().await?).await? {
                found.push((row.try_get("kind")?, row.try_get("key")?));
            }
        }
        Ok(found)
    }

    async fn delete_refs(&mut self, kind: &str, key: &str) -> Result<()> {
        sqlx::query("DELETE FROM object_refs WHERE tenant = $1 AND kind = $2 AND key = $3")
            .bind(&self.tenant)
            .bind(kind)
            .bind(key)
            .execute(self.turn.conn().await?)
            .await?;
        Ok(())
    }

    async fn insert(&mut self, object: &NewObject, body: &str) -> Result<bool> {
        let inserted = sqlx::query(
            "INSERT INTO objects (tenant, kind, key, version, body, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT DO NOTHING",
        )
        .bind(&self.tenant)
        .bind(&object.kind)
        .bind(&object.key)
        .bind(self.revision)
        .bind(body)
        .bind(self.now)
        .execute(self.turn.conn().await?)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    /// Updates the object, at `version` when given; returns its creation time if a row changed.
    async fn update(
        &mut self,
        object: &NewObject,
        body: &str,
        version: Option<i64>,
    ) -> Result<Option<i64>> {
        let guard = if version.is_some() {
            "AND version = $7"
        } else {
            ""
        };
        let sql = format!(
            "UPDATE objects SET version = $4, body = $5, updated_at = $6 \
             WHERE tenant = $1 AND kind = $2 AND key = $3 {guard} RETURNING created_at"
        );
        let mut statement = sqlx::query(&sql)
            .bind(&self.tenant)
            .bind(&object.kind)
            .bind(&object.key)
            .bind(self.revision)
            .bind(body)
            .bind(self.now);
        if let Some(version) = version {
            statement = statement.bind(version);
        }
        let row = statement.fetch_optional(self.turn.conn().await?).await?;
        row.map(|r| r.try_get::<i64, _>("created_at"))
            .transpose()
            .map_err(Into::into)
    }
}

#[async_trait]
impl WriteTx for SqlTx {
    fn revision(&self) -> i64 {
        self.revision
    }

    fn tenant(&self) -> &str {
        &self.tenant
    }

    async fn get(&mut self, kind: &str, key: &str) -> Result<Option<StoredObject>> {
        if self.behind.known(kind, key) == Some(false) {
            return Ok(None);
        }
        self.flush().await?;
        let found = rows::get_object(self.turn.conn().await?, &self.tenant, kind, key).await?;
        // This transaction holds the tenant's lock: what it read stays so until it writes.
        self.behind.learn(kind, key, found.is_some());
        Ok(found)
    }

    async fn list(&mut self, kind: &str, query: &ListQuery) -> Result<Vec<StoredObject>> {
        self.flush().await?;
        rows::list_objects(self.turn.conn().await?, Some(&self.tenant), kind, query).await
    }

    async fn referencing(&mut self, target: &str) -> Result<Vec<RefHolder>> {
        self.flush().await?;
        rows::referencing(self.turn.conn().await?, &self.tenant, target).await
    }

    async fn existing(&mut self, objects: &[(&str, &str)]) -> Result<Vec<(String, String)>> {
        let mut found = Vec::new();
        let mut unknown = Vec::new();
        for &(kind, key) in objects {
            match self.behind.known(kind, key) {
                Some(true) => found.push((kind.to_string(), key.to_string())),
                Some(false) => {}
                None => unknown.push((kind, key)),
            }
        }
        if !unknown.is_empty() {
            self.flush().await?;
            found.extend(self.existing_stored(&unknown).await?);
        }
        Ok(found)
    }

    fn reserve_record(&mut self, bytes: usize) {
        self.ops.0.reserve(bytes);
    }

    async fn prefetch(&mut self, objects: &[(&str, &str)]) -> Result<()> {
        self.flush().await?;
        // A kind the tenant holds none of needs no lookup per object: worth a read per
        // kind when there are many objects.
        let kinds: BTreeSet<&str> = if objects.len() > PREFETCH_BY_KIND {
            objects.iter().map(|(kind, _)| *kind).collect()
        } else {
            BTreeSet::new()
        };
        let mut empty = BTreeSet::new();
        for kind in kinds {
            let any =
                sqlx::query("SELECT 1 AS one FROM objects WHERE tenant = $1 AND kind = $2 LIMIT 1")
                    .bind(&self.tenant)
                    .bind(kind)
                    .fetch_optional(self.turn.conn().await?)
                    .await?;
            if any.is_none() {
                empty.insert(kind);
            }
        }
        let lookups: Vec<(&str, &str)> = objects
            .iter()
            .filter(|(kind, _)| !empty.contains(kind))
            .copied()
            .collect();
        let found: HashSet<(String, String)> =
            self.existing_stored(&lookups).await?.into_iter().collect();
        for &(kind, key) in objects {
            let present = found.contains(&(kind.to_string(), key.to_string()));
            self.behind.learn(kind, key, present);
        }
        Ok(())
    }

    async fn put(&mut self, object: NewObject, expect: Expect) -> Result<StoredObject> {
        let body = serde_json::to_string(&object.body)?;
        let absent = self.behind.known(&object.kind, &object.key) == Some(false);
        if absent && matches!(expect, Expect::Absent | Expect::Any) {
            if self.behind.hold(&object, body) {
                self.flush_aside().await?;
            }
            return self.written(object, self.now);
        }
        self.flush().await?;
        let (created_at, new) = match expect {
            Expect::Absent => {
                if !self.insert(&object, &body).await? {
                    return Err(StoreError::AlreadyExists);
                }
                (self.now, true)
            }
            Expect::Present => match self.update(&object, &body, None).await? {
                Some(created_at) => (created_at, false),
                None => return Err(StoreError::NotFound),
            },
            Expect::Version(version) => match self.update(&object, &body, Some(version)).await? {
                Some(created_at) => (created_at, false),
                None => return Err(self.miss(&object.kind, &object.key).await),
            },
            Expect::Any => match self.update(&object, &body, None).await? {
                Some(created_at) => (created_at, false),
                None if self.insert(&object, &body).await? => (self.now, true),
                None => return Err(StoreError::Internal("object vanished during upsert".into())),
            },
        };
        self.replace_refs(&object, new).await?;
        self.behind.learn(&object.kind, &object.key, true);
        self.written(object, created_at)
    }

    async fn delete(&mut self, kind: &str, key: &str, expect: Expect) -> Result<StoredObject> {
        self.flush().await?;
        let guard = match expect {
            Expect::Version(_) => "AND version = $4",
            _ => "",
        };
        let object = format!("tenant = $1 AND kind = $2 AND key = $3 {guard}");
        // The object and its references in one round trip; the references go only with
        // the object.
        let (conn, backend) = self.turn.conn_to().await?;
        let sql = match backend {
            Backend::Postgres => format!(
                "WITH gone AS (DELETE FROM objects WHERE {object} RETURNING {OBJECT_COLUMNS}), \
                 refs_gone AS (DELETE FROM object_refs WHERE tenant = $1 AND kind = $2 \
                 AND key = $3 AND EXISTS (SELECT 1 FROM gone)) SELECT * FROM gone"
            ),
            // SQLite's statements do not nest: it runs the two in turn.
            Backend::Sqlite => format!(
                "DELETE FROM object_refs WHERE tenant = $1 AND kind = $2 AND key = $3 \
                 AND EXISTS (SELECT 1 FROM objects WHERE {object}); \
                 DELETE FROM objects WHERE {object} RETURNING {OBJECT_COLUMNS}"
            ),
        };
        let mut statement = sqlx::query(&sql).bind(&self.tenant).bind(kind).bind(key);
        if let Expect::Version(version) = expect {
            statement = statement.bind(version);
        }
        let found = statement.fetch_all(conn).await?;
        let Some(row) = found.first() else {
            return Err(self.miss(kind, key).await);
        };
        let deleted = rows::object(row)?;
        self.behind.learn(kind, key, false);
        self.ops.push(&ChangeOp::<()>::Delete {
            kind: kind.to_string(),
            key: key.to_string(),
        })?;
        Ok(deleted)
    }

    async fn insert_token(&mut self, token: &TokenRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO tokens (id, tenant, hash, scopes, name, created_at, signing_key) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&token.id)
        .bind(&self.tenant)
        .bind(&token.hash)
        .bind(token.scopes.join(","))
        .bind(token.name.clone())
        .bind(token.created_at)
        .bind(token.signing_key.clone())
        .execute(self.turn.conn().await?)
        .await?;
        self.ops.push(&ChangeOp::Put {
            kind: "token".into(),
            key: token.id.clone(),
            body: serde_json::json!({
                "scopes": token.scopes,
                "name": token.name,
                "access_key": token.signing_key.is_some(),
            }),
        })?;
        Ok(())
    }

    async fn delete_token(&mut self, id: &str) -> Result<TokenRecord> {
        let sql = format!(
            "DELETE FROM tokens WHERE tenant = $1 AND id = $2 RETURNING {}",
            rows::TOKEN_COLUMNS
        );
        let row = sqlx::query(&sql)
            .bind(&self.tenant)
            .bind(id)
            .fetch_optional(self.turn.conn().await?)
            .await?
            .ok_or(StoreError::NotFound)?;
        self.ops.push(&ChangeOp::<()>::Delete {
            kind: "token".into(),
            key: id.to_string(),
        })?;
        rows::token(&row)
    }

    async fn commit(mut self: Box<Self>, audit: AuditEntry) -> Result<Committed> {
        self.flush().await?;
        let ops = std::mem::take(&mut self.ops).finish()?;
        let (revision, now) = (self.revision, self.now);
        let group = self.turn.group().await?;
        group.record(revision, now, ops, audit).await?;
        let incarnation = group.incarnation();
        let outcome = group.outcome();
        let lane = self.turn.lane.clone();
        match self.turn.guard.take() {
            Some(turn) if self.turn.leader => group::commit_after_queue(lane, turn),
            // The next writer on the lane goes on in the same transaction.
            other => drop(other),
        }
        let changes = group::committed(outcome).await?;
        Ok(Committed {
            revision,
            incarnation,
            changes,
        })
    }
}
