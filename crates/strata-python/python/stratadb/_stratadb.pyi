"""Type stubs for the native module. Keep in sync with src/*.rs (checked by stubtest).

The dict shapes are ``TypedDict``s from ``stratadb.types``. Values read back are typed
``Any`` (a stored value: None, bool, int, float, str, bytes, list or dict).
"""

import os
from types import TracebackType
from typing import Any, Callable, List, Optional, Sequence, Type, Union, final

import numpy as np
import numpy.typing as npt

from .types import (
    BranchDiff,
    BranchInfo,
    BundleValidation,
    CollectionInfo,
    DatabaseInfo,
    Event,
    EventVerification,
    ExportResult,
    FilterCondition,
    ForkResult,
    HistoryEntry,
    ImportResult,
    KeyPage,
    MergeResult,
    SearchHit,
    TimeRangeFilter,
    TimeRange,
    TxnInfo,
    Value,
    VectorEntry,
    VectorItem,
    VectorLike,
    VectorMatch,
    Versioned,
)

__all__ = [
    "ClosedError",
    "ConflictError",
    "InvalidInputError",
    "LockedError",
    "NotFoundError",
    "Strata",
    "StrataError",
    "Transaction",
    "TransactionError",
    "__version__",
]

__version__: str

_Path = Union[str, "os.PathLike[str]"]
_Embed = Callable[[List[str]], Union["npt.NDArray[Any]", Sequence[Sequence[float]]]]
_Expand = Callable[[str], Sequence[str]]
_Rerank = Callable[[str, List[str]], Union["npt.NDArray[Any]", Sequence[float]]]

class StrataError(RuntimeError):
    """Base class of every StrataDB error (a RuntimeError). `.code` holds the stable error code."""

    code: str

class NotFoundError(StrataError):
    """Something named does not exist (a parent directory, branch, space, collection)."""

class ConflictError(StrataError):
    """A transaction conflicted with a concurrent commit; retry it."""

class InvalidInputError(StrataError):
    """An argument the database refuses: a value it cannot store, a bad option or path."""

class ClosedError(StrataError):
    """The database handle was closed (or was opened before this process was forked)."""

class LockedError(StrataError):
    """The database directory is held by another process."""

class TransactionError(StrataError):
    """Misuse of transactions: begin() while one is active, commit()/rollback() without one."""

@final
class Transaction:
    """`with db.transaction():` commits on success, rolls back on an exception."""

    @property
    def read_only(self) -> bool: ...
    def __enter__(self) -> Strata: ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]] = None,
        _exc_value: Optional[BaseException] = None,
        _traceback: Optional[TracebackType] = None,
    ) -> bool: ...

