"""Cancelling a workflow stops its queued and running tasks."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from gaai.bus import subjects
from gaai.bus.contract import AGENT_NAMES, SubmitRequest
from gaai.bus.settings import Settings
from gaai.store import EmbeddedStore
from gaai.store.sample import ensure_sample_graph
from graph_analytics_ai.client import connected_client
from graph_analytics_ai.stack import LocalStack

SLOW_AGENT = Path(__file__).with_name("emulated_slow_agent.py")
ROOT = Path(__file__).parents[2]


async def test_cancel_interrupts_running_and_skips_queued_tasks(home):
    """Executions held by a slow agent are interrupted; nothing more runs; status says cancelled."""
    ensure_sample_graph(EmbeddedStore(home), "ecommerce")
    agents = tuple(a for a in AGENT_NAMES if a != "execution")
    with LocalStack(home=home, agents=agents) as stack:
        env = dict(os.environ, NATS_URL=stack.nats_url, GAAI_CONCURRENCY="1", PYTHONPATH=str(ROOT))
        slow = subprocess.Popen(
            [sys.executable, str(SLOW_AGENT), "execution"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            async with connected_client(Settings(nats_url=stack.nats_url), name="test") as client:
                text = "We must find the most influential customers. We should detect communities of customers."
                workflow_id = await client.submit(
                    SubmitRequest(graph_name="ecommerce", documents=[{"content": text}], max_executions=2)
                )
                for _ in range(300):
                    progress = await client.status(workflow_id)
                    if any(t.agent == "execution" and t.status == "dispatched" for t in progress.tasks):
                        break
                    await asyncio.sleep(0.1)
                consumer = subjects.agent_consumer("execution")
                for _ in range(100):  # wait until the slow agent holds one task and the other is queued
                    info = await client.bus.js.consumer_info(subjects.TASKS_STREAM, consumer)
                    if info.num_ack_pending == 1 and info.num_pending == 1:
                        break
                    await asyncio.sleep(0.1)
                assert (info.num_ack_pending, info.num_pending) == (1, 1)
                cancelled = await client.cancel(workflow_id, "test")
                assert cancelled.status == "cancelled"
                assert {t.status for t in cancelled.tasks if t.agent in ("execution", "reporting")} == {"cancelled"}
                for _ in range(100):
                    info = await client.bus.js.consumer_info(subjects.TASKS_STREAM, consumer)
                    if info.num_ack_pending == 0 and info.num_pending == 0:
                        break
                    await asyncio.sleep(0.1)
                assert (info.num_ack_pending, info.num_pending) == (0, 0), (
                    "running task interrupted, queued one skipped"
                )
                assert (await client.status(workflow_id)).reports == []
                again = await client.cancel(workflow_id)
                assert again.status == "cancelled"
        finally:
            slow.terminate()
            _, errors = slow.communicate(timeout=10)
    assert "workflow was cancelled" in errors and "cancelled workflow skipped" in errors
