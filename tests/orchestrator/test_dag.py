"""The pure DAG: event sequences in, commands out."""

from __future__ import annotations

import msgspec
import pytest

from gaai.bus.contract import (
    ErrorInfo,
    ExecutionResult,
    Instance,
    ReportResult,
    RequirementsResult,
    RequirementsTask,
    ResultEnvelope,
    SchemaResult,
    SubmitRequest,
    TemplatesResult,
    TemplatesTask,
    UseCasesResult,
)
from gaai.bus.domain import (
    AnalysisTemplate,
    CollectionInfo,
    ExecutionSummary,
    GraphSchema,
    OutputConstraint,
    Report,
    Requirement,
    RequirementCoverage,
    RequirementsDoc,
    UnansweredQuestion,
    UseCase,
)
from gaai.orchestrator.dag import Dispatch, Finished, Submitted, advance, announcement, awaits_dispatch
from gaai.orchestrator.state import WorkflowState
from tests.orchestrator.serving import head_results

WF = "wf-test"
INSTANCE = Instance(agent="x", host="h", pid=1, instance_id="i")


def make_state(**request: object) -> WorkflowState:
    return WorkflowState(
        workflow_id=WF,
        request=SubmitRequest(graph_name="g", **request),
        documents=[],
        trace_id="0" * 31 + "1",
        created_at=0.0,
        updated_at=0.0,
    )


def template(n: int) -> AnalysisTemplate:
    return AnalysisTemplate(
        id=f"TPL-{n:03d}",
        use_case_id="UC-001",
        title=f"t{n}",
        algorithm="pagerank",
        vertex_collections=["a"],
        edge_collections=["e"],
    )


def summary(n: int) -> ExecutionSummary:
    return ExecutionSummary(
        execution_id=f"{WF}.execution.TPL-{n:03d}",
        template_id=f"TPL-{n:03d}",
        algorithm="pagerank",
        graph_name="g",
        vertex_count=1,
        edge_count=1,
        result_ref="r",
        result_field="rank",
    )


RESULTS = {
    **head_results("g"),
    "use_cases": UseCasesResult(
        use_cases=[UseCase(id="UC-001", title="u", description="", algorithm="pagerank", reason="")]
    ),
}


def reply(task_id: str, result=None, error=None, attempt: int = 1) -> Finished:
    return Finished(
        ResultEnvelope(
            workflow_id=WF,
            task_id=task_id,
            instance=INSTANCE,
            started_at=1.0,
            ended_at=2.0,
            attempt=attempt,
            result=result,
            error=error,
        )
    )


def dispatched(commands) -> list[str]:
    return [c.envelope.task_id for c in commands if isinstance(c, Dispatch)]


def run_to_templates(state: WorkflowState, n_templates: int):
    state, commands = advance(state, Submitted(), 1.0)
    assert dispatched(commands) == [f"{WF}.vertical", f"{WF}.schema", f"{WF}.requirements"]
    for step in ("vertical", "schema", "requirements", "use_cases"):
        state, commands = advance(state, reply(f"{WF}.{step}", RESULTS[step]), 2.0)
    state, commands = advance(
        state,
        reply(f"{WF}.templates", TemplatesResult(templates=[template(i) for i in range(1, n_templates + 1)])),
        3.0,
    )
    return state, commands


def test_schema_and_requirements_start_beside_the_vertical():
    """Neither reads the vertical, so all three are sent at submission, the requirements without a vertical."""
    _state, commands = advance(make_state(), Submitted(), 1.0)
    assert dispatched(commands) == [f"{WF}.vertical", f"{WF}.schema", f"{WF}.requirements"]
    requirements = next(c.envelope.task for c in commands if isinstance(c, Dispatch) and c.agent == "requirements")
    assert requirements == RequirementsTask(documents=[])


@pytest.mark.parametrize("last", ["vertical", "schema", "requirements"])
def test_use_cases_wait_for_all_three_phase_one_tasks(last):
    """Use cases read the vertical, the schema and the requirements: they go out with the last of the three."""
    state, _ = advance(make_state(), Submitted(), 1.0)
    for step in [s for s in ("vertical", "schema", "requirements") if s != last]:
        state, commands = advance(state, reply(f"{WF}.{step}", RESULTS[step]), 2.0)
        assert dispatched(commands) == []
    state, commands = advance(state, reply(f"{WF}.{last}", RESULTS[last]), 2.0)
    assert dispatched(commands) == [f"{WF}.use_cases"]


