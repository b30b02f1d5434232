"""StrataDB: an embedded multi-model database for AI agents.

>>> from stratadb import Strata
>>> with Strata.cache() as db:
...     _ = db.kv_put("greeting", "Hello, World!")
...     print(db.kv_get("greeting"))
Hello, World!

Every database error is a ``StrataError`` (a ``RuntimeError``); the subclasses below
name the common kinds, and ``err.code`` holds the engine's stable error code.
"""

from ._stratadb import (
    ClosedError,
    ConflictError,
    InvalidInputError,
    LockedError,
    NotFoundError,
    Strata,
    StrataError,
    __version__,
)

__all__ = [
    "Strata",
    "StrataError",
    "NotFoundError",
    "ConflictError",
    "InvalidInputError",
    "ClosedError",
    "LockedError",
    "__version__",
]
