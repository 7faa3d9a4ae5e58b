"""An emulated agent for tests: serves one agent kind and never succeeds.

Run as a real process (``python tests/e2e/emulated_slow_agent.py AGENT``). By default it
holds each task for GAAI_EMULATED_DELAY_S seconds, so tests can interrupt, cancel or kill
it mid-task; with GAAI_EMULATED_MODE=fail it fails every delivery with a retryable error,
a poison task.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from bus.connection import Bus
from bus.contract import TaskEnvelope
from bus.errors import TaskError
from bus.settings import Settings
from bus.worker import Job, serve
from telemetry.logging import setup_logging


async def hold(envelope: TaskEnvelope, job: Job):
    if os.environ.get("GAAI_EMULATED_MODE") == "fail":
        raise TaskError("emulated_failure", f"emulated failure on delivery {job.deliveries}", retryable=True)
    await asyncio.sleep(float(os.environ.get("GAAI_EMULATED_DELAY_S", "60")))
    raise TaskError("emulated", "the emulated agent held the task to the end")


async def main(agent: str) -> None:
    setup_logging(f"emulated-{agent}")
    settings = Settings.from_env()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    bus = await Bus.connect(settings, name=f"emulated-{agent}")
    try:
        await serve(bus, settings, agent, hold, stop)
    finally:
        await bus.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
