"""Faults done for real to the running system (issue 4, points 1, 2, 3 and 10).

Every test runs the whole system as separate OS processes (``LocalStack``: the
orchestrator and one process per agent) against a nats-server of its own, then really
SIGKILLs an agent that holds a task, SIGKILLs the orchestrator mid-workflow, restarts
nats-server on the same store folder, or SIGTERMs an agent mid-task. Each then checks
that the workflow completes and that every effect happened exactly once:

- one Parquet file of per-vertex results per execution (``results/<graph>/<task id>``),
  with one row per vertex;
- one object per report format per template in the ``gaai_reports`` object store;
- one catalog entity per step output (``Catalog.counts``) and one epoch per workflow;
- every task run by an agent exactly once, except the ones held by a killed agent
  (read from the ``running`` events agents publish each time they start a task).

Executions are made slow enough to be caught in the act by a generated random graph
(``BIG_VERTICES``/``BIG_EDGES``): sampled betweenness on it takes a few seconds.

Ack waits. Agents and the orchestrator create their durable consumers with
``Settings.ack_wait_s`` (30 s; no environment knob) and re-apply it each time a process
starts. A task held by a killed process is redelivered only when its ack wait expires,
so to keep each test well under a minute the tests shorten the consumers' AckWait with
a JetStream consumer update *after* the (re)started processes have bound (12 s for
agent consumers, above the worker's 10 s in-progress heartbeat; 5 s for the
orchestrator's results consumer, whose messages are handled in milliseconds). The value
changes only how long a redelivery takes, not whether it happens.

An orchestrator dying between saving the state and publishing the tasks it decided on
is covered deterministically: the next orchestrator publishes every outstanding task again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import nats
import nats.errors
import nats.js.errors
import numpy as np
import pyarrow.parquet as pq
import pytest
from nats.js.api import DeliverPolicy

from gaai.agents.catalog import Catalog, catalog_path
from gaai.bus import subjects
from gaai.bus.connection import Bus
from gaai.bus.contract import TASK_AGENTS
from gaai.bus.server import LocalNatsServer
from gaai.bus.settings import Settings
from gaai.store import EmbeddedStore
from gaai.store.sample import ensure_sample_graph
from graph_analytics_ai.stack import LocalStack, ManagedProcess
from tests.processes import process_alive

BIG = "big"
BIG_VERTICES = 12_000
BIG_EDGES = 120_000
SLOW_DOC = (
    "REQ-1: We must find the people who act as brokers between groups.\n"
    "REQ-2: We must find the most influential people.\n"
)
SLOW_ALGORITHM = "betweenness"
FAST_DOC = "REQ-1: We must find the most influential customers.\nREQ-2: We should detect communities of customers.\n"
EXECUTION_ACK_WAIT_S = 12.0
RESULTS_ACK_WAIT_S = 5.0
FINAL = ("completed", "failed")


# ---------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _parents() -> dict[int, int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return parents


def descendants(pid: int) -> list[int]:
    parents = _parents()
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        for child, its_parent in parents.items():
            if its_parent == parent and child not in found:
                found.append(child)
                frontier.append(child)
    return found


def processes_with_home(home: Path) -> list[int]:
    """Processes (other than this one) started with ``GAAI_HOME=home``: what a test left behind."""
    marker = f"GAAI_HOME={home}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if marker in (entry / "environ").read_bytes().split(b"\0") and process_alive(int(entry.name)):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


class Rig:
    """What a test started, so the fixture can stop all of it."""

    def __init__(self, home: Path, tmp: Path) -> None:
        self.home = home
        self.tmp = tmp
        self.stacks: list[LocalStack] = []
        self.servers: list[LocalNatsServer] = []
        self.connections: list[nats.NATS] = []
        self.extra: list[Callable[[], object]] = []

    def nats(self) -> LocalNatsServer:
        """A nats-server on a fixed port and store folder, so a restart keeps every client's URL."""
        server = LocalNatsServer(self.tmp / f"nats-{len(self.servers)}", port=free_port())
        self.servers.append(server)
        server.start()
        return server

    def stack(self, url: str, **kwargs) -> LocalStack:
        stack = LocalStack(home=self.home, nats_url=url, **kwargs)
        self.stacks.append(stack)
        stack.start()
        return stack

    async def connect(self, url: str) -> nats.NATS:
        nc = await nats.connect(url, max_reconnect_attempts=-1, reconnect_time_wait=0.2, connect_timeout=5)
        self.connections.append(nc)
        return nc

    async def big_graph_system(self, **stack_options) -> tuple[LocalNatsServer, LocalStack, nats.NATS]:
        """The big graph, a nats-server, a stack on it and a connection, once the orchestrator serves."""
        build_big_graph(self.home)
        server = self.nats()
        stack = self.stack(server.url, **stack_options)
        nc = await self.connect(server.url)
        await wait_ready(nc)
        return server, stack, nc

    async def close(self) -> None:
        for nc in self.connections:
            if not nc.is_closed:
                await nc.close()
        for step in self.extra:
            result = step()
            if asyncio.iscoroutine(result):
                await result

    def stop(self) -> None:
        for stack in self.stacks:
            stack.stop()
        for server in self.servers:
            server.stop()
        for pid in processes_with_home(self.home):  # e.g. the computation child of a SIGKILLed agent
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
async def rig(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # Every delivery an agent works on is announced, so the tests can count who ran what.
    monkeypatch.setenv("GAAI_RUNNING_EVENT_AFTER_S", "0")
    rig = Rig(home, tmp_path)
    try:
        yield rig
    finally:
        try:
            await rig.close()
        finally:
            await asyncio.to_thread(rig.stop)


def build_big_graph(home: Path, vertices: int = BIG_VERTICES, edges: int = BIG_EDGES) -> None:
    """A random directed graph on which sampled betweenness takes seconds, as a CSV edge list."""
    rng = np.random.default_rng(5)
    src = rng.integers(0, vertices, edges)
    dst = rng.integers(0, vertices, edges)
    path = home / "knows.csv"
    path.write_text(
        "source,target\n" + "\n".join(f"p{a},p{b}" for a, b in zip(src.tolist(), dst.tolist(), strict=True)) + "\n"
    )
    EmbeddedStore(home).import_graph(BIG, [path])
    path.unlink()


def managed(stack: LocalStack, pid: int) -> ManagedProcess:
    [found] = [p for p in stack.processes if p.pid == pid]
    return found


def by_name(stack: LocalStack, name: str) -> ManagedProcess:
    [found] = [p for p in stack.processes if p.name == name]
    return found


# ---------------------------------------------------------------- bus helpers


async def ask(nc: nats.NATS, subject: str, body: dict | bytes, timeout: float = 10.0) -> dict:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return json.loads((await nc.request(subject, data, timeout=timeout)).data)


TRANSIENT = (
    nats.errors.NoRespondersError,
    nats.errors.TimeoutError,
    asyncio.TimeoutError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.ConnectionClosedError,
)


async def wait_ready(nc: nats.NATS, timeout: float = 45.0) -> None:
    """Until the orchestrator answers a status request (it may still be importing)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            reply = await ask(nc, subjects.STATUS, {"workflow_id": "readiness-probe"}, timeout=2)
            assert reply["error"]["code"] == "unknown_workflow", reply
            return
        except TRANSIENT:
            assert time.monotonic() < deadline, f"the orchestrator did not answer within {timeout} s"
            await asyncio.sleep(0.1)


async def wait_final(nc: nats.NATS, workflow_id: str, timeout: float) -> dict:
    """Poll the status until the workflow ends; the orchestrator or the server may be restarting meanwhile."""
    deadline = time.monotonic() + timeout
    last: dict | None = None
    while time.monotonic() < deadline:
        try:
            last = await ask(nc, subjects.STATUS, {"workflow_id": workflow_id}, timeout=2)
            if last.get("status") in FINAL:
                return last
        except TRANSIENT:
            pass
        await asyncio.sleep(0.25)
    pending = [
        (t["label"], t["status"])
        for t in (last or {}).get("tasks", [])
        if t["status"] not in ("completed", "failed", "skipped")
    ]
    raise WorkflowStuck(
        f"workflow {workflow_id} did not finish within {timeout} s; status {(last or {}).get('status')}, "
        f"unfinished {pending}; consumers {await consumer_states(nc)}"
    )


async def consumer_states(nc: nats.NATS) -> dict[str, object]:
    """Pending / unacknowledged / redelivered counts of every durable consumer, for failure messages."""
    js = nc.jetstream()
    states: dict[str, object] = {}
    for stream in (subjects.TASKS_STREAM, subjects.RESULTS_STREAM):
        try:
            for info in await js.consumers_info(stream):
                states[info.name] = dict(
                    pending=info.num_pending,
                    ack_pending=info.num_ack_pending,
                    redelivered=info.num_redelivered,
                    waiting=info.num_waiting,
                )
        except Exception as exc:  # diagnostics only
            states[stream] = repr(exc)
    return states


class WorkflowStuck(AssertionError):
    """The workflow did not reach a final state in time."""


async def submit(nc: nats.NATS, workflow_id: str, graph: str, text: str, max_executions: int) -> None:
    request = {
        "graph_name": graph,
        "documents": [{"content": text, "name": "asks.md"}],
        "max_executions": max_executions,
        "workflow_id": workflow_id,
    }
    reply = await ask(nc, subjects.SUBMIT, request)
    assert reply == {"workflow_id": workflow_id, "status": "running"}, reply


class EventWatch:
    """Collects a workflow's live events (core subscription) and waits for conditions on them."""

    def __init__(self) -> None:
        self.events: list[dict] = []
        self._changed = asyncio.Event()

    @classmethod
    async def start(cls, nc: nats.NATS, workflow_id: str) -> EventWatch:
        watch = cls()

        async def collect(message) -> None:
            watch.events.append(json.loads(message.data))
            watch._changed.set()

        await nc.subscribe(subjects.event_subject(workflow_id), cb=collect)
        return watch

    async def wait_for(self, find: Callable[[list[dict]], object], timeout: float, what: str) -> object:
        deadline = time.monotonic() + timeout
        while True:
            found = find(self.events)
            if found:
                return found
            remaining = deadline - time.monotonic()
            assert remaining > 0, (
                f"no {what} within {timeout} s; events: {[(e.get('task_id'), e.get('status')) for e in self.events]}"
            )
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)


