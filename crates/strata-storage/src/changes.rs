//! Public access to the per-branch change log, for derived indexes that persist their
//! own state and catch up with the commits made after it (the search service's
//! keyword dumps).

use crate::catalog;
use crate::engine::Database;
use crate::error::{Result, StorageError};
use crate::store::{BranchId, CommitVersion, PrimitiveTag, Timestamp};
use crate::value::Value;

impl Database {
    /// The keys written on `branch` itself (not inherited from the branch it was
    /// forked from) by commits with version in `(after, upto]`, as `(space, tag, key)`
    /// in commit order; a key written several times appears several times, deletes
    /// included. Empty when `after >= upto`.
    ///
    /// Cost: one range scan of the branch's change log, proportional to the writes in
    /// the range and independent of the branch's size. The log lives as long as the
    /// branch (deleting the branch deletes it); physically removed spaces
    /// (`delete_space` with `force` on an unshared branch) leave no entries.
    pub fn changed_keys(
        &self,
        branch: BranchId,
        after: CommitVersion,
        upto: CommitVersion,
    ) -> Result<Vec<(String, PrimitiveTag, Vec<u8>)>> {
        self.changes_between(branch, after, upto)
    }

    /// When `space` was created on `branch` (µs since the epoch; a fork's spaces are
    /// created with the fork), or `None` if the catalog has no record of it. A space
    /// deleted and created again gets a new time, so derived data can tell the two
    /// apart. Cost: one point read of the catalog.
    pub fn space_created_at(&self, branch: BranchId, space: &str) -> Result<Option<Timestamp>> {
        let Some(bytes) = self.inner.meta()?.get(catalog::space_key(branch, space))? else {
            return Ok(None);
        };
        match Value::decode(&bytes)? {
            Value::Int(ts) => Ok(Some(ts as Timestamp)),
            _ => Err(StorageError::corrupt(
                "space catalog",
                "creation time is not an integer",
            )),
        }
    }
}
