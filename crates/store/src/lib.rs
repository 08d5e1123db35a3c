//! grantd-store: durable storage for tenants' objects, their change feed and audit trail.
//!
//! The store has no rules about content: objects are documents of a kind with a key, a
//! version and the references they declare. What an object may hold, and who may write it,
//! is decided above. What the store does guarantee:
//!
//! - a write transaction holds its tenant's write lock from `begin` to commit, so the
//!   revisions it hands out commit in order and a reader of the changes in revision order
//!   never misses one;
//! - every committed transaction writes exactly one change record (the objects it put and
//!   deleted) and one audit event, or nothing at all;
//! - conditional writes (`Expect`) are checked in the same statement that writes.
//!
//! One SQL implementation serves SQLite and PostgreSQL (`sql/`); the conformance suite in
//! `tests/conformance` runs every behaviour against both.

mod error;
mod records;
pub mod sql;

pub use error::StoreError;
pub use records::*;
pub use sql::{check_backup, BackupSummary, SqlStore};

#[cfg(feature = "testing")]
pub mod testing;

use async_trait::async_trait;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Reads and transactions over every tenant's data.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// Succeeds when the database answers.
    async fn ping(&self) -> Result<()>;

    /// Starts the transaction that creates `tenant` at revision 1; `AlreadyExists` if it does.
    async fn begin_new_tenant(&self, tenant: &str) -> Result<Box<dyn WriteTx>>;

    /// Starts a write transaction on an existing tenant, taking its write lock and the next
    /// revision; `NotFound` if the tenant does not exist.
    async fn begin(&self, tenant: &str) -> Result<Box<dyn WriteTx>>;

    /// `begin`, for a long write (an import): it shares its transaction with no other
    /// write, so that none waits for it to be acknowledged.
    async fn begin_alone(&self, tenant: &str) -> Result<Box<dyn WriteTx>>;

    /// Deletes a tenant and everything it holds, announcing it like a commit;
    /// `NotFound` if it does not exist.
    async fn delete_tenant(&self, tenant: &str) -> Result<()>;

    /// The tenant's latest committed revision, or `None` if it does not exist.
    async fn tenant_revision(&self, tenant: &str) -> Result<Option<i64>> {
        Ok(self.tenant_head(tenant).await?.map(|head| head.revision))
    }

    /// The tenant's latest committed revision and incarnation, or `None` if it does not
    /// exist.
    async fn tenant_head(&self, tenant: &str) -> Result<Option<TenantHead>>;

    /// Every tenant's id, latest committed revision and incarnation, in one read.
    async fn tenant_heads(&self) -> Result<Vec<(String, TenantHead)>>;

    /// The tenant objects of every tenant, ordered by id.
    async fn list_tenants(&self, page: &ListQuery) -> Result<Vec<StoredObject>>;

    async fn get(&self, tenant: &str, kind: &str, key: &str) -> Result<Option<StoredObject>>;

    /// Opens a consistent read of one tenant (an export); `NotFound` if there is no such
    /// tenant.
    async fn begin_read(&self, tenant: &str) -> Result<Box<dyn ReadTx>>;

    /// Objects of a kind ordered by key, optionally only those whose key starts with a prefix.
    async fn list(&self, tenant: &str, kind: &str, query: &ListQuery) -> Result<Vec<StoredObject>>;

    /// Objects of the given kinds across every tenant, ordered by tenant, kind and key, at
    /// most `limit`: those after `after` (a tenant, kind and key), or, with `next_tenant`,
    /// those of the tenants after `after`'s tenant. For a node building every tenant's
    /// index at start in a few reads rather than a few per tenant.
    async fn scan_objects(
        &self,
        kinds: &[&str],
        after: Option<&ScanPosition>,
        next_tenant: bool,
        limit: u32,
    ) -> Result<Vec<(String, StoredObject)>>;

    /// How many objects of each kind the tenant holds (kinds it holds none of are left out),
    /// in one read.
    async fn counts(&self, tenant: &str) -> Result<Vec<(String, u64)>>;

    /// The objects holding a reference to `target` (an object key `kind:key`).
    async fn referencing(&self, tenant: &str, target: &str) -> Result<Vec<RefHolder>>;

    /// The size in bytes of the largest change record of the tenant with a revision above
    /// `after` and up to `upto` (0 if none): what replaying them would read at once.
    async fn largest_change(&self, tenant: &str, after: i64, upto: i64) -> Result<u64>;

    /// Change records with a revision above `after`, in revision order.
    async fn list_changes(&self, tenant: &str, after: i64, limit: u32)
        -> Result<Vec<ChangeRecord>>;

    /// Audit events matching the filter, in revision order.
    async fn list_audit(&self, tenant: &str, filter: &AuditFilter) -> Result<Vec<AuditRecord>>;

    /// The first revision the tenant's audit trail keeps (1 until events are pruned), or
    /// `None` if there is no such tenant.
    async fn audit_floor(&self, tenant: &str) -> Result<Option<i64>>;

    /// Deletes the tenant's audit events older than `before` (ms), always keeping the
    /// latest, and moves the floor to the first one kept; returns how many went.
    async fn prune_audit(&self, tenant: &str, before: i64) -> Result<u64>;

    async fn find_token(&self, hash: &str) -> Result<Option<TokenRecord>>;

    /// The tenant's access key `id` (a token with a signing key), for verifying signatures.
    async fn find_access_key(&self, tenant: &str, id: &str) -> Result<Option<TokenRecord>>;

    async fn list_tokens(&self, tenant: &str, query: &ListQuery) -> Result<Vec<TokenRecord>>;

    /// Every access key (of every tenant) whose secret key does not start with `prefix`:
    /// those written before secrets were sealed.
    async fn access_keys_without(&self, prefix: &str) -> Result<Vec<TokenRecord>>;

    /// Replaces an access key's secret key, if it is still `from`; whether it was.
    async fn replace_signing_key(&self, id: &str, from: &str, to: &str) -> Result<bool>;

    async fn get_setting(&self, key: &str) -> Result<Option<String>>;

    /// Records a node's heartbeat (creating its row on the first), and forgets nodes silent
    /// for over an hour.
    async fn heartbeat(&self, node: &NodeRecord) -> Result<()>;

    /// Every node that has heartbeaten in the last hour, live or not.
    async fn list_nodes(&self) -> Result<Vec<NodeRecord>>;

    /// Forgets a node (one stopping cleanly).
    async fn remove_node(&self, id: &str) -> Result<()>;

    /// Counts a request in the fixed window of `key` (a new window when the last began
    /// `window_ms` or more before `now`), atomically across every node.
    async fn rate_hit(&self, key: &str, window_ms: i64, now: i64) -> Result<RateWindow>;

    /// The commits made by any node, as the database announces them (PostgreSQL's
    /// LISTEN/NOTIFY); `None` where there is no such channel (SQLite). A lost connection
    /// is announced as the tenant `*` (catch up with everything), then re-listened.
    async fn commit_notifications(
        &self,
    ) -> Result<Option<tokio::sync::mpsc::UnboundedReceiver<Announcement>>>;

    async fn put_setting(&self, key: &str, value: &str) -> Result<()>;

    /// Takes or renews the lease `name` for `holder` until `now + ttl_ms`, if it is free,
    /// expired or already `holder`'s, atomically across every node; whether it is held.
    async fn take_lease(&self, name: &str, holder: &str, ttl_ms: i64, now: i64) -> Result<bool>;
}

