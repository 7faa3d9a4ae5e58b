"""The execution agent's workers: forked with the engine's compiled kernels already loaded."""

from __future__ import annotations

import asyncio

from numba.core.registry import CPUDispatcher

from agents._runtime import CpuPool
from agents.execution import engine
from agents.execution.agent import handle


def loaded_signatures() -> dict[str, int]:
    """How many compiled signatures each of the engine's kernels holds in this process."""
    return {name: len(kernel.signatures) for name, kernel in vars(engine).items() if isinstance(kernel, CPUDispatcher)}


def signatures_before_and_after_running_every_algorithm() -> tuple[dict[str, int], dict[str, int]]:
    before = loaded_signatures()
    engine.load_compiled_kernels()
    return before, loaded_signatures()


def test_a_worker_starts_with_every_kernel_loaded():
    """The agent's forkserver preloads the handler's module: in a worker forked from it, running every algorithm loads no kernel."""
    pool = CpuPool(1, preload=[handle.__module__, "store"])
    before, after = asyncio.run(pool.run(signatures_before_and_after_running_every_algorithm))
    assert before == after
    assert sum(count > 0 for count in before.values()) >= 9
