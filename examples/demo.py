"""StrataDB demo: write values, close, reopen, read them back.

Run it with `cargo xtask demo` (which builds and installs the package first), or with
`python examples/demo.py [DIR]` once `stratadb` is installed. Without DIR the database
lives in a temporary directory that is removed afterwards.
"""

import math
import sys
import tempfile
from pathlib import Path

from stratadb import Strata

VALUES = {
    "greeting": "Hello, World!",
    "user:123": {"name": "Alice", "age": 30, "tags": ["admin", "ops"]},
    "counter": 42,
    "ratio": 0.75,
    "flag": True,
    "nothing": None,
    "blob": b"\x00\x01binary\xff",
    "not-a-number": math.nan,
}


def run(directory: Path) -> None:
    path = directory / "demo-db"
    print(f"opening {path}")
    with Strata.open(path) as db:
        for key, value in VALUES.items():
            version = db.kv_put(key, value)
            print(f"  put {key!r:16} -> version {version}")
    print("closed; reopening")
    with Strata.open(path) as db:
        for key, expected in VALUES.items():
            got = db.kv_get(key)
            same = got == expected or (
                isinstance(got, float) and math.isnan(got) and math.isnan(expected)
            )
            if not same:
                raise SystemExit(f"MISMATCH for {key!r}: stored {expected!r}, read {got!r}")
            print(f"  get {key!r:16} -> {got!r}")
        print(f"  get {'missing'!r:16} -> {db.kv_get('missing')!r}")
    print("all values survived the reopen")


def main() -> None:
    if len(sys.argv) > 1:
        target = Path(sys.argv[1])
        target.mkdir(parents=True, exist_ok=True)
        run(target)
    else:
        with tempfile.TemporaryDirectory(prefix="strata-demo-") as tmp:
            run(Path(tmp))


if __name__ == "__main__":
    main()
