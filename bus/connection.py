"""The connection to NATS and the JetStream topology every process relies on.

``Bus.connect`` opens the connection, creates the streams, consumers' streams and
buckets when they are missing (idempotently, so any process may start first), brings
existing ones to ``GAAI_REPLICAS`` and hands out the handles the rest of the code uses.
nats exceptions are translated here.

Every long-running process connects here, so this is where its heartbeat (``bus.health``)
starts, when ``GAAI_HEALTH_FILE`` asks for one, and where it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import msgspec
import nats.errors
import nats.js.errors
import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext
from nats.js.api import (
    ConsumerConfig,
    DeliverPolicy,
    KeyValueConfig,
    ObjectStoreConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
    StreamInfo,
)
from nats.js.kv import KeyValue
from nats.js.object_store import ObjectStore

from gaai.bus import subjects
from gaai.bus.codec import encode, event_decoder
from gaai.bus.contract import Event, TaskEvent, WorkflowEvent
from gaai.bus.errors import BusError, GaaiError
from gaai.bus.health import Heartbeat
from gaai.bus.settings import Settings, nats_servers

log = structlog.get_logger("bus")

DEDUPE_WINDOW_S = 120.0
EVENTS_MAX_AGE_S = 24 * 3600.0
DOCUMENTS_MAX_AGE_S = 7 * 24 * 3600.0
DLQ_MAX_AGE_S = 14 * 24 * 3600.0
STORE_RETRY_WINDOW_S = 60.0
"""How long ``publish_until_stored`` keeps trying: half the dedupe window, so every copy lands inside it."""
PUBLISH_WINDOW_S = 10.0
"""How long ``publish`` keeps trying; its callers try again on top of it."""
STORE_ATTEMPT_TIMEOUT_S = 1.0
"""How long one attempt waits for the stream's ack: a stream whose leader died answers nothing until its peers elect
another (4-9 s), and an attempt sent before the election would hold the publish back that long after it."""
STORE_PAUSE_MAX_S = 0.25
KEYS_ATTEMPTS = 3
"""How many times ``entry_keys`` asks for a bucket's keys when it is told there are none but its stream holds
messages (see there)."""
OBJECT_ATTEMPT_TIMEOUT_S = 2.0
"""How long one request of an object put or get (a chunk, the metadata) waits for its answer on replicated buckets,
for the reason above; ``put_object`` tries the whole put again while the bucket has no leader."""
SINGLE_COPY_OBJECT_TIMEOUT_S = 5.0
"""The same on buckets kept in one copy, which have no election to wait out: there a slow answer means a busy server,
and short attempts, each putting the whole object again, would only add to its load."""

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
        description="Agents' results and errors, consumed by the orchestrator and followed by the catalog.",
        subjects=["gaai.result.*"],
        # Kept until both the orchestrator's and the catalog's consumers have acknowledged.
        retention=RetentionPolicy.INTEREST,
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

    def __init__(
        self,
        nc: Client,
        js: JetStreamContext,
        workflows: KeyValue,
        cancellations: KeyValue,
        documents: ObjectStore,
        reports: ObjectStore,
        heartbeat: Heartbeat | None = None,
    ) -> None:
        self.nc = nc
        self.js = js
        self.workflows = workflows
        self.cancellations = cancellations
        self.documents = documents
        self.reports = reports
        self._heartbeat = heartbeat

    @classmethod
    async def connect(cls, settings: Settings, *, name: str) -> Bus:
        """Connect to the first of ``NATS_URL``'s servers that answers (reconnecting for ever once connected, to
        those and to the servers the cluster announces); give up on the first connect after ``connect_wait_s``.

        Raises:
            GaaiError: ``bad_setting`` when ``NATS_URL`` is not a list of NATS server URLs.
            BusError: ``nats_unavailable`` when no server answers, ``jetstream_unavailable`` when setup fails.
        """
        servers = nats_servers(settings.nats_url)
        errors: list[str] = []
        refusals: list[str] = []
        refused = asyncio.Event()

        async def on_error(error: Exception) -> None:
            errors.append(str(error) or type(error).__name__)
            if "authorization" in errors[-1].lower() or "authentication" in errors[-1].lower():
                refusals.append(errors[-1])
                refused.set()  # retrying with the same credentials cannot help
            await _log_async_error(error)

        nc = Client()
        try:
            await _first_of(
                nc.connect(
                    servers,
                    name=name,
                    connect_timeout=5,
                    max_reconnect_attempts=-1,
                    # nats-py annotates int, but it sleeps this many seconds, fractions included.
                    reconnect_time_wait=0.5,  # type: ignore[arg-type]
                    allow_reconnect=True,
                    error_cb=on_error,
                    **_auth_options(settings),
                ),
                refused,
                settings.connect_wait_s,
            )
        except (TimeoutError, OSError, nats.errors.Error, ssl.SSLError) as exc:
            await _discard(nc)
            # The server's refusal is the cause; a connection reset that follows it is only its echo.
            reason = (refusals or errors or [str(exc) or type(exc).__name__])[-1]
            raise BusError("nats_unavailable", f"cannot connect to NATS at {settings.nats_url}: {reason}") from None
        js = nc.jetstream()
        try:
            workflows, cancellations, documents, reports = await _ensure_topology(
                js, settings.replicas, nc.jetstream(timeout=_object_attempt_timeout(settings.replicas))
            )
        except (TimeoutError, nats.js.errors.Error, nats.errors.Error) as exc:
            await nc.close()
            raise BusError(
                "jetstream_unavailable", f"JetStream setup failed at {settings.nats_url}: {exc or type(exc).__name__}"
            ) from None
        except GaaiError:
            await nc.close()
            raise
        heartbeat = None
        if settings.health_file:
            heartbeat = Heartbeat(
                settings.health_file, settings.health_interval_s, process=name, connected=lambda: nc.is_connected
            )
            try:
                heartbeat.start()
            except GaaiError:
                await nc.close()
                raise
        return cls(nc, js, workflows, cancellations, documents, reports, heartbeat)

    async def ensure_agent_consumer(self, agent: str, settings: Settings) -> None:
        """The shared durable pull consumer of ``agent``; replicas pull from the same one."""
        config = ConsumerConfig(
            durable_name=subjects.agent_consumer(agent),
            filter_subject=subjects.task_subject(agent),
            ack_wait=settings.ack_wait_s,
            max_deliver=settings.max_deliver,
            max_ack_pending=10_000,
        )
        await self._ensure_consumer(subjects.TASKS_STREAM, config)

    async def ensure_orchestrator_consumer(self, settings: Settings) -> None:
        config = ConsumerConfig(
            durable_name=subjects.ORCHESTRATOR_CONSUMER,
            filter_subject="gaai.result.*",
            ack_wait=settings.ack_wait_s,
            max_deliver=-1,
            max_ack_pending=10_000,
        )
        await self._ensure_consumer(subjects.RESULTS_STREAM, config)

    async def ensure_catalog_consumer(self, settings: Settings) -> None:
        """The catalog's durable consumer on the results stream.

        The orchestrator creates it too, before it acknowledges any result: the stream
        keeps a result only for the consumers that exist, so the catalog must exist
        first to find every result later, even if it starts after the workflow.
        """
        config = ConsumerConfig(
            durable_name=subjects.CATALOG_CONSUMER,
            filter_subject="gaai.result.*",
            ack_wait=settings.ack_wait_s,
            max_deliver=settings.max_deliver,
            max_ack_pending=10_000,
        )
        await self._ensure_consumer(subjects.RESULTS_STREAM, config)

    async def _ensure_consumer(self, stream: str, config: ConsumerConfig) -> None:
        durable = config.durable_name
        assert durable is not None, "every consumer of ours is durable"
        try:
            try:
                await self.js.add_consumer(stream, config=config)
            except nats.js.errors.BadRequestError as refused:
                try:
                    await self.js.consumer_info(stream, durable)  # exists with another config: use it as it is
                except nats.js.errors.NotFoundError:
                    raise BusError(
                        "jetstream_unavailable",
                        f"cannot create consumer {config.durable_name} on {stream}: {refused.description} "
                        f"(a stream left by an older version? remove it and start again)",
                    ) from None
        except (TimeoutError, nats.errors.Error, nats.js.errors.Error) as exc:
            raise BusError(
                "jetstream_unavailable", f"cannot set up consumer {config.durable_name}: {exc or type(exc).__name__}"
            ) from None

    async def emit(self, event: TaskEvent | WorkflowEvent) -> None:
        """Publish a progress event without waiting for JetStream's ack.

        Events are informational (the workflow state in KV is the truth), so the hot path
        does not pay a round trip for them; the events stream still stores them.
        """
        try:
            await self.nc.publish(subjects.event_subject(event.workflow_id), encode(event))
        except nats.errors.Error as exc:
            log.warning("progress event lost", error=str(exc) or type(exc).__name__)

    async def publish(self, subject: str, payload: bytes, headers: dict[str, str]) -> None:
        """A JetStream publish that waits for the server's ack (so the message is stored), tried again with the same
        ``Nats-Msg-Id`` for up to ``PUBLISH_WINDOW_S`` while the stream has no leader (``publish_until_stored``).
        One without a message id is sent once: a copy of it would be stored twice."""
        if subjects.HEADER_MSG_ID in headers:
            await self.publish_until_stored(subject, payload, headers, within_s=PUBLISH_WINDOW_S)
            return
        try:
            await self.js.publish(subject, payload, headers=headers, timeout=PUBLISH_WINDOW_S)
        except (TimeoutError, nats.errors.Error, nats.js.errors.Error) as exc:
            raise BusError("publish_failed", f"could not publish to {subject}: {exc or type(exc).__name__}") from None

    async def publish_until_stored(
        self, subject: str, payload: bytes, headers: dict[str, str], *, within_s: float = STORE_RETRY_WINDOW_S
    ) -> None:
        """A JetStream publish tried again with the same ``Nats-Msg-Id`` until a stream leader stores it.

        While a cluster elects a new leader for the stream (a server lost), publishes get no
        answer or a refusal for a few seconds. The stream drops a copy whose message id it
        already holds (within ``DEDUPE_WINDOW_S``), so a publish that was stored but whose
        acknowledgement was lost is never stored twice; ``within_s`` stays inside that window.

        Raises:
            BusError: ``publish_failed`` when no leader stored it within ``within_s``, or at once for a refusal
                that trying again cannot change (a message too large, a subject no stream takes).
        """
        assert subjects.HEADER_MSG_ID in headers, "only a message with an id can be published again safely"
        assert within_s < DEDUPE_WINDOW_S, "a copy sent after the dedupe window would be stored twice"
        deadline = asyncio.get_running_loop().time() + within_s
        pause = 0.05
        while True:
            try:
                await self.js.publish(subject, payload, headers=headers, timeout=STORE_ATTEMPT_TIMEOUT_S)
                return
            except _LEADERLESS as exc:
                problem = f"{exc or type(exc).__name__}"
            except (nats.errors.Error, nats.js.errors.Error) as exc:
                raise BusError(
                    "publish_failed", f"could not publish to {subject}: {exc or type(exc).__name__}"
                ) from None
            if asyncio.get_running_loop().time() + pause > deadline:
                raise BusError(
                    "publish_failed", f"could not publish to {subject} within {within_s:g} s: {problem}"
                ) from None
            log.info("no stream leader stored it yet; publishing again", subject=subject, error=problem)
            await asyncio.sleep(pause)
            pause = min(pause * 2, STORE_PAUSE_MAX_S)

    async def get_entry(self, bucket: str, key: str) -> tuple[bytes, int] | None:
        """The value and revision of ``key`` in KV ``bucket``; None when it has no value."""
        try:
            entry = await self._kv(bucket).get(key)
        except nats.js.errors.KeyNotFoundError:
            return None
        except _NATS_ERRORS as exc:
            raise _unavailable(f"cannot read {key} from {bucket}", exc) from None
        if entry.value is None or entry.revision is None:
            return None
        return entry.value, entry.revision

    async def create_entry(self, bucket: str, key: str, value: bytes) -> int | None:
        """Store ``key`` only if it has no value yet; its revision, or None when it already had one."""
        try:
            return await self._kv(bucket).create(key, value)
        except nats.js.errors.KeyWrongLastSequenceError:
            return None
        except _NATS_ERRORS as exc:
            raise _unavailable(f"cannot create {key} in {bucket}", exc) from None

    async def update_entry(self, bucket: str, key: str, value: bytes, revision: int) -> int | None:
        """Compare-and-set: store ``value`` if ``key`` is still at ``revision``; the new revision, or None."""
        try:
            return await self._kv(bucket).update(key, value, last=revision)
        except nats.js.errors.KeyWrongLastSequenceError:
            return None
        except _NATS_ERRORS as exc:
            raise _unavailable(f"cannot update {key} in {bucket}", exc) from None

    async def put_entry(self, bucket: str, key: str, value: bytes) -> int:
        """Store ``value`` under ``key`` whatever it held; its revision."""
        try:
            return await self._kv(bucket).put(key, value)
        except _NATS_ERRORS as exc:
            raise _unavailable(f"cannot write {key} to {bucket}", exc) from None

    async def entry_keys(self, bucket: str) -> list[str]:
        """Every key of KV ``bucket`` that holds a value.

        nats-py's ``keys()`` can answer "no keys" while keys exist: its watcher may put its end-of-listing marker
        ahead of entries already on their way (nats-io/nats.py#842). So an empty answer counts only when the
        bucket's stream holds no message; otherwise the listing is asked again, up to ``KEYS_ATTEMPTS`` times
        (a bucket whose every key was deleted holds delete markers, and lists empty each time).
        """
        kv = self._kv(bucket)
        try:
            for _ in range(KEYS_ATTEMPTS):
                try:
                    return await kv.keys()
                except nats.js.errors.NoKeysError:
                    if (await self.js.stream_info(f"KV_{bucket}")).state.messages == 0:
                        return []
            return []
        except _NATS_ERRORS as exc:
            raise _unavailable(f"cannot list the keys of {bucket}", exc) from None

    async def put_object(self, bucket: str, name: str, data: bytes) -> None:
        """Store ``data`` as object ``name``, the whole put tried again for up to ``PUBLISH_WINDOW_S`` while the
        bucket's stream has no leader (the last put stored wins, so a put stored twice leaves one object)."""
        deadline = asyncio.get_running_loop().time() + PUBLISH_WINDOW_S
        pause = 0.05
        while True:
            try:
                await self._objects(bucket).put(name, data)
                return
            except _LEADERLESS as exc:
                problem = exc
            except _NATS_ERRORS as exc:
                raise _unavailable(f"cannot store {name} in {bucket}", exc) from None
            if asyncio.get_running_loop().time() + pause > deadline:
                raise _unavailable(f"cannot store {name} in {bucket} within {PUBLISH_WINDOW_S:g} s", problem) from None
            log.info("no stream leader stored it yet; storing again", bucket=bucket, name=name, error=str(problem))
            await asyncio.sleep(pause)
            pause = min(pause * 2, STORE_PAUSE_MAX_S)

    async def get_object(self, bucket: str, name: str) -> bytes | None:
        """The content of object ``name``; None when the bucket has no such object."""
        try:
            result = await self._objects(bucket).get(name)
        except nats.js.errors.ObjectNotFoundError:
            return None
        except _NATS_ERRORS as exc:
            raise _unavailable(f"cannot read {name} from {bucket}", exc) from None
        return result.data or b""

    async def object_size(self, bucket: str, name: str) -> int | None:
        """The size in bytes of object ``name``; None when the bucket has no such object."""
        try:
            info = await self._objects(bucket).get_info(name)
        except nats.js.errors.ObjectNotFoundError:
            return None
        except _NATS_ERRORS as exc:
            raise _unavailable(f"cannot read {name} from {bucket}", exc) from None
        return info.size or 0

    async def stored_messages(self, stream: str) -> list[tuple[int, bytes]]:
        """Every message ``stream`` holds with its sequence number, oldest first."""
        try:
            state = (await self.js.stream_info(stream)).state
            found = []
            for sequence in range(state.first_seq, state.last_seq + 1) if state.messages else ():
                data = await self.stored_message(stream, sequence)
                if data is not None:  # deleted since
                    found.append((sequence, data))
            return found
        except _NATS_ERRORS as exc:
            raise _unavailable(f"cannot read stream {stream}", exc) from None

    async def stored_message(self, stream: str, sequence: int) -> bytes | None:
        """The body of message ``sequence`` of ``stream``; None when there is none."""
        try:
            return (await self.js.get_msg(stream, sequence)).data or b""
        except nats.js.errors.NotFoundError:
            return None
        except _NATS_ERRORS as exc:
            raise _unavailable(f"cannot read message {sequence} of {stream}", exc) from None

    async def delete_stored_message(self, stream: str, sequence: int) -> None:
        try:
            await self.js.delete_msg(stream, sequence)
        except _NATS_ERRORS as exc:
            raise _unavailable(f"cannot delete message {sequence} of {stream}", exc) from None

    async def last_sequence(self, stream: str) -> int:
        """The sequence number of the last message published to ``stream``."""
        try:
            return (await self.js.stream_info(stream)).state.last_seq
        except _NATS_ERRORS as exc:
            raise _unavailable(f"cannot read stream {stream}", exc) from None

    async def consumer_progress(self, stream: str, durable: str) -> ConsumerProgress | None:
        """How far consumer ``durable`` of ``stream`` is; None when it does not exist."""
        try:
            info = await self.js.consumer_info(stream, durable)
        except nats.js.errors.NotFoundError:
            return None
        except _NATS_ERRORS as exc:
            raise _unavailable(f"cannot read consumer {durable} of {stream}", exc) from None
        acknowledged = (info.ack_floor.stream_seq or 0) if info.ack_floor is not None else 0
        return ConsumerProgress(acknowledged_up_to=acknowledged, pulls_waiting=info.num_waiting or 0)

    async def follow_events(
        self, workflow_id: str, on_event: Callable[[Event], Awaitable[None] | None], *, replay: bool
    ) -> EventSubscription:
        """Hand every progress event of ``workflow_id`` ("*" for all) to ``on_event``; undecodable ones are skipped.

        With ``replay`` the events stream is read from its start (late subscribers miss nothing);
        without, only events published from now on arrive.
        """

        async def deliver(message: Msg) -> None:
            try:
                event = event_decoder.decode(message.data)
            except (msgspec.DecodeError, msgspec.ValidationError):
                return
            handled = on_event(event)
            if handled is not None:
                await handled

        subject = subjects.event_subject(workflow_id)
        try:
            if replay:
                subscription: Subscription = await self.js.subscribe(
                    subject, cb=deliver, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL
                )
            else:
                subscription = await self.nc.subscribe(subject, cb=deliver)
        except _NATS_ERRORS as exc:
            raise _unavailable(f"cannot follow the events of {workflow_id}", exc) from None
        return EventSubscription(subscription)

    async def follow_event_log(
        self, workflow_id: str, on_event: Callable[[int, Event], Awaitable[None]], *, after_sequence: int = 0
    ) -> EventSubscription:
        """Hand ``on_event`` each stored progress event of ``workflow_id`` after ``after_sequence``, then every new one,
        with its sequence number in the events stream (what a reader resumes from); undecodable ones are skipped."""

        async def deliver(message: Msg) -> None:
            try:
                event = event_decoder.decode(message.data)
            except (msgspec.DecodeError, msgspec.ValidationError):
                return
            await on_event(message.metadata.sequence.stream, event)

        start = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=after_sequence + 1)
        try:
            subscription = await self.js.subscribe(
                subjects.event_subject(workflow_id), cb=deliver, ordered_consumer=True, config=start
            )
        except _NATS_ERRORS as exc:
            raise _unavailable(f"cannot follow the events of {workflow_id}", exc) from None
        return EventSubscription(subscription)

    def _kv(self, bucket: str) -> KeyValue:
        buckets = {subjects.WORKFLOWS_BUCKET: self.workflows, subjects.CANCELLATIONS_BUCKET: self.cancellations}
        if bucket not in buckets:
            raise BusError("unknown_bucket", f"no key-value bucket {bucket!r}")
        return buckets[bucket]

    def _objects(self, bucket: str) -> ObjectStore:
        buckets = {subjects.DOCUMENTS_BUCKET: self.documents, subjects.REPORTS_BUCKET: self.reports}
        if bucket not in buckets:
            raise BusError("unknown_bucket", f"no object bucket {bucket!r}")
        return buckets[bucket]

    async def close(self) -> None:
        """Stop the heartbeat (removing its file), flush what is buffered (acks are fire-and-forget), then close.

        Not ``drain()``: with a pull subscription open it waits out its whole timeout.
        """
        if self._heartbeat is not None:
            self._heartbeat.stop()
        if not self.nc.is_closed:
            # Closing anyway; JetStream redelivers whatever was not acknowledged.
            with contextlib.suppress(TimeoutError, nats.errors.Error):
                await self.nc.flush(timeout=2)
            await self.nc.close()


