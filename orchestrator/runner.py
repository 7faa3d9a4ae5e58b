"""The orchestrator process: accepts workflows, feeds agents' results to the DAG, sends tasks.

State lives in the ``gaai_workflows`` KV bucket; this process caches it but the bucket
is the truth. Results of one workflow are applied in arrival order, those that arrive
together as one batch with one state write; different workflows go concurrently. A
result that unlocks no task and does not end its workflow waits up to ``MERGE_WINDOW_S``
for the workflow's next event, to share its write. The order of effects makes crashes
safe:

    apply the DAG → announce the write and publish the tasks it sends (deduplicated by
    Nats-Msg-Id), beside saving the state (compare-and-set on the revision) → acknowledge
    the result once both are done.

The tasks do not wait for the write: on the critical path of a workflow that is one round
trip to the KV store less per step. A write that ends the workflow or sends nothing is
announced only once saved.

A crash before the save lands redelivers the result (one waiting to share a write too: it
is acknowledged only after that write), and the DAG decides again from the old state:
the same tasks, whose copies JetStream drops. Their results may arrive before that
redelivery; the DAG knows them as ahead of the state (``awaits_dispatch``), and they are
taken again later instead of dropped. A crash after the save leaves tasks marked sent
that may not be: a restarted orchestrator publishes every outstanding task again
(``resume``), and JetStream drops the ones it already has.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import msgspec
import structlog

from gaai.bus import subjects
from gaai.bus.codec import (
    cancel_decoder,
    decode_custom_vertical,
    decode_request,
    encode,
    industry_name,
    result_decoder,
    retry_decoder,
    status_decoder,
    submit_decoder,
)
from gaai.bus.connection import Bus
from gaai.bus.consume import Delivery, Pipeline, Settlement, ack, retry
from gaai.bus.contract import (
    FINAL_STATUSES,
    ResultEnvelope,
    SubmitReply,
    SubmitRequest,
    WorkflowEvent,
    WorkflowProgress,
)
from gaai.bus.errors import BusError, RequestError, TaskError
from gaai.bus.feed import Feed
from gaai.bus.service import RequestHandler, add_endpoint
from gaai.bus.settings import Settings
from gaai.orchestrator.dag import (
    PHASES,
    Cancelled,
    Command,
    DagEvent,
    Dispatch,
    Finished,
    Retried,
    Submitted,
    advance,
    announcement,
    awaits_dispatch,
    outstanding,
)
from gaai.orchestrator.intake import store_document
from gaai.orchestrator.state import WorkflowState, state_decoder, state_encoder
from gaai.store import GraphStore, StoreError
from gaai.telemetry.tracing import (
    current_link,
    producer_span,
    record_derived_span,
    workflow_context,
)

log = structlog.get_logger("orchestrator")

# Results in hand at once, across all workflows.
RESULTS_IN_HAND = 256
PUBLISH_RETRY_S = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
# A result that cannot be applied yet (the state store is unavailable) comes back this much later.
APPLY_RETRY_S = 1.0
# How long a result that changes the state but calls for no effect (it unlocks no task and does not end the
# workflow) waits for the workflow's next event, so that both are saved in one write. Only followers see it later.
MERGE_WINDOW_S = 0.05

Outcome = Literal["applied", "ahead", "unknown_workflow"]
"""What became of an event: applied to its workflow; a result ahead of the state that sends its task (to be taken
again later); or no such workflow."""


@dataclass
class _Saved:
    """A saved state, what it calls for, and the publishes already under way."""

    state: WorkflowState
    commands: list[Command]
    announced: WorkflowEvent | None
    """The write's announcement; None when the events changed nothing."""
    ahead: list[DagEvent] = field(default_factory=list)
    """Results not applied: their tasks are not sent in this state yet."""
    sending: asyncio.Future[list[None]] | None = None
    """The tasks' publishes, started beside the write."""


