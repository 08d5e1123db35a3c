//! A copy-on-write hash map in shards: cloning it is cheap (a pointer), and changing a
//! clone copies only the shards it touches. Snapshots of the decision index are built on
//! it, so a write publishes a new snapshot without copying the whole index and readers
//! never lock.
//!
//! A node holds an index per tenant and most tenants are small, so a map starts as one
//! table, allocated at its first insert (an empty map allocates nothing), and is split
//! into its shards only once it holds `SPLIT_AT` entries: a small tenant's maps cost a
//! table each, not 64.

use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash};
use std::sync::Arc;

use foldhash::fast::RandomState;
use hashbrown::HashTable;

/// Shards per map once split (a power of two): a change copies 1/64 of the map at most.
const SHARDS: usize = 64;
/// A map of this many entries is split into `SHARDS` shards; below, one table holds all.
const SPLIT_AT: usize = 512;

type Shard<K, V> = Arc<HashTable<(K, V)>>;

pub struct CowMap<K, V> {
    /// `None` until the first insert; then one shard, or `SHARDS` once split.
    shards: Option<Arc<Vec<Shard<K, V>>>>,
    len: usize,
    /// Seeded per map at random, so that keys chosen by a client cannot be made to collide.
    state: RandomState,
}

impl<K, V> Clone for CowMap<K, V> {
    fn clone(&self) -> Self {
        Self {
            shards: self.shards.clone(),
            len: self.len,
            state: self.state,
        }
    }
}

impl<K: Hash + Eq + Clone, V: Clone> Default for CowMap<K, V> {
    fn default() -> Self {
        Self {
            shards: None,
            len: 0,
            state: RandomState::default(),
        }
    }
}

/// The shard of a hash among `count` (one, or `SHARDS`).
fn shard_of(hash: u64, count: usize) -> usize {
    if count == 1 {
        0
    } else {
        (hash >> (64 - SHARDS.trailing_zeros())) as usize
    }
}

