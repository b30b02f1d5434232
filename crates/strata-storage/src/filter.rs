//! The absent-key filter: an in-memory Bloom filter over every record key in the
//! `latest` keyspace, so a commit that writes a key the store has never held skips its
//! existence read (a fjall lookup that misses costs about a microsecond: the memtable
//! skiplist, then one bloom probe per table).
//!
//! The filter answers "certainly absent" or "maybe present"; only the first lets a
//! commit skip its read, so a false positive costs a read and never correctness. It is
//! complete by construction:
//!
//! - a filter is registered before the scan that fills it starts, and from then on
//!   every commit inserts the keys it creates (under the slot lock, after its batch is
//!   in fjall), so a key created after registration is inserted by its commit;
//! - the scan (a background thread, so opening stays fast) reads a snapshot taken
//!   after registration, so every key that existed before is in it;
//! - only then is the filter consulted ("ready").
//!
//! Keys are never removed: a deleted key keeps a tombstone in `latest` anyway, and a
//! physically removed one only costs a false positive. When more keys have been
//! inserted than the filter was sized for (about 2x its design load, where false
//! positives pass 2%), a filter of four times the size is registered and filled the
//! same way while the old one keeps answering.
//!
//! A clean close saves the answering filter to `<db>/key-filter`, stamped with the
//! head version; an open whose head is still that version (nothing was committed
//! since, so the file lists every key) loads it instead of scanning. Any other file
//! (older stamp after a crash, damaged, other format) is ignored and the keyspace
//! scanned. File format (little-endian): `b"STRKFILT" | format u32 = 1 | head version
//! u64 | design load u64 | inserted u64 | block count u64 | blocks (8 x u64 each) |
//! crc32 of all preceding bytes u32`, written to a temporary file, synced, renamed.
//!
//! Memory: 16 bits per key of the design load (2 MiB for 1M keys), at least 256 KiB.
//! Cost: one hash and one 64-byte block touched per query and per insert. The scan
//! reads every latest key once per build (about 0.3 s per million keys on this
//! machine, on a background thread).

use fjall::Keyspace;
use parking_lot::Mutex;
use std::hash::BuildHasher;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Bits of filter per key of the design load.
const BITS_PER_KEY: u64 = 16;
/// Bits set per key, all within one 512-bit block.
const PROBES: u32 = 6;
/// Smallest design load (keys).
const MIN_KEYS: u64 = 1 << 17;
/// Databases with more record keys than this get no filter (its memory would pass
/// 1 GiB); their commits keep the existence read.
const MAX_KEYS: u64 = 1 << 29;

/// A record key's hash, as every filter (and every saved filter file) uses it: a
/// commit hashes each key it writes once, for the check and the insertion alike.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeyHash(u64);

/// The hash of `key`. Fixed seed: saved filters stay valid across processes.
pub(crate) fn key_hash(key: &[u8]) -> KeyHash {
    KeyHash(foldhash::fast::FixedState::with_seed(0x4142_5345_4e54).hash_one(key))
}

/// One Bloom filter of 512-bit blocks.
struct Bits {
    blocks: Box<[[AtomicU64; 8]]>,
    /// Keys inserted (with repeats); the filter is full at `2 * design`.
    inserted: AtomicU64,
    design: u64,
}

impl Bits {
    fn new(design: u64) -> Bits {
        let blocks = (design * BITS_PER_KEY).div_ceil(512).max(1);
        Bits {
            blocks: (0..blocks)
                .map(|_| std::array::from_fn(|_| AtomicU64::new(0)))
                .collect(),
            inserted: AtomicU64::new(0),
            design,
        }
    }

    /// The block and the `PROBES` bit positions (0..512) of a key.
    fn probes(&self, h: KeyHash) -> (&[AtomicU64; 8], impl Iterator<Item = usize>) {
        let h = h.0;
        let block = ((h >> 32) * self.blocks.len() as u64) >> 32;
        let bits = h.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let positions = (0..PROBES).map(move |i| ((bits >> (i * 9)) & 511) as usize);
        (&self.blocks[block as usize], positions)
    }