def test_templates_fan_out_and_reports_are_pipelined():
    """Each template's report is sent as soon as its own execution ends, while others still run."""
    state, commands = run_to_templates(make_state(), 3)
    assert dispatched(commands) == [f"{WF}.execution.TPL-00{i}" for i in (1, 2, 3)]
    state, commands = advance(state, reply(f"{WF}.execution.TPL-002", ExecutionResult(summary=summary(2))), 4.0)
    assert dispatched(commands) == [f"{WF}.reporting.TPL-002"]
    report_task = next(c.envelope.task for c in commands if isinstance(c, Dispatch) and c.agent == "reporting")
    assert report_task.execution.template_id == "TPL-002"
    assert report_task.use_case.id == "UC-001"


def test_max_executions_caps_the_fan_out():
    """Only the first max_executions templates are executed."""
    _, commands = run_to_templates(make_state(max_executions=2), 5)
    assert dispatched(commands) == [f"{WF}.execution.TPL-001", f"{WF}.execution.TPL-002"]


def test_concurrency_limit_holds_back_executions():
    """max_concurrency=1 runs executions one at a time; the next starts when one ends."""
    state, commands = run_to_templates(make_state(max_concurrency=1), 3)
    assert dispatched(commands) == [f"{WF}.execution.TPL-001"]
    state, commands = advance(state, reply(f"{WF}.execution.TPL-001", ExecutionResult(summary=summary(1))), 4.0)
    assert sorted(dispatched(commands)) == [f"{WF}.execution.TPL-002", f"{WF}.reporting.TPL-001"]


def test_sequential_mode_sends_one_task_at_a_time():
    """enable_parallelism=False never has two tasks out at once."""
    state, commands = advance(make_state(enable_parallelism=False), Submitted(), 1.0)
    state, commands = advance(state, reply(f"{WF}.vertical", RESULTS["vertical"]), 2.0)
    sent = [c for c in commands if isinstance(c, Dispatch)]
    assert len(sent) == 1 and sent[0].envelope.task_id == f"{WF}.schema"


def test_failed_execution_skips_its_report_but_not_the_others():
    """One failing template does not sink the workflow: it completes with the failure listed."""
    state, _ = run_to_templates(make_state(), 2)
    state, _ = advance(
        state, reply(f"{WF}.execution.TPL-001", error=ErrorInfo(code="timeout", message="too slow")), 4.0
    )
    assert state.tasks[f"{WF}.reporting.TPL-001"].status == "skipped"
    state, _ = advance(state, reply(f"{WF}.execution.TPL-002", ExecutionResult(summary=summary(2))), 4.0)
    report = Report(
        report_id="r2", template_id="TPL-002", execution_id="e2", title="T2", summary="s", algorithm="pagerank"
    )
    state, _commands = advance(state, reply(f"{WF}.reporting.TPL-002", ReportResult(report=report)), 5.0)
    assert state.status == "completed"
    assert [r.title for r in state.progress().reports] == ["T2"]
    assert any("too slow" in f and "TPL-001" in f for f in state.failures)


def test_workflow_fails_when_nothing_can_be_produced():
    """A failed early phase leaves nothing to report: the workflow ends failed once the tasks it did not stop are
    back."""
    state, _ = advance(make_state(), Submitted(), 1.0)
    state, commands = advance(
        state, reply(f"{WF}.vertical", error=ErrorInfo(code="bad_vertical", message="broken")), 2.0
    )
    assert state.status == "running" and state.tasks[f"{WF}.use_cases"].status == "skipped"
    state, commands = advance(state, reply(f"{WF}.schema", RESULTS["schema"]), 3.0)
    assert state.status == "running"
    state, commands = advance(state, reply(f"{WF}.requirements", RESULTS["requirements"]), 3.0)
    assert state.status == "failed"
    event = announcement(state, commands, 3.0)
    assert (event.status, [(t.task_id, t.status) for t in event.tasks]) == (
        "failed",
        [(f"{WF}.requirements", "completed")],
    )
    assert state.failures == ["Industry vertical: broken [bad_vertical]"]


