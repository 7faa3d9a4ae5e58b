"""Settings from the environment: bad values are refused with the variable named, and a process given one exits
cleanly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from gaai.bus.errors import GaaiError
from gaai.bus.settings import Settings, nats_servers


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("GAAI_CONCURRENCY", "abc", "GAAI_CONCURRENCY='abc': expected a whole number > 0"),
        ("GAAI_CONCURRENCY", "0", "GAAI_CONCURRENCY='0': expected a whole number > 0"),
        ("GAAI_MAX_DELIVER", "-3", "GAAI_MAX_DELIVER='-3': expected a whole number > 0"),
        ("GAAI_CPU_WORKERS", "2.5", "GAAI_CPU_WORKERS='2.5': expected a whole number > 0"),
        ("GAAI_ACK_WAIT_S", "nan", "GAAI_ACK_WAIT_S='nan': expected a number > 0"),
        ("GAAI_TASK_TIMEOUT_S", "soon", "GAAI_TASK_TIMEOUT_S='soon': expected a number > 0"),
        ("GAAI_RUNNING_EVENT_AFTER_S", "-1", "GAAI_RUNNING_EVENT_AFTER_S='-1': expected a number >= 0"),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable(monkeypatch, variable, value, expected):
    monkeypatch.setenv(variable, value)
    with pytest.raises(GaaiError) as caught:
        Settings.from_env()
    assert (caught.value.code, caught.value.message) == ("bad_setting", expected)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("nats://127.0.0.1:notaport", "'nats://127.0.0.1:notaport' has a port that is not a number in 0-65535"),
        ("nats://127.0.0.1:4222,", "an empty server in the list (expected nats://host:port, comma-separated)"),
        ("nats://a:4222,,nats://b:4222", "an empty server in the list (expected nats://host:port, comma-separated)"),
        (
            "http://127.0.0.1:4222",
            "'http://127.0.0.1:4222' has no known scheme (expected one of nats, tls, ws, wss, as in nats://host:4222)",
        ),
        ("nats://:4222", "'nats://:4222' names no host"),
        ("ws://a:80,nats://b:4222", "websocket (ws, wss) and nats/tls URLs cannot be mixed"),
    ],
)
def test_a_malformed_nats_url_is_refused_naming_the_variable_and_the_server(monkeypatch, url, problem):
    monkeypatch.setenv("NATS_URL", url)
    with pytest.raises(GaaiError) as caught:
        Settings.from_env()
    assert (caught.value.code, caught.value.message) == ("bad_setting", f"NATS_URL={url!r}: {problem}")


def test_nats_url_may_list_several_servers():
    assert nats_servers("nats://a:4222, nats://b:4223,tls://c") == ["nats://a:4222", "nats://b:4223", "tls://c"]


def test_good_values_are_read(monkeypatch):
    monkeypatch.setenv("GAAI_CPU_WORKERS", "3")
    monkeypatch.setenv("GAAI_RUNNING_EVENT_AFTER_S", "0")
    monkeypatch.setenv("GAAI_ACK_WAIT_S", "12.5")
    settings = Settings.from_env()
    assert (settings.cpu_workers, settings.running_event_after_s, settings.ack_wait_s) == (3, 0.0, 12.5)


@pytest.mark.parametrize("module", ["orchestrator", "agents.catalog", "agents.vertical"])
def test_a_process_given_a_bad_value_exits_2_with_one_line(tmp_path, module):
    env = {**os.environ, "GAAI_CONCURRENCY": "lots", "GAAI_HOME": str(tmp_path), "NATS_URL": "nats://127.0.0.1:1"}
    done = subprocess.run(
        [sys.executable, "-m", module], env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .endswith("GAAI_CONCURRENCY='lots': expected a whole number > 0 [bad_setting]")
    )


def test_the_execution_agent_runs_as_many_cpu_workers_as_gaai_cpu_workers_says(tmp_path, nats_server):
    env = {**os.environ, "GAAI_CPU_WORKERS": "3", "GAAI_HOME": str(tmp_path), "NATS_URL": nats_server.url}
    agent = subprocess.Popen(
        [sys.executable, "-m", "gaai.agents.execution"],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = agent.stderr.readline()
            if not line:
                break
            record = json.loads(line) if line.startswith("{") else {}
            if record.get("event") == "cpu workers":
                assert record["workers"] == 3
                return
        pytest.fail("the execution agent never said how many CPU workers it runs")
    finally:
        agent.terminate()
        agent.wait(30)
        agent.stderr.close()
