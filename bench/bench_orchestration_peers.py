"""Orchestration peers: the workflow benchmark's hop, no-op DAG and throughput on Ray, Dask, Celery and Temporal.

The DAG is bench_bus's: vertical ‖ schema analysis ‖ requirements → use cases → templates → for each of the
5 templates its execution → its report (15 no-op tasks). Every task runs in a worker process of the peer and
its result comes back to the coordinator, which dispatches what that result unlocks; the templates task's
result decides the fan-out, as in ours. The measurements are bench_bus's, on the same counts:

- hop: one no-op task, coordinator → worker process → coordinator, one at a time; p50 and p99.
- workflow overhead: one no-op workflow from its submission to its result, one at a time; p50 (with no-op
  tasks the critical path of emulated work is zero, so the makespan is the overhead).
- workflows/s: ``in_flight`` workflows kept running (each end starts the next), completions counted after the
  first ``in_flight`` and before the last ``in_flight``; median of the rounds.

Each peer runs in a fresh child process, ``python -m gaai.bench.bench_orchestration_peers measure PEER``, which
starts and stops everything the peer needs and prints one JSON row. A peer that is not installed (or, for
Celery, has no ``redis-server``; for Temporal, no binary built by ``tools/temporal/build.sh``) is listed with
the reason and left out of the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import timedelta
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from gaai.bench.measures import percentile, sustained_rate
from gaai.bench.peer_dag import TASKS_PER_WORKFLOW, TEMPLATES, hop_samples, run_dag, task_result

WORKER_PROCESSES = 2
"""Worker processes every peer is given for the tasks (this machine has two cores)."""

OURS_DURABILITY = "JetStream file store: every task, result and state write stored and acked before it counts"

PEERS: dict[str, dict[str, str]] = {
    "ray": {
        "modules": "ray",
        "distribution": "ray",
        "given": "ray.init(num_cpus=2), local: tasks with num_cpus=1, so 2 worker processes; asyncio driver",
        "durability": "none: tasks and results in memory (object store); lost with the driver or a worker",
    },
    "dask": {
        "modules": "distributed",
        "distribution": "distributed",
        "given": "LocalCluster(n_workers=2, threads_per_worker=1, processes=True), asynchronous Client",
        "durability": "none: tasks and results in the scheduler's and workers' memory",
    },
    "celery": {
        "modules": "celery redis",
        "distribution": "celery",
        "given": (
            "redis-server as broker and result backend; 1 worker, prefork pool of 2 processes, acks_late, "
            "--without-gossip --without-mingle --without-heartbeat; client: send_task + get() in a thread pool"
        ),
        "durability": "Redis append-only file, fsync every second (appendfsync everysec), acks_late",
    },
    "temporal": {
        "modules": "temporalio",
        "distribution": "temporalio",
        "given": (
            "temporal server start-dev (CLI v1.5.1, SQLite file); the DAG is a workflow on 1 workflow-worker "
            "process, tasks are activities on 2 activity-worker processes (Python SDK)"
        ),
        "durability": "dev server's SQLite database in a file: every event of the workflow history persisted",
    },
}

TEMPORAL_VERSION = "v1.5.1"
TEMPORAL_HOPS_PER_WORKFLOW = 500
WAIT_LIMIT = timedelta(seconds=300)
"""The longest a peer's workflow may take before the run fails (a stuck peer fails its row, never the suite)."""


@dataclass(frozen=True)
class Sizes:
    """How many of each measurement a run takes (bench_bus's counts)."""

    hop_samples: int
    hop_warmup: int
    sequential_runs: int
    in_flight: int
    sustained_total: int
    rounds: int
    sustained_budget_s: float | None = None
    """Per round: no workflow is started after this long (``measures.sustained_rate``)."""


FULL = Sizes(
    hop_samples=3000, hop_warmup=100, sequential_runs=50, in_flight=100, sustained_total=800, rounds=3,
    sustained_budget_s=60.0,
)  # fmt: skip
"""bench_bus's full counts. The budget binds on Temporal alone (about one workflow a second: 2,400 would take
most of an hour); the others finish their 800 in seconds."""
QUICK = Sizes(hop_samples=300, hop_warmup=30, sequential_runs=10, in_flight=20, sustained_total=80, rounds=1)


