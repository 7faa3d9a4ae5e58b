"""For the orchestrator's tests: the orchestrator in the test's process, serving a store with one small graph
``tiny`` against the test's nats-server, and the smallest valid results of the three head tasks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from gaai.bench.emulated_agents import empty_schema
from gaai.bus.connection import Bus
from gaai.bus.contract import RequirementsResult, SchemaResult, TaskResult, VerticalResult
from gaai.bus.domain import RequirementsDoc, VerticalProfile
from gaai.bus.settings import Settings
from gaai.orchestrator.runner import Orchestrator
from gaai.store import EmbeddedStore
from graph_analytics_ai.client import WorkflowClient


def head_results(graph_name: str) -> dict[str, TaskResult]:
    """A result per head task (vertical, schema, requirements) that asks nothing of the graph ``graph_name``."""
    return {
        "vertical": VerticalResult(
            vertical=VerticalProfile(name="generic", display_name="Generic", description="", source="builtin")
        ),
        "schema": SchemaResult(schema=empty_schema(graph_name)),
        "requirements": RequirementsResult(requirements=RequirementsDoc()),
    }


@dataclass(frozen=True)
class Serving:
    bus: Bus
    settings: Settings
    client: WorkflowClient


@asynccontextmanager
async def orchestrator_serving(nats_url: str, folder: Path) -> AsyncIterator[Serving]:
    """The orchestrator running until the block ends, its store and graph ``tiny`` (a → b → c) under ``folder``."""
    edges = folder / "edges.csv"
    edges.write_text("source,target\na,b\nb,c\n")
    store = EmbeddedStore(folder / "home")
    store.import_graph("tiny", [edges])
    settings = Settings(nats_url=nats_url, home=folder / "home")
    bus = await Bus.connect(settings, name="test-orchestrator")
    stop = asyncio.Event()
    running = asyncio.create_task(Orchestrator(bus, settings, store).run(stop))
    client = WorkflowClient(bus)
    try:
        await client.wait_until_served()
        yield Serving(bus, settings, client)
    finally:
        stop.set()
        await asyncio.wait_for(running, 10)
        await bus.close()
