//! The latest-record cache: recently read and recently written latest records, kept
//! in memory so that a repeated point read, a read of a key soon after it was written,
//! and the commit path's conflict read of such a key skip fjall's memtable skiplist and
//! table lookups.
//!
//! It caches the raw bytes of `latest` keyspace records by latest key, so a hit is
//! exactly what a fjall read would have returned. Correctness rests on one rule: an
//! entry is never older than the record in fjall once the commit that replaced it has
//! returned. Commits (under the commit lock, after their batch is in fjall) replace
//! the entries of the keys they wrote, or insert them while there is room
//! (write-through; except keys written with `put_new`, such as appended events, which
//! are rarely read back); bulk removals clear everything. A
//! reader that misses fills the entry only if no commit or clear touched the cache
//! between the moment before its fjall read and the fill: every such change bumps a
//! generation counter inside the shard lock that the fill also takes, so a fill that
//! raced a commit is dropped instead of resurrecting the older record.
//!
//! Memory: at most the configured number of bytes of keys and records (plus map
//! overhead); when a shard is full it drops about a quarter of its entries.

use fjall::Slice;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};

const SHARDS: usize = 16;
/// Per-entry bookkeeping counted against the capacity besides key and value bytes.
const ENTRY_OVERHEAD: usize = 48;

/// Keys are `Slice`s: fjall's byte view keeps keys of up to 20 bytes (a typical
/// record key) inline, so a lookup compares them without chasing a pointer, and
/// caching one allocates nothing (a boxed key cost a cache miss per lookup).
type Map = HashMap<Slice, Slice, foldhash::fast::FixedState>;

struct Shard {
    map: Map,
    bytes: usize,
}

/// See the module docs.
pub(crate) struct LatestCache {
    shards: Box<[Mutex<Shard>]>,
    generation: AtomicU64,
    shard_capacity: usize,
    hasher: foldhash::fast::FixedState,
}

/// One cache miss in this many fills the cache (see [`LatestCache::fill`]).
const FILL_EVERY: u32 = 4;