def task_events(event: dict) -> list[dict]:
    """The task events in one published event: an agent's own, or those of a state write."""
    return [event] if event.get("kind") == "task" else event.get("tasks", [])


def running_on(algorithm: str) -> Callable[[list[dict]], dict | None]:
    """The first ``running`` event an agent published for the execution of ``algorithm``."""

    def find(events: list[dict]) -> dict | None:
        labels = {t["task_id"]: t["label"] for e in events for t in task_events(e) if t.get("label")}
        for event in events:
            if (
                event.get("kind") == "task"
                and event["status"] == "running"
                and event.get("instance")
                and labels.get(event["task_id"], "").endswith(f"({algorithm})")
            ):
                return event
        return None

    return find


async def stored_events(js, workflow_id: str) -> list[dict]:
    """Every event of the workflow kept in the GAAI_EVENTS stream, in order."""
    events = []
    sub = await js.subscribe(
        subjects.event_subject(workflow_id), ordered_consumer=True, deliver_policy=DeliverPolicy.ALL
    )
    try:
        while True:
            try:
                message = await sub.next_msg(timeout=3)
            except nats.errors.TimeoutError:
                break
            events.append(json.loads(message.data))
            if message.metadata.num_pending == 0:
                break
    finally:
        await sub.unsubscribe()
    return events


