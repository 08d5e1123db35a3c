//! Group commit: one tenant's writes that arrive together share one database transaction.
//!
//! Each tenant has a lane, an async mutex holding the tenant's open transaction (a
//! `Group`) between writers. The first writer of a group (its leader) begins the
//! transaction and takes the tenant's next revision, which locks the tenant row on
//! PostgreSQL (on SQLite the process's writer gate is held). Writers that queue on the lane
//! meanwhile join the open transaction in turn, each behind a savepoint: each gets the next
//! revision, its own change record and audit event (chained as if committed alone), and a
//! failed writer is rolled back to its savepoint without touching the others.
//!
//! When the leader's own part is done it queues on the lane again, behind every writer
//! that was waiting, and then commits the group: the change records and audit events in a
//! few multi-row statements, the tenant's revision, the notification, the COMMIT. Every
//! member is answered only once that COMMIT has returned, so no write is acknowledged
//! before it is durable; a failed COMMIT fails every member. Writers that arrive after the
//! leader queued again form the next group, so a group is at most the writers that were
//! waiting, and the leader waits at most for their work.
//!
//! The commit runs on a task of its own, so a leader whose request is dropped still
//! commits (or fails) the writers that joined it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use sqlx::{AnyConnection, Executor};
use tokio::sync::{watch, Mutex as AsyncMutex, OwnedMutexGuard};

use super::dialect::Backend;
use super::owned_tx::OwnedTx;
use super::{cluster, placeholders, Statement};
use crate::{AuditEntry, ChangeRecord, Result, StoreError};

/// Rows a multi-row INSERT writes at most: within SQLite's 999 parameters.
const ROWS_PER_STATEMENT: usize = 80;

/// Writers one group takes at most: each of them past the first is a savepoint, and
/// PostgreSQL keeps 64 of a transaction's at hand before every snapshot grows slower.
const MEMBERS_AT_MOST: usize = 60;

/// How long a group takes joiners, from its start: what bounds how long its first
/// writers wait for the ones that joined after them.
const OPEN_FOR: Duration = Duration::from_millis(20);

/// A tenant's open transaction, if a group holds one.
pub(super) type Lane = AsyncMutex<Option<Group>>;

/// The lanes of the tenants being written. A lane lives while a writer holds it.
#[derive(Default)]
pub(super) struct Lanes(Mutex<HashMap<String, Weak<Lane>>>);

impl Lanes {
    pub(super) fn of(&self, tenant: &str) -> Arc<Lane> {
        let mut lanes = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(lane) = lanes.get(tenant).and_then(Weak::upgrade) {
            return lane;
        }
        // Forget the lanes no writer holds before adding one, so the map stays as large as
        // the tenants being written.
        if lanes.len() >= 64 {
            lanes.retain(|_, lane| lane.strong_count() > 0);
        }
        let lane = Arc::new(AsyncMutex::new(None));
        lanes.insert(tenant.to_string(), Arc::downgrade(&lane));
        lane
    }
}

/// What every member of a group learns once the group's transaction has ended: on commit,
/// the group's change records (none when too large to hand over).
type Outcome = Option<std::result::Result<Changes, StoreError>>;

/// A group's change records, in revision order.
pub(super) type Changes = Arc<[Arc<ChangeRecord>]>;

/// A group whose change records take more than this (an import) hands none over: a reader
/// of them takes them from the store, a step at a time.
const HANDED_OVER_AT_MOST: usize = 1 << 20;

/// A change record and its audit event, written when the group commits.
struct Written {
    revision: i64,
    at: i64,
    ops: String,
    audit: AuditEntry,
    detail: Option<String>,
    prev_hash: String,
    hash: String,
}

