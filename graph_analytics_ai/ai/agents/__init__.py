"""The seed document's Python API, served by the distributed system.

    runner = AgenticWorkflowRunner(graph_name="ecommerce")
    state = await runner.run_async(input_documents=[{"path": "requirements.md"}])
    runner.print_trace_summary()

With no ``NATS_URL`` (or ``nats_url=``) the runner brings up the embedded stack —
nats-server, the orchestrator and every agent as separate processes — for the run and
tears it down afterwards. ``run()`` is the synchronous form (sequential by default, as
in the seed); in Jupyter ``await runner.run_async()`` works as is.

``llm_provider`` (``offline``, ``openai`` or ``anthropic``; when not given,
``GAAI_LLM_PROVIDER``, else ``offline``, as for ``gaai run``) is the provider of the agents
the runner starts, configured by the ``GAAI_LLM_*`` variables; agents already running
behind a ``NATS_URL`` keep the provider they were started with.

``edge_semantics`` (``EdgeSemantics`` or dicts ``{"collection", "directed", "weight_field"}``)
says, for this run only, how the named edge collections are read; the others are read as
declared at import.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from gaai.agents.lib.llm import LLM_PROVIDERS
from gaai.bus.contract import WorkflowProgress
from gaai.bus.errors import GaaiError
from gaai.bus.trace import TraceSummary, export_trace, format_summary, summarize
from gaai.store import default_home
from graph_analytics_ai.client import ReportFiles
from graph_analytics_ai.progress import ProgressPrinter
from graph_analytics_ai.session import (
    DocumentSpec,
    RunResult,
    SemanticsSpec,
    edge_semantics_of,
    run_workflow,
    write_outputs,
)

__all__ = ["AgenticWorkflowRunner", "Report", "WorkflowState", "run_agentic_workflow_async"]


@dataclass
class Report:
    """One generated report: its title, summary, insights and the rendered files."""

    template_id: str
    title: str
    summary: str
    insights: list[dict]
    recommendations: list[dict]
    files: dict[str, bytes]


@dataclass
class WorkflowState:
    """What a finished run hands back: its status, reports and per-task progress."""

    workflow_id: str
    status: str
    reports: list[Report]
    progress: WorkflowProgress
    errors: list[str] = field(default_factory=list)


class AgenticWorkflowRunner:
    def __init__(
        self,
        graph_name: str = "ecommerce",
        core_collections: Sequence[str] | None = None,
        satellite_collections: Sequence[str] | None = None,
        enable_tracing: bool = True,
        enable_debug_mode: bool = False,
        max_executions: int = 5,
        llm_provider: str | None = None,
        industry: str = "auto",
        nats_url: str | None = None,
        home: str | Path | None = None,
        documents_root: str | Path | None = None,
        edge_semantics: Sequence[SemanticsSpec] | None = None,
    ) -> None:
        llm_provider = llm_provider or os.environ.get("GAAI_LLM_PROVIDER") or "offline"
        if llm_provider not in LLM_PROVIDERS:
            raise GaaiError(
                "unknown_llm_provider", f"unknown LLM provider {llm_provider!r}; available: {', '.join(LLM_PROVIDERS)}"
            )
        self.graph_name = graph_name
        self.core_collections = list(core_collections or [])
        self.satellite_collections = list(satellite_collections or [])
        self.enable_tracing = enable_tracing
        self.enable_debug_mode = enable_debug_mode
        self.max_executions = max_executions
        self.llm_provider = llm_provider
        self.industry = industry
        self.nats_url = nats_url or os.environ.get("NATS_URL") or None
        self.home = Path(home) if home else default_home()
        self.documents_root = Path(documents_root) if documents_root else None
        self.edge_semantics = edge_semantics_of(edge_semantics or [])
        self.last_result: RunResult | None = None

    async def run_async(
        self,
        input_documents: Sequence[DocumentSpec] | None = None,
        max_executions: int | None = None,
        enable_parallelism: bool = True,
    ) -> WorkflowState:
        if self.graph_name == "ecommerce":
            from gaai.store import EmbeddedStore
            from gaai.store.sample import ensure_sample_graph

            ensure_sample_graph(EmbeddedStore(self.home), "ecommerce")
        on_event = ProgressPrinter() if self.enable_debug_mode else None
        result = await run_workflow(
            graph_name=self.graph_name,
            documents=list(input_documents or []),
            home=self.home,
            nats_url=self.nats_url,
            documents_root=self.documents_root,
            on_event=on_event,
            max_executions=max_executions or self.max_executions,
            enable_parallelism=enable_parallelism,
            core_collections=self.core_collections,
            satellite_collections=self.satellite_collections,
            industry=self.industry,
            edge_semantics=self.edge_semantics,
            agent_env={"GAAI_LLM_PROVIDER": self.llm_provider},
        )
        self.last_result = result
        return _state_of(result)

    def run(
        self,
        input_documents: Sequence[DocumentSpec] | None = None,
        max_executions: int | None = None,
        enable_parallelism: bool = False,
    ) -> WorkflowState:
        """Synchronous form; also callable from inside a running event loop (e.g. Jupyter)."""
        coroutine = self.run_async(input_documents, max_executions, enable_parallelism)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(coroutine)
        box: dict[str, object] = {}

        def in_thread() -> None:
            try:
                box["state"] = asyncio.run(coroutine)
            except BaseException as exc:  # re-raised in the caller's thread
                box["error"] = exc

        thread = threading.Thread(target=in_thread)
        thread.start()
        thread.join()
        if "error" in box:
            raise box["error"]  # type: ignore[misc]
        return box["state"]  # type: ignore[return-value]

    def trace_summary(self) -> TraceSummary:
        if self.last_result is None:
            raise GaaiError("no_run", "no workflow has run yet; call run_async() or run() first")
        return summarize(self.last_result.progress)

    def print_trace_summary(self) -> None:
        print(format_summary(self.trace_summary()))

    def export_trace(self, output_dir: str | Path, formats: Sequence[str] = ("json", "html", "markdown")) -> list[Path]:
        if self.last_result is None:
            raise GaaiError("no_run", "no workflow has run yet; call run_async() or run() first")
        return export_trace(self.last_result.progress, Path(output_dir), formats)

    def export_reports(self, state: WorkflowState, output_dir: str | Path) -> Path:
        """Write every report (Markdown, JSON, HTML) and the workflow state into ``output_dir/<workflow_id>``."""
        result = RunResult(
            workflow_id=state.workflow_id,
            progress=state.progress,
            reports=[_files_of(r) for r in state.reports],
        )
        return write_outputs(result, Path(output_dir))


async def run_agentic_workflow_async(
    graph_name: str = "ecommerce",
    max_executions: int = 5,
    enable_parallelism: bool = True,
    input_documents: Sequence[DocumentSpec] | None = None,
    **runner_options: object,
) -> WorkflowState:
    runner = AgenticWorkflowRunner(graph_name=graph_name, max_executions=max_executions, **runner_options)
    return await runner.run_async(input_documents=input_documents, enable_parallelism=enable_parallelism)


def _state_of(result: RunResult) -> WorkflowState:
    reports = []
    for files in result.reports:
        body = msgspec.json.decode(files.files["json"]) if "json" in files.files else {}
        report = body.get("report", {})
        reports.append(
            Report(
                template_id=files.template_id,
                title=files.title,
                summary=report.get("summary", ""),
                insights=report.get("insights", []),
                recommendations=report.get("recommendations", []),
                files=files.files,
            )
        )
    return WorkflowState(
        workflow_id=result.workflow_id,
        status=result.progress.status,
        reports=reports,
        progress=result.progress,
        errors=list(result.progress.failures),
    )


def _files_of(report: Report) -> ReportFiles:
    return ReportFiles(template_id=report.template_id, title=report.title, files=report.files)
