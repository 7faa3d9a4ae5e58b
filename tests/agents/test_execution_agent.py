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


def test_a_worker_starts_with_every_kernel_loaded():
    """The agent's forkserver preloads the handler's module: a worker forked from it holds every kernel before calling one."""
    pool = CpuPool(1, preload=[handle.__module__, "store"])
    loaded = asyncio.run(pool.run(loaded_signatures))
    # This process imported the handler's module too (and other tests may have compiled
    # more signatures here); a kernel only other kernels call (``_sort_row``) has none.
    used_here = [name for name, count in loaded_signatures().items() if count]
    assert len(used_here) >= 9
    assert all(loaded[name] >= 1 for name in used_here), loaded
