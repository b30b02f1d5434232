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
//! Layout: each shard is an open-addressing table of 192-byte slots (three cache
//! lines), at most half full, each holding a key and, when it fits (150 bytes, such
//! as the record of a value of up to about 130 bytes), the record itself: a lookup
//! that [`LatestCache::prefetch`] started reads no memory but the slot's lines.
//!
//! Memory: a shard's table grows, doubling, to at most its share of the configured
//! capacity (the largest power-of-two number of slots that fits); the capacity also
//! bounds what the entries count (384 bytes each, the two slots an entry takes at
//! half load, plus keys and records kept outside the slots), so the cache takes
//! about its capacity when full and less while it fills. When a shard is full a read
//! miss drops about a quarter of its entries.

use fjall::Slice;
use parking_lot::Mutex;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

const SHARDS: usize = 8;
/// Per-entry bookkeeping counted against the capacity besides key bytes and records
/// too large for a slot: two 192-byte slots, since a table is at most half full.
const ENTRY_OVERHEAD: usize = 2 * std::mem::size_of::<Slot>();

/// One cached latest record with its key's hash. Keys are `Slice`s: fjall's byte view
/// keeps keys of up to 20 bytes (a typical record key) inline, so a probe compares
/// them without chasing a pointer, and caching one allocates nothing. The hash and the
/// key come first, in the slot's first cache line, which is all a probe reads.
#[repr(C)]
struct Entry {
    hash: u64,
    key: Slice,
    value: CachedRecord,
}

/// Bytes of a record kept inside its slot (the rest of a 192-byte slot).
const INLINE_RECORD_BYTES: usize = 150;

/// A cached record: its bytes inside the slot when they fit, else a shared view of
/// them. Inline bytes arrive with the slot's lines, which [`LatestCache::prefetch`]
/// starts loading before the lookup; a record elsewhere on the heap was one more
/// memory miss per cached read, after the slot's (`perf`: 13-16% of a cached,
/// shuffled `kv_get` from Python, in `ByteView::clone`'s reference count).
enum CachedRecord {
    Inline {
        len: u8,
        bytes: [u8; INLINE_RECORD_BYTES],
    },
    Shared(Slice),
}

impl CachedRecord {
    /// Keeps `value` inline if it fits, else shares it (no copy).
    fn new(value: Slice) -> Self {
        match u8::try_from(value.len()) {
            Ok(len) if fits_inline(&value) => {
                let mut bytes = [0; INLINE_RECORD_BYTES];
                bytes[..value.len()].copy_from_slice(&value);
                CachedRecord::Inline { len, bytes }
            }
            _ => CachedRecord::Shared(value),
        }
    }

    /// The record as a `Slice` of its own: a copy of inline bytes (one small
    /// allocation from the thread's cache; the bytes are in the processor's cache
    /// already), or a new reference to a shared one.
    fn to_slice(&self) -> Slice {
        match self {
            CachedRecord::Inline { len, bytes } => Slice::from(&bytes[..usize::from(*len)]),
            CachedRecord::Shared(v) => v.clone(),
        }
    }

    fn as_bytes(&self) -> &[u8] {
        match self {
            CachedRecord::Inline { len, bytes } => &bytes[..usize::from(*len)],
            CachedRecord::Shared(v) => v,
        }
    }
}

/// A table slot: three cache lines holding one entry, a small record's bytes
/// following the key. A probe reads the first line of each slot it passes; a hit
/// reads the record from the other two. All-zero bytes are an empty slot, so a table
/// in fresh zeroed memory needs no writes before use (see [`Slots`]).
#[repr(C, align(64))]
struct Slot {
    /// 1 if `entry` holds an entry, 0 if not.
    full: u8,
    entry: std::mem::MaybeUninit<Entry>,
}

const _: () = assert!(std::mem::size_of::<Slot>() == 192);

#[allow(unsafe_code)]
impl Slot {
    fn entry(&self) -> Option<&Entry> {
        // SAFETY: `full` is 1 only while `entry` holds an entry (see `put`, `take`).
        (self.full != 0).then(|| unsafe { self.entry.assume_init_ref() })
    }

