"""Connections to NATS given as a list (``NATS_URL``, comma-separated): every process starts when the first listed
server is down and a later one is up, and a malformed list stops every process at start with exit 2 and one line.

The down server is a loopback port held by a bound socket that never listens, so connecting to it is refused for
the whole test; the up server is a real nats-server of the test's own.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gaai.bus.errors import GaaiError
from gaai.store import EmbeddedStore
from gaai.store.sample import ensure_sample_graph
from graph_analytics_ai.session import run_workflow
from graph_analytics_ai.stack import LocalStack

GAAI = [sys.executable, "-m", "graph_analytics_ai.cli"]


@pytest.fixture
def down_url() -> Iterator[str]:
    """A NATS URL on which nothing will ever answer while the test runs."""
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    try:
        yield f"nats://127.0.0.1:{blocker.getsockname()[1]}"
    finally:
        blocker.close()


def run(argv: list[str], env: dict, cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run(
        argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )


def test_a_command_that_cannot_reach_nats_prints_one_line_on_stderr_and_nothing_on_stdout(home, tmp_path, down_url):
    """The bus logs a warning per failed connect attempt; a CLI command's output must not carry them."""
    # Two seconds of attempts, one each half second, rather than the default ten: still several warnings to keep out.
    env = dict(os.environ, GAAI_HOME=str(home), NATS_URL=down_url, GAAI_CONNECT_WAIT_S="2")
    status = run([*GAAI, "status", "wf-nowhere"], env, tmp_path, timeout=60)
    assert status.returncode == 2
    assert status.stdout == ""
    [line] = status.stderr.strip().splitlines()
    assert line.startswith(f"gaai: cannot connect to NATS at {down_url}") and line.endswith("[nats_unavailable]")


def test_every_process_connects_to_a_later_server_when_the_first_is_down(home, tmp_path, fresh_nats, down_url):
    """Orchestrator, agents and catalog (a LocalStack), then the CLI, all given "down,up": a workflow completes."""
    ensure_sample_graph(EmbeddedStore(home), "ecommerce")
    servers = f"{down_url},{fresh_nats.url}"
    env = dict(os.environ, GAAI_HOME=str(home), NATS_URL=servers)
    with LocalStack(home=home, nats_url=servers) as stack:
        assert stack.nats_url == servers
        ran = run(
            [*GAAI, "run", "--graph", "ecommerce", "--text", "Find the most influential customers."], env, tmp_path
        )
        assert ran.returncode == 0, ran.stdout + ran.stderr
        [workflow_id] = re.findall(r"Submitted workflow (\S+) on graph 'ecommerce'", ran.stdout)
        status = run([*GAAI, "status", workflow_id], env, tmp_path, timeout=60)
        assert status.returncode == 0, status.stderr
        assert status.stdout.splitlines()[0] == f"Workflow {workflow_id} on 'ecommerce': completed"
        assert "report:" in status.stdout
        assert all(managed.restarts == 0 for managed in stack.processes), "no process had to be restarted"


BAD_URLS = [
    ("nats://127.0.0.1:notaport", "'nats://127.0.0.1:notaport' has a port that is not a number in 0-65535"),
    ("nats://127.0.0.1:4222,", "an empty server in the list (expected nats://host:port, comma-separated)"),
    (
        "http://127.0.0.1:4222",
        "'http://127.0.0.1:4222' has no known scheme (expected one of nats, tls, ws, wss, as in nats://host:4222)",
    ),
]


@pytest.mark.parametrize(("url", "problem"), BAD_URLS, ids=["bad-port", "empty-item", "unknown-scheme"])
@pytest.mark.parametrize(
    "argv",
    [
        [sys.executable, "-m", "gaai.orchestrator"],
        [sys.executable, "-m", "gaai.agents.vertical"],
        [sys.executable, "-m", "gaai.agents.catalog"],
        [*GAAI, "status", "wf1"],
        [*GAAI, "up"],
    ],
    ids=["orchestrator", "agent", "catalog", "cli", "gaai-up"],
)
def test_a_malformed_nats_url_stops_the_process_with_exit_2_and_one_line(home, tmp_path, argv, url, problem):
    done = run(argv, dict(os.environ, GAAI_HOME=str(home), NATS_URL=url), tmp_path, timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.endswith(f"NATS_URL={url!r}: {problem} [bad_setting]"), line
    assert "gaai is up" not in done.stdout


def test_the_python_api_refuses_a_malformed_nats_url_with_the_setting_named(home):
    ensure_sample_graph(EmbeddedStore(home), "ecommerce")
    with pytest.raises(GaaiError) as caught:
        asyncio.run(run_workflow(graph_name="ecommerce", home=home, nats_url="nats://127.0.0.1:notaport"))
    assert (caught.value.code, caught.value.message) == (
        "bad_setting",
        "NATS_URL='nats://127.0.0.1:notaport': 'nats://127.0.0.1:notaport' has a port that is not a number in 0-65535",
    )
