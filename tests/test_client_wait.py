"""``WorkflowClient.wait`` rides out a retryable outage (no orchestrator answering for a while) and stops at once on
an error that will not pass."""

from __future__ import annotations

import asyncio

import pytest

from gaai.bus import subjects
from gaai.bus.connection import Bus
from gaai.bus.contract import WorkflowProgress
from gaai.bus.errors import RequestError
from gaai.bus.service import add_endpoint
from gaai.bus.settings import Settings
from graph_analytics_ai.client import WorkflowClient

COMPLETED = WorkflowProgress(
    workflow_id="wf-1", status="completed", graph_name="g", created_at=1.0, updated_at=2.0, tasks=[]
)


async def test_wait_goes_on_while_no_orchestrator_answers_then_returns_the_final_status(fresh_nats):
    settings = Settings(nats_url=fresh_nats.url)
    client_bus, orchestrator_bus = await Bus.connect(settings, name="client"), await Bus.connect(settings, name="orch")

    async def completed(data: bytes) -> WorkflowProgress:
        return COMPLETED

    try:
        waiting = asyncio.create_task(WorkflowClient(client_bus, timeout=1).wait("wf-1", timeout=30))
        await asyncio.sleep(2)  # status requests meet no responder: no_orchestrator, retryable
        assert not waiting.done()
        endpoint = await add_endpoint(orchestrator_bus, subjects.STATUS, "orchestrator", completed)
        assert (await asyncio.wait_for(waiting, timeout=10)).status == "completed"
        await endpoint.close()
    finally:
        await client_bus.close()
        await orchestrator_bus.close()


async def test_wait_stops_at_once_on_an_error_that_will_not_pass(fresh_nats):
    settings = Settings(nats_url=fresh_nats.url)
    client_bus, orchestrator_bus = await Bus.connect(settings, name="client"), await Bus.connect(settings, name="orch")

    async def unknown(data: bytes) -> WorkflowProgress:
        raise RequestError("unknown_workflow", "no workflow wf-1")

    try:
        endpoint = await add_endpoint(orchestrator_bus, subjects.STATUS, "orchestrator", unknown)
        with pytest.raises(RequestError, match="no workflow wf-1"):
            await asyncio.wait_for(WorkflowClient(client_bus, timeout=1).wait("wf-1", timeout=30), timeout=5)
        await endpoint.close()
    finally:
        await client_bus.close()
        await orchestrator_bus.close()
