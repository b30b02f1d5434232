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
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

const SHARDS: usize = 8;
/// Per-entry bookkeeping counted against the capacity besides key and value bytes:
/// two 64-byte slots, since a table is at most half full.
const ENTRY_OVERHEAD: usize = 128;

/// One cached latest record with its key's hash. Keys are `Slice`s: fjall's byte view
/// keeps keys of up to 20 bytes (a typical record key) inline, so a probe compares
/// them without chasing a pointer, and caching one allocates nothing.
struct Entry {
    hash: u64,
    key: Slice,
    value: Slice,
}

/// A table slot: one cache line, so a probe that finds its key on the first slot
/// touches one line of the table (a `HashMap` touches its control bytes and then the
/// slot, two lines apart).
#[repr(align(64))]
#[derive(Default)]
struct Slot(Option<Entry>);

/// An open-addressing table with linear probing, at most half full, so a lookup of an
/// absent key stops at an empty slot soon and a present key is on the first slot or
/// next to it.
#[derive(Default)]
struct Table {
    slots: Slots,
    len: usize,
    bytes: usize,
}

impl Table {
    fn mask(&self) -> usize {
        self.slots.len().wrapping_sub(1)
    }

    /// The slot holding `key` (`Ok`), or the empty slot where it would go (`Err`).
    /// The table must have slots.
    fn probe(&self, hash: u64, key: &[u8]) -> Result<usize, usize> {
        let mask = self.mask();
        let mut i = hash as usize & mask;
        loop {
            match &self.slots[i].0 {
                None => return Err(i),
                Some(e) if e.hash == hash && *e.key == *key => return Ok(i),
                Some(_) => i = (i + 1) & mask,
            }
        }
    }

    /// The slot holding `key`, if any.
    fn find(&self, hash: u64, key: &[u8]) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        self.probe(hash, key).ok()
    }

    /// Makes room for one more entry: grows the table if it would be more than half
    /// full.
    fn reserve_one(&mut self) {
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow();
        }
    }

    /// Caches `value` for `key`, replacing its entry if it has one: one probe
    /// sequence for both.
    fn upsert(&mut self, hash: u64, key: &[u8], value: Slice) {
        self.reserve_one();
        match self.probe(hash, key) {
            Ok(i) => self.replace_at(i, value),
            Err(i) => self.place(
                i,
                Entry {
                    hash,
                    key: Slice::from(key),
                    value,
                },
            ),
        }
    }

    /// Adds an entry whose key is not in the table.
    fn insert_new(&mut self, entry: Entry) {
        self.reserve_one();
        if let Err(i) = self.probe(entry.hash, &entry.key) {
            self.place(i, entry);
        }
    }

    /// Puts `entry` into the empty slot `i`.
    fn place(&mut self, i: usize, entry: Entry) {
        self.bytes += cost(&entry.key, &entry.value);
        self.slots[i].0 = Some(entry);
        self.len += 1;
    }

    /// Replaces the record of the entry in slot `i`.
    fn replace_at(&mut self, i: usize, value: Slice) {
        if let Some(e) = self.slots[i].0.as_mut() {
            self.bytes = self.bytes + value.len() - e.value.len();
            e.value = value;
        }
    }

    fn grow(&mut self) {
        let capacity = (self.slots.len() * 2).max(16);
        self.refill(new_slots(capacity), usize::MAX);
    }

    /// Drops entries (in slot order, which is hash order: arbitrary) until the table
    /// holds at most `target` bytes, keeping its size.
    fn shrink(&mut self, target: usize) {
        self.refill(new_slots(self.slots.len()), target);
    }

    /// Moves the entries into `fresh` (empty slots), dropping the first ones met
    /// while the table's bytes still exceed `target`.
    fn refill(&mut self, fresh: Slots, target: usize) {
        let mut old = std::mem::replace(&mut self.slots, fresh);
        let mut dropping = self.bytes;
        self.len = 0;
        self.bytes = 0;
        for slot in old.iter_mut() {
            if let Some(e) = slot.0.take() {
                if dropping > target {
                    dropping -= cost(&e.key, &e.value);
                } else {
                    self.insert_new(e);
                }
            }
        }
    }

    fn clear(&mut self) {
        *self = Table::default();
    }
}

