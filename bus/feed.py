"""Messages of a durable pull consumer handed over the moment they arrive.

nats-py's ``fetch`` costs a probe round trip before every long poll and, asked for a
batch, may sit on the messages it already has while it waits for the rest of that batch
(measured: an idle agent now and then picked up a task 0.5–1 s late). A ``Feed`` keeps
pull requests open on the server instead, the way the NATS "consume" clients do:

- one inbox subscription receives every delivery; each message goes to ``on_message``
  at once, in its own asyncio task;
- at most ``capacity`` messages are ever requested or in hand, so a replica never takes
  more work than it can run, and replicas share a consumer fairly;
- free capacity not covered by open requests is asked for in one more request once it
  reaches a quarter of the capacity: a request per handled message would add a message
  per task, and every open request costs the server a heartbeat. Under a backlog a
  feed therefore holds between three quarters of its capacity and all of it;
- requests expire after ``REQUEST_EXPIRES_S``; the server then says how many it did not
  deliver (status 408 with ``Nats-Pending-Messages``) and that capacity is asked again;
- the server's idle heartbeats prove open requests are alive. When they stop (a
  reconnect, a server restart) the open requests are written off and asked anew.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Coroutine
from typing import Any

import nats.errors
import structlog
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from gaai.bus.connection import Bus

log = structlog.get_logger("bus.feed")

REQUEST_EXPIRES_S = 30.0
HEARTBEAT_S = 1.0
_STATUS = "Status"
_PENDING_MESSAGES = "Nats-Pending-Messages"
_HEARTBEAT = "100"
_LEADERSHIP_CHANGE = "Leadership Change"
_NO_RESPONDERS = "503"


class Feed:
    """Deliveries of one durable pull consumer, at most ``capacity`` of them in hand.

    Args:
        bus: the open connection.
        stream, durable: the consumer to pull from (it must exist).
        capacity: how many messages may be requested or being handled at once.
        on_message: handles one message; its return frees the message's capacity. It must
            acknowledge (ack, nak or term) the message itself.
    """

    def __init__(
        self, bus: Bus, stream: str, durable: str, capacity: int, on_message: Callable[[Msg], Coroutine[Any, Any, None]]
    ) -> None:
        self._bus = bus
        self._next_subject = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}"
        self._capacity = capacity
        self._on_message = on_message
        self._inbox = bus.nc.new_inbox()
        self._subscription: Subscription | None = None
        self._requested = 0
        self._handling: set[asyncio.Task[None]] = set()
        self._heard_at = time.monotonic()
        self._closing = False
        self._watchdog: asyncio.Task[None] | None = None
        # The loop keeps only weak references to tasks: these hold the top-ups until they end.
        self._topping_up: set[asyncio.Task[None]] = set()

    @property
    def handling(self) -> set[asyncio.Task[None]]:
        """The handler tasks still running."""
        return self._handling

    async def start(self) -> None:
        self._subscription = await self._bus.nc.subscribe(self._inbox, cb=self._deliver)
        self._watchdog = asyncio.create_task(self._watch())
        await self._top_up()

    async def close(self) -> None:
        """Ask for nothing more, hand back what arrives late, and wait for the handlers."""
        self._closing = True
        if self._watchdog is not None:
            self._watchdog.cancel()
        if self._subscription is not None:
            with contextlib.suppress(nats.errors.Error):  # the connection is gone; so are the open requests
                await self._subscription.unsubscribe()
        if self._handling:
            await asyncio.gather(*self._handling, return_exceptions=True)

    async def _deliver(self, message: Msg) -> None:
        self._heard_at = time.monotonic()
        headers = message.headers or {}
        status = headers.get(_STATUS)
        if status is not None:
            if status != _HEARTBEAT:
                # 408 (request expired), 409 (consumer changed, limits): the rest of that
                # request will not come, and the server says how much that was.
                undelivered = headers.get(_PENDING_MESSAGES)
                if undelivered is None:  # a refused request; the watchdog asks again
                    description = headers.get("Description", "")
                    log.warning("pull request refused", status=status, description=description)
                    if description == _LEADERSHIP_CHANGE or status == _NO_RESPONDERS:
                        # The consumer has a new leader, or none yet (a server lost): none of our requests is open
                        # on it. Ask again now after a change, at the watchdog's next tick while there is no leader,
                        # rather than after the heartbeats' silence.
                        self._requested = 0
                        if status != _NO_RESPONDERS:
                            await self._top_up()
                else:
                    self._requested = max(0, self._requested - int(undelivered))
                    await self._top_up()
            return
        self._requested = max(0, self._requested - 1)
        if self._closing:
            await _hand_back(message)
            return
        task = asyncio.create_task(self._on_message(message))
        self._handling.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._handling.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("message handler failed", error=repr(task.exception()))
        if self._wanted():  # checked here: most handlers end without freeing enough to ask for more
            top_up = asyncio.ensure_future(self._top_up())
            self._topping_up.add(top_up)
            top_up.add_done_callback(self._topping_up.discard)

    def _wanted(self) -> int:
        """The capacity that neither open requests nor running handlers cover, once it is worth a request; else 0."""
        wanted = self._capacity - len(self._handling) - self._requested
        if wanted <= 0 or self._closing or wanted < self._capacity / 4:
            return 0
        return wanted

    async def _top_up(self) -> None:
        """Ask for the capacity that neither open requests nor running handlers cover."""
        wanted = self._wanted()
        if not wanted:
            return
        self._requested += wanted
        request = {"batch": wanted, "expires": int(REQUEST_EXPIRES_S * 1e9), "idle_heartbeat": int(HEARTBEAT_S * 1e9)}
        try:
            await self._bus.nc.publish(self._next_subject, json.dumps(request).encode(), reply=self._inbox)
        except nats.errors.Error as exc:
            self._requested -= wanted  # not sent; the watchdog asks again
            log.warning("pull request not sent", error=str(exc) or type(exc).__name__)

    async def _watch(self) -> None:
        """Write off open requests the server has stopped answering for (reconnect, restart)."""
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            silent = time.monotonic() - self._heard_at > 3 * HEARTBEAT_S
            if self._requested and silent and self._bus.nc.is_connected:
                log.info("pull requests went silent; asking again", requested=self._requested)
                self._requested = 0
                self._heard_at = time.monotonic()
            await self._top_up()


async def _hand_back(message: Msg) -> None:
    with contextlib.suppress(nats.errors.Error):  # the ack wait redelivers it
        await message.nak()