    fn insert(&self, h: KeyHash) {
        let (block, positions) = self.probes(h);
        for p in positions {
            block[p / 64].fetch_or(1 << (p % 64), Ordering::Relaxed);
        }
        self.inserted.fetch_add(1, Ordering::Relaxed);
    }

    fn may_contain(&self, h: KeyHash) -> bool {
        let (block, mut positions) = self.probes(h);
        positions.all(|p| block[p / 64].load(Ordering::Relaxed) & (1 << (p % 64)) != 0)
    }

    fn full(&self) -> bool {
        self.inserted.load(Ordering::Relaxed) > 2 * self.design
    }
}

#[derive(Default)]
struct Slots {
    /// The filter commits consult (ready and not yet replaced).
    answering: Option<Arc<Bits>>,
    /// A filter being filled by a scan; becomes `answering` when the scan ends.
    building: Option<Arc<Bits>>,
}

struct Shared {
    slots: Mutex<Slots>,
    stop: AtomicBool,
}

/// See the module docs. Owned by the engine; `Drop` stops a running scan.
pub(crate) struct KeyFilter {
    shared: Arc<Shared>,
    latest: Keyspace,
    scan: Mutex<Option<JoinHandle<()>>>,
}

/// The filter's view for one commit: holds the slot lock, so a rebuild cannot
/// register between the commit's queries and its inserts.
pub(crate) struct CommitView<'a> {
    filter: &'a KeyFilter,
    slots: parking_lot::MutexGuard<'a, Slots>,
}

impl KeyFilter {
    /// A filter over `latest` (record keys: everything before the change log's `FF`
    /// prefix) that answers nothing until [`KeyFilter::begin`].
    pub(crate) fn new(latest: Keyspace) -> KeyFilter {
        KeyFilter {
            shared: Arc::new(Shared {
                slots: Mutex::new(Slots::default()),
                stop: AtomicBool::new(false),
            }),
            latest,
            scan: Mutex::new(None),
        }
    }

    /// Starts answering: from the file a clean close saved in `dir` if it was
    /// stamped with `head` (the recovered head version), else by a background scan
    /// sized for `estimate` keys. Call before the first commit. Cost: reading the
    /// file (2 MiB per million keys), or starting a thread.
    pub(crate) fn begin(&self, dir: Option<&Path>, head: u64, estimate: u64) {
        let mut slots = self.shared.slots.lock();
        if let Some(bits) = dir.and_then(|d| load(&d.join(FILE), head)) {
            slots.answering = Some(Arc::new(bits));
            return;
        }
        self.rebuild(&mut slots, estimate);
    }

    /// A filter over `latest` sized for `estimate` keys, with its scan started (no
    /// file). For tests.
    #[cfg(test)]
    pub(crate) fn start(latest: Keyspace, estimate: u64) -> KeyFilter {
        let f = KeyFilter::new(latest);
        f.begin(None, 0, estimate);
        f
    }

