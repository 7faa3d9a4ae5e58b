"""Trace exports of a finished workflow: JSON (every task), Markdown tables, an HTML timeline."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import msgspec

from bus.contract import WorkflowProgress
from bus.errors import GaaiError
from telemetry.summary import summarize

FORMATS = ("json", "html", "markdown")


def export_trace(progress: WorkflowProgress, output_dir: Path, formats: Sequence[str] = FORMATS) -> list[Path]:
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise GaaiError("bad_format", f"unknown trace format(s) {', '.join(unknown)}; formats: {', '.join(FORMATS)}")
    output_dir.mkdir(parents=True, exist_ok=True)
    written = []
    stem = output_dir / f"trace-{progress.workflow_id}"
    if "json" in formats:
        path = stem.with_suffix(".json")
        body = {"summary": asdict(summarize(progress)), "workflow": progress}
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
        f"{summary.llm_calls} LLM calls · {summary.total_tokens:,} tokens · ${summary.cost_usd:.4f}",
        "",
        "| agent | calls | time (ms) | LLM calls | tokens | cost (USD) | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {a.agent} | {a.calls} | {a.time_ms:.0f} | {a.llm_calls} | {a.tokens:,} | {a.cost_usd:.4f} | {a.errors} |" for a in summary.agents
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
    timed = [t for t in progress.tasks if t.started_at and t.ended_at]
    end = max([t.ended_at for t in timed] + [progress.updated_at])
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
            f"<tr><td>{html.escape(task.label)}</td><td>{html.escape(task.agent)}</td><td>{html.escape(task.status)}</td>"
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
total {summary.total_time_s:.3f} s · {summary.steps_completed} steps · {summary.llm_calls} LLM calls ·
{summary.total_tokens:,} tokens · ${summary.cost_usd:.4f}</p>
<table><thead><tr><th>task</th><th>agent</th><th>status</th><th>duration</th><th>timeline (0 – {span:.3f} s)</th></tr></thead>
<tbody>{''.join(rows)}</tbody></table></body></html>
"""
