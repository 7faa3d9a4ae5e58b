"""The benchmark suite's smoke run: ``python -m gaai.bench --quick`` finishes and writes well-formed JSON.

Benchmarks are not timed tests: only that the suite runs and reports every headline key
as a number is checked here, never whether a goal is met.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEADLINE_KEYS = (
    "hop_p50_ms",
    "hop_p99_ms",
    "workflow_overhead_ms",
    "workflows_per_s",
    "critical_path_ratio",
    "speedup_vs_sequential",
    "phased_over_pipelined",
    "replica_scaling_efficiency",
    "pagerank_vs_spmv",
    "load_write_over_compute",
    "vs_networkx",
    "bytes_per_edge",
)


@pytest.mark.timeout(600)
def test_quick_run_writes_every_headline_key_as_a_number(tmp_path: Path):
    """The quick suite exits 0 and its JSON holds each headline key as a finite number."""
    out = tmp_path / "bench.json"
    env = dict(os.environ, GAAI_HOME=str(tmp_path / "home"))
    env.pop("NATS_URL", None)
    completed = subprocess.run(
        [sys.executable, "-m", "gaai.bench", "--quick", "--json", str(out)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    result = json.loads(out.read_text())
    # networkx is the optional 'bench' extra; without it there is nothing to compare with.
    optional = () if importlib.util.find_spec("networkx") else ("vs_networkx",)
    for key in HEADLINE_KEYS:
        value = result[key]
        if key in optional and value is None:
            continue
        assert isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value), (key, value)
    assert result["quick"] is True
    assert "Headline" in completed.stdout