    /// Saves the answering filter into `dir`, stamped with `head` (call at a clean
    /// close, after the last commit is durable). Without an answering filter (its
    /// scan never finished) any older file is removed. Cost: one file of the filter's
    /// size, synced.
    pub(crate) fn save(&self, dir: &Path, head: u64) -> std::io::Result<()> {
        let path = dir.join(FILE);
        let Some(bits) = self.shared.slots.lock().answering.clone() else {
            return match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            };
        };
        let mut out = Vec::with_capacity(44 + bits.blocks.len() * 64);
        out.extend_from_slice(FILE_MAGIC);
        out.extend_from_slice(&FILE_FORMAT.to_le_bytes());
        out.extend_from_slice(&head.to_le_bytes());
        out.extend_from_slice(&bits.design.to_le_bytes());
        out.extend_from_slice(&bits.inserted.load(Ordering::Relaxed).to_le_bytes());
        out.extend_from_slice(&(bits.blocks.len() as u64).to_le_bytes());
        for block in bits.blocks.iter() {
            for w in block {
                out.extend_from_slice(&w.load(Ordering::Relaxed).to_le_bytes());
            }
        }
        out.extend_from_slice(&crc32fast::hash(&out).to_le_bytes());
        let tmp = dir.join(format!("{FILE}.tmp"));
        {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&out)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &path)
    }

    /// Registers a new filter for `keys` keys and starts the scan that fills it.
    fn rebuild(&self, slots: &mut Slots, keys: u64) {
        let design = (keys.saturating_mul(2)).max(MIN_KEYS);
        if design > MAX_KEYS || self.shared.stop.load(Ordering::Relaxed) {
            slots.answering = None;
            slots.building = None;
            return;
        }
        let bits = Arc::new(Bits::new(design));
        slots.building = Some(bits.clone());
        let shared = self.shared.clone();
        let latest = self.latest.clone();
        let mut scan = self.scan.lock();
        if let Some(previous) = scan.take() {
            // Only one scan at a time; a previous one has finished (its filter was
            // answering, or it would not be full).
            let _ = previous.join();
        }
        let handle = std::thread::Builder::new()
            .name("strata-key-filter".into())
            .spawn(move || fill(&shared, &latest, &bits));
        match handle {
            Ok(h) => *scan = Some(h),
            // No thread, no filter: commits keep their existence reads.
            Err(_) => slots.building = None,
        }
    }

    /// Locks the filter for one commit.
    pub(crate) fn for_commit(&self) -> CommitView<'_> {
        CommitView {
            filter: self,
            slots: self.shared.slots.lock(),
        }
    }
}

impl CommitView<'_> {
    /// Whether the key hashed to `h` is certainly not in `latest`: the commit may
    /// skip its read.
    pub(crate) fn certainly_absent(&self, h: KeyHash) -> bool {
        self.slots
            .answering
            .as_ref()
            .is_some_and(|b| !b.may_contain(h))
    }

    /// Records keys this commit wrote into `latest` that may be new. Call after the
    /// commit's batch is in fjall (or deferred), before dropping the view. If the
    /// filter is full, a larger one is registered and its scan started, after
    /// `before_rebuild` (which must put every deferred commit into fjall, where the
    /// scan can see it) returns true.
    pub(crate) fn inserted<'k>(
        self,
        keys: impl IntoIterator<Item = &'k [u8]>,
        before_rebuild: impl FnOnce() -> bool,
    ) {
        self.inserted_hashes(keys.into_iter().map(key_hash), before_rebuild);
    }

    /// [`CommitView::inserted`] for keys already hashed with [`key_hash`].
    pub(crate) fn inserted_hashes(
        mut self,
        hashes: impl IntoIterator<Item = KeyHash>,
        before_rebuild: impl FnOnce() -> bool,
    ) {
        let (a, b) = (self.slots.answering.clone(), self.slots.building.clone());
        for h in hashes {
            if let Some(a) = &a {
                a.insert(h);
            }
            if let Some(b) = &b {
                b.insert(h);
            }
        }
        // A key that waits in the deferred commits is not in fjall, so the scan would
        // miss it and the new filter call it absent: everything goes into fjall first
        // (if that fails, the full filter keeps answering, only less sharply).
        if a.as_ref().is_some_and(|a| a.full()) && b.is_none() && before_rebuild() {
            let keys = a.map_or(0, |a| a.inserted.load(Ordering::Relaxed));
            let filter = self.filter;
            filter.rebuild(&mut self.slots, keys.saturating_mul(2));
        }
    }
}

/// Name of the saved filter inside the database directory.
const FILE: &str = "key-filter";
const FILE_MAGIC: &[u8; 8] = b"STRKFILT";
const FILE_FORMAT: u32 = 1;

