//! [`Session`]: a handle with its own current branch, space and optional transaction,
//! exposing every operation of the Python SDK in Rust types.

use crate::engine::Strata;
use crate::error::{Error, Result};
use parking_lot::Mutex;
use std::sync::Arc;
use strata_search::{SearchHit, SearchRequest};
use strata_storage::tags;
use strata_storage::{
    now_micros, BranchDiff, BranchId, BranchInfo, BranchStats, BundleInfo, CommitVersion, Database,
    ExportSummary, HistoryEntry, ImportSummary, MergeOutcome, MergeStrategy, Scope, StorageError,
    StoredValue, Timestamp, Transaction, Value, Versioned, DEFAULT_BRANCH, DEFAULT_SPACE,
};
use strata_vector::{
    CollectionInfo, MetadataFilter, Metric, SearchMatch, VectorEntry, VectorInput,
};

/// State of the transaction a session has open.
struct OpenTxn {
    txn: Transaction,
}

struct Context {
    branch: String,
    /// The current branch's id and space, shared with the operations that use them
    /// (replaced, not changed, when either changes).
    scope: Arc<Scope>,
    txn: Option<OpenTxn>,
}

impl Context {
    /// Makes (`branch`, `space`) the current scope.
    fn set_scope(&mut self, branch: BranchId, space: &str) {
        self.scope = Arc::new(Scope::new(branch, space));
    }
}

/// Information about a session's open transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnInfo {
    /// Process-unique transaction id.
    pub id: u64,
    /// `"active"` (a transaction is only reported while open).
    pub status: &'static str,
    /// Start time (µs since epoch).
    pub started_at: Timestamp,
    /// Whether writes are refused.
    pub read_only: bool,
}

/// A branch's catalog record with its statistics.
#[derive(Debug, Clone)]
pub struct BranchDetails {
    /// Name, id, parent and fork point.
    pub info: BranchInfo,
    /// Live keys, time range and last version.
    pub stats: BranchStats,
    /// Name of the parent branch, if forked.
    pub parent_name: Option<String>,
}

/// Database-wide figures for `info()`.
#[derive(Debug, Clone)]
pub struct DatabaseInfo {
    /// StrataDB version.
    pub version: &'static str,
    /// Seconds since the engine was opened.
    pub uptime_secs: u64,
    /// Number of branches.
    pub branch_count: usize,
    /// Live keys over all branches (primitive-internal keys included).
    pub total_keys: u64,
}

/// A value written by an operation, and the commit that carried it.
///
/// Inside an explicit transaction the commit does not exist yet, so `version` is
/// `None`; [`Session::commit`] returns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written<T> {
    /// The operation's own result.
    pub value: T,
    /// The commit version, or `None` inside an explicit transaction.
    pub version: Option<CommitVersion>,
}

/// A handle with its own current branch, current space and at most one open
/// transaction. `Send + Sync`: several threads may share one session; operations on it
/// are serialized only while a transaction is open.
pub struct Session {
    strata: Strata,
    ctx: Mutex<Context>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = self.ctx.lock();
        f.debug_struct("Session")
            .field("branch", &c.branch)
            .field("space", &c.scope.space)
            .field("in_transaction", &c.txn.is_some())
            .finish()
    }
}

impl Session {
    pub(crate) fn new(strata: Strata) -> Session {
        let branch_id = strata
            .database()
            .branch_id(DEFAULT_BRANCH)
            .unwrap_or(BranchId(1));
        Session {
            strata,
            ctx: Mutex::new(Context {
                branch: DEFAULT_BRANCH.to_string(),
                scope: Arc::new(Scope::new(branch_id, DEFAULT_SPACE)),
                txn: None,
            }),
        }
    }

    /// The database this session works on.
    pub fn strata(&self) -> &Strata {
        &self.strata
    }

    fn db(&self) -> &Database {
        self.strata.database()
    }