@final
class Strata:
    """A StrataDB database handle: `Strata.open(path)` or `Strata.cache()`.

    Safe to share between threads. It does not survive `os.fork()`: in the child every
    call raises ClosedError (open the database again there; the parent keeps it).
    """

    # lifecycle
    @staticmethod
    def open(path: _Path, *, durability: str = ...) -> Strata:
        """Open (creating if needed) the database in directory `path`."""
    @staticmethod
    def cache() -> Strata:
        """A throwaway database, deleted on close."""
    def close(self) -> None:
        """Close the handle (flushes; deletes a cache database)."""
    def __enter__(self) -> Strata: ...
    def __exit__(
        self,
        _exc_type: Optional[Type[BaseException]] = None,
        _exc_value: Optional[BaseException] = None,
        _traceback: Optional[TracebackType] = None,
    ) -> bool: ...

    # KV
    def kv_put(self, key: str, value: Value) -> int:
        """Store `value` under `key`; return the version (0 inside a transaction)."""
    def kv_get(self, key: str, as_of: Optional[int] = None) -> Any:
        """The value under `key` (as of `as_of` µs), or None."""
    def kv_delete(self, key: str) -> bool:
        """Delete `key`; True if it existed."""
    def kv_list(self, prefix: Optional[str] = None) -> List[str]:
        """Keys (sorted), optionally with `prefix`."""
    def kv_list_paginated(
        self, prefix: Optional[str] = None, limit: Optional[int] = None, cursor: Optional[str] = None
    ) -> KeyPage:
        """One page of keys: {"keys", "cursor"}."""
    def kv_history(self, key: str) -> Optional[List[HistoryEntry]]:
        """History newest first, or None if the key was never written."""
    def kv_get_versioned(self, key: str) -> Optional[Versioned]:
        """{"value", "version", "timestamp"} or None."""

    # state cells
    def state_set(self, cell: str, value: Value) -> int:
        """Set a state cell; return the version."""
    def state_get(self, cell: str, as_of: Optional[int] = None) -> Any:
        """A cell's value (as of `as_of` µs), or None."""
    def state_init(self, cell: str, value: Value) -> int:
        """Create the cell if absent; return the new or the existing version."""
    def state_cas(
        self,
        cell: str,
        new_value: Value,
        expected_version: Optional[int] = None,
        *,
        expected: Optional[int] = None,
    ) -> Optional[int]:
        """Compare-and-swap on the version; the new version, or None on a mismatch."""
    def state_delete(self, cell: str) -> bool:
        """Delete a cell; True if it existed."""
    def state_list(self, prefix: Optional[str] = None) -> List[str]:
        """Cell names (sorted), optionally with `prefix`."""
    def state_history(self, cell: str) -> Optional[List[HistoryEntry]]:
        """History newest first, or None if never written."""
    def state_get_versioned(self, cell: str) -> Optional[Versioned]:
        """{"value", "version", "timestamp"} or None."""

    # events
    def event_append(self, event_type: str, payload: Value) -> int:
        """Append an event; return its sequence number."""
    def event_get(self, sequence: int, as_of: Optional[int] = None) -> Optional[Event]:
        """An event by sequence number, or None."""
    def event_list(
        self, event_type: str, limit: Optional[int] = None, after: Optional[int] = None
    ) -> List[Event]:
        """Events of a type in sequence order."""
    def event_list_paginated(
        self, event_type: str, limit: Optional[int] = None, after: Optional[int] = None
    ) -> List[Event]:
        """One page of events of a type."""
    def event_len(self) -> int:
        """Number of events in the current branch and space."""
    def event_verify(self) -> EventVerification:
        """Check the event log's hash chain."""

    # JSON
    def json_set(self, key: str, path: str, value: Value) -> int:
        """Set the value at JSONPath `path`; return the version."""
    def json_get(self, key: str, path: str, as_of: Optional[int] = None) -> Any:
        """The value at JSONPath `path`, or None."""
    def json_delete(self, key: str, path: str) -> int:
        """Delete at `path`; return the number of elements removed."""
    def json_list(
        self, limit: int, prefix: Optional[str] = None, cursor: Optional[str] = None
    ) -> KeyPage:
        """One page of document keys: {"keys", "cursor"}."""
    def json_history(self, key: str) -> Optional[List[HistoryEntry]]:
        """Document history newest first, or None."""
    def json_get_versioned(self, key: str) -> Optional[Versioned]:
        """The document with its version, or None."""

    # vectors
    def vector_create_collection(
        self, collection: str, dimension: int, metric: Optional[str] = None
    ) -> int:
        """Create a collection ("cosine", "euclidean" or "dot_product")."""
    def vector_delete_collection(self, collection: str) -> bool:
        """Delete a collection; True if it existed."""
    def vector_list_collections(self) -> List[CollectionInfo]:
        """All collections with their statistics."""
    def vector_collection_stats(self, collection: str) -> CollectionInfo:
        """One collection's statistics."""
    def vector_upsert(
        self,
        collection: str,
        key: str,
        vector: VectorLike,
        metadata: Optional[Value] = None,
    ) -> int:
        """Insert or replace a vector; return the version."""
    def vector_batch_upsert(self, collection: str, vectors: Sequence[VectorItem]) -> List[int]:
        """Insert or replace many vectors in one commit; one version per item."""
    def vector_get(self, collection: str, key: str) -> Optional[VectorEntry]:
        """A stored vector (embedding as float32 ndarray), or None."""
    def vector_delete(self, collection: str, key: str) -> bool:
        """Delete a vector; True if it existed."""
    def vector_search(
        self,
        collection: str,
        query: VectorLike,
        k: int,
        as_of: Optional[int] = None,
        metric: Optional[str] = None,
        filters: Optional[Sequence[FilterCondition]] = None,
    ) -> List[VectorMatch]:
        """The k most similar vectors, best first."""
    def vector_search_filtered(
        self,
        collection: str,
        query: VectorLike,
        k: int,
        metric: Optional[str] = None,
        filter: Optional[Sequence[FilterCondition]] = None,
    ) -> List[VectorMatch]:
        """vector_search with a metric override and a metadata filter."""

    # branches
    def current_branch(self) -> str:
        """This handle's current branch."""
    def set_branch(self, branch: str) -> None:
        """Switch to an existing branch."""
    def create_branch(self, branch: str) -> None:
        """Create an empty branch."""
    def list_branches(self) -> List[str]:
        """All branch names."""
    def delete_branch(self, branch: str) -> None:
        """Delete a branch and its data."""
    def branch_exists(self, name: str) -> bool:
        """Whether a branch exists."""
    def branch_get(self, name: str) -> Optional[BranchInfo]:
        """Branch metadata, or None."""
    def fork_branch(self, destination: str) -> ForkResult:
        """Fork the current branch into a new one."""
    def diff_branches(self, branch_a: str, branch_b: str) -> BranchDiff:
        """Compare two branches."""
    def merge_branches(self, source: str, strategy: Optional[str] = None) -> MergeResult:
        """Merge `source` into the current branch."""
    def time_range(self, branch: Optional[str] = None) -> Optional[TimeRange]:
        """The branch's time-travel window, or None if it has no data."""
    def branch_export(self, branch: str, path: _Path) -> ExportResult:
        """Export a branch to a bundle file."""
    def branch_import(self, path: _Path, name: Optional[str] = None) -> ImportResult:
        """Import a bundle file as a new branch."""
    def branch_validate_bundle(self, path: _Path) -> BundleValidation:
        """Check a bundle file without importing it."""

    # spaces
    def current_space(self) -> str:
        """This handle's current space."""
    def set_space(self, space: str) -> None:
        """Switch to a space (created if needed)."""
    def list_spaces(self) -> List[str]:
        """Spaces of the current branch."""
    def delete_space(self, space: str) -> None:
        """Delete an empty space."""
    def delete_space_force(self, space: str) -> None:
        """Delete a space with all its data."""
    def space_create(self, space: str) -> None:
        """Create a space without switching to it."""
    def space_exists(self, space: str) -> bool:
        """Whether a space exists on the current branch."""

    # transactions
    def transaction(self, read_only: bool = False) -> Transaction:
        """A context manager: commit on success, roll back on an exception."""
    def begin(self, read_only: Optional[bool] = None) -> None:
        """Begin a transaction on this handle."""
    def commit(self) -> int:
        """Commit; return the commit version."""
    def rollback(self) -> None:
        """Discard the active transaction."""
    def txn_info(self) -> Optional[TxnInfo]:
        """The active transaction, or None."""
    def txn_is_active(self) -> bool:
        """Whether a transaction is active on this handle."""

    # search
    def search(
        self,
        query: str,
        k: Optional[int] = None,
        primitives: Optional[Sequence[str]] = None,
        time_range: Optional[TimeRangeFilter] = None,
        mode: Optional[str] = None,
        expand: Optional[bool] = None,
        rerank: Optional[bool] = None,
    ) -> List[SearchHit]:
        """Search across primitives."""
    def configure_model(
        self,
        embed: Optional[_Embed] = None,
        expand: Optional[_Expand] = None,
        rerank: Optional[_Rerank] = None,
    ) -> None:
        """Plug Python callables into search; no arguments clears them."""

    # database
    def ping(self) -> str:
        """The version string."""
    def info(self) -> DatabaseInfo:
        """Version, uptime, branch count, total keys."""
    def flush(self) -> None:
        """Force every write to disk (fsync) and save the derived indexes (vector
        graphs, keyword indexes) so the next open loads them instead of rebuilding."""
    def compact(self) -> None:
        """Run a major compaction."""

    # README-variant aliases
    def branch_create(self, name: str) -> None:
        """Alias of create_branch."""
    def branch_list(self) -> List[str]:
        """Alias of list_branches."""
    def branch_delete(self, name: str) -> None:
        """Alias of delete_branch."""
    def branch_fork(self, source: str, dest: str) -> ForkResult:
        """Fork branch `source` into `dest`."""
    def branch_diff(self, a: str, b: str) -> BranchDiff:
        """Alias of diff_branches."""
    def branch_merge(
        self, source: str, target: str, strategy: Optional[str] = None
    ) -> MergeResult:
        """Merge `source` into `target`."""
    def branch_use(self, name: str) -> None:
        """Alias of set_branch."""
    def space_list(self) -> List[str]:
        """Alias of list_spaces."""
    def space_delete(self, name: str) -> None:
        """Alias of delete_space."""
    def space_use(self, name: str) -> None:
        """Alias of set_space."""
    def in_transaction(self) -> bool:
        """Alias of txn_is_active."""
