"""``python -m gaai.orchestrator``: run the orchestrator process against ``NATS_URL``."""

from __future__ import annotations

import asyncio
import os
import socket

from gaai.bus.connection import Bus
from gaai.bus.process import process_settings, run_process
from gaai.bus.settings import Settings
from gaai.orchestrator.runner import Orchestrator
from gaai.store import EmbeddedStore


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    bus = await Bus.connect(settings, name="gaai-orchestrator")
    try:
        await Orchestrator(bus, settings, EmbeddedStore(settings.home)).run(stop)
    finally:
        await bus.close()


def main() -> None:
    settings = process_settings("gaai-orchestrator")

    async def until(stop: asyncio.Event) -> None:
        await serve(settings, stop)

    run_process("gaai-orchestrator", f"{socket.gethostname()}:{os.getpid()}", until)


if __name__ == "__main__":
    main()
