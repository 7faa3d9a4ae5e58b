"""Open pull requests against a real nats-server: capacity, fairness between replicas, expiry."""

from __future__ import annotations

import asyncio

import pytest

from gaai.bus import feed as feed_module
from gaai.bus import subjects
from gaai.bus.connection import Bus
from gaai.bus.feed import Feed
from gaai.bus.settings import Settings

AGENT = "templates"


async def connected(url: str) -> Bus:
    bus = await Bus.connect(Settings(nats_url=url), name="test-feed")
    await bus.ensure_agent_consumer(AGENT, Settings(nats_url=url))
    return bus


async def publish(bus: Bus, count: int) -> None:
    for i in range(count):
        await bus.publish(subjects.task_subject(AGENT), str(i).encode(), {subjects.HEADER_MSG_ID: f"feed-test:{i}"})


class Recorder:
    """A handler that holds each message a moment and records how many it held at once."""

    def __init__(self, hold_s: float = 0.02) -> None:
        self.hold_s = hold_s
        self.holding = 0
        self.most_held = 0
        self.seen: list[int] = []

    async def __call__(self, message) -> None:
        self.holding += 1
        self.most_held = max(self.most_held, self.holding)
        await asyncio.sleep(self.hold_s)
        self.seen.append(int(message.data))
        self.holding -= 1
        await message.ack()


async def wait_for(condition, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


async def test_never_holds_more_than_its_capacity_and_handles_every_message_once(fresh_nats):
    bus = await connected(fresh_nats.url)
    handler = Recorder()
    feed = Feed(bus, subjects.TASKS_STREAM, subjects.agent_consumer(AGENT), 3, handler)
    await feed.start()
    await publish(bus, 40)
    await wait_for(lambda: len(handler.seen) == 40)
    await feed.close()
    await bus.close()
    assert sorted(handler.seen) == list(range(40))
    assert handler.most_held == 3


async def test_asks_for_freed_capacity_in_batches_not_per_message(fresh_nats):
    bus = await connected(fresh_nats.url)
    requests: list[bytes] = []

    async def count(message) -> None:
        requests.append(message.data)

    tap = await bus.nc.subscribe(
        f"$JS.API.CONSUMER.MSG.NEXT.{subjects.TASKS_STREAM}.{subjects.agent_consumer(AGENT)}", cb=count
    )
    one_at_a_time = asyncio.Lock()
    handler = Recorder(hold_s=0.002)

    async def in_turn(message) -> None:
        async with one_at_a_time:  # handlers finish one by one, each freeing one slot
            await handler(message)

    await publish(bus, 80)
    feed = Feed(bus, subjects.TASKS_STREAM, subjects.agent_consumer(AGENT), 8, in_turn)
    await feed.start()
    await wait_for(lambda: len(handler.seen) == 80)
    await feed.close()
    await tap.unsubscribe()
    await bus.close()
    assert sorted(handler.seen) == list(range(80))
    # A request per freed slot would be about 80; a quarter of the capacity (2 slots) at a time, about 40.
    assert len(requests) <= 45, len(requests)


async def test_replicas_share_the_consumer(fresh_nats):
    bus = await connected(fresh_nats.url)
    first, second = Recorder(), Recorder()
    feeds = [
        Feed(bus, subjects.TASKS_STREAM, subjects.agent_consumer(AGENT), 2, handler) for handler in (first, second)
    ]
    for feed in feeds:
        await feed.start()
    await publish(bus, 40)
    await wait_for(lambda: len(first.seen) + len(second.seen) == 40)
    for feed in feeds:
        await feed.close()
    await bus.close()
    assert sorted(first.seen + second.seen) == list(range(40))
    assert first.seen and second.seen, "both replicas got work"


async def test_expired_requests_are_asked_again(
    fresh_nats, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    """A message published after the open requests expired arrives, without the silence watchdog's help."""
    monkeypatch.setattr(feed_module, "REQUEST_EXPIRES_S", 0.3)
    monkeypatch.setattr(feed_module, "HEARTBEAT_S", 0.1)
    bus = await connected(fresh_nats.url)
    handler = Recorder(hold_s=0)
    feed = Feed(bus, subjects.TASKS_STREAM, subjects.agent_consumer(AGENT), 4, handler)
    await feed.start()
    await asyncio.sleep(1.0)  # three expiries
    await publish(bus, 5)
    await wait_for(lambda: len(handler.seen) == 5, timeout=5)
    await feed.close()
    await bus.close()
    assert sorted(handler.seen) == list(range(5))
    assert "went silent" not in capsys.readouterr().out, "the server's expiry notices were not counted"


async def test_a_closed_feed_leaves_no_request_behind_to_swallow_messages(fresh_nats):
    """After one replica stops, a task published next reaches the replica that is still there."""
    bus = await connected(fresh_nats.url)
    leaving, staying = Recorder(hold_s=0), Recorder(hold_s=0)
    gone = Feed(bus, subjects.TASKS_STREAM, subjects.agent_consumer(AGENT), 8, leaving)
    await gone.start()
    await gone.close()
    kept = Feed(bus, subjects.TASKS_STREAM, subjects.agent_consumer(AGENT), 8, staying)
    await kept.start()
    await publish(bus, 5)
    # Well inside the consumer's 30 s ack wait: a message delivered to the closed feed's inbox would only
    # come back after it.
    await wait_for(lambda: len(staying.seen) == 5, timeout=5)
    await kept.close()
    await bus.close()
    assert leaving.seen == [] and sorted(staying.seen) == list(range(5))
