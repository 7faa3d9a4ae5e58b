"""The agent side of the bus: pull tasks, run the handler, publish the result, acknowledge.

One ``serve`` loop per agent process. Replicas of an agent bind to the same durable pull
consumer, so JetStream hands each task to exactly one of them. The handler never sees an
acknowledgement: it returns a result or raises, and this module maps that to JetStream:

    result                      → publish result, ack
    TaskError(retryable=False)  → dead letter + failed result, ack (likewise any other GaaiError)
    TaskError(retryable=True)   → nak with backoff; after max_deliver: dead letter + failed result
    any other exception         → nak with backoff; after max_deliver: dead letter + failed result "internal"
    no answer within the timeout → dead letter + failed result "timeout"
    undecodable task            → term (redelivery cannot help) + failed result when ids are known
    task of a cancelled workflow → term, no result (queued ones are skipped, running ones interrupted)

While a handler runs, in-progress acks keep JetStream from redelivering a task that is
still being worked on (a long algorithm run or LLM call outlives the ack wait).

A task still running after ``Settings.running_event_after_s`` (0.2 s unless
``GAAI_RUNNING_EVENT_AFTER_S`` says otherwise) is announced with a ``running`` event (its
time is when the task started); one that ends sooner is reported only by its end, which
the orchestrator announces with the instance that did it. Quick tasks make up most of a
workflow, and for them the announcement was a third of all progress events. At 0 every
delivery worked on is announced before its handler starts.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import msgspec
import nats.errors
import nats.js.errors
import structlog
from nats.aio.msg import Msg
from opentelemetry.trace import Status, StatusCode

from bus import subjects
from bus.codec import encode, task_decoder
from bus.connection import Bus
from bus.contract import (
    DeadLetter,
    ErrorInfo,
    Instance,
    LlmCall,
    ResultEnvelope,
    TaskEnvelope,
    TaskEvent,
    TaskResult,
)
from bus.errors import BusError, GaaiError, TaskError
from bus.feed import Feed
from bus.settings import Settings
from telemetry.logging import bind_task, unbind_task
from telemetry.tracing import consumer_span, current_ids, producer_span

log = structlog.get_logger("bus.worker")

RETRY_BACKOFF_S = (0.5, 2.0, 5.0, 15.0, 30.0)


def this_instance(agent: str) -> Instance:
    return Instance(agent=agent, host=socket.gethostname(), pid=os.getpid(), instance_id=uuid.uuid4().hex[:12])


@dataclass
class Job:
    """What a handler may know and do about the delivery of its task, beyond the task itself."""

    envelope: TaskEnvelope
    deliveries: int
    bus: Bus
    instance: Instance
    llm_calls: list[LlmCall] = field(default_factory=list)
    _msg: Msg | None = None

    async def progress(self) -> None:
        """Tell JetStream the task is still being worked on (resets its ack wait)."""
        if self._msg is not None:
            try:
                await self._msg.in_progress()
            except nats.errors.Error:
                pass  # connection blip; the next heartbeat tries again


Handler = Callable[[TaskEnvelope, Job], Awaitable[TaskResult]]


async def serve(
    bus: Bus, settings: Settings, agent: str, handler: Handler, stop: asyncio.Event, instance: Instance | None = None
) -> None:
    """Work on ``agent``'s tasks until ``stop`` is set, then let in-flight tasks finish."""
    instance = instance or this_instance(agent)
    await bus.ensure_agent_consumer(agent, settings)
    running: dict[str, set[asyncio.Task[None]]] = {}
    cancelled = await _follow_cancellations(bus, running)

    async def on_message(message: Msg) -> None:
        workflow_id = (message.headers or {}).get(subjects.HEADER_WORKFLOW_ID, "")
        this_task = asyncio.current_task()
        running.setdefault(workflow_id, set()).add(this_task)
        try:
            await _process(bus, settings, agent, handler, instance, message, cancelled)
        finally:
            _forget(running, workflow_id, this_task)

    feed = Feed(bus, subjects.TASKS_STREAM, subjects.agent_consumer(agent), settings.concurrency, on_message)
    await feed.start()
    log.info("agent ready", agent=agent, instance=instance.instance_id, concurrency=settings.concurrency)
    await stop.wait()
    if feed.handling:
        log.info("finishing in-flight tasks before exit", count=len(feed.handling))
    await feed.close()


