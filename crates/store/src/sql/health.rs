//! A circuit breaker for a database reached over the network.
//!
//! When PostgreSQL goes away, a request would otherwise wait out the pool's acquire timeout
//! (seconds) before learning so. A monitor pings the database every `PROBE_EVERY` on a
//! connection of its own (so a busy pool never looks like a dead one); while the last probe
//! failed, the store refuses at once with the reason, and the first probe that succeeds
//! closes the breaker again. SQLite is a local file: it has no breaker.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use sqlx::any::AnyConnectOptions;
use sqlx::{AnyConnection, ConnectOptions, Connection};

use crate::{Result, StoreError};

const PROBE_EVERY: Duration = Duration::from_millis(250);
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Whether the database answered the last probe.
#[derive(Default)]
pub struct Health {
    /// Read by every store operation: a flag, so that the common case takes no lock.
    is_down: AtomicBool,
    /// Since when and why, while it is down.
    down: Mutex<Option<Outage>>,
}

struct Outage {
    since: Instant,
    reason: String,
}

impl Health {
    /// `Ok` while the database answers; the outage, at once, while it does not.
    pub fn check(&self) -> Result<()> {
        if !self.is_down.load(Ordering::Acquire) {
            return Ok(());
        }
        let down = self.down.lock().unwrap_or_else(|e| e.into_inner());
        match &*down {
            None => Ok(()),
            Some(outage) => Err(StoreError::Unavailable(format!(
                "the database has been unreachable for {:.1} s ({}); retrying every {} ms",
                outage.since.elapsed().as_secs_f64(),
                outage.reason,
                PROBE_EVERY.as_millis()
            ))),
        }
    }

    fn record(&self, probe: std::result::Result<(), String>) {
        let mut down = self.down.lock().unwrap_or_else(|e| e.into_inner());
        match (probe, down.is_some()) {
            (Ok(()), true) => {
                tracing::info!("the database answers again");
                *down = None;
                self.is_down.store(false, Ordering::Release);
            }
            (Err(reason), false) => {
                tracing::warn!(%reason, "the database is unreachable: refusing store operations");
                *down = Some(Outage {
                    since: Instant::now(),
                    reason,
                });
                self.is_down.store(true, Ordering::Release);
            }
            (Err(reason), true) => {
                if let Some(outage) = down.as_mut() {
                    outage.reason = reason;
                }
            }
            (Ok(()), false) => {}
        }
    }

    /// Probes the database until the store holding `health` is dropped.
    pub fn monitor(health: &Arc<Health>, options: AnyConnectOptions) {
        let health: Weak<Health> = Arc::downgrade(health);
        tokio::spawn(async move {
            let mut connection: Option<AnyConnection> = None;
            loop {
                tokio::time::sleep(PROBE_EVERY).await;
                let Some(health) = health.upgrade() else {
                    return;
                };
                let probe = tokio::time::timeout(PROBE_TIMEOUT, probe(&mut connection, &options))
                    .await
                    .unwrap_or_else(|_| Err("no answer within 2 s".to_string()));
                if probe.is_err() {
                    connection = None;
                }
                health.record(probe);
            }
        });
    }
}

async fn probe(
    connection: &mut Option<AnyConnection>,
    options: &AnyConnectOptions,
) -> std::result::Result<(), String> {
    if connection.is_none() {
        *connection = Some(options.connect().await.map_err(|e| e.to_string())?);
    }
    match connection.as_mut() {
        Some(connection) => connection.ping().await.map_err(|e| e.to_string()),
        None => Err("no connection".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_probe_opens_the_breaker_and_a_good_one_closes_it() {
        let health = Health::default();
        assert!(health.check().is_ok());
        health.record(Err("connection refused".into()));
        let refused = health.check().expect_err("open");
        assert!(
            refused.to_string().contains("connection refused"),
            "{refused}"
        );
        health.record(Err("still refused".into()));
        assert!(health
            .check()
            .expect_err("still open")
            .to_string()
            .contains("still refused"));
        health.record(Ok(()));
        assert!(health.check().is_ok());
    }
}