def agent_runs(events: list[dict]) -> dict[str, list[int]]:
    """Task id → pids of the agent processes that started it, in order (one per delivery worked on)."""
    runs: dict[str, list[int]] = defaultdict(list)
    for event in events:
        if event.get("kind") == "task" and event["status"] == "running" and event.get("instance"):
            runs[event["task_id"]].append(event["instance"]["pid"])
    return dict(runs)


async def set_ack_wait(js, stream: str, durable: str, seconds: float) -> None:
    info = await js.consumer_info(stream, durable)
    config = info.config
    config.ack_wait = seconds
    await js.add_consumer(stream, config=config)
    assert (await js.consumer_info(stream, durable)).config.ack_wait == pytest.approx(seconds)


def log_mark(process: ManagedProcess) -> int:
    """Where ``process``'s log ends now; ``wait_restarted`` looks only at what is written after."""
    return process.log_path.stat().st_size if process.log_path.exists() else 0


async def wait_restarted(
    process: ManagedProcess, ready_marker: str, restarts_before: int, log_offset: int, timeout: float = 40.0
) -> None:
    """Until the supervisor restarted ``process`` and the new one logged ``ready_marker`` (its consumer is bound)."""
    deadline = time.monotonic() + timeout
    while True:
        with open(process.log_path, "rb") as log:
            log.seek(log_offset)
            fresh = log.read().decode(errors="replace")
        if process.restarts > restarts_before and f'"event": "{ready_marker}"' in fresh:
            return
        assert time.monotonic() < deadline, (
            f"{process.name} was not back within {timeout} s (restarts {process.restarts})"
        )
        await asyncio.sleep(0.1)


