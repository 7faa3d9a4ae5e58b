"""``gaai eval`` as a user runs it: the whole suite in a subprocess, its table and its JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gaai.eval.cases import CASES

ROOT = Path(__file__).resolve().parents[2]


def _gaai(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NATS_URL", "GAAI_HOME")}
    return subprocess.run(
        [sys.executable, "-m", "graph_analytics_ai.cli", *args],
        cwd=cwd,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_unknown_case_is_a_one_line_error(tmp_path: Path):
    run = _gaai("eval", "--cases", "karate,nope", cwd=tmp_path)
    assert run.returncode == 2
    assert run.stderr.strip() == f"gaai: unknown case(s) nope; cases: {', '.join(CASES)} [unknown_case]"


@pytest.mark.timeout(900)
def test_whole_suite_publishes_no_false_claim_and_drops_no_requirement(tmp_path: Path):
    path = tmp_path / "eval.json"
    run = _gaai("eval", "--json", str(path), cwd=tmp_path)
    assert run.returncode in (0, 1), run.stderr  # 1: a goal missed, named below
    model, header = run.stdout.splitlines()[:2]
    assert model == "Model: offline"
    assert header.split() == ["case", "metric", "value", "goal", "met"]
    result = json.loads(path.read_text())

    assert result["suite"] == "gaai eval"
    assert [case["name"] for case in result["cases"]] == list(CASES)
    missed = [(c["name"], m["metric"]) for c in result["cases"] for m in c["metrics"] if m["met"] is False]
    assert missed == [], "every goal of docs/EVALUATION.md is met"
    assert result["goals_met"] is True and run.returncode == 0
    assert result["totals"]["goals_missed"] == 0
    for case in result["cases"]:
        metrics = {m["metric"]: m for m in case["metrics"]}
        assert set(next(iter(case["metrics"]))) == {"metric", "value", "shown", "goal", "met", "detail"}
        assert case["status"] == "completed", (case["name"], metrics["workflow"]["detail"])
        assert "requirements answered or explained" in metrics
        assert "false claims published" in metrics
        assert metrics["statements checked by the suite"]["value"] > 0
        for metric in case["metrics"]:
            assert (metric["met"] is None) == (metric["goal"] == ""), metric  # a goal is always judged
    assert result["totals"]["false_claims"] == 0, [c["false_claims"] for c in result["cases"]]
    assert result["totals"]["silently_dropped"] == 0, [c["silently_dropped"] for c in result["cases"]]