async def _follow_cancellations(bus: Bus, running: dict[str, set[asyncio.Task[None]]]) -> set[str]:
    """The ids of cancelled workflows, kept current by watching the cancellations bucket.

    A watch costs nothing per task (no round trip to ask), and the same update that
    marks a workflow cancelled interrupts its handlers running here.
    """
    cancelled: set[str] = set()
    try:
        watcher = await bus.cancellations.watchall()
    except (nats.errors.Error, nats.js.errors.Error, asyncio.TimeoutError) as exc:
        raise BusError(
            "jetstream_unavailable", f"cannot watch the cancellations bucket: {exc or type(exc).__name__}"
        ) from None
    synced = asyncio.Event()

    async def follow() -> None:
        async for entry in watcher:
            if entry is None:  # the watcher has replayed what the bucket held
                synced.set()
                continue
            cancelled.add(entry.key)
            for task in running.get(entry.key, ()):
                task.cancel()
            if entry.delta == 0:
                synced.set()

    asyncio.create_task(follow())
    try:
        await asyncio.wait_for(synced.wait(), 5)
    except asyncio.TimeoutError:
        log.warning("cancellations not replayed yet; starting anyway")
    return cancelled


def _forget(running: dict[str, set], workflow_id: str, task: asyncio.Task) -> None:
    tasks = running.get(workflow_id)
    if tasks is not None:
        tasks.discard(task)
        if not tasks:
            del running[workflow_id]


async def _process(
    bus: Bus, settings: Settings, agent: str, handler: Handler, instance: Instance, message: Msg, cancelled: set[str]
) -> None:
    started = time.time()
    deliveries = message.metadata.num_delivered if message.metadata else 1
    try:
        envelope = task_decoder.decode(message.data)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        await _reject_undecodable(bus, agent, instance, message, started, str(exc))
        return
    if envelope.workflow_id in cancelled:
        log.info("task of a cancelled workflow skipped", workflow_id=envelope.workflow_id, task_id=envelope.task_id)
        await message.term()
        return
    subject = subjects.task_subject(agent)
    attributes = {
        "gaai.workflow.id": envelope.workflow_id,
        "gaai.task.id": envelope.task_id,
        "gaai.attempt": envelope.attempt,
        "gaai.deliveries": deliveries,
    }
    message_id = (message.headers or {}).get(subjects.HEADER_MSG_ID, envelope.task_id)
    with consumer_span(
        subject, message.headers, message_id, len(message.data), subjects.agent_consumer(agent), attributes
    ) as span:
        trace_id, span_id = current_ids()
        bind_task(
            workflow_id=envelope.workflow_id,
            task_id=envelope.task_id,
            attempt=envelope.attempt,
            trace_id=trace_id,
            span_id=span_id,
        )
        try:
            await _work(bus, settings, agent, handler, instance, message, envelope, started, deliveries, span)
        finally:
            unbind_task()


async def _work(bus, settings, agent, handler, instance, message, envelope, started, deliveries, span) -> None:
    job = Job(envelope=envelope, deliveries=deliveries, bus=bus, instance=instance, _msg=message)
    announce_after = settings.running_event_after_s
    if announce_after <= 0:
        await _announce_running(job, agent, started)
    heartbeat = asyncio.create_task(_while_running(job, agent, started, announce_after, settings.ack_wait_s / 3))
    try:
        result = await _within(handler(envelope, job), settings.task_timeout_s)
        outcome = dict(result=result)
    except _TimedOut:
        message_text = f"{agent} task did not finish within {settings.task_timeout_s:g} s and was stopped"
        span.set_status(Status(StatusCode.ERROR, message_text))
        log.warning("task timed out", timeout_s=settings.task_timeout_s)
        outcome = dict(error=ErrorInfo(code="timeout", message=message_text))
    except asyncio.CancelledError:
        # Only a cancelled workflow cancels a running handler (shutdown lets them finish).
        log.info("task interrupted: its workflow was cancelled")
        span.set_status(Status(StatusCode.ERROR, "workflow cancelled"))
        await message.term()
        return
    except GaaiError as exc:
        span.record_exception(exc)
        span.set_status(Status(StatusCode.ERROR, f"{exc.code}: {exc.message}"))
        retryable = isinstance(exc, TaskError) and exc.retryable
        if retryable and deliveries < settings.max_deliver:
            log.warning("task failed, will retry", code=exc.code, error=exc.message, deliveries=deliveries)
            await nak_with_backoff(message, deliveries)
            return
        log.warning("task failed", code=exc.code, error=exc.message, deliveries=deliveries)
        outcome = dict(error=exc.info())
    except Exception as exc:  # noqa: BLE001 - any bug in a handler must not kill the agent
        span.record_exception(exc)
        span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
        if deliveries < settings.max_deliver:
            log.exception("task crashed, will retry", deliveries=deliveries)
            await nak_with_backoff(message, deliveries)
            return
        log.exception("task crashed on its last delivery", deliveries=deliveries)
        outcome = dict(error=ErrorInfo(code="internal", message=f"{type(exc).__name__}: {exc}"))
    finally:
        heartbeat.cancel()
    reply = ResultEnvelope(
        workflow_id=envelope.workflow_id,
        task_id=envelope.task_id,
        attempt=envelope.attempt,
        instance=instance,
        started_at=started,
        ended_at=time.time(),
        deliveries=deliveries,
        llm_calls=job.llm_calls,
        **outcome,
    )
    if reply.error is not None:
        await _park(bus, agent, envelope, reply)
    body = encode(reply)
    subject = subjects.result_subject(agent)
    message_id = f"result:{envelope.task_id}:{envelope.attempt}"
    headers = {
        subjects.HEADER_MSG_ID: message_id,
        subjects.HEADER_WORKFLOW_ID: envelope.workflow_id,
        subjects.HEADER_TASK_ID: envelope.task_id,
    }
    try:
        with producer_span(subject, message_id, len(body), headers):
            await bus.publish(subject, body, headers)
    except BusError as exc:
        # Without a stored result the task must run again rather than be lost.
        log.error("could not publish result; handing the task back", error=exc.message)
        await nak_with_backoff(message, deliveries)
        return
    await message.ack()