impl<K: Hash + Eq + Clone, V: Clone> CowMap<K, V> {
    fn hash_of<Q: Hash + ?Sized>(&self, key: &Q) -> u64 {
        self.state.hash_one(key)
    }

    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash_of(key);
        self.shard(hash)?
            .find(hash, |(k, _)| k.borrow() == key)
            .map(|(_, v)| v)
    }

    fn shard(&self, hash: u64) -> Option<&HashTable<(K, V)>> {
        let shards = self.shards.as_ref()?;
        shards.get(shard_of(hash, shards.len())).map(|s| &**s)
    }

    /// The stored key and its value, to share the key's allocation.
    pub fn get_key_value<Q>(&self, key: &Q) -> Option<(&K, &V)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash_of(key);
        self.shard(hash)?
            .find(hash, |(k, _)| k.borrow() == key)
            .map(|(k, v)| (k, v))
    }

    fn shards_mut(&mut self) -> &mut Vec<Shard<K, V>> {
        let shards = self
            .shards
            .get_or_insert_with(|| Arc::new(vec![Arc::new(HashTable::new())]));
        Arc::make_mut(shards)
    }

    fn shard_mut(&mut self, hash: u64) -> &mut HashTable<(K, V)> {
        let shards = self.shards_mut();
        let at = shard_of(hash, shards.len());
        Arc::make_mut(&mut shards[at])
    }

    /// Spreads the one table's entries over `SHARDS` shards, each with room for its share
    /// of `expected` entries.
    fn split(&mut self, expected: usize) {
        let state = self.state;
        let shards = self.shards_mut();
        if shards.len() != 1 {
            return;
        }
        let share = expected.div_ceil(SHARDS);
        let per_shard = share + share / 16 + 16.min(share);
        let mut split: Vec<HashTable<(K, V)>> = (0..SHARDS)
            .map(|_| HashTable::with_capacity(per_shard))
            .collect();
        for (k, v) in shards[0].iter() {
            let hash = state.hash_one(k);
            split[shard_of(hash, SHARDS)]
                .insert_unique(hash, (k.clone(), v.clone()), |(k, _)| state.hash_one(k));
        }
        *shards = split.into_iter().map(Arc::new).collect();
    }

    /// Inserts or replaces; returns the previous value.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        let hash = self.hash_of(&key);
        let state = self.state;
        let shard = self.shard_mut(hash);
        match shard.find_mut(hash, |(k, _)| *k == key) {
            Some(slot) => Some(std::mem::replace(&mut slot.1, value)),
            None => {
                shard.insert_unique(hash, (key, value), |(k, _)| state.hash_one(k));
                self.len += 1;
                if self.len == SPLIT_AT {
                    self.split(SPLIT_AT * 2);
                }
                None
            }
        }
    }

    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash_of(key);
        self.get(key)?;
        let shard = self.shard_mut(hash);
        let entry = shard.find_entry(hash, |(k, _)| k.borrow() == key).ok()?;
        let ((_, value), _) = entry.remove();
        self.len -= 1;
        Some(value)
    }

    /// Changes the value at `key` in place, if there is one.
    pub fn update<Q>(&mut self, key: &Q, change: impl FnOnce(&mut V))
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if self.get(key).is_none() {
            return;
        }
        let hash = self.hash_of(key);
        if let Some((_, value)) = self
            .shard_mut(hash)
            .find_mut(hash, |(k, _)| k.borrow() == key)
        {
            change(value);
        }
    }

    /// Makes room for `additional` more entries, so that filling the map does not outgrow
    /// its tables (each outgrown table is garbage the size of the one replacing it). Each
    /// shard gets its share with a margin, hashing never spreads keys exactly evenly.
    pub fn reserve(&mut self, additional: usize) {
        if additional == 0 {
            return;
        }
        let expected = self.len + additional;
        let state = self.state;
        let unsplit = self.shards.as_ref().is_none_or(|s| s.len() == 1);
        if expected < SPLIT_AT && unsplit {
            // Small: the one table, sized once.
            let shard = self.shard_mut(0);
            shard.reserve(additional, |(k, _)| state.hash_one(k));
            return;
        }
        self.split(expected);
        let share = additional.div_ceil(SHARDS);
        let per_shard = share + share / 16 + 16.min(share);
        for shard in self.shards_mut().iter_mut() {
            Arc::make_mut(shard).reserve(per_shard, |(k, _)| state.hash_one(k));
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.shards
            .iter()
            .flat_map(|shards| shards.iter())
            .flat_map(|s| s.iter().map(|(k, v)| (k, v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_until_changed() {
        let mut a: CowMap<String, u32> = CowMap::default();
        for i in 0..1000 {
            a.insert(format!("k{i}"), i);
        }
        let b = a.clone();
        a.insert("k1".into(), 99);
        a.remove("k2");
        a.update("k3", |v| *v += 1);
        assert_eq!((a.get("k1"), b.get("k1")), (Some(&99), Some(&1)));
        assert_eq!((a.get("k2"), b.get("k2")), (None, Some(&2)));
        assert_eq!((a.get("k3"), b.get("k3")), (Some(&4), Some(&3)));
        assert_eq!((a.len(), b.len()), (999, 1000));
        assert_eq!(a.iter().count(), 999);
        assert_eq!(a.remove("nope"), None);
    }

    #[test]
    fn a_map_splits_into_shards_as_it_grows_and_clones_stay_apart() {
        let mut a: CowMap<u32, u32> = CowMap::default();
        assert!(a.shards.is_none(), "an empty map allocates nothing");
        a.insert(0, 0);
        let small = a.clone();
        for i in 1..2000 {
            a.insert(i, i);
        }
        assert_eq!(a.shards.as_ref().map(|s| s.len()), Some(SHARDS));
        assert_eq!(small.shards.as_ref().map(|s| s.len()), Some(1));
        assert!((0..2000).all(|i| a.get(&i) == Some(&i)));
        assert_eq!((a.len(), small.len(), small.get(&5)), (2000, 1, None));
        assert_eq!(a.iter().count(), 2000);
        for i in 0..1990 {
            a.remove(&i);
        }
        assert_eq!(a.iter().map(|(k, _)| *k).min(), Some(1990));
    }

    #[test]
    fn reserving_keeps_every_entry() {
        let mut a: CowMap<String, u32> = CowMap::default();
        a.insert("before".into(), 0);
        let b = a.clone();
        a.reserve(10_000);
        for i in 0..10_000 {
            a.insert(format!("k{i}"), i);
        }
        assert_eq!((a.len(), b.len()), (10_001, 1));
        assert_eq!((a.get("before"), a.get("k9999")), (Some(&0), Some(&9999)));
        assert_eq!(b.get("k1"), None);
    }
}