/// A read of one tenant at one revision: nothing committed after it began is seen, and it
/// holds no write lock. Dropping it ends it.
#[async_trait]
pub trait ReadTx: Send {
    /// The tenant's revision when the read began: what it sees.
    fn revision(&self) -> i64;

    /// Objects of a kind ordered by key, as `Store::list`, in the read's snapshot: each its
    /// key and its document unparsed.
    async fn list(&mut self, kind: &str, query: &ListQuery) -> Result<Vec<ObjectText>>;
}

/// One tenant's write transaction. Dropping it without `commit` rolls everything back.
#[async_trait]
pub trait WriteTx: Send {
    /// The revision this transaction commits as.
    fn revision(&self) -> i64;

    fn tenant(&self) -> &str;

    async fn get(&mut self, kind: &str, key: &str) -> Result<Option<StoredObject>>;

    /// Which of `objects` (kind, key) exist, in one read.
    async fn existing(&mut self, objects: &[(&str, &str)]) -> Result<Vec<(String, String)>>;

    /// Learns, in a few reads, which of `objects` exist: a writer about to write them all
    /// (an import) then reads them, and writes the new ones, without a round trip each.
    async fn prefetch(&mut self, objects: &[(&str, &str)]) -> Result<()>;

    /// Makes room for about `bytes` of change record at once: a writer that knows how much
    /// it will write (an import) spares the record being copied each time it outgrows its
    /// room.
    fn reserve_record(&mut self, bytes: usize);

    async fn list(&mut self, kind: &str, query: &ListQuery) -> Result<Vec<StoredObject>>;

    /// The objects holding a reference to `target` (an object key `kind:key`).
    async fn referencing(&mut self, target: &str) -> Result<Vec<RefHolder>>;

    /// Writes an object at this revision if `expect` holds; its references replace the old.
    async fn put(&mut self, object: NewObject, expect: Expect) -> Result<StoredObject>;

    /// Deletes an object if `expect` holds and returns what was deleted.
    async fn delete(&mut self, kind: &str, key: &str, expect: Expect) -> Result<StoredObject>;

    async fn insert_token(&mut self, token: &TokenRecord) -> Result<()>;

    /// Deletes a token of this tenant; `NotFound` if there is none.
    async fn delete_token(&mut self, id: &str) -> Result<TokenRecord>;

    /// Writes the change record of everything done and the audit event, then commits.
    async fn commit(self: Box<Self>, audit: AuditEntry) -> Result<Committed>;
}
