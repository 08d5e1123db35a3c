//! The data-source reconciler: keeps each enabled source's database holding what the
//! decision index says, as a controller does. It never acts on a change alone: a pass
//! compares what the database should hold with what its catalog holds and applies the
//! difference, so a missed change, a restart or a DBA's hand-made grant all end in the
//! same place.
//!
//! A pass runs when the tenant's index moves past what the source holds (a change syncs
//! within the tick), and every `interval_seconds` besides (drift, tables made since). One
//! node at a time syncs a source: the holder of its lease in the store, renewed by each
//! pass; when that node dies, another takes the lease once it expires.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use grantd_core::model::DataSource;
use grantd_sync::Privilege;
use tokio::sync::{mpsc, watch};

use crate::index::Indexes;
use crate::service::{now_millis, Consistency, Service};

/// How often the reconciler looks for due passes.
const TICK: Duration = Duration::from_millis(200);
/// A pass that failed is tried again no sooner than this.
const RETRY: Duration = Duration::from_secs(2);
/// A node that does not hold a source's lease asks again no sooner than this.
const LEASE_RETRY: Duration = Duration::from_secs(5);
/// How long a lease lasts unless renewed, and how often its holder renews it: a dead
/// holder's sources are taken over within the first.
const LEASE_TTL_MS: i64 = 30_000;
const LEASE_RENEW: Duration = Duration::from_secs(10);
/// Longest a pass may take before it is given up (its transaction rolled back).
const PASS_TIMEOUT: Duration = Duration::from_secs(300);

/// What this node knows of one source.
#[derive(Default)]
struct Tracked {
    /// The revision the database holds, as of this node's last pass.
    synced: i64,
    last_pass: Option<Instant>,
    failed: bool,
    running: bool,
    /// When this node last took or renewed the source's lease, while it holds it.
    leased: Option<Instant>,
    lease_asked: Option<Instant>,
    /// What this node's last pass left in the database: tells drift apart.
    known: Option<BTreeSet<Privilege>>,
}

/// A pass's end, sent back to the loop.
struct Finished {
    key: (String, String),
    synced: Option<i64>,
    known: Option<BTreeSet<Privilege>>,
}

