"""The orchestration peers run the workflow benchmark's DAG and measurements, and are compared with ours.

Every peer that can run here (installed; Celery with a ``redis-server``; Temporal with the binary
``tools/temporal/build.sh`` caches) runs the 15-task no-op DAG in its own worker processes with a few samples
of each measurement; its row must carry real figures and the ratios must be ours over the best of them. The
Temporal build is never run here: without the cached binary Temporal is listed as not built.
"""

from __future__ import annotations

import asyncio

import pytest

from gaai.bench.bench_orchestration_peers import (
    PEERS,
    Sizes,
    bench_orchestration_peers,
    missing,
    versus_best_peer,
)
from gaai.bench.measures import sustained_rate

# Few of each: peer start-up (Ray's above all) is most of this test's time.
TINY = Sizes(hop_samples=20, hop_warmup=5, sequential_runs=2, in_flight=2, sustained_total=6, rounds=1)
OURS_HOP = {"hop_p50_ms": 1.5, "hop_p99_ms": 3.6}
OURS_WORKFLOWS = {"workflow_overhead_ms": 31.0, "workflow_p90_ms": 37.0, "workflows_per_s": 59.0}


@pytest.fixture(scope="module")
def measured() -> dict:
    """One run of every peer, side by side, as the suite runs them (each in its own child)."""
    return bench_orchestration_peers(True, OURS_HOP, OURS_WORKFLOWS, log=lambda _: None, sizes=TINY)


@pytest.mark.parametrize("peer", list(PEERS))
def test_the_peer_runs_the_dag_with_real_figures(measured, peer):
    row = next(row for row in measured["rows"] if row["peer"] == peer)
    assert row["durability"] == PEERS[peer]["durability"] and row["given"] == PEERS[peer]["given"]
    reason = missing(peer)
    if reason is not None:
        assert row["skipped"] == reason and "hop_p50_ms" not in row
        pytest.skip(f"{peer}: {reason}")
    assert "error" not in row, row
    assert row["version"]
    assert row["hop_samples"] == TINY.hop_samples and row["workflow_runs"] == TINY.sequential_runs
    assert 0 < row["hop_p50_ms"] <= row["hop_p99_ms"]
    # A workflow is five dependent steps, each at least a hop (measure() checks it ran all 15 tasks).
    assert row["workflow_overhead_ms"] > row["hop_p50_ms"]
    assert row["workflow_p90_ms"] >= row["workflow_overhead_ms"]
    assert row["workflows_per_s"] > 0 and row["sustained_rounds_per_s"] == [row["workflows_per_s"]]
    assert row["sustained_workflows"] == [TINY.sustained_total]


def test_the_ratios_are_ours_over_the_best_measured_peer(measured):
    ran = [row for row in measured["rows"] if "hop_p50_ms" in row]
    if not ran:
        pytest.skip("no orchestration peer can run here: " + "; ".join(f"{p}: {missing(p)}" for p in PEERS))
    assert [row["peer"] for row in measured["rows"]] == list(PEERS)
    assert measured["hop_vs_best_peer"] == pytest.approx(1.5 / min(r["hop_p50_ms"] for r in ran))
    overhead = min(r["workflow_overhead_ms"] for r in ran)
    assert measured["workflow_overhead_vs_best_peer"] == pytest.approx(31.0 / overhead)
    assert measured["workflows_per_s_vs_best_peer"] == pytest.approx(59.0 / max(r["workflows_per_s"] for r in ran))
    fastest = min(ran, key=lambda r: r["hop_p50_ms"])["peer"]
    assert measured["best_peer"]["hop"] == fastest
    assert measured["ours"]["hop_p50_ms"] == 1.5 and measured["ours"]["workflows_per_s"] == 59.0


def test_a_peer_that_cannot_run_is_listed_with_the_reason(monkeypatch, tmp_path):
    monkeypatch.setenv("GAAI_TEMPORAL_BIN", str(tmp_path / "absent-temporal"))
    result = bench_orchestration_peers(
        True, OURS_HOP, OURS_WORKFLOWS, log=lambda _: None, peers=["temporal"], sizes=TINY
    )
    (row,) = result["rows"]
    if missing("temporal").startswith("not installed"):
        assert row["skipped"].startswith("not installed (temporalio")
    else:
        assert (
            row["skipped"]
            == f"Temporal dev server not built ({tmp_path / 'absent-temporal'}; run tools/temporal/build.sh)"
        )
    assert "hop_p50_ms" not in row
    assert result["hop_vs_best_peer"] is None and result["best_peer"] == {}


def test_the_ratios_are_ours_over_the_best_peer_that_ran():
    rows = [
        {"peer": "a", "hop_p50_ms": 2.0, "workflow_overhead_ms": 40.0, "workflows_per_s": 30.0},
        {"peer": "b", "hop_p50_ms": 4.0, "workflow_overhead_ms": 20.0, "workflows_per_s": 120.0},
        {"peer": "c", "skipped": "not installed"},
        {"peer": "d", "error": "it crashed"},
    ]
    ours = {"hop_p50_ms": 1.0, "workflow_overhead_ms": 30.0, "workflows_per_s": 60.0}
    found = versus_best_peer(ours, rows)
    assert found["hop_vs_best_peer"] == 0.5 and found["workflow_overhead_vs_best_peer"] == 1.5
    assert found["workflows_per_s_vs_best_peer"] == 0.5
    assert found["best_peer"] == {"hop": "a", "workflow_overhead": "b", "workflows_per_s": "b"}


def test_a_sustained_round_stops_starting_workflows_when_its_budget_is_spent():
    async def ten_ms() -> None:
        await asyncio.sleep(0.01)

    async def rounds() -> tuple[tuple[float, int], tuple[float, int]]:
        return await sustained_rate(ten_ms, 2, 30), await sustained_rate(ten_ms, 2, 100_000, budget_s=0.3)

    (whole_rate, whole), (bounded_rate, bounded) = asyncio.run(rounds())
    assert whole == 30
    # Two in flight, each at least 10 ms: at most 200 a second, and about 60 started in 0.3 s.
    assert 5 <= bounded < 1_000
    assert 0 < whole_rate <= 200 and 0 < bounded_rate <= 200
