"""The catalog's result handler (``Recorder``), its lineage requests (``lineage_reply``) and the loop that feeds it
every result and serves those requests (``follow``)."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from functools import partial

import structlog

from gaai.agents.catalog.database import Catalog, CatalogEntry, catalog_path
from gaai.bus import subjects
from gaai.bus.codec import decode_request, lineage_decoder
from gaai.bus.connection import Bus
from gaai.bus.contract import LineageReply, LineageRequest, LineageStep, ResultEnvelope, WorkflowProgress
from gaai.bus.errors import RequestError
from gaai.bus.follower import follow_results
from gaai.bus.requests import workflow_status
from gaai.bus.service import add_endpoint
from gaai.bus.settings import Settings
from gaai.store import default_home
from gaai.telemetry.tracing import span

log = structlog.get_logger("agents.catalog")

# How long the first result waiting to be written waits for others to share its transaction. The catalog is off
# every workflow's critical path, so this delays only its acknowledgements (and their write to the socket, together).
COMMIT_WINDOW_S = 0.02
# Results the catalog holds at once (its consumer delivers no more); as many waiting are written without waiting more.
RESULTS_IN_HAND = 256


class Recorder:
    """Records each result in the catalog, with its workflow's epoch and graph.

    The epoch and graph come from the workflow's status, asked once per workflow: results
    of one workflow handled at the same time share the one question in flight. Results
    that arrive within ``COMMIT_WINDOW_S`` of each other (at most ``batch_limit``) are also
    written together, in one transaction (a group commit), since a commit per result would
    take much of the catalog's CPU at full load; each is acknowledged only once its
    transaction is committed.
    """

    def __init__(
        self,
        catalog: Catalog,
        status: Callable[[str], Awaitable[WorkflowProgress]],
        remembered: int = 10_000,
        batch_limit: int = RESULTS_IN_HAND,
    ) -> None:
        self.catalog = catalog
        self._status = status
        self._origins: OrderedDict[str, asyncio.Future[tuple[float, str] | None]] = OrderedDict()
        self._remembered = remembered
        self._batch_limit = batch_limit
        self._waiting: list[tuple[CatalogEntry, asyncio.Future[int]]] = []
        self._write_timer: asyncio.TimerHandle | None = None

    async def __call__(self, reply: ResultEnvelope) -> None:
        if reply.result is None:
            return  # a failed step produced nothing to record
        origin = await self._origin(reply.workflow_id)
        if origin is None:
            log.warning(
                "result of an unknown workflow not recorded", workflow_id=reply.workflow_id, task_id=reply.task_id
            )
            return
        epoch, graph_name = origin
        with span("record catalog entry", **{"gaai.catalog.step": reply.result.__struct_config__.tag}) as current:
            recorded = asyncio.get_running_loop().create_future()
            entry = CatalogEntry(workflow_id=reply.workflow_id, epoch=epoch, graph_name=graph_name, result=reply.result)
            self._waiting.append((entry, recorded))
            if len(self._waiting) >= self._batch_limit:
                self._write_waiting()
            elif self._write_timer is None:
                self._write_timer = asyncio.get_running_loop().call_later(COMMIT_WINDOW_S, self._write_waiting)
            current.set_attribute("gaai.catalog.entities", await recorded)

    def _write_waiting(self) -> None:
        if self._write_timer is not None:
            self._write_timer.cancel()
            self._write_timer = None
        batch, self._waiting = self._waiting, []
        try:
            counts = self.catalog.record([entry for entry, _ in batch])
        except Exception as exc:  # each waiting handler naks its own result
            for _, recorded in batch:
                if not recorded.done():  # a handler cancelled (shutdown) waits no more
                    recorded.set_exception(exc)
            return
        for (_, recorded), count in zip(batch, counts, strict=True):
            if not recorded.done():
                recorded.set_result(count)

    async def _origin(self, workflow_id: str) -> tuple[float, str] | None:
        asked = self._origins.get(workflow_id)
        if asked is None:
            asked = asyncio.ensure_future(self._ask(workflow_id))
            self._origins[workflow_id] = asked
            if len(self._origins) > self._remembered:
                self._origins.popitem(last=False)
        try:
            return await asyncio.shield(asked)
        except Exception:
            # A failed question is not remembered: the redelivered result asks again.
            if self._origins.get(workflow_id) is asked:
                del self._origins[workflow_id]
            raise

    async def _ask(self, workflow_id: str) -> tuple[float, str] | None:
        try:
            progress = await self._status(workflow_id)
        except RequestError as exc:
            if exc.code == "unknown_workflow":
                return None
            raise
        return progress.created_at, progress.graph_name


def lineage_reply(catalog: Catalog, request: LineageRequest) -> LineageReply:
    """A workflow's chains and coverage as the catalog has recorded them so far."""
    workflow_id = request.workflow_id
    if not catalog.has_workflow(workflow_id):
        raise RequestError("unknown_workflow", f"the catalog has recorded no result of workflow {workflow_id!r}")
    chains = [
        [LineageStep(entity_id=entity, kind=entity.partition(":")[0], title=title) for entity, title in chain]
        for chain in catalog.lineage(workflow_id)
    ]
    return LineageReply(workflow_id=workflow_id, chains=chains, coverage=catalog.coverage(workflow_id))


async def follow(settings: Settings, stop: asyncio.Event) -> None:
    """Record every result and answer lineage requests until ``stop`` is set."""
    home = settings.home or default_home()
    bus = await Bus.connect(settings, name="gaai-catalog")
    try:
        catalog = Catalog(catalog_path(home))

        async def serve_lineage(data: bytes) -> LineageReply:
            request = decode_request(lineage_decoder, data)
            return await asyncio.to_thread(lineage_reply, catalog, request)  # SQLite reads, off the event loop

        endpoint = await add_endpoint(bus, subjects.CATALOG_LINEAGE, subjects.CATALOG_QUEUE, serve_lineage)
        try:
            status = partial(workflow_status, bus, timeout=settings.request_timeout_s)
            await follow_results(bus, settings, Recorder(catalog, status), stop, in_hand=RESULTS_IN_HAND)
        finally:
            await endpoint.close()
    finally:
        await bus.close()
