"""An emulated agent for tests: serves one agent kind and never succeeds.

Run as a real process (``python tests/e2e/emulated_slow_agent.py AGENT``). By default it
holds each task for GAAI_EMULATED_DELAY_S seconds, so tests can interrupt, cancel or kill
it mid-task; with GAAI_EMULATED_MODE=fail it fails every delivery with a retryable error,
a poison task.
"""

from __future__ import annotations

import asyncio
import os
import sys

from gaai.bus.connection import Bus
from gaai.bus.contract import TaskEnvelope
from gaai.bus.errors import TaskError
from gaai.bus.process import process_settings, run_process
from gaai.bus.worker import Job, serve, this_instance


async def hold(envelope: TaskEnvelope, job: Job):
    if os.environ.get("GAAI_EMULATED_MODE") == "fail":
        raise TaskError("internal", f"emulated failure on delivery {job.deliveries}", retryable=True)
    await asyncio.sleep(float(os.environ.get("GAAI_EMULATED_DELAY_S", "60")))
    raise TaskError("internal", "the emulated agent held the task to the end")


def main(agent: str) -> None:
    settings = process_settings(f"emulated-{agent}")
    instance = this_instance(agent)

    async def until(stop: asyncio.Event) -> None:
        bus = await Bus.connect(settings, name=f"emulated-{agent}")
        try:
            await serve(bus, settings, agent, hold, stop, instance)
        finally:
            await bus.close()

    # The process around it is the real agents' own: logging, tracing, loop and signals.
    run_process(f"emulated-{agent}", instance.instance_id, until)


if __name__ == "__main__":
    main(sys.argv[1])