    /// The current scope, checking that the current branch still exists.
    pub fn scope(&self) -> Result<Scope> {
        Ok((*self.scope_of(&self.ctx.lock())?).clone())
    }

    /// The scope of context `c`, checking that its branch still exists.
    fn scope_of(&self, c: &Context) -> Result<Arc<Scope>> {
        // Branch ids are never reused, so the id still existing means the branch
        // does (a branch deleted and created again under the name has a new id).
        if self.db().branch_id_exists(c.scope.branch) {
            Ok(Arc::clone(&c.scope))
        } else {
            Err(Error::NotFound(format!(
                "the current branch {:?} no longer exists; switch to another branch",
                c.branch
            )))
        }
    }

    /// Runs a read: inside the open transaction if any, else on a fresh snapshot.
    pub fn read<T>(&self, f: impl FnOnce(&Transaction, &Scope) -> Result<T>) -> Result<T> {
        let c = self.ctx.lock();
        let scope = self.scope_of(&c)?;
        if let Some(open) = c.txn.as_ref() {
            return f(&open.txn, &scope);
        }
        drop(c);
        let snap = self.db().snapshot();
        f(&snap, &scope)
    }

    /// Runs a write: inside the open transaction if any (version `None`), else in its
    /// own transaction committed at once (retried on conflicts by
    /// [`Database::transact_with`]).
    pub fn write<T>(
        &self,
        mut f: impl FnMut(&mut Transaction, &Scope) -> Result<T>,
    ) -> Result<Written<T>> {
        let mut c = self.ctx.lock();
        let scope = self.scope_of(&c)?;
        if let Some(open) = c.txn.as_mut() {
            let value = f(&mut open.txn, &scope)?;
            return Ok(Written {
                value,
                version: None,
            });
        }
        drop(c);
        let (value, version) = self.db().transact_with(|txn| f(txn, &scope))?;
        Ok(Written {
            value,
            version: Some(version),
        })
    }

    // ------------------------------------------------------------- transactions

    /// Begins a transaction on this session. Fails if one is already open.
    pub fn begin(&self, read_only: bool) -> Result<TxnInfo> {
        let mut c = self.ctx.lock();
        if let Some(open) = &c.txn {
            return Err(Error::Transaction(format!(
                "a transaction is already active on this handle (id {}); commit or roll it back first",
                open.txn.id()
            )));
        }
        let txn = self.db().begin(read_only);
        let info = TxnInfo {
            id: txn.id(),
            status: "active",
            started_at: txn.started_at(),
            read_only,
        };
        c.txn = Some(OpenTxn { txn });
        Ok(info)
    }

    /// Commits the open transaction; returns its commit version (the snapshot version
    /// if it wrote nothing). On a conflict nothing is written and the transaction is
    /// closed.
    pub fn commit(&self) -> Result<CommitVersion> {
        let open =
            self.ctx.lock().txn.take().ok_or_else(|| {
                Error::Transaction("no transaction is active on this handle".into())
            })?;
        Ok(open.txn.commit()?)
    }

    /// Discards the open transaction. Fails if none is open.
    pub fn rollback(&self) -> Result<()> {
        let open =
            self.ctx.lock().txn.take().ok_or_else(|| {
                Error::Transaction("no transaction is active on this handle".into())
            })?;
        open.txn.rollback();
        Ok(())
    }

    /// The open transaction, if any.
    pub fn txn_info(&self) -> Option<TxnInfo> {
        self.ctx.lock().txn.as_ref().map(|o| TxnInfo {
            id: o.txn.id(),
            status: "active",
            started_at: o.txn.started_at(),
            read_only: o.txn.is_read_only(),
        })
    }

    /// Whether a transaction is open.
    pub fn txn_is_active(&self) -> bool {
        self.ctx.lock().txn.is_some()
    }

    // ------------------------------------------------------------- branches

    /// The current branch name.
    pub fn current_branch(&self) -> String {
        self.ctx.lock().branch.clone()
    }

