"""An agent's memory on StrataDB: every primitive in one small program.

- KV: user profiles and facts.
- State cells: a turn counter updated with compare-and-swap.
- Event log: an audit trail of what the agent did.
- JSON: a structured task plan edited by path.
- Vectors: embeddings of remembered notes, searched by similarity with filters.
- Search: one query across everything, with a toy embedder, expander and reranker.
- Branches: the agent tries a risky plan on a fork, then merges it back.
- Spaces: a separate space per conversation.
- Transactions: several writes that land together or not at all.
- Bundles: the memory exported to a file and validated.

Run: ``python examples/agent_memory.py`` (needs ``stratadb`` installed). Type-checked
with ``mypy --strict`` by ``cargo xtask test``.
"""

import hashlib
import tempfile
from pathlib import Path
from typing import List

import numpy as np
import numpy.typing as npt

from stratadb import ConflictError, Strata
from stratadb.types import SearchHit, VectorItem

DIM = 16


def embed(texts: List[str]) -> npt.NDArray[np.float32]:
    """A toy embedder: hashed bag of words, normalised. Real agents plug in a model."""
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    for row, text in enumerate(texts):
        for word in text.lower().split():
            digest = hashlib.sha256(word.encode()).digest()
            out[row, digest[0] % DIM] += 1.0
        norm = float(np.linalg.norm(out[row]))
        if norm > 0:
            out[row] /= norm
    return out


def expand(query: str) -> List[str]:
    """A toy query expander: a synonym table."""
    synonyms = {"bug": "error", "error": "bug", "deploy": "release"}
    return [synonyms[w] for w in query.lower().split() if w in synonyms]


def rerank(query: str, docs: List[str]) -> List[float]:
    """A toy reranker: the share of query words each document contains."""
    words = set(query.lower().split())
    return [len(words & set(doc.lower().split())) / max(len(words), 1) for doc in docs]


def remember(db: Strata) -> None:
    # KV: facts about the user.
    db.kv_put("user:alice", {"name": "Alice", "timezone": "Europe/Paris", "likes": ["tea"]})
    db.kv_put("fact:deploy-day", "deploys happen on Tuesdays")

    # State: a turn counter, incremented with compare-and-swap.
    db.state_init("turns", 0)
    for _ in range(3):
        current = db.state_get_versioned("turns")
        assert current is not None
        new_version = db.state_cas("turns", current["value"] + 1, current["version"])
        assert new_version is not None, "nobody else updates this counter"

    # Events: an audit trail.
    db.event_append("tool_call", {"tool": "search", "query": "deploy bug"})
    db.event_append("reply", {"text": "The deploy bug is fixed in release 42."})

    # JSON: a plan, edited in place.
    db.json_set("plan:release", "$", {"goal": "ship release 42", "steps": ["build", "test"]})
    db.json_set("plan:release", "$.owner", "alice")

    # Vectors: notes with metadata.
    db.vector_create_collection("notes", DIM)
    notes = {
        "n1": ("the deploy failed with a database error", "ops"),
        "n2": ("alice prefers tea over coffee", "personal"),
        "n3": ("release 42 fixes the login bug", "ops"),
    }
    items: List[VectorItem] = [
        {"key": key, "vector": embed([text])[0], "metadata": {"text": text, "topic": topic}}
        for key, (text, topic) in notes.items()
    ]
    versions = db.vector_batch_upsert("notes", items)
    print(f"stored {len(versions)} notes in one commit (version {versions[0]})")


def recall(db: Strata) -> None:
    print("user:", db.kv_get("user:alice"))
    print("turns:", db.state_get("turns"))
    for event in db.event_list("tool_call"):
        print(f"event #{event['sequence']} {event['event_type']}: {event['value']}")
    print("plan owner:", db.json_get("plan:release", "$.owner"))

    query = embed(["database error during deploy"])[0]
    for match in db.vector_search("notes", query, k=2, filters=[{"field": "topic", "op": "eq", "value": "ops"}]):
        print(f"note {match['key']} score {match['score']:.3f}: {match['metadata']['text']}")

    db.configure_model(embed=embed, expand=expand, rerank=rerank)
    hits: List[SearchHit] = db.search("deploy bug", k=5)
    for hit in hits:
        print(f"search #{hit['rank']} {hit['primitive']}/{hit['entity']}: {hit['snippet'][:60]}")
    db.configure_model()


def experiment(db: Strata) -> None:
    """Try a plan on a fork; merge it back if it worked."""
    fork = db.fork_branch("try-new-plan")
    print(f"forked {fork['source']} -> {fork['destination']}")
    db.set_branch("try-new-plan")
    db.json_set("plan:release", "$.steps", ["build", "test", "canary", "rollout"])
    db.set_branch("default")
    diff = db.diff_branches("default", "try-new-plan")
    print("diff:", diff["summary"], [k["key"] for k in diff["modified"]])
    merged = db.merge_branches("try-new-plan")
    print(f"merged {merged['keys_applied']} key(s) at version {merged['version']}")


def conversations(db: Strata) -> None:
    """One space per conversation keeps their data apart."""
    db.set_space("conv-1")
    db.kv_put("summary", "talked about the release")
    db.set_space("default")
    print("spaces:", db.list_spaces(), "- default has 'summary':", db.kv_get("summary") is not None)


def atomic_update(db: Strata) -> None:
    """Move a task between lists atomically."""
    db.kv_put("todo", ["write notes"])
    db.kv_put("done", [])
    try:
        with db.transaction():
            todo = db.kv_get("todo")
            done = db.kv_get("done")
            db.kv_put("todo", todo[1:])
            db.kv_put("done", done + todo[:1])
    except ConflictError:
        print("another writer got there first; retry")
    print("todo:", db.kv_get("todo"), "done:", db.kv_get("done"))


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="strata-agent-") as tmp:
        path = Path(tmp) / "memory"
        with Strata.open(path) as db:
            remember(db)
            recall(db)
            experiment(db)
            conversations(db)
            atomic_update(db)
            bundle = Path(tmp) / "memory.bundle"
            exported = db.branch_export("default", bundle)
            check = db.branch_validate_bundle(bundle)
            print(f"exported {exported['entry_count']} entries; checksums valid: {check['checksums_valid']}")
        with Strata.open(path) as db:
            print("after reopen, turns =", db.state_get("turns"), "events =", db.event_len())


if __name__ == "__main__":
    main()
