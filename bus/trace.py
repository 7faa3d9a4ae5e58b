"""The trace of a workflow: its summary and its exports (JSON of every task, Markdown tables, an HTML timeline).

Computed from what the tasks recorded: every task's timing, agent instance and LLM calls travel back in its result
envelope and are kept in the workflow state, so these figures are the run's own, whatever process did the work. Tasks
of one agent may run at the same time, so an agent's task time (the sum over its tasks) can exceed the run's
wall-clock time; its busy time (the union of its tasks' intervals) cannot, and both are shown.

Computed from a ``WorkflowProgress`` alone, so it sits in ``bus`` beside that message: the app's CLI and Python
API and the web gateway (which may not import the app) all use it, and ``telemetry`` below may import no message.
"""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import msgspec

from gaai.bus.contract import WorkflowProgress
from gaai.bus.errors import GaaiError

FORMATS = ("json", "html", "markdown")


class AgentTotals(msgspec.Struct, frozen=True):
    """One agent's share of the run: its tasks' summed time (``time_ms``), the wall-clock time any ran (``busy_ms``)."""

    agent: str
    calls: int = 0
    time_ms: float = 0.0
    busy_ms: float = 0.0
    llm_calls: int = 0
    tokens: int = 0
    cost_usd: float = 0.0
    errors: int = 0


class TraceSummary(msgspec.Struct, frozen=True):
    """The run's totals: wall-clock time, steps, LLM calls, tokens and cost, messages, errors, and per agent."""

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
    agents: list[AgentTotals] = []

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


def plural(count: int, word: str, plural_form: str | None = None) -> str:
    """``1 report``, ``5 reports``, ``2 deliveries`` (pass the plural when it is not word + s)."""
    return f"{count:,} {word if count == 1 else plural_form or word + 's'}"


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
        f" Total Time: {summary.total_time_s:.2f}s (wall clock)",
        f" Steps Completed: {summary.steps_completed}",
        f" Mean Task Duration: {summary.avg_step_ms:.0f}ms (tasks run in parallel, so durations overlap)",
        "",
        "LLM Usage:",
        f" Total Calls: {summary.llm_calls}",
        f" Total Time: {summary.llm_time_s:.2f}s",
        f" Total Tokens: {summary.total_tokens:,}{tokens_note}",
        f" Estimated Cost: ${summary.cost_usd:.4f} USD"
        + (f" ({plural(summary.unpriced_calls, 'call')} of models with no price)" if summary.unpriced_calls else ""),
        "",
        "Communication:",
        f" Messages Exchanged: {summary.messages}",
        f" Errors: {summary.errors}",
        "",
        "Slowest Agents (busy = wall-clock time with a task running; task time adds up tasks run in parallel):",
    ]
    lines += [
        f" {i}. {a.agent}: {a.busy_ms:.0f}ms busy, {a.time_ms:.0f}ms task time over {plural(a.calls, 'task')}"
        for i, a in enumerate(summary.slowest[:5], 1)
    ]
    if summary.top_llm:
        lines += ["", "Top LLM Consumers:"]
        lines += [
            f" {i}. {a.agent}: {plural(a.llm_calls, 'call')}, {plural(a.tokens, 'token')}, ${a.cost_usd:.4f}"
            for i, a in enumerate(summary.top_llm[:5], 1)
        ]
    return "\n".join(lines)


def export_trace(progress: WorkflowProgress, output_dir: Path, formats: Sequence[str] = FORMATS) -> list[Path]:
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise GaaiError("bad_format", f"unknown trace format(s) {', '.join(unknown)}; formats: {', '.join(FORMATS)}")
    output_dir.mkdir(parents=True, exist_ok=True)
    written = []
    stem = output_dir / f"trace-{progress.workflow_id}"
    if "json" in formats:
        path = stem.with_suffix(".json")
        body = {"summary": summarize(progress), "workflow": progress}
        path.write_bytes(msgspec.json.format(msgspec.json.encode(body)))
        written.append(path)
    if "markdown" in formats:
        path = stem.with_suffix(".md")
        path.write_text(trace_markdown(progress))
        written.append(path)
    if "html" in formats:
        path = stem.with_suffix(".html")
        path.write_text(trace_html(progress))
        written.append(path)
    return written


