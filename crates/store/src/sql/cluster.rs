//! What nodes sharing one database share besides the data: their heartbeats, rate-limit
//! windows, and (on PostgreSQL) a notification on each commit.

use std::collections::BTreeMap;

use sqlx::{AnyPool, Row};
use tokio::sync::mpsc;

use super::now_millis;
use crate::{Announcement, NodeRecord, RateWindow, Result};

/// The channel commits are announced on; the payload is the tenant, then a space and the
/// revision committed when known (`announcement`).
pub const CHANNEL: &str = "grantd_changes";
/// Nodes silent for longer are forgotten.
const FORGET_AFTER_MS: i64 = 3_600_000;

pub async fn heartbeat(pool: &AnyPool, node: &NodeRecord) -> Result<()> {
    let applied = serde_json::to_string(&node.applied)?;
    sqlx::query(
        "INSERT INTO nodes (id, address, started_at, heartbeat_at, applied) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (id) DO UPDATE SET address = excluded.address, \
         heartbeat_at = excluded.heartbeat_at, applied = excluded.applied",
    )
    .bind(&node.id)
    .bind(&node.address)
    .bind(node.started_at)
    .bind(node.heartbeat_at)
    .bind(applied)
    .execute(pool)
    .await?;
    sqlx::query("DELETE FROM nodes WHERE heartbeat_at < $1")
        .bind(now_millis() - FORGET_AFTER_MS)
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn list_nodes(pool: &AnyPool) -> Result<Vec<NodeRecord>> {
    let rows =
        sqlx::query("SELECT id, address, started_at, heartbeat_at, applied FROM nodes ORDER BY id")
            .fetch_all(pool)
            .await?;
    rows.iter()
        .map(|row| {
            let applied: String = row.try_get("applied")?;
            Ok(NodeRecord {
                id: row.try_get("id")?,
                address: row.try_get("address")?,
                started_at: row.try_get("started_at")?,
                heartbeat_at: row.try_get("heartbeat_at")?,
                applied: serde_json::from_str::<BTreeMap<String, i64>>(&applied)?,
            })
        })
        .collect()
}

pub async fn remove_node(pool: &AnyPool, id: &str) -> Result<()> {
    sqlx::query("DELETE FROM nodes WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn rate_hit(pool: &AnyPool, key: &str, window_ms: i64, now: i64) -> Result<RateWindow> {
    let row = sqlx::query(
        "INSERT INTO rate_windows (key, started_at, count) VALUES ($1, $2, 1) \
         ON CONFLICT (key) DO UPDATE SET \
         started_at = CASE WHEN rate_windows.started_at + $3 <= $2 THEN $2 \
                      ELSE rate_windows.started_at END, \
         count = CASE WHEN rate_windows.started_at + $3 <= $2 THEN 1 \
                 ELSE rate_windows.count + 1 END \
         RETURNING started_at, count",
    )
    .bind(key)
    .bind(now)
    .bind(window_ms)
    .fetch_one(pool)
    .await?;
    Ok(RateWindow {
        started_at: row.try_get("started_at")?,
        count: row.try_get("count")?,
    })
}

pub async fn take_lease(
    pool: &AnyPool,
    name: &str,
    holder: &str,
    ttl_ms: i64,
    now: i64,
) -> Result<bool> {
    let row = sqlx::query(
        "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
         WHERE leases.holder = excluded.holder OR leases.expires_at <= $4 \
         RETURNING holder",
    )
    .bind(name)
    .bind(holder)
    .bind(now + ttl_ms)
    .bind(now)
    .fetch_optional(pool)
    .await?;
    Ok(row.is_some())
}

/// The payload announcing a commit of `tenant` (a tenant id holds no space).
pub fn announcement(tenant: &str, revision: Option<i64>) -> String {
    match revision {
        Some(revision) => format!("{tenant} {revision}"),
        None => tenant.to_string(),
    }
}

/// Reads a payload made by `announcement`, or by a node of an earlier release (the tenant
/// alone).
fn announced(payload: &str) -> Announcement {
    match payload
        .split_once(' ')
        .and_then(|(tenant, revision)| Some((tenant, revision.parse().ok()?)))
    {
        Some((tenant, revision)) => Announcement {
            tenant: tenant.to_string(),
            revision: Some(revision),
        },
        None => Announcement {
            tenant: payload.to_string(),
            revision: None,
        },
    }
}

/// Listens on PostgreSQL for commit notifications, forwarding each; reconnects by itself,
/// announcing `*` after a lost connection (notifications may have been missed).
pub async fn listen(url: &str) -> Result<mpsc::UnboundedReceiver<Announcement>> {
    let mut listener = sqlx::postgres::PgListener::connect(url).await?;
    listener.listen(CHANNEL).await?;
    let (send, receive) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => {
                    if send.send(announced(notification.payload())).is_err() {
                        return;
                    }
                }
                Ok(None) => {
                    tracing::warn!("lost the commit notification connection; reconnecting");
                    let everything = Announcement {
                        tenant: "*".into(),
                        revision: None,
                    };
                    if send.send(everything).is_err() {
                        return;
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "commit notifications unavailable; retrying");
                    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                    if send.is_closed() {
                        return;
                    }
                }
            }
        }
    });
    Ok(receive)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_read_back_and_earlier_ones_name_only_the_tenant() {
        let read = |tenant: &str, revision| announced(&announcement(tenant, revision));
        assert_eq!(read("t-1", Some(42)).revision, Some(42));
        assert_eq!(read("t-1", Some(42)).tenant, "t-1");
        assert_eq!(read("t-1", None).revision, None);
        // A node of an earlier release: the payload is the tenant alone.
        assert_eq!(
            announced("t-1"),
            Announcement {
                tenant: "t-1".into(),
                revision: None,
            }
        );
        // Anything else names no revision: the follower reads the store.
        assert_eq!(announced("t-1 x").revision, None);
    }
}
