//! Digests of bearer secrets that stood for nobody when last looked up, so that a client
//! repeating a bad token costs a hash, not a store lookup, each time. Bounded (past
//! `MAX` entries the expired go, then all) and short-lived (`TTL`). A token issued after
//! a miss is never refused because of it: its secret is new random, so its digest was
//! never missed.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use foldhash::fast::RandomState;

/// How long a miss is remembered.
pub const TTL: Duration = Duration::from_secs(10);
/// Most misses remembered at once (about 64 bytes each).
pub const MAX: usize = 10_000;

pub struct Misses {
    entries: Mutex<HashMap<[u8; 32], Instant, RandomState>>,
    ttl: Duration,
    max: usize,
}

impl Default for Misses {
    fn default() -> Self {
        Misses::new(TTL, MAX)
    }
}

impl Misses {
    pub fn new(ttl: Duration, max: usize) -> Self {
        Misses {
            entries: Mutex::new(HashMap::default()),
            ttl,
            max: max.max(1),
        }
    }

    /// Whether `digest` stood for nobody less than the TTL ago.
    pub fn contains(&self, digest: &[u8; 32]) -> bool {
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        entries
            .get(digest)
            .is_some_and(|at| at.elapsed() < self.ttl)
    }

    /// Remembers that `digest` stands for nobody.
    pub fn insert(&self, digest: [u8; 32]) {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= self.max {
            let ttl = self.ttl;
            entries.retain(|_, at| at.elapsed() < ttl);
            if entries.len() >= self.max {
                entries.clear();
            }
        }
        entries.insert(digest, Instant::now());
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misses_are_bounded_and_forgotten_after_the_ttl() {
        let misses = Misses::new(Duration::from_millis(50), 3);
        misses.insert([1; 32]);
        assert!(misses.contains(&[1; 32]));
        assert!(!misses.contains(&[2; 32]));
        for i in 2..=10u8 {
            misses.insert([i; 32]);
            assert!(misses.len() <= 3);
        }
        assert!(misses.contains(&[10; 32]));
        std::thread::sleep(Duration::from_millis(60));
        assert!(!misses.contains(&[10; 32]), "expired");
    }
}
