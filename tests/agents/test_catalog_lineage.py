"""The catalog's lineage request (``gaai.catalog.lineage``): a real catalog process answers from its SQLite file."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gaai.agents.catalog import Catalog, Recorder, catalog_path
from gaai.bus import subjects
from gaai.bus.codec import lineage_reply_decoder
from gaai.bus.connection import Bus
from gaai.bus.contract import LineageReply
from gaai.bus.errors import BusError, RequestError
from gaai.bus.requests import ask, catalog_lineage
from gaai.bus.settings import Settings

from .test_catalog import OBJECTIVES_ONLY, StatusBook, envelope

pytestmark = pytest.mark.timeout(60)


async def _record_objectives_only(home: Path) -> None:
    recorder = Recorder(Catalog(catalog_path(home)), StatusBook(wf1=1.0))
    for result in OBJECTIVES_ONLY:
        await recorder(envelope("wf1", f"wf1.{result.__struct_config__.tag}", result))


async def _first_answer(bus: Bus, workflow_id: str, process: subprocess.Popen) -> LineageReply:
    """The catalog's answer once the process serves the subject (it starts in a second or two)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return await catalog_lineage(bus, workflow_id, timeout=5)
        except BusError as exc:
            if exc.code != "no_catalog" or time.monotonic() > deadline or process.poll() is not None:
                raise
        await asyncio.sleep(0.1)


async def test_a_catalog_process_answers_each_chain_and_the_coverage_it_recorded(fresh_nats, tmp_path: Path):
    await _record_objectives_only(tmp_path)
    bus = await Bus.connect(Settings(nats_url=fresh_nats.url), name="lineage-test")
    env = {**os.environ, "NATS_URL": fresh_nats.url, "GAAI_HOME": str(tmp_path)}
    process = subprocess.Popen(
        [sys.executable, "-m", "gaai.agents.catalog"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        reply = await _first_answer(bus, "wf1", process)
        assert [[(step.kind, step.entity_id, step.title) for step in chain] for chain in reply.chains] == [
            [
                ("objective", "objective:OBJ-1", "Find the hubs."),
                ("use_case", "use_case:UC-1", "Hubs"),
                ("template", "template:T1", "Influence"),
                ("execution", "execution:E1", "pagerank on shop"),
                ("report", "report:R1", "Influencers"),
            ],
            [("objective", "objective:OBJ-2", "Grow sales.")],
        ]
        assert reply.coverage == OBJECTIVES_ONLY[2].coverage

        with pytest.raises(RequestError) as unknown:
            await catalog_lineage(bus, "wf-none", timeout=5)
        assert unknown.value.code == "unknown_workflow" and not unknown.value.retryable
        assert unknown.value.message == "the catalog has recorded no result of workflow 'wf-none'"

        with pytest.raises(RequestError) as bad:
            await ask(bus, subjects.CATALOG_LINEAGE, {"workflow_id": "../x"}, lineage_reply_decoder, 5)
        assert bad.value.code == "bad_request" and "workflow_id" in bad.value.message
        assert process.poll() is None, "a bad request must not stop the catalog"
    finally:
        process.terminate()
        _, errors = process.communicate(timeout=15)
        await bus.close()
    assert "Traceback" not in errors


async def test_without_a_catalog_the_request_says_so_and_may_be_retried(fresh_nats):
    bus = await Bus.connect(Settings(nats_url=fresh_nats.url), name="lineage-test")
    try:
        with pytest.raises(BusError) as caught:
            await catalog_lineage(bus, "wf1", timeout=5)
    finally:
        await bus.close()
    assert caught.value.code == "no_catalog" and caught.value.retryable
    assert caught.value.message == (
        "no catalog is serving gaai.catalog.lineage; start one with 'gaai up' or 'gaai agent catalog'"
    )
