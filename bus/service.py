"""Request/reply endpoints (``gaai.workflow.submit``, ``gaai.workflow.status``…).

Every answer is JSON. A handler returns a Struct or raises ``RequestError``; anything
else becomes ``{"error": {"code": "internal", ...}}``. The process never dies of a request.

Intake is bounded: the subscription's callback only admits or refuses, so messages leave
nats-py's buffer as fast as the connection is read; an endpoint works on at most
``REQUESTS_IN_HAND`` requests holding ``REQUEST_BYTES_IN_HAND`` bytes of bodies at once, and
answers anything beyond that ``overloaded`` (retryable) at once. A flood that arrives faster
than the connection is read waits in the server, which must allow for it (``max_pending``,
docs/RELIABILITY.md) or it cuts the process as a slow consumer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import nats.errors
import structlog
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from gaai.bus.codec import encode
from gaai.bus.connection import Bus
from gaai.bus.contract import ErrorCode, ErrorReply
from gaai.bus.errors import GaaiError, error_info

log = structlog.get_logger("bus.service")

MAX_REQUEST_BYTES = 8 * 1024 * 1024
"""A larger body is refused ``too_large`` before it is decoded (reachable when the server's max_payload is raised)."""
REQUESTS_IN_HAND = 128
"""Requests one endpoint works on at once."""
REQUEST_BYTES_IN_HAND = 16 * 1024 * 1024
"""Bytes of request bodies one endpoint holds while it works on them; at least ``MAX_REQUEST_BYTES``."""
PENDING_BYTES_LIMIT = 64 * 1024 * 1024
"""Bytes nats-py may buffer for the subscription before the callback has looked at them. The callback never waits
on a handler, so this holds at most a few socket reads; past it nats-py would drop requests unanswered."""
PENDING_MSGS_LIMIT = 65_536
DRAIN_S = 5.0
"""On close, how long requests already admitted may take to be answered before they are cancelled (well inside the
10 s a supervisor such as ``gaai up`` gives a process between SIGTERM and SIGKILL)."""

RequestHandler = Callable[[bytes], Awaitable[object]]


class Endpoint:
    """One served subject: admits a request while it has room and answers it when its handler returns;
    refuses one over ``MAX_REQUEST_BYTES`` with ``too_large`` and one it has no room for with ``overloaded``."""

    def __init__(self, bus: Bus, subject: str, handler: RequestHandler) -> None:
        self._bus = bus
        self.subject = subject
        self._handler = handler
        self._in_hand: set[asyncio.Task[None]] = set()
        self._bytes_in_hand = 0
        self._refused_in_a_row = 0
        self._subscription: Subscription | None = None

    async def start(self, queue: str) -> None:
        self._subscription = await self._bus.nc.subscribe(
            self.subject,
            queue=queue,
            cb=self._on_request,
            pending_msgs_limit=PENDING_MSGS_LIMIT,
            pending_bytes_limit=PENDING_BYTES_LIMIT,
        )
        # nats-py writes a flush's PING straight to the socket, ahead of the SUB still queued for its flusher
        # task, so one PONG does not mean the server has the SUB. The flusher runs before that PONG is read,
        # so the second PING leaves after the SUB and its PONG does.
        await self._bus.nc.flush()
        await self._bus.nc.flush()

    async def close(self) -> None:
        """Take no more requests; answer the admitted ones (cancelled after ``DRAIN_S``)."""
        if self._subscription is not None:
            with contextlib.suppress(nats.errors.Error):  # the connection is gone, and the subscription with it
                await self._subscription.unsubscribe()
        if self._in_hand:
            _, late = await asyncio.wait(set(self._in_hand), timeout=DRAIN_S)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    async def _on_request(self, msg: Msg) -> None:
        """nats-py calls this for one message after another, so it admits or refuses and never waits on a handler."""
        if not msg.reply:
            return
        size = len(msg.data)
        if size > MAX_REQUEST_BYTES:
            await self._respond(msg, too_large(size))
            return
        if len(self._in_hand) >= REQUESTS_IN_HAND or self._bytes_in_hand + size > REQUEST_BYTES_IN_HAND:
            await self._refuse(msg)
            return
        if self._refused_in_a_row:
            log.info("taking requests again", subject=self.subject, refused_overloaded=self._refused_in_a_row)
            self._refused_in_a_row = 0
        self._bytes_in_hand += size
        task = asyncio.create_task(self._serve(msg, size))
        self._in_hand.add(task)
        task.add_done_callback(self._in_hand.discard)

    async def _refuse(self, msg: Msg) -> None:
        if not self._refused_in_a_row:
            log.warning(
                "endpoint full; answering overloaded",
                subject=self.subject,
                requests=len(self._in_hand),
                request_bytes=self._bytes_in_hand,
            )
        self._refused_in_a_row += 1
        message = (
            f"{self.subject} is busy with {len(self._in_hand)} requests ({self._bytes_in_hand} bytes); "
            f"it takes {REQUESTS_IN_HAND} requests or {REQUEST_BYTES_IN_HAND} bytes at once; send it again shortly"
        )
        await self._respond(msg, error_reply("overloaded", message))

    async def _serve(self, msg: Msg, size: int) -> None:
        try:
            reply = await answer(self._handler, msg.data)
        finally:
            self._bytes_in_hand -= size
        await self._respond(msg, reply)

    async def _respond(self, msg: Msg, reply: object) -> None:
        try:
            await msg.respond(encode(reply))
        except nats.errors.Error as exc:
            log.warning("could not answer request", subject=self.subject, error=str(exc) or type(exc).__name__)


async def add_endpoint(bus: Bus, subject: str, queue: str, handler: RequestHandler) -> Endpoint:
    """Serve ``subject`` in queue group ``queue`` so replicas share requests; live on the server when it returns."""
    endpoint = Endpoint(bus, subject, handler)
    await endpoint.start(queue)
    return endpoint


async def answer(handler: RequestHandler, data: bytes) -> object:
    if len(data) > MAX_REQUEST_BYTES:
        return too_large(len(data))
    try:
        return await handler(data)
    except GaaiError as exc:
        return ErrorReply(error=exc.info())
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a request must never take the process down
        log.exception("request handler crashed")
        return error_reply("internal", f"internal error: {type(exc).__name__}")


def error_reply(code: ErrorCode, message: str) -> ErrorReply:
    return ErrorReply(error=error_info(code, message))


def too_large(size: int) -> ErrorReply:
    return error_reply("too_large", f"request of {size} bytes exceeds the limit of {MAX_REQUEST_BYTES}")
