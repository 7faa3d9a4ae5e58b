"""Replicated state on a 3-node JetStream cluster (issue 13, D2): losing one server is a non-event.

A real cluster of three nats-servers on loopback (``LocalNatsCluster``: random ports, a store folder each) and
the whole system as OS processes (``LocalStack``) with ``GAAI_REPLICAS=3``, ``NATS_URL`` naming all three and
``GAAI_ACK_WAIT_S=10`` (the cluster setting ``docs/DEPLOY.md`` gives).
One stack serves every scenario of this module, in order, so the figures come from the same processes:

1. a baseline batch of workflows with every node up;
2. the same batch with the JetStream meta leader SIGKILLed mid-batch, then restarted;
3. again with the leader of a stream the workflows write (results, tasks or workflow state) SIGKILLed;
4. again with the node most of the processes are connected to SIGKILLed;
5. two nodes down: status requests get ``state_unavailable`` (retryable), then everything recovers.

Each kill scenario counts the workflows submitted and completed, the tasks an agent started more than once,
the effects stored more than once (result files, report objects, catalog entities: ``assert_effects_once``),
the added stall: the batch's p99 makespan (8 workflows, so the slowest) minus the baseline's, and how long the
cluster took to elect a new leader for every stream and durable consumer the killed node led. The workload
is light on purpose (the bundled e-commerce sample graph, offline LLM): the subject is the bus, not the work.
A node restarted after a kill must hold its replicas again (every stream's peers current) before the next
scenario kills another node, so each later batch also proves the earlier node rejoined without loss.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import nats
import nats.js.errors
import numpy as np
import pytest

from gaai.bus import subjects
from gaai.bus.connection import Bus
from gaai.bus.server import LocalNatsCluster, LocalNatsServer, nats_server_binary
from gaai.bus.settings import Settings
from gaai.store import EmbeddedStore
from gaai.store.sample import ensure_sample_graph
from graph_analytics_ai.stack import LocalStack
from tests.conftest import assert_eventually
from tests.e2e.test_faults import (
    FAST_DOC,
    TRANSIENT,
    agent_runs,
    ask,
    assert_effects_once,
    new_id,
    stored_events,
    submit,
    wait_all_bound,
    wait_final,
    wait_ready,
)

BATCH = 8
# A Raft group's followers wait 4-9 s without a heartbeat from a lost leader before electing another (nats-server's
# election timeout, not configurable), and every stream and consumer the killed node led waits for its own election:
# no workflow can go on sooner. The bound is the longest election with room for a loaded runner (the baseline's
# makespan varies by seconds there); the measured figures are printed.
ACK_WAIT_S = 10.0
ELECTION_TIMEOUT_MAX_S = 9.0
STALL_BOUND_S = ELECTION_TIMEOUT_MAX_S + 5.0
REPLICATED = (
    subjects.TASKS_STREAM,
    subjects.RESULTS_STREAM,
    subjects.EVENTS_STREAM,
    subjects.DLQ_STREAM,
    f"KV_{subjects.WORKFLOWS_BUCKET}",
    f"KV_{subjects.CANCELLATIONS_BUCKET}",
    f"OBJ_{subjects.DOCUMENTS_BUCKET}",
    f"OBJ_{subjects.REPORTS_BUCKET}",
)
# Makespans of each scenario's batch, by scenario name, for the later ones to compare with the baseline.
MAKESPANS: dict[str, list[float]] = {}
COMPLETED: list[str] = []


class System:
    """The cluster and the stack every scenario of this module runs on."""

    def __init__(self, cluster: LocalNatsCluster, stack: LocalStack, home: Path) -> None:
        self.cluster = cluster
        self.stack = stack
        self.home = home
        self.pids = {p.name: p.pid for p in stack.processes}

    def monitor(self, index: int, path: str) -> dict:
        membership = self.cluster.nodes[index].cluster
        assert membership is not None
        with urllib.request.urlopen(f"http://127.0.0.1:{membership.monitor_port}{path}", timeout=5) as answer:
            return json.loads(answer.read())

    def running_nodes(self) -> list[int]:
        return [i for i, node in enumerate(self.cluster.nodes) if node.process is not None]

    def meta_leader(self) -> int:
        [any_up, *_] = self.running_nodes()
        return self.cluster.node_named(self.monitor(any_up, "/jsz")["meta_cluster"]["leader"])

    def busiest_node(self) -> int:
        """The node most gaai processes are connected to (each names itself when it connects)."""
        counts = {
            index: sum(1 for c in self.monitor(index, "/connz?limit=1000")["connections"] if c.get("name"))
            for index in self.running_nodes()
        }
        return max(counts, key=lambda index: counts[index])

    def assert_no_process_exited(self) -> None:
        assert {p.name: p.pid for p in self.stack.processes} == self.pids, "a process was restarted"
        assert all(p.restarts == 0 and p.process.poll() is None for p in self.stack.processes)


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    base = tmp_path_factory.mktemp("cluster")
    home = base / "home"
    home.mkdir()
    ensure_sample_graph(EmbeddedStore(home), "ecommerce")
    cluster = LocalNatsCluster(base, size=3)
    cluster.start()
    variables = ("GAAI_REPLICAS", "GAAI_RUNNING_EVENT_AFTER_S", "GAAI_HOME", "GAAI_ACK_WAIT_S")
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(
        GAAI_REPLICAS="3", GAAI_RUNNING_EVENT_AFTER_S="0", GAAI_HOME=str(home), GAAI_ACK_WAIT_S=f"{ACK_WAIT_S:g}"
    )
    stack = LocalStack(home=home, nats_url=cluster.url)
    try:
        stack.start()
        yield System(cluster, stack, home)
    finally:
        stack.stop()
        cluster.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


async def connect(system: System) -> nats.NATS:
    return await nats.connect(
        system.cluster.url.split(","), max_reconnect_attempts=-1, reconnect_time_wait=0.2, connect_timeout=2
    )


async def until_replicas_current(js, timeout: float = 30.0) -> None:
    """Until every replicated stream has a leader and all its peers caught up (a restarted node rejoined)."""
    deadline = time.monotonic() + timeout
    lagging: list[str] = []
    while time.monotonic() < deadline:
        lagging = []
        for stream in REPLICATED:
            try:
                cluster = (await js.stream_info(stream)).cluster
            except (*TRANSIENT, nats.js.errors.Error):
                lagging.append(stream)
                continue
            peers = cluster.replicas or []
            if not cluster.leader or len(peers) != 2 or not all(p.current and not p.offline for p in peers):
                lagging.append(stream)
        if not lagging:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"replicas not current within {timeout} s: {lagging}")


def leaders(system: System, node: int) -> dict[str, str]:
    """The leader of every stream and replicated consumer, as node ``node``'s monitoring port reports it ("" while
    none); an ephemeral consumer lives on one server and dies with it, so it is left out."""
    found: dict[str, str] = {}
    for account in system.monitor(node, "/jsz?accounts=true&streams=true&consumers=true").get("account_details", []):
        for stream in account.get("stream_detail") or []:
            found[stream["name"]] = (stream.get("cluster") or {}).get("leader") or ""
            for consumer in stream.get("consumer_detail") or []:
                cluster = consumer.get("cluster") or {}
                if cluster.get("replicas"):
                    found[f"{stream['name']} > {consumer['name']}"] = cluster.get("leader") or ""
    return found


async def elections_after(system: System, led: set[str], victim: str, killed_at: float, timeout: float = 60) -> float:
    """Seconds from ``killed_at`` until each stream and consumer in ``led`` has a leader other than ``victim``, as a
    surviving node sees it."""
    observer = next(index for index in system.running_nodes() if system.cluster.nodes[index].cluster.name != victim)
    while True:
        current = await asyncio.to_thread(leaders, system, observer)
        waiting = sorted(name for name in led if current.get(name, "") in ("", victim))
        if not waiting:
            return time.monotonic() - killed_at
        assert time.monotonic() - killed_at < timeout, f"no new leader within {timeout} s for {waiting}"
        await asyncio.sleep(0.1)


async def run_batch(
    system: System,
    nc: nats.NATS,
    kind: str,
    kill: Callable[[], Awaitable[int]] | None = None,
    recover: Callable[[], Awaitable[None]] | None = None,
) -> dict:
    """Submit ``BATCH`` workflows at once; ``kill`` runs once some of them are under way, ``recover`` once all are
    final (their makespans taken), before the effects are counted.

    Returns the figures of the batch; asserts every workflow completed with each effect stored once.
    """
    js = nc.jetstream()
    ids = [new_id(kind) for _ in range(BATCH)]
    started = time.monotonic()
    await asyncio.gather(*(submit(nc, workflow_id, "ecommerce", FAST_DOC, max_executions=2) for workflow_id in ids))

    async def makespan(workflow_id: str) -> tuple[dict, float]:
        status = await wait_final(nc, workflow_id, timeout=90)
        return status, time.monotonic() - started

    waiting = asyncio.gather(*(makespan(workflow_id) for workflow_id in ids))
    victim = None
    elections = None
    if kill is not None:
        await asyncio.sleep(1.0)  # the batch's first tasks are running: the kill lands mid-workflow
        before = await asyncio.to_thread(leaders, system, 0)  # every node is up: what each one leads
        victim = await kill()
        killed_at = time.monotonic()
        name = system.cluster.nodes[victim].cluster.name
        led = {group for group, leader in before.items() if leader == name}
        elections = asyncio.create_task(elections_after(system, led, name, killed_at))
    finished = await waiting
    elected_s = await elections if elections is not None else None
    if recover is not None:
        await recover()
    statuses = [status for status, _ in finished]
    COMPLETED.extend(s["workflow_id"] for s in statuses if s["status"] == "completed")
    MAKESPANS[kind] = [seconds for _, seconds in finished]
    reruns = 0
    for status in statuses:
        await assert_effects_once(js, system.home, "ecommerce", status)
        runs = agent_runs(await stored_events(js, status["workflow_id"]))
        reruns += sum(len(pids) - 1 for pids in runs.values() if len(pids) > 1)
    figures = {
        "scenario": kind,
        "killed": victim,
        "submitted": len(ids),
        "completed": sum(s["status"] == "completed" for s in statuses),
        "tasks started again": reruns,
        "p99 makespan s": round(float(np.percentile(MAKESPANS[kind], 99)), 2),
    }
    if "baseline" in MAKESPANS and kind != "baseline":
        added = np.percentile(MAKESPANS[kind], 99) - np.percentile(MAKESPANS["baseline"], 99)
        figures["added p99 stall s"] = round(float(added), 2)
    if elected_s is not None:
        figures["leaders re-elected after s"] = round(elected_s, 2)
    print(f"\n{json.dumps(figures)}", file=sys.stderr)
    return figures


async def scenario(system: System, kind: str, choose: Callable[[nats.NATS], Awaitable[int]]) -> None:
    """A batch with the node ``choose`` names SIGKILLed mid-way. Once every workflow is final the node is started
    again (whatever happens) and the effects are counted when it holds its replicas again."""
    nc = await connect(system)
    killed: list[int] = []

    async def kill() -> int:
        index = await choose(nc)
        system.cluster.nodes[index].kill()
        killed.append(index)
        return index

    async def recover() -> None:
        while killed:
            await asyncio.to_thread(system.cluster.start_node, killed.pop())
        await until_replicas_current(nc.jetstream())

    try:
        await wait_ready(nc)
        await until_replicas_current(nc.jetstream())
        figures = await run_batch(system, nc, kind, kill, recover)
    finally:
        try:
            await recover()  # when the batch failed before it recovered
        finally:
            await nc.close()
    assert figures["completed"] == BATCH
    system.assert_no_process_exited()
    assert figures["added p99 stall s"] <= STALL_BOUND_S, figures


# ---------------------------------------------------------------- replicas


def test_the_shipped_cluster_configuration_is_valid_with_a_node_name_and_the_passwords():
    """``deploy/nats-cluster.conf`` (which includes ``nats-server.conf``) passes ``nats-server -t``; without
    ``GAAI_NATS_NODE`` it is refused, naming the variable."""
    config = Path(__file__).resolve().parents[2] / "deploy" / "nats-cluster.conf"
    text = config.read_text() + (config.parent / "nats-server.conf").read_text()
    passwords = {name: "pw" for name in set(re.findall(r"\$(GAAI_PASSWORD_[A-Z_]+)", text))}
    base_env = {"PATH": os.environ.get("PATH", ""), **passwords}

    def check(env: dict[str, str]) -> subprocess.CompletedProcess:
        command = [nats_server_binary(), "-t", "-c", str(config)]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=30)

    assert check({**base_env, "GAAI_NATS_NODE": "nats-1"}).returncode == 0
    refused = check(base_env)
    assert refused.returncode != 0 and "GAAI_NATS_NODE" in refused.stderr + refused.stdout
    assert "sync_interval: always" in text


async def test_resources_made_with_one_replica_are_brought_to_gaai_replicas(tmp_path):
    """A process started with GAAI_REPLICAS=3 on a cluster whose streams were made at 1 replica updates them;
    one started without GAAI_REPLICAS does not shrink them back."""
    with LocalNatsCluster(tmp_path, size=3) as cluster:
        single = await Bus.connect(Settings(nats_url=cluster.url, replicas=1), name="test-r1")
        try:
            await single.ensure_orchestrator_consumer(Settings())
            for stream in REPLICATED:
                assert (await single.js.stream_info(stream)).config.num_replicas == 1
        finally:
            await single.close()
        replicated = await Bus.connect(Settings(nats_url=cluster.url, replicas=3), name="test-r3")
        try:
            for stream in REPLICATED:
                assert (await replicated.js.stream_info(stream)).config.num_replicas == 3, stream
            await until_replicas_current(replicated.js)  # two peers beside the leader, caught up

            async def consumer_replicated() -> bool:
                info = await replicated.js.consumer_info(subjects.RESULTS_STREAM, subjects.ORCHESTRATOR_CONSUMER)
                # A consumer being moved to its new peers answers without cluster information for a moment.
                return info.cluster is not None and len(info.cluster.replicas or []) == 2

            await assert_eventually(consumer_replicated, timeout=10)  # a durable consumer follows its stream
        finally:
            await replicated.close()
        unset = await Bus.connect(Settings(nats_url=cluster.url), name="test-unset")
        try:
            for stream in REPLICATED:  # a process without GAAI_REPLICAS leaves them as they are
                assert (await unset.js.stream_info(stream)).config.num_replicas == 3, stream
        finally:
            await unset.close()


@pytest.mark.parametrize(
    ("replicas", "message"),
    [
        (
            "3",
            "cannot create stream GAAI_TASKS with 3 replica(s) (GAAI_REPLICAS): replicas > 1 not supported in "
            "non-clustered mode; GAAI_REPLICAS must be at most the number of JetStream servers in the cluster "
            "(1 without a cluster) [bad_setting]",
        ),
        ("6", "GAAI_REPLICAS='6': JetStream keeps at most 5 replicas [bad_setting]"),
    ],
    ids=["more-than-servers", "more-than-jetstream-keeps"],
)
def test_replicas_a_server_cannot_keep_stop_the_process_with_exit_2_and_one_line(tmp_path, replicas, message):
    with LocalNatsServer(tmp_path / "nats") as server:
        env = dict(os.environ, NATS_URL=server.url, GAAI_REPLICAS=replicas, GAAI_HOME=str(tmp_path / "home"))
        done = subprocess.run(
            [sys.executable, "-m", "gaai.orchestrator"], env=env, capture_output=True, text=True, timeout=60
        )
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.endswith(message), line


async def test_every_stream_and_bucket_is_replicated_on_each_node(system):
    nc = await connect(system)
    try:
        await wait_ready(nc)
        await wait_all_bound(system.stack)
        js = nc.jetstream()
        for stream in REPLICATED:
            info = await js.stream_info(stream)
            assert info.config.num_replicas == 3, stream
            assert sorted([info.cluster.leader, *(p.name for p in info.cluster.replicas)]) == [
                "node-0",
                "node-1",
                "node-2",
            ], stream
        for consumer in await js.consumers_info(subjects.RESULTS_STREAM):
            assert len(consumer.cluster.replicas) == 2, f"{consumer.name} follows its stream's replicas"
    finally:
        await nc.close()


@pytest.mark.timeout(60)
async def test_a_baseline_batch_completes_with_every_node_up(system):
    nc = await connect(system)
    try:
        await wait_ready(nc)
        figures = await run_batch(system, nc, "baseline")
        assert figures["completed"] == BATCH and figures["tasks started again"] == 0
        system.assert_no_process_exited()
    finally:
        await nc.close()


# ---------------------------------------------------------------- one node lost


@pytest.mark.timeout(120)
async def test_losing_the_meta_leader_mid_batch(system):
    async def meta_leader(nc: nats.NATS) -> int:
        return system.meta_leader()

    await scenario(system, "meta-leader", meta_leader)


@pytest.mark.timeout(120)
async def test_losing_a_stream_leader_mid_batch(system):
    """The leader of the results stream, the tasks stream or the workflow state, whichever is not the meta leader."""

    async def stream_leader(nc: nats.NATS) -> int:
        js = nc.jetstream()
        names = (subjects.RESULTS_STREAM, subjects.TASKS_STREAM, f"KV_{subjects.WORKFLOWS_BUCKET}")
        leaders = [system.cluster.node_named((await js.stream_info(name)).cluster.leader) for name in names]
        meta = system.meta_leader()
        return next((index for index in leaders if index != meta), leaders[0])

    await scenario(system, "stream-leader", stream_leader)


@pytest.mark.timeout(120)
async def test_losing_the_node_most_processes_are_connected_to_mid_batch(system):
    async def busiest_node(nc: nats.NATS) -> int:
        return system.busiest_node()

    await scenario(system, "busiest-node", busiest_node)


# ---------------------------------------------------------------- two nodes lost


@pytest.mark.timeout(120)
async def test_two_nodes_down_status_is_state_unavailable_then_everything_recovers(system):
    assert COMPLETED, "an earlier scenario of this module completed workflows"
    nc = await connect(system)
    try:
        await wait_ready(nc)
        await until_replicas_current(nc.jetstream())
        down = [1, 2]
        for index in down:
            system.cluster.nodes[index].kill()
        answers: list[dict] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any(a.get("error") for a in answers):
            try:
                answers.append(await ask(nc, subjects.STATUS, {"workflow_id": COMPLETED[0]}, timeout=15))
            except TRANSIENT:
                await asyncio.sleep(0.2)
        errors = [a["error"] for a in answers if a.get("error")]
        assert errors, f"no error while two of three nodes were down: {answers}"
        assert {(e["code"], e["retryable"]) for e in errors} == {("state_unavailable", True)}, errors
        for index in down:
            await asyncio.to_thread(system.cluster.start_node, index)
        await until_replicas_current(nc.jetstream(), timeout=60)
        await wait_ready(nc)
        for workflow_id in COMPLETED:
            status = await wait_final(nc, workflow_id, timeout=30)
            assert status["status"] == "completed", workflow_id
        figures = await run_batch(system, nc, "after-two-down")
        assert figures["completed"] == BATCH
        system.assert_no_process_exited()
    finally:
        await nc.close()
