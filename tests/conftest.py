"""Shared pytest fixtures: where the bundled and the shared real data live.

- ``data_dir``: ``<repo>/data`` (small samples with licences, always present in a clone).
- ``shared_data``: ``<repo>/../shared/data`` (large real data kept beside the checkout); tests that
  use it are skipped when it is absent, e.g. on a fresh clone.  Mark such tests
  ``@pytest.mark.shared``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = REPO_ROOT / "data"
SHARED_DATA_DIR = (REPO_ROOT / ".." / "shared" / "data").resolve()


def shared_files(pattern: str) -> list[Path]:
    """Files under the shared data folder matching the glob ``pattern`` (empty when absent);
    handy for ``pytest.mark.parametrize`` over every shared file of a format."""
    return sorted(SHARED_DATA_DIR.glob(pattern)) if SHARED_DATA_DIR.is_dir() else []


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """``<repo>/data``: the small real samples bundled with mapose."""
    return DATA_DIR


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``<repo>/../shared/data``; skips the test when that folder is not present."""
    if not SHARED_DATA_DIR.is_dir():
        pytest.skip(f"shared data folder {SHARED_DATA_DIR} is not present")
    return SHARED_DATA_DIR