pub fn spawn_reconciler(
    service: Service,
    indexes: Arc<Indexes>,
    node: String,
    mut stopping: watch::Receiver<bool>,
) {
    tokio::spawn(async move {
        let mut sources: HashMap<String, (i64, Vec<DataSource>)> = HashMap::new();
        let mut tracked: HashMap<(String, String), Tracked> = HashMap::new();
        let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Finished>();
        loop {
            while let Ok(done) = done_rx.try_recv() {
                if let Some(t) = tracked.get_mut(&done.key) {
                    t.running = false;
                    t.last_pass = Some(Instant::now());
                    t.failed = done.synced.is_none();
                    if let Some(revision) = done.synced {
                        t.synced = t.synced.max(revision);
                        t.known = done.known;
                    }
                }
            }
            let revisions: BTreeMap<String, i64> = indexes.applied_revisions();
            sources.retain(|tenant, _| revisions.contains_key(tenant));
            for (tenant, revision) in &revisions {
                let stale = sources.get(tenant).is_none_or(|(seen, _)| seen != revision);
                if stale {
                    match service.list_all::<DataSource>(tenant, None).await {
                        Ok(found) => {
                            let list = found.into_iter().map(|v| v.object).collect();
                            sources.insert(tenant.clone(), (*revision, list));
                        }
                        Err(error) => {
                            tracing::warn!(%error, tenant, "cannot read the data sources; will retry");
                            continue;
                        }
                    }
                }
            }
            tracked.retain(|(tenant, id), _| {
                sources
                    .get(tenant)
                    .is_some_and(|(_, list)| list.iter().any(|s| &s.id == id && s.enabled))
            });
            for (tenant, (_, list)) in &sources {
                let revision = revisions.get(tenant).copied().unwrap_or_default();
                for source in list.iter().filter(|s| s.enabled) {
                    let key = (tenant.clone(), source.id.clone());
                    let t = tracked.entry(key.clone()).or_default();
                    // The holder renews its lease; the others ask now and then.
                    let fresh = t.leased.is_some_and(|at| at.elapsed() < LEASE_RENEW);
                    let may_ask = t.leased.is_some()
                        || t.lease_asked.is_none_or(|at| at.elapsed() >= LEASE_RETRY);
                    if !fresh && may_ask {
                        let lease = format!("sync/{tenant}/{}", source.id);
                        let now = now_millis();
                        match service
                            .store()
                            .take_lease(&lease, &node, LEASE_TTL_MS, now)
                            .await
                        {
                            Ok(true) => {
                                t.leased = Some(Instant::now());
                                t.lease_asked = None;
                            }
                            Ok(false) => {
                                // Another node syncs it; forget what this one knew.
                                t.leased = None;
                                t.lease_asked = Some(Instant::now());
                                t.known = None;
                            }
                            Err(error) => {
                                tracing::warn!(%error, "cannot take a sync lease; will retry");
                                t.leased = None;
                                t.lease_asked = Some(Instant::now());
                            }
                        }
                    }
                    if t.leased.is_none() || t.running || !due(t, revision, source) {
                        continue;
                    }
                    t.running = true;
                    let known = t.known.clone();
                    let (service, node, done) = (service.clone(), node.clone(), done_tx.clone());
                    let source = source.clone();
                    tokio::spawn(async move {
                        let (synced, known) = pass(&service, &node, &key.0, &source, known).await;
                        let _ = done.send(Finished { key, synced, known });
                    });
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(TICK) => {}
                _ = stopping.changed() => return,
            }
        }
    });
}

/// Whether a pass over `source` is due on this node.
fn due(t: &Tracked, revision: i64, source: &DataSource) -> bool {
    let Some(last) = t.last_pass else {
        return true;
    };
    let elapsed = last.elapsed();
    elapsed >= Duration::from_secs(source.interval_seconds.into())
        || (revision > t.synced && (!t.failed || elapsed >= RETRY))
}

/// Runs one pass and records its status; the revision synced and what the database holds,
/// or `None` if it failed.
async fn pass(
    service: &Service,
    node: &str,
    tenant: &str,
    source: &DataSource,
    known: Option<BTreeSet<Privilege>>,
) -> (Option<i64>, Option<BTreeSet<Privilege>>) {
    let started = Instant::now();
    let mut status = match service.sync_status(tenant, &source.id).await {
        Ok(status) => status,
        Err(error) => {
            tracing::warn!(%error, tenant, source = source.id, "cannot read a sync status; will retry");
            return (None, known);
        }
    };
    let pass = service.sync_pass(
        tenant,
        source,
        known.as_ref(),
        Consistency::MinimizeLatency,
        true,
    );
    let outcome = match tokio::time::timeout(PASS_TIMEOUT, pass).await {
        Ok(outcome) => outcome,
        Err(_) => Ok(Err(grantd_sync::SyncError::new(
            "the pass took over 300 s and was given up",
        ))),
    };
    let seconds = started.elapsed().as_secs_f64();
    metrics::histogram!("grantd_sync_pass_seconds", "kind" => kind_name(source)).record(seconds);
    status.node = Some(node.to_string());
    status.last_pass_at = Some(now_millis());
    let result = match outcome {
        Ok(Ok(report)) => {
            let applied = report.plan.statements.len();
            metrics::counter!("grantd_sync_statements_total").increment(applied as u64);
            metrics::counter!("grantd_sync_drift_total").increment(report.plan.drift.len() as u64);
            status.state = "ok".into();
            status.last_success_at = status.last_pass_at;
            status.statements_applied = applied;
            status.statements_total += applied as u64;
            if !report.plan.drift.is_empty() {
                status.drift_repaired += report.plan.drift.len() as u64;
                status.last_drift = report.plan.drift.clone();
                status.last_drift_at = status.last_pass_at;
            }
            status.skipped = report.plan.skipped.clone();
            status.last_error = None;
            status.failed_statement = None;
            if !report.plan.drift.is_empty() {
                tracing::warn!(tenant, source = source.id, drift = ?report.plan.drift, "repaired drift");
            }
            let mut synced = report.revision;
            if applied > 0 {
                match service.record_sync_pass(tenant, &source.id, &report).await {
                    // The audit event's revision changes no object: if nothing came between,
                    // the database holds it too, and no pass need follow for it.
                    Ok(revision) if revision == report.revision + 1 => synced = revision,
                    Ok(_) => {}
                    Err(error) => {
                        tracing::warn!(%error, tenant, source = source.id, "cannot audit a sync pass")
                    }
                }
            }
            status.revision = synced;
            (Some(synced), Some(report.desired))
        }
        Ok(Err(error)) => {
            metrics::counter!("grantd_sync_failures_total").increment(1);
            tracing::warn!(tenant, source = source.id, error = %error.message, "sync pass failed; will retry");
            status.state = "failed".into();
            status.statements_applied = 0;
            status.last_error = Some(error.message);
            status.failed_statement = error.statement;
            (None, known)
        }
        Err(error) => {
            tracing::warn!(%error, tenant, source = source.id, "sync pass failed; will retry");
            status.state = "failed".into();
            status.last_error = Some(error.to_string());
            (None, known)
        }
    };
    if let Err(error) = service.put_sync_status(tenant, &source.id, &status).await {
        tracing::warn!(%error, tenant, source = source.id, "cannot record a sync status");
    }
    result
}

fn kind_name(source: &DataSource) -> &'static str {
    match source.kind {
        grantd_core::model::SourceKind::Postgresql => "postgresql",
        grantd_core::model::SourceKind::Mysql => "mysql",
    }
}