/// The filter saved at `path`, if it is whole (checksum, format, sizes) and stamped
/// with `head`.
fn load(path: &Path, head: u64) -> Option<Bits> {
    let bytes = std::fs::read(path).ok()?;
    let (body, crc) = bytes.split_at_checked(bytes.len().checked_sub(4)?)?;
    if crc32fast::hash(body).to_le_bytes() != crc || body.get(..8)? != FILE_MAGIC {
        return None;
    }
    let word = |at: usize| -> Option<u64> {
        Some(u64::from_le_bytes(body.get(at..at + 8)?.try_into().ok()?))
    };
    let format = u32::from_le_bytes(body.get(8..12)?.try_into().ok()?);
    let (stamp, design, inserted, count) = (word(12)?, word(20)?, word(28)?, word(36)?);
    let blocks_at = 44;
    if format != FILE_FORMAT
        || stamp != head
        || design == 0
        || design > MAX_KEYS
        || count != (design * BITS_PER_KEY).div_ceil(512).max(1)
        || body.len() != blocks_at + count as usize * 64
    {
        return None;
    }
    let bits = Bits::new(design);
    for (i, block) in bits.blocks.iter().enumerate() {
        for (j, w) in block.iter().enumerate() {
            w.store(word(blocks_at + (i * 8 + j) * 8)?, Ordering::Relaxed);
        }
    }
    bits.inserted.store(inserted, Ordering::Relaxed);
    Some(bits)
}

/// The scan: inserts every record key, then makes the filter answer.
fn fill(shared: &Shared, latest: &Keyspace, bits: &Arc<Bits>) {
    for (i, kv) in latest
        .range(..[crate::catalog::CHANGE_LOG_MARK])
        .enumerate()
    {
        if i % 4096 == 0 && shared.stop.load(Ordering::Relaxed) {
            return;
        }
        match kv.key() {
            Ok(k) => bits.insert(key_hash(&k)),
            // A read error leaves this filter unfinished; commits keep reading.
            Err(_) => {
                let mut slots = shared.slots.lock();
                if slots
                    .building
                    .as_ref()
                    .is_some_and(|b| Arc::ptr_eq(b, bits))
                {
                    slots.building = None;
                }
                return;
            }
        }
    }
    let mut slots = shared.slots.lock();
    if slots
        .building
        .as_ref()
        .is_some_and(|b| Arc::ptr_eq(b, bits))
    {
        slots.answering = slots.building.take();
    }
}

impl KeyFilter {
    /// Stops a running scan and waits for its thread (before the engine closes fjall).
    /// A filter that was answering still answers (and can be saved).
    pub(crate) fn stop(&self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.scan.lock().take() {
            let _ = h.join();
        }
        self.shared.slots.lock().building = None;
    }

    /// Whether the filter answers queries (its first scan is done). For tests.
    #[cfg(test)]
    pub(crate) fn is_answering(&self) -> bool {
        self.shared.slots.lock().answering.is_some()
    }
}

impl Drop for KeyFilter {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{tags, Database, DatabaseOptions, Value, VersionedStore};

