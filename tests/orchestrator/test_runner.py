"""The orchestrator process logic against a real nats-server."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from gaai.bus import subjects
from gaai.bus.connection import Bus
from gaai.bus.contract import DocumentInput, SubmitRequest
from gaai.bus.errors import RequestError
from gaai.bus.settings import Settings
from gaai.orchestrator.intake import MAX_DOCUMENT_BYTES
from gaai.orchestrator.runner import Orchestrator
from gaai.store import EmbeddedStore
from graph_analytics_ai.client import WorkflowClient
from tests.orchestrator.serving import orchestrator_serving


async def stored_tasks(bus: Bus) -> int:
    try:
        return (await bus.js.stream_info(subjects.TASKS_STREAM)).state.messages
    except Exception:  # the stream is gone on purpose
        return 0


async def test_tasks_refused_by_jetstream_are_sent_once_it_is_back(fresh_nats, tmp_path):
    """A saved state's tasks are published again until JetStream takes them, not left unsent."""
    async with orchestrator_serving(fresh_nats.url, tmp_path) as serving:
        bus, client = serving.bus, serving.client
        await bus.js.delete_stream(subjects.TASKS_STREAM)  # publishing a task now fails: no stream takes it
        workflow_id = await client.submit(
            SubmitRequest(graph_name="tiny", documents=[DocumentInput(content="Find influential nodes.")])
        )
        await asyncio.sleep(1.0)
        assert await stored_tasks(bus) == 0
        assert (await client.status(workflow_id)).status == "running"

        restored = await Bus.connect(serving.settings, name="test-restore")  # connecting creates the missing stream
        await restored.close()
        deadline = asyncio.get_running_loop().time() + 20
        while await stored_tasks(bus) == 0:
            assert asyncio.get_running_loop().time() < deadline, "the vertical task was never published"
            await asyncio.sleep(0.1)
        info = await bus.js.get_last_msg(subjects.TASKS_STREAM, subjects.task_subject("vertical"))
        assert info.headers[subjects.HEADER_TASK_ID] == f"{workflow_id}.vertical"


async def test_a_300_mb_document_is_refused_by_its_size_without_holding_up_a_status_request(fresh_nats, tmp_path):
    """The size is checked before the file is read: a sparse 300 MB file under the documents root is refused with
    document_too_large at once, and a status request sent at the same moment is answered."""
    store = EmbeddedStore(tmp_path / "home")
    store.import_graph("tiny", [_tiny_edges(tmp_path)])
    root = tmp_path / "docs"
    root.mkdir()
    with open(root / "huge.md", "wb") as huge:
        huge.truncate(300 * 1024 * 1024)  # sparse: no disk space used
    settings = Settings(nats_url=fresh_nats.url, home=tmp_path / "home", documents_root=root)
    bus = await Bus.connect(settings, name="test-orchestrator")
    asker = await Bus.connect(settings, name="test-status-asker")
    stop = asyncio.Event()
    running = asyncio.create_task(Orchestrator(bus, settings, store).run(stop))
    submitter, status_client = WorkflowClient(bus), WorkflowClient(asker)
    await submitter.wait_until_served()

    async def timed(call) -> tuple[float, BaseException | object]:
        started = time.monotonic()
        try:
            outcome: BaseException | object = await call
        except RequestError as exc:
            outcome = exc
        return time.monotonic() - started, outcome

    (submit_s, refused), (status_s, unknown) = await asyncio.gather(
        timed(submitter.submit(SubmitRequest(graph_name="tiny", documents=[DocumentInput(path="huge.md")]))),
        timed(status_client.status("wf-none")),
    )
    assert isinstance(refused, RequestError)
    assert (refused.code, refused.message) == (
        "document_too_large",
        f"documents[0] (huge.md) exceeds {MAX_DOCUMENT_BYTES} bytes",
    )
    assert isinstance(unknown, RequestError) and unknown.code == "unknown_workflow"
    assert submit_s < 3 and status_s < 3, (submit_s, status_s)

    stop.set()
    await asyncio.wait_for(running, 10)
    await asker.close()
    await bus.close()


def _tiny_edges(folder: Path) -> Path:
    edges = folder / "edges.csv"
    edges.write_text("source,target\na,b\nb,c\n")
    return edges