/// Tables of at least this many bytes live in a mapping of their own on huge pages.
const HUGE_TABLE_BYTES: usize = 2 << 20;

fn new_slots(capacity: usize) -> Slots {
    if capacity * std::mem::size_of::<Slot>() >= HUGE_TABLE_BYTES {
        if let Some(mapped) = MappedSlots::new(capacity) {
            return Slots::Mapped(mapped);
        }
    }
    Slots::Heap((0..capacity).map(|_| Slot::default()).collect())
}

/// A table's slots: on the heap, or (large tables) in an anonymous mapping advised
/// onto 2 MiB pages. A lookup reads one random slot of a table of megabytes: with
/// 4 KiB pages nearly every one also missed the TLB (`perf`: the prefetch of the slot
/// waited on the page walk, ~13% of a cached `kv_get`'s engine time at 100k keys),
/// and growing the table faulted its pages in 4 KiB at a time. The mapping is the
/// table's alone, so the advice never reaches memory the allocator hands out for
/// other things (see strata-python's note on mimalloc and huge pages).
enum Slots {
    Heap(Box<[Slot]>),
    Mapped(MappedSlots),
}

impl Default for Slots {
    fn default() -> Self {
        Slots::Heap(Box::default())
    }
}

impl std::ops::Deref for Slots {
    type Target = [Slot];
    fn deref(&self) -> &[Slot] {
        match self {
            Slots::Heap(b) => b,
            Slots::Mapped(m) => m.as_slice(),
        }
    }
}

impl std::ops::DerefMut for Slots {
    fn deref_mut(&mut self) -> &mut [Slot] {
        match self {
            Slots::Heap(b) => b,
            Slots::Mapped(m) => m.as_mut_slice(),
        }
    }
}

/// `len` slots in an anonymous mapping, starting at a 2 MiB boundary inside it.
struct MappedSlots {
    map: memmap2::MmapMut,
    offset: usize,
    len: usize,
}

impl MappedSlots {
    /// Maps room for `len` slots plus alignment, advises it onto huge pages and
    /// writes every slot empty. `None` if the mapping fails (the caller uses the heap).
    #[allow(unsafe_code)]
    fn new(len: usize) -> Option<MappedSlots> {
        let bytes = len * std::mem::size_of::<Slot>();
        let mut map = memmap2::MmapMut::map_anon(bytes + HUGE_TABLE_BYTES).ok()?;
        let base = map.as_mut_ptr() as usize;
        let offset = base.next_multiple_of(HUGE_TABLE_BYTES) - base;
        #[cfg(target_os = "linux")]
        let _ = map.advise_range(memmap2::Advice::HugePage, offset, bytes);
        let first = map[offset..].as_mut_ptr().cast::<Slot>();
        for i in 0..len {
            // SAFETY: slot `i` lies inside the mapping (`offset + bytes` is within
            // its length), is aligned (the offset is a multiple of 2 MiB, slots are
            // 64 bytes) and is written once before any read.
            unsafe { first.add(i).write(Slot::default()) };
        }
        Some(MappedSlots { map, offset, len })
    }

    #[allow(unsafe_code)]
    fn as_slice(&self) -> &[Slot] {
        // SAFETY: `new` initialised `len` slots from `offset`; the mapping lives as
        // long as `self`.
        unsafe { std::slice::from_raw_parts(self.map[self.offset..].as_ptr().cast(), self.len) }
    }

    #[allow(unsafe_code)]
    fn as_mut_slice(&mut self) -> &mut [Slot] {
        // SAFETY: as in `as_slice`, borrowed mutably through `self`.
        unsafe {
            std::slice::from_raw_parts_mut(self.map[self.offset..].as_mut_ptr().cast(), self.len)
        }
    }
}

