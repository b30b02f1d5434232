//! The database handle: opening, the commit pipeline, committed-state reads and the
//! branch/space catalog operations.

use crate::cache::LatestCache;
use crate::catalog::{self, BranchInfo, BranchStats, Catalog, DEFAULT_BRANCH, DEFAULT_SPACE};
use crate::error::{Result, StorageError};
use crate::filter::KeyFilter;
use crate::journal::{self, JournalOps, KeyspaceKind, MappedJournal};
use crate::keys;
use crate::pending::Pending;
use crate::primitive::{CatalogEvent, ChangedKey, CommitObserver, CommittedChange};
use crate::record::{self, Record};
use crate::store::{
    BranchId, CommitVersion, EncodedValue, PrimitiveTag, Scope, StoredValue, Timestamp,
};
use crate::txn::Transaction;
use crate::value::Value;
use fjall::{Keyspace, KeyspaceCreateOptions, PersistMode};
use parking_lot::{Mutex, MutexGuard, RwLock};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{SystemTime, UNIX_EPOCH};

/// How many times [`Database::transact`] retries a conflicting transaction.
pub const TRANSACT_RETRIES: usize = 10_000;

/// How hard a commit works to reach the disk before it is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Every commit is in the operating system's page cache before it returns: it
    /// survives a crash of the process (kill -9), not a power loss or kernel crash
    /// (after those, the database opens at a consistent earlier commit). On Linux the
    /// commit is copied into a memory-mapped journal file, with no system call per
    /// commit (about 0.1 µs; `journal.rs` in the source explains the recovery);
    /// elsewhere it costs one `write` system call per commit.
    #[default]
    Standard,
    /// Every commit is fsynced (`fdatasync`) before it returns: it survives power loss.
    /// Concurrent committers share one sync (group commit). Cost: one sync per group,
    /// about 100–150 µs on this class of machine.
    Always,
    /// Commits stay in process buffers until [`Database::flush`] or close: fastest,
    /// and a crash loses recent commits. Meant for caches.
    None,
}

impl std::str::FromStr for Durability {
    type Err = StorageError;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "standard" | "default" | "buffered" => Ok(Durability::Standard),
            "always" | "sync" | "fsync" | "strict" => Ok(Durability::Always),
            "none" | "cache" | "nosync" | "no_sync" => Ok(Durability::None),
            other => Err(StorageError::InvalidInput(format!(
                "unknown durability {other:?}: expected \"standard\", \"always\" or \"none\""
            ))),
        }
    }
}

/// Options for [`Database::open`]. Build with [`DatabaseOptions::default`] and the
/// `with_*` methods.
#[derive(Debug, Clone)]
pub struct DatabaseOptions {
    /// Commit durability (default [`Durability::Standard`]).
    pub durability: Durability,
    /// Block cache size in bytes (default 64 MiB).
    pub cache_size: u64,
    /// Latest-record cache size in bytes (default 64 MiB; 0 turns it off): recently
    /// read and written records kept in memory, so repeated point reads and reads
    /// soon after a write skip fjall. Small records live inside the cache's table
    /// slots (384 bytes an entry), so 64 MiB holds about 130k of them; the memory is
    /// taken as the cache fills, up to about the size given.
    pub read_cache_size: u64,
    /// Threads fjall flushes memtables and compacts tables on (at least 1; default
    /// [`default_background_threads`]: one core fewer than the machine has, at most
    /// 4).
    pub background_threads: usize,
    /// Whether deferred commits are applied to fjall on a thread of their own
    /// (default: on machines with at least two cores), so the committing thread
    /// does not stop every few thousand commits to apply them. Cost: a thread start
    /// per apply; the work moves to another core rather than shrinking
    /// (ARCHITECTURE.md, "Background apply").
    pub background_apply: bool,
}

/// The default of [`DatabaseOptions::background_threads`]: the cores available to the
/// process less one, between 1 and 4. The foreground keeps a core of its own: on two
/// cores, two background threads (a flush and a compaction at once) took turns with
/// the writing thread, and the event-append rate of a log growing past 900k events
/// fell from ~150k/s to 99-116k/s in that window (140-169k/s with one thread;
/// docs/benchmarks.md). Cost: one `available_parallelism` call.
pub fn default_background_threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    cores.saturating_sub(1).clamp(1, 4)
}

impl Default for DatabaseOptions {
    fn default() -> Self {
        DatabaseOptions {
            durability: Durability::Standard,
            cache_size: 64 * 1024 * 1024,
            read_cache_size: 64 * 1024 * 1024,
            background_threads: default_background_threads(),
            background_apply: std::thread::available_parallelism().map_or(1, usize::from) >= 2,
        }
    }
}

impl DatabaseOptions {
    /// Sets the durability mode.
    pub fn with_durability(mut self, d: Durability) -> Self {
        self.durability = d;
        self
    }
    /// Sets the block cache size in bytes.
    pub fn with_cache_size(mut self, bytes: u64) -> Self {
        self.cache_size = bytes;
        self
    }
    /// Sets the latest-record cache size in bytes (0 turns it off).
    pub fn with_read_cache_size(mut self, bytes: u64) -> Self {
        self.read_cache_size = bytes;
        self
    }
    /// Sets the number of background (flush and compaction) threads; 0 counts as 1.
    pub fn with_background_threads(mut self, threads: usize) -> Self {
        self.background_threads = threads.max(1);
        self
    }
    /// Sets whether deferred commits are applied to fjall on a background thread
    /// (`true`) or by the committing thread every few thousand commits (`false`).
    pub fn with_background_apply(mut self, on: bool) -> Self {
        self.background_apply = on;
        self
    }
}

/// Every this many commits, the head record and all branch statistics are written
/// (otherwise they are derived or recounted at open; see `recover_head_and_stats`).
const STATS_CHECKPOINT: u64 = 4096;

/// Memtable bytes above which closing writes them out as tables.
const CLOSE_FLUSH_BYTES: u64 = 1024 * 1024;

/// How a buffered write treats the record it supersedes (see `VersionedStore`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriteKind {
    /// `put` / `delete`: the superseded version moves to history.
    Plain,
    /// `put_new`: the key is new by the caller's word; no existence read.
    New,
    /// `put_without_history`: the superseded version is discarded.
    WithoutHistory,
}

/// One buffered write on its way into a commit.
pub(crate) struct PendingWrite {
    /// Its key in the `latest` keyspace (computed once, when the write is buffered).
    pub latest_key: Vec<u8>,
    /// What is written.
    pub change: ChangedKey,
    /// What happens to the record it supersedes.
    pub kind: WriteKind,
}

impl PendingWrite {
    /// A plain write (not `put_new`).
    pub(crate) fn new(change: ChangedKey) -> Self {
        let s = &change.scope;
        PendingWrite {
            latest_key: keys::latest_key(s.branch, &s.space, change.tag, &change.key),
            change,
            kind: WriteKind::Plain,
        }
    }
}

/// The newest change-log entries, kept in memory and written as one group per branch
/// every [`LOG_GROUP_COMMITS`] commits (or [`LOG_GROUP_BYTES`]) and at a clean close.
/// Grouping saves the memtable insert each commit paid for its entry (about a quarter
/// of a small put: `kv_put` from Python 330-374k/s with an entry per commit, 458-506k/s
/// without, docs/benchmarks.md). A crash loses the entries waiting here, never a
/// record: a database on disk marks itself open (`meta "open"`), and an open that finds
/// the mark rebuilds the missing entries from the records newer than the log
/// (`Database::rebuild_change_log`). Readers of the change log (`changes_between`)
/// take this lock, so they never miss entries on their way from here into fjall.
#[derive(Default)]
pub(crate) struct LogTail {
    /// `(branch, version, entry)`, versions ascending.
    entries: Vec<(BranchId, CommitVersion, Vec<u8>)>,
    bytes: usize,
}

/// A temporary database writes its change log every this many commits...
const LOG_GROUP_COMMITS: usize = 512;
/// ...or once the entries waiting take this many bytes.
const LOG_GROUP_BYTES: usize = 256 * 1024;

pub(crate) struct CommitState {
    pub head_version: CommitVersion,
    pub head_ts: Timestamp,
}

pub(crate) struct Inner {
    pub fjall: fjall::Database,
    // The keyspaces, read only through `data()`, `latest()` and `meta()` (which apply
    // deferred commits first) or, for a latest point read, `Database::latest_record`.
    data_ks: Keyspace,
    latest_ks: Keyspace,
    meta_ks: Keyspace,
    /// Recently read `latest` records (see `cache.rs`).
    pub latest_cache: LatestCache,
    /// Which record keys certainly do not exist (see `filter.rs`).
    pub key_filter: KeyFilter,
    pub commit: Mutex<CommitState>,
    pub committed: AtomicU64,
    pub durable: Mutex<u64>,
    pub catalog: RwLock<Catalog>,
    pub observers: RwLock<Vec<Arc<dyn CommitObserver>>>,
    pub options: DatabaseOptions,
    pub path: PathBuf,
    pub next_txn_id: AtomicU64,
    pub opened_at: std::time::Instant,
    /// Change-log entries not yet written (see [`LogTail`]).
    pub log_tail: Mutex<LogTail>,
    /// The mapped journal (a database on disk with `Durability::Standard`, see
    /// `journal.rs`) and the deferred commits (`pending.rs`), under the lock that
    /// orders every write to fjall; shared with a background apply.
    writes: Arc<Writes>,
    /// Whether the database has a mapped journal.
    has_journal: bool,
    /// Whether commits are deferred (see `pending.rs`).
    defers: bool,
    /// Whether deferred commits are applied on a background thread.
    background_apply: bool,
    // Dropped last: removes the directory of a temporary database.
    pub _temp: Option<tempfile::TempDir>,
}

/// The keyspace of the three that `ks` names.
fn pick<'k>(
    ks: KeyspaceKind,
    data: &'k Keyspace,
    latest: &'k Keyspace,
    meta: &'k Keyspace,
) -> &'k Keyspace {
    match ks {
        KeyspaceKind::Data => data,
        KeyspaceKind::Latest => latest,
        KeyspaceKind::Meta => meta,
    }
}

/// Adds one operation to `batch`: an insert of `value`, or a removal when `None`.
fn add_op(
    batch: &mut fjall::OwnedWriteBatch,
    ks: &Keyspace,
    key: impl Into<fjall::Slice>,
    value: Option<impl Into<fjall::Slice>>,
) {
    match value {
        Some(v) => batch.insert(ks, key, v),
        None => batch.remove(ks, key),
    }
}

/// The mapped journal and the deferred commits (see `Inner::writes`).
pub(crate) struct WriteState {
    journal: Option<MappedJournal>,
    pending: Pending,
    /// Deferred operations handed to a background apply and not yet in fjall, older
    /// than `pending`: readers look here after `pending`. Kept after a failed apply;
    /// the next drain applies them first.
    applying: Option<Arc<Pending>>,
    /// Whether a background thread is applying `applying` now.
    in_flight: bool,
}

/// [`WriteState`] with what a background apply needs beside it.
pub(crate) struct Writes {
    state: Mutex<WriteState>,
    /// Notified when a background apply ends.
    applied: parking_lot::Condvar,
    /// Set while deferred operations wait, in `pending` or `applying` (readers skip
    /// the lock when clear).
    flag: std::sync::atomic::AtomicBool,
}

/// What a background apply holds: the write state and its own handles of fjall,
/// released before it reports that it ended (so a database closed after waiting for
/// it is closed).
struct Applier {
    writes: Arc<Writes>,
    fjall: fjall::Database,
    keyspaces: [Keyspace; 3],
}

impl Applier {
    /// Applies `ops`, then whatever became due meanwhile, until nothing is due; then
    /// releases its handles and reports. A failure (or a panic) leaves the
    /// operations in `applying` for the next drain, which applies them itself.
    fn run(self, ops: Arc<Pending>) {
        let Applier {
            writes,
            fjall,
            keyspaces,
        } = self;
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Self::apply_while_due(&writes, &fjall, &keyspaces, ops)
        }));
        drop(keyspaces);
        drop(fjall);
        writes.state.lock().in_flight = false;
        writes.applied.notify_all();
    }

    fn apply_while_due(
        writes: &Writes,
        fjall: &fjall::Database,
        [data, latest, meta]: &[Keyspace; 3],
        mut ops: Arc<Pending>,
    ) {
        loop {
            if apply_pending(fjall, [data, latest, meta], &ops).is_err() {
                return;
            }
            let mut st = writes.state.lock();
            let done = st.applying.take();
            if !st.pending.due() {
                if st.pending.is_empty() {
                    writes.flag.store(false, Ordering::Release);
                }
                drop(st);
                drop(done);
                return;
            }
            let next = Arc::new(std::mem::take(&mut st.pending));
            st.applying = Some(Arc::clone(&next));
            drop(st);
            drop(done);
            ops = next;
        }
    }
}

