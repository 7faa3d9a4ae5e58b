"""What an agent handler gets (``AgentContext``) and how an agent process runs (``run_agent``).

A handler is ``async def handle(task, ctx) -> result``: all I/O goes through ``ctx``
(the graph store, documents, report artifacts, the LLM, progress), so handlers read like
functions from task to result, and the bus details stay in ``bus.worker``.
"""

from __future__ import annotations

import asyncio
import os
import select
import signal
import threading
from collections.abc import Awaitable, Callable
import multiprocessing
import multiprocessing.forkserver
from multiprocessing.connection import Connection
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import nats.js.errors
import structlog

from agents.llm import LlmProvider, PriceTable, RecordingLlm
from agents.llm_config import llm_from_env
from bus import contract
from bus.connection import Bus
from bus.errors import BusError, GaaiError, TaskError
from bus.process import process_settings, run_process
from bus.settings import Settings
from bus.worker import Job, serve, this_instance
from store import EmbeddedStore, GraphStore, default_home

T = TypeVar("T")
log = structlog.get_logger("agents")


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
    _pool: "CpuPool | None" = None

    async def fetch_document(self, ref: contract.DocumentRef) -> bytes:
        if self._job is None:
            raise TaskError("no_bus", "documents can only be fetched inside a running agent")
        try:
            result = await self._job.bus.documents.get(ref.object_name)
        except nats.js.errors.ObjectNotFoundError:
            raise TaskError("document_missing", f"document {ref.name!r} is no longer in the document store") from None
        return result.data or b""

    async def put_artifact(self, name: str, data: bytes) -> str:
        """Store a report file in the reports object store under this workflow; returns its object name."""
        object_name = f"{self.workflow_id}/{name}"
        if self._job is not None:
            await self._job.bus.reports.put(object_name, data)
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


def _die_with(agent_pid: int) -> None:
    """Kill this worker as soon as the agent that started it exits (Linux 5.3+: a pidfd).

    Nothing else ends it: a worker is the forkserver's child, and the forkserver stays up
    while any worker holds the liveness pipe it inherits from the agent. A worker that
    outlived a SIGKILLed agent would finish its computation and rewrite the results that
    the task's redelivery to another replica has written since.
    """
    try:
        agent = os.pidfd_open(agent_pid)
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):
        return  # no pidfd on this system: a worker may outlive a killed agent here

    def watch() -> None:
        select.select([agent], [], [])
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="agent-watch", daemon=True).start()


def _child(connection: Connection, function: Callable[..., Any], args: tuple, agent_pid: int) -> None:
    _die_with(agent_pid)
    try:
        outcome: tuple[bool, Any] = (True, function(*args))
    except GaaiError as exc:
        outcome = (False, exc)
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which decides
        outcome = (False, TaskError("internal", f"{type(exc).__name__}: {exc}"))
    connection.send(outcome)
    connection.close()


class CpuPool:
    """One child process per CPU-bound call, at most ``workers`` at once.

    Children come from a forkserver: a plain fork of a process whose threads have run
    (the engine's kernels run on threads) can inherit a lock held by a thread that the
    child does not have. A fresh child per call can be killed when it overruns its time
    limit without disturbing other tasks.
    """

    def __init__(self, workers: int, preload: list[str]) -> None:
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(preload)
        self._slots = asyncio.Semaphore(workers)

    async def start(self) -> None:
        """Start the forkserver off the event loop; otherwise the first call's ``Process.start``
        blocks the loop while the forkserver imports the preloaded modules (1.0–1.35 s for
        the execution agent), and heartbeats and other tasks wait that long."""
        await asyncio.get_running_loop().run_in_executor(None, multiprocessing.forkserver.ensure_running)

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        async with self._slots:
            receiver, sender = self._context.Pipe(duplex=False)
            process = self._context.Process(target=_child, args=(sender, function, args, os.getpid()), daemon=True)
            process.start()
            sender.close()
            loop = asyncio.get_running_loop()
            try:
                try:
                    await loop.run_in_executor(None, receiver.poll, None)
                except asyncio.CancelledError:
                    process.kill()  # the task timed out or was cancelled: stop the computation, too
                    raise
                try:
                    ok, value = receiver.recv()
                except EOFError:
                    process.join()
                    raise TaskError(
                        "worker_crashed", f"the worker process died (exit code {process.exitcode})", retryable=True
                    ) from None
            finally:
                receiver.close()
                await loop.run_in_executor(None, process.join)
            if not ok:
                raise value
            return value


Handle = Callable[[Any, AgentContext], Awaitable[contract.TaskResult]]


def run_agent(agent: str, handle: Handle, *, cpu_workers: int = 0, default_timeout_s: float | None = None) -> None:
    """The ``__main__`` of an agent module: serve ``agent``'s tasks until SIGINT/SIGTERM.

    ``default_timeout_s`` bounds each task unless ``GAAI_TASK_TIMEOUT_S`` says otherwise;
    an agent that runs ``cpu_workers`` worker processes runs ``GAAI_CPU_WORKERS`` when set.
    """
    settings = process_settings(f"gaai-{agent}")
    if settings.task_timeout_s is None and default_timeout_s is not None:
        settings = msgspec.structs.replace(settings, task_timeout_s=default_timeout_s)
    if cpu_workers and settings.cpu_workers:
        cpu_workers = settings.cpu_workers
    instance = this_instance(agent)

    async def main(stop: asyncio.Event) -> None:
        await _serve_agent(agent, handle, settings, cpu_workers, instance, stop)

    run_process(f"gaai-{agent}", instance.instance_id, main)


async def _serve_agent(
    agent: str, handle: Handle, settings: Settings, cpu_workers: int, instance: contract.Instance, stop: asyncio.Event
) -> None:
    home = settings.home or default_home()
    store = EmbeddedStore(home)
    provider, prices = llm_from_env()
    pool = CpuPool(cpu_workers, preload=[handle.__module__, "store"]) if cpu_workers else None
    if pool is not None:
        await pool.start()
        log.info("cpu workers", agent=agent, workers=cpu_workers)
    bus = await Bus.connect(settings, name=f"gaai-{agent}")
    try:
        await serve(bus, settings, agent, make_handler(handle, store, home, provider, prices, pool), stop, instance)
    except BusError as exc:
        log.error("agent stopped", error=exc.message)
        raise
    finally:
        await bus.close()
        await provider.close()


def make_handler(
    handle: Handle, store: GraphStore, home: Path, provider: LlmProvider, prices: PriceTable, pool: CpuPool | None
):
    async def handler(envelope: contract.TaskEnvelope, job: Job) -> contract.TaskResult:
        ctx = AgentContext(
            workflow_id=envelope.workflow_id,
            task_id=envelope.task_id,
            attempt=envelope.attempt,
            store=store,
            llm=RecordingLlm(provider, job.llm_calls, prices),
            home=home,
            _job=job,
            _pool=pool,
        )
        return await handle(envelope.task, ctx)

    return handler
