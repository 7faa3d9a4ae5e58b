"""A bounded soak: many concurrent workflows, replicated executions, nothing lost or doubled."""

from __future__ import annotations

import asyncio
from collections import Counter

from gaai.agents.catalog import Catalog, catalog_path
from gaai.bus.contract import SubmitRequest
from gaai.bus.settings import Settings
from gaai.store import EmbeddedStore
from gaai.store.sample import ensure_sample_graph
from graph_analytics_ai.client import connected_client
from graph_analytics_ai.stack import LocalStack

WORKFLOWS = 50
TEMPLATES = 2


async def test_fifty_concurrent_workflows_on_three_execution_replicas(home):
    """Every workflow completes with exactly one result file, report and catalog entry per template."""
    ensure_sample_graph(EmbeddedStore(home), "ecommerce")
    text = "We must find the most influential customers. We should detect communities of customers."
    with LocalStack(home=home, scale={"execution": 3}) as stack:
        async with connected_client(Settings(nats_url=stack.nats_url), name="soak") as client:
            request = SubmitRequest(graph_name="ecommerce", documents=[{"content": text}], max_executions=TEMPLATES)
            ids = await asyncio.gather(*(client.submit(request) for _ in range(WORKFLOWS)))
            finals = await asyncio.gather(*(client.wait(i, timeout=400) for i in ids))
            assert await client.wait_for_catalog(timeout=60)
            report_objects = [info.name for info in await client.bus.reports.list()]
    assert len(set(ids)) == WORKFLOWS
    assert Counter(f.status for f in finals) == {"completed": WORKFLOWS}
    assert all(len(f.reports) == TEMPLATES for f in finals)
    assert len(report_objects) == len(set(report_objects)) == WORKFLOWS * TEMPLATES * 3
    executors = {t.instance.pid for f in finals for t in f.tasks if t.agent == "execution"}
    assert len(executors) == 3
    results = list((home / "results" / "ecommerce").glob("*.parquet"))
    assert len(results) == WORKFLOWS * TEMPLATES
    catalog = Catalog(catalog_path(home))
    for final in finals:
        counts = catalog.counts(final.workflow_id)
        assert counts["execution"] == TEMPLATES and counts["report"] == TEMPLATES and counts["vertical"] == 1
