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
the orchestrator announces with the instance that did it (most tasks are quick, so this
keeps the events few). At 0 every delivery worked on is announced before its handler starts.

Decoding, the span, the log binding and the in-progress acks are ``bus.consume``'s.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import nats.errors
import nats.js.errors
import structlog
from nats.aio.msg import Msg

from gaai.bus import subjects
from gaai.bus.codec import encode, task_decoder
from gaai.bus.connection import Bus
from gaai.bus.consume import Delivery, Pipeline, Settlement, ack, backoff, drop, retry
from gaai.bus.contract import (
    DeadLetter,
    ErrorInfo,
    Instance,
    LlmCall,
    ResultEnvelope,
    TaskEnvelope,
    TaskEvent,
    TaskResult,
)
from gaai.bus.errors import BusError, GaaiError, TaskError, error_info
from gaai.bus.feed import Feed
from gaai.bus.settings import Settings
from gaai.telemetry.tracing import producer_span

log = structlog.get_logger("bus.worker")

T = TypeVar("T")


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
    delivery: Delivery | None = None

    async def progress(self) -> None:
        """Tell JetStream the task is still being worked on (resets its ack wait)."""
        if self.delivery is not None:
            await self.delivery.in_progress()


Handler = Callable[[TaskEnvelope, Job], Awaitable[TaskResult]]


async def serve(
    bus: Bus, settings: Settings, agent: str, handler: Handler, stop: asyncio.Event, instance: Instance | None = None
) -> None:
    """Work on ``agent``'s tasks until ``stop`` is set, then let in-flight tasks finish."""
    instance = instance or this_instance(agent)
    await bus.ensure_agent_consumer(agent, settings)
    running: dict[str, set[asyncio.Task[None]]] = {}
    # The loop keeps only a weak reference to the watching task: serving holds it.
    cancelled, _following = await _follow_cancellations(bus, running)
    worker = _Worker(bus, settings, agent, handler, instance, cancelled)
    pipeline = Pipeline(
        consumer=subjects.agent_consumer(agent),
        what="task",
        decoder=task_decoder,
        handle=worker.work,
        max_deliver=settings.max_deliver,
        on_undecodable=worker.report_undecodable,
        progress_every_s=settings.ack_wait_s / 3,
    )

    async def on_message(message: Msg) -> None:
        workflow_id = (message.headers or {}).get(subjects.HEADER_WORKFLOW_ID, "")
        this_task = asyncio.current_task()
        assert this_task is not None  # a Feed runs every message in a task of its own
        running.setdefault(workflow_id, set()).add(this_task)
        try:
            await pipeline(message)
        finally:
            _forget(running, workflow_id, this_task)

    feed = Feed(bus, subjects.TASKS_STREAM, subjects.agent_consumer(agent), settings.concurrency, on_message)
    await feed.start()
    log.info("agent ready", agent=agent, instance=instance.instance_id, concurrency=settings.concurrency)
    await stop.wait()
    if feed.handling:
        log.info("finishing in-flight tasks before exit", count=len(feed.handling))
    await feed.close()


async def _follow_cancellations(
    bus: Bus, running: dict[str, set[asyncio.Task[None]]]
) -> tuple[set[str], asyncio.Task[None]]:
    """The ids of cancelled workflows, kept current by the task that watches the cancellations bucket.

    A watch costs nothing per task (no round trip to ask), and the same update that
    marks a workflow cancelled interrupts its handlers running here.
    """
    cancelled: set[str] = set()
    try:
        watcher = await bus.cancellations.watchall()
    except (TimeoutError, nats.errors.Error, nats.js.errors.Error) as exc:
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

    following = asyncio.create_task(follow())
    try:
        await asyncio.wait_for(synced.wait(), 5)
    except TimeoutError:
        log.warning("cancellations not replayed yet; starting anyway")
    return cancelled, following


def _forget(running: dict[str, set[asyncio.Task[None]]], workflow_id: str, task: asyncio.Task[None]) -> None:
    tasks = running.get(workflow_id)
    if tasks is not None:
        tasks.discard(task)
        if not tasks:
            del running[workflow_id]