thread_local! {
    static MISSES: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

fn fill_turn() -> bool {
    MISSES.with(|m| {
        let n = m.get().wrapping_add(1);
        m.set(n);
        n % FILL_EVERY == 0
    })
}

fn cost(key: &[u8], value: &Slice) -> usize {
    key.len() + value.len() + ENTRY_OVERHEAD
}

impl LatestCache {
    /// A cache holding at most `capacity_bytes`; 0 disables it.
    pub(crate) fn new(capacity_bytes: u64) -> Self {
        let shards = (0..SHARDS)
            .map(|_| {
                Mutex::new(Shard {
                    map: Map::default(),
                    bytes: 0,
                })
            })
            .collect();
        LatestCache {
            shards,
            generation: AtomicU64::new(0),
            shard_capacity: usize::try_from(capacity_bytes).unwrap_or(usize::MAX) / SHARDS,
            hasher: foldhash::fast::FixedState::with_seed(0x5354_5241_5441),
        }
    }

    fn enabled(&self) -> bool {
        self.shard_capacity > 0
    }

    fn shard(&self, key: &[u8]) -> &Mutex<Shard> {
        let h = self.hasher.hash_one(key) as usize;
        &self.shards[h % SHARDS]
    }

    /// The generation to pass to [`LatestCache::fill`]; read it before the fjall read.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The cached latest record of `key`, if any. Cost: a hash and a shard lock.
    pub(crate) fn get(&self, key: &[u8]) -> Option<Slice> {
        if !self.enabled() {
            return None;
        }
        self.shard(key).lock().map.get(key).cloned()
    }

    /// Caches `value`, read from fjall after [`LatestCache::generation`] returned
    /// `generation`, unless the cache changed since. Only one miss in
    /// [`FILL_EVERY`] (per thread) fills: a key read again and again gets in after a
    /// few reads, while a scan-like pass over cold keys pays for few insertions.
    pub(crate) fn fill(&self, key: &[u8], value: Slice, generation: u64) {
        if !self.enabled() || !fill_turn() {
            return;
        }
        self.fill_now(key, value, generation);
    }

    fn fill_now(&self, key: &[u8], value: Slice, generation: u64) {
        let c = cost(key, &value);
        if c > self.shard_capacity {
            return;
        }
        let mut shard = self.shard(key).lock();
        if self.generation.load(Ordering::Acquire) != generation || shard.map.contains_key(key) {
            return;
        }
        if shard.bytes + c > self.shard_capacity {
            Self::shrink(&mut shard, self.shard_capacity * 3 / 4);
        }
        shard.bytes += c;
        shard.map.insert(Slice::from(key), value);
    }

    /// A commit wrote `key` (its new latest record is `value`): replaces a cached
    /// entry, and with `insert` also caches the record when absent and the shard has
    /// room (write-through, so a key read back soon after it was written is a hit;
    /// writes that are rarely read back, like appended events, pass `false`). It never
    /// evicts: evicting on every write of a bulk load cost more than the cache saved
    /// (a 1M-key put loop went from 5.6 to 6.7-7.9 µs per put); read misses make room.
    /// Call after the commit's batch is in fjall, before the commit returns. Cost: a
    /// hash and a shard lock; an insertion copies the key.
    pub(crate) fn committed(&self, key: &[u8], value: Slice, insert: bool) {
        if !self.enabled() {
            return;
        }
        let c = cost(key, &value);
        {
            let mut shard = self.shard(key).lock();
            if let Some(old) = shard.map.get_mut(key) {
                let before = old.len();
                let after = value.len();
                *old = value;
                shard.bytes = shard.bytes + after - before;
            } else if insert && shard.bytes + c <= self.shard_capacity {
                shard.bytes += c;
                shard.map.insert(Slice::from(key), value);
            }
        }
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// A commit created `key` (it had no latest record): caches its record if the
    /// shard has room. Skips the lookup [`LatestCache::committed`] makes, and the
    /// generation bump: no reader can hold an older record of a key that had none.
    /// (A reader that already read the new record may have filled it; that entry is
    /// replaced by the same record.) Cost: a hash, a shard lock, one insertion.
    pub(crate) fn created(&self, key: &[u8], value: Slice) {
        if !self.enabled() {
            return;
        }
        let c = cost(key, &value);
        let mut shard = self.shard(key).lock();
        if shard.bytes + c <= self.shard_capacity {
            match shard.map.insert(Slice::from(key), value) {
                Some(old) => shard.bytes = shard.bytes + c - cost(key, &old),
                None => shard.bytes += c,
            }
        }
    }

    /// Forgets everything (after keys were removed from fjall in bulk).
    pub(crate) fn clear(&self) {
        for s in self.shards.iter() {
            let mut shard = s.lock();
            shard.map.clear();
            shard.bytes = 0;
            self.generation.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// Drops entries (in the map's arbitrary order) until the shard holds at most
    /// `target` bytes.
    fn shrink(shard: &mut Shard, target: usize) {
        let mut bytes = shard.bytes;
        shard.map.retain(|k, v| {
            if bytes <= target {
                return true;
            }
            bytes -= cost(k, v);
            false
        });
        shard.bytes = bytes;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fill_that_raced_a_commit_is_dropped() {
        let c = LatestCache::new(1 << 20);
        let g = c.generation();
        c.committed(b"k", Slice::from(&b"new"[..]), false); // not cached: nothing replaced, generation moves
        c.fill_now(b"k", Slice::from(&b"old"[..]), g);
        assert_eq!(c.get(b"k"), None);
        let g = c.generation();
        c.fill_now(b"k", Slice::from(&b"new"[..]), g);
        assert_eq!(c.get(b"k").as_deref(), Some(&b"new"[..]));
        c.committed(b"k", Slice::from(&b"newer"[..]), false);
        assert_eq!(c.get(b"k").as_deref(), Some(&b"newer"[..]));
        c.clear();
        assert_eq!(c.get(b"k"), None);
    }

    #[test]
    fn commits_write_through_unless_told_not_to() {
        let c = LatestCache::new(1 << 20);
        c.committed(b"a", Slice::from(&b"1"[..]), true);
        assert_eq!(c.get(b"a").as_deref(), Some(&b"1"[..]));
        c.committed(b"b", Slice::from(&b"1"[..]), false);
        assert_eq!(c.get(b"b"), None);
        // A cached key is replaced either way.
        c.committed(b"a", Slice::from(&b"2"[..]), false);
        assert_eq!(c.get(b"a").as_deref(), Some(&b"2"[..]));
        // Write-through respects the capacity and never evicts: once full, what
        // is cached stays and new keys are not added.
        let small = LatestCache::new(16 * 4096);
        for i in 0..10_000u32 {
            small.committed(&i.to_be_bytes(), Slice::from(&[7u8; 100][..]), true);
        }
        for s in small.shards.iter() {
            assert!(s.lock().bytes <= small.shard_capacity);
        }
        assert!(small.get(&0u32.to_be_bytes()).is_some());
        assert!(small.get(&9_999u32.to_be_bytes()).is_none());
    }

    #[test]
    fn stays_within_capacity() {
        let c = LatestCache::new(16 * 4096);
        for i in 0..10_000u32 {
            let g = c.generation();
            c.fill_now(&i.to_be_bytes(), Slice::from(&[7u8; 100][..]), g);
        }
        for s in c.shards.iter() {
            let s = s.lock();
            assert!(s.bytes <= c.shard_capacity);
            let counted: usize = s.map.iter().map(|(k, v)| cost(k, v)).sum();
            assert_eq!(counted, s.bytes);
        }
        assert!(c.shards.iter().any(|s| !s.lock().map.is_empty()));
    }

    #[test]
    fn repeated_misses_fill() {
        let c = LatestCache::new(1 << 20);
        for _ in 0..FILL_EVERY {
            c.fill(b"k", Slice::from(&b"v"[..]), c.generation());
        }
        assert_eq!(c.get(b"k").as_deref(), Some(&b"v"[..]));
    }

    #[test]
    fn zero_capacity_disables() {
        let c = LatestCache::new(0);
        for _ in 0..FILL_EVERY {
            c.fill(b"k", Slice::from(&b"v"[..]), c.generation());
        }
        assert_eq!(c.get(b"k"), None);
    }
}
