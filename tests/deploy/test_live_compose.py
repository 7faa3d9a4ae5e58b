"""compose.yaml run for real: the image built, every service in its container, workflows through it (issue 14).

Needs a container engine with compose: podman with podman-compose (``tools/containers/install-podman.sh``) or
Docker with its compose plugin, and the base images the files name (where no registry is reachable,
``tools/containers/build-base-images.sh`` makes them). Skipped, saying why, where neither engine is installed.
``GAAI_COMPOSE`` picks the compose command (e.g. ``docker compose``), ``GAAI_CONTAINER_ENGINE`` the engine.

The stack runs as a project of its own (random name, random host ports), so it never touches a ``gaai`` stack
already running. podman without systemd does not run healthchecks by itself: the test runs them every few
seconds (``podman healthcheck run``), as a systemd timer would. The tests run in file order on one stack:
workflows from the client container and from the host, their trace in Jaeger, an execution container killed
mid-task, the nats container restarted mid-workflow, then ``down -v``. The module prints its timings. After its
build it removes the image the build replaced, unless a container still uses it, and earlier builds' build stages.

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
import shlex
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import yaml

from gaai.bus.contract import AGENT_NAMES, DocumentInput, SubmitRequest, WorkflowProgress
from gaai.bus.settings import Settings
from graph_analytics_ai.client import WorkflowClient, connected_client
from tests.e2e.test_faults import FAST_DOC, SLOW_ALGORITHM, SLOW_DOC, EventWatch, running_on

ROOT = Path(__file__).parents[2]
PODMAN_COMPOSE_CACHED = Path.home() / ".cache" / "gaai" / "containers" / "podman-compose" / "bin" / "podman-compose"
IMAGE = "graph-analytics-ai:local"
BIG_GRAPH = "big"
# Sampled betweenness on this graph is 256 passes over a million vertices and edges, 7.6 times the work on
# tests/e2e/test_faults.py's graph: seconds in a container, so the kill and the nats restart, which follow its
# start at once, always land while it runs.
BIG_VERTICES = 100_000
BIG_EDGES = 900_000
COMPOSE_TEXT = (ROOT / "compose.yaml").read_text()
SERVICES = yaml.safe_load(COMPOSE_TEXT)["services"]
# Services that run until stopped, each with a healthcheck, and their replicas; `client` runs only on demand.
LONG_RUNNING = {
    name: int((service.get("deploy") or {}).get("replicas", 1))
    for name, service in SERVICES.items()
    if not service.get("profiles")
}
UP_TIMEOUT_S = 240  # healthy: an agent may wait 30 s for the streams; the first healthcheck pass counts
WORKFLOW_TIMEOUT_S = 300  # a redelivery waits out the execution consumer's 30 s ack wait, then runs the task again


def find_compose() -> tuple[str, list[str]] | str:
    """(engine, compose command), or why there is none."""
    if os.environ.get("GAAI_COMPOSE"):
        command = shlex.split(os.environ["GAAI_COMPOSE"])
        engine = os.environ.get("GAAI_CONTAINER_ENGINE") or ("docker" if command[0] == "docker" else "podman")
        return engine, command
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return "docker", ["docker", "compose"]
    if shutil.which("podman"):
        podman_compose = shutil.which("podman-compose") or (
            str(PODMAN_COMPOSE_CACHED) if PODMAN_COMPOSE_CACHED.exists() else None
        )
        if podman_compose:
            return "podman", [podman_compose]
        return "podman without podman-compose: run tools/containers/install-podman.sh"
    return "no container engine (podman or Docker with compose): run tools/containers/install-podman.sh"


FOUND = find_compose()
pytestmark = [
    pytest.mark.skipif(isinstance(FOUND, str), reason=str(FOUND)),
    pytest.mark.timeout(900),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Container:
    id: str
    name: str
    service: str
    hostname: str
    status: str
    health: str | None
    pid: int
    started_at: str
    restarts: int


@dataclass
class Stack:
    """One compose project of compose.yaml and the commands on it."""

    engine: str
    compose_command: list[str]
    project: str
    env: dict[str, str]
    nats_port: int
    jaeger_port: int
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def compose(self, *args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [*self.compose_command, "-p", self.project, "-f", str(ROOT / "compose.yaml"), *args]
        done = subprocess.run(command, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and done.returncode != 0:
            raise AssertionError(
                f"{shlex.join(command)} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            )
        return done

    def engine_run(self, *args: str, check: bool = True, timeout: float = 120) -> str:
        done = subprocess.run([self.engine, *args], capture_output=True, text=True, timeout=timeout)
        if check and done.returncode != 0:
            raise AssertionError(f"{self.engine} {shlex.join(args)} exited {done.returncode}: {done.stderr[-2000:]}")
        return done.stdout

    def image_id(self, image: str) -> str | None:
        done = subprocess.run(
            [self.engine, "image", "inspect", "--format", "{{.Id}}", image], capture_output=True, text=True
        )
        return done.stdout.strip() or None if done.returncode == 0 else None

    def remove_earlier_build_stages(self) -> None:
        """Remove the untagged build-stage images of earlier builds (the Dockerfile labels them), newest kept."""
        listed = self.engine_run(
            "images", "--filter", "dangling=true", "--filter", "label=gaai.stage=build", "--format", "{{.ID}}"
        ).split()
        for stage in listed[1:]:  # newest first; the newest is the layer cache of the next build
            self.engine_run("image", "rm", stage, check=False)

    def containers(self) -> list[Container]:
        ids = self.engine_run("ps", "-a", "-q", "--filter", f"label=com.docker.compose.project={self.project}").split()
        if not ids:
            return []
        found = []
        for info in json.loads(self.engine_run("inspect", *ids)):
            health = info["State"].get("Health") or info["State"].get("Healthcheck") or {}
            found.append(
                Container(
                    id=info["Id"],
                    name=info["Name"].lstrip("/"),
                    service=info["Config"]["Labels"].get("com.docker.compose.service", ""),
                    hostname=info["Config"]["Hostname"],
                    status=info["State"]["Status"],
                    health=health.get("Status") or None,
                    pid=info["State"]["Pid"],
                    started_at=info["State"]["StartedAt"],
                    restarts=info.get("RestartCount", 0),
                )
            )
        return found

    def service_containers(self, service: str) -> list[Container]:
        return sorted((c for c in self.containers() if c.service == service), key=lambda c: c.name)

    def unhealthy(self) -> dict[str, str]:
        """Long-running containers that are not running and healthy, by name: status/health."""
        seen = {c.service: 0 for c in self.containers()}
        state = {}
        for container in self.containers():
            if container.service in LONG_RUNNING:
                seen[container.service] += 1
                if (container.status, container.health) != ("running", "healthy"):
                    state[container.name] = f"{container.status}/{container.health}"
        for service, expected in LONG_RUNNING.items():
            if seen.get(service, 0) != expected:
                state[service] = f"{seen.get(service, 0)} of {expected} containers"
        return state

    def wait_healthy(self, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while state := self.unhealthy():
            if time.monotonic() > deadline:
                logs = self.compose("logs", "--tail", "20", check=False)
                raise AssertionError(f"{what}: not healthy within {timeout} s: {state}\n{logs.stdout[-6000:]}")
            time.sleep(1)

    def settings(self, user: str) -> Settings:
        return Settings(
            nats_url=f"nats://127.0.0.1:{self.nats_port}",
            nats_user=user,
            nats_password=self.env[f"GAAI_PASSWORD_{user.upper()}"],
        )


class HealthcheckDriver:
    """Runs each container's healthcheck every few seconds, which podman leaves to systemd timers."""

    def __init__(self, stack: Stack, interval: float = 3.0) -> None:
        self.stack, self.interval = stack, interval
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                containers = self.stack.containers()
            except AssertionError:
                continue  # a container went away between listing and inspecting it (compose down): next round
            for container in containers:
                if container.status == "running" and container.service in LONG_RUNNING:
                    subprocess.run(
                        [self.stack.engine, "healthcheck", "run", container.id], capture_output=True, timeout=30
                    )

    def __enter__(self) -> HealthcheckDriver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join(timeout=60)


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
def stack(pytestconfig: pytest.Config) -> Iterator[Stack]:
    assert not isinstance(FOUND, str)
    engine, compose_command = FOUND
    started = time.monotonic()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("GAAI_PASSWORD_", "NATS_"))}
    # Every variable compose.yaml requires (passwords, tokens) gets a fresh secret, every published port a free one.
    required = set(re.findall(r"\$\{(\w+):?\?", COMPOSE_TEXT))
    env.update({variable: secrets.token_hex(16) for variable in required})
    ports = {variable: str(free_port()) for variable in re.findall(r"\$\{(GAAI_\w+_PORT):-", COMPOSE_TEXT)}
    env.update(ports)
    nats_port, jaeger_port = int(ports["GAAI_NATS_PORT"]), int(ports["GAAI_JAEGER_UI_PORT"])
    live = Stack(engine, compose_command, f"gaai-live-{secrets.token_hex(3)}", env, nats_port, jaeger_port)
    reporter = pytestconfig.pluginmanager.getplugin("terminalreporter")  # the timings line shows with -q too
    try:
        previous_image = live.image_id(IMAGE)
        begin = time.monotonic()
        live.compose("build", "orchestrator", timeout=1800)
        live.timings["image build"] = time.monotonic() - begin
        if previous_image and previous_image != live.image_id(IMAGE):
            # The replaced image, now untagged; a container of another stack may still run it, then it stays.
            live.engine_run("image", "rm", previous_image, check=False)
        live.remove_earlier_build_stages()
        size = live.engine_run("image", "inspect", "--format", "{{.Size}}", IMAGE).strip()
        live.timings["image size MB"] = int(size) / 1e6
        begin = time.monotonic()
        live.compose("up", "-d", "--no-build")
        live.timings["up -d"] = time.monotonic() - begin
        with HealthcheckDriver(live) if engine == "podman" else _no_driver():
            live.wait_healthy(UP_TIMEOUT_S, "after up")
            live.timings["up -d to all healthy"] = time.monotonic() - begin
            yield live
    finally:
        if "down -v" not in live.timings:  # the last test did not get to it
            live.compose("--profile", "tools", "down", "-v", "--timeout", "10", check=False)
        live.timings["whole module"] = time.monotonic() - started
        capture = pytestconfig.pluginmanager.getplugin("capturemanager")
        with capture.global_and_fixture_disabled():
            reporter.ensure_newline()
            reporter.write_line(
                f"live compose ({engine}, {shlex.join(compose_command)}): "
                + ", ".join(f"{name} {value:.1f}{'' if 'MB' in name else ' s'}" for name, value in live.timings.items())
                + "".join(f"; {note}" for note in live.notes)
            )