@dataclass(frozen=True)
class ConsumerProgress:
    """Where a durable consumer stands."""

    acknowledged_up_to: int
    """Every message of the stream up to this sequence number is acknowledged."""
    pulls_waiting: int
    """Pull requests waiting for messages: replicas that are idle and ready."""


class EventSubscription:
    """Progress events being followed; ``close`` stops them."""

    def __init__(self, subscription: Subscription) -> None:
        self._subscription = subscription

    async def close(self) -> None:
        with contextlib.suppress(nats.errors.Error):  # the connection is gone, and the subscription with it
            await self._subscription.unsubscribe()


_NATS_ERRORS = (nats.errors.Error, nats.js.errors.Error, asyncio.TimeoutError)

# What a publish meets while the stream has no leader or the connection moves to another server.
_LEADERLESS = (
    TimeoutError,
    nats.errors.TimeoutError,
    nats.errors.NoRespondersError,
    nats.js.errors.NoStreamResponseError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.StaleConnectionError,
    nats.js.errors.ServiceUnavailableError,
)


def _object_attempt_timeout(replicas: int | None) -> float:
    return OBJECT_ATTEMPT_TIMEOUT_S if (replicas or 1) > 1 else SINGLE_COPY_OBJECT_TIMEOUT_S


def _unavailable(what: str, exc: BaseException) -> BusError:
    return BusError("jetstream_unavailable", f"{what}: {exc or type(exc).__name__}")


