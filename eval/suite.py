"""The evaluation suite behind ``gaai eval``: run the real workflow on every case and score it.

All cases share one embedded stack (nats-server, orchestrator, agents with the offline model,
or the HTTP model ``llm_provider`` names, configured by ``GAAI_LLM_*``) over a temporary
``GAAI_HOME``: each case's graph is imported there with its declared semantics, its document is
submitted through the Python API, and the stored per-vertex results of every execution are
scored against networkx and the planted truth.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from gaai.agents.lib.llm_config import llm_from_env
from gaai.bus.contract import TASK_AGENTS
from gaai.bus.errors import GaaiError
from gaai.bus.trace import plural
from gaai.eval.cases import CASES, Case, build_case, write_files
from gaai.eval.scoring import NMI_GOAL, OVERLAP_GOAL, TOP_K, CaseResult, Metric, score_case
from gaai.store import EmbeddedStore
from graph_analytics_ai.ai.agents import AgenticWorkflowRunner
from graph_analytics_ai.stack import LocalStack

__all__ = ["CaseResult", "Metric", "format_table", "run_cli", "run_suite"]

CASE_TIMEOUT_S = 300.0
# A model on a CPU writes tens of tokens a second; a case asks it a few thousand.
MODEL_CASE_TIMEOUT_S = 1800.0


def run_cli(case_names: list[str] | None, json_path: Path | None, llm_provider: str = "offline") -> int:
    """Run the suite, print its table, write its JSON; 0 when every goal is met, else 1."""
    names = _check_names(case_names)
    if json_path is not None and json_path.is_dir():
        raise GaaiError("bad_argument", f"--json {json_path} is a folder; give the path of a file to write")
    model = _model_of(llm_provider)
    started = time.time()
    results = asyncio.run(run_suite(names, say=_say, llm_provider=llm_provider))
    document = {**_document(results, started), "llm": {"provider": llm_provider, "model": model}}
    print(f"Model: {llm_provider}" + (f" ({model})" if model else ""))
    print(format_table(results))
    print()
    totals = document["totals"]
    print(
        f"{plural(len(results), 'case')} in {document['elapsed_s']:.0f} s: "
        f"{plural(totals['false_claims'], 'false claim')} published, "
        f"{plural(totals['silently_dropped'], 'requirement')} silently dropped, "
        f"{plural(totals['goals_missed'], 'goal')} missed."
    )
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(document, indent=2) + "\n")
        print(f"Results: {json_path}")
    return 0 if document["goals_met"] else 1


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _check_names(case_names: list[str] | None) -> list[str]:
    if not case_names:
        return list(CASES)
    unknown = [name for name in case_names if name not in CASES]
    if unknown:
        raise GaaiError("unknown_case", f"unknown case(s) {', '.join(unknown)}; cases: {', '.join(CASES)}")
    return list(dict.fromkeys(case_names))


def _model_of(llm_provider: str) -> str | None:
    """The model ``llm_provider`` asks as ``GAAI_LLM_*`` configure it (``None`` offline); refuses bad settings."""
    provider, _ = llm_from_env({**os.environ, "GAAI_LLM_PROVIDER": llm_provider})
    return None if llm_provider == "offline" else provider.model


async def run_suite(
    names: list[str], say: Callable[[str], None] = lambda text: None, llm_provider: str = "offline"
) -> list[CaseResult]:
    """Import, run and score the named cases on one embedded stack in a temporary home; the agents ask
    ``llm_provider`` (``offline``, or an HTTP provider configured by the ``GAAI_LLM_*`` environment)."""
    cases = [build_case(name) for name in names]
    with tempfile.TemporaryDirectory(prefix="gaai-eval-") as folder:
        home = Path(folder) / "home"
        store = EmbeddedStore(home)
        for case in cases:
            paths = write_files(case, Path(folder) / "cases" / case.name)
            store.import_graph(case.name, paths, replace=True, semantics=list(case.semantics))
        stack = LocalStack(home=home, process_env={agent: {"GAAI_LLM_PROVIDER": llm_provider} for agent in TASK_AGENTS})
        url = stack.start()
        try:
            results = []
            for case in cases:
                say(f"eval: {case.name} ...")
                result = await _run_case(case, store, url, llm_provider)
                say(f"eval: {case.name} {result.status} in {result.elapsed_s:.1f} s")
                results.append(result)
            return results
        finally:
            stack.stop()


async def _run_case(case: Case, store: EmbeddedStore, nats_url: str, llm_provider: str) -> CaseResult:
    result = CaseResult(case.name, case.title, case.tests)
    runner = AgenticWorkflowRunner(graph_name=case.name, nats_url=nats_url, home=store.home, llm_provider=llm_provider)
    timeout_s = CASE_TIMEOUT_S if llm_provider == "offline" else MODEL_CASE_TIMEOUT_S
    started = time.monotonic()
    try:
        state = await asyncio.wait_for(
            runner.run_async(
                input_documents=[{"content": case.document, "name": f"{case.name}.md"}],
                max_executions=case.max_executions,
            ),
            timeout_s,
        )
    except TimeoutError:
        result.status = "timeout"
        result.add(Metric("workflow", "timeout", f"no answer in {timeout_s:.0f} s", "completed", False))
        return result
    except GaaiError as exc:
        result.status = "error"
        result.add(Metric("workflow", "error", "error", "completed", False, f"{exc.message} [{exc.code}]"))
        return result
    result.elapsed_s = time.monotonic() - started
    result.workflow_id, result.status = state.workflow_id, state.status
    result.add(
        Metric(
            "workflow", state.status, state.status, "completed", state.status == "completed", "; ".join(state.errors)
        )
    )
    score_case(case, state, store, result)
    if llm_provider != "offline":
        _add_model_use(state.progress.tasks, result)
    return result


def _add_model_use(tasks: list, result: CaseResult) -> None:
    """How much the model was asked, and how often the rules took over or the prompt was cut (the calls' notes)."""
    calls = [call for task in tasks for call in task.llm_calls]
    tokens_in, tokens_out = sum(c.tokens_in for c in calls), sum(c.tokens_out for c in calls)
    seconds = sum(c.latency_ms for c in calls) / 1000
    shown = f"{len(calls)} calls, {tokens_in:,} + {tokens_out:,} tokens, {seconds:.0f} s"
    result.add(Metric("model calls (tokens in + out, time)", len(calls), shown))
    noted = [c for c in calls if c.notes]
    notes = sorted({f"{c.purpose}: {note}" for c in noted for note in c.notes})
    result.add(
        Metric(
            "model answers with a note (rules took over, prompt cut)",
            len(noted),
            str(len(noted)),
            detail="; ".join(notes),
        )
    )


def format_table(results: list[CaseResult]) -> str:
    """The results as a plain-text table: case, metric, value, goal, met."""
    rows = [["case", "metric", "value", "goal", "met"]]
    for result in results:
        for metric in result.metrics:
            met = {True: "yes", False: "NO", None: "—"}[metric.met]
            rows.append([result.name, metric.metric, metric.shown, metric.goal or "—", met])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _document(results: list[CaseResult], started: float) -> dict:
    missed = [m for r in results for m in r.metrics if m.met is False]
    return {
        "suite": "gaai eval",
        "started_at": started,
        "elapsed_s": round(time.time() - started, 1),
        "commit": _commit(),
        "goals": {
            "false_claims": "0 published",
            "coverage": "100% of must/should requirements answered or explained",
            "top_k_overlap": f">= {OVERLAP_GOAL:.0%} of the top {TOP_K} shared with networkx on the declared semantics",
            "nmi": f">= {NMI_GOAL} against planted blocks",
        },
        "goals_met": not missed,
        "totals": {
            "cases": len(results),
            "goals_missed": len(missed),
            "false_claims": sum(len(r.false_claims) for r in results),
            "silently_dropped": sum(len(r.silently_dropped) for r in results),
            **{key: sum(_value(r, key) for r in results) for key in _TOTALLED},
        },
        "cases": [asdict(result) for result in results],
    }


_TOTALLED = {
    "statements_checked": "statements checked by the suite",
    "claims_verified": "claims verified by the reports",
    "claims_rejected": "claims rejected by the reports",
    "constraint_violations": "constraint violations",
}


def _value(result: CaseResult, key: str) -> int:
    name = _TOTALLED[key]
    return sum(int(m.value) for m in result.metrics if m.metric == name and isinstance(m.value, int))


def _commit() -> str | None:
    """The checked-out commit of this source tree, with ``+dirty`` for uncommitted changes."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10
        )
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if head.returncode != 0:
        return None
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
