"""The seed document's Python API, unchanged, on top of the distributed system."""

from __future__ import annotations

import itertools
from pathlib import Path

from graph_analytics_ai.ai.agents import AgenticWorkflowRunner, run_agentic_workflow_async


async def test_run_async_with_path_and_inline_documents(home, tmp_path, monkeypatch, capsys):
    """The seed's advanced example: documents by path and inline, reports, trace export."""
    monkeypatch.chdir(tmp_path)
    Path("requirements.md").write_text("# Goals\n\n- REQ-1: We must identify the most influential customers.\n")
    runner = AgenticWorkflowRunner(
        graph_name="ecommerce", core_collections=["customers", "products"], enable_tracing=True, enable_debug_mode=False
    )
    state = await runner.run_async(
        input_documents=[{"path": "requirements.md"}, {"content": "Find communities of customers who buy together."}],
        max_executions=3,
        enable_parallelism=True,
    )
    assert state.status == "completed"
    assert 1 <= len(state.reports) <= 3 and all(r.title for r in state.reports)
    runner.print_trace_summary()
    printed = capsys.readouterr().out
    assert "Workflow Trace Summary" in printed and "Total Calls:" in printed
    exported = runner.export_trace(tmp_path / "traces", formats=["json", "html", "markdown"])
    assert sorted(p.suffix for p in exported) == [".html", ".json", ".md"]
    folder = runner.export_reports(state, tmp_path / "reports")
    assert len(list(folder.glob("*.html"))) == len(state.reports)


def test_synchronous_run_is_sequential(home):
    """runner.run() works without an event loop and runs one task at a time."""
    state = AgenticWorkflowRunner(graph_name="ecommerce", max_executions=2).run()
    assert state.status == "completed" and len(state.reports) >= 1
    spans = sorted((t.started_at, t.ended_at) for t in state.progress.tasks if t.started_at)
    assert all(later[0] >= earlier[1] for earlier, later in itertools.pairwise(spans)), (
        "tasks overlapped in sequential mode"
    )


async def test_convenience_function(home):
    """run_agentic_workflow_async(graph_name=..., max_executions=..., enable_parallelism=...)."""
    state = await run_agentic_workflow_async(graph_name="ecommerce", max_executions=2, enable_parallelism=True)
    assert state.status == "completed"
    assert [r.title for r in state.reports]
