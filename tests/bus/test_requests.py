"""Requests to the orchestrator: a silent one is given up on after ``GAAI_REQUEST_TIMEOUT_S``."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from gaai.bus import subjects
from gaai.bus.codec import encode
from gaai.bus.connection import Bus
from gaai.bus.contract import ErrorInfo, ErrorReply
from gaai.bus.errors import BusError
from gaai.bus.settings import Settings
from graph_analytics_ai.client import connected_client


@asynccontextmanager
async def silent_orchestrator(settings: Settings) -> AsyncIterator[None]:
    """Answers status requests (so clients see it serving) and never answers a cancellation."""
    bus = await Bus.connect(settings, name="silent-orchestrator")

    async def on_status(msg) -> None:
        unknown = ErrorInfo(code="unknown_workflow", message="no such workflow")
        await msg.respond(encode(ErrorReply(error=unknown)))

    async def on_cancel(msg) -> None:
        return None

    await bus.nc.subscribe(subjects.STATUS, cb=on_status)
    await bus.nc.subscribe(subjects.CANCEL, cb=on_cancel)
    try:
        yield
    finally:
        await bus.close()


async def test_the_client_gives_up_after_the_request_timeout_of_its_settings(fresh_nats):
    settings = Settings(nats_url=fresh_nats.url, request_timeout_s=0.4)
    async with silent_orchestrator(settings), connected_client(settings) as client:
        started = time.monotonic()
        with pytest.raises(BusError) as caught:
            await client.cancel("wf1")
        waited = time.monotonic() - started
    assert (caught.value.code, caught.value.message) == ("timeout", "no answer on gaai.workflow.cancel within 0.4 s")
    assert 0.4 <= waited < 2.0


async def test_the_cli_waits_as_long_as_gaai_request_timeout_s_says(fresh_nats, tmp_path):
    settings = Settings(nats_url=fresh_nats.url)
    env = {**os.environ, "NATS_URL": fresh_nats.url, "GAAI_HOME": str(tmp_path), "GAAI_REQUEST_TIMEOUT_S": "0.5"}
    async with silent_orchestrator(settings):
        cli = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "graph_analytics_ai.cli",
            "cancel",
            "wf1",
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await asyncio.wait_for(cli.communicate(), timeout=60)
    assert cli.returncode == 2
    assert stderr.decode().strip().splitlines()[-1] == "gaai: no answer on gaai.workflow.cancel within 0.5 s [timeout]"
