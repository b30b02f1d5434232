"""``python -m stratadb``: print the version; ``python -m stratadb PATH``: summarise a database.

The summary lists every branch, and for each of its spaces how many KV keys, state
cells, events, JSON documents and vectors (per collection) it holds. The database is
opened read-only in spirit (nothing is written), but it is opened, so it must not be in
use by another process.
"""

import argparse
import os
import sys
from typing import List, Optional

from . import Strata, StrataError, __version__


def _json_count(db: Strata) -> int:
    total, cursor = 0, None
    while True:
        page = db.json_list(1000, cursor=cursor)
        total += len(page["keys"])
        cursor = page["cursor"]
        if cursor is None:
            return total


def summarize(db: Strata, path: str) -> List[str]:
    """The summary of an open database, as lines of text."""
    info = db.info()
    lines = [
        f"StrataDB {info['version']} database at {path}",
        f"  branches: {info['branch_count']}, live keys (all branches): {info['total_keys']}",
    ]
    start_branch, start_space = db.current_branch(), db.current_space()
    try:
        for branch in db.list_branches():
            db.set_branch(branch)
            meta = db.branch_get(branch)
            origin = ""
            if meta is not None and meta["parent"] is not None:
                origin = f" (forked from {meta['parent']} at version {meta['fork_version']})"
            lines.append(f"branch {branch}{origin}")
            for space in db.list_spaces():
                db.set_space(space)
                collections = db.vector_list_collections()
                vectors = sum(c["count"] for c in collections)
                lines.append(
                    f"  space {space}: kv {len(db.kv_list())}, state {len(db.state_list())}, "
                    f"events {db.event_len()}, json {_json_count(db)}, "
                    f"vectors {vectors} in {len(collections)} collection(s)"
                )
                for c in collections:
                    lines.append(
                        f"    collection {c['name']}: {c['count']} x {c['dimension']}d "
                        f"{c['metric']} ({c['index_type']})"
                    )
    finally:
        db.set_branch(start_branch)
        db.set_space(start_space)
    return lines


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m stratadb",
        description="Print the StrataDB version, or a summary of the database at PATH.",
    )
    parser.add_argument("path", nargs="?", help="database directory to summarise")
    args = parser.parse_args(argv)
    if args.path is None:
        print(f"stratadb {__version__}")
        return 0
    if not os.path.isdir(args.path):
        print(f"error: {args.path} is not a database directory", file=sys.stderr)
        return 1
    try:
        with Strata.open(args.path) as db:
            for line in summarize(db, args.path):
                print(line)
    except StrataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
