"""StrataDB: an embedded multi-model database for AI agents.

>>> from stratadb import Strata
>>> with Strata.cache() as db:
...     _ = db.kv_put("greeting", "Hello, World!")
...     print(db.kv_get("greeting"))
Hello, World!

One ``Strata`` handle gives key-value pairs (``kv_*``), state cells (``state_*``), an
event log (``event_*``), JSON documents (``json_*``), vector collections
(``vector_*``), cross-primitive ``search``, branches, spaces and transactions. The
dict shapes methods return are described in ``stratadb.types``.

Every database error is a ``StrataError`` (a ``RuntimeError``); the subclasses below
name the common kinds, and ``err.code`` holds the engine's stable error code.
``python -m stratadb [PATH]`` prints the version, or a summary of a database.
"""

from ._stratadb import (
    ClosedError,
    ConflictError,
    InvalidInputError,
    LockedError,
    NotFoundError,
    Strata,
    StrataError,
    Transaction,
    TransactionError,
    __version__,
)

__all__ = [
    "Strata",
    "Transaction",
    "StrataError",
    "NotFoundError",
    "ConflictError",
    "InvalidInputError",
    "ClosedError",
    "LockedError",
    "TransactionError",
    "__version__",
]