def trace_markdown(progress: WorkflowProgress) -> str:
    summary = summarize(progress)
    lines = [
        f"# Trace of workflow {progress.workflow_id}",
        "",
        f"Trace id `{summary.trace_id}` · status **{summary.status}** · {summary.total_time_s:.2f} s · "
        f"{plural(summary.llm_calls, 'LLM call')} · {summary.total_tokens:,} tokens · ${summary.cost_usd:.4f}",
        "",
        "| agent | calls | time (ms) | LLM calls | tokens | cost (USD) | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {a.agent} | {a.calls} | {a.time_ms:.0f} | {a.llm_calls} | {a.tokens:,} | {a.cost_usd:.4f} | {a.errors} |"
        for a in summary.agents
    ]
    lines += ["", "| task | status | start (ms) | duration (ms) | instance |", "|---|---|---:|---:|---|"]
    for task in progress.tasks:
        start = f"{1000 * (task.started_at - progress.created_at):.0f}" if task.started_at else ""
        took = f"{1000 * (task.ended_at - task.started_at):.0f}" if task.started_at and task.ended_at else ""
        where = f"{task.instance.host}:{task.instance.pid}" if task.instance else ""
        lines.append(f"| {task.label} | {task.status} | {start} | {took} | {where} |")
    return "\n".join(lines) + "\n"


def trace_html(progress: WorkflowProgress) -> str:
    """A self-contained waterfall: one bar per task from its start to its end."""
    end = max([t.ended_at for t in progress.tasks if t.started_at and t.ended_at] + [progress.updated_at])
    span = max(end - progress.created_at, 1e-6)
    rows = []
    for task in progress.tasks:
        if task.started_at and task.ended_at:
            left = 100 * (task.started_at - progress.created_at) / span
            width = max(0.3, 100 * (task.ended_at - task.started_at) / span)
            bar = f'<div class="bar {html.escape(task.status)}" style="left:{left:.2f}%;width:{width:.2f}%"></div>'
            took = f"{1000 * (task.ended_at - task.started_at):.1f} ms"
        else:
            bar, took = "", ""
        rows.append(
            f"<tr><td>{html.escape(task.label)}</td><td>{html.escape(task.agent)}</td>"
            f"<td>{html.escape(task.status)}</td>"
            f'<td class="num">{took}</td><td class="lane">{bar}</td></tr>'
        )
    summary = summarize(progress)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Trace {html.escape(progress.workflow_id)}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2rem;color:#222}}
table{{border-collapse:collapse;width:100%}}td,th{{padding:.25rem .5rem;border-bottom:1px solid #eee;text-align:left}}
.num{{text-align:right;white-space:nowrap}}.lane{{position:relative;width:50%;min-width:300px}}
.bar{{position:absolute;top:.3rem;height:.9rem;border-radius:2px;background:#4a7bd0}}
.bar.failed{{background:#c0392b}}
</style></head><body>
<h1>Trace of workflow {html.escape(progress.workflow_id)}</h1>
<p>Trace id <code>{html.escape(summary.trace_id)}</code> · status <b>{html.escape(summary.status)}</b> ·
total {summary.total_time_s:.3f} s · {plural(summary.steps_completed, "step")} ·
{plural(summary.llm_calls, "LLM call")} · {summary.total_tokens:,} tokens · ${summary.cost_usd:.4f}</p>
<table><thead><tr><th>task</th><th>agent</th><th>status</th><th>duration</th>
<th>timeline (0 – {span:.3f} s)</th></tr></thead>
<tbody>{"".join(rows)}</tbody></table></body></html>
"""