    fn wait_answering(f: &KeyFilter) {
        let t = std::time::Instant::now();
        while !f.is_answering() {
            assert!(t.elapsed().as_secs() < 30, "the scan never finished");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    /// Waits until the answering filter satisfies `done` (a replacement finished).
    fn wait_until(f: &KeyFilter, done: impl Fn(&Arc<Bits>) -> bool) {
        let t = std::time::Instant::now();
        while !f.shared.slots.lock().answering.as_ref().is_some_and(&done) {
            assert!(t.elapsed().as_secs() < 60, "the filter was never replaced");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    /// A raw fjall database and a keyspace standing in for `latest`.
    fn raw_latest(dir: &tempfile::TempDir) -> (fjall::Database, Keyspace) {
        let db = fjall::Database::builder(dir.path()).open().expect("open");
        let ks = db
            .keyspace("latest", fjall::KeyspaceCreateOptions::default)
            .expect("ks");
        (db, ks)
    }

    /// What a commit does: writes `k`, then tells the filter under its view.
    fn commit_new(f: &KeyFilter, ks: &Keyspace, k: &str) {
        let view = f.for_commit();
        ks.insert(k, b"v").expect("insert");
        view.inserted([k.as_bytes()], || true);
    }

    #[test]
    fn the_scan_and_concurrent_commits_together_miss_no_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (_db, ks) = raw_latest(&dir);
        for i in 0..50_000u32 {
            ks.insert(format!("old:{i}"), b"v").expect("insert");
        }
        ks.insert([crate::catalog::CHANGE_LOG_MARK, 1, 2], b"log")
            .expect("insert");
        let f = KeyFilter::start(ks.clone(), 10);
        // Commits during the scan insert their new keys; none may be lost.
        for i in 0..2_000u32 {
            commit_new(&f, &ks, &format!("new:{i}"));
        }
        wait_answering(&f);
        let view = f.for_commit();
        for i in 0..50_000u32 {
            assert!(
                !view.certainly_absent(key_hash(format!("old:{i}").as_bytes())),
                "old:{i}"
            );
        }
        for i in 0..2_000u32 {
            assert!(
                !view.certainly_absent(key_hash(format!("new:{i}").as_bytes())),
                "new:{i}"
            );
        }
        let absent = (0..10_000u32)
            .filter(|i| view.certainly_absent(key_hash(format!("never:{i}").as_bytes())))
            .count();
        assert!(
            absent > 9_800,
            "only {absent} of 10000 absent keys ruled out"
        );
    }

    #[test]
    fn a_full_filter_is_replaced_by_a_larger_one_without_losing_keys() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (_db, ks) = raw_latest(&dir);
        let f = KeyFilter::start(ks.clone(), 0);
        wait_answering(&f);
        let first = f.shared.slots.lock().answering.clone().expect("answering");
        let n = 2 * MIN_KEYS as u32 + 10;
        for i in 0..n {
            commit_new(&f, &ks, &format!("k:{i}"));
        }
        wait_until(&f, |a| !Arc::ptr_eq(a, &first));
        let view = f.for_commit();
        let now = view.slots.answering.clone().expect("answering");
        assert!(now.design >= 4 * first.design);
        for i in 0..n {
            assert!(
                !view.certainly_absent(key_hash(format!("k:{i}").as_bytes())),
                "k:{i}"
            );
        }
    }

    #[test]
    fn a_rebuild_under_concurrent_commits_misses_no_key() {
        // Four writers create enough keys to fill the first filter (2 * MIN_KEYS
        // inserts) and keep creating keys while its replacement is scanned: those
        // are in the new filter only if commits insert into it too (without that,
        // this test failed three runs in three).
        let db = Database::open_temporary().expect("open");
        let s = db.default_scope();
        let per_thread = (2 * MIN_KEYS as usize) / 4 + 40_000;
        std::thread::scope(|sc| {
            for t in 0..4 {
                let (db, s) = (db.clone(), s.clone());
                sc.spawn(move || {
                    for chunk in 0..per_thread / 100 {
                        db.transact(|tx| {
                            for i in 0..100 {
                                let k = format!("t{t}:{:07}", chunk * 100 + i);
                                tx.put(&s, tags::KV, k.as_bytes(), Value::Int(1))?;
                            }
                            Ok(())
                        })
                        .expect("commit");
                    }
                });
            }
        });
        let f = &db.inner.key_filter;
        wait_until(f, |a| a.design > MIN_KEYS);
        let view = f.for_commit();
        for t in 0..4 {
            for i in 0..(per_thread / 100) * 100 {
                let lk = crate::keys::latest_key(
                    s.branch,
                    &s.space,
                    tags::KV,
                    format!("t{t}:{i:07}").as_bytes(),
                );
                assert!(
                    !view.certainly_absent(key_hash(&lk)),
                    "t{t}:{i} lost by the filter"
                );
            }
        }
        drop(view);
        assert_eq!(
            db.branch_stats(s.branch).live_keys,
            4 * ((per_thread / 100) * 100) as u64
        );
    }

    fn put_keys(db: &Database, prefix: &str, n: u32) {
        let s = db.default_scope();
        for i in 0..n {
            db.transact(|t| {
                t.put(
                    &s,
                    tags::KV,
                    format!("{prefix}{i}").as_bytes(),
                    Value::Int(1),
                )
            })
            .expect("put");
        }
    }

    fn lists_all(db: &Database, prefix: &str, n: u32) -> bool {
        let s = db.default_scope();
        let view = db.inner.key_filter.for_commit();
        (0..n).all(|i| {
            let k = crate::keys::latest_key(
                s.branch,
                &s.space,
                tags::KV,
                format!("{prefix}{i}").as_bytes(),
            );
            !view.certainly_absent(key_hash(&k))
        })
    }

    #[test]
    fn a_clean_close_saves_the_filter_and_the_next_open_skips_its_scan() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db");
        {
            let db = Database::open(&path, DatabaseOptions::default()).expect("open");
            put_keys(&db, "a", 2_000);
            wait_answering(&db.inner.key_filter);
        }
        assert!(path.join(FILE).is_file(), "no filter saved at close");
        let db = Database::open(&path, DatabaseOptions::default()).expect("reopen");
        let f = &db.inner.key_filter;
        assert!(f.is_answering(), "the saved filter answers at once");
        assert!(f.scan.lock().is_none(), "and no scan was started");
        assert!(lists_all(&db, "a", 2_000));
        put_keys(&db, "b", 100);
        assert!(lists_all(&db, "b", 100));
    }

    #[test]
    fn a_stale_or_damaged_filter_file_is_ignored() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db");
        {
            let db = Database::open(&path, DatabaseOptions::default()).expect("open");
            put_keys(&db, "a", 500);
            // Only a filter whose scan finished is saved.
            wait_answering(&db.inner.key_filter);
        }
        let old = std::fs::read(path.join(FILE)).expect("saved");
        {
            let db = Database::open(&path, DatabaseOptions::default()).expect("reopen");
            put_keys(&db, "b", 500);
        }
        // What a crash after those commits would leave: the older file.
        std::fs::write(path.join(FILE), &old).expect("restore");
        {
            let db = Database::open(&path, DatabaseOptions::default()).expect("reopen");
            wait_answering(&db.inner.key_filter);
            assert!(
                lists_all(&db, "a", 500) && lists_all(&db, "b", 500),
                "stale file trusted"
            );
        }
        let mut bad = std::fs::read(path.join(FILE)).expect("saved");
        let at = bad.len() / 2;
        bad[at] ^= 0x40;
        std::fs::write(path.join(FILE), &bad).expect("damage");
        let db = Database::open(&path, DatabaseOptions::default()).expect("reopen");
        assert!(
            db.inner.key_filter.scan.lock().is_some(),
            "a damaged file must be rescanned"
        );
        wait_answering(&db.inner.key_filter);
        assert!(lists_all(&db, "a", 500) && lists_all(&db, "b", 500));
    }