def test_duplicate_and_stale_replies_change_nothing():
    """A redelivered result is recognised and ignored."""
    state, _ = advance(make_state(), Submitted(), 1.0)
    state, _ = advance(state, reply(f"{WF}.vertical", RESULTS["vertical"]), 2.0)
    again, commands = advance(state, reply(f"{WF}.vertical", RESULTS["vertical"]), 3.0)
    assert again is state and commands == []
    stale, commands = advance(state, reply(f"{WF}.schema", RESULTS["schema"], attempt=7), 3.0)
    assert stale is state and commands == []


def test_a_result_for_a_task_not_sent_yet_is_ahead_of_the_state_not_stale():
    """Tasks are published beside the write that marks them sent: after a crash their results can come before the
    state has them sent. Those are told apart from duplicates, stale attempts and made-up task ids."""
    from gaai.orchestrator.dag import Cancelled

    started, _ = advance(make_state(), Submitted(), 1.0)
    execution = ExecutionResult(summary=summary(1))  # which task a reply answers is all that matters here
    assert awaits_dispatch(started, reply(f"{WF}.use_cases", RESULTS["use_cases"]).reply)
    assert awaits_dispatch(started, reply(f"{WF}.execution.TPL-001", execution).reply)  # the fan-out may add it
    assert not awaits_dispatch(started, reply(f"{WF}.use_cases", RESULTS["use_cases"], attempt=2).reply)
    assert not awaits_dispatch(started, reply(f"{WF}.vertical", RESULTS["vertical"]).reply)  # sent: applies now

    fanned_out, _ = run_to_templates(make_state(), 2)
    assert awaits_dispatch(fanned_out, reply(f"{WF}.reporting.TPL-001", execution).reply)
    assert not awaits_dispatch(fanned_out, reply(f"{WF}.execution.TPL-009", execution).reply)  # no such template
    assert not awaits_dispatch(fanned_out, reply(f"{WF}.templates", RESULTS["use_cases"]).reply)  # a duplicate
    cancelled, _ = advance(fanned_out, Cancelled("stop"), 4.0)
    assert not awaits_dispatch(cancelled, reply(f"{WF}.reporting.TPL-001", execution).reply)


def test_status_lists_the_questions_the_graph_cannot_answer():
    """What the use-case agent could not turn into a use case reaches the workflow's status."""
    question = UnansweredQuestion(
        algorithm="scc", requirement_ids=["REQ-1"], reason="no edge collection can close a directed cycle"
    )
    state, _ = advance(make_state(), Submitted(), 1.0)
    for step in ("vertical", "schema", "requirements"):
        state, _ = advance(state, reply(f"{WF}.{step}", RESULTS[step]), 2.0)
    assert state.progress().unanswered == []
    with_question = msgspec.structs.replace(RESULTS["use_cases"], unanswered=[question])
    state, _ = advance(state, reply(f"{WF}.use_cases", with_question), 2.0)
    assert state.progress().unanswered == [question]


def test_catalog_is_not_a_task():
    """The catalog follows the results stream: the DAG neither sends it tasks nor waits for it."""
    state, commands = advance(make_state(), Submitted(), 1.0)
    state, more = advance(state, reply(f"{WF}.vertical", RESULTS["vertical"]), 2.0)
    assert sorted(c.agent for c in [*commands, *more] if isinstance(c, Dispatch)) == [
        "requirements",
        "schema",
        "vertical",
    ]
    assert "catalog" not in {t.agent for t in state.tasks.values()}


def test_state_round_trips_through_json():
    """The state stored in KV decodes back to the same value."""
    from gaai.orchestrator.state import state_decoder, state_encoder

    state, _ = run_to_templates(make_state(), 2)
    assert state_decoder.decode(state_encoder.encode(state)) == state


@pytest.mark.parametrize("n", [1, 5, 16])
def test_every_template_gets_exactly_one_execution_and_report(n):
    """The fan-out creates one execution and one report task per template."""
    state, _ = run_to_templates(make_state(max_executions=64), n)
    agents = [t.agent for t in state.tasks.values()]
    assert agents.count("execution") == n and agents.count("reporting") == n


def test_cancel_stops_everything_and_ignores_late_answers():
    """After a cancel no task is dispatched and a late result changes nothing."""
    from gaai.orchestrator.dag import Cancelled

    state, _ = run_to_templates(make_state(), 2)
    state, commands = advance(state, Cancelled("user changed their mind"), 4.0)
    assert state.status == "cancelled"
    assert {t.status for t in state.tasks.values() if t.agent in ("execution", "reporting")} == {"cancelled"}
    event = announcement(state, commands, 4.0)
    assert (event.status, event.tasks, event.total_tasks) == ("cancelled", [], len(state.tasks))
    late, commands = advance(state, reply(f"{WF}.execution.TPL-001", ExecutionResult(summary=summary(1))), 5.0)
    assert late is state and commands == []
    assert state.failures[-1] == "cancelled: user changed their mind"


def test_retry_reopens_a_failed_workflow_and_runs_the_task_again():
    """A retried execution gets a new attempt, its skipped report waits again, the failure is cleared."""
    from gaai.orchestrator.dag import Retried

    state, _ = run_to_templates(make_state(max_executions=1), 1)
    state, _ = advance(state, reply(f"{WF}.execution.TPL-001", error=ErrorInfo(code="internal", message="boom")), 4.0)
    assert state.status == "failed" and state.failures
    state, commands = advance(state, Retried(f"{WF}.execution.TPL-001"), 5.0)
    assert state.status == "running" and state.failures == []
    [sent] = [c for c in commands if isinstance(c, Dispatch)]
    assert sent.envelope.task_id == f"{WF}.execution.TPL-001" and sent.envelope.attempt == 2
    assert state.tasks[f"{WF}.reporting.TPL-001"].status == "waiting"
    stale, _ = advance(state, reply(f"{WF}.execution.TPL-001", ExecutionResult(summary=summary(1)), attempt=1), 6.0)
    assert stale is state
    state, commands = advance(
        state, reply(f"{WF}.execution.TPL-001", ExecutionResult(summary=summary(1)), attempt=2), 6.0
    )
    assert dispatched(commands) == [f"{WF}.reporting.TPL-001"]


def test_one_announcement_per_write_carries_its_task_changes_in_order():
    """A write's followers learn the workflow's status and counts after it, and what it changed."""
    state, commands = advance(make_state(), Submitted(), 1.0)
    start = announcement(state, commands, 1.0)
    assert (start.status, start.completed_tasks, start.total_tasks) == ("running", 0, 5)
    assert [(t.task_id, t.status) for t in start.tasks] == [
        (f"{WF}.vertical", "dispatched"),
        (f"{WF}.schema", "dispatched"),
        (f"{WF}.requirements", "dispatched"),
    ]
    state, commands = advance(state, reply(f"{WF}.vertical", RESULTS["vertical"]), 2.0)
    after_vertical = announcement(state, commands, 2.0)
    assert [(t.task_id, t.status) for t in after_vertical.tasks] == [(f"{WF}.vertical", "completed")]
    assert after_vertical.tasks[0].instance == INSTANCE and after_vertical.completed_tasks == 1


def shop_schema() -> GraphSchema:
    names = ("customers", "products", "user_accounts")
    vertices = [CollectionInfo(name=name, kind="vertex", count=10) for name in names]
    return GraphSchema(
        graph_name="g",
        vertex_collections=vertices,
        edge_collections=[],
        edge_definitions=[],
        core_collections=["customers"],
        satellite_collections=[],
        total_vertices=30,
        total_edges=0,
    )


def test_templates_task_carries_the_requirements_and_the_unanswered_questions():
    """The templates agent accounts for every requirement, so it gets them and what the use cases could not answer."""
    question = UnansweredQuestion(algorithm="scc", requirement_ids=["REQ-2"], reason="no cycle possible")
    requirements = RequirementsDoc(requirements=[Requirement(id="REQ-1", text="Rank customers.")])
    state, _ = advance(make_state(), Submitted(), 1.0)
    state, _ = advance(state, reply(f"{WF}.vertical", RESULTS["vertical"]), 2.0)
    state, _ = advance(state, reply(f"{WF}.schema", RESULTS["schema"]), 2.0)
    state, _ = advance(state, reply(f"{WF}.requirements", RequirementsResult(requirements=requirements)), 2.0)
    use_cases = msgspec.structs.replace(RESULTS["use_cases"], unanswered=[question])
    state, commands = advance(state, reply(f"{WF}.use_cases", use_cases), 2.0)
    [task] = [c.envelope.task for c in commands if isinstance(c, Dispatch)]
    assert isinstance(task, TemplatesTask)
    assert (task.requirements, task.unanswered) == (requirements, [question])