async def measure(
    hops: Callable[[int], Awaitable[list[float]]], one_workflow: Callable[[], Awaitable[int]], sizes: Sizes
) -> dict:
    """Hop, workflow overhead and sustained workflows/s, as bench_bus measures ours."""
    hop = (await hops(sizes.hop_warmup + sizes.hop_samples))[sizes.hop_warmup :]
    for _ in range(3):
        await one_workflow()
    latencies = []
    for _ in range(sizes.sequential_runs):
        started = time.perf_counter()
        tasks = await one_workflow()
        latencies.append((time.perf_counter() - started) * 1000)
        if tasks != TASKS_PER_WORKFLOW:
            raise RuntimeError(f"a workflow ran {tasks} tasks, not {TASKS_PER_WORKFLOW}")
    sustained = [
        await sustained_rate(one_workflow, sizes.in_flight, sizes.sustained_total, sizes.sustained_budget_s)
        for _ in range(sizes.rounds)
    ]
    return {
        "hop_samples": len(hop),
        "hop_p50_ms": percentile(hop, 50),
        "hop_p99_ms": percentile(hop, 99),
        "workflow_runs": len(latencies),
        "workflow_overhead_ms": percentile(latencies, 50),
        "workflow_p90_ms": percentile(latencies, 90),
        "concurrent_workflows": sizes.in_flight,
        "sustained_workflows": [count for _, count in sustained],
        "sustained_rounds_per_s": [rate for rate, _ in sustained],
        "workflows_per_s": percentile([rate for rate, _ in sustained], 50),
    }


# ---------------------------------------------------------------- Ray


async def _ray(sizes: Sizes) -> dict:
    import ray

    ray.init(num_cpus=WORKER_PROCESSES, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    try:
        remote_task = ray.remote(task_result)

        def call(kind: str, *inputs: object) -> Awaitable:
            return remote_task.remote(kind, *inputs)

        return await measure(lambda count: hop_samples(call, count), lambda: run_dag(call), sizes)
    finally:
        ray.shutdown()


# ---------------------------------------------------------------- Dask


async def _dask(sizes: Sizes) -> dict:
    from distributed import Client, LocalCluster

    async with (
        LocalCluster(
            n_workers=WORKER_PROCESSES,
            threads_per_worker=1,
            processes=True,
            asynchronous=True,
            dashboard_address=None,
            silence_logs=40,
        ) as cluster,
        Client(cluster, asynchronous=True) as client,
    ):

        def call(kind: str, *inputs: object) -> Awaitable:
            return client.submit(task_result, kind, *inputs, pure=False)

        return await measure(lambda count: hop_samples(call, count), lambda: run_dag(call), sizes)


# ---------------------------------------------------------------- Celery with Redis

CELERY_TASK = "gaai_bench_task"


def _celery_app(broker_url: str):
    from celery import Celery

    app = Celery("gaai_bench", broker=broker_url, backend=broker_url)
    app.conf.update(
        task_acks_late=True,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )
    app.task(name=CELERY_TASK)(task_result)
    return app


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_port(port: int, process: subprocess.Popen, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode} before it listened on port {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not listen on port {port} within {timeout:.0f} s") from None
            time.sleep(0.05)


class _Children:
    """Processes a peer's run starts, in a temporary folder; ``stop`` ends exactly those, by their handles."""

    def __init__(self, label: str) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix=f"gaai-bench-{label}-"))
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        with open(self.folder / f"{name}.log", "ab") as log:
            process = subprocess.Popen(argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL, cwd=self.folder)
        self.processes[name] = process
        return process

    async def first_answer(self, answer: Awaitable, timeout: float = 60.0) -> None:
        """Wait for the first task's answer: the workers are up (or say which exited, with its log's end)."""
        try:
            await asyncio.wait_for(answer, timeout)
        except TimeoutError:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    lines = (self.folder / f"{name}.log").read_text(errors="replace").strip().splitlines()
                    last = lines[-1] if lines else "no output"
                    raise RuntimeError(f"{name} exited with {process.returncode}: {last}") from None
            raise RuntimeError(f"no answer within {timeout:.0f} s and every process is running") from None

    def stop(self) -> None:
        for process in reversed(self.processes.values()):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


async def _celery(sizes: Sizes) -> dict:
    children = _Children("celery")
    try:
        port = _free_port()
        redis = children.start(
            "redis",
            [
                shutil.which("redis-server") or "redis-server",
                "--port", str(port), "--bind", "127.0.0.1", "--dir", str(children.folder),
                "--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--daemonize", "no",
            ],
        )  # fmt: skip
        _wait_port(port, redis, "redis-server")
        url = f"redis://127.0.0.1:{port}/0"
        children.start("celery-worker", [sys.executable, "-m", "gaai.bench.bench_orchestration_peers", "celery", url])
        app = _celery_app(url)
        most_tasks_at_once = max(sizes.in_flight, 1) * TEMPLATES + 8
        with ThreadPoolExecutor(most_tasks_at_once, thread_name_prefix="celery-client") as pool:
            loop = asyncio.get_running_loop()

            # Celery's client blocks in get(); its Redis result backend is one per thread, so each task is sent
            # and waited for in one thread of the pool.
            def send_and_get(kind: str, inputs: tuple) -> object:
                return app.send_task(CELERY_TASK, args=(kind, *inputs)).get(timeout=120)

            def call(kind: str, *inputs: object) -> Awaitable:
                return loop.run_in_executor(pool, send_and_get, kind, inputs)

            await children.first_answer(call("vertical"))
            return await measure(lambda count: hop_samples(call, count), lambda: run_dag(call), sizes)
    finally:
        children.stop()