pub(super) struct Group {
    tx: OwnedTx,
    tenant: String,
    /// The tenant's incarnation, as the transaction found it.
    incarnation: i64,
    /// The revision of the last member that committed its part (the leader's less one
    /// before it has).
    revision: i64,
    /// The hash of the tenant's last audit event, once read.
    last_hash: Option<String>,
    written: Vec<Written>,
    done: watch::Sender<Outcome>,
    /// Why the transaction can no longer commit: a member could not be undone.
    broken: Option<StoreError>,
    /// On PostgreSQL the records are written in one statement, and other nodes notified.
    backend: Backend,
    started: Instant,
    /// Led by a long write (an import), which no other writer joins.
    alone: bool,
    /// The last member's savepoint, left for the next member to release in the statement
    /// that opens its own.
    savepoint: bool,
}

impl Group {
    /// A group whose leader writes `revision` to `incarnation` of the tenant, the tenant
    /// row already locked by `tx`; `last_hash` is the tenant's last audit event's hash, if
    /// known.
    pub(super) fn new(
        tx: OwnedTx,
        tenant: &str,
        incarnation: i64,
        revision: i64,
        last_hash: Option<String>,
        backend: Backend,
        alone: bool,
    ) -> Group {
        Group {
            tx,
            tenant: tenant.to_string(),
            incarnation,
            revision: revision - 1,
            last_hash,
            written: Vec::new(),
            done: watch::channel(None).0,
            broken: None,
            backend,
            savepoint: false,
            started: Instant::now(),
            alone,
        }
    }

    /// Whether a writer may join: the group is young and small, and can still commit. A
    /// writer that may not waits for the group's end and leads the next.
    pub(super) fn open_to_joiners(&self) -> bool {
        !self.alone
            && self.broken.is_none()
            && self.written.len() < MEMBERS_AT_MOST
            && self.started.elapsed() < OPEN_FOR
    }

    /// Opens a joining member's savepoint, releasing the last member's in the same round
    /// trip. Should this be cut short (the request dropped), the flag still says no
    /// savepoint is left to release: at worst one is left nested, which the next joiner's
    /// own savepoint covers.
    pub(super) async fn open_savepoint(&mut self) -> Result<()> {
        let release = std::mem::replace(&mut self.savepoint, false);
        let opened = if release {
            self.tx
                .execute("RELEASE SAVEPOINT member; SAVEPOINT member")
                .await
        } else {
            self.tx.execute("SAVEPOINT member").await
        };
        match opened {
            Ok(_) => {
                self.savepoint = true;
                Ok(())
            }
            Err(error) => {
                let error = StoreError::from(error);
                self.break_with(error.clone());
                Err(error)
            }
        }
    }

    /// Undoes a member's part, back to its savepoint; if that fails the group cannot commit.
    pub(super) async fn undo_member(&mut self) {
        let undone = self
            .tx
            .execute("ROLLBACK TO SAVEPOINT member; RELEASE SAVEPOINT member")
            .await;
        self.savepoint = false;
        if let Err(error) = undone {
            self.break_with(error.into());
        }
    }