/// Applies `ops` to fjall as one batch (keyspaces in `KeyspaceKind` order: data,
/// latest, meta). Cost: a fjall insert per operation.
fn apply_pending(fjall: &fjall::Database, ks: [&Keyspace; 3], ops: &Pending) -> Result<()> {
    let mut batch = fjall.batch();
    for (kind, key, value) in ops.ops() {
        add_op(
            &mut batch,
            pick(kind, ks[0], ks[1], ks[2]),
            key.clone(),
            value.clone(),
        );
    }
    batch.commit().map_err(map_fjall)
}

/// The operations of one atomic write, on their way into fjall (and into the mapped
/// journal, when the database has one). Build with [`Inner::write_set`] (or
/// [`Inner::commit_set`] for a commit), apply with [`Inner::write`].
pub(crate) struct WriteSet<'a> {
    inner: &'a Inner,
    target: Target,
    /// The same operations encoded for the journal (`None` without a journal).
    ops: Option<JournalOps>,
}

/// Where a [`WriteSet`]'s operations go.
enum Target {
    /// A fjall batch, applied by `Inner::write`.
    Batch(fjall::OwnedWriteBatch),
    /// A commit's operations, deferred (see `pending.rs`).
    Deferred(Vec<(KeyspaceKind, fjall::Slice, Option<fjall::Slice>)>),
}

impl WriteSet<'_> {
    /// Adds an insert of `value` under `key`. Cost: the copies fjall makes, and one
    /// more into the journal's payload.
    pub(crate) fn insert(
        &mut self,
        ks: KeyspaceKind,
        key: impl Into<fjall::Slice>,
        value: impl Into<fjall::Slice>,
    ) {
        let (key, value) = (key.into(), value.into());
        if let Some(ops) = &mut self.ops {
            ops.insert(ks, &key, &value);
        }
        match &mut self.target {
            Target::Batch(b) => b.insert(self.inner.raw_keyspace(ks), key, value),
            Target::Deferred(list) => list.push((ks, key, Some(value))),
        }
    }

    /// Adds the removal of `key`.
    pub(crate) fn remove(&mut self, ks: KeyspaceKind, key: impl Into<fjall::Slice>) {
        let key = key.into();
        if let Some(ops) = &mut self.ops {
            ops.remove(ks, &key);
        }
        match &mut self.target {
            Target::Batch(b) => b.remove(self.inner.raw_keyspace(ks), key),
            Target::Deferred(list) => list.push((ks, key, None)),
        }
    }
}

impl Inner {
    /// The keyspace holding the change log, for writes (see `log_keyspace`).
    const LOG_KEYSPACE: KeyspaceKind = KeyspaceKind::Latest;

    /// The fjall keyspace `ks` names, for building batches. Reads go through
    /// [`Inner::data`], [`Inner::latest`] or [`Inner::meta`] instead.
    fn raw_keyspace(&self, ks: KeyspaceKind) -> &Keyspace {
        pick(ks, &self.data_ks, &self.latest_ks, &self.meta_ks)
    }

    /// The keyspace `ks` names, with the deferred commits applied: what every read of
    /// fjall goes through. Cost: nothing when no commit waits, else one fjall batch.
    pub(crate) fn keyspace(&self, ks: KeyspaceKind) -> Result<&Keyspace> {
        self.drain()?;
        Ok(self.raw_keyspace(ks))
    }

    /// `data` (history), for reading (see [`Inner::keyspace`]).
    pub(crate) fn data(&self) -> Result<&Keyspace> {
        self.keyspace(KeyspaceKind::Data)
    }

    /// `latest` (latest records and the change log), for reading.
    pub(crate) fn latest(&self) -> Result<&Keyspace> {
        self.keyspace(KeyspaceKind::Latest)
    }

    /// `meta` (catalog, statistics, head), for reading.
    pub(crate) fn meta(&self) -> Result<&Keyspace> {
        self.keyspace(KeyspaceKind::Meta)
    }

    /// An empty write, applied at once by [`Inner::write`].
    pub(crate) fn write_set(&self) -> WriteSet<'_> {
        WriteSet {
            inner: self,
            target: Target::Batch(self.fjall.batch()),
            ops: self.has_journal.then(JournalOps::new),
        }
    }

    /// An empty commit: deferred where the database allows it (see `pending.rs`).
    pub(crate) fn commit_set(&self) -> WriteSet<'_> {
        if !self.defers {
            return self.write_set();
        }
        WriteSet {
            inner: self,
            target: Target::Deferred(Vec::with_capacity(4)),
            ops: self.has_journal.then(JournalOps::new),
        }
    }

    /// Applies `ws` atomically, after every write before it.
    ///
    /// - A deferred commit joins the waiting operations (applied to fjall every
    ///   `DRAIN_COMMITS` commits, or when something reads fjall) and, with a mapped
    ///   journal, is copied into it: it survives a crash of the process without a
    ///   system call (see `journal.rs`).
    /// - Any other write applies the waiting operations first, then its batch: to
    ///   fjall's buffered journal and, copied, into the mapped one.
    /// - A full mapped journal first has everything applied and fjall's buffer written
    ///   out, then starts over (one `write` every ~20k small commits); a batch too
    ///   large for it is applied between two such writes instead. Without a journal,
    ///   fjall's durability setting applies.
    pub(crate) fn write(&self, ws: WriteSet<'_>) -> Result<()> {
        let WriteSet { target, ops, .. } = ws;
        let payload = ops.as_ref().and_then(|o| o.payload());
        let mut st = self.writes.state.lock();
        match target {
            // Too large for the journal: everything before it goes out and the
            // journal starts over first (so no replay crosses it), then it is applied
            // and fjall's buffer handed to the operating system before it returns.
            Target::Deferred(list) if ops.is_some() && payload.is_none() => {
                self.persist_locked(&mut st, PersistMode::Buffer)?;
                st.pending.add(list);
                self.writes.flag.store(true, Ordering::Release);
                let applied = self.persist_locked(&mut st, PersistMode::Buffer);
                if applied.is_err() && !st.pending.is_empty() {
                    // Not applied (only this commit waited): the commit fails whole.
                    st.pending.clear();
                    if st.applying.is_none() {
                        self.writes.flag.store(false, Ordering::Release);
                    }
                }
                applied
            }
            Target::Deferred(list) => {
                if let Some(p) = payload {
                    if !st.journal.as_ref().is_some_and(|j| j.fits(p.len())) {
                        self.persist_locked(&mut st, PersistMode::Buffer)?;
                    }
                }
                st.pending.add(list);
                self.writes.flag.store(true, Ordering::Release);
                if let (Some(p), Some(j)) = (payload, st.journal.as_mut()) {
                    j.append(p);
                }
                // The commit is done (it waits, and it is in the journal); a failure
                // to apply is reported by the next read or write instead.
                if st.pending.due() {
                    if st.in_flight {
                        // A background apply runs: more waits until it ends, up to
                        // a bound (then this commit waits for it and applies).
                        if st.pending.overdue() {
                            let _ = self.drain_locked(&mut st);
                        }
                    } else if self.background_apply && st.applying.is_none() {
                        self.apply_in_background(&mut st);
                    } else {
                        let _ = self.drain_locked(&mut st);
                    }
                }
                Ok(())
            }
            Target::Batch(batch) => self.apply_now(&mut st, batch, payload),
        }
    }

    /// Hands the waiting operations to a new thread that applies them to fjall, so
    /// the committing thread goes on at once (a fjall batch of a few thousand puts
    /// was about 40% of a put's engine time, measured with `perf`). Readers find
    /// them in `applying` meanwhile; a drain waits for the thread. Cost: a thread
    /// start per apply (tens of µs, every few thousand commits).
    fn apply_in_background(&self, st: &mut WriteState) {
        let ops = Arc::new(std::mem::take(&mut st.pending));
        st.applying = Some(Arc::clone(&ops));
        st.in_flight = true;
        let applier = Applier {
            writes: Arc::clone(&self.writes),
            fjall: self.fjall.clone(),
            keyspaces: [
                self.data_ks.clone(),
                self.latest_ks.clone(),
                self.meta_ks.clone(),
            ],
        };
        let started = std::thread::Builder::new()
            .name("strata-apply".into())
            .spawn(move || applier.run(ops));
        if started.is_err() {
            // No thread: the operations stay in `applying` for the next drain.
            st.in_flight = false;
        }
    }

    /// Applies `batch` to fjall now, after the waiting operations; `payload` is its
    /// journal copy (`None` with a journal: too large to copy).
    fn apply_now(
        &self,
        st: &mut MutexGuard<'_, WriteState>,
        batch: fjall::OwnedWriteBatch,
        payload: Option<&[u8]>,
    ) -> Result<()> {
        self.drain_locked(st)?;
        if st.journal.is_none() {
            return batch.commit().map_err(map_fjall);
        }
        match payload {
            Some(p) => {
                if !st.journal.as_ref().is_some_and(|j| j.fits(p.len())) {
                    self.persist_locked(st, PersistMode::Buffer)?;
                }
                batch.commit().map_err(map_fjall)?;
                if let Some(j) = st.journal.as_mut() {
                    j.append(p);
                }
            }
            None => {
                self.persist_locked(st, PersistMode::Buffer)?;
                batch.commit().map_err(map_fjall)?;
                self.fjall.persist(PersistMode::Buffer).map_err(map_fjall)?;
            }
        }
        Ok(())
    }

    /// Applies the deferred operations to fjall (see `pending.rs`), after waiting for
    /// a background apply. Cost: nothing when none wait, else a fjall insert per
    /// waiting key.
    pub(crate) fn drain(&self) -> Result<()> {
        if !self.writes.flag.load(Ordering::Acquire) {
            return Ok(());
        }
        let mut st = self.writes.state.lock();
        self.drain_locked(&mut st)
    }

    fn drain_locked(&self, st: &mut MutexGuard<'_, WriteState>) -> Result<()> {
        self.wait_for_apply_locked(st);
        let ks = [&self.data_ks, &self.latest_ks, &self.meta_ks];
        // Into fjall first, then out of here: a reader that misses an operation here
        // finds it in fjall.
        if let Some(ops) = st.applying.as_ref() {
            // A background apply that failed: its operations go first.
            apply_pending(&self.fjall, ks, ops)?;
            st.applying = None;
        }
        if !st.pending.is_empty() {
            apply_pending(&self.fjall, ks, &st.pending)?;
            st.pending.clear();
        }
        self.writes.flag.store(false, Ordering::Release);
        Ok(())
    }

    /// Waits until no background apply runs (its thread holds fjall).
    fn wait_for_apply(&self) {
        self.wait_for_apply_locked(&mut self.writes.state.lock());
    }

    fn wait_for_apply_locked(&self, st: &mut MutexGuard<'_, WriteState>) {
        while st.in_flight {
            self.writes.applied.wait(st);
        }
    }

    /// The deferred operation on latest key `lk`, if one waits: `Some(Some(record))`,
    /// or `Some(None)` for a removal.
    fn pending_latest(&self, lk: &[u8]) -> Option<Option<fjall::Slice>> {
        if !self.writes.flag.load(Ordering::Acquire) {
            return None;
        }
        let st = self.writes.state.lock();
        st.pending.get(KeyspaceKind::Latest, lk).or_else(|| {
            st.applying
                .as_ref()
                .and_then(|a| a.get(KeyspaceKind::Latest, lk))
        })
    }

    /// Applies the deferred commits, makes fjall's journal durable as `mode` says
    /// (`Buffer`: handed to the operating system) and, since everything the mapped
    /// journal holds is then in fjall's, starts the mapped journal over.
    pub(crate) fn persist(&self, mode: PersistMode) -> Result<()> {
        self.persist_locked(&mut self.writes.state.lock(), mode)
    }

    fn persist_locked(&self, st: &mut MutexGuard<'_, WriteState>, mode: PersistMode) -> Result<()> {
        self.drain_locked(st)?;
        self.fjall.persist(mode).map_err(map_fjall)?;
        if let Some(j) = st.journal.as_mut() {
            j.reset();
        }
        Ok(())
    }

    /// The keyspace holding the change log: `latest`, under the `FF` prefix, so that a
    /// commit of new keys touches one keyspace (fjall's batch commit pays per keyspace
    /// touched; `meta` cost ~0.4 µs more per put, measured with `storage_bench`).
    pub(crate) fn log_keyspace(&self) -> Result<&Keyspace> {
        self.keyspace(Self::LOG_KEYSPACE)
    }

    /// Adds to `batch` one change-log group per branch of `entries` (`(branch,
    /// version, entry)`, versions ascending), each under its last version.
    fn write_log_groups<'a>(
        &self,
        batch: &mut WriteSet<'_>,
        entries: impl Iterator<Item = &'a (BranchId, CommitVersion, Vec<u8>)>,
    ) {
        let mut groups: BTreeMap<BranchId, Vec<(CommitVersion, &[u8])>> = BTreeMap::new();
        for (b, v, e) in entries {
            groups.entry(*b).or_default().push((*v, e.as_slice()));
        }
        for (b, entries) in groups {
            if let Some((last, _)) = entries.last() {
                batch.insert(
                    Self::LOG_KEYSPACE,
                    catalog::change_key(b, *last),
                    catalog::encode_change_group(&entries),
                );
            }
        }
    }

    /// Writes the change-log entries waiting in memory, marks the database closed
    /// cleanly (`meta "open"` = 0) and checkpoints: what a clean close does.
    fn close_cleanly(&self) -> Result<()> {
        {
            let _state = self.commit.lock();
            let mut tail = self.log_tail.lock();
            let mut batch = self.write_set();
            self.write_log_groups(&mut batch, tail.entries.iter());
            batch.insert(KeyspaceKind::Meta, catalog::OPEN_KEY, [0u8]);
            self.write(batch)?;
            tail.entries.clear();
            tail.bytes = 0;
        }
        self.checkpoint()
    }

    /// Writes the head record and every branch's statistics.
    fn checkpoint(&self) -> Result<()> {
        let state = self.commit.lock();
        let cat = self.catalog.read();
        let mut batch = self.write_set();
        for (b, st) in cat.stats.iter() {
            batch.insert(
                KeyspaceKind::Meta,
                catalog::stat_key(*b),
                catalog::encode_stats(st),
            );
        }
        batch.insert(
            KeyspaceKind::Meta,
            catalog::HEAD_KEY,
            catalog::encode_head(state.head_version, state.head_ts),
        );
        self.write(batch)
    }

    fn flush_memtables(&self) {
        // What waits goes into the memtables first (a failure leaves it waiting).
        let _ = self.drain();
        let keyspaces = [&self.data_ks, &self.latest_ks, &self.meta_ks];
        // Seal all three first so their flushes run together, then wait.
        for ks in keyspaces {
            let _ = ks.rotate_memtable();
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while keyspaces.iter().any(|ks| ks.sealed_memtable_count() > 0)
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Its scan reads `latest`: stop it before fjall closes.
        self.key_filter.stop();
        // A background apply holds fjall: let it end first.
        self.wait_for_apply();
        if self._temp.is_none() {
            let _ = self.close_cleanly();
            // Write large memtables out as tables so the next open has little journal
            // to replay: reopening stays fast at any size (replaying 200k commits took
            // ~4 s). Small ones replay in milliseconds, so closing stays cheap for them.
            // Crash recovery still replays the journal, which fjall bounds in size.
            if self.fjall.write_buffer_size() > CLOSE_FLUSH_BYTES {
                self.flush_memtables();
            }
            let _ = self.persist(PersistMode::SyncAll);
            // Everything is durable: the filter saved now lists every key at this
            // head, so the next open can skip its scan. A failure only costs a scan.
            let head = self.commit.lock().head_version.0;
            let _ = self.key_filter.save(&self.path, head);
        }
        if let Ok(mut reg) = registry().lock() {
            reg.remove(&self.path);
        }
    }
}

