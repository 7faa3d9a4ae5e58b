"""How an agent process runs: ``run_agent`` serves one agent's ``handle(task, ctx)`` until it is stopped.

It builds each task's ``AgentContext`` (``agents.lib.context``) around the store, the
language model and the agent's ``CpuPool`` (``agents.lib.cpu_pool``); the bus details
stay in ``bus.worker``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec
import structlog

from gaai.agents.lib.context import AgentContext
from gaai.agents.lib.cpu_pool import CpuPool
from gaai.agents.lib.llm import LlmProvider, PriceTable, RecordingLlm
from gaai.agents.lib.llm_config import llm_from_env
from gaai.bus import contract
from gaai.bus.connection import Bus
from gaai.bus.errors import BusError
from gaai.bus.process import process_settings, run_process
from gaai.bus.settings import Settings
from gaai.bus.worker import Job, serve, this_instance
from gaai.store import EmbeddedStore, GraphStore, default_home

log = structlog.get_logger("agents")

AgentHandler = Callable[[Any, AgentContext], Awaitable[contract.TaskResult]]
"""An agent's ``handle(task, ctx)``."""


def run_agent(
    agent: str, handle: AgentHandler, *, cpu_workers: int = 0, default_timeout_s: float | None = None
) -> None:
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
    agent: str,
    handle: AgentHandler,
    settings: Settings,
    cpu_workers: int,
    instance: contract.Instance,
    stop: asyncio.Event,
) -> None:
    home = settings.home or default_home()
    store = EmbeddedStore(home)
    provider, prices = llm_from_env()
    pool = CpuPool(cpu_workers, preload=[handle.__module__, "gaai.store"]) if cpu_workers else None
    if pool is not None:
        await pool.start()
        log.info("cpu workers", agent=agent, workers=cpu_workers)
    bus = await Bus.connect(settings, name=f"gaai-{agent}")
    try:
        await serve(bus, settings, agent, envelope_handler(handle, store, home, provider, prices, pool), stop, instance)
    except BusError as exc:
        log.error("agent stopped", error=exc.message)
        raise
    finally:
        await bus.close()
        await provider.close()


def envelope_handler(
    handle: AgentHandler, store: GraphStore, home: Path, provider: LlmProvider, prices: PriceTable, pool: CpuPool | None
) -> Callable[[contract.TaskEnvelope, Job], Awaitable[contract.TaskResult]]:
    """The worker's handler of a task envelope: ``handle`` with the task's context."""

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
