"""The agent worker loop against a real nats-server: results, errors, retries, bad tasks."""

from __future__ import annotations

import asyncio

import pytest
from nats.js.api import ConsumerConfig

from gaai.bus import subjects
from gaai.bus.codec import encode, event_decoder, result_decoder
from gaai.bus.connection import Bus
from gaai.bus.contract import SchemaTask, TaskEnvelope, VerticalResult
from gaai.bus.domain import VerticalProfile
from gaai.bus.errors import TaskError
from gaai.bus.settings import Settings
from gaai.bus.worker import serve

AGENT = "schema"


async def run_worker(url: str, handler, **settings):
    config = Settings(nats_url=url, **settings)
    bus = await Bus.connect(config, name="test-worker")
    # The results stream keeps a result only for consumers that exist when it is published.
    await bus.js.add_consumer(
        subjects.RESULTS_STREAM,
        ConsumerConfig(durable_name="test-results", filter_subject=subjects.result_subject(AGENT)),
    )
    stop = asyncio.Event()
    task = asyncio.create_task(serve(bus, config, AGENT, handler, stop))
    return bus, stop, task


async def results(bus: Bus, count: int, timeout: float = 15.0):
    sub = await bus.js.pull_subscribe(
        subjects.result_subject(AGENT), durable="test-results", stream=subjects.RESULTS_STREAM
    )
    got = []
    deadline = asyncio.get_running_loop().time() + timeout
    while len(got) < count:
        remaining = deadline - asyncio.get_running_loop().time()
        assert remaining > 0, f"only {len(got)} of {count} results arrived"
        try:
            for message in await sub.fetch(count - len(got), timeout=min(1.0, remaining)):
                got.append(result_decoder.decode(message.data))
                await message.ack()
        except Exception as exc:  # fetch timeouts while waiting
            if "imeout" not in type(exc).__name__:
                raise
    return got


async def send(bus: Bus, n: int) -> None:
    envelope = TaskEnvelope(workflow_id="wf", task_id=f"wf.schema.{n}", task=SchemaTask(graph_name="g"))
    await bus.publish(subjects.task_subject(AGENT), encode(envelope), {subjects.HEADER_MSG_ID: f"task:{n}"})


def marked(n: int) -> VerticalResult:
    """A small result that carries ``n``, to tell results apart."""
    return VerticalResult(
        vertical=VerticalProfile(name=str(n), display_name="test", description="test", source="builtin")
    )


async def stop_worker(bus, stop, task):
    stop.set()
    await asyncio.wait_for(task, 5)
    await bus.close()


async def test_result_carries_instance_timing_and_value(fresh_nats):
    """A handler's return value reaches the results stream with who did it and when."""

    async def handler(envelope, job):
        return marked(len(envelope.task_id))

    bus, stop, task = await run_worker(fresh_nats.url, handler)
    await send(bus, 1)
    [reply] = await results(bus, 1)
    assert reply.task_id == "wf.schema.1"
    assert reply.result == marked(len("wf.schema.1"))
    assert reply.instance.agent == AGENT and reply.instance.pid > 0
    assert reply.ended_at >= reply.started_at > 0
    await stop_worker(bus, stop, task)


async def test_non_retryable_error_becomes_a_failed_result(fresh_nats):
    """TaskError(retryable=False) is answered once with its code, not retried."""
    calls = []

    async def handler(envelope, job):
        calls.append(job.deliveries)
        raise TaskError("unknown_graph", "no such graph")

    bus, stop, task = await run_worker(fresh_nats.url, handler)
    await send(bus, 1)
    [reply] = await results(bus, 1)
    assert reply.result is None and reply.error.code == "unknown_graph"
    assert calls == [1]
    await stop_worker(bus, stop, task)


async def test_retryable_error_is_redelivered_then_succeeds(fresh_nats):
    """A retryable failure naks the task; the redelivery succeeds and only one result is sent."""
    calls = []

    async def handler(envelope, job):
        calls.append(job.deliveries)
        if job.deliveries == 1:
            raise TaskError("llm_bad_output", "garbled", retryable=True)
        return marked(1)

    bus, stop, task = await run_worker(fresh_nats.url, handler)
    await send(bus, 1)
    [reply] = await results(bus, 1)
    assert calls == [1, 2]
    assert reply.deliveries == 2 and reply.result == marked(1)
    await stop_worker(bus, stop, task)


async def test_crash_on_every_delivery_ends_with_an_internal_error(fresh_nats):
    """A handler that always crashes is retried up to max_deliver, then reported as internal."""
    calls = []

    async def handler(envelope, job):
        calls.append(job.deliveries)
        raise ZeroDivisionError("boom")

    bus, stop, task = await run_worker(fresh_nats.url, handler, max_deliver=2)
    await send(bus, 1)
    [reply] = await results(bus, 1)
    assert calls == [1, 2]
    assert reply.error.code == "internal" and "ZeroDivisionError" in reply.error.message
    await stop_worker(bus, stop, task)


async def test_undecodable_task_is_terminated_with_bad_request(fresh_nats):
    """Garbage on a task subject is not retried; the sender learns why."""

    async def handler(envelope, job):
        raise AssertionError("must not be called")

    bus, stop, task = await run_worker(fresh_nats.url, handler)
    await bus.publish(
        subjects.task_subject(AGENT),
        b'{"workflow_id": 1}',
        {subjects.HEADER_WORKFLOW_ID: "wf", subjects.HEADER_TASK_ID: "wf.schema.x"},
    )
    [reply] = await results(bus, 1)
    assert reply.task_id == "wf.schema.x" and reply.error.code == "bad_request"
    await stop_worker(bus, stop, task)