class _no_driver:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def run_client(stack: Stack, *args: str, volumes: tuple[str, ...] = (), timeout: float = 600) -> str:
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
        async with connected_client(stack.settings("client"), name="live-test") as client:
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
    url = f"http://127.0.0.1:{stack.jaeger_port}/api/traces/{progress.trace_id}"
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
    it was told to kill stopped, so when the task's ack wait runs out JetStream redelivers it to the other replica,
    the only one left, and the workflow completes with every report. Then the killed container is started again,
    and the other replica's process is SIGKILLed: its restart policy brings its container back. Both end healthy."""
    write_big_graph(tmp_path)
    run_client(stack, "gaai", "import", BIG_GRAPH, "/import/knows.csv", volumes=(f"{tmp_path}:/import:ro",))

    async def scenario() -> tuple[Container, Container]:
        async with connected_client(stack.settings("client"), name="live-test") as client:
            begin = time.monotonic()
            workflow_id = await client.submit(submit_request(BIG_GRAPH, SLOW_DOC, max_executions=2))
            watch = await EventWatch.start(client.bus.nc, workflow_id)
            started = await watch.wait_for(running_on(SLOW_ALGORITHM), 60, "the slow execution")
            victim_instance = started["instance"]
            replicas = stack.service_containers("execution")
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
        async with connected_client(stack.settings("client"), name="live-test") as client:
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
    stack.compose("--profile", "tools", "down", "-v", "--timeout", "10")
    stack.timings["down -v"] = time.monotonic() - begin
    label = f"label=com.docker.compose.project={stack.project}"
    assert stack.engine_run("ps", "-a", "-q", "--filter", label).split() == []
    volumes = stack.engine_run("volume", "ls", "-q").split()
    assert [v for v in volumes if v.startswith(f"{stack.project}_")] == []
    networks = stack.engine_run("network", "ls", "--format", "{{.Name}}").split()
    assert [n for n in networks if n.startswith(f"{stack.project}_")] == []
