"""The workflow DAG as a pure function: ``advance(state, event, now) -> (state, commands)``.

No I/O and no clock: the runner feeds events (a submission, an agent's result) and
carries out the commands (publish a task, publish an event). The same events always lead
to the same decisions, which is what lets a restarted orchestrator replay safely.

    vertical ─────┐
    schema ───────┼─ use_cases ─ templates ─┬─ execution/T1 ─ reporting/T1
    requirements ─┘                         ├─ execution/T2 ─ reporting/T2
                                             └─ …
    The analytics catalog is no task of the DAG: it follows the results stream itself.

Tasks wait only for the outputs they read: neither schema analysis nor requirements
extraction reads the vertical, so all three start at submission. Pipelined: a template's
report depends only on its own execution. Sequential mode (``enable_parallelism=False``)
runs the same tasks one at a time in creation order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from msgspec.structs import replace

from gaai.bus.contract import (
    FINAL_STATUSES,
    ExecutionResult,
    ExecutionTask,
    ReportResult,
    ReportTask,
    RequirementsResult,
    RequirementsTask,
    ResultEnvelope,
    SchemaResult,
    SchemaTask,
    Task,
    TaskEnvelope,
    TaskEvent,
    TaskState,
    TemplatesResult,
    TemplatesTask,
    UseCasesResult,
    UseCasesTask,
    VerticalResult,
    VerticalTask,
    WorkflowEvent,
)
from gaai.bus.domain import GraphSchema, OutputConstraint
from gaai.bus.errors import error_info
from gaai.orchestrator.state import WorkflowState

PHASES = {
    "vertical": "Phase 1: vertical ‖ schema ‖ requirements",
    "schema": "Phase 1: vertical ‖ schema ‖ requirements",
    "requirements": "Phase 1: vertical ‖ schema ‖ requirements",
    "use_cases": "Phase 2: use cases",
    "templates": "Phase 3: analysis templates",
    "execution": "Phase 4: executions",
    "reporting": "Phase 5: reports",
}

# The tasks every workflow starts with, in creation order, each with the tasks whose outputs
# it reads. The templates' result adds an execution and a report per template.
HEAD_TASKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("vertical", ()),
    ("schema", ()),
    ("requirements", ()),
    ("use_cases", ("vertical", "schema", "requirements")),
    ("templates", ("use_cases",)),
)

_LABELS = {
    "vertical": "Industry vertical",
    "schema": "Schema analysis",
    "requirements": "Requirements extraction",
    "use_cases": "Use case generation",
    "templates": "Template generation",
}


@dataclass(frozen=True)
class Submitted:
    """The workflow was accepted and its state stored."""


@dataclass(frozen=True)
class Finished:
    """An agent answered one task (with a result or an error)."""

    reply: ResultEnvelope


@dataclass(frozen=True)
class Cancelled:
    """A client asked to stop the workflow."""

    reason: str


@dataclass(frozen=True)
class Retried:
    """A client asked to run a failed task again (a new attempt)."""

    task_id: str


DagEvent = Submitted | Finished | Cancelled | Retried


@dataclass(frozen=True)
class Dispatch:
    agent: str
    envelope: TaskEnvelope


@dataclass(frozen=True)
class Emit:
    """A task change to announce; a state write announces its own in one ``announcement``."""

    event: TaskEvent


Command = Dispatch | Emit


def task_id(workflow_id: str, agent: str, key: str = "") -> str:
    return f"{workflow_id}.{agent}" + (f".{key}" if key else "")


def advance(state: WorkflowState, event: DagEvent, now: float) -> tuple[WorkflowState, list[Command]]:
    """Apply one event; return the new state and what to send."""
    commands: list[Command] = []
    tasks = dict(state.tasks)
    outputs = dict(state.outputs)
    failures = list(state.failures)
    if isinstance(event, Retried) and state.status != "cancelled":
        state = _reopen(state, event.task_id, now)
        if state.status != "running":
            return state, commands
        state, dispatched = _schedule(state, now)
        return state, dispatched
    if state.status in FINAL_STATUSES or isinstance(event, Retried):
        return state, commands
    if isinstance(event, Cancelled):
        return _cancel(state, event, now)

    if isinstance(event, Submitted):
        if tasks:
            return state, commands
        wf = state.workflow_id
        for agent, depends_on in HEAD_TASKS:
            _add(tasks, task_id(wf, agent), agent, [task_id(wf, d) for d in depends_on])
        status = "running"
    else:
        reply = event.reply
        current = tasks.get(reply.task_id)
        if current is None or current.status not in ("dispatched", "running") or reply.attempt != current.attempt:
            return state, commands  # a duplicate or stale answer: its effect was already applied
        status = state.status
        finished = replace(
            current,
            started_at=reply.started_at,
            ended_at=reply.ended_at,
            instance=reply.instance,
            llm_calls=reply.llm_calls,
        )
        if reply.result is not None:
            finished = replace(finished, status="completed")
            outputs[reply.task_id] = reply.result
            _expand(state, tasks, reply)
        else:
            error = reply.error or error_info("internal", "agent sent neither result nor error")
            finished = replace(finished, status="failed", error=error)
            failures.append(state.failure(current, error))
            for skipped in _descendants(tasks, reply.task_id):
                tasks[skipped] = replace(tasks[skipped], status="skipped")
        tasks[reply.task_id] = finished
        commands.append(Emit(_task_event(state.workflow_id, finished, now)))

    state = replace(state, tasks=tasks, outputs=outputs, failures=failures, status=status, updated_at=now)
    state, dispatched = _schedule(state, now)
    commands.extend(dispatched)
    return _conclude(state, now), commands


def awaits_dispatch(state: WorkflowState, reply: ResultEnvelope) -> bool:
    """Whether ``reply`` answers a task that ``state`` has not sent yet, but may send.

    The orchestrator publishes a step's tasks beside the state write that marks them sent.
    If it dies before that write lands, the tasks still run, and their results can reach
    the next orchestrator before the redelivered result that sends them. Such a result is
    not stale: it must be taken again once the state has caught up. That is a task still
    waiting in this attempt, or one the templates' fan-out has not added yet.
    """
    if state.status in FINAL_STATUSES:
        return False
    current = state.tasks.get(reply.task_id)
    if current is None:
        templates = state.tasks.get(task_id(state.workflow_id, "templates"))
        return templates is not None and templates.status in ("waiting", "dispatched", "running")
    return current.status == "waiting" and reply.attempt == current.attempt


def outstanding(state: WorkflowState) -> list[Command]:
    """The tasks a workflow has sent and not heard back about, as they were sent.

    A restarted orchestrator publishes these again: a crash after the state write that
    marks them sent may have come before their publishes. Re-sending is safe: the same
    ``Nats-Msg-Id`` is dropped by JetStream, and agents are idempotent.
    """
    return [
        Dispatch(
            agent=t.agent,
            envelope=TaskEnvelope(
                workflow_id=state.workflow_id, task_id=t.task_id, attempt=t.attempt, task=_build_task(state, t)
            ),
        )
        for t in state.tasks.values()
        if t.status in ("dispatched", "running")
    ]


def _reopen(state: WorkflowState, failed_task: str, now: float) -> WorkflowState:
    """A new attempt of ``failed_task``; what was skipped because of it waits again."""
    task = state.tasks.get(failed_task)
    if task is None or task.status != "failed":
        return state
    tasks = dict(state.tasks)
    tasks[failed_task] = replace(
        task, status="waiting", attempt=task.attempt + 1, error=None, started_at=None, ended_at=None, instance=None
    )
    frontier = [failed_task]
    while frontier:
        parent = frontier.pop()
        for other in tasks.values():
            if parent in other.depends_on and other.status == "skipped":
                tasks[other.task_id] = replace(other, status="waiting")
                frontier.append(other.task_id)
    failures = [f for f in state.failures if not f.startswith(f"{task.label}: ")]
    return replace(state, tasks=tasks, failures=failures, status="running", updated_at=now)


def _cancel(state: WorkflowState, event: Cancelled, now: float) -> tuple[WorkflowState, list[Command]]:
    tasks = {
        tid: replace(task, status="cancelled") if task.status in ("waiting", "dispatched", "running") else task
        for tid, task in state.tasks.items()
    }
    return replace(
        state, tasks=tasks, status="cancelled", failures=[*state.failures, f"cancelled: {event.reason}"], updated_at=now
    ), []


def _add(tasks: dict[str, TaskState], tid: str, agent: str, depends_on: list[str], label: str = "") -> TaskState:
    tasks.setdefault(
        tid, TaskState(task_id=tid, agent=agent, label=label or _LABELS.get(agent, agent), depends_on=depends_on)
    )
    return tasks[tid]


def _expand(state: WorkflowState, tasks: dict[str, TaskState], reply: ResultEnvelope) -> None:
    """Templates fan out into one execution and one report per template."""
    if not isinstance(reply.result, TemplatesResult):
        return
    wf = state.workflow_id
    for template in reply.result.templates[: state.request.max_executions]:
        execution = task_id(wf, "execution", template.id)
        _add(tasks, execution, "execution", [reply.task_id], label=f"Execute {template.id} ({template.algorithm})")
        _add(
            tasks,
            task_id(wf, "reporting", template.id),
            "reporting",
            [execution],
            label=f"Report {template.id} ({template.algorithm})",
        )


def _descendants(tasks: dict[str, TaskState], root: str) -> list[str]:
    found: list[str] = []
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for task in tasks.values():
            if parent in task.depends_on and task.status == "waiting" and task.task_id not in found:
                found.append(task.task_id)
                frontier.append(task.task_id)
    return found


def _schedule(state: WorkflowState, now: float) -> tuple[WorkflowState, list[Command]]:
    tasks = dict(state.tasks)
    active = [t for t in tasks.values() if t.status in ("dispatched", "running")]
    ready = [
        t for t in tasks.values() if t.status == "waiting" and all(tasks[d].status == "completed" for d in t.depends_on)
    ]
    if not state.request.enable_parallelism:
        ready = ready[:1] if not active else []
    limit = state.request.max_concurrency
    running_executions = sum(1 for t in active if t.agent == "execution")
    commands: list[Command] = []
    sent = 0
    for task in ready:
        if task.agent == "execution" and limit is not None:
            if running_executions >= limit:
                continue
            running_executions += 1
        envelope = TaskEnvelope(
            workflow_id=state.workflow_id, task_id=task.task_id, attempt=task.attempt, task=_build_task(state, task)
        )
        tasks[task.task_id] = replace(task, status="dispatched", dispatched_at=now)
        commands.append(Dispatch(agent=task.agent, envelope=envelope))
        commands.append(Emit(_task_event(state.workflow_id, tasks[task.task_id], now)))
        sent += 1
    return replace(state, tasks=tasks, messages_sent=state.messages_sent + sent), commands


def _conclude(state: WorkflowState, now: float) -> WorkflowState:
    if any(t.status in ("waiting", "dispatched", "running") for t in state.tasks.values()):
        return state
    reports = [o for o in state.outputs.values() if isinstance(o, ReportResult)]
    status = "completed" if reports else "failed"
    failures = list(state.failures)
    if not reports and not failures:
        failures.append("no analysis template could be built from the requirements and the graph")
    return replace(state, status=status, failures=failures, updated_at=now)


def announcement(state: WorkflowState, commands: list[Command], now: float) -> WorkflowEvent:
    """The event that tells followers about one state write: ``state`` after it, and its ``commands``' task events."""
    completed = sum(1 for t in state.tasks.values() if t.status == "completed")
    tasks = [c.event for c in commands if isinstance(c, Emit)]
    return WorkflowEvent(
        workflow_id=state.workflow_id,
        status=state.status,
        at=now,
        completed_tasks=completed,
        total_tasks=len(state.tasks),
        tasks=tasks,
    )


