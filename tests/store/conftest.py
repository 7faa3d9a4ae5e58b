"""The store tests' shared fixture: an empty embedded store in this test's temp folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from gaai.store import EmbeddedStore


@pytest.fixture
def store(tmp_path: Path) -> EmbeddedStore:
    return EmbeddedStore(tmp_path / "home")
