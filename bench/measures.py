"""The figures every benchmark reports the same way: percentiles and sustained completion rates.

Kept apart from ``_stack`` (which loads the bus and the store) so that the orchestration peers' processes
can use them without paying for our stack.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0–100), linear interpolation between closest ranks."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


async def sustained_rate(one_workflow: Callable[[], Awaitable[object]], in_flight: int, total: int) -> float:
    """Completions per second with ``in_flight`` workflows running at all times, ramp-up and drain left out."""
    ended: list[float] = []
    remaining = total

    async def keep_one_running() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await one_workflow()
            ended.append(time.perf_counter())

    await asyncio.gather(*(keep_one_running() for _ in range(in_flight)))
    first, last = in_flight - 1, total - in_flight - 1
    return (last - first) / (ended[last] - ended[first])