thread_local! {
    /// Where [`Database::prefetch_latest`] builds a record key, instead of allocating
    /// one per call.
    static LATEST_KEY: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A handle to one open database. Cheap to clone (an `Arc`); all clones share one
/// engine. `Send + Sync`: use it from many threads.
#[derive(Clone)]
pub struct Database {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("path", &self.inner.path)
            .finish()
    }
}

/// The databases this process has open, by directory, with the id of the process that
/// opened each: a process forked from it inherits the map but not the engines' threads,
/// and must not share them (it opens the directory itself and finds it locked).
type Registry = HashMap<PathBuf, (u32, Weak<Inner>)>;

fn registry() -> &'static std::sync::Mutex<Registry> {
    static REG: OnceLock<std::sync::Mutex<Registry>> = OnceLock::new();
    REG.get_or_init(Default::default)
}

/// Where temporary (cache) databases are created; see [`Database::open_temporary`].
fn cache_parent() -> PathBuf {
    if let Some(dir) = std::env::var_os("STRATA_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    #[cfg(target_os = "linux")]
    {
        let shm = Path::new("/dev/shm");
        let free = rustix::fs::statvfs(shm)
            .map(|st| st.f_bavail.saturating_mul(st.f_frsize))
            .unwrap_or(0);
        if shm.is_dir() && free >= 1 << 30 {
            return shm.to_path_buf();
        }
    }
    std::env::temp_dir()
}

/// Current wall-clock time in µs since the epoch.
pub fn now_micros() -> Timestamp {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// Errors while opening name the database directory: a lock held elsewhere becomes
/// [`StorageError::Locked`], unreadable or damaged files [`StorageError::Corrupt`].
/// fjall creates a new database's `lock` file, an empty `keyspaces/` folder and its
/// first journal `0.jnl` before it writes (and fsyncs) its `version` marker, and a
/// second creation fails on the journal that already exists ("File exists"). So a
/// process killed inside its first open left a directory that could never be opened.
/// Such a directory holds nothing written (`open` had not returned): when it has no
/// `version` marker, nothing but those leftovers, and no live process holds its lock,
/// remove them so the creation starts again. Anything else is left for fjall to judge.
/// Cost: one directory listing at open.
fn clear_interrupted_creation(path: &Path) -> Result<()> {
    if !path.is_dir() || path.join("version").exists() {
        return Ok(());
    }
    let mut leftovers = Vec::new();
    for entry in std::fs::read_dir(path)? {
        let entry = entry?;
        let p = entry.path();
        let expected = match entry.file_name().to_str() {
            Some("lock") | Some("0.jnl") => p.is_file(),
            Some("keyspaces") => p.is_dir() && std::fs::read_dir(&p)?.next().is_none(),
            _ => false,
        };
        if !expected {
            return Ok(());
        }
        leftovers.push(p);
    }
    if !leftovers.iter().any(|p| p.ends_with("0.jnl")) {
        return Ok(());
    }
    let lock = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path.join("lock"));
    let _held = match lock {
        Ok(f) => match f.try_lock() {
            Ok(()) => Some(f),
            // Someone is creating it right now: fjall will say it is locked.
            Err(std::fs::TryLockError::WouldBlock) => return Ok(()),
            Err(std::fs::TryLockError::Error(e)) => return Err(e.into()),
        },
        Err(_) => None,
    };
    for p in leftovers {
        if p.ends_with("lock") {
            continue; // fjall reuses it
        }
        if p.is_dir() {
            std::fs::remove_dir(&p)?;
        } else {
            std::fs::remove_file(&p)?;
        }
    }
    Ok(())
}

fn map_open_error(e: fjall::Error, path: &Path) -> StorageError {
    match e {
        fjall::Error::Locked => StorageError::Locked(path.display().to_string()),
        fjall::Error::Io(io) if io.kind() == std::io::ErrorKind::WouldBlock => {
            StorageError::Locked(path.display().to_string())
        }
        fjall::Error::Io(io)
            if matches!(
                io.kind(),
                std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::NotFound
            ) =>
        {
            StorageError::Io(std::io::Error::new(
                io.kind(),
                format!("cannot open database at {}: {io}", path.display()),
            ))
        }
        other => StorageError::corrupt(
            format!("database at {}", path.display()),
            format!("cannot be opened: {other:?}"),
        ),
    }
}

pub(crate) fn map_fjall(e: fjall::Error) -> StorageError {
    match e {
        fjall::Error::Poisoned => StorageError::Poisoned,
        other => StorageError::Engine(other),
    }
}

impl Database {
    /// Opens (creating if needed) the database in directory `path`.
    ///
    /// The parent directory must exist; `path` must be a directory or absent. Opening a
    /// directory this process already has open returns a handle to the same engine
    /// (options of the first open win). Another process holding it gives
    /// [`StorageError::Locked`], a process forked from the one holding it included
    /// (the engine's threads did not follow it into the child). Cost: opens fjall and reads the small catalog; no scan
    /// of the data, so it is fast at any size.
    pub fn open(path: impl AsRef<Path>, options: DatabaseOptions) -> Result<Database> {
        let path = path.as_ref();
        if path.as_os_str().is_empty() {
            return Err(StorageError::InvalidInput("database path is empty".into()));
        }
        if path.exists() && !path.is_dir() {
            return Err(StorageError::InvalidInput(format!(
                "database path {} exists and is not a directory",
                path.display()
            )));
        }
        let parent = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| Path::new("."));
        if !parent.is_dir() {
            return Err(StorageError::NotFound(format!(
                "parent directory {} of database path {} does not exist",
                parent.display(),
                path.display()
            )));
        }
        std::fs::create_dir_all(path)?;
        let canonical = path.canonicalize()?;
        let mut reg = registry()
            .lock()
            .map_err(|_| StorageError::NotAllowed("open registry poisoned".into()))?;
        let pid = std::process::id();
        if let Some(existing) = reg
            .get(&canonical)
            .filter(|(opener, _)| *opener == pid)
            .and_then(|(_, weak)| weak.upgrade())
        {
            return Ok(Database { inner: existing });
        }
        let db = Self::open_inner(canonical.clone(), options, None)?;
        reg.insert(canonical, (pid, Arc::downgrade(&db.inner)));
        Ok(db)
    }

    /// Opens a throwaway database in a fresh temporary directory that is removed when
    /// the last handle is dropped. Uses [`Durability::None`]: nothing is synced.
    ///
    /// The directory is created in memory when possible: under `/dev/shm` (a tmpfs) on
    /// Linux when it has at least 1 GiB free, else in the system temp directory. Set
    /// `STRATA_CACHE_DIR` to choose the parent directory. Creating a database on a
    /// real disk costs 100–300 ms of directory syncs here; on tmpfs a few ms.
    pub fn open_temporary() -> Result<Database> {
        let dir = tempfile::Builder::new()
            .prefix("strata-cache-")
            .tempdir_in(cache_parent())?;
        let path = dir.path().to_path_buf();
        Self::open_inner(
            path,
            DatabaseOptions::default().with_durability(Durability::None),
            Some(dir),
        )
    }

    fn open_inner(
        path: PathBuf,
        options: DatabaseOptions,
        temp: Option<tempfile::TempDir>,
    ) -> Result<Database> {
        if temp.is_none() {
            clear_interrupted_creation(&path)?;
        }
        // Standard durability on disk copies every batch into the mapped journal
        // instead of writing fjall's buffer out per commit (see `journal.rs`).
        let boot = if temp.is_none() {
            journal::boot_id()
        } else {
            None
        };
        let mapped = boot.is_some() && options.durability == Durability::Standard;
        let builder = fjall::Database::builder(&path)
            .cache_size(options.cache_size)
            .manual_journal_persist(mapped || options.durability == Durability::None)
            .temporary(temp.is_some())
            .worker_threads(options.background_threads.max(1));
        // fjall's journal recovery asserts on some damaged entries instead of
        // returning an error; a damaged file must give an error, never a crash.
        let fjall = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| builder.open()))
            .map_err(|panic| {
                let why = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_string()))
                    .unwrap_or_else(|| "recovery failed".into());
                StorageError::corrupt(
                    format!("database at {}", path.display()),
                    format!("recovery of the journal failed: {why}"),
                )
            })?
            .map_err(|e| map_open_error(e, &path))?;
        let data = fjall
            .keyspace("data", KeyspaceCreateOptions::default)
            .map_err(|e| map_open_error(e, &path))?;
        let latest = fjall
            .keyspace("latest", KeyspaceCreateOptions::default)
            .map_err(|e| map_open_error(e, &path))?;
        let meta = fjall
            .keyspace("meta", KeyspaceCreateOptions::default)
            .map_err(|e| map_open_error(e, &path))?;

        // Batches the mapped journal holds beyond fjall's own journal (after a crash)
        // are applied again before anything reads.
        let journal_path = path.join(journal::FILE);
        let journal = if let Some(boot) = &boot {
            let found = journal::read_records(&journal_path, boot)?;
            for payload in &found.records {
                let mut batch = fjall.batch();
                for (ks, key, value) in journal::decode_ops(payload)? {
                    add_op(&mut batch, pick(ks, &data, &latest, &meta), key, value);
                }
                batch.commit().map_err(map_fjall)?;
            }
            if !found.records.is_empty() {
                fjall.persist(PersistMode::SyncAll).map_err(map_fjall)?;
            }
            if mapped {
                Some(MappedJournal::open(&journal_path, &found, boot)?)
            } else {
                // Its records are applied and synced: another mode must not leave
                // them for a later open to apply again.
                match std::fs::remove_file(&journal_path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                    _ => None,
                }
            }
        } else {
            None
        };
        // Commits wait in memory where they need not be in fjall's journal at once.
        let defers = journal.is_some() || options.durability == Durability::None;
        let background_apply = defers && options.background_apply;
        let (head_version, head_ts) = match meta.get(catalog::HEAD_KEY)? {
            Some(b) => catalog::decode_head(&b)?,
            None => (CommitVersion(0), 0),
        };
        let catalog = load_catalog(&fjall, &meta)?;
        let key_filter = KeyFilter::new(latest.clone());
        let inner = Inner {
            fjall,
            data_ks: data,
            latest_ks: latest,
            meta_ks: meta,
            latest_cache: LatestCache::new(options.read_cache_size),
            key_filter,
            commit: Mutex::new(CommitState {
                head_version,
                head_ts,
            }),
            committed: AtomicU64::new(head_version.0),
            durable: Mutex::new(head_version.0),
            catalog: RwLock::new(catalog),
            observers: RwLock::new(Vec::new()),
            options,
            path,
            next_txn_id: AtomicU64::new(1),
            opened_at: std::time::Instant::now(),
            log_tail: Mutex::new(LogTail::default()),
            has_journal: journal.is_some(),
            defers,
            background_apply,
            writes: Arc::new(Writes {
                state: Mutex::new(WriteState {
                    journal,
                    pending: Pending::default(),
                    applying: None,
                    in_flight: false,
                }),
                applied: parking_lot::Condvar::new(),
                flag: std::sync::atomic::AtomicBool::new(false),
            }),
            _temp: temp,
        };
        let db = Database {
            inner: Arc::new(inner),
        };
        db.recover_head_and_stats()?;
        // The filter starts from the file a clean close saved (if nothing was
        // committed since), else from a background scan; before any commit.
        let inner = &db.inner;
        inner.key_filter.begin(
            inner._temp.is_none().then_some(inner.path.as_path()),
            db.committed_version().0,
            inner.latest_ks.approximate_len() as u64,
        );
        Ok(db)
    }

    /// After an unclean shutdown the head record and branch statistics may be older
    /// than the last commits: take the head from the change logs (every commit writes
    /// one entry per key) and recount the live keys of branches whose statistics are
    /// older than their last change. After a clean close this reads one change-log
    /// entry per branch. Cost of a recount: a scan of the branch's visible keys.
    fn recover_head_and_stats(&self) -> Result<()> {
        let inner = &self.inner;
        let ids: Vec<BranchId> = inner.catalog.read().names.keys().copied().collect();
        // Marked open and never closed: the change log may lack its last entries.
        let unclean = inner._temp.is_none()
            && inner
                .meta()?
                .get(catalog::OPEN_KEY)?
                .is_some_and(|v| v.first() == Some(&1));
        let mut last: Vec<(BranchId, CommitVersion, Timestamp)> = Vec::new();
        for &id in &ids {
            if let Some(kv) = inner
                .log_keyspace()?
                .prefix(catalog::change_prefix(id))
                .next_back()
            {
                let (k, v) = kv.into_inner()?;
                let key_version = catalog::decode_change_key(&k)
                    .ok_or_else(|| StorageError::corrupt("change log", "bad key"))?;
                let (version, ts) = catalog::change_entries(key_version, &v)
                    .and_then(|e| {
                        e.last()
                            .and_then(|(v, e)| Some((*v, catalog::change_timestamp(e)?)))
                    })
                    .ok_or_else(|| StorageError::corrupt("change log", "bad entry"))?;
                last.push((id, version, ts));
            }
        }
        if unclean {
            let logged = last.iter().map(|(_, v, _)| *v).max().unwrap_or_default();
            for (b, v, ts) in self.rebuild_change_log(logged)? {
                match last.iter_mut().find(|(lb, _, _)| *lb == b) {
                    Some(e) if e.1 < v => *e = (b, v, ts),
                    Some(_) => {}
                    None => last.push((b, v, ts)),
                }
            }
        }
        {
            let mut state = inner.commit.lock();
            for (_, version, ts) in &last {
                if *version > state.head_version {
                    state.head_version = *version;
                }
                state.head_ts = state.head_ts.max(*ts);
            }
            inner
                .committed
                .store(state.head_version.0, Ordering::Release);
            *inner.durable.lock() = state.head_version.0;
        }
        // Branches marked for a recount (a crash during a physical removal).
        let mut marked = Vec::new();
        for id in ids {
            if inner.meta()?.get(catalog::recount_key(id))?.is_some() {
                marked.push(id);
            }
        }
        for id in &marked {
            if !last.iter().any(|(b, _, _)| b == id) {
                let (v, ts) = inner
                    .catalog
                    .read()
                    .stats
                    .get(id)
                    .map_or((CommitVersion(0), 0), |s| (s.version, s.latest_ts));
                last.push((*id, v, ts));
            }
        }
        let head = self.committed_version();
        for (id, version, ts) in last {
            let stale = marked.contains(&id)
                || inner
                    .catalog
                    .read()
                    .stats
                    .get(&id)
                    .is_none_or(|s| s.version < version);
            if !stale {
                continue;
            }
            let mut live = 0u64;
            for space in self.list_spaces(id) {
                let scope = Scope::new(id, space);
                for keys in self.visible_space_state(&scope, head)?.values() {
                    live += keys.values().filter(|r| r.value.is_some()).count() as u64;
                }
            }
            let mut cat = inner.catalog.write();
            let st = cat.stats.entry(id).or_default();
            st.live_keys = live;
            st.version = version;
            st.latest_ts = st.latest_ts.max(ts);
            if st.oldest_ts == 0 {
                st.oldest_ts = ts;
            }
        }
        inner.checkpoint()?;
        if !marked.is_empty() {
            // Recounted and written by the checkpoint.
            let mut batch = inner.write_set();
            for id in marked {
                batch.remove(KeyspaceKind::Meta, catalog::recount_key(id));
            }
            inner.write(batch)?;
        }
        if inner._temp.is_none() {
            // Until a clean close says otherwise (see `LogTail`).
            let mut batch = inner.write_set();
            batch.insert(KeyspaceKind::Meta, catalog::OPEN_KEY, [1u8]);
            inner.write(batch)?;
            // What open wrote (the catalog of a new database, the head, the mark) is
            // handed to the operating system before it returns.
            inner.persist(PersistMode::Buffer)?;
        }
        Ok(())
    }

    /// After an unclean shutdown: writes the change-log entries of the commits after
    /// version `logged` (the newest the log holds), which waited in memory, rebuilt
    /// from the records those commits left (latest records, their inline entries and
    /// history). Returns each branch's newest rebuilt (version, timestamp). A key
    /// written without history appears at its newest version only (the versions it
    /// superseded were discarded). Cost: a scan of every latest record, plus a history
    /// seek for each key written after `logged`.
    fn rebuild_change_log(
        &self,
        logged: CommitVersion,
    ) -> Result<Vec<(BranchId, CommitVersion, Timestamp)>> {
        let inner = &self.inner;
        let known: HashSet<BranchId> = inner.catalog.read().names.keys().copied().collect();
        type Commit = (Timestamp, BTreeMap<BranchId, Vec<Vec<u8>>>);
        let mut found: BTreeMap<CommitVersion, Commit> = BTreeMap::new();
        let mut add = |v: CommitVersion, ts: Timestamp, b: BranchId, lk: &[u8]| {
            let c = found.entry(v).or_insert_with(|| (ts, BTreeMap::new()));
            c.0 = c.0.max(ts);
            c.1.entry(b).or_default().push(lk.to_vec());
        };
        for kv in inner.latest()?.range(..vec![catalog::CHANGE_LOG_MARK]) {
            let (k, v) = kv.into_inner()?;
            let version = record::latest_version(&v)?;
            if version <= logged {
                continue;
            }
            let Some((b, _)) = keys::read_branch(&k) else {
                continue;
            };
            if !known.contains(&b) {
                continue;
            }
            add(version, record::latest_timestamp(&v)?, b, &k);
            let mut oldest = version;
            for e in record::inline_entries(&v)? {
                let e = e?;
                if e.version() <= logged {
                    break;
                }
                oldest = e.version();
                add(oldest, e.timestamp()?, b, &k);
            }
            if oldest.0 <= logged.0 + 1 {
                continue;
            }
            // Versions in (logged, oldest) moved to history; a chunk holding some is
            // stored under its own oldest version, which may be at or below `logged`.
            let start = keys::history_key(&k, CommitVersion(oldest.0 - 1));
            let end = keys::history_key(&k, CommitVersion(0));
            for kv in inner.data()?.range(start..=end) {
                let (hk, hv) = kv.into_inner()?;
                let (_, key_version) = keys::split_history_key(&hk)
                    .ok_or_else(|| StorageError::corrupt("history key", "too short"))?;
                for stored in record::history_entries(key_version, &hv)? {
                    let ver = stored.version();
                    if ver > logged && ver < oldest {
                        add(ver, stored.timestamp()?, b, &k);
                    }
                }
                if key_version <= logged {
                    break;
                }
            }
        }
        let mut entries: Vec<(BranchId, CommitVersion, Vec<u8>)> = Vec::new();
        let mut newest: BTreeMap<BranchId, (CommitVersion, Timestamp)> = BTreeMap::new();
        for (v, (ts, branches)) in found {
            for (b, mut lks) in branches {
                lks.sort();
                let mut entry = catalog::ChangeEntry::new(ts);
                for lk in &lks {
                    entry.push(lk);
                }
                entries.push((b, v, entry.into_bytes()));
                newest.insert(b, (v, ts));
            }
        }
        if !entries.is_empty() {
            let mut batch = inner.write_set();
            inner.write_log_groups(&mut batch, entries.iter());
            inner.write(batch)?;
        }
        Ok(newest.into_iter().map(|(b, (v, ts))| (b, v, ts)).collect())
    }

    /// The data directory.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The options the engine was opened with.
    pub fn options(&self) -> &DatabaseOptions {
        &self.inner.options
    }

    /// Whether this is a temporary (cache) database.
    pub fn is_temporary(&self) -> bool {
        self.inner._temp.is_some()
    }

    /// Time since the engine was opened.
    pub fn uptime(&self) -> std::time::Duration {
        self.inner.opened_at.elapsed()
    }

    /// Starts a transaction reading the latest committed state. Cheap: no I/O.
    pub fn begin(&self, read_only: bool) -> Transaction {
        Transaction::new(
            self.clone(),
            self.committed_version(),
            read_only,
            now_micros(),
        )
    }

    /// A read-only snapshot of the latest committed state.
    pub fn read(&self) -> Transaction {
        self.begin(true)
    }

    /// A hint that a point read of `key` on `branch`/`space` follows soon: starts
    /// loading the latest-record cache's table slots for it into the processor's
    /// cache, so the read finds them there instead of waiting for memory. Reads and
    /// changes nothing; takes no lock. Cost: building the record key (in a buffer of
    /// the calling thread), a hash and two prefetch instructions (on a shuffled read of 100k cached keys from Python, the
    /// table's memory misses were about a sixth of a read).
    pub fn prefetch_latest(&self, branch: BranchId, space: &str, tag: PrimitiveTag, key: &[u8]) {
        LATEST_KEY.with(|buf| {
            let Ok(mut lk) = buf.try_borrow_mut() else {
                return;
            };
            lk.clear();
            keys::latest_key_into(&mut lk, branch, space, tag, key);
            self.inner.latest_cache.prefetch(&lk);
        });
    }

    /// A read-only snapshot of the latest committed state for a short read: like
    /// [`Database::read`], but it records no start time
    /// ([`Transaction::started_at`] is 0), which saves a clock read per call (about 2%
    /// of a cached point read from Python).
    pub fn snapshot(&self) -> Transaction {
        Transaction::new(self.clone(), self.committed_version(), true, 0)
    }

    /// Runs `f` in a fresh read-write transaction and commits it, retrying from scratch
    /// (with a short growing back-off, up to [`TRANSACT_RETRIES`] times) when another
    /// commit conflicts. Returns `f`'s result and the commit version (the snapshot
    /// version if `f` wrote nothing).
    pub fn transact<T>(
        &self,
        f: impl FnMut(&mut Transaction) -> Result<T>,
    ) -> Result<(T, CommitVersion)> {
        self.transact_with(f)
    }

    /// [`Database::transact`] for closures that fail with their own error type (any
    /// type storage errors convert into), so a primitive or facade keeps its errors.
    pub fn transact_with<T, E: From<StorageError>>(
        &self,
        mut f: impl FnMut(&mut Transaction) -> Result<T, E>,
    ) -> Result<(T, CommitVersion), E> {
        let mut attempt = 0;
        loop {
            let mut txn = self.begin(false);
            let out = f(&mut txn)?;
            match txn.commit() {
                Ok(v) => return Ok((out, v)),
                Err(StorageError::Conflict(_)) if attempt < TRANSACT_RETRIES => {
                    attempt += 1;
                    if attempt < 4 {
                        std::thread::yield_now();
                    } else {
                        let micros = (attempt as u64 * 20).min(2_000);
                        std::thread::sleep(std::time::Duration::from_micros(micros));
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Writes `value` under `key` as a commit of its own, without a transaction, and
    /// returns the commit's version. There is no snapshot to conflict with, so the
    /// write never fails with a conflict: it is exactly a transaction that does
    /// nothing but this put, committed at once (`transact(|t| t.put(..))`), minus the
    /// transaction's write buffer and retry loop. Use it for blind writes; a write that
    /// depends on a read needs a transaction. Cost: one commit (about 5% less than
    /// through `transact` for a small put).
    pub fn put_committed(
        &self,
        scope: &Scope,
        tag: PrimitiveTag,
        key: &[u8],
        value: Value,
    ) -> Result<CommitVersion> {
        crate::txn::check_key_len(key)?;
        let write = PendingWrite::new(ChangedKey {
            scope: scope.clone(),
            tag,
            key: key.to_vec(),
            value: Some(value),
        });
        self.apply_commit(None, vec![write])
    }

    /// Registers a hook called after every commit, in commit order.
    pub fn add_observer(&self, o: Arc<dyn CommitObserver>) {
        self.inner.observers.write().push(o);
    }

    /// The newest committed version visible to new transactions.
    pub fn committed_version(&self) -> CommitVersion {
        CommitVersion(self.inner.committed.load(Ordering::Acquire))
    }

    /// The timestamp of the newest commit (0 if none).
    pub fn head_timestamp(&self) -> Timestamp {
        self.inner.commit.lock().head_ts
    }

    /// Forces all committed data to disk (fsync). Cost: one or two syncs.
    pub fn flush(&self) -> Result<()> {
        self.inner.persist(PersistMode::SyncAll)?;
        *self.inner.durable.lock() = self.committed_version().0;
        Ok(())
    }

    /// Runs a major compaction of every keyspace, dropping deleted data from disk.
    /// Cost: rewrites the tables; can take seconds on large databases.
    pub fn compact(&self) -> Result<()> {
        // Deletions still in memtables would survive a compaction of the tables, so
        // write the memtables out first.
        self.flush_memtables();
        for ks in [
            &self.inner.data_ks,
            &self.inner.latest_ks,
            &self.inner.meta_ks,
        ] {
            ks.major_compact()?;
        }
        // fjall deletes the tables a compaction replaced when it next rotates a
        // memtable; give it one to rotate so the space comes back now.
        let mut batch = self.inner.write_set();
        batch.insert(
            KeyspaceKind::Meta,
            &b"compacted_at"[..],
            &now_micros().to_be_bytes()[..],
        );
        self.inner.write(batch)?;
        self.flush_memtables();
        Ok(())
    }

    /// Seals the memtables of every keyspace and waits (up to 30 s) until they are
    /// written out as tables.
    pub(crate) fn flush_memtables(&self) {
        self.inner.flush_memtables();
    }

    /// Bytes the database uses on disk (approximate).
    pub fn disk_space(&self) -> u64 {
        self.inner.fjall.disk_space().unwrap_or(0)
    }

    // ------------------------------------------------------------------ catalog

    /// The id of branch `name`.
    pub fn branch_id(&self, name: &str) -> Result<BranchId> {
        Ok(self.inner.catalog.read().by_name(name)?.id)
    }

    /// Whether a branch with this id exists. Cost: a read lock and a hash lookup.
    pub fn branch_id_exists(&self, id: BranchId) -> bool {
        self.inner.catalog.read().names.contains_key(&id)
    }

    /// The name of branch `id`, if it exists.
    pub fn branch_name(&self, id: BranchId) -> Option<String> {
        self.inner.catalog.read().names.get(&id).cloned()
    }

    /// The default branch's default space.
    pub fn default_scope(&self) -> Scope {
        let id = self.branch_id(DEFAULT_BRANCH).unwrap_or(BranchId(1));
        Scope::new(id, DEFAULT_SPACE)
    }

    /// Branch names in order.
    pub fn list_branches(&self) -> Vec<String> {
        self.inner.catalog.read().branches.keys().cloned().collect()
    }

    /// Whether branch `name` exists.
    pub fn branch_exists(&self, name: &str) -> bool {
        self.inner.catalog.read().branches.contains_key(name)
    }

    /// Catalog record of branch `name`, if it exists.
    pub fn branch_info(&self, name: &str) -> Option<BranchInfo> {
        self.inner.catalog.read().branches.get(name).cloned()
    }

    /// Statistics of branch `id` (zeros if unknown).
    pub fn branch_stats(&self, id: BranchId) -> BranchStats {
        self.inner
            .catalog
            .read()
            .stats
            .get(&id)
            .copied()
            .unwrap_or_default()
    }

    /// Sum of live keys over all branches. Cost: one pass over the in-memory catalog.
    pub fn total_live_keys(&self) -> u64 {
        self.inner
            .catalog
            .read()
            .stats
            .values()
            .map(|s| s.live_keys)
            .sum()
    }

    /// Oldest and newest commit timestamps of data visible on the branch, or `None`
    /// when it has none.
    pub fn time_range(&self, branch: &str) -> Result<Option<(Timestamp, Timestamp)>> {
        let cat = self.inner.catalog.read();
        let id = cat.by_name(branch)?.id;
        let s = cat.stats.get(&id).copied().unwrap_or_default();
        Ok((s.latest_ts != 0).then_some((s.oldest_ts, s.latest_ts)))
    }

    /// Creates an empty branch.
    pub fn create_branch(&self, name: &str) -> Result<BranchId> {
        catalog::validate_name("branch", name)?;
        let _guard = self.inner.commit.lock();
        let mut cat = self.inner.catalog.write();
        if cat.branches.contains_key(name) {
            return Err(StorageError::AlreadyExists(format!(
                "branch {name:?} already exists"
            )));
        }
        let info = BranchInfo {
            name: name.to_string(),
            id: BranchId(cat.next_branch_id),
            parent: None,
            fork_version: CommitVersion(0),
            created_at: now_micros(),
        };
        self.persist_new_branch(
            &mut cat,
            info.clone(),
            BranchStats::default(),
            &[DEFAULT_SPACE.to_string()],
        )?;
        Ok(info.id)
    }

    pub(crate) fn persist_new_branch(
        &self,
        cat: &mut Catalog,
        info: BranchInfo,
        stats: BranchStats,
        spaces: &[String],
    ) -> Result<()> {
        let inner = &self.inner;
        let mut batch = inner.write_set();
        batch.insert(
            KeyspaceKind::Meta,
            catalog::branch_key(&info.name),
            catalog::encode_branch(&info),
        );
        batch.insert(
            KeyspaceKind::Meta,
            catalog::BSEQ_KEY,
            Value::Int((info.id.0 + 1) as i64).encode(),
        );
        batch.insert(
            KeyspaceKind::Meta,
            catalog::stat_key(info.id),
            catalog::encode_stats(&stats),
        );
        for s in spaces {
            batch.insert(
                KeyspaceKind::Meta,
                catalog::space_key(info.id, s),
                Value::Int(now_micros() as i64).encode(),
            );
        }
        self.inner.write(batch)?;
        cat.next_branch_id = cat.next_branch_id.max(info.id.0 + 1);
        for s in spaces {
            cat.spaces.insert((info.id, s.clone()));
        }
        cat.stats.insert(info.id, stats);
        cat.insert(info);
        Ok(())
    }

    /// Forks `source` into a new branch `dest` that shares all of `source`'s data and
    /// history up to now (copy-on-write: nothing is copied). Returns the new branch and
    /// the number of live keys it sees. Cost: O(number of spaces), independent of data
    /// size.
    pub fn fork_branch(&self, source: &str, dest: &str) -> Result<(BranchId, u64)> {
        catalog::validate_name("branch", dest)?;
        let guard = self.inner.commit.lock();
        let mut cat = self.inner.catalog.write();
        let src = cat.by_name(source)?.clone();
        if cat.branches.contains_key(dest) {
            return Err(StorageError::AlreadyExists(format!(
                "branch {dest:?} already exists"
            )));
        }
        let info = BranchInfo {
            name: dest.to_string(),
            id: BranchId(cat.next_branch_id),
            parent: Some(src.id),
            fork_version: guard.head_version,
            created_at: now_micros(),
        };
        let mut stats = cat.stats.get(&src.id).copied().unwrap_or_default();
        stats.version = guard.head_version;
        let spaces = cat.spaces_of(src.id);
        let id = info.id;
        self.persist_new_branch(&mut cat, info, stats, &spaces)?;
        drop(cat);
        self.notify_catalog(&CatalogEvent::Forked {
            parent: src.id,
            child: id,
        });
        Ok((id, stats.live_keys))
    }

    /// Deletes a branch and all its own data. The default branch cannot be deleted, and
    /// neither can a branch other branches were forked from (delete the forks first):
    /// forks share the parent's data. Cost: proportional to the branch's own data.
    pub fn delete_branch(&self, name: &str) -> Result<()> {
        if name == DEFAULT_BRANCH {
            return Err(StorageError::NotAllowed(
                "the default branch cannot be deleted".into(),
            ));
        }
        let id = {
            let guard = self.inner.commit.lock();
            let mut cat = self.inner.catalog.write();
            let info = cat.by_name(name)?.clone();
            let children = cat.children(info.id);
            if !children.is_empty() {
                return Err(StorageError::NotAllowed(format!(
                    "branch {name:?} cannot be deleted: branches {children:?} were forked from it and share its data"
                )));
            }
            let mut batch = self.inner.write_set();
            batch.remove(KeyspaceKind::Meta, catalog::branch_key(name));
            batch.remove(KeyspaceKind::Meta, catalog::stat_key(info.id));
            for s in cat.spaces_of(info.id) {
                batch.remove(KeyspaceKind::Meta, catalog::space_key(info.id, &s));
            }
            // The branch's change log goes with it, and open derives the head from
            // change logs: record the head so versions are never reused.
            batch.insert(
                KeyspaceKind::Meta,
                catalog::HEAD_KEY,
                catalog::encode_head(guard.head_version, guard.head_ts),
            );
            self.inner.write(batch)?;
            cat.remove(name);
            info.id
        };
        self.remove_prefix(&keys::branch_prefix(id))?;
        self.remove_prefix_in(Inner::LOG_KEYSPACE, &catalog::change_prefix(id))?;
        {
            let mut t = self.inner.log_tail.lock();
            t.entries.retain(|(b, _, _)| *b != id);
            t.bytes = t.entries.iter().map(|(_, _, e)| e.len()).sum();
        }
        self.notify_catalog(&CatalogEvent::BranchDeleted(id));
        Ok(())
    }

    /// Physically removes every data and latest key with the given prefix, in batches.
    pub(crate) fn remove_prefix(&self, prefix: &[u8]) -> Result<()> {
        self.remove_prefix_in(KeyspaceKind::Data, prefix)?;
        self.remove_prefix_in(KeyspaceKind::Latest, prefix)
    }

    /// Removes every key of `ks` with the given prefix, 10 000 per batch.
    fn remove_prefix_in(&self, ks: KeyspaceKind, prefix: &[u8]) -> Result<()> {
        loop {
            let mut batch = self.inner.write_set();
            let mut n = 0;
            for kv in self.inner.keyspace(ks)?.prefix(prefix).take(10_000) {
                batch.remove(ks, kv.key()?);
                n += 1;
            }
            if n == 0 {
                return Ok(());
            }
            self.inner.write(batch)?;
            self.inner.latest_cache.clear();
        }
    }

    /// Keys written on `branch` by commits with version in `(after, upto]`, from the
    /// branch's change log, as (space, tag, key). Cost: proportional to the writes in
    /// that range, independent of the branch's size.
    pub(crate) fn changes_between(
        &self,
        branch: BranchId,
        after: CommitVersion,
        upto: CommitVersion,
    ) -> Result<Vec<(String, PrimitiveTag, Vec<u8>)>> {
        let start = catalog::change_key(branch, CommitVersion(after.0.saturating_add(1)));
        let end = catalog::change_key(branch, CommitVersion(u64::MAX));
        let mut out = Vec::new();
        if after >= upto {
            return Ok(out);
        }
        let bad = || StorageError::corrupt("change log", "bad entry");
        let mut push = |entry: &[u8]| -> Result<()> {
            let (_, written) = catalog::decode_change(entry).ok_or_else(bad)?;
            for lk in written {
                let d = keys::decode_latest_key(&lk)
                    .ok_or_else(|| StorageError::corrupt("change log", "undecodable key"))?;
                out.push((d.space, d.tag, d.key));
            }
            Ok(())
        };
        // Held while fjall is read, so that no group moves from the tail into fjall
        // between the two reads.
        let tail = self.inner.log_tail.lock();
        // A group is stored under its last version: the groups to read start at the
        // first version above `after` and end with the first one that starts above
        // `upto`.
        'groups: for kv in self.inner.log_keyspace()?.range(start..=end) {
            let (k, v) = kv.into_inner()?;
            let key_version = catalog::decode_change_key(&k).ok_or_else(bad)?;
            for (version, entry) in catalog::change_entries(key_version, &v).ok_or_else(bad)? {
                if version > upto {
                    break 'groups;
                }
                if version > after {
                    push(entry)?;
                }
            }
        }
        for (b, version, entry) in &tail.entries {
            if *b == branch && *version > after && *version <= upto {
                push(entry)?;
            }
        }
        Ok(out)
    }

    /// Spaces of a branch, sorted.
    pub fn list_spaces(&self, branch: BranchId) -> Vec<String> {
        self.inner.catalog.read().spaces_of(branch)
    }

    /// Whether `space` exists on `branch`.
    pub fn space_exists(&self, branch: BranchId, space: &str) -> bool {
        self.inner.catalog.read().has_space(branch, space)
    }

    /// Creates a space on a branch (no-op if it exists). Writes to a space also create it.
    pub fn create_space(&self, branch: BranchId, space: &str) -> Result<()> {
        catalog::validate_name("space", space)?;
        let _guard = self.inner.commit.lock();
        let mut cat = self.inner.catalog.write();
        if cat.by_id(branch).is_none() {
            return Err(StorageError::NotFound(format!(
                "branch id {} not found",
                branch.0
            )));
        }
        if cat.spaces.contains(&(branch, space.to_string())) {
            return Ok(());
        }
        let mut batch = self.inner.write_set();
        batch.insert(
            KeyspaceKind::Meta,
            catalog::space_key(branch, space),
            Value::Int(now_micros() as i64).encode(),
        );
        self.inner.write(batch)?;
        cat.spaces.insert((branch, space.to_string()));
        Ok(())
    }

    /// Whether any live key is visible in the space (any primitive).
    pub fn space_is_empty(&self, branch: BranchId, space: &str) -> Result<bool> {
        let chain = self
            .inner
            .catalog
            .read()
            .chain(branch, self.committed_version());
        for (b, limit) in &chain {
            for kv in self.inner.latest()?.prefix(keys::space_prefix(*b, space)) {
                let (k, v) = kv.into_inner()?;
                let rec_version = record::latest_version(&v)?;
                let live = if rec_version <= *limit {
                    record::latest_is_live(&v)
                } else {
                    let d = keys::decode_latest_key(&k)
                        .ok_or_else(|| StorageError::corrupt("latest key", "undecodable"))?;
                    let scope = Scope::new(branch, space);
                    self.read_visible(&scope, d.tag, &d.key, self.committed_version(), None)?
                        .is_some_and(|r| r.value.is_some())
                };
                if live {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// Deletes a space. Without `force`, refuses unless the space is empty. With
    /// `force`, removes all its data in every primitive: physically when no other
    /// branch shares this branch's data, otherwise by writing tombstones (forks keep
    /// their view). The default space cannot be deleted, only emptied with `force`.
    pub fn delete_space(&self, branch: BranchId, space: &str, force: bool) -> Result<()> {
        if !self.space_exists(branch, space) {
            return Err(StorageError::NotFound(format!("space {space:?} not found")));
        }
        if !force && !self.space_is_empty(branch, space)? {
            return Err(StorageError::NotAllowed(format!(
                "space {space:?} is not empty; use delete_space_force to delete it with its data"
            )));
        }
        let (shared, has_parent) = {
            let cat = self.inner.catalog.read();
            let info = cat
                .by_id(branch)
                .ok_or_else(|| StorageError::NotFound("branch not found".into()))?;
            (!cat.children(branch).is_empty(), info.parent.is_some())
        };
        if force {
            if shared || has_parent {
                // Tombstone every visible key so forks keep their own view.
                let scope = Scope::new(branch, space);
                let keys_by_tag = self.visible_keys_in_space(&scope)?;
                self.transact(|t| {
                    for (tag, key) in &keys_by_tag {
                        crate::VersionedStore::delete(t, &scope, *tag, key)?;
                    }
                    Ok(())
                })?;
            } else {
                self.notify_catalog(&CatalogEvent::SpaceDeleting(Scope::new(branch, space)));
                let _guard = self.inner.commit.lock();
                // The removal commits no version, so a crash before the recount below
                // would leave statistics that look current but count removed keys:
                // the mark makes the next open recount.
                let mut mark = self.inner.write_set();
                mark.insert(KeyspaceKind::Meta, catalog::recount_key(branch), [1u8]);
                self.inner.write(mark)?;
                self.remove_prefix(&keys::space_prefix(branch, space))?;
                self.recount_live(branch)?;
            }
        }
        if space != DEFAULT_SPACE {
            let _guard = self.inner.commit.lock();
            let mut batch = self.inner.write_set();
            batch.remove(KeyspaceKind::Meta, catalog::space_key(branch, space));
            self.inner.write(batch)?;
            self.inner
                .catalog
                .write()
                .spaces
                .remove(&(branch, space.to_string()));
        }
        self.notify_catalog(&CatalogEvent::SpaceDeleted(Scope::new(branch, space)));
        Ok(())
    }

    /// Recounts a branch's live keys after a physical delete (caller holds the commit
    /// lock) and clears its recount mark. Cost: a scan of the branch's latest keys.
    fn recount_live(&self, branch: BranchId) -> Result<()> {
        let mut live = 0u64;
        for kv in self.inner.latest()?.prefix(keys::branch_prefix(branch)) {
            let v = kv.value()?;
            if record::latest_counts_as_live(&v) {
                live += 1;
            }
        }
        let mut cat = self.inner.catalog.write();
        let stats = cat.stats.entry(branch).or_default();
        stats.live_keys = live;
        let enc = catalog::encode_stats(stats);
        drop(cat);
        let mut batch = self.inner.write_set();
        batch.insert(KeyspaceKind::Meta, catalog::stat_key(branch), enc);
        batch.remove(KeyspaceKind::Meta, catalog::recount_key(branch));
        self.inner.write(batch)
    }

    /// Every (tag, key) live in a scope, over all primitives, inherited ones included.
    pub(crate) fn visible_keys_in_space(
        &self,
        scope: &Scope,
    ) -> Result<Vec<(PrimitiveTag, Vec<u8>)>> {
        let version = self.committed_version();
        let mut out = Vec::new();
        for (tag, map) in self.visible_space_state(scope, version)? {
            for (k, r) in map {
                if r.value.is_some() {
                    out.push((tag, k));
                }
            }
        }
        Ok(out)
    }

    /// The state of a whole space at a version: per tag, each key's newest record
    /// (tombstones included). Cost: scans the latest keys of the space over the chain.
    pub(crate) fn visible_space_state(
        &self,
        scope: &Scope,
        version: CommitVersion,
    ) -> Result<BTreeMap<PrimitiveTag, BTreeMap<Vec<u8>, Record>>> {
        let chain = self.inner.catalog.read().chain(scope.branch, version);
        let mut out: BTreeMap<PrimitiveTag, BTreeMap<Vec<u8>, Record>> = BTreeMap::new();
        for (b, limit) in chain.iter().rev() {
            for kv in self
                .inner
                .latest()?
                .prefix(keys::space_prefix(*b, &scope.space))
            {
                let (k, v) = kv.into_inner()?;
                let d = keys::decode_latest_key(&k)
                    .ok_or_else(|| StorageError::corrupt("latest key", "undecodable"))?;
                let rec = record::decode_latest(&v)?;
                let hides = rec.version > *limit && record::latest_without_history(&v);
                let rec = if rec.version <= *limit {
                    Some(rec)
                } else {
                    self.versioned_lookup(&k, &v, *limit, None)?
                };
                if rec.is_none() && hides {
                    // As in `scan_visible_at`: not visible, and hides the ancestors'.
                    if let Some(m) = out.get_mut(&d.tag) {
                        m.remove(&d.key);
                    }
                    continue;
                }
                if let Some(rec) = rec {
                    out.entry(d.tag).or_default().insert(d.key, rec);
                }
            }
        }
        Ok(out)
    }

    // ------------------------------------------------------------------ reads

    /// Newest version of a latest key in one branch with version <= `limit` (and
    /// timestamp <= `max_ts` if given), from the history keyspace; `None` also when
    /// that is a version kept for a fork whose successor the read would see (the
    /// version that answers was discarded, see `Record::still_newest_at`).
    pub(crate) fn versioned_lookup(
        &self,
        latest_key: &[u8],
        latest: &[u8],
        limit: CommitVersion,
        max_ts: Option<Timestamp>,
    ) -> Result<Option<Record>> {
        // The first version at or below `limit` (and `max_ts`) answers, newest first:
        // the latest record's inline entries, then history.
        let answer = |stored: record::Stored<'_>| -> Result<Option<Option<Record>>> {
            if stored.version() > limit {
                return Ok(None);
            }
            if let Some(ts) = max_ts {
                if stored.timestamp()? > ts {
                    return Ok(None);
                }
            }
            let rec = stored.record()?;
            Ok(Some(Some(rec).filter(|r| r.still_newest_at(limit, max_ts))))
        };
        for e in record::inline_entries(latest)? {
            if let Some(found) = answer(e?)? {
                return Ok(found);
            }
        }
        let start = keys::history_key(latest_key, limit);
        let end = keys::history_key(latest_key, CommitVersion(0));
        for kv in self.inner.data()?.range(start..=end) {
            let (k, v) = kv.into_inner()?;
            let (_, key_version) = keys::split_history_key(&k)
                .ok_or_else(|| StorageError::corrupt("history key", "too short"))?;
            for stored in record::history_entries(key_version, &v)? {
                if let Some(found) = answer(stored)? {
                    return Ok(found);
                }
            }
        }
        Ok(None)
    }

    /// The raw latest record of a latest key, from the latest-record cache, the
    /// deferred commits, or fjall (filling the cache). Cost: a hash lookup on a hit,
    /// else one more under the write lock while commits wait, then a fjall point read.
    pub(crate) fn latest_record(&self, lk: &[u8]) -> Result<Option<fjall::Slice>> {
        let cache = &self.inner.latest_cache;
        if let Some(v) = cache.get(lk) {
            return Ok(Some(v));
        }
        let generation = cache.generation();
        if let Some(waiting) = self.inner.pending_latest(lk) {
            return Ok(waiting);
        }
        // Nothing waits for this key (a commit deferred after the check is newer than
        // this read's snapshot, and a drain puts it into fjall before it stops
        // waiting), so fjall holds the newest record.
        let v = self.inner.latest_ks.get(lk)?;
        if let Some(v) = &v {
            cache.fill(lk, v.clone(), generation);
        }
        Ok(v)
    }

    /// What answers a read of a key at `version` (and `max_ts`), following forks: the
    /// latest record of the branch it is found on, as stored, or an older version
    /// from history. Tombstones count as answers.
    ///
    /// Reads the latest record first and history only if that is too new: a commit
    /// moves a superseded version to history in the same batch as the new latest
    /// record, so in this order no version can be missed.
    fn find_visible(
        &self,
        scope: &Scope,
        tag: PrimitiveTag,
        key: &[u8],
        version: CommitVersion,
        max_ts: Option<Timestamp>,
    ) -> Result<Option<Visible>> {
        // A branch without a parent (the common case) reads only itself: no chain to
        // build (an allocation per read).
        let (only, chain) = {
            let cat = self.inner.catalog.read();
            match cat.by_id(scope.branch) {
                Some(info) if info.parent.is_none() => (Some((scope.branch, version)), Vec::new()),
                _ => (None, cat.chain(scope.branch, version)),
            }
        };
        for (b, limit) in only.into_iter().chain(chain) {
            let lk = keys::latest_key(b, &scope.space, tag, key);
            let Some(v) = self.latest_record(&lk)? else {
                // No latest record: the key was never written on this branch (and so
                // has no history here either).
                continue;
            };
            if record::latest_version(&v)? <= limit {
                let in_time = match max_ts {
                    Some(ts) => record::latest_timestamp(&v)? <= ts,
                    None => true,
                };
                if in_time {
                    return Ok(Some(Visible::Latest(v)));
                }
            }
            let older = self.versioned_lookup(&lk, &v, limit, max_ts)?;
            if record::latest_without_history(&v) {
                // Only versions kept for forks are in history: one answers if it is
                // still the newest at this point; otherwise the version that would
                // answer was discarded, and the fork ancestors' must not show through.
                return Ok(older.map(Visible::Older));
            }
            if let Some(rec) = older {
                return Ok(Some(Visible::Older(rec)));
            }
        }
        Ok(None)
    }

    /// The record visible for a key at `version` (and `max_ts`), following forks
    /// (see `find_visible`). Returns tombstones as `Some(record with value None)`.
    pub(crate) fn read_visible(
        &self,
        scope: &Scope,
        tag: PrimitiveTag,
        key: &[u8],
        version: CommitVersion,
        max_ts: Option<Timestamp>,
    ) -> Result<Option<Record>> {
        Ok(match self.find_visible(scope, tag, key, version, max_ts)? {
            Some(Visible::Latest(v)) => Some(record::decode_latest(&v)?),
            Some(Visible::Older(rec)) => Some(rec),
            None => None,
        })
    }

    /// The value visible for a key at `version`: [`StoredValue::Encoded`] when a latest
    /// record answers (the common case), decoded when an older version does. `None`
    /// if missing or deleted. Cost: as [`Database::read_visible`], without the decode.
    pub(crate) fn read_visible_value(
        &self,
        scope: &Scope,
        tag: PrimitiveTag,
        key: &[u8],
        version: CommitVersion,
    ) -> Result<Option<StoredValue>> {
        Ok(match self.find_visible(scope, tag, key, version, None)? {
            Some(Visible::Latest(v)) => record::latest_value_start(&v)?
                .map(|start| StoredValue::Encoded(EncodedValue { record: v, start })),
            Some(Visible::Older(rec)) => rec.value.map(StoredValue::Decoded),
            None => None,
        })
    }

    /// The version of the value visible for a key at `version`, `None` if missing or
    /// deleted. Cost: as [`Database::read_visible`], without decoding the value.
    pub(crate) fn read_visible_version(
        &self,
        scope: &Scope,
        tag: PrimitiveTag,
        key: &[u8],
        version: CommitVersion,
    ) -> Result<Option<CommitVersion>> {
        Ok(match self.find_visible(scope, tag, key, version, None)? {
            Some(Visible::Latest(v)) if record::latest_is_live(&v) => {
                Some(record::latest_version(&v)?)
            }
            Some(Visible::Latest(_)) | None => None,
            Some(Visible::Older(rec)) => rec.value.is_some().then_some(rec.version),
        })
    }

    /// Full committed history of a key at `version`, following forks, newest first.
    pub(crate) fn read_history(
        &self,
        scope: &Scope,
        tag: PrimitiveTag,
        key: &[u8],
        version: CommitVersion,
    ) -> Result<Vec<Record>> {
        let chain = self.inner.catalog.read().chain(scope.branch, version);
        let mut out = Vec::new();
        for (b, limit) in chain {
            let lk = keys::latest_key(b, &scope.space, tag, key);
            // Latest first (see `read_visible`); history below the version taken
            // from it, which also skips the duplicate older databases keep there.
            let mut below = limit;
            if let Some(v) = self.latest_record(&lk)? {
                let rec = record::decode_latest(&v)?;
                let visible = rec.version <= limit;
                if visible {
                    below = CommitVersion(rec.version.0.saturating_sub(1));
                    out.push(rec);
                }
                if record::latest_without_history(&v) {
                    // Such a key keeps no history: its newest version at this point
                    // is all there is (a version kept for a fork, if not the latest).
                    if !visible {
                        if let Some(rec) = self.versioned_lookup(&lk, &v, limit, None)? {
                            out.push(rec);
                        }
                    }
                    return Ok(out);
                }
                // The inline entries are the newest superseded versions.
                for e in record::inline_entries(&v)? {
                    let e = e?;
                    if e.version() <= below {
                        out.push(e.record()?);
                    }
                }
            } else {
                continue;
            }
            if below.0 == 0 {
                continue;
            }
            let start = keys::history_key(&lk, below);
            let end = keys::history_key(&lk, CommitVersion(0));
            for kv in self.inner.data()?.range(start..=end) {
                let (k, v) = kv.into_inner()?;
                let (_, key_version) = keys::split_history_key(&k)
                    .ok_or_else(|| StorageError::corrupt("history key", "too short"))?;
                for stored in record::history_entries(key_version, &v)? {
                    if stored.version() <= below {
                        out.push(stored.record()?);
                    }
                }
            }
        }
        Ok(out)
    }

    /// Live entries under a user-key prefix at `version`, ascending, merged over the
    /// fork chain, starting after `after`, at most `limit`.
    pub(crate) fn scan_visible_at(
        &self,
        scope: &Scope,
        tag: PrimitiveTag,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: Option<usize>,
        version: CommitVersion,
    ) -> Result<Vec<(Vec<u8>, Record)>> {
        let chain = self.inner.catalog.read().chain(scope.branch, version);
        let want = limit.unwrap_or(usize::MAX);
        if chain.len() == 1 {
            // Common case: stream in key order and stop at the limit.
            let (b, lim) = chain[0];
            let p = keys::user_prefix(b, &scope.space, tag, prefix);
            let scope_len = keys::scope_prefix(b, &scope.space, tag).len();
            let iter = match after {
                Some(a) => {
                    let mut start = keys::latest_key(b, &scope.space, tag, a);
                    start.push(0x00); // strictly after `a`
                    self.inner.latest()?.range(start..)
                }
                None => self.inner.latest()?.range(p.clone()..),
            };
            let mut out = Vec::new();
            for kv in iter {
                if out.len() >= want {
                    break;
                }
                let (k, v) = kv.into_inner()?;
                if !k.starts_with(&p) {
                    break;
                }
                let rec = record::decode_latest(&v)?;
                let rec = if rec.version <= lim {
                    Some(rec)
                } else {
                    self.versioned_lookup(&k, &v, lim, None)?
                };
                if let Some(rec) = rec.filter(|r| r.value.is_some()) {
                    let (user, _) = keys::unescape(&k, scope_len)
                        .ok_or_else(|| StorageError::corrupt("latest key", "undecodable"))?;
                    out.push((user, rec));
                }
            }
            return Ok(out);
        }
        let mut merged: BTreeMap<Vec<u8>, Record> = BTreeMap::new();
        for (b, lim) in chain.iter().rev() {
            let p = keys::user_prefix(*b, &scope.space, tag, prefix);
            let scope_len = keys::scope_prefix(*b, &scope.space, tag).len();
            for kv in self.inner.latest()?.prefix(&p) {
                let (k, v) = kv.into_inner()?;
                let rec = record::decode_latest(&v)?;
                let hides = rec.version > *lim && record::latest_without_history(&v);
                let rec = if rec.version <= *lim {
                    Some(rec)
                } else {
                    self.versioned_lookup(&k, &v, *lim, None)?
                };
                if rec.is_some() || hides {
                    let (user, _) = keys::unescape(&k, scope_len)
                        .ok_or_else(|| StorageError::corrupt("latest key", "undecodable"))?;
                    // A key without history is not visible at an older version, and
                    // hides what a fork ancestor holds under it.
                    match rec {
                        Some(rec) => merged.insert(user, rec),
                        None => merged.remove(&user),
                    };
                }
            }
        }
        Ok(merged
            .into_iter()
            .filter(|(k, r)| r.value.is_some() && after.is_none_or(|a| k.as_slice() > a))
            .take(want)
            .collect())
    }

    /// Live entries under a prefix as of a timestamp (and at most `version`).
    ///
    /// Per branch of the chain: one pass over the latest records (each key's newest
    /// version), then one over history for the keys whose newest version is too new.
    /// Latest before history, as in `read_visible`.
    pub(crate) fn scan_as_of_inner(
        &self,
        scope: &Scope,
        tag: PrimitiveTag,
        prefix: &[u8],
        ts: Timestamp,
        version: CommitVersion,
    ) -> Result<Vec<(Vec<u8>, Record)>> {
        let chain = self.inner.catalog.read().chain(scope.branch, version);
        let mut merged: BTreeMap<Vec<u8>, Record> = BTreeMap::new();
        for (b, lim) in chain.iter().rev() {
            let p = keys::user_prefix(*b, &scope.space, tag, prefix);
            let scope_len = keys::scope_prefix(*b, &scope.space, tag).len();
            // Keys of this branch whose latest record answers the read.
            let mut answered: BTreeSet<Vec<u8>> = BTreeSet::new();
            for kv in self.inner.latest()?.prefix(&p) {
                let (k, v) = kv.into_inner()?;
                let answers =
                    record::latest_version(&v)? <= *lim && record::latest_timestamp(&v)? <= ts;
                // Or one of its inline entries (ordinary versions, newest first).
                let mut rec = None;
                if answers {
                    rec = Some(record::decode_latest(&v)?);
                } else {
                    for e in record::inline_entries(&v)? {
                        let e = e?;
                        if e.version() <= *lim && e.timestamp()? <= ts {
                            rec = Some(e.record()?);
                            break;
                        }
                    }
                }
                let answers = rec.is_some();
                if !answers && !record::latest_without_history(&v) {
                    continue; // history answers below
                }
                let (user, _) = keys::unescape(&k, scope_len)
                    .ok_or_else(|| StorageError::corrupt("latest key", "undecodable"))?;
                if let Some(rec) = rec {
                    answered.insert(k.to_vec());
                    merged.insert(user, rec);
                } else {
                    // Without history: a version kept for a fork may answer below;
                    // otherwise nothing does, and the ancestors' must not show through.
                    merged.remove(&user);
                }
            }
            let mut current: Option<Vec<u8>> = None;
            for kv in self.inner.data()?.prefix(&p) {
                let (k, v) = kv.into_inner()?;
                let (lk, key_version) = keys::split_history_key(&k)
                    .ok_or_else(|| StorageError::corrupt("history key", "too short"))?;
                for stored in record::history_entries(key_version, &v)? {
                    if current.as_deref() == Some(lk) || answered.contains(lk) {
                        break; // already picked this key's visible version
                    }
                    if stored.version() > *lim || stored.timestamp()? > ts {
                        continue;
                    }
                    let rec = stored.record()?;
                    current = Some(lk.to_vec());
                    if !rec.still_newest_at(*lim, Some(ts)) {
                        break; // the version that answers was discarded
                    }
                    let (user, _) = keys::unescape(lk, scope_len)
                        .ok_or_else(|| StorageError::corrupt("history key", "undecodable"))?;
                    merged.insert(user, rec);
                }
            }
        }
        Ok(merged
            .into_iter()
            .filter(|(_, r)| r.value.is_some())
            .collect())
    }

    // ------------------------------------------------------------------ commits

    /// Commits a fjall batch with the configured durability.
    pub(crate) fn notify_catalog(&self, ev: &CatalogEvent) {
        for o in self.inner.observers.read().iter() {
            o.on_catalog_event(ev);
        }
    }

    /// Writes a set of changes as one commit. `snapshot` is the version the writer read
    /// at (conflict detection: any key changed after it on the same branch fails the
    /// commit). `WriteKind::New` writes (`put_new`) skip their existence read, on the
    /// caller's word that the key is new (see `VersionedStore::put_new`);
    /// `WriteKind::WithoutHistory` writes, and every later write of such a key, discard
    /// the version they supersede instead of moving it to history and are not counted
    /// as live keys (see `VersionedStore::put_without_history`).
    pub(crate) fn apply_commit(
        &self,
        snapshot: Option<CommitVersion>,
        writes: Vec<PendingWrite>,
    ) -> Result<CommitVersion> {
        if writes.is_empty() {
            return Ok(snapshot.unwrap_or_else(|| self.committed_version()));
        }
        let inner = &self.inner;
        let mut state = inner.commit.lock();
        let version = CommitVersion(state.head_version.0 + 1);
        let ts = now_micros().max(state.head_ts + 1);
        let mut batch = inner.commit_set();
        // Live-key count changes per branch (commits touch one branch or a few).
        let mut deltas: Vec<(BranchId, i64)> = Vec::with_capacity(1);
        let mut new_spaces = Vec::new();
        // Branches with a parent among those written (their new keys may shadow a
        // fork ancestor's), checked with the writes' branches and spaces under one
        // catalog read lock.
        let mut forked: Vec<BranchId> = Vec::new();
        {
            let cat = inner.catalog.read();
            for w in writes.iter().map(|w| &w.change) {
                let Some(info) = cat.by_id(w.scope.branch) else {
                    return Err(StorageError::NotFound(format!(
                        "branch id {} no longer exists",
                        w.scope.branch.0
                    )));
                };
                if info.parent.is_some() && !forked.contains(&w.scope.branch) {
                    forked.push(w.scope.branch);
                }
                if !cat.has_space(w.scope.branch, &w.scope.space)
                    && !new_spaces.contains(&(w.scope.branch, w.scope.space.clone()))
                {
                    catalog::validate_name("space", &w.scope.space)?;
                    new_spaces.push((w.scope.branch, w.scope.space.clone()));
                }
            }
        }
        let has_parent = |b: BranchId| forked.contains(&b);
        let mut change_log: Vec<(BranchId, catalog::ChangeEntry)> = Vec::new();
        let filter = inner.key_filter.for_commit();
        // Records are encoded here, then copied into fjall's own buffers.
        let mut scratch: Vec<u8> = Vec::with_capacity(256);
        // Inline history entries of the record being written (see `record`).
        let mut inline: Vec<u8> = Vec::new();
        // (key, record, created, cache when absent)
        let mut written: Vec<(fjall::Slice, fjall::Slice, bool, bool)> =
            Vec::with_capacity(writes.len());
        let mut changes: Vec<ChangedKey> = Vec::with_capacity(writes.len());
        // Hashes of the keys this commit creates, for the filter after the batch.
        let mut created = Vec::new();
        for PendingWrite {
            latest_key: lk,
            change: w,
            kind,
        } in writes
        {
            let fresh = kind == WriteKind::New;
            // Whether the new latest record carries `inline` (set below).
            let mut carry = false;
            // One lookup serves conflict detection (first committer wins), the
            // live-key count and the move of the superseded version into history;
            // only keys never written on this branch fall through to its fork
            // ancestors.
            // Keys the absent-key filter rules out (never written on this branch)
            // need no read either. `put_new` keys are read too when the filter cannot
            // rule them out: a log restarted after its space was deleted writes over
            // its old records' tombstones, which carry inline history a fork may read.
            let hash = crate::filter::key_hash(&lk);
            let existing = if filter.certainly_absent(hash) {
                None
            } else {
                self.latest_record(&lk)?
            };
            let is_new = existing.is_none();
            if is_new {
                created.push(hash);
            }
            // Without history: asked for by this write, or kept from an earlier one
            // (sticky, so readers can trust the flag of the newest record alone).
            let no_history = kind == WriteKind::WithoutHistory
                || existing
                    .as_deref()
                    .is_some_and(record::latest_without_history);
            let before = match existing {
                Some(own) if no_history => {
                    let ver = record::latest_version(&own)?;
                    if let Some(snap) = snapshot.filter(|snap| ver > *snap) {
                        return Err(conflict(&w, ver, snap));
                    }
                    // The superseded version is discarded, unless a fork of this branch
                    // made since it was written can see it (forks keep their view), or
                    // it is the last ordinary version (readers must find where the
                    // discarded versions begin). A kept version records its successor.
                    let forked_since = inner
                        .catalog
                        .read()
                        .newest_fork_of(w.scope.branch)
                        .is_some_and(|f| f >= ver);
                    if forked_since || !record::latest_without_history(&own) {
                        // An ordinary version's inline entries (if it has any) go to
                        // history first, as a chunk of their own.
                        let split = record::split_latest(&own)?;
                        if let Some((oldest, chunk)) = split.inline_chunk()? {
                            batch.insert(KeyspaceKind::Data, keys::history_key(&lk, oldest), chunk);
                        }
                        batch.insert(
                            KeyspaceKind::Data,
                            keys::history_key(&lk, ver),
                            split.kept_record(version, ts),
                        );
                    }
                    record::latest_counts_as_live(&own)
                }
                Some(own) => {
                    let ver = record::latest_version(&own)?;
                    if let Some(snap) = snapshot.filter(|snap| ver > *snap) {
                        return Err(conflict(&w, ver, snap));
                    }
                    // The newest version lives only in `latest`; once superseded it
                    // rides along in the new latest record (inline history) or, when
                    // that is full, moves to history with the inline entries, in this
                    // same atomic batch (see `record`'s module docs).
                    let old = record::split_latest(&own)?;
                    if old.inline_count + 2 <= record::INLINE_MAX_VERSIONS
                        && old.entries_len() <= record::INLINE_MAX_BYTES
                    {
                        inline.clear();
                        old.entries_into(&mut inline, version, ts);
                        carry = true;
                    } else {
                        let (at, value) = old.to_history(version, ts)?;
                        batch.insert(KeyspaceKind::Data, keys::history_key(&lk, at), value);
                    }
                    record::latest_counts_as_live(&own)
                }
                None if has_parent(w.scope.branch) && !fresh => self
                    .read_visible(&w.scope, w.tag, &w.key, state.head_version, None)?
                    .is_some_and(|r| r.counts_as_live()),
                None => false,
            };
            let after = w.value.is_some() && !no_history;
            let delta = match (before, after) {
                (false, true) => 1,
                (true, false) => -1,
                _ => 0,
            };
            match deltas.iter_mut().find(|(b, _)| *b == w.scope.branch) {
                Some((_, d)) => *d += delta,
                None => deltas.push((w.scope.branch, delta)),
            }
            match change_log.iter_mut().find(|(b, _)| *b == w.scope.branch) {
                Some((_, entry)) => entry.push(&lk),
                None => {
                    let mut entry = catalog::ChangeEntry::new(ts);
                    entry.push(&lk);
                    change_log.push((w.scope.branch, entry));
                }
            }
            let lk = fjall::Slice::from(lk);
            scratch.clear();
            if carry {
                record::encode_latest_inline_into(
                    &mut scratch,
                    version,
                    ts,
                    w.value.as_ref(),
                    &inline,
                );
            } else {
                record::encode_latest_into(&mut scratch, version, ts, w.value.as_ref(), no_history);
            }
            let rec = fjall::Slice::from(&scratch[..]);
            batch.insert(KeyspaceKind::Latest, lk.clone(), rec.clone());
            written.push((lk, rec, is_new, !fresh));
            changes.push(w);
        }
        // The entries wait in memory until a group is due (see `LogTail`).
        let mut tail = inner.log_tail.lock();
        let mut tail_new: Vec<(BranchId, CommitVersion, Vec<u8>)> = change_log
            .into_iter()
            .map(|(b, entry)| (b, version, entry.into_bytes()))
            .collect();
        let new_bytes: usize = tail_new.iter().map(|(_, _, e)| e.len()).sum();
        let tail_flushed = tail.entries.len() + tail_new.len() >= LOG_GROUP_COMMITS
            || tail.bytes + new_bytes >= LOG_GROUP_BYTES;
        if tail_flushed {
            inner.write_log_groups(&mut batch, tail.entries.iter().chain(tail_new.iter()));
        }
        for (b, s) in &new_spaces {
            batch.insert(
                KeyspaceKind::Meta,
                catalog::space_key(*b, s),
                Value::Int(ts as i64).encode(),
            );
        }
        let mut new_stats = Vec::new();
        {
            let cat = inner.catalog.read();
            for (b, d) in &deltas {
                let mut s = cat.stats.get(b).copied().unwrap_or_default();
                s.live_keys = (s.live_keys as i64 + d).max(0) as u64;
                if s.oldest_ts == 0 {
                    s.oldest_ts = ts;
                }
                s.latest_ts = ts;
                s.version = version;
                new_stats.push((*b, s));
            }
            // The head record and branch statistics are not written by every commit
            // (that doubled the entries per commit): open derives the head from the
            // change logs and recounts statistics older than their branch's last
            // change. A checkpoint every STATS_CHECKPOINT commits bounds that work.
            if version.0.is_multiple_of(STATS_CHECKPOINT) {
                for (b, st) in cat.stats.iter() {
                    let st = new_stats
                        .iter()
                        .find(|(nb, _)| nb == b)
                        .map_or(*st, |(_, ns)| *ns);
                    batch.insert(
                        KeyspaceKind::Meta,
                        catalog::stat_key(*b),
                        catalog::encode_stats(&st),
                    );
                }
                batch.insert(
                    KeyspaceKind::Meta,
                    catalog::HEAD_KEY,
                    catalog::encode_head(version, ts),
                );
            }
        }
        let committed = self.inner.write(batch);
        // A failed commit wrote nothing: neither its entries nor a group.
        if committed.is_ok() {
            if tail_flushed {
                tail.entries.clear();
                tail.bytes = 0;
            } else {
                tail.entries.append(&mut tail_new);
                tail.bytes += new_bytes;
            }
        }
        drop(tail);
        committed?;
        filter.inserted_hashes(created, || inner.drain().is_ok());
        for (lk, rec, is_new, keep) in written {
            match (is_new, keep) {
                // `put_new` keys are not cached, and were not.
                (true, false) => {}
                (true, true) => inner.latest_cache.created(&lk, rec),
                (false, _) => inner.latest_cache.committed(&lk, rec, keep),
            }
        }
        state.head_version = version;
        state.head_ts = ts;
        {
            let mut cat = inner.catalog.write();
            for (b, s) in new_stats {
                cat.stats.insert(b, s);
            }
            for sp in new_spaces {
                cat.spaces.insert(sp);
            }
        }
        inner.committed.store(version.0, Ordering::Release);
        let change = CommittedChange {
            version,
            timestamp: ts,
            writes: changes,
        };
        for o in inner.observers.read().iter() {
            o.on_commit(&change);
        }
        drop(state);
        if inner.options.durability == Durability::Always {
            self.sync_to(version)?;
        }
        Ok(version)
    }

    /// Group commit: makes sure everything up to `version` is fsynced. Threads that
    /// arrive while a sync runs are covered by the next one.
    fn sync_to(&self, version: CommitVersion) -> Result<()> {
        let mut durable = self.inner.durable.lock();
        if *durable >= version.0 {
            return Ok(());
        }
        let target = self.committed_version().0;
        self.inner
            .fjall
            .persist(PersistMode::SyncData)
            .map_err(map_fjall)?;
        *durable = target;
        Ok(())
    }
}

/// The error of a commit that lost the race for `w`'s key to commit `ver`.
fn conflict(w: &ChangedKey, ver: CommitVersion, snap: CommitVersion) -> StorageError {
    StorageError::Conflict(format!(
        "key {:?} in space {:?} was changed by commit {} after this transaction began (snapshot {})",
        String::from_utf8_lossy(&w.key),
        w.scope.space,
        ver,
        snap
    ))
}

/// What answers a read (see `Database::find_visible`).
enum Visible {
    /// A branch's latest record, as stored.
    Latest(fjall::Slice),
    /// An older version, from history.
    Older(Record),
}

/// Refuses a database written in another key layout. A database without a layout
/// record is new (no branch yet; `load_catalog` writes the record with the default
/// branch) or was written by a layout-1 development build.
fn check_layout(meta: &Keyspace) -> Result<()> {
    let found = match meta.get(catalog::LAYOUT_KEY)? {
        Some(v) if v.len() == 1 => v[0],
        Some(_) => return Err(StorageError::corrupt("key layout record", "bad length")),
        None if meta.prefix(b"branch/").next().is_none() => return Ok(()),
        None => 1,
    };
    if found == catalog::KEY_LAYOUT {
        return Ok(());
    }
    if found == 2 {
        // Layout 3 only adds record encodings (inline history, chunks) that this
        // build reads next to layout 2's; the record says so to older builds, which
        // refuse it instead of misreading new records.
        meta.insert(catalog::LAYOUT_KEY, [catalog::KEY_LAYOUT])?;
        return Ok(());
    }
    Err(StorageError::NotAllowed(format!(
        "this database uses key layout {found}; this build reads layouts 2 and {} \
         (layout 1 was written by development builds before 2026-12-02: export its \
         branches as bundles with the build that wrote it and import them here)",
        catalog::KEY_LAYOUT
    )))
}

fn load_catalog(fjall: &fjall::Database, meta: &Keyspace) -> Result<Catalog> {
    let mut cat = Catalog::default();
    cat.next_branch_id = 2;
    if let Some(b) = meta.get(catalog::BSEQ_KEY)? {
        if let Value::Int(i) = Value::decode(&b)? {
            cat.next_branch_id = i as u64;
        }
    }
    check_layout(meta)?;
    for kv in meta.prefix(b"branch/") {
        let (k, v) = kv.into_inner()?;
        let name = String::from_utf8(k[b"branch/".len()..].to_vec())
            .map_err(|e| StorageError::corrupt("branch catalog", e))?;
        cat.insert(catalog::decode_branch(&name, &v)?);
    }
    for kv in meta.prefix(b"bstat/") {
        let (k, v) = kv.into_inner()?;
        let id: [u8; 8] = k
            .get(6..14)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| StorageError::corrupt("branch stats", "bad key"))?;
        cat.stats
            .insert(BranchId(u64::from_be_bytes(id)), catalog::decode_stats(&v)?);
    }
    for kv in meta.prefix(b"space/") {
        let k = kv.key()?;
        let id: [u8; 8] = k
            .get(6..14)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| StorageError::corrupt("space catalog", "bad key"))?;
        let name = String::from_utf8(k[14..].to_vec())
            .map_err(|e| StorageError::corrupt("space catalog", e))?;
        cat.spaces.insert((BranchId(u64::from_be_bytes(id)), name));
    }
    if !cat.branches.contains_key(DEFAULT_BRANCH) {
        let info = BranchInfo {
            name: DEFAULT_BRANCH.to_string(),
            id: BranchId(1),
            parent: None,
            fork_version: CommitVersion(0),
            created_at: now_micros(),
        };
        let mut batch = fjall.batch();
        batch.insert(
            meta,
            catalog::branch_key(DEFAULT_BRANCH),
            catalog::encode_branch(&info),
        );
        batch.insert(
            meta,
            catalog::space_key(info.id, DEFAULT_SPACE),
            Value::Int(info.created_at as i64).encode(),
        );
        batch.insert(
            meta,
            catalog::BSEQ_KEY,
            Value::Int(cat.next_branch_id.max(2) as i64).encode(),
        );
        batch.insert(meta, catalog::LAYOUT_KEY, [catalog::KEY_LAYOUT]);
        batch.commit()?;
        cat.spaces.insert((info.id, DEFAULT_SPACE.to_string()));
        cat.stats.entry(info.id).or_default();
        cat.insert(info);
    }
    Ok(cat)
}
