"""The workflow benchmark's DAG as the orchestration peers run it, on any peer's way of running one task.

vertical ‖ schema analysis ‖ requirements → use cases → templates → for each template its execution → its
report: 15 no-op tasks at 5 templates. The templates task's result decides the fan-out, as in ours.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

TEMPLATES = 5
TASKS_PER_WORKFLOW = 3 + 2 + 2 * TEMPLATES

Call = Callable[..., Awaitable]
"""``call(kind, *inputs)``: run one task of that kind in a worker process; awaits its result."""


def task_result(kind: str, *inputs: object) -> object:
    """The no-op task every peer's workers run: the templates task answers the templates, the others a tag."""
    if kind == "templates":
        return [{"id": f"T{index:03d}"} for index in range(TEMPLATES)]
    return {"kind": kind, "inputs": len(inputs)}


async def run_dag(call: Call) -> int:
    """The workflow's DAG on ``call``; returns the number of tasks it ran."""
    heads = await asyncio.gather(call("vertical"), call("schema"), call("requirements"))
    use_cases = await call("use_cases", *heads)
    templates = await call("templates", use_cases)

    async def branch(template: object) -> object:
        return await call("report", await call("execution", template))

    reports = await asyncio.gather(*(branch(template) for template in templates))
    return len(heads) + 2 + len(templates) + len(reports)


async def hop_samples(call: Call, count: int) -> list[float]:
    """Milliseconds of ``count`` no-op task round trips, one at a time."""
    samples = []
    for index in range(count):
        started = time.perf_counter()
        await call("execution", {"id": f"T{index}"})
        samples.append((time.perf_counter() - started) * 1000)
    return samples
