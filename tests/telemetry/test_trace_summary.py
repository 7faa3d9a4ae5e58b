"""The trace summary: parallel task times are not passed off as wall-clock time, and counts read as English."""

from __future__ import annotations

import msgspec
import pytest

from gaai.bus.contract import Instance, LlmCall, TaskState, WorkflowProgress
from gaai.bus.errors import GaaiError
from gaai.bus.trace import export_trace, format_summary, summarize, trace_html, trace_markdown

INSTANCE = Instance(agent="execution", host="h", pid=1, instance_id="i")


def task(task_id: str, agent: str, start: float, end: float, calls: int = 0) -> TaskState:
    call = LlmCall(
        purpose=agent, provider="offline", model="m", tokens_in=1, tokens_out=0, latency_ms=1.0, cost_usd=0.0
    )
    return TaskState(
        task_id=task_id, agent=agent, label=task_id, status="completed", dispatched_at=start, started_at=start,
        ended_at=end, instance=INSTANCE, llm_calls=[call] * calls,
    )  # fmt: skip


def progress() -> WorkflowProgress:
    """Three executions of 2 s each, two of them at the same time, and one report with one LLM call."""
    tasks = [
        task("x1", "execution", 100.0, 102.0),
        task("x2", "execution", 100.5, 102.5),
        task("x3", "execution", 103.0, 105.0),
        task("r1", "reporting", 105.0, 105.5, calls=1),
    ]
    return WorkflowProgress(
        workflow_id="wf", status="completed", graph_name="g", created_at=100.0, updated_at=105.5, tasks=tasks
    )


def test_busy_time_is_the_union_of_task_intervals():
    """6 s of execution task time ran in 4.5 s of wall-clock time (100-102.5 and 103-105)."""
    execution = next(a for a in summarize(progress()).agents if a.agent == "execution")
    assert execution.time_ms == 6000.0
    assert execution.busy_ms == 4500.0
    assert execution.calls == 3


def test_the_text_says_which_time_is_which_and_counts_in_english():
    text = format_summary(summarize(progress()))
    assert " 1. execution: 4500ms busy, 6000ms task time over 3 tasks" in text
    assert " 2. reporting: 500ms busy, 500ms task time over 1 task" in text
    assert "task time adds up tasks run in parallel" in text
    assert " 1. reporting: 1 call, 1 token, $0.0000" in text
    assert "1 calls" not in text


def test_total_time_is_wall_clock_and_the_per_task_figure_says_it_is_a_mean_of_overlapping_tasks():
    """5.5 s from start to end; the four tasks last 2, 2, 2 and 0.5 s: a mean of 1,625 ms, not 5.5 s / 4."""
    text = format_summary(summarize(progress()))
    assert " Total Time: 5.50s (wall clock)" in text
    assert " Mean Task Duration: 1625ms (tasks run in parallel, so durations overlap)" in text
    assert "Avg Time/Step" not in text


def test_trace_exports_count_llm_calls_in_english():
    """One LLM call is "1 LLM call" in the Markdown and HTML exports, four steps are "4 steps"."""
    markdown, page = trace_markdown(progress()), trace_html(progress())
    assert "1 LLM call ·" in markdown and "1 LLM calls" not in markdown
    assert "4 steps" in page and "1 LLM call ·" in page and "1 LLM calls" not in page


def test_the_json_export_holds_the_summary_and_the_workflow_as_recorded(tmp_path):
    written = export_trace(progress(), tmp_path, ["json"])
    assert written == [tmp_path / "trace-wf.json"]
    exported = msgspec.json.decode(written[0].read_bytes())
    assert exported["summary"]["steps_completed"] == 4
    assert exported["summary"]["agents"][0] == {
        "agent": "execution",
        "calls": 3,
        "time_ms": 6000.0,
        "busy_ms": 4500.0,
        "llm_calls": 0,
        "tokens": 0,
        "cost_usd": 0.0,
        "errors": 0,
    }
    assert msgspec.convert(exported["workflow"], WorkflowProgress) == progress()
    with pytest.raises(GaaiError) as caught:
        export_trace(progress(), tmp_path, ["pdf"])
    assert caught.value.code == "bad_format" and "formats: json, html, markdown" in caught.value.message