class _TimedOut(Exception):
    """The handler overran the task timeout (not to be confused with a timeout inside it)."""


async def _within(work, timeout: float | None):
    if timeout is None:
        return await work
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=timeout)
    if task not in done:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        raise _TimedOut
    return task.result()


async def _park(bus: Bus, agent: str, envelope: TaskEnvelope, reply: ResultEnvelope) -> None:
    """Keep a task that failed for good in the dead-letter stream, so it can be inspected and retried."""
    letter = DeadLetter(
        task=envelope,
        agent=agent,
        error=reply.error,
        deliveries=reply.deliveries,
        at=reply.ended_at,
        instance=reply.instance,
    )
    try:
        await bus.publish(
            subjects.dlq_subject(agent),
            encode(letter),
            {subjects.HEADER_MSG_ID: f"dlq:{envelope.task_id}:{envelope.attempt}"},
        )
    except BusError as exc:
        log.error("could not park the failed task in the dead-letter stream", error=exc.message)


async def _while_running(
    job: Job, agent: str, started: float, announce_after_s: float, progress_every_s: float
) -> None:
    """Announce a task that takes a while, then keep telling JetStream it is in progress."""
    if announce_after_s > 0:
        await asyncio.sleep(announce_after_s)
        await _announce_running(job, agent, started)
    while True:
        await asyncio.sleep(progress_every_s)
        await job.progress()


async def _announce_running(job: Job, agent: str, started: float) -> None:
    envelope = job.envelope
    await job.bus.emit(
        TaskEvent(
            workflow_id=envelope.workflow_id,
            task_id=envelope.task_id,
            agent=agent,
            label="",
            status="running",
            at=started,
            instance=job.instance,
        )
    )


async def nak_with_backoff(message: Msg, deliveries: int) -> None:
    delay = RETRY_BACKOFF_S[min(deliveries, len(RETRY_BACKOFF_S)) - 1]
    try:
        await message.nak(delay=delay)
    except nats.errors.Error:
        pass  # the ack wait will redeliver it anyway


async def _reject_undecodable(
    bus: Bus, agent: str, instance: Instance, message: Msg, started: float, reason: str
) -> None:
    headers = message.headers or {}
    workflow_id, task_id = headers.get(subjects.HEADER_WORKFLOW_ID), headers.get(subjects.HEADER_TASK_ID)
    log.error("undecodable task terminated", reason=reason, workflow_id=workflow_id, task_id=task_id)
    await message.term()
    if workflow_id and task_id:
        reply = ResultEnvelope(
            workflow_id=workflow_id,
            task_id=task_id,
            instance=instance,
            started_at=started,
            ended_at=time.time(),
            error=ErrorInfo(code="bad_request", message=f"undecodable task: {reason}"),
        )
        await bus.publish(
            subjects.result_subject(agent), encode(reply), {subjects.HEADER_MSG_ID: f"result:{task_id}:undecodable"}
        )