    fn entry_mut(&mut self) -> Option<&mut Entry> {
        // SAFETY: as in `entry`.
        (self.full != 0).then(|| unsafe { self.entry.assume_init_mut() })
    }

    /// Fills the slot, dropping what it held.
    fn put(&mut self, e: Entry) {
        drop(self.take());
        self.entry.write(e);
        self.full = 1;
    }

    /// Empties the slot, returning its entry.
    fn take(&mut self) -> Option<Entry> {
        if self.full == 0 {
            return None;
        }
        self.full = 0;
        // SAFETY: the slot was full, and is now marked empty, so the entry is read
        // out once.
        Some(unsafe { self.entry.assume_init_read() })
    }
}

/// An open-addressing table with linear probing, at most half full, so a lookup of an
/// absent key stops at an empty slot soon and a present key is on the first slot or
/// next to it.
struct Table {
    slots: Slots,
    len: usize,
    bytes: usize,
}

impl Table {
    /// An empty table that may grow to `max_slots` slots (a power of two).
    fn new(max_slots: usize) -> Table {
        Table {
            slots: Slots::empty(max_slots),
            len: 0,
            bytes: 0,
        }
    }

    fn mask(&self) -> usize {
        self.slots.len().wrapping_sub(1)
    }

    /// The slot holding `key` (`Ok`), or the empty slot where it would go (`Err`).
    /// The table must have slots.
    fn probe(&self, hash: u64, key: &[u8]) -> Result<usize, usize> {
        let mask = self.mask();
        let mut i = hash as usize & mask;
        loop {
            match self.slots[i].entry() {
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

    /// Whether the table holds as many entries as it can at its largest size.
    fn at_most_entries(&self) -> bool {
        (self.len + 1) * 2 > self.slots.max
    }

    /// Whether the table has room for one more entry, growing it if it would be more
    /// than half full (false if it is at its largest size already).
    fn reserve_one(&mut self) -> bool {
        (self.len + 1) * 2 <= self.slots.len() || self.grow()
    }

    /// Caches `value` for `key`, replacing its entry if it has one: one probe
    /// sequence for both. A new key is not cached if the table cannot grow.
    fn upsert(&mut self, hash: u64, key: &[u8], value: Slice) {
        if !self.reserve_one() {
            if let Some(i) = self.find(hash, key) {
                self.replace_at(i, value);
            }
            return;
        }
        match self.probe(hash, key) {
            Ok(i) => self.replace_at(i, value),
            Err(i) => self.place(
                i,
                Entry {
                    hash,
                    key: Slice::from(key),
                    value: CachedRecord::new(value),
                },
            ),
        }
    }

    /// Puts `entry` into the empty slot `i`.
    fn place(&mut self, i: usize, entry: Entry) {
        self.bytes += entry_cost(&entry);
        self.slots[i].put(entry);
        self.len += 1;
    }

    /// Replaces the record of the entry in slot `i`.
    fn replace_at(&mut self, i: usize, value: Slice) {
        if let Some(e) = self.slots[i].entry_mut() {
            self.bytes = self.bytes - entry_cost(e) + cost(&e.key, &value);
            e.value = CachedRecord::new(value);
        }
    }

    /// Doubles the table in place (see [`Table::rehash_doubled`]); false if it is at
    /// its largest size or its memory cannot be mapped.
    fn grow(&mut self) -> bool {
        let n = self.slots.len();
        if !self.slots.extend() {
            return false;
        }
        if n > 0 {
            self.rehash_doubled(n);
        }
        true
    }

    /// Moves every entry of the first `n` slots to its place in the table, just
    /// doubled from `n` slots (the new half is empty). In place: an entry stays in
    /// its slot (uncopied), moves back into a slot emptied before it, or moves to the new half,
    /// mostly `n` slots up, so the pass reads and writes memory nearly in order (a
    /// fresh table took an entry at a time to random slots of new memory: a cache miss
    /// and, on first touch, a page fault each; 2-3x the cost of an insertion).
    ///
    /// Why it keeps every entry findable: the pass starts after an empty slot, so an
    /// entry's old probe sequence (its home slot up to its slot, all full) was passed
    /// before the entry itself, and every slot an entry is put back into has been
    /// passed: no slot before it in its new probe sequence can still be emptied.
    /// The one exception, a probe that wraps from the new half's end to slot 0 (not
    /// yet passed), is put aside and inserted after the pass.
    fn rehash_doubled(&mut self, n: usize) {
        let mask = self.mask();
        let Some(start) = (0..n).find(|&i| self.slots[i].entry().is_none()) else {
            unreachable!("a table at most half full has an empty slot");
        };
        let mut wrapped = Vec::new();
        for k in 1..=n {
            let i = (start + k) & (n - 1);
            let Some(hash) = self.slots[i].entry().map(|e| e.hash) else {
                continue;
            };
            // The first free slot from the entry's new home, its own slot counting as
            // free: about half the entries stay where they are, uncopied.
            let mut j = hash as usize & mask;
            let mut wraps = false;
            while j != i && self.slots[j].entry().is_some() {
                j = (j + 1) & mask;
                wraps |= j == 0;
            }
            if j == i {
                continue;
            }
            let Some(e) = self.slots[i].take() else {
                continue;
            };
            if wraps {
                wrapped.push(e);
            } else {
                self.slots[j].put(e);
            }
        }
        for e in wrapped {
            if let Err(j) = self.probe(e.hash, &e.key) {
                self.slots[j].put(e);
            }
        }
    }

    /// Drops entries (in slot order, which is hash order: arbitrary) until the table
    /// holds at most `target` bytes, keeping its size.
    fn shrink(&mut self, target: usize) {
        let mut left = self.bytes;
        let mut kept = Vec::new();
        for slot in self.slots.iter_mut() {
            if let Some(e) = slot.take() {
                if left > target {
                    left -= entry_cost(&e);
                } else {
                    kept.push(e);
                }
            }
        }
        self.len = 0;
        self.bytes = 0;
        for e in kept {
            if let Err(i) = self.probe(e.hash, &e.key) {
                self.place(i, e);
            }
        }
    }

    /// Drops every entry and the table's memory.
    fn clear(&mut self) {
        *self = Table::new(self.slots.max);
    }
}

/// The most slots a table has (3 GiB): a larger capacity is not used.
const MAX_SLOTS: usize = 1 << 24;

/// A table's slots: the first `used` (a power of two) of the `max` slots of an
/// anonymous mapping, reserved (address space only) at the table's first insertion
/// and kept until it is cleared. An anonymous mapping reads as zeros, which are empty
/// slots, so growing the table is using more of the mapping: nothing is written first
/// and a page is backed by memory only once the table uses it.
///
/// On small pages, on purpose. Huge pages (advised from 96 KiB on, the first 2 MiB
/// collapsed) made shuffled gets another 5-7% faster, as a lookup of a random slot of
/// a table of megabytes no longer missed the TLB, but made kv_put slower and uneven
/// (runs of 4x100k puts in one process, alternating builds: 267k-659k/s with huge
/// pages, 363k-593k/s without, 402k-682k/s for the old 64-byte slots): each fault
/// zeroes 2 MiB at once, at whichever insertion touches the page first.
struct Slots {
    map: Option<memmap2::MmapMut>,
    used: usize,
    max: usize,
}

impl Slots {
    /// No slots yet; up to `max` (a power of two) later.
    fn empty(max: usize) -> Slots {
        Slots {
            map: None,
            used: 0,
            max,
        }
    }

    /// Doubles the slots in use (16 at first, mapping the memory); false if they
    /// are at `max` or the mapping fails.
    fn extend(&mut self) -> bool {
        if self.map.is_none() {
            let Ok(map) = memmap2::MmapOptions::new()
                .len(self.max * std::mem::size_of::<Slot>())
                .no_reserve_swap()
                .map_anon()
            else {
                return false;
            };
            self.map = Some(map);
            self.used = self.max.min(16);
            return true;
        }
        if self.used * 2 > self.max {
            return false;
        }
        let old = self.used;
        self.used *= 2;
        // Write to every page of the new half before anything reads it: a first read
        // maps the shared zero page and the first write then faults again to copy it.
        // One slot in every 21 starts in each 4 KiB page in turn.
        let new_half = &mut self[old..];
        for slot in new_half
            .iter_mut()
            .step_by(4096 / std::mem::size_of::<Slot>())
        {
            slot.full = 0;
        }
        true
    }
}

impl std::ops::Deref for Slots {
    type Target = [Slot];
    #[allow(unsafe_code)]
    fn deref(&self) -> &[Slot] {
        match &self.map {
            // SAFETY: the first `used` slots lie inside the mapping (it has room for
            // `max` >= `used` slots) and are aligned (a mapping starts on a page, a
            // slot is 192 bytes aligned to 64); they started as zeros, a valid empty
            // slot, and were changed only through `Slot`'s methods since. The mapping
            // lives as long as `self`.
            Some(map) => unsafe { std::slice::from_raw_parts(map.as_ptr().cast(), self.used) },
            None => &[],
        }
    }
}

impl std::ops::DerefMut for Slots {
    #[allow(unsafe_code)]
    fn deref_mut(&mut self) -> &mut [Slot] {
        match &mut self.map {
            // SAFETY: as in `deref`, borrowed mutably through `self`.
            Some(map) => unsafe {
                std::slice::from_raw_parts_mut(map.as_mut_ptr().cast(), self.used)
            },
            None => &mut [],
        }
    }
}

impl Drop for Slots {
    fn drop(&mut self) {
        // The entries hold reference-counted records, and a slot is memory of the
        // mapping, never dropped on its own: drop them before unmapping.
        for slot in self.iter_mut() {
            drop(slot.take());
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

/// What caching `value` under `key` counts against the capacity.
fn cost(key: &[u8], value: &[u8]) -> usize {
    let outside = if fits_inline(value) { 0 } else { value.len() };
    key.len() + outside + ENTRY_OVERHEAD
}

/// Whether a record is kept inside its slot.
fn fits_inline(value: &[u8]) -> bool {
    value.len() <= INLINE_RECORD_BYTES
}

/// What a cached entry counts against the capacity.
fn entry_cost(e: &Entry) -> usize {
    cost(&e.key, e.value.as_bytes())
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
        let shard_capacity = usize::try_from(capacity_bytes).unwrap_or(usize::MAX) / SHARDS;
        // As many slots as the shard's capacity holds, rounded down to a power of two.
        let fits = (shard_capacity / std::mem::size_of::<Slot>()).clamp(16, MAX_SLOTS);
        let max_slots = 1 << (usize::BITS - 1 - fits.leading_zeros());
        let shards = (0..SHARDS)
            .map(|_| Shard {
                table: Mutex::new(Table::new(max_slots)),
                slots_at: AtomicUsize::new(0),
                mask: AtomicUsize::new(0),
            })
            .collect();
        LatestCache {
            shards,
            generation: AtomicU64::new(0),
            shard_capacity,
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

    /// The cached latest record of `key`, if any. Cost: a hash, a shard lock, usually
    /// one slot (three cache lines, loaded already after a [`LatestCache::prefetch`])
    /// and, for a record inside its slot, a copy into a new `Slice`.
    pub(crate) fn get(&self, key: &[u8]) -> Option<Slice> {
        if !self.enabled() {
            return None;
        }
        let (hash, shard) = self.locate(key);
        let table = shard.table.lock();
        let i = table.find(hash, key)?;
        table.slots[i].entry().map(|e| e.value.to_slice())
    }

    /// Starts loading the table slots where `key` would be, so that a
    /// [`LatestCache::get`] of it soon after finds them in the processor's cache
    /// instead of waiting for memory. Takes no lock. Cost: a hash and four prefetches.
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
        // The slot's three lines (key and inline record) and the next slot's first
        // line, where the probe goes on if the key is not in its own slot.
        for line in 0..4 {
            prefetch_line(at.wrapping_add(line * 64));
        }
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
        if table.bytes + c > self.shard_capacity || table.at_most_entries() {
            // Drop a quarter (of the capacity, or of the entries if the table's size
            // is the bound).
            let target = table.bytes.min(self.shard_capacity) * 3 / 4;
            table.shrink(target);
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
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn slice(b: &[u8]) -> Slice {
        Slice::from(b)
    }

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
            let entries: Vec<&Entry> = t.slots.iter().filter_map(Slot::entry).collect();
            assert_eq!(entries.len(), t.len);
            let counted: usize = entries.iter().map(|e| entry_cost(e)).sum();
            assert_eq!(counted, t.bytes);
        }
        assert!(c.shards.iter().any(|s| s.table.lock().len > 0));
    }

    #[test]
    fn table_finds_what_it_holds_across_growth_and_shrinking() {
        let c = LatestCache::new(0);
        let mut t = Table::new(1 << 16);
        // Enough entries for a table of megabytes.
        const N: u32 = 20_000;
        let key = |i: u32| format!("key-{i:08}").into_bytes();
        let value = |i: u32| i.to_be_bytes().repeat(1 + i as usize % 50);
        for i in 0..N {
            let k = key(i);
            let hash = c.hasher.hash_one(&k[..]);
            assert_eq!(t.find(hash, &k), None);
            t.upsert(hash, &k, Slice::from(&value(i)[..]));
            assert!(t.len * 2 <= t.slots.len());
        }
        let lookup = |t: &Table, i: u32| {
            let k = key(i);
            t.find(c.hasher.hash_one(&k[..]), &k)
                .and_then(|at| t.slots[at].entry().map(|e| e.value.to_slice().to_vec()))
        };
        for i in 0..N {
            assert_eq!(lookup(&t, i), Some(value(i)), "{i}");
        }
        assert_eq!(lookup(&t, N), None);
        let before = t.bytes;
        t.shrink(before / 2);
        assert!(t.bytes <= before / 2);
        let kept = (0..N).filter(|&i| lookup(&t, i).is_some()).count();
        assert_eq!(kept, t.len);
        assert!(kept > 0 && kept < N as usize);
        t.clear();
        assert_eq!(lookup(&t, 0), None);
        assert!(t.slots.map.is_none(), "clearing gives the memory back");
    }

    #[test]
    fn a_table_at_its_largest_replaces_but_does_not_add() {
        let mut t = Table::new(16);
        for i in 0..8u64 {
            t.upsert(i, &i.to_be_bytes(), slice(b"a"));
        }
        assert_eq!((t.len, t.slots.len()), (8, 16));
        t.upsert(100, b"new", slice(b"b"));
        assert_eq!(t.find(100, b"new"), None);
        t.upsert(3, &3u64.to_be_bytes(), slice(b"c"));
        let at = t.find(3, &3u64.to_be_bytes()).expect("kept");
        assert_eq!(
            t.slots[at].entry().map(|e| e.value.to_slice()),
            Some(slice(b"c"))
        );
    }

    proptest! {
        /// Growing in place keeps every entry findable, whatever the hashes: here
        /// few distinct home slots (long runs) and hashes near the table's end (probes
        /// that wrap).
        #[test]
        fn doubling_in_place_keeps_every_entry(
            hashes in proptest::collection::vec(prop_oneof![0..8u64, 1000..1024u64, any::<u64>()], 1..600),
        ) {
            let mut t = Table::new(1 << 12);
            let mut model: HashMap<Vec<u8>, u64> = HashMap::new();
            for (n, h) in hashes.into_iter().enumerate() {
                let k = (n as u32).to_be_bytes().to_vec();
                t.upsert(h, &k, slice(&k));
                model.insert(k, h);
                for (k, &h) in &model {
                    let at = t.find(h, k);
                    prop_assert!(at.is_some(), "lost {:?}", k);
                }
            }
            prop_assert_eq!(t.len, model.len());
        }
    }

    #[test]
    fn records_inline_and_shared_read_back_whole() {
        let c = LatestCache::new(1 << 20);
        for len in [
            0,
            1,
            20,
            21,
            INLINE_RECORD_BYTES - 1,
            INLINE_RECORD_BYTES,
            INLINE_RECORD_BYTES + 1,
            255,
            256,
            5000,
        ] {
            let key = format!("k{len}").into_bytes();
            let value: Vec<u8> = (0..len).map(|i| (i * 7 + len) as u8).collect();
            c.committed(&key, slice(&value), true);
            assert_eq!(c.get(&key).as_deref(), Some(&value[..]), "{len}");
            // A replacement of another size.
            let longer = [value.clone(), value.clone(), b"x".to_vec()].concat();
            c.committed(&key, slice(&longer), false);
            assert_eq!(c.get(&key).as_deref(), Some(&longer[..]), "{len}");
        }
    }

    #[test]
    fn a_huge_capacity_makes_a_bounded_table() {
        let c = LatestCache::new(u64::MAX);
        c.committed(b"k", slice(b"v"), true);
        assert_eq!(c.get(b"k").as_deref(), Some(&b"v"[..]));
        for s in c.shards.iter() {
            assert_eq!(s.table.lock().slots.max, MAX_SLOTS);
        }
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
    #[derive(Debug, Clone)]
    enum Op {
        Committed(u8, u16, bool),
        Created(u8, u16),
        Fill(u8, u16),
        Clear,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            8 => (any::<u8>(), 0..400u16, any::<bool>()).prop_map(|(k, l, i)| Op::Committed(k, l, i)),
            4 => (any::<u8>(), 0..400u16).prop_map(|(k, l)| Op::Created(k, l)),
            4 => (any::<u8>(), 0..400u16).prop_map(|(k, l)| Op::Fill(k, l)),
            1 => Just(Op::Clear),
        ]
    }

    proptest! {
        /// Against a map of each key's newest record: a hit is always the newest
        /// record, a fill is a hit, and the byte count stays within the capacity
        /// and equals what the entries count.
        #[test]
        fn agrees_with_a_map_of_newest_records(ops in proptest::collection::vec(op(), 1..400)) {
            // Room for 16 entries a shard (32 slots): evictions happen.
            let c = LatestCache::new(SHARDS as u64 * 40 * 240);
            let mut newest: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
            for (n, op) in ops.into_iter().enumerate() {
                let record = |len: u16| -> Vec<u8> { (0..len).map(|i| (usize::from(i) + n) as u8).collect() };
                match op {
                    Op::Committed(k, len, insert) => {
                        let key = vec![b'k', k];
                        let v = record(len);
                        c.committed(&key, slice(&v), insert);
                        newest.insert(key, v);
                    }
                    Op::Created(k, len) => {
                        let key = vec![b'k', k];
                        if newest.contains_key(&key) {
                            continue; // `created` is only for keys without a record
                        }
                        let v = record(len);
                        c.created(&key, slice(&v));
                        newest.insert(key, v);
                    }
                    Op::Fill(k, len) => {
                        // A reader's fill of what fjall holds now.
                        let key = vec![b'k', k];
                        let v = newest.get(&key).cloned().unwrap_or_else(|| record(len));
                        newest.insert(key.clone(), v.clone());
                        c.fill_now(&key, slice(&v), c.generation());
                        let hit = c.get(&key);
                        prop_assert_eq!(hit.as_deref(), Some(&v[..]));
                    }
                    Op::Clear => {
                        c.clear();
                    }
                }
                for (k, v) in &newest {
                    if let Some(hit) = c.get(k) {
                        prop_assert_eq!(&hit[..], &v[..]);
                    }
                }
                for s in c.shards.iter() {
                    let t = s.table.lock();
                    prop_assert!(t.bytes <= c.shard_capacity);
                    prop_assert_eq!(t.slots.iter().filter_map(Slot::entry).map(entry_cost).sum::<usize>(), t.bytes);
                }
            }
        }
    }
}
