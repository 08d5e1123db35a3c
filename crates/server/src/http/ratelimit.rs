//! Fixed-window rate limits: at most `limit` requests per window for each key (a token and
//! an operation, say). The window starts at a key's first request and the count resets
//! when it ends. Nodes sharing a PostgreSQL database count in it, so that a limit holds
//! across all of them together; a single node counts in its memory (stale windows are
//! swept as the map grows). If the shared count cannot be reached, the node counts alone
//! rather than refuse or wave through every request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use grantd_store::Store;

/// Past this many keys, windows that have ended are dropped.
const SWEEP_AT: usize = 10_000;

/// The state of a key's window after a request was counted (or refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub allowed: bool,
    pub limit: u32,
    /// Requests counted in this window, this one included when allowed.
    pub consumed: u32,
    pub remaining: u32,
    /// When the window ends.
    pub reset_at: SystemTime,
}

impl Outcome {
    /// Time left until the window ends.
    pub fn retry_after(&self, now: SystemTime) -> Duration {
        self.reset_at.duration_since(now).unwrap_or_default()
    }
}

pub struct RateLimiter {
    window: Duration,
    windows: Mutex<HashMap<String, (SystemTime, u32)>>,
    /// Where the nodes of a cluster count together.
    shared: Option<Arc<dyn Store>>,
}

fn millis(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

impl RateLimiter {
    /// Counts in this node's memory.
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            windows: Mutex::new(HashMap::new()),
            shared: None,
        }
    }

    /// Counts in `store`, together with every node sharing it.
    pub fn shared(window: Duration, store: Arc<dyn Store>) -> Self {
        Self {
            shared: Some(store),
            ..Self::new(window)
        }
    }

    /// Counts a request for `key` at `now` against `limit`.
    pub async fn hit(&self, key: &str, limit: u32, now: SystemTime) -> Outcome {
        let Some(store) = &self.shared else {
            return self.hit_here(key, limit, now);
        };
        let window_ms = self.window.as_millis() as i64;
        match store.rate_hit(key, window_ms, millis(now)).await {
            Ok(window) => {
                let count = u32::try_from(window.count).unwrap_or(u32::MAX);
                let consumed = count.min(limit);
                Outcome {
                    allowed: count <= limit,
                    limit,
                    consumed,
                    remaining: limit - consumed,
                    reset_at: UNIX_EPOCH
                        + Duration::from_millis((window.started_at + window_ms).max(0) as u64),
                }
            }
            Err(error) => {
                tracing::warn!(%error, "shared rate limit unavailable; counting on this node");
                self.hit_here(key, limit, now)
            }
        }
    }

    /// Counts in this node's memory; a refused request is not counted.
    fn hit_here(&self, key: &str, limit: u32, now: SystemTime) -> Outcome {
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if windows.len() >= SWEEP_AT {
            let window = self.window;
            windows.retain(|_, (start, _)| *start + window > now);
        }
        let entry = windows.entry(key.to_string()).or_insert((now, 0));
        if entry.0 + self.window <= now {
            *entry = (now, 0);
        }
        let allowed = entry.1 < limit;
        if allowed {
            entry.1 += 1;
        }
        Outcome {
            allowed,
            limit,
            consumed: entry.1,
            remaining: limit.saturating_sub(entry.1),
            reset_at: entry.0 + self.window,
        }
    }
}

/// The limits every surface applies to its callers, per minute; `None` is no limit.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallerLimits {
    pub per_token: Option<u32>,
    pub per_tenant: Option<u32>,
}

impl RateLimiter {
    /// Counts a request of `actor` (a token) on `tenant` against both limits; the first
    /// one exhausted is the refusal. The operator is not limited.
    pub async fn admit(
        &self,
        limits: CallerLimits,
        actor: &str,
        tenant: &str,
        now: SystemTime,
    ) -> Result<(), Outcome> {
        if actor == "operator" {
            return Ok(());
        }
        if let Some(limit) = limits.per_token {
            let outcome = self.hit(&format!("token {actor}"), limit, now).await;
            if !outcome.allowed {
                return Err(outcome);
            }
        }
        if let Some(limit) = limits.per_tenant {
            let outcome = self.hit(&format!("tenant {tenant}"), limit, now).await;
            if !outcome.allowed {
                return Err(outcome);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_past_the_limit_until_the_window_ends() {
        let limiter = RateLimiter::new(Duration::from_secs(60));
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        for i in 1..=3 {
            let o = limiter.hit_here("k", 3, t0);
            assert!(o.allowed);
            assert_eq!((o.consumed, o.remaining), (i, 3 - i));
        }
        let refused = limiter.hit_here("k", 3, t0 + Duration::from_secs(59));
        assert!(!refused.allowed);
        assert_eq!(refused.consumed, 3);
        assert_eq!(
            refused.retry_after(t0 + Duration::from_secs(59)),
            Duration::from_secs(1)
        );
        // Another key has its own window; the first key's window ends after 60 s.
        assert!(limiter.hit_here("other", 3, t0).allowed);
        let next = limiter.hit_here("k", 3, t0 + Duration::from_secs(60));
        assert!(next.allowed);
        assert_eq!(next.consumed, 1);
    }
}
