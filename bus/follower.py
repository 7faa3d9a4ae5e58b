"""An agent that follows the results stream instead of taking tasks: the analytics catalog.

The follower has its own durable consumer on ``GAAI_RESULTS`` (the orchestrator has
another), so it sees every agent's result once, whoever sent it, and the orchestrator
never waits for it: recording lineage is off every workflow's critical path and costs
no task, no second result and no state write. The handler must be idempotent on the
workflow and task ids, because a redelivered result is handled again.

    handled                       → ack
    failed (any exception)        → nak with backoff; after max_deliver: logged as an error, term
    undecodable                   → term
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import msgspec
import nats.errors
import nats.js.errors
import structlog
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from opentelemetry.trace import Status, StatusCode

from bus import subjects
from bus.codec import result_decoder
from bus.connection import Bus
from bus.contract import ResultEnvelope
from bus.errors import BusError
from bus.feed import Feed
from bus.settings import Settings
from bus.worker import nak_with_backoff
from telemetry.logging import bind_task, unbind_task
from telemetry.tracing import consumer_span, current_ids

log = structlog.get_logger("bus.follower")

ResultHandler = Callable[[ResultEnvelope], Awaitable[None]]


async def follow_results(bus: Bus, settings: Settings, handler: ResultHandler, stop: asyncio.Event) -> None:
    """Hand every result to ``handler`` until ``stop`` is set, then let in-flight ones finish."""
    await bus.ensure_catalog_consumer(settings)

    async def on_message(message: Msg) -> None:
        await _handle(settings, handler, message)

    feed = Feed(bus, subjects.RESULTS_STREAM, subjects.CATALOG_CONSUMER, settings.concurrency, on_message)
    await feed.start()
    log.info("agent ready", agent="catalog", follows=subjects.RESULTS_STREAM, concurrency=settings.concurrency)
    await stop.wait()
    await feed.close()


async def catalog_caught_up(js: JetStreamContext, timeout: float) -> bool:
    """True once the catalog has acknowledged every result published before the call."""
    deadline = time.monotonic() + timeout
    try:
        published = (await js.stream_info(subjects.RESULTS_STREAM)).state.last_seq
        while True:
            info = await js.consumer_info(subjects.RESULTS_STREAM, subjects.CATALOG_CONSUMER)
            if info.ack_floor is not None and (info.ack_floor.stream_seq or 0) >= published:
                return True
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.02)
    except nats.js.errors.NotFoundError:
        return False  # no catalog consumer: no catalog has ever run here
    except (nats.errors.Error, nats.js.errors.Error, asyncio.TimeoutError) as exc:
        raise BusError(
            "jetstream_unavailable", f"cannot read the catalog's progress: {exc or type(exc).__name__}"
        ) from None


async def _handle(settings: Settings, handler: ResultHandler, message: Msg) -> None:
    deliveries = message.metadata.num_delivered if message.metadata else 1
    try:
        reply = result_decoder.decode(message.data)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        log.error("undecodable result terminated", subject=message.subject, error=str(exc))
        await message.term()
        return
    attributes = {"gaai.workflow.id": reply.workflow_id, "gaai.task.id": reply.task_id, "gaai.deliveries": deliveries}
    message_id = (message.headers or {}).get(subjects.HEADER_MSG_ID, reply.task_id)
    with consumer_span(
        message.subject, message.headers, message_id, len(message.data), subjects.CATALOG_CONSUMER, attributes
    ) as span:
        trace_id, span_id = current_ids()
        bind_task(workflow_id=reply.workflow_id, task_id=reply.task_id, trace_id=trace_id, span_id=span_id)
        try:
            await handler(reply)
        except Exception as exc:  # noqa: BLE001 - one bad result must not stop the follower
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
            if deliveries < settings.max_deliver:
                log.warning(
                    "result not recorded, will retry", error=f"{type(exc).__name__}: {exc}", deliveries=deliveries
                )
                await nak_with_backoff(message, deliveries)
            else:
                log.error(
                    "result not recorded after every retry; dropped",
                    error=f"{type(exc).__name__}: {exc}",
                    deliveries=deliveries,
                )
                await message.term()
            return
        finally:
            unbind_task()
    await message.ack()
