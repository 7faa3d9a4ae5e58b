"""``GAAI_CONNECT_WAIT_S``: how long a process waits for its first NATS connection. A service started before its
nats-server (containers start in order, not when nats is healthy) waits for it instead of exiting at once; a
process given a short wait and no server exits 2 with one line, no traceback.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from gaai.bus.server import LocalNatsServer


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def agent_env(home: Path, port: int, **extra: str) -> dict[str, str]:
    return dict(os.environ, GAAI_HOME=str(home), NATS_URL=f"nats://127.0.0.1:{port}", **extra)


def test_an_agent_started_before_its_server_waits_past_the_default_and_then_serves(home, tmp_path):
    port = free_port()
    health = tmp_path / "health.json"
    env = agent_env(home, port, GAAI_CONNECT_WAIT_S="60", GAAI_HEALTH_FILE=str(health), GAAI_HEALTH_INTERVAL_S="0.5")
    log = tmp_path / "agent.log"
    with log.open("wb") as stderr:
        agent = subprocess.Popen(
            [sys.executable, "-m", "gaai.agents.vertical"], env=env, stdout=subprocess.DEVNULL, stderr=stderr
        )
    server = LocalNatsServer(tmp_path / "nats", port=port)
    try:
        time.sleep(11)  # past the default wait of 10 s
        assert agent.poll() is None, log.read_text()
        server.start()
        deadline = time.monotonic() + 45
        while not health.exists() and time.monotonic() < deadline:
            assert agent.poll() is None, log.read_text()
            time.sleep(0.2)
        assert health.exists(), "the agent never reported itself connected"
        assert agent.poll() is None
    finally:
        agent.terminate()
        agent.wait(timeout=30)
        server.stop()


def test_a_process_given_a_short_wait_and_no_server_exits_2_with_one_line(home):
    port = free_port()
    started = time.monotonic()
    ended = subprocess.run(
        [sys.executable, "-m", "gaai.agents.vertical"],
        env=agent_env(home, port, GAAI_CONNECT_WAIT_S="1"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    elapsed = time.monotonic() - started
    assert ended.returncode == 2
    assert "Traceback" not in ended.stderr
    assert f"cannot connect to NATS at nats://127.0.0.1:{port}" in ended.stderr
    # Interpreter start and imports take a few seconds on a loaded machine; the default wait alone is 10 s.
    assert elapsed < 9, elapsed
