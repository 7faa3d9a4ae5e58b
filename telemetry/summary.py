"""The trace summary of a workflow, computed from what its tasks recorded.

Every task's timing, agent instance and LLM calls travel back in its result envelope
and are kept in the workflow state, so these figures are the run's own, whatever
process did the work. Tasks of one agent may run at the same time, so an agent's task
time (the sum over its tasks) can exceed the run's wall-clock time; its busy time (the
union of its tasks' intervals) cannot, and both are shown.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from bus.contract import WorkflowProgress


@dataclass(frozen=True)
class AgentTotals:
    agent: str
    calls: int = 0
    time_ms: float = 0.0
    busy_ms: float = 0.0
    llm_calls: int = 0
    tokens: int = 0
    cost_usd: float = 0.0
    errors: int = 0


@dataclass(frozen=True)
class TraceSummary:
    trace_id: str
    workflow_id: str
    status: str
    total_events: int
    total_time_s: float
    steps_completed: int
    avg_step_ms: float
    llm_calls: int
    llm_time_s: float
    total_tokens: int
    tokens_estimated: bool
    cost_usd: float
    unpriced_calls: int
    messages: int
    errors: int
    agents: list[AgentTotals] = field(default_factory=list)

    @property
    def slowest(self) -> list[AgentTotals]:
        return sorted(self.agents, key=lambda a: (-a.busy_ms, -a.time_ms))

    @property
    def top_llm(self) -> list[AgentTotals]:
        return sorted((a for a in self.agents if a.llm_calls), key=lambda a: (-a.tokens, a.agent))


def summarize(progress: WorkflowProgress) -> TraceSummary:
    per_agent: dict[str, dict] = defaultdict(lambda: defaultdict(float))
    intervals: dict[str, list[tuple[float, float]]] = defaultdict(list)
    steps = [t for t in progress.tasks if t.status == "completed"]
    durations = []
    llm_calls = tokens = 0
    llm_time = cost = 0.0
    estimated = False
    unpriced = 0
    for task in progress.tasks:
        totals = per_agent[task.agent]
        if task.started_at is not None and task.ended_at is not None:
            duration = (task.ended_at - task.started_at) * 1000
            totals["calls"] += 1
            totals["time_ms"] += duration
            intervals[task.agent].append((task.started_at, task.ended_at))
            if task.status == "completed":
                durations.append(duration)
        if task.status == "failed":
            totals["errors"] += 1
        for call in task.llm_calls:
            llm_calls += 1
            tokens += call.tokens_in + call.tokens_out
            llm_time += call.latency_ms / 1000
            cost += call.cost_usd
            estimated = estimated or call.tokens_estimated
            unpriced += not call.priced
            totals["llm_calls"] += 1
            totals["tokens"] += call.tokens_in + call.tokens_out
            totals["cost_usd"] += call.cost_usd
    dispatched = sum(1 for t in progress.tasks if t.dispatched_at is not None)
    answered = sum(1 for t in progress.tasks if t.ended_at is not None)
    return TraceSummary(
        trace_id=progress.trace_id,
        workflow_id=progress.workflow_id,
        status=progress.status,
        total_events=dispatched + answered,
        total_time_s=max(0.0, progress.updated_at - progress.created_at),
        steps_completed=len(steps),
        avg_step_ms=sum(durations) / len(durations) if durations else 0.0,
        llm_calls=llm_calls,
        llm_time_s=llm_time,
        total_tokens=tokens,
        tokens_estimated=estimated,
        cost_usd=cost,
        unpriced_calls=unpriced,
        messages=dispatched + answered,
        errors=sum(1 for t in progress.tasks if t.status == "failed"),
        agents=[
            AgentTotals(
                agent=agent,
                calls=int(v["calls"]),
                time_ms=v["time_ms"],
                busy_ms=_union_ms(intervals[agent]),
                llm_calls=int(v["llm_calls"]),
                tokens=int(v["tokens"]),
                cost_usd=v["cost_usd"],
                errors=int(v["errors"]),
            )
            for agent, v in sorted(per_agent.items())
        ],
    )


def _union_ms(spans: list[tuple[float, float]]) -> float:
    """How long at least one of the spans (Unix seconds) was running, in milliseconds."""
    total, end = 0.0, float("-inf")
    for start, stop in sorted(spans):
        if stop > end:
            total += stop - max(start, end)
            end = stop
    return total * 1000


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}" if count == 1 else f"{count:,} {word}s"


def format_summary(summary: TraceSummary) -> str:
    rule = "=" * 70
    tokens_note = " (estimated)" if summary.tokens_estimated else ""
    lines = [
        rule,
        " Workflow Trace Summary",
        rule,
        "",
        f"Trace ID: {summary.trace_id}",
        f"Workflow: {summary.workflow_id} ({summary.status})",
        f"Total Events: {summary.total_events}",
        "",
        "Performance:",
        f" Total Time: {summary.total_time_s:.2f}s",
        f" Steps Completed: {summary.steps_completed}",
        f" Avg Time/Step: {summary.avg_step_ms:.0f}ms",
        "",
        "LLM Usage:",
        f" Total Calls: {summary.llm_calls}",
        f" Total Time: {summary.llm_time_s:.2f}s",
        f" Total Tokens: {summary.total_tokens:,}{tokens_note}",
        f" Estimated Cost: ${summary.cost_usd:.4f} USD"
        + (f" ({_plural(summary.unpriced_calls, 'call')} of models with no price)" if summary.unpriced_calls else ""),
        "",
        "Communication:",
        f" Messages Exchanged: {summary.messages}",
        f" Errors: {summary.errors}",
        "",
        "Slowest Agents (busy = wall-clock time with a task running; task time adds up tasks run in parallel):",
    ]
    lines += [
        f" {i}. {a.agent}: {a.busy_ms:.0f}ms busy, {a.time_ms:.0f}ms task time over {_plural(a.calls, 'task')}"
        for i, a in enumerate(summary.slowest[:5], 1)
    ]
    if summary.top_llm:
        lines += ["", "Top LLM Consumers:"]
        lines += [
            f" {i}. {a.agent}: {_plural(a.llm_calls, 'call')}, {_plural(a.tokens, 'token')}, ${a.cost_usd:.4f}"
            for i, a in enumerate(summary.top_llm[:5], 1)
        ]
    return "\n".join(lines)
