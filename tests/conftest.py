"""Shared fixtures (a real nats-server per test session, isolated homes per test) and test tiers.

Every test gets one tier marker, so ``pytest -m unit`` runs the fast in-process tests alone:
``e2e`` for whole stacks and fault tests (``tests/e2e``, ``tests/bench``, the evaluation suite, the Jaeger test),
``integration`` for tests with a real nats-server or other real processes, ``unit`` for the rest.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from gaai.bus.server import LocalNatsServer

TESTS = Path(__file__).resolve().parent
E2E_PATHS = ("e2e", "bench", "eval/test_suite_cli.py", "telemetry/test_jaeger.py", "deploy/test_live_", "web")
# Tests that start real processes (servers, agents, CLIs) without the nats fixtures below.
INTEGRATION_PATHS = (
    "bus/test_health.py",
    "bus/test_security.py",
    "bus/test_settings.py",
    "bus/test_service.py",
    "deploy/test_compose.py",
    "store/test_concurrency.py",
    "telemetry/test_tracing.py",
    "agents/test_llm_http.py",
    "agents/test_llm_fallback.py",
    "agents/test_execution_agent.py",
    "llm/",
)
NATS_FIXTURES = {"nats_server", "fresh_nats"}
# The longest files, longest first (per-file durations of full runs on 2 cores): with ``-n 2 --dist loadfile`` a
# worker takes the next whole file when it is nearly free, so the long ones start first and the short ones even out
# the end. The other files follow, most tests first, as xdist orders them.
LONGEST_FIRST = (
    "deploy/test_live_compose.py",
    "e2e/test_faults.py",
    "e2e/test_workflow.py",
    "agents/test_execution_agent.py",
    "bench/test_bench_quick.py",
    "e2e/test_cluster.py",
    "eval/test_suite_cli.py",
    "llm/test_local_model.py",
    "deploy/test_live_cluster.py",
    "web/test_browser.py",
    "e2e/test_connections.py",
    "e2e/test_semantics.py",
    "bench/test_orchestration_peers.py",
    "e2e/test_python_api.py",
)


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False  # xdist would sort the files by test count alone


def path_in_tests(item: pytest.Item) -> str:
    return Path(item.fspath).resolve().relative_to(TESTS).as_posix()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {path: place for place, path in enumerate(LONGEST_FIRST)}
    tests_in = Counter(path_in_tests(item) for item in items)
    # Stable: each file's tests stay together and in their order.
    items.sort(key=lambda item: (rank.get(path_in_tests(item), len(rank)), -tests_in[path_in_tests(item)]))
    for item in items:
        where = path_in_tests(item)
        if where.startswith(E2E_PATHS):
            tier = "e2e"
        elif where.startswith(INTEGRATION_PATHS) or NATS_FIXTURES & set(getattr(item, "fixturenames", ())):
            tier = "integration"
        else:
            tier = "unit"
        item.add_marker(tier)


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory):
    """A real nats-server with JetStream on a random port, store in a temp folder."""
    server = LocalNatsServer(tmp_path_factory.mktemp("nats"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fresh_nats(tmp_path: Path):
    """A nats-server of this test's own, for tests that need an empty JetStream."""
    server = LocalNatsServer(tmp_path / "nats")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty GAAI_HOME for this test."""
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("GAAI_HOME", str(path))
    monkeypatch.delenv("NATS_URL", raising=False)
    return path


async def assert_eventually(check: Callable[[], object], timeout: float = 10.0, interval: float = 0.05) -> object:
    """Poll ``check`` until it returns a truthy value (or an awaitable of one)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)
