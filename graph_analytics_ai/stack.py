"""The embedded stack: nats-server, the orchestrator and one process per agent, supervised.

Used by ``gaai up``, ``gaai demo``/``gaai run`` and the Python API when no ``NATS_URL``
is given. Each component is its own OS process, exactly as in production; a process
that dies unexpectedly is restarted with backoff and the restart is logged.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from gaai.bus.contract import AGENT_NAMES
from gaai.bus.errors import GaaiError
from gaai.bus.server import LocalNatsServer
from gaai.bus.settings import nats_servers

RESTART_BACKOFF_S = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)

ENTRY_MODULES: dict[str, str] = {
    "orchestrator": "gaai.orchestrator",
    "vertical": "gaai.agents.vertical",
    "schema": "gaai.agents.schema",
    "requirements": "gaai.agents.requirements",
    "use_cases": "gaai.agents.use_cases",
    "templates": "gaai.agents.templates",
    "execution": "gaai.agents.execution",
    "reporting": "gaai.agents.reporting",
    "catalog": "gaai.agents.catalog",
    "web": "gaai.web",
}
"""The module each process kind runs with ``python -m``: the orchestrator, every agent of ``AGENT_NAMES``, the web
gateway."""


def process_argv(kind: str) -> list[str]:
    """The command line that starts one process of ``kind`` (a key of ``ENTRY_MODULES``) with this interpreter."""
    return [sys.executable, "-m", ENTRY_MODULES[kind]]


@dataclass
class ManagedProcess:
    name: str
    argv: list[str]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    next_start: float = 0.0
    started_at: float = 0.0

    def start(self, env: dict[str, str]) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL, env={**env, **self.env}
            )
        self.started_at = time.monotonic()

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None


@dataclass
class LocalStack:
    """Start with ``start()``, stop with ``stop()`` (or use it as a context manager).

    ``process_env`` adds variables per process kind (``orchestrator`` or an agent name),
    e.g. each one's own NATS credentials. ``web_port`` also starts the web gateway on 127.0.0.1 at that port.
    """

    home: Path
    nats_url: str | None = None
    scale: dict[str, int] = field(default_factory=dict)
    agents: tuple[str, ...] = AGENT_NAMES
    announce: object = None
    process_env: dict[str, dict[str, str]] = field(default_factory=dict)
    web_port: int | None = None
    processes: list[ManagedProcess] = field(default_factory=list)
    server: LocalNatsServer | None = None
    _stopping: threading.Event = field(default_factory=threading.Event)
    _monitor: threading.Thread | None = None

    def start(self) -> str:
        unknown = sorted(set(self.scale) - set(self.agents))
        if unknown:
            raise GaaiError(
                "unknown_agent", f"cannot scale unknown agent(s) {', '.join(unknown)}; agents: {', '.join(self.agents)}"
            )
        self.home.mkdir(parents=True, exist_ok=True)
        log_dir = self.home / "logs"
        log_dir.mkdir(exist_ok=True)
        if self.nats_url:
            nats_servers(self.nats_url)  # a bad NATS_URL stops here, before any process starts and fails on it
        else:
            self.server = LocalNatsServer()
            self.nats_url = self.server.start()
        env = dict(os.environ, NATS_URL=self.nats_url, GAAI_HOME=str(self.home))
        # A health file is one process's heartbeat (a container's); children sharing the
        # caller's would overwrite each other, and this stack supervises them itself.
        env.pop("GAAI_HEALTH_FILE", None)
        self._env = env
        orchestrator_env = self.process_env.get("orchestrator", {})
        argv = process_argv("orchestrator")
        self.processes = [ManagedProcess("orchestrator", argv, log_dir / "orchestrator.log", orchestrator_env)]
        for agent in self.agents:
            for replica in range(self.scale.get(agent, 1)):
                name = agent if replica == 0 else f"{agent}-{replica + 1}"
                agent_env = self.process_env.get(agent, {})
                self.processes.append(ManagedProcess(name, process_argv(agent), log_dir / f"{name}.log", agent_env))
        if self.web_port is not None:
            argv = [*process_argv("web"), "--host", "127.0.0.1", "--port", str(self.web_port)]
            self.processes.append(ManagedProcess("web", argv, log_dir / "web.log", self.process_env.get("web", {})))
        for managed in self.processes:
            managed.start(env)
        self._monitor = threading.Thread(target=self._supervise, name="gaai-supervisor", daemon=True)
        self._monitor.start()
        return self.nats_url

    def _say(self, text: str) -> None:
        if callable(self.announce):
            self.announce(text)

    def _supervise(self) -> None:
        while not self._stopping.wait(0.2):
            for managed in self.processes:
                process = managed.process
                if process is None or process.poll() is None or self._stopping.is_set():
                    continue
                if managed.next_start == 0.0:
                    # A process that ran a while before dying gets a fresh backoff.
                    if time.monotonic() - managed.started_at > 60:
                        managed.restarts = 0
                    delay = RESTART_BACKOFF_S[min(managed.restarts, len(RESTART_BACKOFF_S) - 1)]
                    managed.next_start = time.monotonic() + delay
                    self._say(
                        f"{managed.name} (pid {process.pid}) exited with code {process.returncode}; "
                        f"restarting in {delay:.1f} s"
                    )
                elif time.monotonic() >= managed.next_start:
                    managed.restarts += 1
                    managed.next_start = 0.0
                    managed.start(self._env)
                    self._say(f"{managed.name} restarted (pid {managed.pid}, restart {managed.restarts})")

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        if self._monitor:
            self._monitor.join()
        for managed in self.processes:
            if managed.process and managed.process.poll() is None:
                managed.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for managed in self.processes:
            if managed.process is None:
                continue
            try:
                managed.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                managed.process.kill()
                managed.process.wait()
        if self.server:
            self.server.stop()
            self.server = None

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
