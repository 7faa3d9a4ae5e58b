"""compose.yaml run for real: the image built, every service in its container, workflows through it (issue 14).

Needs a container engine with compose and the base images the files name (where no registry is reachable,
``tools/containers/build-base-images.sh`` makes them); skipped, saying why, without an engine with compose (see
``tests/deploy/podman.py``, which also runs podman's healthchecks and, after the build, removes the image the build
replaced, unless a container still uses it, and earlier builds' build stages).

The stack runs as a project of its own (random name, random host ports), so it never touches a ``gaai`` stack
already running. The tests run in file order on one stack: workflows from the client container and from the host,
their trace in Jaeger, an execution container killed mid-task, the nats container restarted mid-workflow, then
``down -v``. compose.yaml runs as shipped but for the execution replicas' ack wait, 10 s as compose.cluster.yaml
sets it, so the killed container's task comes back sooner. The module prints its timings.

Worth its time (minutes: an image build, then a stack of a dozen containers) because nothing else runs the
Dockerfile and compose.yaml. The engine keeps the image's layers and the build its pip cache, so a second run
rebuilds only from the first changed source folder on.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import signal
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from gaai.bus.contract import AGENT_NAMES, DocumentInput, SubmitRequest, WorkflowProgress
from gaai.bus.settings import Settings
from graph_analytics_ai.client import WorkflowClient, connected_client
from tests.deploy.podman import ROOT, ComposeProject, Container, find_compose, fresh_environment, running
from tests.e2e.test_faults import FAST_DOC, SLOW_ALGORITHM, SLOW_DOC, EventWatch, running_on

BIG_GRAPH = "big"
# Sampled betweenness on this graph is 256 passes over 550,000 vertices and edges, four times the work on
# tests/e2e/test_faults.py's graph: seconds in a container, so the kill and the nats restart, which follow its
# `running` event with nothing left to look up, land while it runs.
BIG_VERTICES = 50_000
BIG_EDGES = 500_000
FILES = [ROOT / "compose.yaml"]
# The execution replicas' ack wait, as compose.cluster.yaml sets it for every process: a killed replica's task comes
# back after it rather than after the default 30 s. The only override of compose.yaml (a file in the test's tmp).
EXECUTION_ACK_WAIT_S = 10
UP_TIMEOUT_S = 240  # healthy: an agent may wait 30 s for the streams; the first healthcheck pass counts
WORKFLOW_TIMEOUT_S = 300  # a redelivery waits out the execution consumer's ack wait, then runs the task again

FOUND = find_compose()
pytestmark = [
    pytest.mark.skipif(isinstance(FOUND, str), reason=str(FOUND)),
    pytest.mark.timeout(900),
]


def write_big_graph(folder: Path) -> Path:
    """A random directed graph on which sampled betweenness takes seconds, as a CSV edge list."""
    rng = np.random.default_rng(5)
    src = rng.integers(0, BIG_VERTICES, BIG_EDGES)
    dst = rng.integers(0, BIG_VERTICES, BIG_EDGES)
    path = folder / "knows.csv"
    path.write_text(
        "source,target\n" + "".join(f"p{a},p{b}\n" for a, b in zip(src.tolist(), dst.tolist(), strict=True))
    )
    folder.chmod(0o755)
    path.chmod(0o644)  # the image's user (uid 10001) reads it through the bind mount
    return path


@pytest.fixture(scope="module")
def stack(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComposeProject]:
    assert not isinstance(FOUND, str)
    engine, compose_command = FOUND
    env = fresh_environment([path.read_text() for path in FILES])
    ack_wait = tmp_path_factory.mktemp("compose") / "execution-ack-wait.yaml"
    ack_wait.write_text(f'services:\n  execution:\n    environment:\n      GAAI_ACK_WAIT_S: "{EXECUTION_ACK_WAIT_S}"\n')
    files = [*FILES, ack_wait]
    live = ComposeProject(engine, compose_command, f"gaai-live-{secrets.token_hex(3)}", files, env)
    with running(live, pytestconfig, "live compose", UP_TIMEOUT_S):
        yield live


def client_settings(stack: ComposeProject) -> Settings:
    """The host's settings as NATS user `client`, on the stack's published nats port."""
    return Settings(
        nats_url=f"nats://127.0.0.1:{stack.env['GAAI_NATS_PORT']}",
        nats_user="client",
        nats_password=stack.env["GAAI_PASSWORD_CLIENT"],
    )


def run_client(stack: ComposeProject, *args: str, volumes: tuple[str, ...] = (), timeout: float = 600) -> str:
    """``compose run`` of the client service (the gaai CLI as NATS user `client`); its output."""
    mounts = [arg for volume in volumes for arg in ("-v", volume)]
    done = stack.compose("--profile", "tools", "run", "--rm", "--no-deps", *mounts, "client", *args, timeout=timeout)
    return done.stdout


async def assert_reports_stored(client: WorkflowClient, progress: WorkflowProgress) -> None:
    """Every report of the completed workflow is in the object store, in all three formats, for its own workflow."""
    assert progress.status == "completed", (progress.status, [(t.label, t.status) for t in progress.tasks])
    assert progress.reports, "a completed workflow has reports"
    reports = await client.fetch_reports(progress)
    assert len(reports) == len(progress.reports)
    for report in reports:
        assert set(report.files) >= {"html", "json", "md"}, report.files.keys()
        assert all(report.files.values()), "no empty report file"
        assert report.title and report.title.encode() in report.files["md"]
        assert json.loads(report.files["json"])  # a parseable report


def runs_of(events: list[dict], task_id: str) -> list[dict]:
    """The agent instances (agent, host = container hostname, pid, instance_id) that started ``task_id``, in order."""
    return [
        e["instance"]
        for e in events
        if e.get("kind") == "task" and e.get("task_id") == task_id and e["status"] == "running" and e.get("instance")
    ]


def submit_request(graph: str, text: str, max_executions: int) -> SubmitRequest:
    return SubmitRequest(
        graph_name=graph, documents=[DocumentInput(content=text, name="asks.md")], max_executions=max_executions
    )


# The host's workflow, whose trace the Jaeger test reads.
HOST_WORKFLOW: list[WorkflowProgress] = []


def test_workflows_from_the_client_container_and_from_the_host_complete_with_their_reports(stack):
    begin = time.monotonic()
    output = run_client(stack, "gaai", "demo", "--max-executions", "3", "--output", "/var/lib/gaai/output")
    match = re.search(r"Workflow (\S+): completed, (\d+) reports?", output)
    assert match, output[-3000:]
    demo_id, demo_reports = match.group(1), int(match.group(2))
    assert demo_reports == 3
    stack.timings["client container demo"] = time.monotonic() - begin

    async def from_host() -> None:
        async with connected_client(client_settings(stack), name="live-test") as client:
            demo = await client.status(demo_id)
            assert len(demo.reports) == demo_reports
            await assert_reports_stored(client, demo)

            begin = time.monotonic()
            workflow_id = await client.submit(submit_request("ecommerce", FAST_DOC, max_executions=2))
            progress = await client.wait(workflow_id, timeout=WORKFLOW_TIMEOUT_S)
            await assert_reports_stored(client, progress)
            assert len(progress.reports) == 2
            stack.timings["host workflow"] = time.monotonic() - begin
            HOST_WORKFLOW.append(progress)

    asyncio.run(from_host())


def test_jaeger_holds_the_host_workflow_trace_with_spans_from_every_service(stack):
    if not HOST_WORKFLOW:
        pytest.skip("the host's workflow did not complete (see the test before)")
    [progress] = HOST_WORKFLOW
    expected = {"gaai-orchestrator", *(f"gaai-{agent}" for agent in AGENT_NAMES)}
    url = f"http://127.0.0.1:{stack.env['GAAI_JAEGER_UI_PORT']}/api/traces/{progress.trace_id}"
    executions = [t for t in progress.tasks if t.agent == "execution"]
    assert len(executions) == 2  # max_executions=2
    deadline = time.monotonic() + 30
    services: set[str] = set()
    workflow_spans: list[dict] = []
    executed: list[dict] = []
    while True:  # the processes export their spans in batches, so the trace fills up over a few seconds
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                [trace] = json.load(response)["data"]
            services = {p["serviceName"] for p in trace["processes"].values()}
            workflow_spans = [s for s in trace["spans"] if s["operationName"].startswith("workflow ")]
            executed = [s for s in trace["spans"] if s["operationName"] == "process gaai.task.execution"]
            if services >= expected and len(workflow_spans) == 1 and len(executed) == len(executions):
                break
        except (OSError, ValueError):
            pass
        assert time.monotonic() < deadline, (
            f"trace {progress.trace_id}: services lack {sorted(expected - services)}, "
            f"{len(workflow_spans)} workflow spans, {len(executed)} of {len(executions)} execution spans"
        )
        time.sleep(1)
    assert {trace["processes"][s["processID"]]["serviceName"] for s in executed} == {"gaai-execution"}


def kill_agent_process(container: Container) -> None:
    """SIGKILL the gaai process of ``container``, the only child of its init, as the OOM killer would."""
    children = Path(f"/proc/{container.pid}/task/{container.pid}/children").read_text().split()
    assert len(children) == 1, f"{container.name}'s init has children {children}"
    os.kill(int(children[0]), signal.SIGKILL)


def test_an_execution_container_killed_mid_task_its_task_is_redone_by_the_other_replica(stack, tmp_path):
    """Kill the execution container running the slow algorithm, as when its host dies: an engine leaves a container
    it was told to kill stopped, so when the task's ack wait (``EXECUTION_ACK_WAIT_S``) runs out JetStream redelivers
    it to the other replica, the only one left, and the workflow completes with every report. Then the killed
    container is started again, and the other replica's process is SIGKILLed: its restart policy brings its container
    back. Both end healthy."""
    write_big_graph(tmp_path)
    run_client(stack, "gaai", "import", BIG_GRAPH, "/import/knows.csv", volumes=(f"{tmp_path}:/import:ro",))

    async def scenario() -> tuple[Container, Container]:
        async with connected_client(client_settings(stack), name="live-test") as client:
            replicas = stack.service_containers("execution")  # listed first: the kill must follow the task's start
            begin = time.monotonic()
            workflow_id = await client.submit(submit_request(BIG_GRAPH, SLOW_DOC, max_executions=2))
            watch = await EventWatch.start(client.bus.nc, workflow_id)
            started = await watch.wait_for(running_on(SLOW_ALGORITHM), 60, "the slow execution")
            victim_instance = started["instance"]
            [victim] = [c for c in replicas if c.hostname == victim_instance["host"]]
            [other] = [c for c in replicas if c.id != victim.id]
            await asyncio.to_thread(stack.engine_run, "kill", "--signal", "KILL", victim.id)

            progress = await client.wait(workflow_id, timeout=WORKFLOW_TIMEOUT_S)
            await assert_reports_stored(client, progress)
            stack.timings["killed execution: workflow"] = time.monotonic() - begin
            [stopped] = [c for c in stack.service_containers("execution") if c.id == victim.id]
            assert stopped.status != "running", "a killed container stays down until started"
            runs = runs_of(watch.events, started["task_id"])
            assert runs[0]["instance_id"] == victim_instance["instance_id"] and len(runs) >= 2, runs
            [task] = [t for t in progress.tasks if t.task_id == started["task_id"]]
            assert task.status == "completed" and task.instance is not None
            assert (task.instance.host, runs[-1]["host"]) == (other.hostname, other.hostname), (
                f"the slow task was redone on {task.instance.host}, not on the other replica {other.hostname}"
            )
            return victim, other

    victim, other = asyncio.run(scenario())
    stack.engine_run("start", victim.id)
    kill_agent_process(other)
    stack.wait_healthy(120, "after the kill")
    back = {c.id: c for c in stack.service_containers("execution")}
    assert back[victim.id].started_at != victim.started_at and back[victim.id].pid != victim.pid
    assert back[other.id].restarts > other.restarts and back[other.id].pid != other.pid, "restarted by its policy"
    stack.notes.append(f"killed task redone by the other replica ({other.name})")


def test_the_nats_container_restarted_mid_workflow_every_workflow_completes(stack):
    """Restart nats while two workflows run: JetStream's file store is on its volume, every process reconnects,
    and the slow workflow, in flight when nats goes down, goes on to finish."""

    async def scenario() -> tuple[dict[str, WorkflowProgress], float]:
        [nats] = stack.service_containers("nats")  # listed first: the restart must follow the slow task's start
        async with connected_client(client_settings(stack), name="live-test") as client:
            begin = time.monotonic()
            slow = await client.submit(submit_request(BIG_GRAPH, SLOW_DOC, max_executions=2))
            fast = await client.submit(submit_request("ecommerce", FAST_DOC, max_executions=2))
            watch = await EventWatch.start(client.bus.nc, slow)
            await watch.wait_for(running_on(SLOW_ALGORITHM), 60, "the slow execution")
            restart_began = time.time()
            await asyncio.to_thread(stack.engine_run, "restart", nats.id)
            [restarted] = stack.service_containers("nats")
            assert restarted.started_at != nats.started_at
            done = {
                name: await client.wait(workflow_id, timeout=WORKFLOW_TIMEOUT_S)
                for name, workflow_id in (("slow", slow), ("fast", fast))
            }
            for progress in done.values():
                await assert_reports_stored(client, progress)
            stack.timings["restarted nats: workflows"] = time.monotonic() - begin
            return done, restart_began

    done, restart_began = asyncio.run(scenario())
    [slow_execution] = [
        t for t in done["slow"].tasks if t.agent == "execution" and t.label.endswith(f"({SLOW_ALGORITHM})")
    ]
    assert slow_execution.ended_at is not None and slow_execution.ended_at > restart_began, (
        f"the slow execution ended {restart_began - (slow_execution.ended_at or 0):.1f} s before the restart began"
    )
    stack.wait_healthy(120, "after restarting nats")


def test_down_with_volumes_leaves_no_container_volume_or_network(stack):
    begin = time.monotonic()
    stack.down()
    stack.timings["down -v"] = time.monotonic() - begin
    stack.assert_gone()
