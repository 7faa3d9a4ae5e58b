"""``python -m orchestrator``: run the orchestrator process against ``NATS_URL``."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys

from bus.connection import Bus
from bus.errors import GaaiError
from bus.settings import Settings
from orchestrator.runner import Orchestrator
from store import EmbeddedStore
from telemetry.logging import setup_logging
from telemetry.tracing import setup_tracing, shutdown_tracing


async def serve(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    bus = await Bus.connect(settings, name="gaai-orchestrator")
    try:
        await Orchestrator(bus, settings, EmbeddedStore(settings.home)).run(stop)
    finally:
        await bus.close()


def main() -> None:
    setup_logging("gaai-orchestrator")
    setup_tracing("gaai-orchestrator", f"{socket.gethostname()}:{os.getpid()}")
    try:
        asyncio.run(serve(Settings.from_env()))
    except GaaiError as exc:
        print(f"gaai-orchestrator: {exc}", file=sys.stderr)
        sys.exit(2)
    finally:
        shutdown_tracing()


if __name__ == "__main__":
    main()