async def wait_all_bound(stack: LocalStack, timeout: float = 40.0) -> None:
    """Until every process logged that its consumer is bound (agents may start after the orchestrator)."""
    deadline = time.monotonic() + timeout
    while True:
        waiting = [
            p.name
            for p in stack.processes
            if not (
                p.log_path.exists()
                and (
                    '"event": "agent ready"' in (text := p.log_path.read_text(errors="replace"))
                    or '"event": "orchestrator ready"' in text
                )
            )
        ]
        if not waiting:
            return
        assert time.monotonic() < deadline, f"not ready within {timeout} s: {waiting}"
        await asyncio.sleep(0.1)


async def computing(pid: int, timeout: float = 15.0) -> list[int]:
    """Until ``pid``'s CPU pool runs a computation (forkserver → child), so a kill lands mid-task."""
    deadline = time.monotonic() + timeout
    while True:
        parents = _parents()
        found = descendants(pid)
        if any(parents.get(child) != pid for child in found):  # a child of the forkserver, not of the agent
            return found
        assert time.monotonic() < deadline, f"no computation started under pid {pid}"
        await asyncio.sleep(0.05)


async def wait_gone(pids: list[int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while any(process_alive(p) for p in pids) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    return [p for p in pids if process_alive(p)]


# ---------------------------------------------------------------- exactly-once effects


async def catalog_caught_up(js, timeout: float) -> bool:
    """True once the catalog's consumer has acknowledged every result published before the call.

    In a cluster that just lost a node, the consumer may still be electing a leader: its info
    requests go unanswered for seconds, which is "not yet", not an answer.
    """
    published = (await js.stream_info(subjects.RESULTS_STREAM)).state.last_seq
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            info = await js.consumer_info(subjects.RESULTS_STREAM, subjects.CATALOG_CONSUMER)
        except (*TRANSIENT, nats.js.errors.ServiceUnavailableError):
            info = None
        if info is not None and info.ack_floor is not None and (info.ack_floor.stream_seq or 0) >= published:
            return True
        await asyncio.sleep(0.05)
    return False


async def assert_effects_once(js, home: Path, graph: str, status: dict, rows: int | None = None) -> None:
    """One result file per execution, one report object per format per template, one catalog entity per output."""
    workflow_id = status["workflow_id"]
    assert status["status"] == "completed", status["failures"]
    assert status["failures"] == []
    assert all(t["status"] == "completed" for t in status["tasks"]), [
        (t["label"], t["status"]) for t in status["tasks"]
    ]
    executions = [t for t in status["tasks"] if t["agent"] == "execution"]
    reports = [t for t in status["tasks"] if t["agent"] == "reporting"]
    assert executions and len(reports) == len(executions)

    results = home / "results" / graph
    files = sorted(
        p.name for p in results.iterdir() if p.name.startswith(workflow_id) or p.name.startswith(f".{workflow_id}")
    )
    assert files == sorted(f"{t['task_id']}.parquet" for t in executions), "one result file per execution, no leftovers"
    for name in files:
        table_rows = pq.ParquetFile(results / name).metadata.num_rows
        assert table_rows == rows if rows is not None else table_rows > 0

    template_ids = sorted(r["template_id"] for r in status["reports"])
    assert len(template_ids) == len(set(template_ids)) == len(reports)
    store = await js.object_store(subjects.REPORTS_BUCKET)
    try:
        objects = await store.list()
    except nats.js.errors.NotFoundError:
        objects = []
    names = sorted(o.name for o in objects if o.name.startswith(f"{workflow_id}/") and not o.deleted)
    assert names == sorted(f"{workflow_id}/{t}.{ext}" for t in template_ids for ext in ("html", "json", "md"))

    assert await catalog_caught_up(js, 30), "the catalog records every result"
    catalog = Catalog(catalog_path(home))
    counts = catalog.counts(workflow_id)
    assert counts.get("vertical") == 1 and counts.get("schema") == 1, counts
    assert counts.get("execution") == len(executions), counts
    assert counts.get("report") == len(reports), counts
    with catalog._connect() as db:
        epochs = db.execute("SELECT count(*) FROM epochs WHERE workflow_id = ?", (workflow_id,)).fetchone()[0]
        report_links = db.execute(
            "SELECT count(*) FROM lineage WHERE workflow_id = ? AND child LIKE 'report:%'", (workflow_id,)
        ).fetchone()[0]
    assert epochs == 1
    assert report_links == len(reports)


def assert_each_task_ran_once(runs: dict[str, list[int]], status: dict, except_held_by: int | None = None) -> None:
    for task in status["tasks"]:
        pids = runs.get(task["task_id"], [])
        if except_held_by is not None and except_held_by in pids:
            continue
        assert len(pids) == 1, f"{task['label']} was started {len(pids)} times by {pids}"


def new_id(kind: str) -> str:
    return f"wf-{kind}-{uuid.uuid4().hex[:10]}"


# ---------------------------------------------------------------- point 1: agent killed mid-task


@pytest.mark.timeout(60)
async def test_agent_sigkilled_while_holding_a_task_is_redelivered_and_every_effect_happens_once(rig):
    """SIGKILL the execution replica running the slow template; another replica or its restart redoes it."""
    _, stack, nc = await rig.big_graph_system(scale={"execution": 2})
    js = nc.jetstream()
    workflow_id = new_id("sigkill")
    watch = await EventWatch.start(nc, workflow_id)
    await submit(nc, workflow_id, BIG, SLOW_DOC, max_executions=2)

    started = await watch.wait_for(running_on(SLOW_ALGORITHM), 30, "execution of the slow template")
    victim_pid = started["instance"]["pid"]
    victim = managed(stack, victim_pid)
    assert victim.name.startswith("execution")
    orphans = await computing(victim_pid)  # its CPU worker processes, which SIGKILL does not reach
    restarts, offset = victim.restarts, log_mark(victim)
    os.kill(victim_pid, signal.SIGKILL)
    rig.extra.append(lambda: [os.kill(p, signal.SIGKILL) for p in orphans if process_alive(p)])

    await wait_restarted(victim, "agent ready", restarts, offset)
    await set_ack_wait(js, subjects.TASKS_STREAM, subjects.agent_consumer("execution"), EXECUTION_ACK_WAIT_S)
    status = await wait_final(nc, workflow_id, timeout=35)

    # Whatever the killed agent's worker child still does (it computes on and may write
    # its result file) must be over before the effects are counted.
    assert await wait_gone(orphans, timeout=20) == []
    slow_task = started["task_id"]
    runs = agent_runs(await stored_events(js, workflow_id))
    assert runs[slow_task][0] == victim_pid and len(runs[slow_task]) == 2, runs[slow_task]
    [final] = [t for t in status["tasks"] if t["task_id"] == slow_task]
    assert final["instance"]["pid"] == runs[slow_task][1] != victim_pid
    for task_id, pids in runs.items():  # tasks the victim had finished are not run again; any it held, once more
        if victim_pid in pids and task_id != slow_task:
            assert len(pids) <= 2 and pids.count(victim_pid) == 1, (task_id, pids)
    assert_each_task_ran_once(runs, status, except_held_by=victim_pid)
    assert victim.restarts >= 1, "the supervisor restarts the killed agent"
    await assert_effects_once(js, rig.home, BIG, status, rows=BIG_VERTICES)


# ---------------------------------------------------------------- point 2: orchestrator killed mid-workflow


async def wait_status(
    nc: nats.NATS, workflow_id: str, check: Callable[[dict], bool], timeout: float, what: str
) -> dict:
    deadline = time.monotonic() + timeout
    status: dict = {}
    while time.monotonic() < deadline:
        try:
            status = await ask(nc, subjects.STATUS, {"workflow_id": workflow_id}, timeout=2)
            if check(status):
                return status
        except TRANSIENT:
            pass
        await asyncio.sleep(0.05)
    raise AssertionError(
        f"no {what} within {timeout} s: {[(t['label'], t['status']) for t in status.get('tasks', [])]}"
    )


def only_slow_execution_in_flight(status: dict) -> bool:
    """The slow execution's dispatch is saved and nothing else is out: the orchestrator is between results."""
    in_flight = [t for t in status.get("tasks", []) if t["status"] in ("dispatched", "running")]
    return len(in_flight) == 1 and in_flight[0]["label"].endswith(f"({SLOW_ALGORITHM})")


@pytest.mark.timeout(60)
async def test_orchestrator_sigkilled_twice_mid_workflow_resumes_from_kv_and_runs_nothing_twice(rig):
    """SIGKILL the orchestrator right after it accepts a workflow, and again while the slow execution runs.

    The second kill waits until the saved state shows the slow execution dispatched and
    nothing else in flight, so its result reaches an orchestrator that must rebuild
    everything from KV. (A kill between publishing tasks and saving the state is the
    next test's subject.)
    """
    build_big_graph(rig.home, vertices=20_000, edges=200_000)
    server = rig.nats()
    stack = rig.stack(server.url)
    nc = await rig.connect(server.url)
    js = nc.jetstream()
    await wait_ready(nc)
    orchestrator = by_name(stack, "orchestrator")
    workflow_id = new_id("orchestrator")
    watch = await EventWatch.start(nc, workflow_id)

    await submit(nc, workflow_id, BIG, SLOW_DOC, max_executions=2)
    first, offset = orchestrator.pid, log_mark(orchestrator)
    os.kill(first, signal.SIGKILL)  # the state is in KV; the first task may or may not be out
    await wait_restarted(orchestrator, "orchestrator ready", 0, offset)
    await set_ack_wait(js, subjects.RESULTS_STREAM, subjects.ORCHESTRATOR_CONSUMER, RESULTS_ACK_WAIT_S)

    await watch.wait_for(running_on(SLOW_ALGORITHM), 30, "execution of the slow template")
    await wait_status(
        nc, workflow_id, only_slow_execution_in_flight, 20, "moment with only the slow execution in flight"
    )
    second, offset = orchestrator.pid, log_mark(orchestrator)
    assert second != first
    os.kill(second, signal.SIGKILL)  # its result arrives while no orchestrator runs
    await wait_restarted(orchestrator, "orchestrator ready", 1, offset)
    await set_ack_wait(js, subjects.RESULTS_STREAM, subjects.ORCHESTRATOR_CONSUMER, RESULTS_ACK_WAIT_S)

    status = await wait_final(nc, workflow_id, timeout=30)
    runs = agent_runs(await stored_events(js, workflow_id))
    assert_each_task_ran_once(runs, status)
    assert orchestrator.restarts == 2
    assert all(p.restarts == 0 for p in stack.processes if p is not orchestrator)
    await assert_effects_once(js, rig.home, BIG, status, rows=20_000)


def continue_process(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGCONT)


async def results_stored(js, subject: str, count: int, timeout: float) -> None:
    """Until the results stream holds ``count`` messages on ``subject``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = await js.stream_info(subjects.RESULTS_STREAM, subjects_filter=subject)
        if (info.state.subjects or {}).get(subject, 0) >= count:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"fewer than {count} results on {subject} after {timeout} s")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kill_point", ["published-not-saved", "saved-not-published"])
async def test_orchestrator_dying_around_saving_the_fan_out_still_completes(rig, kill_point):
    """Deterministic kill points in the step that sends the executions, whose publishes go beside the state write:
    the tasks published but the write never landed, or the write landed but the tasks were never published.

    The dying orchestrator runs in this process so the test can stop it at exactly that
    point (a frozen call never returns and its connection is dropped, as with SIGKILL);
    a fresh orchestrator then takes over, as the supervisor's restart would. In the first
    case the execution agent is held (SIGSTOP) until the dying orchestrator is gone, so
    that both results reach the next one before the templates' result that sends their
    tasks, which comes back only after its ack wait: they must be taken again, not dropped.
    """
    from gaai.orchestrator.runner import Orchestrator
    from gaai.orchestrator.state import state_decoder

    ensure_sample_graph(EmbeddedStore(rig.home), "ecommerce")
    server = rig.nats()
    stack = rig.stack(server.url)
    process = by_name(stack, "orchestrator")
    stack.processes = [p for p in stack.processes if p is not process]  # the supervisor must not bring it back
    process.process.kill()
    process.process.wait()
    settings = Settings(nats_url=server.url, home=rig.home, ack_wait_s=6.0)

    dying_bus = await Bus.connect(settings, name="test-orchestrator-dying")
    saved, published, unpublished = asyncio.Event(), asyncio.Event(), asyncio.Event()
    executions_published: list[str] = []
    frozen: list[asyncio.Task] = []
    save, publish = dying_bus.workflows.update, dying_bus.publish

    async def freeze() -> None:
        frozen.append(asyncio.current_task())
        await asyncio.Event().wait()

    async def update(key, value, last=None, **kwargs):
        state = state_decoder.decode(value)
        if any(t.agent == "execution" and t.status != "waiting" for t in state.tasks.values()):
            if kill_point == "published-not-saved":
                await freeze()  # never saved, never acknowledged
            revision = await save(key, value, last=last, **kwargs)
            saved.set()
            return revision
        return await save(key, value, last=last, **kwargs)

    async def publish_task(subject, payload, headers):
        if subject != subjects.task_subject("execution"):
            return await publish(subject, payload, headers)
        if kill_point == "saved-not-published":
            unpublished.set()
            await freeze()
        await publish(subject, payload, headers)
        executions_published.append(headers[subjects.HEADER_TASK_ID])
        if len(executions_published) == 2:
            published.set()

    dying_bus.workflows.update = update
    dying_bus.publish = publish_task
    stop_dying = asyncio.Event()
    dying = asyncio.create_task(Orchestrator(dying_bus, settings, EmbeddedStore(rig.home)).run(stop_dying))

    async def bury() -> None:
        stop_dying.set()
        for task in [*frozen, dying]:
            task.cancel()
        await asyncio.gather(*frozen, dying, return_exceptions=True)
        await dying_bus.close()

    rig.extra.append(bury)
    nc = await rig.connect(server.url)
    js = nc.jetstream()
    await wait_ready(nc)
    execution_agent = by_name(stack, "execution").pid
    workflow_id = new_id("window")
    if kill_point == "published-not-saved":
        os.kill(execution_agent, signal.SIGSTOP)
        rig.extra.append(lambda: continue_process(execution_agent))
    await submit(nc, workflow_id, "ecommerce", FAST_DOC, max_executions=2)
    await asyncio.wait_for(
        published.wait() if kill_point == "published-not-saved" else asyncio.gather(saved.wait(), unpublished.wait()),
        40,
    )
    await dying_bus.nc.close()  # the process is gone
    stop_dying.set()
    if kill_point == "published-not-saved":
        continue_process(execution_agent)
        await results_stored(js, subjects.result_subject("execution"), 2, 20)
        assert not saved.is_set()

    restarted_bus = await Bus.connect(settings, name="test-orchestrator-restarted")
    stop_restarted = asyncio.Event()
    restarted = asyncio.create_task(Orchestrator(restarted_bus, settings, EmbeddedStore(rig.home)).run(stop_restarted))

    async def stop_it() -> None:
        stop_restarted.set()
        await asyncio.wait_for(restarted, 10)
        await restarted_bus.close()

    rig.extra.insert(0, stop_it)
    status = await wait_final(nc, workflow_id, timeout=20)
    assert status["status"] == "completed"
    runs = agent_runs(await stored_events(js, workflow_id))
    assert_each_task_ran_once(runs, status)
    await assert_effects_once(js, rig.home, "ecommerce", status)


# ---------------------------------------------------------------- point 3: nats-server restarted mid-workflow


@pytest.mark.timeout(60)
async def test_nats_server_restarted_twice_mid_workflow_every_process_reconnects_and_it_completes(rig):
    """Restart nats-server (same port, same store folder) right after submission and while an execution runs."""
    server, stack, nc = await rig.big_graph_system()
    js = nc.jetstream()
    await wait_all_bound(stack)  # restarts while a process is still starting are not this test's subject
    for agent in {p.name.split("-")[0] for p in stack.processes} & set(TASK_AGENTS):
        await set_ack_wait(js, subjects.TASKS_STREAM, subjects.agent_consumer(agent), EXECUTION_ACK_WAIT_S)
    for follower in (subjects.ORCHESTRATOR_CONSUMER, subjects.CATALOG_CONSUMER):
        await set_ack_wait(js, subjects.RESULTS_STREAM, follower, RESULTS_ACK_WAIT_S)
    pids = {p.name: p.pid for p in stack.processes}
    workflow_id = new_id("natsrestart")
    watch = await EventWatch.start(nc, workflow_id)

    await submit(nc, workflow_id, BIG, SLOW_DOC, max_executions=2)
    server.stop()
    server.start()
    await watch.wait_for(running_on(SLOW_ALGORITHM), 40, "execution of the slow template")
    server.stop()
    server.start()

    status = await wait_final(nc, workflow_id, timeout=40)
    assert {p.name: p.pid for p in stack.processes} == pids, "no process died: each reconnected by itself"
    assert all(p.restarts == 0 and p.process.poll() is None for p in stack.processes)
    await assert_effects_once(js, rig.home, BIG, status, rows=BIG_VERTICES)


# ---------------------------------------------------------------- point 10: graceful shutdown


@pytest.mark.timeout(60)
async def test_sigterm_to_an_agent_mid_task_lets_it_finish_then_it_exits_and_nothing_is_lost(rig):
    """SIGTERM the only execution agent while it runs the slow template: it finishes, answers, exits 0."""
    _, stack, nc = await rig.big_graph_system()
    js = nc.jetstream()
    workflow_id = new_id("sigterm")
    watch = await EventWatch.start(nc, workflow_id)
    await submit(nc, workflow_id, BIG, SLOW_DOC, max_executions=2)

    started = await watch.wait_for(running_on(SLOW_ALGORITHM), 30, "execution of the slow template")
    agent = managed(stack, started["instance"]["pid"])
    process = agent.process
    workers = descendants(process.pid)
    process.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    while process.poll() is None:
        assert time.monotonic() - signalled < 30, "the agent did not exit within 30 s of SIGTERM"
        await asyncio.sleep(0.05)
    assert process.returncode == 0

    status = await wait_final(nc, workflow_id, timeout=30)
    slow_task = started["task_id"]
    runs = agent_runs(await stored_events(js, workflow_id))
    [final] = [t for t in status["tasks"] if t["task_id"] == slow_task]
    if runs[slow_task] == [process.pid]:
        assert final["instance"]["pid"] == process.pid  # finished before exiting
    else:  # handed back: run again elsewhere, once
        assert (
            runs[slow_task][0] == process.pid and len(runs[slow_task]) == 2 and final["instance"]["pid"] != process.pid
        ), runs[slow_task]
    assert_each_task_ran_once(runs, status, except_held_by=process.pid)
    assert await wait_gone(workers, timeout=10) == [], "its CPU worker processes end with it"
    await assert_effects_once(js, rig.home, BIG, status, rows=BIG_VERTICES)
