"""The processes a benchmark section runs on: its own nats-server, home, orchestrator and agents.

``BenchStack`` owns everything it starts (child ``Popen`` objects, a ``LocalNatsServer``,
a temporary ``GAAI_HOME``) and stops exactly those in ``stop()``; nothing is looked up
or killed by name. Helpers here also wait for readiness by asking the system itself
(a served submission, a consumer's waiting pull requests) rather than sleeping.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import msgspec

from gaai.bench.emulated_agents import PROFILE_ENV, Profile
from gaai.bus import subjects
from gaai.bus.connection import Bus
from gaai.bus.contract import TASK_AGENTS, Event, WorkflowEvent
from gaai.bus.errors import BusError
from gaai.bus.server import LocalNatsServer
from gaai.bus.settings import Settings
from gaai.store import EmbeddedStore
from graph_analytics_ai.client import WorkflowClient
from graph_analytics_ai.stack import process_argv

GRAPH = "bench"
DOCUMENT = "# Goals\n\nWe must find the most influential customers and the communities they shape.\n"


class BenchStack:
    """A fresh nats-server and ``GAAI_HOME``, and the child processes started on them.

    Args:
        label: names the temporary folder, for reading logs after a failure.
    """

    def __init__(self, label: str) -> None:
        self.home = Path(tempfile.mkdtemp(prefix=f"gaai-bench-{label}-"))
        self.server = LocalNatsServer(self.home / "nats")
        self.url = ""
        self.children: list[subprocess.Popen[bytes]] = []

    def start(self) -> BenchStack:
        self.url = self.server.start()
        (self.home / "logs").mkdir()
        # The orchestrator refuses submissions for unknown graphs, so a two-edge graph exists.
        edges = self.home / "edges.csv"
        edges.write_text("source,target\na,b\nb,c\n")
        EmbeddedStore(self.home / "store").import_graph(GRAPH, [edges])
        return self

    def settings(self, **overrides: object) -> Settings:
        return Settings(nats_url=self.url, home=self.home / "store", **overrides)

    def spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Start the command line ``argv`` against this stack; its output goes to ``logs/<name>.log``."""
        full_env = dict(os.environ, NATS_URL=self.url, GAAI_HOME=str(self.home / "store"), **(env or {}))
        full_env.pop("GAAI_DOCUMENTS_ROOT", None)
        with open(self.home / "logs" / f"{name}.log", "ab") as log:
            child = subprocess.Popen(argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL, env=full_env)
        self.children.append(child)
        return child

    def orchestrator(self) -> subprocess.Popen[bytes]:
        return self.spawn("orchestrator", process_argv("orchestrator"))

    def catalog(self) -> subprocess.Popen[bytes]:
        """The real catalog agent: it follows the results stream whatever the other agents are."""
        return self.spawn("catalog", process_argv("catalog"))

    def system(self, profile: Profile, *, concurrency: int | None = None, without: tuple[str, ...] = ()) -> None:
        """The real orchestrator and catalog, and one emulated process per task agent kind but ``without``."""
        self.orchestrator()
        self.catalog()
        for agent in TASK_AGENTS:
            if agent not in without:
                self.emulated([agent], profile, concurrency=concurrency)

    @asynccontextmanager
    async def client(self, name: str) -> AsyncIterator[tuple[WorkflowClient, Completions]]:
        """A workflow client on this stack, and the completion events of every workflow (subscribed first)."""
        bus = await Bus.connect(self.settings(), name=name)
        completions = Completions()
        subscription = await bus.follow_events("*", completions.on_event, replay=False)
        try:
            yield WorkflowClient(bus), completions
        finally:
            await subscription.close()
            await bus.close()

    def emulated(
        self, agents: list[str], profile: Profile, *, concurrency: int | None = None, name: str = ""
    ) -> subprocess.Popen[bytes]:
        """One process serving ``agents`` with the given emulated latencies."""
        env = {PROFILE_ENV: msgspec.json.encode(profile).decode()}
        if concurrency is not None:
            env["GAAI_CONCURRENCY"] = str(concurrency)
        return self.spawn(name or "-".join(agents), [sys.executable, "-m", "gaai.bench.emulated_agents", *agents], env)

    def stop(self) -> None:
        for child in self.children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for child in self.children:
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        self.children.clear()
        self.server.stop()
        shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self) -> BenchStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Completions:
    """Completion events of many workflows, from one core subscription on ``gaai.event.*``."""

    def __init__(self) -> None:
        self.waiting: dict[str, asyncio.Future[tuple[float, str]]] = {}

    def expect(self, workflow_id: str) -> asyncio.Future[tuple[float, str]]:
        future = asyncio.get_running_loop().create_future()
        self.waiting[workflow_id] = future
        return future

    def on_event(self, event: Event) -> None:
        if isinstance(event, WorkflowEvent) and event.status in ("completed", "failed"):
            future = self.waiting.pop(event.workflow_id, None)
            if future is not None and not future.done():
                future.set_result((time.perf_counter(), event.status))


async def submit_when_served(client: WorkflowClient, request, timeout: float = 30.0) -> str:
    """Submit, retrying while no orchestrator answers yet (it is still starting)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await client.submit(request)
        except BusError as exc:
            if exc.code not in ("no_orchestrator", "timeout") or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


async def wait_pull_waiting(bus: Bus, agent: str, count: int, timeout: float = 30.0) -> None:
    """Wait until ``count`` pull requests wait on ``agent``'s consumer: its replicas are idle and ready."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            progress = await bus.consumer_progress(subjects.TASKS_STREAM, subjects.agent_consumer(agent))
        except BusError:
            progress = None  # the server is slow to answer; ask again
        # No consumer yet: the first replica has not created it.
        if progress is not None and progress.pulls_waiting >= count:
            return
        if time.monotonic() > deadline:
            raise BusError("not_ready", f"{count} replica(s) of {agent} did not become ready within {timeout:.0f} s")
        await asyncio.sleep(0.05)
