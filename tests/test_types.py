"""The type checker passes on bus/ and orchestrator/ (``[tool.mypy]`` in pyproject.toml says what it checks)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _mypy() -> list[str]:
    """mypy as installed beside this Python (the test extra), else on the PATH."""
    beside = Path(sys.executable).with_name("mypy")
    if beside.is_file():
        return [str(beside)]
    found = shutil.which("mypy")
    if found is None:
        pytest.fail("mypy is not installed: pip install -e '.[test]'")
    return [found]


@pytest.mark.timeout(600)
def test_mypy_finds_no_type_errors():
    run = subprocess.run([*_mypy(), "--cache-dir", os.devnull], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, f"mypy found type errors:\n{run.stdout}{run.stderr}"
    assert "Success: no issues found" in run.stdout, run.stdout
