//! Fixed-window rate limits: at most `limit` requests per window for each key (a token and
//! an operation, say). The window starts at a key's first request and the count resets
//! when it ends. State is this node's memory; stale windows are swept as the map grows.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

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
}

impl RateLimiter {
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a request for `key` at `now` against `limit`; a refused request is not counted.
    pub fn hit(&self, key: &str, limit: u32, now: SystemTime) -> Outcome {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_past_the_limit_until_the_window_ends() {
        let limiter = RateLimiter::new(Duration::from_secs(60));
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        for i in 1..=3 {
            let o = limiter.hit("k", 3, t0);
            assert!(o.allowed);
            assert_eq!((o.consumed, o.remaining), (i, 3 - i));
        }
        let refused = limiter.hit("k", 3, t0 + Duration::from_secs(59));
        assert!(!refused.allowed);
        assert_eq!(refused.consumed, 3);
        assert_eq!(
            refused.retry_after(t0 + Duration::from_secs(59)),
            Duration::from_secs(1)
        );
        // Another key has its own window; the first key's window ends after 60 s.
        assert!(limiter.hit("other", 3, t0).allowed);
        let next = limiter.hit("k", 3, t0 + Duration::from_secs(60));
        assert!(next.allowed);
        assert_eq!(next.consumed, 1);
    }
}