def celery_worker(broker_url: str) -> None:
    """The Celery worker process: a prefork pool of ``WORKER_PROCESSES`` running ``task_result``."""
    _celery_app(broker_url).worker_main(
        [
            "worker",
            "--pool=prefork",
            f"--concurrency={WORKER_PROCESSES}",
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
    )


# ---------------------------------------------------------------- Temporal


def temporal_binary() -> Path:
    """Where ``tools/temporal/build.sh`` puts the Temporal CLI (``GAAI_TEMPORAL_BIN`` overrides)."""
    if os.environ.get("GAAI_TEMPORAL_BIN"):
        return Path(os.environ["GAAI_TEMPORAL_BIN"])
    tools = Path(os.environ.get("GAAI_TOOLS_DIR", Path.home() / ".cache" / "gaai"))
    return tools / "temporal" / f"temporal-{TEMPORAL_VERSION}"


async def temporal_worker(address: str, role: str) -> None:
    """A Temporal worker process: ``workflows`` (the coordinator) or ``activities`` (the tasks)."""
    from temporalio.client import Client
    from temporalio.worker import Worker

    from gaai.bench import _temporal_peer as definitions

    client = await Client.connect(address)
    if role == "workflows":
        workflows = [definitions.DagWorkflow, definitions.HopWorkflow]
        worker = Worker(client, task_queue=definitions.WORKFLOW_QUEUE, workflows=workflows)
    else:
        worker = Worker(client, task_queue=definitions.ACTIVITY_QUEUE, activities=[definitions.no_op_task])
    await worker.run()


async def _temporal(sizes: Sizes) -> dict:
    from temporalio.client import Client

    from gaai.bench._temporal_peer import WORKFLOW_QUEUE

    children = _Children("temporal")
    try:
        port = _free_port()
        server = children.start(
            "temporal-server",
            [
                str(temporal_binary()), "server", "start-dev", "--headless", "--ip", "127.0.0.1",
                "--port", str(port), "--http-port", str(_free_port()), "--metrics-port", str(_free_port()),
                "--db-filename", str(children.folder / "temporal.db"), "--log-level", "error",
            ],
        )  # fmt: skip
        _wait_port(port, server, "temporal server start-dev")
        address = f"127.0.0.1:{port}"
        worker = [sys.executable, "-m", "gaai.bench.bench_orchestration_peers", "temporal", address]
        children.start("temporal-workflows", [*worker, "workflows"])
        for index in range(WORKER_PROCESSES):
            children.start(f"temporal-activities-{index}", [*worker, "activities"])
        client = await _connect_when_served(Client, address)

        async def one_workflow() -> int:
            return await client.execute_workflow(
                "gaai-dag", id=f"dag-{uuid.uuid4().hex}", task_queue=WORKFLOW_QUEUE, execution_timeout=WAIT_LIMIT
            )

        async def hops(count: int) -> list[float]:
            samples: list[float] = []
            while len(samples) < count:
                chunk = min(TEMPORAL_HOPS_PER_WORKFLOW, count - len(samples))
                samples += await client.execute_workflow(
                    "gaai-hop",
                    chunk,
                    id=f"hop-{uuid.uuid4().hex}",
                    task_queue=WORKFLOW_QUEUE,
                    execution_timeout=WAIT_LIMIT,
                )
            return samples

        await children.first_answer(one_workflow())
        return await measure(hops, one_workflow, sizes)
    finally:
        children.stop()


async def _connect_when_served(client_type: type, address: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await client_type.connect(address)
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


# ---------------------------------------------------------------- the comparison (run by the suite)

RUNNERS: dict[str, Callable[[Sizes], Awaitable[dict]]] = {
    "ray": _ray,
    "dask": _dask,
    "celery": _celery,
    "temporal": _temporal,
}


def missing(peer: str) -> str | None:
    """Why ``peer`` cannot run here, or None when it can."""
    modules = PEERS[peer]["modules"].split()
    absent = [module for module in modules if importlib.util.find_spec(module) is None]
    if absent:
        return f"not installed ({', '.join(absent)}; pip install -e '.[bench]')"
    if peer == "celery" and shutil.which("redis-server") is None:
        return "no redis-server on this machine (apt-get install redis-server)"
    if peer == "temporal" and not temporal_binary().is_file():
        return f"Temporal dev server not built ({temporal_binary()}; run tools/temporal/build.sh)"
    return None


def peer_version(peer: str) -> str | None:
    try:
        found = version(PEERS[peer]["distribution"])
    except PackageNotFoundError:
        return None
    if peer == "temporal":
        return f"temporalio {found}, Temporal CLI {TEMPORAL_VERSION}"
    return found


def bench_orchestration_peers(
    quick: bool,
    ours_hop: dict,
    ours_workflows: dict,
    log=print,
    peers: list[str] | None = None,
    sizes: Sizes | None = None,
) -> dict:
    """Every peer that can run here, each in a fresh child, beside our figures from the same run.

    ``sizes`` overrides the counts ``quick`` chooses (the tests take fewer still).
    """
    from gaai.bench.bench_graph import ChildFailed, json_child  # numpy and scipy: the suite's process only

    sizes = sizes or (QUICK if quick else FULL)
    rows = []
    for peer in peers or list(PEERS):
        row = {"peer": peer, "version": peer_version(peer), **{k: PEERS[peer][k] for k in ("given", "durability")}}
        reason = missing(peer)
        if reason is not None:
            log(f"  {peer}: {reason}")
            rows.append({**row, "skipped": reason})
            continue
        log(f"  {peer}…")
        started = time.perf_counter()
        try:
            args = ["measure", peer, "--sizes", json.dumps(asdict(sizes))]
            row |= json_child("gaai.bench.bench_orchestration_peers", args, timeout=300 if quick else 1800)
        except (ChildFailed, subprocess.TimeoutExpired) as exc:
            row["error"] = str(exc).strip().splitlines()[-1]
        row["run_s"] = time.perf_counter() - started
        rows.append(row)
    ours = {
        "peer": "gaai",
        "durability": OURS_DURABILITY,
        "hop_p50_ms": ours_hop["hop_p50_ms"],
        "hop_p99_ms": ours_hop["hop_p99_ms"],
        "workflow_overhead_ms": ours_workflows["workflow_overhead_ms"],
        "workflow_p90_ms": ours_workflows["workflow_p90_ms"],
        "workflows_per_s": ours_workflows["workflows_per_s"],
    }
    return {"ours": ours, "rows": rows, **versus_best_peer(ours, rows)}


def versus_best_peer(ours: dict, rows: list[dict]) -> dict:
    """Ours ÷ the best peer that ran, per measurement (lower is better for the first two, higher for the third)."""
    ran = [row for row in rows if "hop_p50_ms" in row]
    if not ran:
        return {
            "hop_vs_best_peer": None,
            "workflow_overhead_vs_best_peer": None,
            "workflows_per_s_vs_best_peer": None,
            "best_peer": {},
        }
    fastest_hop = min(ran, key=lambda row: row["hop_p50_ms"])
    fastest_workflow = min(ran, key=lambda row: row["workflow_overhead_ms"])
    most_workflows = max(ran, key=lambda row: row["workflows_per_s"])
    return {
        "hop_vs_best_peer": ours["hop_p50_ms"] / fastest_hop["hop_p50_ms"],
        "workflow_overhead_vs_best_peer": ours["workflow_overhead_ms"] / fastest_workflow["workflow_overhead_ms"],
        "workflows_per_s_vs_best_peer": ours["workflows_per_s"] / most_workflows["workflows_per_s"],
        "best_peer": {
            "hop": fastest_hop["peer"],
            "workflow_overhead": fastest_workflow["peer"],
            "workflows_per_s": most_workflows["peer"],
        },
    }


def _measure_child(peer: str, sizes: Sizes) -> dict:
    # A SIGTERM from the suite (its timeout) unwinds through the runner's cleanup, which stops its processes.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    started = time.perf_counter()
    result = asyncio.run(RUNNERS[peer](sizes))
    return {**result, "sizes": asdict(sizes), "elapsed_s": time.perf_counter() - started}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gaai.bench.bench_orchestration_peers")
    commands = parser.add_subparsers(dest="command", required=True)
    measured = commands.add_parser("measure", help="measure one peer; prints one JSON row")
    measured.add_argument("peer", choices=list(PEERS))
    measured.add_argument("--sizes", type=lambda text: Sizes(**json.loads(text)), default=FULL, help="JSON counts")
    commands.add_parser("celery", help="a Celery worker process").add_argument("broker_url")
    temporal = commands.add_parser("temporal", help="a Temporal worker process")
    temporal.add_argument("address")
    temporal.add_argument("role", choices=["workflows", "activities"])
    args = parser.parse_args(argv)
    if args.command == "measure":
        print(json.dumps(_measure_child(args.peer, args.sizes)))
    elif args.command == "celery":
        celery_worker(args.broker_url)
    else:
        asyncio.run(temporal_worker(args.address, args.role))
    return 0


if __name__ == "__main__":
    sys.exit(main())
