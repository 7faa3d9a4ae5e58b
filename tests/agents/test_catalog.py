"""The catalog's recorder: what a result stream entry becomes in the SQLite catalog."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys

import msgspec
import pytest

from gaai.agents.catalog import Catalog, Recorder
from gaai.bus.contract import (
    ErrorInfo,
    ExecutionResult,
    Instance,
    ReportResult,
    RequirementsResult,
    ResultEnvelope,
    TemplatesResult,
    UseCasesResult,
    WorkflowProgress,
)
from gaai.bus.domain import (
    AnalysisTemplate,
    ExecutionSummary,
    Objective,
    Report,
    RequirementCoverage,
    RequirementsDoc,
    UseCase,
)
from gaai.bus.errors import BusError, RequestError

INSTANCE = Instance(agent="x", host="h", pid=1, instance_id="i")


class StatusBook:
    """Answers status requests for known workflows, as the orchestrator would, and counts them."""

    def __init__(self, **created_at: float) -> None:
        self.created_at = created_at
        self.asked: list[str] = []

    async def __call__(self, workflow_id: str) -> WorkflowProgress:
        self.asked.append(workflow_id)
        if workflow_id not in self.created_at:
            raise RequestError("unknown_workflow", f"no workflow with id {workflow_id!r}")
        return WorkflowProgress(
            workflow_id=workflow_id,
            status="running",
            graph_name="shop",
            created_at=self.created_at[workflow_id],
            updated_at=0.0,
            tasks=[],
        )


def envelope(workflow_id: str, task_id: str, result=None, error=None) -> ResultEnvelope:
    return ResultEnvelope(
        workflow_id=workflow_id,
        task_id=task_id,
        instance=INSTANCE,
        started_at=1.0,
        ended_at=2.0,
        result=result,
        error=error,
    )


TEMPLATES = TemplatesResult(
    templates=[
        AnalysisTemplate(
            id="T1",
            use_case_id="UC-1",
            title="Influence",
            algorithm="pagerank",
            vertex_collections=["v"],
            edge_collections=["e"],
        )
    ]
)
EXECUTION = ExecutionResult(
    summary=ExecutionSummary(
        execution_id="E1",
        template_id="T1",
        algorithm="pagerank",
        graph_name="shop",
        vertex_count=3,
        edge_count=2,
        result_ref="r",
        result_field="rank",
    )
)
REPORT = ReportResult(
    report=Report(
        report_id="R1", template_id="T1", execution_id="E1", title="Influencers", summary="s", algorithm="pagerank"
    )
)


async def test_results_become_entities_linked_down_to_the_report(tmp_path):
    status = StatusBook(wf1=1234.5)
    recorder = Recorder(Catalog(tmp_path / "catalog.sqlite"), status)
    for task_id, result in (
        ("wf1.templates", TEMPLATES),
        ("wf1.execution.T1", EXECUTION),
        ("wf1.reporting.T1", REPORT),
    ):
        await recorder(envelope("wf1", task_id, result))
    catalog = Catalog(tmp_path / "catalog.sqlite")
    assert catalog.counts("wf1") == {"template": 1, "execution": 1, "report": 1}
    assert [
        [node for node, _ in chain] for chain in catalog.lineage("wf1")
    ] == []  # no requirement recorded: no chain starts
    with catalog._connect() as db:
        assert db.execute("SELECT epoch, graph_name FROM epochs WHERE workflow_id = 'wf1'").fetchall() == [
            (1234.5, "shop")
        ]
        links = db.execute("SELECT parent, child FROM lineage WHERE workflow_id = 'wf1' ORDER BY child").fetchall()
    assert links == [("template:T1", "execution:E1"), ("execution:E1", "report:R1"), ("use_case:UC-1", "template:T1")]
    assert status.asked == ["wf1"], "a workflow's origin is asked once"


async def test_redelivered_failed_and_unknown_results_record_nothing_more(tmp_path):
    status = StatusBook(wf1=1.0)
    recorder = Recorder(Catalog(tmp_path / "catalog.sqlite"), status)
    await recorder(envelope("wf1", "wf1.execution.T1", EXECUTION))
    await recorder(envelope("wf1", "wf1.execution.T1", EXECUTION))
    await recorder(envelope("wf1", "wf1.execution.T2", error=ErrorInfo(code="timeout", message="slow")))
    await recorder(envelope("ghost", "ghost.execution.T1", EXECUTION))
    catalog = Catalog(tmp_path / "catalog.sqlite")
    assert catalog.counts("wf1") == {"execution": 1}
    assert not catalog.has_workflow("ghost")


async def test_results_handled_together_ask_for_their_workflow_once(tmp_path):
    class SlowStatusBook(StatusBook):
        async def __call__(self, workflow_id: str) -> WorkflowProgress:
            await asyncio.sleep(0.05)  # the orchestrator's answer is still on its way
            return await super().__call__(workflow_id)

    status = SlowStatusBook(wf1=1.0)
    recorder = Recorder(Catalog(tmp_path / "catalog.sqlite"), status)
    await asyncio.gather(*(recorder(envelope("wf1", f"wf1.execution.T{i}", EXECUTION)) for i in range(5)))
    assert status.asked == ["wf1"]
    with Catalog(tmp_path / "catalog.sqlite")._connect() as db:
        assert db.execute("SELECT epoch, graph_name FROM epochs WHERE workflow_id = 'wf1'").fetchall() == [
            (1.0, "shop")
        ]


async def test_a_status_question_that_failed_is_asked_again(tmp_path):
    class FlakyStatusBook(StatusBook):
        async def __call__(self, workflow_id: str) -> WorkflowProgress:
            if not self.asked:
                self.asked.append(workflow_id)
                raise BusError("timeout", "no answer from the orchestrator")
            return await super().__call__(workflow_id)

    status = FlakyStatusBook(wf1=1.0)
    recorder = Recorder(Catalog(tmp_path / "catalog.sqlite"), status)
    with pytest.raises(BusError):
        await recorder(envelope("wf1", "wf1.execution.T1", EXECUTION))
    await recorder(envelope("wf1", "wf1.execution.T1", EXECUTION))
    assert status.asked == ["wf1", "wf1"]
    assert Catalog(tmp_path / "catalog.sqlite").counts("wf1") == {"execution": 1}


async def test_results_handled_together_are_written_in_one_transaction(tmp_path):
    catalog = Catalog(tmp_path / "catalog.sqlite")
    recorder = Recorder(catalog, StatusBook(wf1=1.0))
    await recorder(envelope("wf1", "wf1.templates", TEMPLATES))  # the origin is known from here on
    commits = []
    catalog._writer.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)
    executions = [
        ExecutionResult(summary=msgspec.structs.replace(EXECUTION.summary, execution_id=f"E{i}", template_id="T1"))
        for i in range(6)
    ]
    await asyncio.gather(
        *(recorder(envelope("wf1", f"wf1.execution.{i}", result)) for i, result in enumerate(executions))
    )
    assert len(commits) == 1
    assert Catalog(tmp_path / "catalog.sqlite").counts("wf1") == {"template": 1, "execution": 6}


async def test_a_write_that_fails_fails_every_result_it_held(tmp_path):
    catalog = Catalog(tmp_path / "catalog.sqlite")
    recorder = Recorder(catalog, StatusBook(wf1=1.0))
    await recorder(envelope("wf1", "wf1.templates", TEMPLATES))
    catalog._writer.execute("DROP TABLE lineage")  # the next write cannot complete
    outcomes = await asyncio.gather(
        *(recorder(envelope("wf1", f"wf1.execution.T{i}", EXECUTION)) for i in range(3)), return_exceptions=True
    )
    assert all(isinstance(outcome, sqlite3.OperationalError) for outcome in outcomes), outcomes
    assert Catalog(tmp_path / "catalog.sqlite").counts("wf1") == {"template": 1}, (
        "the failed transaction left nothing behind"
    )


def gaai(*args: str, home) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key != "NATS_URL"} | {"GAAI_HOME": str(home)}
    command = [sys.executable, "-m", "graph_analytics_ai.cli", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


OBJECTIVES_ONLY = [
    RequirementsResult(
        requirements=RequirementsDoc(
            objectives=[Objective(id="OBJ-1", text="Find the hubs."), Objective(id="OBJ-2", text="Grow sales.")]
        )
    ),
    UseCasesResult(
        use_cases=[
            UseCase(id="UC-1", title="Hubs", description="", algorithm="pagerank", reason="", requirement_ids=["OBJ-1"])
        ]
    ),
    TemplatesResult(
        templates=[msgspec.structs.replace(TEMPLATES.templates[0], requirement_ids=["OBJ-1"], use_case_ids=["UC-1"])],
        coverage=[
            RequirementCoverage(
                requirement_id="OBJ-1",
                text="Find the hubs.",
                status="answered",
                template_ids=["T1"],
                reason="answered by T1 (PageRank)",
            ),
            RequirementCoverage(
                requirement_id="OBJ-2",
                text="Grow sales.",
                status="not_analytic",
                reason="no graph algorithm answers it",
            ),
        ],
    ),
    EXECUTION,
    REPORT,
]


async def test_lineage_of_a_workflow_whose_goals_are_objectives(tmp_path):
    """Goals parsed as objectives start chains down to the report; the coverage lists the one nothing answers."""
    recorder = Recorder(Catalog(tmp_path / "catalog.sqlite"), StatusBook(wf1=1.0))
    for result in OBJECTIVES_ONLY:
        await recorder(envelope("wf1", f"wf1.{result.__struct_config__.tag}", result))

    catalog = Catalog(tmp_path / "catalog.sqlite")
    assert [[node for node, _ in chain] for chain in catalog.lineage("wf1")] == [
        ["objective:OBJ-1", "use_case:UC-1", "template:T1", "execution:E1", "report:R1"],
        ["objective:OBJ-2"],
    ]
    assert catalog.coverage("wf1") == OBJECTIVES_ONLY[2].coverage

    shown = gaai("catalog", "lineage", "wf1", home=tmp_path)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].startswith("objective:OBJ-1 (Find the hubs.) -> use_case:UC-1 (Hubs) -> template:T1")
    assert lines[0].endswith("report:R1 (Influencers)")
    assert lines[-2:] == [
        "  OBJ-1  answered        answered by T1 (PageRank)",
        "  OBJ-2  not_analytic    no graph algorithm answers it",
    ]


async def test_lineage_says_why_it_is_empty_and_fails_for_an_unknown_workflow(tmp_path):
    recorder = Recorder(Catalog(tmp_path / "catalog.sqlite"), StatusBook(wf1=1.0))
    await recorder(envelope("wf1", "wf1.requirements", RequirementsResult(requirements=RequirementsDoc())))

    empty = gaai("catalog", "lineage", "wf1", home=tmp_path)
    assert empty.returncode == 0
    assert empty.stdout.startswith("No lineage for workflow wf1: the catalog holds no requirement or objective of it")
    unknown = gaai("catalog", "lineage", "wf-none", home=tmp_path)
    assert (unknown.returncode, unknown.stdout) == (2, "")
    assert unknown.stderr == "gaai: the catalog has no workflow 'wf-none' [unknown_workflow]\n"


async def test_a_full_batch_is_written_without_waiting_for_the_window(tmp_path, monkeypatch):
    from gaai.agents.catalog import handler

    monkeypatch.setattr(handler, "COMMIT_WINDOW_S", 30.0)  # only a full batch can be written in this test's time
    catalog = Catalog(tmp_path / "catalog.sqlite")
    recorder = Recorder(catalog, StatusBook(wf1=1.0), batch_limit=3)
    executions = [
        ExecutionResult(summary=msgspec.structs.replace(EXECUTION.summary, execution_id=f"E{i}", template_id="T1"))
        for i in range(3)
    ]
    await asyncio.wait_for(
        asyncio.gather(*(recorder(envelope("wf1", f"wf1.execution.{i}", r)) for i, r in enumerate(executions))), 5
    )
    assert Catalog(tmp_path / "catalog.sqlite").counts("wf1") == {"execution": 3}
