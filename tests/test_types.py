"""The type checker passes on bus/ and orchestrator/ (``[tool.mypy]`` in pyproject.toml holds its settings)."""

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


CHECKED = ("bus", "orchestrator")
"""The packages the type checker must pass on; the ones they import are read for their types."""


def installed_names_view(where: Path) -> Path:
    """A folder holding ``gaai/<package>`` links to the repository's folders: the names setup.py installs them as."""
    namespace = where / "gaai"
    namespace.mkdir()
    for package in ("telemetry", "bus", "store", "orchestrator", "agents"):
        (namespace / package).symlink_to(ROOT / package, target_is_directory=True)
    return where


@pytest.mark.timeout(600)
def test_mypy_finds_no_type_errors(tmp_path):
    packages = [argument for package in CHECKED for argument in ("-p", f"gaai.{package}")]
    run = subprocess.run(
        [*_mypy(), "--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", os.devnull, *packages],
        cwd=ROOT,
        env={**os.environ, "MYPYPATH": str(installed_names_view(tmp_path))},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, f"mypy found type errors:\n{run.stdout}{run.stderr}"
    assert "Success: no issues found" in run.stdout, run.stdout
