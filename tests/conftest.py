"""Shared fixtures: a real nats-server per test session, isolated homes per test."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bus.server import LocalNatsServer


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