    pub(super) fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }

    /// The connection, with the database it is to.
    pub(super) fn conn_to(&mut self) -> (&mut AnyConnection, Backend) {
        (&mut self.tx, self.backend)
    }

    /// Whether a long write (an import) leads the group, which no other writer joins.
    pub(super) fn alone(&self) -> bool {
        self.alone
    }

    /// The incarnation of the tenant the group writes to.
    pub(super) fn incarnation(&self) -> i64 {
        self.incarnation
    }

    /// The revision the next member writes.
    pub(super) fn next_revision(&self) -> i64 {
        self.revision + 1
    }

    /// Records a member's change and audit event at `revision`, chained to the last.
    pub(super) async fn record(
        &mut self,
        revision: i64,
        at: i64,
        ops: String,
        audit: AuditEntry,
    ) -> Result<()> {
        let detail = audit
            .detail
            .as_ref()
            .map(serde_json::to_string)
            .transpose()?;
        let prev_hash = match &self.last_hash {
            Some(hash) => hash.clone(),
            // The tenant row is locked by this transaction: the last event is final.
            None => sqlx::query_scalar::<_, Option<String>>(
                "SELECT hash FROM audit_events WHERE tenant = $1 ORDER BY revision DESC LIMIT 1",
            )
            .bind(&self.tenant)
            .fetch_optional(&mut *self.tx)
            .await?
            .flatten()
            .unwrap_or_default(),
        };
        let hash = crate::chain_hash(&self.tenant, revision, at, &audit, &prev_hash);
        self.last_hash = Some(hash.clone());
        self.revision = revision;
        self.written.push(Written {
            revision,
            at,
            ops,
            audit,
            detail,
            prev_hash,
            hash,
        });
        Ok(())
    }

    /// Marks the transaction as unable to commit: every member will be told `error`.
    pub(super) fn break_with(&mut self, error: StoreError) {
        self.broken.get_or_insert(error);
    }

    pub(super) fn outcome(&self) -> watch::Receiver<Outcome> {
        self.done.subscribe()
    }

    /// Writes what the members recorded and commits; tells every member how it ended.
    async fn commit(mut self) {
        let written = std::mem::take(&mut self.written);
        let outcome = match self.broken.take() {
            Some(error) => Err(error),
            // A conflict here is no writer's doing: each checked its own writes.
            None => match self.write_and_commit(&written).await {
                Ok(()) => Ok(handed_over(&written)),
                Err(
                    error @ (StoreError::AlreadyExists
                    | StoreError::NotFound
                    | StoreError::VersionMismatch { .. }),
                ) => Err(StoreError::Internal(format!(
                    "a group's commit failed: {error}"
                ))),
                Err(other) => Err(other),
            },
        };
        self.done.send_replace(Some(outcome));
    }

    async fn write_and_commit(&mut self, written: &[Written]) -> Result<()> {
        let tenant = self.tenant.clone();
        let head = (self.revision, self.last_hash.clone().unwrap_or_default());
        metrics::histogram!("grantd_write_group_size").record(written.len() as f64);
        let mut chunks = written.chunks(ROWS_PER_STATEMENT).peekable();
        while let Some(rows) = chunks.next() {
            let n = rows.len();
            let last = chunks.peek().is_none();
            if last {
                // The last rows, the tenant's head and (on PostgreSQL) the notification: one
                // round trip. SQLite's statements do not nest: it runs the three in turn, and
                // the COMMIT after them.
                let (changes, events, head_update) = (
                    changes_sql(self.backend, 0, n),
                    events_sql(self.backend, 4 * n, n),
                    head_sql(15 * n),
                );
                let sql = match self.backend {
                    Backend::Postgres => format!(
                        "WITH changes_written AS ({changes}), events_written AS ({events}), \
                         head_written AS ({head_update}) SELECT pg_notify(${}, ${})",
                        15 * n + 4,
                        15 * n + 5,
                    ),
                    Backend::Sqlite => format!("{changes}; {events}; {head_update}; COMMIT"),
                };
                let statement = bind_head(
                    bind_events(
                        bind_changes(sqlx::query(&sql), &tenant, rows),
                        &tenant,
                        rows,
                    ),
                    &head,
                    &tenant,
                );
                match self.backend {
                    Backend::Postgres => {
                        statement
                            .bind(cluster::CHANNEL)
                            .bind(cluster::announcement(&tenant, Some(head.0)))
                            .execute(&mut *self.tx)
                            .await?;
                    }
                    Backend::Sqlite => {
                        let tx = std::mem::replace(&mut self.tx, OwnedTx::ended());
                        return tx.commit_with(statement).await;
                    }
                }
                break;
            }
            let sql = changes_sql(self.backend, 0, n);
            bind_changes(sqlx::query(&sql), &tenant, rows)
                .execute(&mut *self.tx)
                .await?;
            let sql = events_sql(self.backend, 0, n);
            bind_events(sqlx::query(&sql), &tenant, rows)
                .execute(&mut *self.tx)
                .await?;
        }
        // Moved out so that the transaction ends here; `self.tx` is never used again.
        let tx = std::mem::replace(&mut self.tx, OwnedTx::ended());
        tx.commit().await
    }
}

