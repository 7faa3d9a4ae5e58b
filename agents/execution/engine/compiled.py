"""Compiled kernels: numba functions cached on disk and run without the GIL, and how many cores to use."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
import structlog

log = structlog.get_logger("agents.execution")


def kernel(function: Callable) -> Callable:
    """``numba.njit``, cached on disk so a fresh worker process loads machine code instead
    of compiling it, and without the GIL so threads can run it side by side.

    numba refuses ``cache=True`` (``RuntimeError`` at decoration) when neither the
    package's ``__pycache__`` nor the user's cache directory is writable, as in a
    read-only install with a read-only home; every process then compiles for itself.
    """
    try:
        return numba.njit(cache=True, nogil=True)(function)
    except RuntimeError as exc:
        log.warning(
            "numba_cache_unavailable",
            function=function.__name__,
            error=str(exc),
            fix="set NUMBA_CACHE_DIR to a writable directory",
        )
        return numba.njit(nogil=True)(function)


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def summed_over_slices(sources: np.ndarray, sums: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``sums(sources)`` on all usable cores: ``sources`` cut into one fixed slice per core, each slice's sums
    computed by its own thread (a kernel without the GIL) and added in slice order, so a run repeats its result
    exactly (with as many cores; another core count rounds differently in the last bits)."""
    slices = np.array_split(sources, max(1, min(usable_cores(), sources.size)))
    if len(slices) == 1:
        return sums(sources)
    with ThreadPoolExecutor(len(slices)) as pool:
        parts = list(pool.map(sums, slices))
    total = parts[0]
    for part in parts[1:]:
        total += part
    return total