class Orchestrator:
    def __init__(self, bus: Bus, settings: Settings, store: GraphStore) -> None:
        self.bus = bus
        self.settings = settings
        self.store = store
        self._cache: dict[str, tuple[WorkflowState, int]] = {}
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._queued: dict[str, list[tuple[DagEvent, asyncio.Future[Outcome]]]] = {}
        # Set when an event is queued for a workflow whose batch is waiting to share its write.
        self._merging: dict[str, asyncio.Event] = {}
        self._starting: set[asyncio.Task[None]] = set()

    async def run(self, stop: asyncio.Event) -> None:
        served: dict[str, RequestHandler] = {
            subjects.SUBMIT: self.submit,
            subjects.STATUS: self.status,
            subjects.CANCEL: self.cancel,
            subjects.RETRY: self.retry,
        }
        endpoints = [await add_endpoint(self.bus, s, subjects.ORCHESTRATOR_QUEUE, h) for s, h in served.items()]
        await self.bus.ensure_catalog_consumer(self.settings)  # before any result is acknowledged
        await self.bus.ensure_orchestrator_consumer(self.settings)
        await self.resume()
        pipeline = Pipeline(
            consumer=subjects.ORCHESTRATOR_CONSUMER,
            what="result",
            decoder=result_decoder,
            handle=self.on_result,
            max_deliver=None,
        )
        results = Feed(self.bus, subjects.RESULTS_STREAM, subjects.ORCHESTRATOR_CONSUMER, RESULTS_IN_HAND, pipeline)
        await results.start()
        log.info("orchestrator ready")
        await stop.wait()
        for endpoint in endpoints:  # answer the requests already taken before results stop
            await endpoint.close()
        await results.close()

    # ------------------------------------------------------------ requests

    async def submit(self, data: bytes) -> SubmitReply:
        request: SubmitRequest = decode_request(submit_decoder, data)
        workflow_id = request.workflow_id or f"wf-{uuid.uuid4().hex[:16]}"
        # A generated id is new; a client's may be a resubmission, whose state is read while the request is checked.
        reading = asyncio.ensure_future(self._load(workflow_id)) if request.workflow_id else None
        try:
            await self._check(request)
        except BaseException:
            if reading is not None:
                reading.cancel()
                await asyncio.gather(reading, return_exceptions=True)
            raise
        if reading is not None:
            existing = await reading
            if existing is not None:
                if existing[0].request.graph_name != request.graph_name:
                    raise RequestError("workflow_exists", f"workflow {workflow_id} already exists for another graph")
                return SubmitReply(workflow_id=workflow_id, status=existing[0].status)
        root = self.settings.documents_root
        documents = [await store_document(self.bus, workflow_id, i, d, root) for i, d in enumerate(request.documents)]
        now = time.time()
        accepted = WorkflowState(
            workflow_id=workflow_id,
            request=msgspec.structs.replace(request, documents=[], workflow_id=workflow_id),
            documents=documents,
            trace_id=secrets.token_hex(16),
            created_at=now,
            updated_at=now,
        )
        # Stored already started (its first tasks marked sent): one state write instead of
        # two. A crash before they are published is what ``resume`` is for.
        state, commands = advance(accepted, Submitted(), now)
        revision = await self.bus.create_entry(subjects.WORKFLOWS_BUCKET, workflow_id, state_encoder.encode(state))
        if revision is None:
            raise RequestError("workflow_exists", f"workflow {workflow_id} was submitted concurrently")
        self._cache[workflow_id] = (state, revision)
        log.info("workflow accepted", workflow_id=workflow_id, graph=request.graph_name, documents=len(documents))
        started = asyncio.create_task(self._start(state, commands, announcement(state, commands, now)))
        self._starting.add(started)
        started.add_done_callback(self._starting.discard)
        return SubmitReply(workflow_id=workflow_id, status=state.status)

    async def _check(self, request: SubmitRequest) -> None:
        """The graph, the vertical and the edge semantics a submission names, as ``RequestError``s."""
        # The store's registry is a file: read off the event loop, which must keep reading requests.
        if not await asyncio.to_thread(self.store.has_graph, request.graph_name):
            graphs = await asyncio.to_thread(self.store.list_graphs)
            known = ", ".join(sorted(g.name for g in graphs)) or "none"
            raise RequestError("unknown_graph", f"graph {request.graph_name!r} does not exist; known graphs: {known}")
        _check_vertical(request)
        if request.edge_semantics:
            try:
                # Reads the weight columns it names, so off the event loop.
                await asyncio.to_thread(self.store.check_semantics, request.graph_name, request.edge_semantics)
            except StoreError as exc:
                raise RequestError(exc.code, f"edge_semantics: {exc.message}") from None

    async def _start(self, state: WorkflowState, commands: list[Command], event: WorkflowEvent) -> None:
        try:
            await self._send(state, commands, event)
        except BusError as exc:
            log.error(
                "first tasks not published; an orchestrator restart publishes them",
                workflow_id=state.workflow_id,
                error=exc.message,
            )

    async def status(self, data: bytes) -> WorkflowProgress:
        request = decode_request(status_decoder, data)
        return (await self._existing(request.workflow_id)).progress()

    async def _existing(self, workflow_id: str) -> WorkflowState:
        loaded = await self._load(workflow_id)
        if loaded is None:
            raise RequestError("unknown_workflow", f"no workflow with id {workflow_id!r}")
        return loaded[0]

    async def cancel(self, data: bytes) -> WorkflowProgress:
        """Stop a workflow: no new tasks, queued ones skipped by agents, running ones interrupted."""
        request = decode_request(cancel_decoder, data)
        state = await self._existing(request.workflow_id)
        if state.status in FINAL_STATUSES:
            return state.progress()
        await self._apply(request.workflow_id, Cancelled(request.reason))
        # Agents watch this bucket: queued tasks of the workflow are skipped, running ones interrupted.
        await self.bus.put_entry(subjects.CANCELLATIONS_BUCKET, request.workflow_id, request.reason.encode())
        return (await self._existing(request.workflow_id)).progress()

    async def retry(self, data: bytes) -> WorkflowProgress:
        """A new attempt of a failed task; the workflow re-opens if it had finished."""
        request = decode_request(retry_decoder, data)
        state = await self._existing(request.workflow_id)
        task = state.tasks.get(request.task_id)
        if task is None:
            raise RequestError("unknown_task", f"workflow {request.workflow_id} has no task {request.task_id!r}")
        if state.status == "cancelled":
            raise RequestError("cancelled", f"workflow {request.workflow_id} was cancelled; submit it again instead")
        if task.status != "failed":
            raise RequestError("not_failed", f"task {request.task_id} is {task.status}, not failed")
        await self._apply(request.workflow_id, Retried(request.task_id))
        return (await self._existing(request.workflow_id)).progress()

    # ------------------------------------------------------------ results

    async def on_result(self, reply: ResultEnvelope, delivery: Delivery) -> Settlement:
        try:
            outcome = await self._apply(reply.workflow_id, Finished(reply))
        except BusError as exc:
            log.warning("result not applied yet, will retry", error=exc.message)
            return retry(APPLY_RETRY_S)
        if outcome == "ahead":
            log.info("result ahead of the state that sends its task, taken again later", deliveries=delivery.deliveries)
            return retry(APPLY_RETRY_S)
        if outcome == "unknown_workflow":
            log.warning("result for an unknown workflow dropped", workflow_id=reply.workflow_id, task_id=reply.task_id)
        return ack()

    async def _apply(self, workflow_id: str, event: DagEvent) -> Outcome:
        """Feed ``event`` to the workflow's DAG, save the state, publish what follows.

        Returns once the event's consequences are stored and published. Events that arrive
        while the workflow's previous batch is being saved wait and go together: one state
        write for all of them (a group commit), which is what keeps a wide fan-out from
        serialising on one write per result.
        """
        waiter: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        queue = self._queued.setdefault(workflow_id, [])
        queue.append((event, waiter))
        merging = self._merging.get(workflow_id)
        if merging is not None:
            merging.set()  # the batch waiting to share its write takes this event in
        elif len(queue) == 1:
            try:
                await self._commit_queued(workflow_id)
            except BaseException:
                if waiter.done() and not waiter.cancelled():
                    waiter.exception()  # read: this caller is being stopped, and stops with its own exception
                raise
        return await waiter

    async def _commit_queued(self, workflow_id: str) -> None:
        batch: list[tuple[DagEvent, asyncio.Future[Outcome]]] = []
        try:
            async with self._locks[workflow_id]:
                batch = self._queued.pop(workflow_id, [])
                saved = await self._advance_and_save(workflow_id, batch)
            if saved is not None:
                # Outside the lock: the next batch may be saved while these tasks are sent.
                await self._follow_up(saved)
        except BaseException as exc:
            for _, waiter in batch:
                if not waiter.done():
                    waiter.set_exception(
                        exc if isinstance(exc, Exception) else BusError("stopped", "orchestrator stopping")
                    )
            if not isinstance(exc, Exception):
                raise
            return
        ahead = {id(event) for event in saved.ahead} if saved is not None else set()
        for event, waiter in batch:
            waiter.set_result("unknown_workflow" if saved is None else "ahead" if id(event) in ahead else "applied")

    async def _next_event(
        self, workflow_id: str, batch: list[tuple[DagEvent, asyncio.Future[Outcome]]], deadline: float
    ) -> None:
        """Until the workflow's next event is queued or ``deadline`` passes; what was queued joins ``batch``."""
        merging = self._merging[workflow_id] = asyncio.Event()
        try:
            await asyncio.wait_for(merging.wait(), max(0.0, deadline - asyncio.get_running_loop().time()))
        except TimeoutError:
            pass
        finally:
            del self._merging[workflow_id]
        batch.extend(self._queued.pop(workflow_id, []))

    async def _follow_up(self, saved: _Saved) -> None:
        """Send what a saved state calls for; a final state closes the workflow here."""
        state = saved.state
        if saved.announced is None:  # the events changed nothing
            return
        if saved.sending is None:
            await self._send(state, saved.commands, saved.announced)
        else:
            try:
                await saved.sending
            except BusError:
                await self._send(state, saved.commands, None)  # announced already
        if state.status in FINAL_STATUSES:
            log.info(
                "workflow finished", workflow_id=state.workflow_id, status=state.status, failures=len(state.failures)
            )
            record_workflow_spans(state)
            self._cache.pop(state.workflow_id, None)
            self._locks.pop(state.workflow_id, None)

    async def _advance_and_save(
        self, workflow_id: str, batch: list[tuple[DagEvent, asyncio.Future[Outcome]]]
    ) -> _Saved | None:
        """The state after the ``batch``'s events, saved with compare-and-set, with the commands they cause and the
        write's announcement; the tasks they send are being published already. While the events call for no effect,
        ``batch`` grows with the workflow's next events (up to ``MERGE_WINDOW_S``), so that they share the write.

        None when there is no such workflow.
        """
        deadline = asyncio.get_running_loop().time() + MERGE_WINDOW_S
        for _ in range(10):
            loaded = await self._load(workflow_id, use_cache=True)
            if loaded is None:
                return None
            state, revision = loaded
            new_state, applied = state, 0
            commands: list[Command] = []
            ahead: list[DagEvent] = []
            while True:
                now = time.time()
                new_state = _apply_events(new_state, [event for event, _ in batch[applied:]], now, commands, ahead)
                applied = len(batch)
                if not _may_wait(state, new_state, commands, batch) or asyncio.get_running_loop().time() >= deadline:
                    break
                await self._next_event(workflow_id, batch, deadline)
            if new_state is state:
                return _Saved(state, [], None, ahead)
            announced = announcement(new_state, commands, now)
            sending = await self._send_ahead(new_state, commands, announced)
            try:
                saved = await self.bus.update_entry(
                    subjects.WORKFLOWS_BUCKET, workflow_id, state_encoder.encode(new_state), revision
                )
            except BaseException:
                await _settled(sending)
                raise
            if saved is None:
                await _settled(sending)
                self._cache.pop(workflow_id, None)  # another orchestrator moved it on; reload and replay
                continue
            self._cache[workflow_id] = (new_state, saved)
            return _Saved(new_state, commands, announced, ahead, sending)
        raise BusError("state_conflict", f"workflow {workflow_id}: state kept changing under us")

    async def _send_ahead(
        self, state: WorkflowState, commands: list[Command], announced: WorkflowEvent
    ) -> asyncio.Future[list[None]] | None:
        """Announce the write and start publishing its tasks before it is saved: None when it sends no task or ends
        the workflow (a final status is announced only once saved)."""
        if state.status in FINAL_STATUSES or not any(isinstance(c, Dispatch) for c in commands):
            return None
        sending = self._dispatch(state, commands)
        await self.bus.emit(announced)
        return sending

    async def _send(self, state: WorkflowState, commands: list[Command], event: WorkflowEvent | None) -> None:
        """Publish what a saved state calls for, retrying while JetStream refuses.

        The state already says these tasks were sent, so a result redelivered later is a
        duplicate that sends nothing: giving up here would leave them unsent until an
        orchestrator restart. Publishing again is safe (Nats-Msg-Id).
        """
        for delay in (*PUBLISH_RETRY_S, None):
            try:
                await self._execute(state, commands, event)
                return
            except BusError as exc:
                if delay is None:
                    raise
                log.warning(
                    "publishing failed, trying again", workflow_id=state.workflow_id, error=exc.message, in_s=delay
                )
                await asyncio.sleep(delay)

    async def _execute(self, state: WorkflowState, commands: list[Command], event: WorkflowEvent | None) -> None:
        """Publish the write's announcement, then the tasks concurrently (each waits for its own JetStream ack)."""
        sending = self._dispatch(state, commands)
        if event is not None:
            await self.bus.emit(event)
        await sending

    def _dispatch(self, state: WorkflowState, commands: list[Command]) -> asyncio.Future[list[None]]:
        """The publishes of ``commands``' tasks. They start at the loop's next turn: an announcement emitted now goes
        ahead of them in the same socket write, so a task's "dispatched" reaches followers before the agent's
        "running"."""
        trigger = current_link()

        async def dispatch(command: Dispatch) -> None:
            envelope = command.envelope
            message_id = f"task:{envelope.task_id}:{envelope.attempt}"
            headers = {
                subjects.HEADER_MSG_ID: message_id,
                subjects.HEADER_WORKFLOW_ID: envelope.workflow_id,
                subjects.HEADER_TASK_ID: envelope.task_id,
            }
            subject = subjects.task_subject(command.agent)
            body = encode(envelope)
            phase = workflow_context(state.trace_id, PHASES[command.agent])
            with producer_span(subject, message_id, len(body), headers, context=phase, links=trigger):
                await self.bus.publish(subject, body, headers)

        return asyncio.gather(*(asyncio.ensure_future(dispatch(c)) for c in commands if isinstance(c, Dispatch)))

    async def _load(self, workflow_id: str, use_cache: bool = False) -> tuple[WorkflowState, int] | None:
        if use_cache and workflow_id in self._cache:
            return self._cache[workflow_id]
        try:
            entry = await self.bus.get_entry(subjects.WORKFLOWS_BUCKET, workflow_id)
        except BusError as exc:
            raise BusError("state_unavailable", f"cannot read workflow state: {exc.message}") from None
        if entry is None:
            return None
        value, revision = entry
        return state_decoder.decode(value), revision

    async def resume(self) -> None:
        """Pick up workflows left unfinished by a previous orchestrator process."""
        for workflow_id in await self.bus.entry_keys(subjects.WORKFLOWS_BUCKET):
            loaded = await self._load(workflow_id)
            if loaded is None or loaded[0].status in FINAL_STATUSES:
                continue
            state = loaded[0]
            if state.status == "pending":
                await self._apply(workflow_id, Submitted())
            else:
                await self._execute(state, outstanding(state), None)
            log.info("resumed workflow", workflow_id=workflow_id, status=state.status)