@asynccontextmanager
async def connected(settings: Settings, *, name: str) -> AsyncIterator[Bus]:
    bus = await Bus.connect(settings, name=name)
    try:
        yield bus
    finally:
        await bus.close()


async def _discard(nc: Client) -> None:
    """Stop a client whose first connect failed (it may still hold sockets or retry tasks)."""
    # nats-py asserts in close() when connect failed before it set itself up (bad options): nothing to close then.
    with contextlib.suppress(AssertionError):
        await nc.close()


async def _first_of(connecting, refused: asyncio.Event, timeout: float) -> None:
    """Wait for the connection, but stop early when the server refuses our credentials."""
    attempt = asyncio.ensure_future(connecting)
    refusal = asyncio.ensure_future(refused.wait())
    done, _ = await asyncio.wait({attempt, refusal}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    refusal.cancel()
    if attempt in done:
        attempt.result()
        return
    attempt.cancel()
    raise TimeoutError


def _auth_options(settings: Settings) -> dict:
    """nats.connect keywords for the configured authentication and TLS."""
    options: dict = {}
    if settings.nats_user:
        options.update(user=settings.nats_user, password=settings.nats_password or "")
    if settings.nats_token:
        options["token"] = settings.nats_token
    if settings.nats_creds:
        options["user_credentials"] = str(settings.nats_creds)
    if settings.nats_nkey_seed:
        options["nkeys_seed"] = str(settings.nats_nkey_seed)
    if settings.tls_ca or settings.tls_cert:
        context = ssl.create_default_context(cafile=str(settings.tls_ca) if settings.tls_ca else None)
        if settings.tls_cert:
            context.load_cert_chain(str(settings.tls_cert), str(settings.tls_key) if settings.tls_key else None)
        options["tls"] = context
    return options


async def _log_async_error(error: Exception) -> None:
    # Permission violations and slow-consumer notices arrive asynchronously; they must be
    # visible, not swallowed (a missing permission otherwise looks like a timeout).
    log.warning("nats error", error=str(error) or type(error).__name__)


TOPOLOGY_WAIT_S = 30.0

# JetStream refusals worth waiting out: no meta leader yet (a cluster electing one), and a stream another
# process is creating at the same moment (on a cluster it may not be visible from every server at once).
_JS_TEMPORARILY_UNAVAILABLE = 10008
_JS_STREAM_NAME_IN_USE = 10058


def _refusal(exc: BaseException) -> str | None:
    """What the server said when it refused a topology change for good (a bad config); None when worth waiting."""
    if isinstance(exc, nats.js.errors.APIError) and exc.err_code not in (
        None,
        _JS_TEMPORARILY_UNAVAILABLE,
        _JS_STREAM_NAME_IN_USE,
    ):
        return exc.description or f"error {exc.err_code}"
    return None


async def _create_or_wait(lookup, create, what: str, replicas: int):
    """Look the thing up; create it if missing; if we may not create it, wait for someone who may.

    With least-privilege credentials only the orchestrator creates streams and buckets;
    agents and clients that start first wait for it instead of failing. A creation the
    server refuses (more replicas than servers, replicas on a server without a cluster)
    stops at once with its reason.
    """
    deadline = asyncio.get_running_loop().time() + TOPOLOGY_WAIT_S
    try:
        return await lookup()
    except (nats.js.errors.NotFoundError, nats.js.errors.BucketNotFoundError):
        pass
    try:
        return await create()
    except (TimeoutError, nats.errors.TimeoutError, nats.js.errors.APIError) as exc:
        refusal = _refusal(exc)
        if refusal:
            raise _replicas_refused(what, replicas, refusal) from None
        # Another process is creating it, or this user may not and the orchestrator will.
        log.info("waiting for it to be created", what=what)
    while asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.2)
        try:
            return await lookup()
        except (nats.js.errors.NotFoundError, nats.js.errors.BucketNotFoundError):
            continue
    raise BusError(
        "topology_missing", f"{what} does not exist and this user may not create it; start the orchestrator first"
    )


def _replicas_refused(what: str, replicas: int, reason: str) -> GaaiError:
    return GaaiError(
        "bad_setting",
        f"cannot create {what} with {replicas} replica(s) (GAAI_REPLICAS): {reason}; "
        f"GAAI_REPLICAS must be at most the number of JetStream servers in the cluster (1 without a cluster)",
    )


async def _ensure_replicas(js: JetStreamContext, stream: str, replicas: int, what: str) -> None:
    """Bring an existing stream (a KV bucket or an object store is one too) to ``replicas``.

    Its durable consumers, created without a replica count of their own, follow the stream.
    A user that may not change streams waits for the orchestrator to do it, as for creation.
    """
    config = (await _created(js, stream)).config
    found = config.num_replicas or 1
    if found == replicas:
        return
    try:
        await js.update_stream(dataclasses.replace(config, num_replicas=replicas))
        log.info("replicas changed", what=what, before=found, after=replicas)
        await _until_led(js, stream)
        return
    except (TimeoutError, nats.errors.TimeoutError, nats.js.errors.APIError) as exc:
        reason = _refusal(exc)
    if reason is None:
        log.info("waiting for the orchestrator to change its replicas", what=what, found=found, wanted=replicas)
        deadline = asyncio.get_running_loop().time() + TOPOLOGY_WAIT_S
        while asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.2)
            if ((await js.stream_info(stream)).config.num_replicas or 1) == replicas:
                return
        reason = "this user may not change it and no one else did"
    raise GaaiError(
        "bad_setting",
        f"{what} has {found} replica(s) but GAAI_REPLICAS={replicas}, and changing it failed: {reason}; "
        f"set GAAI_REPLICAS={found}, or change it as a JetStream admin "
        f"(nats stream edit {stream} --replicas {replicas})",
    )


