"""ruff's lint rules and formatting hold on every Python file (configured in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def ruff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_ruff_finds_nothing():
    run = ruff("check", "--no-cache", "--output-format", "concise", ".")
    assert run.returncode == 0, run.stdout + run.stderr


def test_every_file_is_formatted():
    run = ruff("format", "--no-cache", "--check", ".")
    assert run.returncode == 0, run.stdout + run.stderr
