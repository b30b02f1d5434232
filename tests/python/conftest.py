"""Shared fixtures for the stratadb tests. Run with `cargo xtask test`."""

import os
import subprocess
import sys
import textwrap
from typing import Iterator

import pytest

from stratadb import Strata


@pytest.fixture
def db() -> Iterator[Strata]:
    """A throwaway database, closed after the test."""
    handle = Strata.cache()
    yield handle
    handle.close()


@pytest.fixture
def db_path(tmp_path) -> str:
    """A path for an on-disk database (the directory does not exist yet)."""
    return str(tmp_path / "db")


def run_python(code: str, *args: str, env=None, timeout: float = 60) -> subprocess.CompletedProcess:
    """Runs `code` in a fresh interpreter (same venv), failing the test on a non-zero exit."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    assert proc.returncode == 0, f"child failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc
