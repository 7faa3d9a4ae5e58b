"""The connection to NATS and the JetStream topology every process relies on.

``Bus.connect`` opens the connection, creates the streams, consumers' streams and
buckets when they are missing (idempotently, so any process may start first) and hands
out the handles the rest of the code uses. nats exceptions are translated here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import (
    ConsumerConfig,
    KeyValueConfig,
    ObjectStoreConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.kv import KeyValue
from nats.js.object_store import ObjectStore

from bus import subjects
from bus.errors import BusError
from bus.settings import Settings

DEDUPE_WINDOW_S = 120.0
EVENTS_MAX_AGE_S = 24 * 3600.0
DOCUMENTS_MAX_AGE_S = 7 * 24 * 3600.0
DLQ_MAX_AGE_S = 14 * 24 * 3600.0

STREAMS = (
    StreamConfig(
        name=subjects.TASKS_STREAM,
        description="Tasks for agents: one subject per agent kind, consumed once.",
        subjects=["gaai.task.*"],
        retention=RetentionPolicy.WORK_QUEUE,
        storage=StorageType.FILE,
        duplicate_window=DEDUPE_WINDOW_S,
    ),
    StreamConfig(
        name=subjects.RESULTS_STREAM,
        description="Agents' results and errors, consumed by the orchestrator.",
        subjects=["gaai.result.*"],
        retention=RetentionPolicy.WORK_QUEUE,
        storage=StorageType.FILE,
        duplicate_window=DEDUPE_WINDOW_S,
    ),
    StreamConfig(
        name=subjects.EVENTS_STREAM,
        description="Workflow progress events, replayable by late subscribers for a day.",
        subjects=["gaai.event.*"],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        max_age=EVENTS_MAX_AGE_S,
    ),
    StreamConfig(
        name=subjects.DLQ_STREAM,
        description="Dead letters: tasks that failed for good, with their errors, kept two weeks.",
        subjects=["gaai.dlq.*"],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        max_age=DLQ_MAX_AGE_S,
        duplicate_window=DEDUPE_WINDOW_S,
    ),
)


class Bus:
    """An open NATS connection with the JetStream handles the system uses."""

    def __init__(self, nc: Client, js: JetStreamContext, workflows: KeyValue, cancellations: KeyValue, documents: ObjectStore, reports: ObjectStore) -> None:
        self.nc = nc
        self.js = js
        self.workflows = workflows
        self.cancellations = cancellations
        self.documents = documents
        self.reports = reports

    @classmethod
    async def connect(cls, settings: Settings, *, name: str) -> "Bus":
        try:
            nc = await nats.connect(
                settings.nats_url,
                name=name,
                connect_timeout=5,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.5,
                allow_reconnect=True,
            )
        except (OSError, nats.errors.Error, asyncio.TimeoutError) as exc:
            raise BusError("nats_unavailable", f"cannot connect to NATS at {settings.nats_url}: {exc or type(exc).__name__}") from None
        js = nc.jetstream()
        try:
            for config in STREAMS:
                await _ensure_stream(js, config)
            workflows = await _ensure_kv(js, subjects.WORKFLOWS_BUCKET)
            cancellations = await _ensure_kv(js, subjects.CANCELLATIONS_BUCKET)
            documents = await _ensure_object_store(js, subjects.DOCUMENTS_BUCKET, DOCUMENTS_MAX_AGE_S)
            reports = await _ensure_object_store(js, subjects.REPORTS_BUCKET, None)
        except nats.js.errors.Error as exc:
            await nc.close()
            raise BusError("jetstream_unavailable", f"JetStream setup failed at {settings.nats_url}: {exc}") from None
        return cls(nc, js, workflows, cancellations, documents, reports)

    async def ensure_agent_consumer(self, agent: str, settings: Settings) -> JetStreamContext.PullSubscription:
        """The shared durable pull consumer of ``agent``; replicas bind to the same one."""
        config = ConsumerConfig(
            durable_name=subjects.agent_consumer(agent),
            filter_subject=subjects.task_subject(agent),
            ack_wait=settings.ack_wait_s,
            max_deliver=settings.max_deliver,
            max_ack_pending=10_000,
        )
        return await self._pull_subscribe(subjects.task_subject(agent), subjects.TASKS_STREAM, config)

    async def ensure_orchestrator_consumer(self, settings: Settings) -> JetStreamContext.PullSubscription:
        config = ConsumerConfig(
            durable_name=subjects.ORCHESTRATOR_CONSUMER,
            filter_subject="gaai.result.*",
            ack_wait=settings.ack_wait_s,
            max_deliver=-1,
            max_ack_pending=10_000,
        )
        return await self._pull_subscribe("gaai.result.*", subjects.RESULTS_STREAM, config)

    async def _pull_subscribe(self, subject: str, stream: str, config: ConsumerConfig) -> JetStreamContext.PullSubscription:
        try:
            await self.js.add_consumer(stream, config=config)
        except nats.js.errors.BadRequestError:
            pass  # exists with another config (e.g. an older version); bind to it as it is
        return await self.js.pull_subscribe_bind(durable=config.durable_name, stream=stream)

    async def is_cancelled(self, workflow_id: str) -> bool:
        """Whether the workflow was cancelled (its tasks still queued must not run)."""
        try:
            await self.cancellations.get(workflow_id)
        except nats.js.errors.KeyNotFoundError:
            return False
        except (nats.errors.Error, nats.js.errors.Error, asyncio.TimeoutError):
            return False  # when in doubt, run: the orchestrator ignores results of cancelled workflows
        return True

    async def publish(self, subject: str, payload: bytes, headers: dict[str, str]) -> None:
        """A JetStream publish that waits for the server's ack (so the message is stored)."""
        try:
            await self.js.publish(subject, payload, headers=headers, timeout=10)
        except (nats.errors.Error, nats.js.errors.Error, asyncio.TimeoutError) as exc:
            raise BusError("publish_failed", f"could not publish to {subject}: {exc or type(exc).__name__}") from None

    async def close(self) -> None:
        """Flush what is buffered (acks are fire-and-forget), then close.

        Not ``drain()``: with a pull subscription open it waits out its whole timeout.
        """
        if not self.nc.is_closed:
            try:
                await self.nc.flush(timeout=2)
            except (nats.errors.Error, asyncio.TimeoutError):
                pass  # closing anyway; JetStream redelivers whatever was not acknowledged
            await self.nc.close()


@asynccontextmanager
async def connected(settings: Settings, *, name: str) -> AsyncIterator[Bus]:
    bus = await Bus.connect(settings, name=name)
    try:
        yield bus
    finally:
        await bus.close()


async def _ensure_stream(js: JetStreamContext, config: StreamConfig) -> None:
    try:
        await js.stream_info(config.name)
    except nats.js.errors.NotFoundError:
        try:
            await js.add_stream(config)
        except nats.js.errors.BadRequestError:
            pass  # another process created it between our two calls


async def _ensure_kv(js: JetStreamContext, bucket: str) -> KeyValue:
    try:
        return await js.key_value(bucket)
    except nats.js.errors.BucketNotFoundError:
        return await js.create_key_value(KeyValueConfig(bucket=bucket, history=1, storage=StorageType.FILE))


async def _ensure_object_store(js: JetStreamContext, bucket: str, max_age: float | None) -> ObjectStore:
    try:
        return await js.object_store(bucket)
    except nats.js.errors.BucketNotFoundError:
        return await js.create_object_store(bucket, ObjectStoreConfig(bucket=bucket, storage=StorageType.FILE, ttl=max_age))
