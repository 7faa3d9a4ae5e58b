"""compose.yaml with compose.cluster.yaml run for real: three nats containers as one JetStream cluster, every gaai
process on it with GAAI_REPLICAS=3, and one nats container SIGKILLed mid-run (issue 13).

The project is ``gaai-cluster`` with its own host ports (fresh secrets, free ports), so it never touches a ``gaai``
stack already running; one left by an interrupted run is taken down first. The tests run in file order on one
stack: workflows from the client container and from the host with the nats-server leading the results stream
SIGKILLed under them (every workflow completes, each effect stored once, the node restarts and holds its replicas
again), then ``down -v``. The module prints its timings. Skipped, saying why, without a container engine with
compose (see ``tests/deploy/podman.py``).

Worth its time (an image build when the sources changed, then a stack of fifteen containers) because nothing else
runs compose.cluster.yaml and deploy/nats-cluster.conf: the loopback cluster of tests/e2e/test_cluster.py starts
its nodes from command-line options.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest

from gaai.bus import subjects
from tests.deploy.podman import ROOT, ComposeProject, Container, find_compose, fresh_environment, running
from tests.e2e.test_cluster import REPLICATED, until_replicas_current
from tests.e2e.test_faults import (
    FAST_DOC,
    agent_runs,
    assert_effects_once,
    new_id,
    stored_events,
    submit,
    wait_final,
    wait_ready,
)

PROJECT = "gaai-cluster"
FILES = [ROOT / "compose.yaml", ROOT / "compose.cluster.yaml"]
# Service name → the node's server name (GAAI_NATS_NODE) and the variable of its host port.
NODES = {
    "nats": ("nats-1", "GAAI_NATS_PORT"),
    "nats-2": ("nats-2", "GAAI_NATS_2_PORT"),
    "nats-3": ("nats-3", "GAAI_NATS_3_PORT"),
}
BATCH = 4
UP_TIMEOUT_S = 240  # healthy: an agent may wait 30 s for the streams; the first healthcheck pass counts
WORKFLOW_TIMEOUT_S = 120

FOUND = find_compose()
pytestmark = [pytest.mark.skipif(isinstance(FOUND, str), reason=str(FOUND)), pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def cluster(pytestconfig: pytest.Config) -> Iterator[ComposeProject]:
    assert not isinstance(FOUND, str)
    engine, compose_command = FOUND
    env = fresh_environment([path.read_text() for path in FILES])
    project = ComposeProject(engine, compose_command, PROJECT, FILES, env)
    with running(project, pytestconfig, "live cluster", UP_TIMEOUT_S):
        yield project


async def connect(project: ComposeProject) -> nats.NATS:
    """The host's connection as the `client` user, listing the three nodes' host ports."""
    servers = [f"nats://127.0.0.1:{project.env[port]}" for _, port in NODES.values()]
    return await nats.connect(
        servers,
        user="client",
        password=project.env["GAAI_PASSWORD_CLIENT"],
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.2,
        connect_timeout=2,
    )


def service_of(server_name: str) -> str:
    [service] = [service for service, (name, _) in NODES.items() if name == server_name]
    return service


def sigkill_nats_server(project: ComposeProject, service: str) -> Container:
    """SIGKILL the nats-server of ``service``'s container (its first process: the nats image runs no init), as a crash
    would; the container as it was."""
    [container] = project.service_containers(service)
    assert Path(f"/proc/{container.pid}/comm").read_text().strip() == "nats-server", container
    os.kill(container.pid, signal.SIGKILL)
    return container


def test_workflows_complete_with_the_results_stream_leader_sigkilled_mid_run(cluster):
    begin = time.monotonic()
    done = cluster.compose(
        "--profile", "tools", "run", "--rm", "--no-deps", "client",
        "gaai", "demo", "--max-executions", "1", "--output", "/var/lib/gaai/output",
    )  # fmt: skip
    assert re.search(r"Workflow \S+: completed, 1 reports?", done.stdout), done.stdout[-3000:]
    cluster.timings["client container demo"] = time.monotonic() - begin
    home = cluster.volume_path("gaai-home")

    async def under_kill() -> tuple[Container, float, list[dict]]:
        nc = await connect(cluster)
        try:
            js = nc.jetstream()
            await wait_ready(nc)
            await until_replicas_current(js)
            for stream in REPLICATED:  # every stream and bucket on all three containers
                info = await js.stream_info(stream)
                assert info.config.num_replicas == 3, stream
                names = {info.cluster.leader, *(peer.name for peer in info.cluster.replicas)}
                assert names == {name for name, _ in NODES.values()}, (stream, names)
            victim = service_of((await js.stream_info(subjects.RESULTS_STREAM)).cluster.leader)
            ids = [new_id("live-cluster") for _ in range(BATCH)]
            started = time.monotonic()
            await asyncio.gather(*(submit(nc, workflow_id, "ecommerce", FAST_DOC, 2) for workflow_id in ids))
            waiting = asyncio.gather(*(wait_final(nc, workflow_id, WORKFLOW_TIMEOUT_S) for workflow_id in ids))
            await asyncio.sleep(1.0)  # the batch's first tasks are running: the kill lands mid-workflow
            killed = sigkill_nats_server(cluster, victim)
            statuses = await waiting
            return killed, time.monotonic() - started, statuses
        finally:
            await nc.close()

    killed, makespan, statuses = asyncio.run(under_kill())
    victim = killed.service
    cluster.timings[f"{BATCH} workflows, {victim} killed"] = makespan

    begin = time.monotonic()
    cluster.wait_healthy(120, f"after {victim} was killed")  # its restart policy brings it back

    # The effects are counted once the node is back and current, as tests/e2e/test_cluster.py counts them after its
    # recovery: until the groups the node led have elected a leader again, JetStream requests on them time out.
    async def rejoined_with_effects_once() -> int:
        nc = await connect(cluster)
        try:
            js = nc.jetstream()
            await until_replicas_current(js, timeout=60)
            cluster.timings[f"{victim} back and current"] = time.monotonic() - begin
            reruns = 0
            for status in statuses:
                await assert_effects_once(js, home, "ecommerce", status)
                runs = agent_runs(await stored_events(js, status["workflow_id"]))
                reruns += sum(len(pids) - 1 for pids in runs.values())
            return reruns
        finally:
            await nc.close()

    reruns = asyncio.run(rejoined_with_effects_once())
    print(f"\n{json.dumps({'killed': victim, 'makespan s': round(makespan, 2), 'tasks started again': reruns})}")
    [back] = cluster.service_containers(victim)
    assert back.id == killed.id and back.started_at != killed.started_at and back.pid != killed.pid, back


def test_down_with_volumes_leaves_no_container_volume_or_network(cluster):
    begin = time.monotonic()
    cluster.down()
    cluster.timings["down -v"] = time.monotonic() - begin
    cluster.assert_gone()