    /// Switches this session to branch `name` (must exist).
    pub fn set_branch(&self, name: &str) -> Result<()> {
        let id = self.db().branch_id(name)?;
        let mut c = self.ctx.lock();
        c.branch = name.to_string();
        let space = if self.db().space_exists(id, &c.scope.space) {
            c.scope.space.clone()
        } else {
            DEFAULT_SPACE.to_string()
        };
        c.set_scope(id, &space);
        Ok(())
    }

    /// Creates an empty branch.
    pub fn create_branch(&self, name: &str) -> Result<()> {
        self.db().create_branch(name)?;
        Ok(())
    }

    /// Branch names, sorted.
    pub fn list_branches(&self) -> Vec<String> {
        self.db().list_branches()
    }

    /// Deletes a branch and its data. Refused for `default`, for this session's
    /// current branch, and for branches that others were forked from.
    pub fn delete_branch(&self, name: &str) -> Result<()> {
        if self.ctx.lock().branch == name {
            return Err(StorageError::NotAllowed(format!(
                "branch {name:?} is the current branch of this handle; switch to another branch before deleting it"
            ))
            .into());
        }
        self.db().delete_branch(name)?;
        Ok(())
    }

    /// Whether a branch exists.
    pub fn branch_exists(&self, name: &str) -> bool {
        self.db().branch_exists(name)
    }

    /// A branch's record and statistics, or `None`.
    pub fn branch_get(&self, name: &str) -> Option<BranchDetails> {
        let info = self.db().branch_info(name)?;
        let stats = self.db().branch_stats(info.id);
        let parent_name = info.parent.and_then(|p| self.db().branch_name(p));
        Some(BranchDetails {
            info,
            stats,
            parent_name,
        })
    }

    /// Forks `source` (the current branch if `None`) into a new branch `dest`,
    /// copy-on-write. Returns the live keys the new branch sees.
    pub fn fork_branch(&self, source: Option<&str>, dest: &str) -> Result<u64> {
        let source = source.map_or_else(|| self.current_branch(), str::to_string);
        Ok(self.db().fork_branch(&source, dest)?.1)
    }

    /// Compares two branches.
    pub fn diff_branches(&self, a: &str, b: &str) -> Result<BranchDiff> {
        Ok(self.db().diff_branches(a, b)?)
    }

    /// Merges `source` into `target` (the current branch if `None`).
    pub fn merge_branches(
        &self,
        source: &str,
        target: Option<&str>,
        strategy: MergeStrategy,
    ) -> Result<MergeOutcome> {
        let target = target.map_or_else(|| self.current_branch(), str::to_string);
        Ok(self.db().merge_branches(source, &target, strategy)?)
    }

    /// Oldest and newest commit timestamps of a branch (current if `None`).
    pub fn time_range(&self, branch: Option<&str>) -> Result<Option<(Timestamp, Timestamp)>> {
        let branch = branch.map_or_else(|| self.current_branch(), str::to_string);
        Ok(self.db().time_range(&branch)?)
    }

    /// Exports a branch to a bundle file.
    pub fn branch_export(&self, branch: &str, path: &std::path::Path) -> Result<ExportSummary> {
        Ok(self.db().export_branch(branch, path)?)
    }

    /// Imports a bundle as a new branch (its recorded name, or `name`).
    pub fn branch_import(
        &self,
        path: &std::path::Path,
        name: Option<&str>,
    ) -> Result<ImportSummary> {
        Ok(self.db().import_branch(path, name)?)
    }

    /// Validates a bundle without importing it.
    pub fn branch_validate_bundle(&self, path: &std::path::Path) -> Result<BundleInfo> {
        Ok(self.db().validate_bundle(path)?)
    }

    // ------------------------------------------------------------- spaces

    /// The current space.
    pub fn current_space(&self) -> String {
        self.ctx.lock().scope.space.clone()
    }