def _apply_events(
    state: WorkflowState, events: list[DagEvent], now: float, commands: list[Command], ahead: list[DagEvent]
) -> WorkflowState:
    """``state`` after ``events``; the commands they cause are added to ``commands``, the results that answer tasks
    the state has not sent yet (``awaits_dispatch``) to ``ahead``, unapplied."""
    for event in events:
        if isinstance(event, Finished) and awaits_dispatch(state, event.reply):
            ahead.append(event)
            continue
        before = state
        state, caused = advance(state, event, now)
        commands.extend(caused)
        if state is not before and isinstance(event, Finished):
            state = msgspec.structs.replace(state, messages_received=state.messages_received + 1)
    return state


async def _settled(sending: asyncio.Future[list[None]] | None) -> None:
    """Wait for publishes started beside a write that did not land; their failure is for the replay to mend."""
    if sending is not None:
        await asyncio.gather(sending, return_exceptions=True)


def _may_wait(
    saved: WorkflowState, state: WorkflowState, commands: list[Command], batch: Sequence[tuple[DagEvent, object]]
) -> bool:
    """Whether the change from ``saved`` to ``state`` may wait to share its write: only results, and nothing to send
    (no task unlocked, the workflow not ended). A request (cancel, retry) or a submission is saved at once."""
    return (
        state is not saved
        and state.status not in FINAL_STATUSES
        and all(isinstance(event, Finished) for event, _ in batch)
        and not any(isinstance(command, Dispatch) for command in commands)
    )


