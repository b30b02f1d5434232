"""Types of the values ``stratadb`` accepts and of the dicts its methods return.

Use them to annotate your own code::

    from stratadb import Strata
    from stratadb.types import SearchHit

    def best(db: Strata, q: str) -> SearchHit:
        return db.search(q, k=1)[0]

Every dict shape here is a ``TypedDict`` (plain ``dict`` objects at runtime).
"""

from typing import TYPE_CHECKING, Any, List, Mapping, Optional, Sequence, TypedDict, Union

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "Value",
    "VectorLike",
    "Versioned",
    "HistoryEntry",
    "KeyPage",
    "Event",
    "EventVerification",
    "CollectionInfo",
    "VectorEntry",
    "VectorMatch",
    "VectorItem",
    "FilterCondition",
    "ForkResult",
    "DiffKey",
    "DiffSummary",
    "BranchDiff",
    "MergeResult",
    "BranchInfo",
    "TimeRange",
    "TimeRangeFilter",
    "ExportResult",
    "ImportResult",
    "BundleValidation",
    "TxnInfo",
    "SearchHit",
    "DatabaseInfo",
]

#: What can be stored: ``None``, ``bool``, ``int`` (64-bit), ``float``, ``str``,
#: ``bytes``/``bytearray``, sequences (read back as ``list``) and mappings with ``str``
#: keys (read back as ``dict``), nested up to 256 levels.
Value = Union[
    None, bool, int, float, str, bytes, bytearray, Sequence["Value"], Mapping[str, "Value"]
]

#: A vector: a 1-D NumPy array (float32 is read without copying) or numbers.
VectorLike = Union["npt.NDArray[Any]", Sequence[float]]


class Versioned(TypedDict):
    """A value with the commit that wrote it (``*_get_versioned``)."""

    value: Any
    version: int
    #: Commit time, microseconds since the Unix epoch.
    timestamp: int


class HistoryEntry(TypedDict):
    """One version of a key (``*_history``, newest first); ``value`` is None for a delete."""

    value: Any
    version: int
    timestamp: int


class KeyPage(TypedDict):
    """One page of keys; pass ``cursor`` back for the next page (None on the last)."""

    keys: List[str]
    cursor: Optional[str]


class Event(TypedDict):
    """An event of the log (``event_get``, ``event_list``); ``value`` is the payload."""

    value: Any
    version: int
    timestamp: int
    sequence: int
    event_type: str


class EventVerification(TypedDict):
    """What ``event_verify`` found."""

    intact: bool
    checked: int
    first_broken: Optional[int]
    reason: Optional[str]


class CollectionInfo(TypedDict):
    """A vector collection (``vector_list_collections``, ``vector_collection_stats``)."""

    name: str
    dimension: int
    #: "cosine", "euclidean" or "dot_product".
    metric: str
    count: int
    #: "flat" (exact) or "hnsw".
    index_type: str
    memory_bytes: int


class VectorEntry(TypedDict):
    """A stored vector (``vector_get``)."""

    key: str
    embedding: "npt.NDArray[np.float32]"
    metadata: Any
    version: int
    timestamp: int


class VectorMatch(TypedDict):
    """A ``vector_search`` result; higher ``score`` is more similar."""

    key: str
    score: float
    metadata: Any


class _VectorItemRequired(TypedDict):
    key: str
    vector: VectorLike


class VectorItem(_VectorItemRequired, total=False):
    """One item of ``vector_batch_upsert``."""

    metadata: Optional[Mapping[str, Value]]


class FilterCondition(TypedDict):
    """A metadata filter condition; ``op`` is eq, ne, gt, gte, lt, lte, in or contains."""

    field: str
    op: str
    value: Value


class ForkResult(TypedDict):
    """What ``fork_branch`` / ``branch_fork`` did."""

    source: str
    destination: str
    keys_copied: int


class DiffKey(TypedDict):
    """A key that differs between branches or conflicted in a merge."""

    space: str
    #: "kv", "state", "event", "json" or "vector".
    primitive: str
    key: str


class DiffSummary(TypedDict):
    total_added: int
    total_removed: int
    total_modified: int


class BranchDiff(TypedDict):
    """``diff_branches(a, b)``: added = only on b, removed = only on a."""

    branch_a: str
    branch_b: str
    summary: DiffSummary
    added: List[DiffKey]
    removed: List[DiffKey]
    modified: List[DiffKey]


class MergeResult(TypedDict):
    """What ``merge_branches`` / ``branch_merge`` did."""

    source: str
    target: str
    strategy: str
    keys_applied: int
    conflicts: List[DiffKey]
    version: int


class BranchInfo(TypedDict):
    """``branch_get``: ``parent``/``fork_version`` are None unless forked."""

    name: str
    created_at: int
    version: int
    parent: Optional[str]
    fork_version: Optional[int]
    live_keys: int


class TimeRange(TypedDict):
    """``time_range``: microseconds since the Unix epoch."""

    oldest_ts: int
    latest_ts: int


class TimeRangeFilter(TypedDict, total=False):
    """``search(time_range=...)``: ISO 8601 strings (or microseconds since the epoch)."""

    start: Union[str, int]
    end: Union[str, int]


class ExportResult(TypedDict):
    branch: str
    path: str
    entry_count: int
    key_count: int
    bytes: int


class ImportResult(TypedDict):
    #: The new branch's name.
    branch_id: str
    entry_count: int
    key_count: int


class _BundleValidationRequired(TypedDict):
    checksums_valid: bool
    branch: Optional[str]
    format_version: Optional[int]
    entry_count: Optional[int]
    key_count: Optional[int]


class BundleValidation(_BundleValidationRequired, total=False):
    """``branch_validate_bundle``: ``error`` is present when the checksums are bad."""

    error: str


class TxnInfo(TypedDict):
    """``txn_info``: ``status`` is "active"; ``started_at`` in microseconds."""

    id: int
    status: str
    started_at: int
    read_only: bool


class SearchHit(TypedDict):
    """A ``search`` result; ``rank`` starts at 1."""

    entity: str
    primitive: str
    score: float
    rank: int
    snippet: str


class DatabaseInfo(TypedDict):
    """``info()``."""

    version: str
    uptime_secs: int
    branch_count: int
    total_keys: int
