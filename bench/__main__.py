"""``python -m gaai.bench [--quick] [--json PATH]``: run the suite, print its tables, write its JSON."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from gaai.bench.bench_bus import bench_hop, bench_workflows
from gaai.bench.bench_graph import bench_graph
from gaai.bench.bench_orchestration_peers import bench_orchestration_peers
from gaai.bench.bench_peers import bench_peers
from gaai.bench.bench_schedules import bench_replicas, bench_schedules
from gaai.bus.server import nats_server_binary

# Headline key → (goal as text, test of the measured value). Keys without a numeric
# goal in issue 5 are listed with ``None``.
GOALS: dict[str, tuple[str, Callable[[float, dict], bool]] | None] = {
    "hop_p50_ms": ("<= 2 ms", lambda v, r: v <= 2),
    "hop_p99_ms": None,
    "workflow_overhead_ms": ("<= 50 ms", lambda v, r: v <= 50),
    "workflows_per_s": (">= 50", lambda v, r: v >= 50),
    "critical_path_ratio": (
        "<= 1.05 (+20 ms)",
        lambda v, r: r["pipelined_ms"] <= 1.05 * r["bound_ms"] + 20,
    ),
    "speedup_vs_sequential": (">= 3 (5 templates)", lambda v, r: v >= 3),
    "phased_over_pipelined": ("> 1 (lead shows)", lambda v, r: v > 1),
    "replica_scaling_efficiency": (">= 0.8 (8 replicas)", lambda v, r: v >= 0.8),
    "pagerank_vs_spmv": (">= 0.5", lambda v, r: v >= 0.5),
    "load_write_over_compute": ("<= 2", lambda v, r: v <= 2),
    "vs_networkx": (">= 20", lambda v, r: v >= 20),
    "bytes_per_edge": ("<= 60", lambda v, r: v <= 60),
    "engine_vs_best_peer_worst": ("<= 1.0 (at the largest size)", lambda v, r: v <= 1.0),
    "hop_vs_best_peer": ("<= 1.0 (ours / fastest peer)", lambda v, r: v <= 1.0),
    "workflow_overhead_vs_best_peer": ("<= 1.0 (ours / fastest peer)", lambda v, r: v <= 1.0),
    "workflows_per_s_vs_best_peer": (">= 1.0 (ours / best peer)", lambda v, r: v >= 1.0),
}


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _machine() -> dict:
    def first(path: str, prefix: str) -> str:
        try:
            return next(
                line.split(":", 1)[1].strip() for line in Path(path).read_text().splitlines() if line.startswith(prefix)
            )
        except (OSError, StopIteration):
            return "unknown"

    def version(module: str) -> str | None:
        try:
            return importlib.import_module(module).__version__
        except ImportError:
            return None  # an optional comparison library that is not installed

    server = subprocess.run([nats_server_binary(), "--version"], capture_output=True, text=True).stdout.strip()
    return {
        "cpu": first("/proc/cpuinfo", "model name"),
        "cores": os.cpu_count(),
        "memory": first("/proc/meminfo", "MemTotal"),
        "os": platform.platform(),
        "python": platform.python_version(),
        "nats_server": server,
        **{module: version(module) for module in ("numpy", "scipy", "numba", "uvloop", "networkx")},
    }


def _table(headers: list[str], rows: list[list[object]]) -> str:
    def cell(value: object) -> str:
        if isinstance(value, float):
            return f"{value:,.3g}" if abs(value) < 10 else f"{value:,.0f}"
        return "—" if value is None else str(value)

    cells = [[cell(v) for v in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    numeric = [all(isinstance(row[i], (int, float)) or row[i] is None for row in rows) for i in range(len(headers))]
    lines += [
        "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(r, widths, numeric, strict=True))
        for r in cells
    ]
    return "\n".join(lines)


def _report(result: dict) -> str:
    sections = result["sections"]
    out = [f"graph-analytics-ai benchmarks ({'quick' if result['quick'] else 'full'} run, {result['elapsed_s']:.0f} s)"]
    machine = result["machine"]
    out.append(
        f"machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory']}, "
        f"Python {machine['python']}, {machine['nats_server']}"
    )
    out.append("\nHeadline")
    out.append(
        _table(
            ["key", "measured", "goal", "met"],
            [
                [key, result[key], goal[0] if goal else "—", {True: "yes", False: "NO", None: "—"}[result["met"][key]]]
                for key, goal in GOALS.items()
            ],
        )
    )
    hop = sections["hop"]
    out.append(f"\nHop ({hop['samples']} tasks, one at a time)")
    out.append(
        _table(
            ["p50 ms", "p99 ms", "mean ms", "to agent p50", "in agent p50", "back p50"],
            [
                [
                    hop["hop_p50_ms"],
                    hop["hop_p99_ms"],
                    hop["hop_mean_ms"],
                    hop["to_agent_p50_ms"],
                    hop["in_agent_p50_ms"],
                    hop["back_p50_ms"],
                ]
            ],
        )
    )
    flow = sections["workflows"]
    out.append(f"\nNo-op workflows ({flow['templates']} templates, {flow['tasks_per_workflow']} tasks each)")
    out.append(
        _table(
            [
                "overhead p50 ms",
                "p90 ms",
                "orchestrator-internal p50 ms",
                "in flight",
                "workflows/s sustained (median)",
                "workflows/s burst (median)",
            ],
            [
                [
                    flow["workflow_overhead_ms"],
                    flow["workflow_p90_ms"],
                    flow["orchestrator_internal_p50_ms"],
                    flow["concurrent_workflows"],
                    flow["workflows_per_s"],
                    flow["burst_workflows_per_s"],
                ]
            ],
        )
    )
    schedules = sections["schedules"]
    out.append("\nSchedules, emulated latencies (phased is computed from the measured pipelined run, not run)")
    out.append(
        _table(
            [
                "templates",
                "bound ms",
                "pipelined ms",
                "ratio",
                "phased ms",
                "phased/pipelined",
                "sequential ms",
                "speed-up",
                "best possible",
            ],
            [
                [
                    r["templates"],
                    r["bound_ms"],
                    r["pipelined_ms"],
                    r["critical_path_ratio"],
                    r["phased_ms_computed"],
                    r["phased_over_pipelined"],
                    r["sequential_ms"],
                    r["speedup_vs_sequential"],
                    r["speedup_possible"],
                ]
                for r in schedules["rows"]
            ],
        )
    )
    replicas = sections["replicas"]
    out.append(
        f"\nExecution replicas ({replicas['templates']} templates, "
        f"{replicas['execution_ms']:.0f} ms I/O-bound executions, 1 task per replica)"
    )
    out.append(
        _table(
            ["replicas", "executions/s", "gain", "efficiency", "makespan ms"],
            [
                [r["replicas"], r["executions_per_s"], r["gain"], r["efficiency"], r["makespan_ms"]]
                for r in replicas["rows"]
            ],
        )
    )
    graph = sections["graph"]
    out.append("\nGraph engine: execute_template in a fresh process (load → compute → write → summary)")
    out.append(
        _table(
            [
                "graph",
                "algorithm",
                "engine",
                "load ms",
                "compute ms",
                "write ms",
                "summary ms",
                "total ms",
                "peak RSS MB",
                "B/edge",
            ],
            [
                [
                    r["graph"],
                    r["algorithm"],
                    r["engine"],
                    r["load_ms"],
                    r["compute_ms"],
                    r["write_ms"],
                    r["summary_ms"],
                    r["total_ms"],
                    r["peak_rss_bytes"] / 2**20,
                    r["bytes_per_edge"],
                ]
                for r in graph["rows"]
            ],
        )
    )
    out.append("\nPageRank against the scipy CSR SpMV bound (same iterations)")
    out.append(
        _table(
            ["graph", "iterations", "SpMV ms", "SpMV edges/s", "ours edges/s", "ours / bound"],
            [
                [
                    b["graph"],
                    b["iterations"],
                    b["spmv_ms"],
                    b["spmv_edges_per_s"],
                    b["ours_compute_edges_per_s"],
                    b["pagerank_vs_spmv"],
                ]
                for b in graph["spmv"]
            ],
        )
    )
    out.append(f"\nnetworkx {result['machine']['networkx']} (seconds; — = over {graph['networkx_limit_s']:.0f} s)")
    out.append(
        _table(
            ["graph", "build s", *graph["networkx"][0]["seconds"].keys()] if graph["networkx"] else ["graph"],
            [[n["graph"], n["build_directed_s"], *n["seconds"].values()] for n in graph["networkx"]],
        )
    )
    if "peers" in sections:
        out.append(_peers_report(sections["peers"]))
    if "orchestration_peers" in sections:
        out.append(_orchestration_peers_report(sections["orchestration_peers"]))
    return "\n".join(out)


def _peers_report(peers: dict) -> str:
    versions = ", ".join(f"{peer} {version}" for peer, version in peers["versions"].items() if version)
    out = [f"\nEngine peers ({versions}); ms from the same arrays to an answer (peers: build + compute)"]
    out.append(
        _table(
            ["graph", "algorithm", "engine", "build ms", "compute ms", "total ms", "peak RSS MB", "agreement"],
            [
                [
                    r["graph"],
                    r["algorithm"],
                    r["engine"],
                    r.get("build_ms"),
                    r.get("compute_ms"),
                    None if "error" in r else r["compute_ms"] + (0 if r["engine"] == "gaai" else r["build_ms"]),
                    r["peak_rss_bytes"] / 2**20 if "peak_rss_bytes" in r else None,
                    r.get("error") or {True: "agrees", False: "DISAGREES", None: "—"}[r.get("agrees")],
                ]
                for r in peers["rows"]
            ],
        )
    )
    out.append("ours ÷ fastest agreeing peer at the largest size (worst graph kind):")
    out.append(
        _table(
            ["algorithm", "ratio", "fastest peer"],
            [[a, ratio, peers["best_peer"][a]] for a, ratio in peers["engine_vs_best_peer"].items()],
        )
    )
    return "\n".join(out)


def _orchestration_peers_report(peers: dict) -> str:
    out = ["\nOrchestration peers: the same no-op DAG (15 tasks), hop and throughput, each peer in its own child"]
    rows = [peers["ours"], *peers["rows"]]
    out.append(
        _table(
            ["peer", "version", "hop p50 ms", "hop p99 ms", "workflow p50 ms", "workflows/s", "durability"],
            [
                [
                    r["peer"],
                    r.get("version"),
                    r.get("hop_p50_ms"),
                    r.get("hop_p99_ms"),
                    r.get("workflow_overhead_ms"),
                    r.get("workflows_per_s"),
                    r.get("skipped") or r.get("error") or r["durability"],
                ]
                for r in rows
            ],
        )
    )
    best = peers["best_peer"]
    if best:
        out.append(
            f"ours ÷ best peer: hop {peers['hop_vs_best_peer']:.2f} ({best['hop']}), workflow overhead "
            f"{peers['workflow_overhead_vs_best_peer']:.2f} ({best['workflow_overhead']}), workflows/s "
            f"{peers['workflows_per_s_vs_best_peer']:.2f} ({best['workflows_per_s']})"
        )
    out += [f"{r['peer']} was given: {r['given']}" for r in peers["rows"] if "given" in r]
    return "\n".join(out)


async def _bus_sections(quick: bool) -> dict:
    _say("hop overhead…")
    hop = await bench_hop(quick)
    _say("workflow overhead and throughput…")
    workflows = await bench_workflows(quick)
    _say("schedules…")
    schedules = await bench_schedules(quick)
    _say("replica scaling…")
    replicas = await bench_replicas(quick)
    return {"hop": hop, "workflows": workflows, "schedules": schedules, "replicas": replicas}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark suite; returns the process exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m gaai.bench", description="The graph-analytics-ai benchmark suite (issue 5)."
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, for CI's smoke run")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results as one JSON object")
    parser.add_argument(
        "--peers",
        action="store_true",
        help="with --quick, also run the engine and orchestration peers (the full run always does)",
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    sections = asyncio.run(_bus_sections(args.quick))
    _say("graph engine…")
    sections["graph"] = bench_graph(args.quick, log=_say)
    if args.peers or not args.quick:
        _say("engine peers…")
        sections["peers"] = bench_peers(args.quick, log=_say)
        _say("orchestration peers…")
        sections["orchestration_peers"] = bench_orchestration_peers(
            args.quick, sections["hop"], sections["workflows"], log=_say
        )
    result: dict = {"quick": args.quick, "machine": _machine(), **dict.fromkeys(GOALS)}
    for source in ("hop", "workflows", "schedules", "replicas", "graph", "peers", "orchestration_peers"):
        result.update({key: value for key, value in sections.get(source, {}).items() if key in GOALS})
    if "peers" in sections:
        # Per algorithm, beside its worst value among the headline keys.
        result["engine_vs_best_peer"] = sections["peers"]["engine_vs_best_peer"]
    five = next(r for r in sections["schedules"]["rows"] if r["templates"] == 5)
    result["met"] = {
        key: goal[1](result[key], five) if goal and result[key] is not None else None for key, goal in GOALS.items()
    }
    result["sections"] = sections
    result["elapsed_s"] = time.perf_counter() - started
    print(_report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