def _check_vertical(request: SubmitRequest) -> None:
    """An unknown ``industry`` or a malformed ``custom_vertical`` is a bad request, not a failed task later."""
    try:
        industry_name(request.industry)
        if request.custom_vertical is not None:
            decode_custom_vertical(request.custom_vertical)
    except TaskError as exc:
        field = "custom_vertical" if request.custom_vertical is not None and exc.code == "bad_vertical" else "industry"
        raise RequestError("bad_request", f"{field}: {exc.message}") from None


def record_workflow_spans(state: WorkflowState) -> None:
    """The root span and one span per phase, with the times the tasks actually took."""
    by_phase: dict[str, list] = {}
    for task in state.tasks.values():
        if task.dispatched_at is not None:
            by_phase.setdefault(PHASES[task.agent], []).append(task)
    error = "; ".join(state.failures) if state.status == "failed" else None
    record_derived_span(
        state.trace_id,
        f"workflow {state.request.graph_name}",
        "root",
        state.created_at,
        state.updated_at,
        {
            "gaai.workflow.id": state.workflow_id,
            "gaai.graph.name": state.request.graph_name,
            "gaai.workflow.status": state.status,
            "gaai.workflow.tasks": len(state.tasks),
            "gaai.workflow.failures": len(state.failures),
            "gaai.workflow.parallel": state.request.enable_parallelism,
        },
        parent=None,
        error=error,
    )
    for phase, tasks in by_phase.items():
        start = min(t.dispatched_at for t in tasks)
        end = max(t.ended_at or state.updated_at for t in tasks)
        failed = [t.label for t in tasks if t.status == "failed"]
        record_derived_span(
            state.trace_id,
            f"phase {phase}",
            phase,
            start,
            end,
            {"gaai.workflow.id": state.workflow_id, "gaai.phase.tasks": len(tasks), "gaai.phase.failed": len(failed)},
            parent="root",
            error=", ".join(failed) or None,
        )
