"""Heartbeat files and ``python -m gaai.bus.health``: real agent, catalog and orchestrator processes on a real
nats-server."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from gaai.bus.server import LocalNatsServer
from tests.conftest import assert_eventually
from tests.processes import process_alive

INTERVAL_S = 0.2
MAX_AGE_S = 1.0


def health(*arguments: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m gaai.bus.health ARGUMENTS`` as a container healthcheck runs it."""
    checked = subprocess.run(
        [sys.executable, "-m", "gaai.bus.health", *arguments],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    assert "Traceback" not in checked.stderr, checked.stderr
    return checked


def check(health_file: Path) -> subprocess.CompletedProcess[str]:
    return health("--file", str(health_file), "--max-age", str(MAX_AGE_S))


def passes(health_file: Path) -> bool:
    return check(health_file).returncode == 0


def failure(health_file: Path) -> str | None:
    """The check's one line when it finds the process unhealthy (exit 1), else None."""
    checked = check(health_file)
    return checked.stderr.strip() if checked.returncode == 1 else None


def written_at(health_file: Path) -> float:
    return json.loads(health_file.read_text())["time"]


@pytest.fixture
def start(tmp_path: Path):
    """Start ``python -m MODULE`` against a server, heartbeating every ``INTERVAL_S`` into a file of its own."""
    started: list[subprocess.Popen[bytes]] = []

    def start(module: str, nats_url: str, health_file: Path | None = None) -> tuple[subprocess.Popen[bytes], Path]:
        if health_file is None:
            health_file = tmp_path / "health" / f"{module}.json"
            health_file.parent.mkdir(exist_ok=True)
        env = {
            **os.environ,
            "GAAI_HOME": str(tmp_path / "home"),
            "NATS_URL": nats_url,
            "GAAI_HEALTH_FILE": str(health_file),
            "GAAI_HEALTH_INTERVAL_S": str(INTERVAL_S),
        }
        with open(tmp_path / f"{module}.log", "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", module], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log
            )
        started.append(process)
        return process, health_file

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGCONT)  # a stopped process would not die of SIGKILL until continued
            process.kill()
            process.wait(10)


async def test_an_agent_is_healthy_while_it_runs_unhealthy_while_stopped_and_leaves_no_file_when_terminated(
    fresh_nats, start
):
    """The check passes for longer than its max age (so the file is rewritten), fails once SIGSTOP freezes the agent's
    loop, passes again after SIGCONT; SIGTERM removes the file."""
    agent, health_file = start("gaai.agents.vertical", fresh_nats.url)
    await assert_eventually(lambda: passes(health_file), timeout=30)
    first = written_at(health_file)
    await assert_eventually(lambda: written_at(health_file) > first + MAX_AGE_S)
    assert passes(health_file)

    os.kill(agent.pid, signal.SIGSTOP)
    stale = await assert_eventually(lambda: failure(health_file))
    assert re.fullmatch(
        rf"unhealthy: {re.escape(str(health_file))} is stale: "
        rf"written \d+\.\d s ago by gaai-vertical \(pid {agent.pid}\), max age 1 s",
        stale,
    )

    os.kill(agent.pid, signal.SIGCONT)
    await assert_eventually(lambda: passes(health_file))

    agent.terminate()
    assert agent.wait(30) == 0
    assert not health_file.exists()
    assert os.listdir(health_file.parent) == [], "a temporary file was left behind"
    assert (
        failure(health_file)
        == f"unhealthy: {health_file} is missing: the process has not connected to NATS yet, or has stopped"
    )


async def test_an_agent_that_loses_nats_stops_refreshing_its_file_until_nats_is_back(fresh_nats, start, tmp_path):
    """With the server gone the agent keeps running but its file goes stale; a server on the same port makes it fresh
    again."""
    agent, health_file = start("gaai.agents.vertical", fresh_nats.url)
    await assert_eventually(lambda: passes(health_file), timeout=30)
    port = urlsplit(fresh_nats.url).port

    fresh_nats.stop()
    stale = await assert_eventually(lambda: failure(health_file))
    assert " is stale: " in stale
    assert process_alive(agent.pid) and health_file.exists()

    with LocalNatsServer(tmp_path / "nats", port=port):
        await assert_eventually(lambda: passes(health_file), timeout=15)


@pytest.mark.parametrize(
    ("module", "process"), [("gaai.orchestrator", "gaai-orchestrator"), ("gaai.agents.catalog", "gaai-catalog")]
)
async def test_the_orchestrator_and_the_catalog_keep_a_heartbeat_too(fresh_nats, start, module, process):
    """Every long-running process connects through the bus, so it writes its heartbeat without code of its own."""
    running, health_file = start(module, fresh_nats.url)
    await assert_eventually(lambda: passes(health_file), timeout=30)
    first = written_at(health_file)
    await assert_eventually(lambda: written_at(health_file) > first + MAX_AGE_S)
    beat = json.loads(health_file.read_text())
    assert (beat["process"], beat["pid"]) == (process, running.pid)
    running.terminate()
    assert running.wait(30) == 0
    assert not health_file.exists()


def test_a_process_that_cannot_write_its_health_file_stops_at_start_naming_it(fresh_nats, start, tmp_path):
    """A GAAI_HEALTH_FILE in a folder that does not exist is a bad setting: exit 2 with one line, like any other."""
    health_file = tmp_path / "no-such-folder" / "health.json"
    agent, _ = start("gaai.agents.vertical", fresh_nats.url, health_file)
    assert agent.wait(30) == 2
    last_line = (tmp_path / "gaai.agents.vertical.log").read_text().strip().splitlines()[-1]
    assert last_line == (
        f"gaai-vertical: GAAI_HEALTH_FILE={str(health_file)!r}: "
        "cannot write it: No such file or directory [bad_setting]"
    )


