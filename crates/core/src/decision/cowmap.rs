//! A copy-on-write hash map in shards: cloning it is cheap (a pointer), and changing a
//! clone copies only the shards it touches. Snapshots of the decision index are built on
//! it, so a write publishes a new snapshot without copying the whole index and readers
//! never lock.
//!
//! A node holds an index per tenant and most tenants are small, so an empty map allocates
//! nothing, the shard array is allocated at the first insert, and each shard at the first
//! key that falls in it: an empty tenant's eleven maps cost eleven words each.

use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash};
use std::sync::Arc;

use foldhash::fast::RandomState;
use hashbrown::HashTable;

/// Shards per map (a power of two): a change copies 1/64 of the map at most.
const SHARDS: usize = 64;

type Shard<K, V> = Option<Arc<HashTable<(K, V)>>>;

pub struct CowMap<K, V> {
    /// `None` until the first insert; a shard is `None` until a key falls in it.
    shards: Option<Arc<[Shard<K, V>; SHARDS]>>,
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

fn shard_of(hash: u64) -> usize {
    (hash >> (64 - SHARDS.trailing_zeros())) as usize
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
        self.shards.as_ref()?[shard_of(hash)].as_deref()
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

    fn shards_mut(&mut self) -> &mut [Shard<K, V>; SHARDS] {
        let shards = self
            .shards
            .get_or_insert_with(|| Arc::new(std::array::from_fn(|_| None)));
        Arc::make_mut(shards)
    }

    fn shard_mut(&mut self, hash: u64) -> &mut HashTable<(K, V)> {
        let shard = self.shards_mut()[shard_of(hash)].get_or_insert_with(Default::default);
        Arc::make_mut(shard)
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
        let share = additional.div_ceil(SHARDS);
        let per_shard = share + share / 16 + 16.min(share);
        let state = self.state;
        for shard in self.shards_mut().iter_mut() {
            let shard = shard.get_or_insert_with(Default::default);
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
            .flat_map(|shards| shards.iter().flatten())
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