def test_coverage_reaches_the_status_and_constraints_reach_every_report_task():
    """The templates' coverage is the workflow's; the documents' output constraints, their words turned into the
    graph's collection names, go with every report task, as do all the requirements a merged template serves."""
    constraints = [
        OutputConstraint(id="OC-1", kind="no_names", text="No customer names.", collections=["customer"]),
        OutputConstraint(id="OC-2", kind="no_names", text="Anonymise user accounts.", collections=["user account"]),
        OutputConstraint(id="OC-3", kind="no_names", text="No supplier names.", collections=["supplier"]),
        OutputConstraint(id="OC-4", kind="format", text="Export as CSV.", value="csv"),
    ]
    requirements = RequirementsDoc(
        requirements=[Requirement(id=f"REQ-{n}", text=f"r{n}") for n in (1, 2, 3)], output_constraints=constraints
    )
    merged = msgspec.structs.replace(template(1), requirement_ids=["REQ-1", "REQ-3"], use_case_ids=["UC-001", "UC-002"])
    coverage = [
        RequirementCoverage(requirement_id="REQ-1", text="r1", status="answered", template_ids=["TPL-001"]),
        RequirementCoverage(requirement_id="REQ-2", text="r2", status="no_slot", executions_needed=2),
    ]
    state, _ = advance(make_state(), Submitted(), 1.0)
    state, _ = advance(state, reply(f"{WF}.vertical", RESULTS["vertical"]), 2.0)
    state, _ = advance(state, reply(f"{WF}.schema", SchemaResult(schema=shop_schema())), 2.0)
    state, _ = advance(state, reply(f"{WF}.requirements", RequirementsResult(requirements=requirements)), 2.0)
    state, _ = advance(state, reply(f"{WF}.use_cases", RESULTS["use_cases"]), 2.0)
    state, _ = advance(state, reply(f"{WF}.templates", TemplatesResult(templates=[merged], coverage=coverage)), 3.0)
    assert state.progress().coverage == coverage
    state, commands = advance(state, reply(f"{WF}.execution.TPL-001", ExecutionResult(summary=summary(1))), 4.0)
    [task] = [c.envelope.task for c in commands if isinstance(c, Dispatch)]
    assert [(c.id, c.collections) for c in task.constraints] == [
        ("OC-1", ["customers"]),
        ("OC-2", ["user_accounts"]),
        ("OC-3", []),  # names no collection of this graph: applies to all of them
        ("OC-4", []),
    ]
    assert [r.id for r in task.requirements] == ["REQ-1", "REQ-3"]


def test_each_report_task_carries_the_schema_warnings_about_its_own_edge_collections():
    """Schema analysis doubts how 'e' and 'co_purchase' are read; a report over 'e' gets the warning on 'e' only."""
    on_e = "Edge collection 'e' is read as directed, but its name suggests ties that go both ways."
    on_other = "Edge collection 'co_purchase' has a numeric field 'count' on every edge that looks like a weight."
    on_prefix = "Edge collection 'e2' is read as undirected and lists its ties in both directions."
    schema = msgspec.structs.replace(RESULTS["schema"].schema, warnings=[on_other, on_e, on_prefix])
    state, _ = advance(make_state(), Submitted(), 1.0)
    state, _ = advance(state, reply(f"{WF}.vertical", RESULTS["vertical"]), 2.0)
    state, _ = advance(state, reply(f"{WF}.schema", SchemaResult(schema=schema)), 2.0)
    state, _ = advance(state, reply(f"{WF}.requirements", RESULTS["requirements"]), 2.0)
    state, _ = advance(state, reply(f"{WF}.use_cases", RESULTS["use_cases"]), 2.0)
    state, _ = advance(state, reply(f"{WF}.templates", TemplatesResult(templates=[template(1)])), 3.0)
    state, commands = advance(state, reply(f"{WF}.execution.TPL-001", ExecutionResult(summary=summary(1))), 4.0)
    [task] = [c.envelope.task for c in commands if isinstance(c, Dispatch)]
    assert task.schema_warnings == [on_e]