async def test_replicas_share_the_work(fresh_nats):
    """Two workers on one durable consumer split the tasks; each task is handled once."""
    seen: dict[str, list[str]] = {"a": [], "b": []}

    def handler_for(name):
        async def handler(envelope, job):
            seen[name].append(envelope.task_id)
            await asyncio.sleep(0.05)
            return marked(1)

        return handler

    bus_a, stop_a, task_a = await run_worker(fresh_nats.url, handler_for("a"), concurrency=2)
    bus_b, stop_b, task_b = await run_worker(fresh_nats.url, handler_for("b"), concurrency=2)
    for n in range(20):
        await send(bus_a, n)
    replies = await results(bus_a, 20)
    assert sorted(r.task_id for r in replies) == sorted(f"wf.schema.{n}" for n in range(20))
    assert len(seen["a"]) + len(seen["b"]) == 20
    assert seen["a"] and seen["b"], "both replicas should have taken work"
    await stop_worker(bus_a, stop_a, task_a)
    await stop_worker(bus_b, stop_b, task_b)


@pytest.mark.parametrize("duplicates", [3])
async def test_duplicate_task_publishes_are_dropped(fresh_nats, duplicates):
    """The same Nats-Msg-Id published again within the window is stored once."""

    async def handler(envelope, job):
        return marked(1)

    bus, stop, task = await run_worker(fresh_nats.url, handler)
    for _ in range(duplicates):
        await send(bus, 1)
    replies = await results(bus, 1)
    await asyncio.sleep(0.5)
    info = await bus.js.stream_info(subjects.RESULTS_STREAM)
    assert len(replies) == 1 and info.state.messages == 0
    await stop_worker(bus, stop, task)


async def test_a_task_over_its_timeout_is_stopped_parked_and_reported(fresh_nats):
    """GAAI_TASK_TIMEOUT_S: an overrunning handler is cancelled, answered 'timeout' and parked in the DLQ."""
    from gaai.bus.codec import dead_letter_decoder

    interrupted = asyncio.Event()

    async def handler(envelope, job):
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            interrupted.set()
            raise
        return marked(1)

    bus, stop, task = await run_worker(fresh_nats.url, handler, task_timeout_s=0.5)
    await send(bus, 1)
    [reply] = await results(bus, 1)
    assert reply.error.code == "timeout" and "0.5 s" in reply.error.message
    assert interrupted.is_set()
    letter = dead_letter_decoder.decode((await bus.js.get_msg(subjects.DLQ_STREAM, 1)).data)
    assert letter.task.task_id == "wf.schema.1" and letter.error.code == "timeout" and letter.agent == AGENT
    await stop_worker(bus, stop, task)


async def test_a_task_running_longer_than_the_ack_wait_is_not_redelivered(fresh_nats):
    """In-progress acks: a handler busy for 4× the ack wait is delivered once and answered once."""
    deliveries: list[int] = []

    async def handler(envelope, job):
        deliveries.append(job.deliveries)
        await asyncio.sleep(4.0)
        return marked(1)

    bus, stop, task = await run_worker(fresh_nats.url, handler, ack_wait_s=1.0)
    await send(bus, 1)
    [reply] = await results(bus, 1)
    assert reply.result == marked(1) and deliveries == [1]
    await stop_worker(bus, stop, task)


async def test_a_handler_hit_by_a_transient_bus_timeout_is_retried_promptly(fresh_nats):
    """A nats timeout inside a handler (e.g. fetching a document while NATS reconnects) is retried after
    its short backoff, not mistaken for the task timeout nor left to the 30 s ack wait."""
    import nats.errors

    deliveries: list[int] = []

    async def handler(envelope, job):
        deliveries.append(job.deliveries)
        if job.deliveries == 1:
            raise nats.errors.TimeoutError
        return marked(1)

    bus, stop, task = await run_worker(fresh_nats.url, handler)
    await send(bus, 1)
    [reply] = await results(bus, 1, timeout=10)
    assert reply.result == marked(1) and deliveries == [1, 2]
    await stop_worker(bus, stop, task)


async def progress_events(bus: Bus) -> list:
    """The progress events of workflow "wf" from now on, decoded, in arrival order."""
    events = []

    async def collect(message) -> None:
        events.append(event_decoder.decode(message.data))

    await bus.nc.subscribe(subjects.event_subject("wf"), cb=collect)
    return events


async def test_only_a_task_that_takes_a_while_is_announced_as_running(fresh_nats):
    async def handler(envelope, job):
        n = int(envelope.task_id.rsplit(".", 1)[1])
        await asyncio.sleep(0.6 if n == 1 else 0)
        return marked(n)

    bus, stop, task = await run_worker(fresh_nats.url, handler)
    events = await progress_events(bus)
    await send(bus, 0)
    await send(bus, 1)
    got = {r.task_id: r for r in await results(bus, 2)}
    await stop_worker(bus, stop, task)
    assert [(e.task_id, e.status) for e in events] == [("wf.schema.1", "running")]
    [running] = events
    slow = got["wf.schema.1"]
    assert running.at == slow.started_at and running.instance == slow.instance, (
        "the event says when and where the task started"
    )


async def test_announcing_every_task_at_zero_delay(fresh_nats):
    async def handler(envelope, job):
        return marked(1)

    bus, stop, task = await run_worker(fresh_nats.url, handler, running_event_after_s=0)
    events = await progress_events(bus)
    await send(bus, 0)
    await send(bus, 1)
    await results(bus, 2)
    await stop_worker(bus, stop, task)
    assert sorted((e.task_id, e.status) for e in events) == [("wf.schema.0", "running"), ("wf.schema.1", "running")]
