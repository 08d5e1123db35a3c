//! The records that cross the store boundary.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An object as stored: its document, version (the revision that last wrote it) and times
/// in milliseconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredObject {
    pub kind: String,
    pub key: String,
    pub version: i64,
    pub body: Value,
    pub created_at: i64,
    pub updated_at: i64,
}

/// An object's key and its document as stored (JSON text, as `serde_json` wrote it), for a
/// reader that passes documents on unparsed (an export).
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectText {
    pub key: String,
    pub body: String,
}

/// An object to write, with the references it holds.
#[derive(Debug, Clone)]
pub struct NewObject {
    pub kind: String,
    pub key: String,
    pub body: Value,
    pub refs: Vec<NewRef>,
}

/// A reference held by an object to the object `target` (`kind:key`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRef {
    pub field: String,
    pub target: String,
    pub cascade: bool,
}

/// An object holding a reference, as found by `referencing`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefHolder {
    pub kind: String,
    pub key: String,
    pub field: String,
    pub cascade: bool,
}

/// The condition a write must meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Write whatever is there.
    Any,
    /// Only create: `AlreadyExists` if the object exists.
    Absent,
    /// Only change an existing object: `NotFound` if there is none.
    Present,
    /// Only change the object at this version: `VersionMismatch` otherwise.
    Version(i64),
}

/// A page request over keys: those after `after`, starting with `prefix`, at most `limit`.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub prefix: Option<String>,
    pub after: Option<String>,
    pub limit: u32,
}

/// A tenant's latest committed revision and its incarnation: a random number drawn when
/// the tenant is created, so that a tenant deleted and created again under the same id is
/// told apart from the one before (whose revisions it repeats).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TenantHead {
    pub revision: i64,
    pub incarnation: i64,
}

/// Where a scan of every tenant's objects stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanPosition {
    pub tenant: String,
    pub kind: String,
    pub key: String,
}

/// One committed transaction: everything it put and deleted, at one revision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeRecord {
    pub revision: i64,
    pub at: i64,
    pub ops: Vec<ChangeOp>,
}

/// A committed write, as its writer learns it.
#[derive(Debug, Clone)]
pub struct Committed {
    /// The revision the write produced.
    pub revision: i64,
    /// The incarnation of the tenant it was written to.
    pub incarnation: i64,
    /// The change records of every write committed with it (its own among them), in
    /// revision order; empty when they were too large to hand over (an import), so that a
    /// reader takes them from the store.
    pub changes: std::sync::Arc<[std::sync::Arc<ChangeRecord>]>,
}

/// A commit as the database announced it: the tenant, and the revision the commit made
/// when the node told it (a tenant's deletion does not, nor did nodes of earlier
/// releases). A lost connection is announced as the tenant `*`: catch up with everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    pub tenant: String,
    pub revision: Option<i64>,
}

/// One operation of a change. `B` is the body's type: a borrowed one serialises an
/// operation as the owned one does, without a copy of the body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ChangeOp<B = Value> {
    Put { kind: String, key: String, body: B },
    Delete { kind: String, key: String },
}

/// Who did what: written with the change it describes.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// `operator` or `token:<id>`.
    pub actor: String,
    /// E.g. `user.create`, `group.member.add`.
    pub action: String,
    /// The object acted on, as `kind:key`.
    pub target: String,
    pub request_id: String,
    pub client_addr: Option<String>,
    pub detail: Option<Value>,
}

/// An audit event as stored: one per revision, chained to the one before by hashes.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    pub revision: i64,
    pub at: i64,
    pub entry: AuditEntry,
    /// The hash of the tenant's previous event (empty for its first); `None` for events
    /// written before the chain existed.
    pub prev_hash: Option<String>,
    pub hash: Option<String>,
}

/// The hash that chains an audit event: hex SHA-256 over the event's fields and the
/// previous event's hash, so that changing, removing or reordering events shows.
pub fn chain_hash(
    tenant: &str,
    revision: i64,
    at: i64,
    entry: &AuditEntry,
    prev_hash: &str,
) -> String {
    use sha2::{Digest, Sha256};
    let fields = serde_json::json!([
        tenant,
        revision,
        at,
        entry.actor,
        entry.action,
        entry.target,
        entry.request_id,
        entry.client_addr,
        entry.detail.as_ref().map(|d| d.to_string()),
        prev_hash,
    ]);
    hex::encode(Sha256::digest(fields.to_string().as_bytes()))
}

/// Which audit events to list: those after revision `after`, at or after `from` and before
/// `to` (milliseconds), by `actor` and on `target` when given, and whose target or detail
/// holds every text of `mentions`.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub after: i64,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub actor: Option<String>,
    pub target: Option<String>,
    /// Texts each listed event's target or detail (as stored JSON) contains, ASCII case
    /// ignored: a coarse filter run by the database, for a caller that filters finer on
    /// what the detail means (Segment's resource filters).
    pub mentions: Vec<String>,
    pub limit: u32,
}

/// A tenant token. For a bearer token only its hash is kept and the secret is shown once
/// at creation. An access key (AK/SK pair, for signed requests) is a token whose id is the
/// access key and whose `signing_key` is the secret key: verifying an HMAC signature needs
/// the key itself, so it is stored (shown once too, never listed, never in the change feed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: String,
    pub tenant: String,
    pub hash: String,
    pub scopes: Vec<String>,
    pub name: Option<String>,
    pub created_at: i64,
    pub signing_key: Option<String>,
}

/// A grantd node of a cluster sharing one database, as its last heartbeat left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRecord {
    pub id: String,
    /// Where it serves, as it advertises itself.
    pub address: String,
    pub started_at: i64,
    /// When it last said it is alive (milliseconds since the epoch, its clock).
    pub heartbeat_at: i64,
    /// The revision its decision index has applied, per tenant.
    pub applied: std::collections::BTreeMap<String, i64>,
}

/// A rate-limit window after a request was counted in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateWindow {
    /// When the window began (milliseconds since the epoch).
    pub started_at: i64,
    /// Requests counted in it, this one included.
    pub count: i64,
}