    #[test]
    fn overwrites_after_a_reopen_keep_history_and_counts() {
        // If the filter called an existing key absent, the overwrite would drop the
        // key's previous version from history and count the key twice.
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db");
        let n = 3_000u32;
        {
            let db = Database::open(&path, DatabaseOptions::default()).expect("open");
            let s = db.default_scope();
            for i in 0..n {
                db.transact(|t| t.put(&s, tags::KV, format!("k{i}").as_bytes(), Value::Int(1)))
                    .expect("put");
            }
        }
        let db = Database::open(&path, DatabaseOptions::default()).expect("reopen");
        wait_answering(&db.inner.key_filter);
        let s = db.default_scope();
        for i in 0..n {
            db.transact(|t| t.put(&s, tags::KV, format!("k{i}").as_bytes(), Value::Int(2)))
                .expect("overwrite");
        }
        for i in (0..n).step_by(97) {
            let h = db
                .read()
                .history(&s, tags::KV, format!("k{i}").as_bytes())
                .expect("history");
            assert_eq!(h.len(), 2, "k{i}");
        }
        assert_eq!(db.branch_stats(s.branch).live_keys, u64::from(n));
    }

    #[test]
    fn no_false_negatives_and_few_false_positives() {
        let bits = Bits::new(10_000);
        for i in 0..20_000u32 {
            bits.insert(key_hash(format!("key:{i}").as_bytes()));
        }
        for i in 0..20_000u32 {
            assert!(bits.may_contain(key_hash(format!("key:{i}").as_bytes())));
        }
        let fp = (0..100_000u32)
            .filter(|i| bits.may_contain(key_hash(format!("other:{i}").as_bytes())))
            .count();
        // At twice the design load (8 bits per key) a Bloom filter of 6 probes in
        // one block passes a few percent.
        assert!(fp < 5_000, "{fp} false positives in 100000");
        assert!(!bits.full());
        bits.insert(key_hash(b"one more"));
        assert!(bits.full());
    }
}
