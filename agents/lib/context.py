"""What an agent handler gets: ``AgentContext``, the task's ids and the only way to its I/O.

A handler is ``async def handle(task, ctx: AgentContext) -> result``: the graph store,
documents, report artifacts, the language model, progress and CPU-bound work all go
through ``ctx``, so handlers read like functions from task to result.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from gaai.agents.lib.cpu_pool import CpuPool
from gaai.agents.lib.llm import RecordingLlm
from gaai.bus import domain, subjects
from gaai.bus.errors import BusError, TaskError
from gaai.bus.worker import Job
from gaai.store import GraphStore

T = TypeVar("T")


@dataclass
class AgentContext:
    """Ids of the task at hand and the edges an agent may touch."""

    workflow_id: str
    task_id: str
    attempt: int
    store: GraphStore
    llm: RecordingLlm
    home: Path
    _job: Job | None = None
    _pool: CpuPool | None = None

    async def fetch_document(self, ref: domain.DocumentRef) -> bytes:
        if self._job is None:
            raise TaskError("no_bus", "documents can only be fetched inside a running agent")
        try:
            data = await self._job.bus.get_object(subjects.DOCUMENTS_BUCKET, ref.object_name)
        except BusError as exc:
            raise TaskError(exc.code, exc.message, retryable=True) from None
        if data is None:
            raise TaskError("document_missing", f"document {ref.name!r} is no longer in the document store")
        return data

    async def put_artifact(self, name: str, data: bytes) -> str:
        """Store a report file in the reports object store under this workflow; returns its object name."""
        object_name = f"{self.workflow_id}/{name}"
        if self._job is not None:
            try:
                await self._job.bus.put_object(subjects.REPORTS_BUCKET, object_name, data)
            except BusError as exc:
                raise TaskError(exc.code, exc.message, retryable=True) from None
        return object_name

    async def progress(self) -> None:
        if self._job is not None:
            await self._job.progress()

    async def run_cpu(self, function: Callable[..., T], *args: Any) -> T:
        """Run CPU-bound work off the event loop, so heartbeats and pings keep flowing.

        In an agent started with CPU workers this is a child process (the GIL would
        otherwise starve the loop, and a task that times out or is cancelled can stop
        the computation too); otherwise a thread.
        """
        if self._pool is not None:
            return await self._pool.run(function, *args)
        return await asyncio.get_running_loop().run_in_executor(None, function, *args)
