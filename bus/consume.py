"""The one way a message of a durable consumer is taken in: decode, trace, bind, handle, settle.

The worker (tasks), the follower (the catalog's results) and the orchestrator (results) each
build a ``Pipeline`` and give it to a ``Feed``. For every delivery it

    decodes the body                → undecodable: term (redelivery cannot help), then ``on_undecodable``
    opens the CONSUMER span from the message's trace context, binds the workflow and task ids to the logs,
    keeps in-progress acks going while the handler runs (when ``progress_every_s`` is set),
    calls the handler               → acks, naks (with a delay) or terms as its ``Settlement`` says
    handler raised                  → nak with backoff; after ``max_deliver`` deliveries: term
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, Literal, Protocol, TypeVar

import msgspec
import nats.errors
import structlog
from nats.aio.msg import Msg
from opentelemetry.trace import Span, Status, StatusCode

from gaai.bus import subjects
from gaai.telemetry.logging import bind_task, unbind_task
from gaai.telemetry.tracing import consumer_span, current_ids

log = structlog.get_logger("bus.consume")

RETRY_BACKOFF_S = (0.5, 2.0, 5.0, 15.0, 30.0)


class Addressed(Protocol):
    """A decoded message that names its workflow, task and attempt."""

    @property
    def workflow_id(self) -> str: ...

    @property
    def task_id(self) -> str: ...

    @property
    def attempt(self) -> int: ...


M = TypeVar("M", bound=Addressed)


@dataclass(frozen=True)
class Settlement:
    """What to tell JetStream about a handled message, and whether its span failed."""

    action: Literal["ack", "nak", "term"]
    delay: float | None = None
    """For a nak: seconds before JetStream delivers the message again."""
    error: str | None = None
    """When set, the span ends with this error status."""
    exception: BaseException | None = None
    """When set, recorded on the span."""


def ack(error: str | None = None, exception: BaseException | None = None) -> Settlement:
    return Settlement("ack", error=error, exception=exception)


def retry(delay: float, error: str | None = None, exception: BaseException | None = None) -> Settlement:
    return Settlement("nak", delay=delay, error=error, exception=exception)


def drop(error: str | None = None, exception: BaseException | None = None) -> Settlement:
    return Settlement("term", error=error, exception=exception)


def backoff(deliveries: int) -> float:
    """The delay before the next delivery of a message delivered ``deliveries`` times."""
    return RETRY_BACKOFF_S[min(max(deliveries, 1), len(RETRY_BACKOFF_S)) - 1]


class Delivery:
    """One delivery of a message: its headers, how often it came, and the acknowledgements."""

    def __init__(self, message: Msg) -> None:
        self._message = message
        self.subject = message.subject
        self.headers: dict[str, str] = message.headers or {}
        self.deliveries = delivery_count(message.reply)

    @property
    def data(self) -> bytes:
        return self._message.data

    async def in_progress(self) -> None:
        """Tell JetStream the message is still being worked on (resets its ack wait)."""
        await _quietly(self._message.in_progress())

    async def settle(self, settlement: Settlement) -> None:
        if settlement.action == "ack":
            await self._message.ack()
        elif settlement.action == "nak":
            # A lost nak costs nothing: the ack wait redelivers the message anyway.
            await _quietly(self._message.nak(delay=settlement.delay))
        else:
            await self._message.term()


def delivery_count(reply: str | None) -> int:
    """How many times JetStream has delivered a message, read from its acknowledgement subject.

    That is ``$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time>.<pending>``, or with a
    domain and an account hash after ``$JS.ACK`` (11 tokens or more). Read here rather than through nats-py's
    ``Msg.metadata``, which builds every field (dates included) for every message; 1 when it is no such subject.
    """
    tokens = (reply or "").split(".")
    if len(tokens) < 9 or tokens[0] != "$JS" or tokens[1] != "ACK" or len(tokens) == 10:
        return 1
    return int(tokens[4] if len(tokens) == 9 else tokens[6])


Handler = Callable[[M, Delivery], Awaitable[Settlement]]
UndecodableHandler = Callable[[Delivery, str], Awaitable[None]]


class Pipeline(Generic[M]):
    """Takes in each message of one durable consumer; call it with the message (``Feed``'s ``on_message``).

    Args:
        consumer: the durable consumer's name, for the span.
        what: what its messages are ("task", "result"), for the logs.
        decoder: decodes a body into the message type.
        handle: does the work and says how to settle the message.
        max_deliver: deliveries after which a handler that raises has the message terminated
            (None: retried for ever).
        on_undecodable: called after an undecodable message was terminated, with the reason.
        progress_every_s: while the handler runs, an in-progress ack this often (None: none).
    """

    def __init__(
        self,
        *,
        consumer: str,
        what: str,
        decoder: msgspec.json.Decoder[M],
        handle: Handler[M],
        max_deliver: int | None,
        on_undecodable: UndecodableHandler | None = None,
        progress_every_s: float | None = None,
    ) -> None:
        self.consumer = consumer
        self.what = what
        self.decoder = decoder
        self.handle = handle
        self.max_deliver = max_deliver
        self.on_undecodable = on_undecodable
        self.progress_every_s = progress_every_s

    async def __call__(self, message: Msg) -> None:
        delivery = Delivery(message)
        try:
            decoded = self.decoder.decode(delivery.data)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.error(
                f"undecodable {self.what} terminated",
                subject=delivery.subject,
                reason=str(exc),
                workflow_id=delivery.headers.get(subjects.HEADER_WORKFLOW_ID),
                task_id=delivery.headers.get(subjects.HEADER_TASK_ID),
            )
            await delivery.settle(drop())
            if self.on_undecodable is not None:
                await self.on_undecodable(delivery, str(exc))
            return
        attributes = {
            "gaai.workflow.id": decoded.workflow_id,
            "gaai.task.id": decoded.task_id,
            "gaai.attempt": decoded.attempt,
            "gaai.deliveries": delivery.deliveries,
        }
        message_id = delivery.headers.get(subjects.HEADER_MSG_ID, decoded.task_id)
        with consumer_span(
            delivery.subject, delivery.headers, message_id, len(delivery.data), self.consumer, attributes
        ) as span:
            trace_id, span_id = current_ids()
            bind_task(
                workflow_id=decoded.workflow_id,
                task_id=decoded.task_id,
                attempt=decoded.attempt,
                trace_id=trace_id,
                span_id=span_id,
            )
            try:
                settlement = await self._handle(decoded, delivery)
                _mark(span, settlement)
            finally:
                unbind_task()
        await delivery.settle(settlement)

    async def _handle(self, decoded: M, delivery: Delivery) -> Settlement:
        keeping_alive = None
        if self.progress_every_s is not None:
            keeping_alive = _InProgressAcks(delivery, self.progress_every_s)
        try:
            return await self.handle(decoded, delivery)
        except Exception as exc:  # one bad message must not stop the consumer
            error = f"{type(exc).__name__}: {exc}"
            if self.max_deliver is None or delivery.deliveries < self.max_deliver:
                log.warning(f"{self.what} not handled, will retry", error=error, deliveries=delivery.deliveries)
                return retry(backoff(delivery.deliveries), error=error, exception=exc)
            log.error(
                f"{self.what} not handled after every retry; dropped", error=error, deliveries=delivery.deliveries
            )
            return drop(error=error, exception=exc)
        finally:
            if keeping_alive is not None:
                keeping_alive.stop()


def _mark(span: Span, settlement: Settlement) -> None:
    if settlement.exception is not None:
        span.record_exception(settlement.exception)
    if settlement.error is not None:
        span.set_status(Status(StatusCode.ERROR, settlement.error))


class _InProgressAcks:
    """An in-progress ack every ``every_s`` until ``stop``: a timer, not a task, since most handlers end long before
    the first one is due."""

    def __init__(self, delivery: Delivery, every_s: float) -> None:
        self._delivery = delivery
        self._every_s = every_s
        self._loop = asyncio.get_running_loop()
        self._timer = self._loop.call_later(every_s, self._send)
        self._sending: asyncio.Task[None] | None = None  # held: the loop keeps only weak references to tasks

    def _send(self) -> None:
        self._sending = self._loop.create_task(self._delivery.in_progress())
        self._timer = self._loop.call_later(self._every_s, self._send)

    def stop(self) -> None:
        self._timer.cancel()


async def _quietly(acknowledgement: Awaitable[None]) -> None:
    # A connection blip; JetStream's ack wait covers a lost acknowledgement.
    with contextlib.suppress(nats.errors.Error):
        await acknowledgement