impl Drop for MappedSlots {
    fn drop(&mut self) {
        // The entries hold reference-counted records: drop them before unmapping.
        for slot in self.as_mut_slice() {
            slot.0 = None;
        }
    }
}

/// A shard: its table behind a lock, and where the table's slots are, readable
/// without the lock for [`LatestCache::prefetch`] (a hint: a stale address only makes
/// the prefetch useless).
struct Shard {
    table: Mutex<Table>,
    slots_at: AtomicUsize,
    mask: AtomicUsize,
}

impl Shard {
    /// Records where the table's slots are now (0 for none: an empty table's slice
    /// has a dangling address).
    fn publish(&self, table: &Table) {
        let at = if table.slots.is_empty() {
            0
        } else {
            table.slots.as_ptr() as usize
        };
        self.slots_at.store(at, Ordering::Relaxed);
        self.mask.store(table.mask(), Ordering::Relaxed);
    }
}

/// See the module docs.
pub(crate) struct LatestCache {
    shards: Box<[Shard]>,
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

/// Asks the processor to load the cache line at `addr` (a hint: it never faults and
/// changes nothing the program can see). A no-op off x86-64.
#[allow(unsafe_code)]
fn prefetch_line(addr: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch reads nothing into the program and never faults, whatever
    // the address.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(addr as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = addr;
}

impl LatestCache {
    /// A cache holding at most `capacity_bytes`; 0 disables it.
    pub(crate) fn new(capacity_bytes: u64) -> Self {
        let shards = (0..SHARDS)
            .map(|_| Shard {
                table: Mutex::new(Table::default()),
                slots_at: AtomicUsize::new(0),
                mask: AtomicUsize::new(0),
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

    /// The key's hash and its shard (chosen by the hash's top bits; the table uses
    /// the low bits).
    fn locate(&self, key: &[u8]) -> (u64, &Shard) {
        let hash = self.hasher.hash_one(key);
        (hash, &self.shards[(hash >> 60) as usize % SHARDS])
    }

    /// The generation to pass to [`LatestCache::fill`]; read it before the fjall read.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The cached latest record of `key`, if any. Cost: a hash, a shard lock and
    /// usually one slot (one cache line) of the table.
    pub(crate) fn get(&self, key: &[u8]) -> Option<Slice> {
        if !self.enabled() {
            return None;
        }
        let (hash, shard) = self.locate(key);
        let table = shard.table.lock();
        let i = table.find(hash, key)?;
        table.slots[i].0.as_ref().map(|e| e.value.clone())
    }

    /// Starts loading the table slots where `key` would be, so that a
    /// [`LatestCache::get`] of it soon after finds them in the processor's cache
    /// instead of waiting for memory. Takes no lock. Cost: a hash and two prefetches.
    pub(crate) fn prefetch(&self, key: &[u8]) {
        if !self.enabled() {
            return;
        }
        let (hash, shard) = self.locate(key);
        let base = shard.slots_at.load(Ordering::Relaxed);
        if base == 0 {
            return;
        }
        // The address and mask are read without the lock and may belong to tables of
        // different sizes while one grows: wrapping arithmetic, and a useless
        // prefetch at worst.
        let i = hash as usize & shard.mask.load(Ordering::Relaxed);
        let at = base.wrapping_add(i.wrapping_mul(std::mem::size_of::<Slot>()));
        prefetch_line(at);
        prefetch_line(at.wrapping_add(std::mem::size_of::<Slot>()));
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
        let (hash, shard) = self.locate(key);
        let mut table = shard.table.lock();
        if self.generation.load(Ordering::Acquire) != generation || table.find(hash, key).is_some()
        {
            return;
        }
        if table.bytes + c > self.shard_capacity {
            table.shrink(self.shard_capacity * 3 / 4);
        }
        table.upsert(hash, key, value);
        shard.publish(&table);
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
            let (hash, shard) = self.locate(key);
            let mut table = shard.table.lock();
            if insert && table.bytes + c <= self.shard_capacity {
                table.upsert(hash, key, value);
                shard.publish(&table);
            } else if let Some(i) = table.find(hash, key) {
                table.replace_at(i, value);
            }
        }
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// A commit created `key` (it had no latest record): caches its record if the
    /// shard has room. Skips the generation bump [`LatestCache::committed`] makes: no
    /// reader can hold an older record of a key that had none. (A reader that already
    /// read the new record may have filled it; that entry is replaced by the same
    /// record.) Cost: a hash, a shard lock, one insertion.
    pub(crate) fn created(&self, key: &[u8], value: Slice) {
        if !self.enabled() {
            return;
        }
        let c = cost(key, &value);
        let (hash, shard) = self.locate(key);
        let mut table = shard.table.lock();
        if table.bytes + c > self.shard_capacity {
            return;
        }
        table.upsert(hash, key, value);
        shard.publish(&table);
    }

    /// Forgets everything (after keys were removed from fjall in bulk).
    pub(crate) fn clear(&self) {
        for shard in self.shards.iter() {
            let mut table = shard.table.lock();
            table.clear();
            shard.publish(&table);
            self.generation.fetch_add(1, Ordering::AcqRel);
        }
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
            assert!(s.table.lock().bytes <= small.shard_capacity);
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
            let t = s.table.lock();
            assert!(t.bytes <= c.shard_capacity);
            let entries: Vec<&Entry> = t.slots.iter().filter_map(|s| s.0.as_ref()).collect();
            assert_eq!(entries.len(), t.len);
            let counted: usize = entries.iter().map(|e| cost(&e.key, &e.value)).sum();
            assert_eq!(counted, t.bytes);
        }
        assert!(c.shards.iter().any(|s| s.table.lock().len > 0));
    }

    #[test]
    fn table_finds_what_it_holds_across_growth_and_shrinking() {
        let c = LatestCache::new(0);
        let mut t = Table::default();
        // Enough entries for a table past HUGE_TABLE_BYTES (its own mapping).
        const N: u32 = 20_000;
        let key = |i: u32| format!("key-{i:08}").into_bytes();
        for i in 0..N {
            let k = key(i);
            let hash = c.hasher.hash_one(&k[..]);
            assert_eq!(t.find(hash, &k), None);
            t.insert_new(Entry {
                hash,
                key: Slice::from(&k[..]),
                value: Slice::from(&i.to_be_bytes()[..]),
            });
            assert!(t.len * 2 <= t.slots.len());
        }
        let lookup = |t: &Table, i: u32| {
            let k = key(i);
            t.find(c.hasher.hash_one(&k[..]), &k)
                .and_then(|at| t.slots[at].0.as_ref().map(|e| e.value.to_vec()))
        };
        for i in 0..N {
            assert_eq!(lookup(&t, i), Some(i.to_be_bytes().to_vec()), "{i}");
        }
        assert_eq!(lookup(&t, N), None);
        assert!(matches!(t.slots, Slots::Mapped(_)), "a mapped table");
        let before = t.bytes;
        t.shrink(before / 2);
        assert!(t.bytes <= before / 2);
        let kept = (0..N).filter(|&i| lookup(&t, i).is_some()).count();
        assert_eq!(kept, t.len);
        assert!(kept > 0 && kept < N as usize);
        t.clear();
        assert_eq!(lookup(&t, 0), None);
        // Small tables stay on the heap.
        t.insert_new(Entry {
            hash: 1,
            key: Slice::from(&b"k"[..]),
            value: Slice::from(&b"v"[..]),
        });
        assert!(matches!(t.slots, Slots::Heap(_)));
    }

    #[test]
    fn prefetch_of_any_key_is_harmless() {
        let c = LatestCache::new(1 << 20);
        c.prefetch(b"absent"); // empty tables: nothing to load
        c.committed(b"k", Slice::from(&b"v"[..]), true);
        c.prefetch(b"k");
        c.prefetch(b"other");
        assert_eq!(c.get(b"k").as_deref(), Some(&b"v"[..]));
        c.clear();
        c.prefetch(b"k");
        assert_eq!(c.get(b"k"), None);
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
