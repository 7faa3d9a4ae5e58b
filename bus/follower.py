"""An agent that follows the results stream instead of taking tasks: the analytics catalog.

The follower has its own durable consumer on ``GAAI_RESULTS`` (the orchestrator has
another), so it sees every agent's result once, whoever sent it, and the orchestrator
never waits for it: recording lineage is off every workflow's critical path and costs
no task, no second result and no state write. The handler must be idempotent on the
workflow and task ids, because a redelivered result is handled again.

    handled                       → ack
    failed (any exception)        → nak with backoff; after max_deliver: logged as an error, term
    undecodable                   → term

Decoding, the span, the log binding and the acknowledgements are ``bus.consume``'s.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import structlog

from gaai.bus import subjects
from gaai.bus.codec import result_decoder
from gaai.bus.connection import Bus
from gaai.bus.consume import Delivery, Pipeline, Settlement, ack
from gaai.bus.contract import ResultEnvelope
from gaai.bus.feed import Feed
from gaai.bus.settings import Settings

log = structlog.get_logger("bus.follower")

ResultHandler = Callable[[ResultEnvelope], Awaitable[None]]


async def follow_results(
    bus: Bus, settings: Settings, handler: ResultHandler, stop: asyncio.Event, *, in_hand: int
) -> None:
    """Hand every result to ``handler``, at most ``in_hand`` at once, until ``stop`` is set; then let in-flight ones
    finish."""
    await bus.ensure_catalog_consumer(settings)

    async def handle(reply: ResultEnvelope, delivery: Delivery) -> Settlement:
        await handler(reply)
        return ack()

    pipeline = Pipeline(
        consumer=subjects.CATALOG_CONSUMER,
        what="result",
        decoder=result_decoder,
        handle=handle,
        max_deliver=settings.max_deliver,
    )
    feed = Feed(bus, subjects.RESULTS_STREAM, subjects.CATALOG_CONSUMER, in_hand, pipeline)
    await feed.start()
    log.info("agent ready", agent="catalog", follows=subjects.RESULTS_STREAM, in_hand=in_hand)
    await stop.wait()
    await feed.close()


async def catalog_caught_up(bus: Bus, timeout: float) -> bool:
    """True once the catalog has acknowledged every result published before the call."""
    deadline = time.monotonic() + timeout
    published = await bus.last_sequence(subjects.RESULTS_STREAM)
    while True:
        progress = await bus.consumer_progress(subjects.RESULTS_STREAM, subjects.CATALOG_CONSUMER)
        if progress is None:
            return False  # no catalog consumer: no catalog has ever run here
        if progress.acknowledged_up_to >= published:
            return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