    /// Switches to space `name` on the current branch, creating it if needed.
    pub fn set_space(&self, name: &str) -> Result<()> {
        let id = self.scope()?.branch;
        self.db().create_space(id, name)?;
        let mut c = self.ctx.lock();
        let branch = c.scope.branch;
        c.set_scope(branch, name);
        Ok(())
    }

    /// Creates a space on the current branch (no-op if it exists).
    pub fn space_create(&self, name: &str) -> Result<()> {
        let id = self.scope()?.branch;
        Ok(self.db().create_space(id, name)?)
    }

    /// Spaces of the current branch.
    pub fn list_spaces(&self) -> Result<Vec<String>> {
        Ok(self.db().list_spaces(self.scope()?.branch))
    }

    /// Whether a space exists on the current branch.
    pub fn space_exists(&self, name: &str) -> Result<bool> {
        Ok(self.db().space_exists(self.scope()?.branch, name))
    }

    /// Deletes a space of the current branch: refused unless empty when `force` is
    /// false; with `force` its data in every primitive goes too. The `default` space
    /// cannot be deleted. A session whose current space is deleted moves to `default`.
    pub fn delete_space(&self, name: &str, force: bool) -> Result<()> {
        if name == DEFAULT_SPACE {
            return Err(
                StorageError::NotAllowed("the default space cannot be deleted".into()).into(),
            );
        }
        let id = self.scope()?.branch;
        self.db().delete_space(id, name, force)?;
        let mut c = self.ctx.lock();
        if c.scope.space == name {
            let branch = c.scope.branch;
            c.set_scope(branch, DEFAULT_SPACE);
        }
        Ok(())
    }

    // ------------------------------------------------------------- database

    /// Version, uptime, branch count and total live keys. Cheap.
    pub fn info(&self) -> DatabaseInfo {
        DatabaseInfo {
            version: crate::VERSION,
            uptime_secs: self.db().uptime().as_secs(),
            branch_count: self.db().list_branches().len(),
            total_keys: self.db().total_live_keys(),
        }
    }

    /// Forces everything to disk (and writes vector graph dumps).
    pub fn flush(&self) -> Result<()> {
        self.strata.flush()
    }

    /// Runs a major compaction.
    pub fn compact(&self) -> Result<()> {
        Ok(self.db().compact()?)
    }

    // ------------------------------------------------------------- KV

    /// Stores `value` at `key`.
    pub fn kv_put(&self, key: &str, value: Value) -> Result<Written<()>> {
        let c = self.ctx.lock();
        if c.txn.is_some() {
            drop(c);
            return self.write(|t, s| Ok(strata_kv::put(t, s, key, value.clone())?));
        }
        // A blind write outside a transaction: committed directly, without a
        // transaction's buffer or a copy of the value for retries (it cannot conflict).
        let scope = self.scope_of(&c)?;
        drop(c);
        let version = strata_kv::put_committed(self.db(), &scope, key, value)?;
        Ok(Written {
            value: (),
            version: Some(version),
        })
    }

    /// The value at `key` (as of `as_of` if given).
    pub fn kv_get(&self, key: &str, as_of: Option<Timestamp>) -> Result<Option<Value>> {
        self.read(|t, s| match as_of {
            Some(ts) => Ok(strata_kv::get_as_of(t, s, key, ts)?.map(|v| v.value)),
            None => Ok(strata_kv::get(t, s, key)?),
        })
    }

    /// The value at `key`, left encoded when it comes straight from the stored record
    /// (see [`StoredValue`]); `kv_get` without decoding, for callers that build their
    /// own representation of values.
    pub fn kv_get_value(&self, key: &str) -> Result<Option<StoredValue>> {
        self.read(|t, s| Ok(strata_kv::get_value(t, s, key)?))
    }