class _Worker:
    """From a decoded task to its settlement: run the handler, publish the result, park a failure."""

    def __init__(
        self, bus: Bus, settings: Settings, agent: str, handler: Handler, instance: Instance, cancelled: set[str]
    ) -> None:
        self.bus = bus
        self.settings = settings
        self.agent = agent
        self.handler = handler
        self.instance = instance
        self.cancelled = cancelled
        self._announcing: set[asyncio.Task[None]] = set()

    async def work(self, envelope: TaskEnvelope, delivery: Delivery) -> Settlement:
        if envelope.workflow_id in self.cancelled:
            log.info("task of a cancelled workflow skipped")
            return drop()
        started = time.time()
        settings, deliveries = self.settings, delivery.deliveries
        job = Job(envelope=envelope, deliveries=deliveries, bus=self.bus, instance=self.instance, delivery=delivery)
        announce_after = settings.running_event_after_s
        announcing = None
        if announce_after <= 0:
            await self._announce_running(envelope, started)
        else:
            # A timer rather than a task: most tasks end before it is due.
            announcing = asyncio.get_running_loop().call_later(announce_after, self._announce_later, envelope, started)
        result: TaskResult | None = None
        error: ErrorInfo | None = None
        failure: Settlement | None = None
        try:
            result = await _within(self.handler(envelope, job), settings.task_timeout_s)
        except _TimedOut:
            message_text = f"{self.agent} task did not finish within {settings.task_timeout_s:g} s and was stopped"
            log.warning("task timed out", timeout_s=settings.task_timeout_s)
            error, failure = error_info("timeout", message_text), ack(message_text)
        except asyncio.CancelledError:
            # Only a cancelled workflow cancels a running handler (shutdown lets them finish).
            log.info("task interrupted: its workflow was cancelled")
            return drop("workflow cancelled")
        except GaaiError as exc:
            described = f"{exc.code}: {exc.message}"
            if isinstance(exc, TaskError) and exc.retryable and deliveries < settings.max_deliver:
                log.warning("task failed, will retry", code=exc.code, error=exc.message, deliveries=deliveries)
                return retry(backoff(deliveries), described, exc)
            log.warning("task failed", code=exc.code, error=exc.message, deliveries=deliveries)
            error, failure = exc.info(), ack(described, exc)
        except Exception as exc:  # any bug in a handler must not kill the agent
            described = f"{type(exc).__name__}: {exc}"
            if deliveries < settings.max_deliver:
                log.exception("task crashed, will retry", deliveries=deliveries)
                return retry(backoff(deliveries), described, exc)
            log.exception("task crashed on its last delivery", deliveries=deliveries)
            error, failure = error_info("internal", described), ack(described, exc)
        finally:
            if announcing is not None:
                announcing.cancel()
        reply = ResultEnvelope(
            workflow_id=envelope.workflow_id,
            task_id=envelope.task_id,
            attempt=envelope.attempt,
            instance=self.instance,
            started_at=started,
            ended_at=time.time(),
            deliveries=deliveries,
            llm_calls=job.llm_calls,
            result=result,
            error=error,
        )
        if error is not None:
            await self._park(envelope, reply, error)
        try:
            await self._publish_result(reply)
        except BusError as exc:
            # Without a stored result the task must run again rather than be lost.
            log.error("could not publish result; handing the task back", error=exc.message)
            return retry(backoff(deliveries), exc.message)
        return failure or ack()

    async def _publish_result(self, reply: ResultEnvelope, message_id: str | None = None) -> None:
        body = encode(reply)
        subject = subjects.result_subject(self.agent)
        message_id = message_id or f"result:{reply.task_id}:{reply.attempt}"
        headers = {
            subjects.HEADER_MSG_ID: message_id,
            subjects.HEADER_WORKFLOW_ID: reply.workflow_id,
            subjects.HEADER_TASK_ID: reply.task_id,
        }
        with producer_span(subject, message_id, len(body), headers):
            # Tried again with the same message id while no stream leader answers: a result the handler
            # produced is stored once, rather than the task being handed back and run twice.
            await self.bus.publish_until_stored(subject, body, headers)

    async def _park(self, envelope: TaskEnvelope, reply: ResultEnvelope, error: ErrorInfo) -> None:
        """Keep a task that failed for good in the dead-letter stream, so it can be inspected and retried."""
        letter = DeadLetter(
            task=envelope,
            agent=self.agent,
            error=error,
            deliveries=reply.deliveries,
            at=reply.ended_at,
            instance=reply.instance,
        )
        try:
            await self.bus.publish_until_stored(
                subjects.dlq_subject(self.agent),
                encode(letter),
                {subjects.HEADER_MSG_ID: f"dlq:{envelope.task_id}:{envelope.attempt}"},
            )
        except BusError as exc:
            log.error("could not park the failed task in the dead-letter stream", error=exc.message)

    def _announce_later(self, envelope: TaskEnvelope, started: float) -> None:
        announcing = asyncio.get_running_loop().create_task(self._announce_running(envelope, started))
        self._announcing.add(announcing)  # held until sent: the loop keeps only weak references to tasks
        announcing.add_done_callback(self._announcing.discard)

    async def _announce_running(self, envelope: TaskEnvelope, started: float) -> None:
        """Announce a task as running with a ``running`` event (its time: when it started)."""
        await self.bus.emit(
            TaskEvent(
                workflow_id=envelope.workflow_id,
                task_id=envelope.task_id,
                agent=self.agent,
                label="",
                status="running",
                at=started,
                instance=self.instance,
            )
        )

    async def report_undecodable(self, delivery: Delivery, reason: str) -> None:
        """A failed result for a task that cannot be read, when its headers say which task it was."""
        workflow_id = delivery.headers.get(subjects.HEADER_WORKFLOW_ID)
        task_id = delivery.headers.get(subjects.HEADER_TASK_ID)
        if not (workflow_id and task_id):
            return
        now = time.time()
        reply = ResultEnvelope(
            workflow_id=workflow_id,
            task_id=task_id,
            instance=self.instance,
            started_at=now,
            ended_at=now,
            error=error_info("bad_request", f"undecodable task: {reason}"),
        )
        await self._publish_result(reply, f"result:{task_id}:undecodable")


class _TimedOut(Exception):
    """The handler overran the task timeout (not to be confused with a timeout inside it)."""


async def _within(work: Awaitable[T], timeout: float | None) -> T:
    if timeout is None:
        return await work
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=timeout)
    if task not in done:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        raise _TimedOut
    return task.result()
