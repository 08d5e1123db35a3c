//! Fixed-window rate limits: at most `limit` requests per window for each key (a token and
//! an operation, say). The window starts at a key's first request and the count resets
//! when it ends. Nodes sharing a PostgreSQL database count in it, so that a limit holds
//! across all of them together; a single node counts in its memory (stale windows are
//! swept as the map grows). If the shared count cannot be reached, the node counts alone
//! rather than refuse or wave through every request.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use grantd_store::Store;

use crate::service::Scope;

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
    /// Counts a request of `actor` (a token) on `tenant` for a route that needs `class`
    /// against both limits; the first one exhausted is the refusal. Each class (the scope
    /// the route needs) is counted in windows of its own, so that one kind of traffic
    /// cannot spend what another needs: a flood of checks leaves the tenant's reads, writes
    /// and token administration alone. Admin routes (issuing and revoking tokens and access
    /// keys) count against the token only, never against the tenant, so that an admin can
    /// always revoke. The operator is not limited.
    pub async fn admit(
        &self,
        limits: CallerLimits,
        actor: &str,
        tenant: &str,
        class: Scope,
        now: SystemTime,
    ) -> Result<(), Outcome> {
        if actor == "operator" {
            return Ok(());
        }
        let class_name = class.as_str();
        if let Some(limit) = limits.per_token {
            let outcome = self
                .hit(&format!("token {actor} {class_name}"), limit, now)
                .await;
            if !outcome.allowed {
                return Err(outcome);
            }
        }
        if let Some(limit) = limits.per_tenant.filter(|_| class != Scope::Admin) {
            let outcome = self
                .hit(&format!("tenant {tenant} {class_name}"), limit, now)
                .await;
            if !outcome.allowed {
                return Err(outcome);
            }
        }
        Ok(())
    }

    /// The refusal `key` would get now, without counting a request: `Some` once its window
    /// holds `limit` requests. Only in this node's memory (see `AddressLimiter`).
    fn exhausted(&self, key: &str, limit: u32, now: SystemTime) -> Option<Outcome> {
        let windows = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (start, count) = *windows.get(key)?;
        (start + self.window > now && count >= limit).then(|| Outcome {
            allowed: false,
            limit,
            consumed: count,
            remaining: 0,
            reset_at: start + self.window,
        })
    }
}

/// Requests that fail authentication (no credential, a malformed one, or one that stands
/// for nobody), counted per client address in this node's memory: counting them in the
/// database would make each one cost the store work the limit is there to spare. An IPv6
/// client is counted by its /64, which one host usually holds whole.
pub struct AddressLimiter {
    limiter: RateLimiter,
    /// Refusals a minute per address; 0 is no limit.
    limit: u32,
}

impl AddressLimiter {
    pub fn new(limit: u32) -> Self {
        AddressLimiter {
            limiter: RateLimiter::new(Duration::from_secs(60)),
            limit,
        }
    }

    fn key(client: Option<IpAddr>) -> String {
        match client {
            Some(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
            Some(IpAddr::V6(v6)) => v6
                .to_ipv4_mapped()
                .map(|v4| v4.to_string())
                .unwrap_or_default(),
            Some(IpAddr::V4(v4)) => v4.to_string(),
            None => "unknown".into(),
        }
    }

    /// The refusal for a request from `client` that would need a credential looked up,
    /// once the address has used up its refusals.
    pub fn exhausted(&self, client: Option<IpAddr>, now: SystemTime) -> Option<Outcome> {
        if self.limit == 0 {
            return None;
        }
        self.limiter.exhausted(&Self::key(client), self.limit, now)
    }

    /// Counts a failed authentication from `client`; the outcome says whether it was still
    /// within the limit.
    pub fn failed(&self, client: Option<IpAddr>, now: SystemTime) -> Option<Outcome> {
        if self.limit == 0 {
            return None;
        }
        Some(self.limiter.hit_here(&Self::key(client), self.limit, now))
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

    #[tokio::test]
    async fn each_class_has_its_own_windows_and_admin_routes_skip_the_tenant_limit() {
        let limiter = RateLimiter::new(Duration::from_secs(60));
        let limits = CallerLimits {
            per_token: Some(5),
            per_tenant: Some(2),
        };
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        for _ in 0..2 {
            assert!(limiter
                .admit(limits, "token:c", "t", Scope::Check, now)
                .await
                .is_ok());
        }
        let refused = limiter
            .admit(limits, "token:c", "t", Scope::Check, now)
            .await;
        assert_eq!(
            refused.map_err(|o| o.limit),
            Err(2),
            "the tenant's checks are spent"
        );
        // Reads of another token of the tenant have their own window...
        assert!(limiter
            .admit(limits, "token:r", "t", Scope::Read, now)
            .await
            .is_ok());
        // ...and admin routes are limited per token only.
        for _ in 0..5 {
            assert!(limiter
                .admit(limits, "token:a", "t", Scope::Admin, now)
                .await
                .is_ok());
        }
        let refused = limiter
            .admit(limits, "token:a", "t", Scope::Admin, now)
            .await;
        assert_eq!(refused.map_err(|o| o.limit), Err(5));
        assert!(limiter
            .admit(limits, "operator", "t", Scope::Check, now)
            .await
            .is_ok());
    }

    #[test]
    fn addresses_are_counted_until_their_limit_then_refused_without_counting() {
        let limiter = AddressLimiter::new(2);
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let a = Some("10.0.0.1".parse().expect("ip"));
        assert!(limiter.exhausted(a, now).is_none());
        assert!(limiter.failed(a, now).is_some_and(|o| o.allowed));
        assert!(limiter.failed(a, now).is_some_and(|o| o.allowed));
        assert!(limiter.exhausted(a, now).is_some());
        assert!(limiter.failed(a, now).is_some_and(|o| !o.allowed));
        assert!(limiter
            .exhausted(Some("10.0.0.2".parse().expect("ip")), now)
            .is_none());
        assert!(limiter
            .exhausted(a, now + Duration::from_secs(60))
            .is_none());
        // One IPv6 /64 is one client; an IPv4-mapped address is its IPv4 address.
        let v6 = |s: &str| Some(s.parse().expect("ip"));
        assert_eq!(
            AddressLimiter::key(v6("2001:db8:1:2:aaaa::1")),
            AddressLimiter::key(v6("2001:db8:1:2:bbbb::9"))
        );
        assert_ne!(
            AddressLimiter::key(v6("2001:db8:1:2::1")),
            AddressLimiter::key(v6("2001:db8:1:3::1"))
        );
        assert_eq!(
            AddressLimiter::key(v6("::ffff:10.0.0.1")),
            AddressLimiter::key(a)
        );
        assert!(AddressLimiter::new(0).failed(a, now).is_none());
    }
}
