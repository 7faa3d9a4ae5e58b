"""Results that unlock nothing share the state write of the workflow's next event, and are acknowledged only then.

A real nats-server and the orchestrator in this process; this test plays the agents by publishing their results.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from gaai.bus import subjects
from gaai.bus.codec import encode
from gaai.bus.connection import Bus
from gaai.bus.contract import (
    DocumentInput,
    Instance,
    ResultEnvelope,
    SubmitRequest,
    WorkflowEvent,
)
from gaai.orchestrator import runner
from graph_analytics_ai.client import WorkflowClient
from tests.orchestrator.serving import head_results, orchestrator_serving

INSTANCE = Instance(agent="test", host="h", pid=1, instance_id="i")
RESULTS = head_results("tiny")


# Longer than the real window, so that a loaded machine's delays cannot end it before the test looks.
WINDOW_S = 2.0


@pytest.fixture
async def running(fresh_nats, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The orchestrator serving a store with a graph ``tiny``; yields (bus, client, announcements of every write)."""
    monkeypatch.setattr(runner, "MERGE_WINDOW_S", WINDOW_S)
    async with orchestrator_serving(fresh_nats.url, tmp_path) as serving:
        announcements: list[WorkflowEvent] = []
        following = await serving.bus.follow_events(
            "*", lambda event: announcements.append(event) if isinstance(event, WorkflowEvent) else None, replay=False
        )
        yield serving.bus, serving.client, announcements
        await following.close()


async def publish_result(bus: Bus, workflow_id: str, agent: str) -> None:
    task_id = f"{workflow_id}.{agent}"
    reply = ResultEnvelope(
        workflow_id=workflow_id,
        task_id=task_id,
        instance=INSTANCE,
        started_at=time.time(),
        ended_at=time.time(),
        result=RESULTS[agent],
    )
    headers = {subjects.HEADER_MSG_ID: f"result:{task_id}:1", subjects.HEADER_WORKFLOW_ID: workflow_id}
    await bus.publish(subjects.result_subject(agent), encode(reply), headers)


async def revision(bus: Bus, workflow_id: str) -> int:
    entry = await bus.get_entry(subjects.WORKFLOWS_BUCKET, workflow_id)
    assert entry is not None
    return entry[1]


async def submitted(client: WorkflowClient) -> str:
    return await client.submit(SubmitRequest(graph_name="tiny", documents=[DocumentInput(content="Find hubs.")]))


async def test_results_that_unlock_nothing_are_saved_with_the_one_that_unlocks_the_next_task(running):
    bus, client, announcements = running
    workflow_id = await submitted(client)
    first = await revision(bus, workflow_id)
    await publish_result(bus, workflow_id, "vertical")
    await publish_result(bus, workflow_id, "schema")
    await asyncio.sleep(0.1)
    await publish_result(bus, workflow_id, "requirements")  # the third: use cases can start

    sent = time.monotonic()
    while (await client.status(workflow_id)).tasks[3].status != "dispatched":
        assert time.monotonic() < sent + WINDOW_S / 2, "the result that unlocks use cases waited for the window"
        await asyncio.sleep(0.02)
    assert await revision(bus, workflow_id) == first + 1, "one write for the three results"
    ours = [event for event in announcements if event.workflow_id == workflow_id]
    assert [sorted((task.agent, task.status) for task in event.tasks) for event in ours[1:]] == [
        [("requirements", "completed"), ("schema", "completed"), ("use_cases", "dispatched"), ("vertical", "completed")]
    ]


async def test_a_result_that_unlocks_nothing_is_saved_alone_after_the_window_and_acknowledged_only_then(running):
    bus, client, _ = running
    workflow_id = await submitted(client)
    first = await revision(bus, workflow_id)
    await publish_result(bus, workflow_id, "vertical")
    await asyncio.sleep(WINDOW_S / 4)
    waiting = await bus.consumer_progress(subjects.RESULTS_STREAM, subjects.ORCHESTRATOR_CONSUMER)
    assert waiting is not None
    assert (await revision(bus, workflow_id)) == first, "not saved yet: it waits for the workflow's next event"
    published = await bus.last_sequence(subjects.RESULTS_STREAM)
    assert waiting.acknowledged_up_to < published, "not acknowledged before it is saved"

    deadline = time.monotonic() + 10 + WINDOW_S
    while (await client.status(workflow_id)).tasks[0].status != "completed":
        assert time.monotonic() < deadline, "the vertical result was never saved"
        await asyncio.sleep(0.02)
    assert await revision(bus, workflow_id) == first + 1
    while (await bus.consumer_progress(subjects.RESULTS_STREAM, subjects.ORCHESTRATOR_CONSUMER)).acknowledged_up_to < (
        published
    ):
        assert time.monotonic() < deadline, "the saved result was never acknowledged"
        await asyncio.sleep(0.02)