/// Inserts `rows` change records, their parameters from `$(first + 1)`.
fn changes_sql(backend: Backend, first: usize, rows: usize) -> String {
    format!(
        "INSERT INTO changes (tenant, revision, at, ops) VALUES {}",
        placeholders(backend, first, rows, 4)
    )
}

fn bind_changes<'q>(
    mut statement: Statement<'q>,
    tenant: &'q str,
    rows: &'q [Written],
) -> Statement<'q> {
    for row in rows {
        statement = statement
            .bind(tenant)
            .bind(row.revision)
            .bind(row.at)
            .bind(&row.ops);
    }
    statement
}

/// Inserts `rows` audit events, their parameters from `$(first + 1)`.
fn events_sql(backend: Backend, first: usize, rows: usize) -> String {
    format!(
        "INSERT INTO audit_events \
         (tenant, revision, at, actor, action, target, request_id, client_addr, detail, \
          prev_hash, hash) VALUES {}",
        placeholders(backend, first, rows, 11)
    )
}

fn bind_events<'q>(
    mut statement: Statement<'q>,
    tenant: &'q str,
    rows: &'q [Written],
) -> Statement<'q> {
    for row in rows {
        statement = statement
            .bind(tenant)
            .bind(row.revision)
            .bind(row.at)
            .bind(&row.audit.actor)
            .bind(&row.audit.action)
            .bind(&row.audit.target)
            .bind(&row.audit.request_id)
            .bind(row.audit.client_addr.as_deref())
            .bind(row.detail.as_deref())
            .bind(&row.prev_hash)
            .bind(&row.hash);
    }
    statement
}

/// Sets the tenant's revision and last audit event, its parameters from `$(first + 1)`.
fn head_sql(first: usize) -> String {
    format!(
        "UPDATE tenants SET revision = ${0}, audit_head_revision = ${0}, \
         audit_head_hash = ${1} WHERE id = ${2}",
        first + 1,
        first + 2,
        first + 3
    )
}

fn bind_head<'q>(
    statement: Statement<'q>,
    head: &'q (i64, String),
    tenant: &'q str,
) -> Statement<'q> {
    statement.bind(head.0).bind(&head.1).bind(tenant)
}

/// The change records of `written`, to hand to the members' readers; none when they are
/// too large, or unreadable (the store has them all the same).
fn handed_over(written: &[Written]) -> Changes {
    if written.iter().map(|w| w.ops.len()).sum::<usize>() > HANDED_OVER_AT_MOST {
        return Changes::from(Vec::new());
    }
    let changes: std::result::Result<Vec<Arc<ChangeRecord>>, serde_json::Error> = written
        .iter()
        .map(|w| {
            Ok(Arc::new(ChangeRecord {
                revision: w.revision,
                at: w.at,
                ops: serde_json::from_str(&w.ops)?,
            }))
        })
        .collect();
    match changes {
        Ok(changes) => Changes::from(changes),
        Err(error) => {
            tracing::error!(%error, "a group's change records could not be read back");
            Changes::from(Vec::new())
        }
    }
}

/// Commits the leader's group once every writer waiting on the lane has taken its turn.
/// Runs on its own task: the group commits even if the leader's request is dropped.
pub(super) fn commit_after_queue(lane: Arc<Lane>, turn: OwnedMutexGuard<Option<Group>>) {
    tokio::spawn(async move {
        drop(turn);
        let mut turn = lane.lock_owned().await;
        match turn.take() {
            Some(group) => group.commit().await,
            None => tracing::error!("a group's transaction vanished before its commit"),
        }
    });
}

/// Waits for the group's transaction to end; once it committed, the group's changes.
pub(super) async fn committed(mut outcome: watch::Receiver<Outcome>) -> Result<Changes> {
    let silent = || StoreError::Internal("a group's transaction ended without a word".into());
    match outcome.wait_for(Option::is_some).await {
        Ok(ended) => ended.clone().unwrap_or_else(|| Err(silent())),
        Err(_) => Err(silent()),
    }
}