async def _created(js: JetStreamContext, stream: str) -> StreamInfo:
    """The stream's info, once the server asked knows of it (on a cluster, a creation spreads in a moment)."""
    deadline = asyncio.get_running_loop().time() + TOPOLOGY_WAIT_S
    while True:
        try:
            return await js.stream_info(stream)
        except nats.js.errors.NotFoundError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.05)


async def _ensure_topology(
    js: JetStreamContext, replicas: int | None, objects_js: JetStreamContext
) -> tuple[KeyValue, KeyValue, ObjectStore, ObjectStore]:
    """Every stream and bucket, at ``replicas`` (None: new ones at 1, existing ones as they are); the KV buckets
    and the object stores (bound to ``objects_js``, whose timeout is one attempt's).

    Each step is idempotent, so the whole is tried again when JetStream is too slow to answer: several
    processes starting at once on a new cluster keep its meta leader busy for a few seconds.
    """
    deadline = asyncio.get_running_loop().time() + TOPOLOGY_WAIT_S
    while True:
        try:
            for config in STREAMS:
                await _ensure_stream(js, config, replicas)
            return (
                await _ensure_kv(js, subjects.WORKFLOWS_BUCKET, replicas),
                await _ensure_kv(js, subjects.CANCELLATIONS_BUCKET, replicas),
                await _ensure_object_store(js, subjects.DOCUMENTS_BUCKET, DOCUMENTS_MAX_AGE_S, replicas, objects_js),
                await _ensure_object_store(js, subjects.REPORTS_BUCKET, None, replicas, objects_js),
            )
        except (TimeoutError, nats.errors.TimeoutError) as exc:
            if asyncio.get_running_loop().time() > deadline:
                raise
            log.info("JetStream slow to answer during setup; trying again", error=str(exc) or type(exc).__name__)