    /// A hint that `kv_get(key)` or `kv_put(key, ..)` follows: starts loading the memory where the engine's
    /// cache keeps the key (see [`Database::prefetch_latest`]), so that work done in
    /// between (such as releasing the GIL) overlaps the wait. Cost: a lock of the
    /// session, a key build, a hash and two prefetches; nothing is read.
    pub fn kv_prefetch(&self, key: &str) {
        let c = self.ctx.lock();
        if c.txn.is_none() {
            self.db()
                .prefetch_latest(c.scope.branch, &c.scope.space, tags::KV, key.as_bytes());
        }
    }

    /// The value at `key` with its version and timestamp.
    pub fn kv_get_versioned(&self, key: &str) -> Result<Option<Versioned>> {
        self.read(|t, s| Ok(strata_kv::get_versioned(t, s, key)?))
    }

    /// Deletes `key`; whether it existed.
    pub fn kv_delete(&self, key: &str) -> Result<Written<bool>> {
        self.write(|t, s| Ok(strata_kv::delete(t, s, key)?))
    }

    /// Keys with `prefix`, sorted.
    pub fn kv_list(&self, prefix: Option<&str>) -> Result<Vec<String>> {
        self.read(|t, s| Ok(strata_kv::list(t, s, prefix.unwrap_or(""))?))
    }

    /// One page of keys.
    pub fn kv_list_paginated(
        &self,
        prefix: Option<&str>,
        limit: Option<usize>,
        cursor: Option<&str>,
    ) -> Result<strata_kv::KeyPage> {
        self.read(|t, s| {
            Ok(strata_kv::list_paginated(
                t,
                s,
                prefix.unwrap_or(""),
                limit,
                cursor,
            )?)
        })
    }

    /// History of `key`, newest first.
    pub fn kv_history(&self, key: &str) -> Result<Vec<HistoryEntry>> {
        self.read(|t, s| Ok(strata_kv::history(t, s, key)?))
    }

    // ------------------------------------------------------------- state

    /// Sets a state cell.
    pub fn state_set(&self, cell: &str, value: Value) -> Result<Written<()>> {
        self.write(|t, s| Ok(strata_state::set(t, s, cell, value.clone())?))
    }

    /// A cell's value (as of `as_of` if given).
    pub fn state_get(&self, cell: &str, as_of: Option<Timestamp>) -> Result<Option<Value>> {
        self.read(|t, s| match as_of {
            Some(ts) => Ok(strata_state::get_as_of(t, s, cell, ts)?.map(|v| v.value)),
            None => Ok(strata_state::get(t, s, cell)?),
        })
    }

    /// The value of `cell`, left encoded when it comes straight from the stored record
    /// (see [`StoredValue`]); `state_get` without decoding.
    pub fn state_get_value(&self, cell: &str) -> Result<Option<StoredValue>> {
        self.read(|t, s| Ok(strata_state::get_value(t, s, cell)?))
    }

    /// A cell with its version.
    pub fn state_get_versioned(&self, cell: &str) -> Result<Option<Versioned>> {
        self.read(|t, s| Ok(strata_state::get_versioned(t, s, cell)?))
    }

    /// Creates a cell only if absent.
    pub fn state_init(
        &self,
        cell: &str,
        value: Value,
    ) -> Result<Written<strata_state::InitOutcome>> {
        self.write(|t, s| Ok(strata_state::init(t, s, cell, value.clone())?))
    }

    /// Compare-and-swap on a cell's version.
    pub fn state_cas(
        &self,
        cell: &str,
        new_value: Value,
        expected: Option<CommitVersion>,
    ) -> Result<Written<strata_state::CasOutcome>> {
        self.write(|t, s| Ok(strata_state::cas(t, s, cell, new_value.clone(), expected)?))
    }

    /// Deletes a cell; whether it existed.
    pub fn state_delete(&self, cell: &str) -> Result<Written<bool>> {
        self.write(|t, s| Ok(strata_state::delete(t, s, cell)?))
    }

    /// Cell names with `prefix`.
    pub fn state_list(&self, prefix: Option<&str>) -> Result<Vec<String>> {
        self.read(|t, s| Ok(strata_state::list(t, s, prefix.unwrap_or(""))?))
    }

