"""A Python client of the bus: submit a workflow, follow it, fetch its reports.

Everything here is plain NATS + JSON, the same as a client in any other language would
do; see the README for the same requests made with the ``nats`` CLI.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from gaai.bus import subjects
from gaai.bus.codec import dead_letter_decoder, status_reply_decoder, submit_reply_decoder
from gaai.bus.connection import Bus
from gaai.bus.contract import (
    FINAL_STATUSES,
    CancelRequest,
    DeadLetter,
    DocumentInput,
    Event,
    RetryRequest,
    SubmitRequest,
    WorkflowEvent,
    WorkflowProgress,
)
from gaai.bus.errors import BusError, GaaiError, RequestError
from gaai.bus.follower import catalog_caught_up
from gaai.bus.requests import ask, workflow_status
from gaai.bus.settings import DEFAULT_REQUEST_TIMEOUT_S, Settings

OUTAGE_RIDDEN_OUT_S = 60.0
"""How long ``WorkflowClient.wait`` keeps asking through retryable errors before it gives up with the last one."""


@dataclass
class ReportFiles:
    """One report as the client downloaded it: its title and file contents by format."""

    template_id: str
    title: str
    files: dict[str, bytes]


class WorkflowClient:
    def __init__(self, bus: Bus, *, timeout: float = DEFAULT_REQUEST_TIMEOUT_S) -> None:
        self.bus = bus
        self.timeout = timeout

    async def wait_until_served(self, timeout: float = 30.0) -> None:
        """Return once an orchestrator answers requests (it may still be starting)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                await self.status("readiness-probe")
            except RequestError:
                return  # it answered (with "unknown workflow"): it is serving
            except BusError:
                if time.monotonic() > deadline:
                    raise BusError(
                        "no_orchestrator", f"the orchestrator did not come up within {timeout:.0f} s"
                    ) from None
                await asyncio.sleep(0.05)

    async def submit(self, request: SubmitRequest) -> str:
        reply = await ask(self.bus, subjects.SUBMIT, request, submit_reply_decoder, self.timeout)
        return reply.workflow_id

    async def status(self, workflow_id: str) -> WorkflowProgress:
        return await workflow_status(self.bus, workflow_id, self.timeout)

    async def cancel(self, workflow_id: str, reason: str = "cancelled by request") -> WorkflowProgress:
        request = CancelRequest(workflow_id=workflow_id, reason=reason)
        return await ask(self.bus, subjects.CANCEL, request, status_reply_decoder, self.timeout)

    async def retry(self, workflow_id: str, task_id: str) -> WorkflowProgress:
        request = RetryRequest(workflow_id=workflow_id, task_id=task_id)
        return await ask(self.bus, subjects.RETRY, request, status_reply_decoder, self.timeout)

    async def dead_letters(self) -> list[tuple[int, DeadLetter]]:
        """Every parked task with its id (the dead-letter stream's sequence number), oldest first."""
        stored = await self.bus.stored_messages(subjects.DLQ_STREAM)
        return [(sequence, dead_letter_decoder.decode(data)) for sequence, data in stored]

    async def retry_dead_letter(self, letter_id: int) -> WorkflowProgress:
        """Ask the orchestrator for a new attempt of a parked task, then remove the letter."""
        data = await self.bus.stored_message(subjects.DLQ_STREAM, letter_id)
        if data is None:
            raise RequestError("unknown_dead_letter", f"no dead letter with id {letter_id}")
        letter = dead_letter_decoder.decode(data)
        progress = await self.retry(letter.task.workflow_id, letter.task.task_id)
        await self.bus.delete_stored_message(subjects.DLQ_STREAM, letter_id)
        return progress

    async def upload_document(self, path: Path, name: str | None = None) -> DocumentInput:
        """Put a local file into the documents object store; returns the reference to submit."""
        data = path.read_bytes()
        object_name = f"{subjects.UPLOAD_PREFIX}{uuid.uuid4().hex}-{path.name}"
        await self.bus.put_object(subjects.DOCUMENTS_BUCKET, object_name, data)
        return DocumentInput(object_name=object_name, name=name or path.name)

    async def wait(
        self,
        workflow_id: str,
        *,
        on_event: Callable[[Event], None] | None = None,
        timeout: float | None = None,
    ) -> WorkflowProgress:
        """Follow the workflow's events until it finishes; returns its final status.

        Events are replayed from the start of the workflow, so nothing is missed if the
        client subscribes late. The status endpoint is polled as well, which also covers
        an event stream that is unavailable.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        done = asyncio.Event()

        def on_message(event: Event) -> None:
            if on_event:
                on_event(event)
            if isinstance(event, WorkflowEvent) and event.status in FINAL_STATUSES:
                done.set()

        subscription = None
        try:
            subscription = await self.bus.follow_events(workflow_id, on_message, replay=True)
        except BusError:
            subscription = None  # no event stream for us: polling the status below suffices
        unreachable_since: float | None = None
        try:
            while True:
                try:
                    progress = await self.status(workflow_id)
                except GaaiError as exc:
                    # A retryable error (NATS restarting, a stream electing its leader) passes; the workflow goes on.
                    unreachable_since = unreachable_since or time.monotonic()
                    if not exc.retryable or time.monotonic() - unreachable_since > OUTAGE_RIDDEN_OUT_S:
                        raise
                    await asyncio.sleep(0.5)
                    continue
                unreachable_since = None
                if progress.status in FINAL_STATUSES:
                    return progress
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise BusError(
                        "timeout",
                        f"workflow {workflow_id} did not finish within {timeout:.0f} s (status {progress.status})",
                    )
                with suppress(TimeoutError):
                    await asyncio.wait_for(done.wait(), timeout=min(2.0, remaining) if remaining is not None else 2.0)
        finally:
            if subscription is not None:
                await subscription.close()

    async def wait_for_catalog(self, timeout: float = 10.0) -> bool:
        """Wait until the catalog has recorded every result published so far.

        The catalog follows the results stream, so a workflow's lineage is complete a
        moment after the workflow. False when it did not catch up within ``timeout``
        (no catalog agent running, or it is behind).
        """
        return await catalog_caught_up(self.bus, timeout)

    async def fetch_reports(self, progress: WorkflowProgress) -> list[ReportFiles]:
        reports = []
        for location in progress.reports:
            files = {}
            for artifact in location.artifacts:
                data = await self.bus.get_object(subjects.REPORTS_BUCKET, artifact.object_name)
                if data is None:
                    raise RequestError(
                        "unknown_report",
                        f"report file {artifact.object_name!r} is no longer in {subjects.REPORTS_BUCKET}",
                    )
                files[artifact.format] = data
            reports.append(ReportFiles(template_id=location.template_id, title=location.title, files=files))
        return reports


@asynccontextmanager
async def connected_client(
    settings: Settings, *, name: str = "gaai-client", ready_timeout: float = 30.0
) -> AsyncIterator[WorkflowClient]:
    """A client on its own connection, handed out once an orchestrator serves requests."""
    bus = await Bus.connect(settings, name=name)
    try:
        client = WorkflowClient(bus, timeout=settings.request_timeout_s)
        await client.wait_until_served(ready_timeout)
        yield client
    finally:
        await bus.close()