def _task_event(workflow_id: str, task: TaskState, now: float) -> TaskEvent:
    return TaskEvent(
        workflow_id=workflow_id,
        task_id=task.task_id,
        agent=task.agent,
        label=task.label,
        status=task.status,
        at=now,
        instance=task.instance,
        error=task.error,
    )


def _output(state: WorkflowState, agent: str, key: str = ""):
    return state.outputs[task_id(state.workflow_id, agent, key)]


def _build_task(state: WorkflowState, task: TaskState) -> Task:
    """The message for ``task``, assembled from the outputs it depends on."""
    request = state.request
    agent = task.agent
    if agent == "vertical":
        return VerticalTask(
            graph_name=request.graph_name,
            documents=state.documents,
            industry=request.industry,
            custom_vertical=request.custom_vertical,
        )
    if agent == "schema":
        return SchemaTask(
            graph_name=request.graph_name,
            core_collections=request.core_collections,
            satellite_collections=request.satellite_collections,
            edge_semantics=request.edge_semantics,
        )
    if agent == "requirements":
        return RequirementsTask(documents=state.documents)
    vertical = _output(state, "vertical")
    assert isinstance(vertical, VerticalResult)
    if agent == "use_cases":
        requirements, schema = _output(state, "requirements"), _output(state, "schema")
        assert isinstance(requirements, RequirementsResult) and isinstance(schema, SchemaResult)
        return UseCasesTask(requirements=requirements.requirements, schema=schema.schema, vertical=vertical.vertical)
    if agent == "templates":
        use_cases, schema = _output(state, "use_cases"), _output(state, "schema")
        assert isinstance(use_cases, UseCasesResult) and isinstance(schema, SchemaResult)
        requirements = _output(state, "requirements")
        assert isinstance(requirements, RequirementsResult)
        return TemplatesTask(
            use_cases=use_cases.use_cases,
            schema=schema.schema,
            max_templates=request.max_executions,
            requirements=requirements.requirements,
            unanswered=use_cases.unanswered,
        )
    templates = _output(state, "templates")
    assert isinstance(templates, TemplatesResult)
    template_id = task.task_id.rsplit(".", 1)[1]
    template = next(t for t in templates.templates if t.id == template_id)
    if agent == "execution":
        return ExecutionTask(graph_name=request.graph_name, template=template)
    if agent == "reporting":
        execution = _output(state, "execution", template_id)
        use_cases = _output(state, "use_cases")
        requirements = _output(state, "requirements")
        assert (
            isinstance(execution, ExecutionResult)
            and isinstance(use_cases, UseCasesResult)
            and isinstance(requirements, RequirementsResult)
        )
        use_case = next((u for u in use_cases.use_cases if u.id == template.use_case_id), None)
        linked = set(template.requirement_ids) | set(use_case.requirement_ids if use_case else ())
        schema = _output(state, "schema")
        assert isinstance(schema, SchemaResult)
        return ReportTask(
            template=template,
            use_case=use_case,
            execution=execution.summary,
            vertical=vertical.vertical,
            requirements=[r for r in requirements.requirements.requirements if r.id in linked],
            constraints=constraints_on(requirements.requirements.output_constraints, schema.schema),
            schema_warnings=warnings_on(schema.schema, template.edge_collections),
        )
    raise ValueError(f"no task builder for agent {agent!r}")


def warnings_on(schema: GraphSchema, edge_collections: list[str]) -> list[str]:
    """The schema's warnings about the given edge collections (each warning opens with the collection it is about)."""
    openings = tuple(f"Edge collection '{name}' " for name in edge_collections)
    return [warning for warning in schema.warnings if warning.startswith(openings)] if openings else []


def constraints_on(constraints: list[OutputConstraint], schema: GraphSchema) -> list[OutputConstraint]:
    """The output constraints with the entity words the documents used turned into vertex collections.

    "customer" names ``customers`` (singular or plural, ``_``/``-`` read as spaces). A
    constraint none of whose words names a collection applies to every collection: a
    privacy rule is better applied too widely than not at all.
    """
    names = [info.name for info in schema.vertex_collections]
    resolved = []
    for constraint in constraints:
        words = {_singular(word) for word in constraint.collections}
        resolved.append(replace(constraint, collections=[name for name in names if _singular(name) in words]))
    return resolved


def _singular(word: str) -> str:
    word = re.sub(r"[\s_\-]+", " ", word.strip().lower())
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    return word[:-1] if word.endswith("s") and not word.endswith(("ss", "us", "is")) else word
