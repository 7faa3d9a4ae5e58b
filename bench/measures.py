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


async def sustained_rate(
    one_workflow: Callable[[], Awaitable[object]], in_flight: int, total: int, budget_s: float | None = None
) -> tuple[float, int]:
    """Completions per second with ``in_flight`` workflows running at all times, ramp-up and drain left out,
    and how many workflows that took.

    With ``budget_s``, no workflow is started once that long has passed, as soon as enough have been started to
    leave a steady window (more than twice ``in_flight``): a peer that runs one workflow a second is measured in
    minutes, not in the hour ``total`` would take it.
    """
    ended: list[float] = []
    started_at = time.perf_counter()
    started = 0

    def more() -> bool:
        if started >= total:
            return False
        out_of_time = budget_s is not None and time.perf_counter() - started_at > budget_s
        return not (out_of_time and started > 2 * in_flight)

    async def keep_one_running() -> None:
        nonlocal started
        while more():
            started += 1
            await one_workflow()
            ended.append(time.perf_counter())

    await asyncio.gather(*(keep_one_running() for _ in range(in_flight)))
    first, last = in_flight - 1, started - in_flight - 1
    return (last - first) / (ended[last] - ended[first]), started
