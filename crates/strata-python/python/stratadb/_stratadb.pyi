"""Type stubs for the native module. Keep in sync with src/*.rs (checked by stubtest)."""

import os
from types import TracebackType
from typing import Dict, List, Optional, Type, Union, final

__all__ = [
    "ClosedError",
    "ConflictError",
    "InvalidInputError",
    "LockedError",
    "NotFoundError",
    "Strata",
    "StrataError",
    "__version__",
]

__version__: str

# What a value can be when stored; reads return lists for tuples and bytes for bytearrays.
_Value = Union[
    None, bool, int, float, str, bytes, bytearray, List["_Value"], tuple, Dict[str, "_Value"]
]

class StrataError(RuntimeError):
    code: str

class NotFoundError(StrataError): ...
class ConflictError(StrataError): ...
class InvalidInputError(StrataError): ...
class ClosedError(StrataError): ...
class LockedError(StrataError): ...

@final
class Strata:
    @staticmethod
    def open(path: Union[str, "os.PathLike[str]"], *, durability: str = ...) -> Strata: ...
    @staticmethod
    def cache() -> Strata: ...
    def kv_put(self, key: str, value: _Value) -> int: ...
    def kv_get(self, key: str, as_of: Optional[int] = None) -> _Value: ...
    def close(self) -> None: ...
    def __enter__(self) -> Strata: ...
    def __exit__(
        self,
        _exc_type: Optional[Type[BaseException]] = None,
        _exc_value: Optional[BaseException] = None,
        _traceback: Optional[TracebackType] = None,
    ) -> bool: ...
