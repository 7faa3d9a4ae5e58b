"""Fixtures shared by the agents' tests."""

import pytest

from tests.agents.llm_api import LlmApiServer


@pytest.fixture
async def server():
    """A running ``LlmApiServer`` on a free loopback port, stopped after the test."""
    running = LlmApiServer()
    await running.start()
    yield running
    await running.stop()
