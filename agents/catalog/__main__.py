"""``python -m gaai.agents.catalog``: run the analytics catalog against ``NATS_URL``."""

import asyncio

from gaai.agents.catalog.handler import follow
from gaai.bus.process import process_settings, run_process
from gaai.bus.worker import this_instance

settings = process_settings("gaai-catalog")


async def until(stop: asyncio.Event) -> None:
    await follow(settings, stop)


run_process("gaai-catalog", this_instance("catalog").instance_id, until)