    /// History of a cell, newest first.
    pub fn state_history(&self, cell: &str) -> Result<Vec<HistoryEntry>> {
        self.read(|t, s| Ok(strata_state::history(t, s, cell)?))
    }

    // ------------------------------------------------------------- events

    /// Appends an event; returns its sequence number (dense from 0 per branch/space).
    pub fn event_append(&self, event_type: &str, payload: Value) -> Result<Written<u64>> {
        self.write(|t, s| Ok(strata_events::append(t, s, event_type, payload.clone())?))
    }

    /// The event at `seq` (as of `as_of` if given).
    pub fn event_get(
        &self,
        seq: u64,
        as_of: Option<Timestamp>,
    ) -> Result<Option<strata_events::Event>> {
        self.read(|t, s| match as_of {
            Some(ts) => Ok(strata_events::get_as_of(t, s, seq, ts)?),
            None => Ok(strata_events::get(t, s, seq)?),
        })
    }

    /// Events of a type, in sequence order, after `after` (exclusive), at most `limit`.
    pub fn event_list(
        &self,
        event_type: &str,
        limit: Option<usize>,
        after: Option<u64>,
    ) -> Result<Vec<strata_events::Event>> {
        self.read(|t, s| {
            if limit.is_none() && after.is_none() {
                Ok(strata_events::list(t, s, event_type)?)
            } else {
                Ok(strata_events::list_paginated(
                    t, s, event_type, limit, after,
                )?)
            }
        })
    }

    /// Number of events in the current branch and space.
    pub fn event_len(&self) -> Result<u64> {
        self.read(|t, s| Ok(strata_events::len(t, s)?))
    }

    /// Verifies the hash chain of the event log.
    pub fn event_verify(&self) -> Result<strata_events::VerifyReport> {
        self.read(|t, s| Ok(strata_events::verify(t, s)?))
    }

    // ------------------------------------------------------------- JSON

    /// Sets the value at `path` in document `key`.
    pub fn json_set(&self, key: &str, path: &str, value: Value) -> Result<Written<()>> {
        let c = self.ctx.lock();
        if c.txn.is_some() || path != "$" {
            drop(c);
            return self
                .write(|t, s| Ok(strata_json::JsonStore::set(t, s, key, path, value.clone())?));
        }
        // The whole document outside a transaction: a blind write, committed directly
        // (as `kv_put`), without a copy of the document kept for retries.
        let scope = self.scope_of(&c)?;
        drop(c);
        let version = strata_json::JsonStore::set_root_committed(self.db(), &scope, key, value)?;
        Ok(Written {
            value: (),
            version: Some(version),
        })
    }

    /// The value at `path` (as of `as_of` if given).
    pub fn json_get(
        &self,
        key: &str,
        path: &str,
        as_of: Option<Timestamp>,
    ) -> Result<Option<Value>> {
        self.read(|t, s| match as_of {
            Some(ts) => Ok(strata_json::JsonStore::get_as_of(t, s, key, path, ts)?),
            None => Ok(strata_json::JsonStore::get(t, s, key, path)?),
        })
    }

    /// Deletes at `path`; number of elements removed.
    pub fn json_delete(&self, key: &str, path: &str) -> Result<Written<usize>> {
        self.write(|t, s| Ok(strata_json::JsonStore::delete(t, s, key, path)?))
    }

    /// The whole document with its version.
    pub fn json_get_versioned(&self, key: &str) -> Result<Option<Versioned>> {
        self.read(|t, s| Ok(strata_json::JsonStore::get_versioned(t, s, key)?))
    }

    /// History of a document, newest first.
    pub fn json_history(&self, key: &str) -> Result<Vec<HistoryEntry>> {
        self.read(|t, s| Ok(strata_json::JsonStore::history(t, s, key)?))
    }

