"""Poison tasks: retried up to the limit, parked with their error, retried by hand later."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from gaai.bus.contract import AGENT_NAMES, SubmitRequest
from gaai.bus.settings import Settings
from gaai.store import EmbeddedStore
from gaai.store.sample import ensure_sample_graph
from graph_analytics_ai.client import connected_client
from graph_analytics_ai.stack import LocalStack

EMULATED = Path(__file__).with_name("emulated_slow_agent.py")
ROOT = Path(__file__).parents[2]


def gaai(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "graph_analytics_ai.cli", *args], env=env, capture_output=True, text=True, timeout=60
    )


async def test_poison_executions_are_parked_and_can_be_retried(home):
    """Failing executions end in the dead-letter stream; after the fix, `gaai dlq retry` completes the workflow."""
    ensure_sample_graph(EmbeddedStore(home), "ecommerce")
    agents = tuple(a for a in AGENT_NAMES if a != "execution")
    with LocalStack(home=home, agents=agents) as stack:
        env = dict(os.environ, NATS_URL=stack.nats_url, GAAI_HOME=str(home), PYTHONPATH=str(ROOT), GAAI_MAX_DELIVER="2")
        with open(home / "poison.log", "wb") as poison_log:
            poison = subprocess.Popen(
                [sys.executable, str(EMULATED), "execution"],
                env=dict(env, GAAI_EMULATED_MODE="fail"),
                stdout=poison_log,
                stderr=poison_log,
            )
        healthy = None
        try:
            async with connected_client(Settings(nats_url=stack.nats_url), name="test") as client:
                text = "We must find the most influential customers. We should detect communities of customers."
                workflow_id = await client.submit(
                    SubmitRequest(graph_name="ecommerce", documents=[{"content": text}], max_executions=2)
                )
                failed = await client.wait(workflow_id, timeout=60)
                assert failed.status == "failed" and failed.reports == []
                assert sum("emulated failure on delivery 2" in f for f in failed.failures) == 2
                # No exporter is configured, so nothing is recorded; the failures are still logged with the
                # workflow's trace id.
                logged = [
                    json.loads(line) for line in (home / "poison.log").read_text().splitlines() if line.startswith("{")
                ]
                failures = [line for line in logged if line["event"].startswith("task failed")]
                assert len(failures) == 4 and {line["workflow_id"] for line in failures} == {workflow_id}, failures
                assert {line["trace_id"] for line in failures} == {failed.trace_id}
                listing = await asyncio.to_thread(gaai, "dlq", "list", env=env)
                assert listing.returncode == 0 and listing.stdout.count("emulated failure on delivery") == 2, (
                    listing.stdout + listing.stderr
                )
                letter_ids = [
                    int(line.split()[0])
                    for line in listing.stdout.splitlines()
                    if line.strip() and line.split()[0].isdigit()
                ]
                assert len(letter_ids) == 2

                poison.terminate()
                poison.wait(10)
                healthy = subprocess.Popen(
                    [sys.executable, "-m", "gaai.agents.execution"],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                for letter_id in letter_ids:
                    retried = await asyncio.to_thread(gaai, "dlq", "retry", str(letter_id), env=env)
                    assert retried.returncode == 0, retried.stderr
                final = await client.wait(workflow_id, timeout=60)
                assert final.status == "completed" and len(final.reports) == 2 and final.failures == []
                assert [t.attempt for t in final.tasks if t.agent == "execution"] == [2, 2]
                assert (await client.dead_letters()) == []
                again = await asyncio.to_thread(gaai, "dlq", "retry", str(letter_ids[0]), env=env)
                assert again.returncode == 2 and "unknown_dead_letter" in again.stderr
        finally:
            for process in (poison, healthy):
                if process and process.poll() is None:
                    process.terminate()
                    process.wait(10)