def heartbeat(path: Path, age_s: float) -> Path:
    path.write_text(json.dumps({"pid": 4242, "process": "gaai-test", "time": time.time() - age_s}))
    return path


def test_a_fresh_heartbeat_passes_and_an_old_one_fails_with_its_age(tmp_path):
    """Fresh means written no more than --max-age seconds ago; a stale file is reported with its age and its writer."""
    fresh = health("--file", str(heartbeat(tmp_path / "fresh.json", 0.5)), "--max-age", "5")
    assert (fresh.returncode, fresh.stdout.strip()) == (0, f"healthy: {tmp_path / 'fresh.json'} is fresh")
    old = health("--file", str(heartbeat(tmp_path / "old.json", 60)), "--max-age", "5")
    assert old.returncode == 1
    assert re.fullmatch(
        rf"unhealthy: {re.escape(str(tmp_path / 'old.json'))} is stale: "
        rf"written 60\.\d s ago by gaai-test \(pid 4242\), max age 5 s\n",
        old.stderr,
    )


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "is missing: the process has not connected to NATS yet, or has stopped"),
        (b"\x00\xffnot json", "is unreadable: not a heartbeat (JSON with time, process and pid)"),
        (
            b'{"time": "yesterday", "process": "gaai-test", "pid": 1}',
            "is unreadable: not a heartbeat (JSON with time, process and pid)",
        ),
        (b'{"pid": 1, "process": "gaai-test"}', "is unreadable: not a heartbeat (JSON with time, process and pid)"),
        (b"[1, 2]", "is unreadable: not a heartbeat (JSON with time, process and pid)"),
        (b'{"time": Infinity, "process": "gaai-test", "pid": 1}', "is unreadable: its time is inf"),
    ],
)
def test_a_missing_or_unreadable_file_fails_with_one_line(tmp_path, content, problem):
    """Exit 1 and one line saying what is wrong with the file, never a traceback."""
    path = tmp_path / "health.json"
    if content is not None:
        path.write_bytes(content)
    checked = health("--file", str(path))
    assert (checked.returncode, checked.stderr) == (1, f"unhealthy: {path} {problem}\n")


def test_a_folder_in_place_of_the_file_is_unreadable(tmp_path):
    """An OS error reading the file is reported as unreadable, with the system's reason."""
    checked = health("--file", str(tmp_path))
    assert (checked.returncode, checked.stderr) == (1, f"unhealthy: {tmp_path} is unreadable: Is a directory\n")


def test_the_file_and_the_max_age_default_to_the_process_settings(tmp_path):
    """GAAI_HEALTH_FILE names the file; the max age is three GAAI_HEALTH_INTERVAL_S."""
    path = heartbeat(tmp_path / "health.json", 5)
    assert health(env={"GAAI_HEALTH_FILE": str(path), "GAAI_HEALTH_INTERVAL_S": "2"}).returncode == 0
    assert health(env={"GAAI_HEALTH_FILE": str(path), "GAAI_HEALTH_INTERVAL_S": "1"}).returncode == 1


@pytest.mark.parametrize("max_age", ["abc", "0", "-3", "nan", "inf"])
def test_a_bad_max_age_exits_2_with_a_message(tmp_path, max_age):
    """The max age must be a finite number of seconds above zero; anything else is a usage error, not an unhealthy
    process."""
    checked = health("--file", str(heartbeat(tmp_path / "health.json", 0)), "--max-age", max_age)
    assert checked.returncode == 2
    assert (
        checked.stderr.strip().splitlines()[-1]
        == f"python -m gaai.bus.health: error: argument --max-age: {max_age!r} is not a number of seconds > 0"
    )


def test_without_a_file_or_with_a_bad_interval_the_check_exits_2_with_a_message(tmp_path):
    """No file to check, or a GAAI_HEALTH_INTERVAL_S that is no number, is a configuration error (exit 2)."""
    unnamed = health(env={"GAAI_HEALTH_FILE": ""})
    assert unnamed.returncode == 2
    assert (
        unnamed.stderr.strip().splitlines()[-1]
        == "python -m gaai.bus.health: error: no heartbeat file: pass --file or set GAAI_HEALTH_FILE"
    )
    bad_interval = health("--file", str(heartbeat(tmp_path / "health.json", 0)), env={"GAAI_HEALTH_INTERVAL_S": "soon"})
    assert (bad_interval.returncode, bad_interval.stderr) == (
        2,
        "gaai-health: GAAI_HEALTH_INTERVAL_S='soon': expected a number > 0 [bad_setting]\n",
    )


def test_a_local_stack_does_not_hand_its_health_file_to_its_children(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A health file names one process: the orchestrator and agents of ``gaai up`` must not share the caller's."""
    from graph_analytics_ai.stack import LocalStack

    shared = tmp_path / "caller-health.json"
    monkeypatch.setenv("GAAI_HEALTH_FILE", str(shared))
    monkeypatch.setenv("GAAI_HEALTH_INTERVAL_S", str(INTERVAL_S))
    home = tmp_path / "home"
    with LocalStack(home=home, agents=("vertical",)) as stack:
        deadline = time.monotonic() + 30
        while "agent ready" not in (home / "logs" / "vertical.log").read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "agent ready" in (home / "logs" / "vertical.log").read_text()
        time.sleep(3 * INTERVAL_S)
        assert all(process_alive(m.process.pid) for m in stack.processes)
        assert not shared.exists()