    /// One page of document keys.
    pub fn json_list(
        &self,
        limit: usize,
        prefix: Option<&str>,
        cursor: Option<&str>,
    ) -> Result<(Vec<String>, Option<String>)> {
        self.read(|t, s| {
            Ok(strata_json::JsonStore::list(
                t,
                s,
                prefix.unwrap_or(""),
                limit,
                cursor,
            )?)
        })
    }

    // ------------------------------------------------------------- vectors

    /// Creates a collection.
    pub fn vector_create_collection(
        &self,
        name: &str,
        dimension: usize,
        metric: Option<&str>,
    ) -> Result<Written<()>> {
        let metric: Metric = match metric {
            Some(m) => m.parse()?,
            None => Metric::default(),
        };
        let v = self.strata.vectors();
        self.write(|t, s| Ok(v.create_collection(t, s, name, dimension, metric)?))
    }

    /// Deletes a collection; whether it existed.
    pub fn vector_delete_collection(&self, name: &str) -> Result<Written<bool>> {
        let v = self.strata.vectors();
        self.write(|t, s| Ok(v.delete_collection(t, s, name)?))
    }

    /// All collections with their statistics.
    pub fn vector_list_collections(&self) -> Result<Vec<CollectionInfo>> {
        let v = self.strata.vectors();
        self.read(|t, s| Ok(v.list_collections(t, s)?))
    }

    /// One collection's statistics.
    pub fn vector_collection_stats(&self, name: &str) -> Result<CollectionInfo> {
        let v = self.strata.vectors();
        self.read(|t, s| Ok(v.collection_stats(t, s, name)?))
    }

    /// Inserts or replaces a vector.
    pub fn vector_upsert(
        &self,
        collection: &str,
        key: &str,
        vector: &[f32],
        metadata: Option<Value>,
    ) -> Result<Written<()>> {
        let v = self.strata.vectors();
        self.write(|t, s| Ok(v.upsert(t, s, collection, key, vector, metadata.clone())?))
    }

    /// Inserts or replaces many vectors in one commit.
    pub fn vector_batch_upsert(
        &self,
        collection: &str,
        items: Vec<VectorInput>,
    ) -> Result<Written<usize>> {
        let v = self.strata.vectors();
        self.write(|t, s| Ok(v.batch_upsert(t, s, collection, items.clone())?))
    }

    /// A stored vector.
    pub fn vector_get(&self, collection: &str, key: &str) -> Result<Option<VectorEntry>> {
        let v = self.strata.vectors();
        self.read(|t, s| Ok(v.get(t, s, collection, key)?))
    }

    /// Deletes a vector; whether it existed.
    pub fn vector_delete(&self, collection: &str, key: &str) -> Result<Written<bool>> {
        let v = self.strata.vectors();
        self.write(|t, s| Ok(v.delete(t, s, collection, key)?))
    }

    /// Nearest vectors to `query`, best first.
    pub fn vector_search(
        &self,
        collection: &str,
        query: &[f32],
        k: usize,
        filter: Option<&MetadataFilter>,
        metric: Option<&str>,
        as_of: Option<Timestamp>,
    ) -> Result<Vec<SearchMatch>> {
        let metric: Option<Metric> = metric.map(str::parse).transpose()?;
        let v = self.strata.vectors();
        self.read(|t, s| match as_of {
            Some(ts) => Ok(v.search_as_of(t, s, collection, query, k, filter, metric, ts)?),
            None => Ok(v.search(t, s, collection, query, k, filter, metric)?),
        })
    }

    // ------------------------------------------------------------- search

    /// Searches the current branch and space across primitives.
    pub fn search(&self, request: &SearchRequest) -> Result<Vec<SearchHit>> {
        let scope = self.scope()?;
        Ok(self
            .strata
            .search_index()
            .search(self.db(), &scope, request)?)
    }

    /// Current wall-clock time in µs (for `as_of` arguments).
    pub fn now(&self) -> Timestamp {
        now_micros()
    }
}