async def _until_led(js: JetStreamContext, stream: str) -> None:
    """Until the stream's replicas have elected a leader again (changing them re-forms its group)."""
    deadline = asyncio.get_running_loop().time() + TOPOLOGY_WAIT_S
    while asyncio.get_running_loop().time() < deadline:
        cluster = (await js.stream_info(stream)).cluster
        if cluster is None or cluster.leader:
            return
        await asyncio.sleep(0.05)


# Without GAAI_REPLICAS a process creates what is missing with one replica and leaves existing resources as they
# are: a client started without it must not shrink a cluster's replicated streams.


async def _ensure_stream(js: JetStreamContext, config: StreamConfig, replicas: int | None) -> None:
    name = config.name
    assert name is not None, "every stream of STREAMS is named"
    config = dataclasses.replace(config, num_replicas=replicas or 1)
    await _create_or_wait(lambda: js.stream_info(name), lambda: js.add_stream(config), f"stream {name}", replicas or 1)
    if replicas is not None:
        await _ensure_replicas(js, name, replicas, f"stream {name}")


async def _ensure_kv(js: JetStreamContext, bucket: str, replicas: int | None) -> KeyValue:
    config = KeyValueConfig(bucket=bucket, history=1, storage=StorageType.FILE, replicas=replicas or 1)
    found = await _create_or_wait(
        lambda: js.key_value(bucket), lambda: js.create_key_value(config), f"bucket {bucket}", replicas or 1
    )
    if replicas is not None:
        await _ensure_replicas(js, f"KV_{bucket}", replicas, f"bucket {bucket}")
    return found


async def _ensure_object_store(
    js: JetStreamContext, bucket: str, max_age: float | None, replicas: int | None, objects_js: JetStreamContext
) -> ObjectStore:
    config = ObjectStoreConfig(bucket=bucket, storage=StorageType.FILE, ttl=max_age, replicas=replicas or 1)
    await _create_or_wait(
        lambda: js.object_store(bucket),
        lambda: js.create_object_store(bucket, config),
        f"bucket {bucket}",
        replicas or 1,
    )
    if replicas is not None:
        await _ensure_replicas(js, f"OBJ_{bucket}", replicas, f"bucket {bucket}")
    return await objects_js.object_store(bucket)
