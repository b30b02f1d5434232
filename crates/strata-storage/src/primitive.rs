//! How primitives plug into the engine: a tag for their key space, and an optional hook
//! that sees every committed change (used by search and vector indexes).

use crate::store::{BranchId, CommitVersion, PrimitiveTag, Scope, Timestamp};
use crate::value::Value;
use crate::{Result, StorageError};
use std::collections::BTreeMap;

/// Tags of the built-in primitives. Third-party primitives should pick tags >= 64.
pub mod tags {
    use crate::store::PrimitiveTag;
    /// Key-value store.
    pub const KV: PrimitiveTag = PrimitiveTag(1);
    /// State cells.
    pub const STATE: PrimitiveTag = PrimitiveTag(2);
    /// Event log.
    pub const EVENTS: PrimitiveTag = PrimitiveTag(3);
    /// JSON documents.
    pub const JSON: PrimitiveTag = PrimitiveTag(4);
    /// Vector collections.
    pub const VECTOR: PrimitiveTag = PrimitiveTag(5);
}

/// One key written by a commit.
#[derive(Debug, Clone)]
pub struct ChangedKey {
    /// Branch and space of the key.
    pub scope: Scope,
    /// Owning primitive.
    pub tag: PrimitiveTag,
    /// The primitive's raw key.
    pub key: Vec<u8>,
    /// The new value, or `None` for a delete.
    pub value: Option<Value>,
}

/// Everything one commit changed, delivered to observers in commit order.
#[derive(Debug, Clone)]
pub struct CommittedChange {
    /// The commit's version.
    pub version: CommitVersion,
    /// The commit's timestamp (µs since epoch).
    pub timestamp: Timestamp,
    /// The keys written, in write order (last write per key only).
    pub writes: Vec<ChangedKey>,
}

/// Structural changes that are not ordinary commits; derived indexes should drop or
/// rebuild what they hold for the named branch/space.
#[derive(Debug, Clone)]
pub enum CatalogEvent {
    /// A branch was created by forking `parent`.
    Forked {
        /// The source branch.
        parent: BranchId,
        /// The new branch.
        child: BranchId,
    },
    /// A branch and all its data were deleted.
    BranchDeleted(BranchId),
    /// A space's data is about to be removed physically (`delete_space` with `force`
    /// on a branch no fork shares): the removal writes no change-log entries, so
    /// derived state persisted for the space must be dropped now, before a crash in
    /// the middle of the removal could leave it describing keys that are gone.
    /// [`CatalogEvent::SpaceDeleted`] follows when the deletion completes.
    SpaceDeleting(Scope),
    /// A space was deleted with all its data.
    SpaceDeleted(Scope),
    /// A branch was filled wholesale (bundle import).
    BranchImported(BranchId),
}

/// A hook that sees every commit after it is durable in the engine's sense (written to
/// the journal), in commit order. Called while the commit lock is held: keep it fast
/// and never call back into the database from it.
pub trait CommitObserver: Send + Sync {
    /// Called once per commit.
    fn on_commit(&self, change: &CommittedChange);
    /// Called on structural changes. Default: ignore.
    fn on_catalog_event(&self, _event: &CatalogEvent) {}
}

/// What a primitive declares to register itself with the engine.
pub trait Primitive: Send + Sync {
    /// The primitive's user-facing name (`"kv"`, `"json"`, ...).
    fn name(&self) -> &'static str;
    /// The key-space tag it owns.
    fn tag(&self) -> PrimitiveTag;
    /// Renders a raw key for users (diffs, summaries); `None` marks an internal key
    /// (indexes, counters) that is merged and exported but not listed.
    fn display_key(&self, key: &[u8]) -> Option<String> {
        String::from_utf8(key.to_vec()).ok()
    }
}

/// The set of registered primitives, checked for tag and name collisions.
#[derive(Default)]
pub struct PrimitiveRegistry {
    by_tag: BTreeMap<u8, Box<dyn Primitive>>,
}

impl PrimitiveRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a primitive; fails if its tag or name is already taken.
    pub fn register(&mut self, p: Box<dyn Primitive>) -> Result<()> {
        if self.by_tag.contains_key(&p.tag().0) || self.by_name(p.name()).is_some() {
            return Err(StorageError::AlreadyExists(format!(
                "primitive {:?} (tag {}) is already registered",
                p.name(),
                p.tag().0
            )));
        }
        self.by_tag.insert(p.tag().0, p);
        Ok(())
    }

    /// The primitive owning `tag`, if registered.
    pub fn by_tag(&self, tag: PrimitiveTag) -> Option<&dyn Primitive> {
        self.by_tag.get(&tag.0).map(|b| b.as_ref())
    }

    /// The primitive called `name`, if registered.
    pub fn by_name(&self, name: &str) -> Option<&dyn Primitive> {
        self.by_tag
            .values()
            .find(|p| p.name() == name)
            .map(|b| b.as_ref())
    }

    /// All registered primitives in tag order.
    pub fn iter(&self) -> impl Iterator<Item = &dyn Primitive> {
        self.by_tag.values().map(|b| b.as_ref())
    }
}
