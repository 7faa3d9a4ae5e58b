"""Run one workflow end to end from Python: the code behind ``gaai run``/``demo`` and the seed API.

With ``nats_url`` it talks to a running system; without, it brings up the embedded stack
(nats-server, orchestrator, agents as separate processes), runs, and tears it down.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import msgspec

from gaai.agents.lib.llm_config import llm_from_env
from gaai.bus.contract import TASK_AGENTS, DocumentInput, Event, SubmitRequest, WorkflowProgress
from gaai.bus.domain import EdgeSemantics
from gaai.bus.errors import RequestError
from gaai.bus.settings import Settings
from gaai.orchestrator.intake import sandboxed_path
from gaai.store import EmbeddedStore
from graph_analytics_ai.client import ReportFiles, connected_client
from graph_analytics_ai.stack import LocalStack

DocumentSpec = dict | str | Path
SemanticsSpec = EdgeSemantics | dict
_SEMANTICS_KEYS = frozenset({"collection", "directed", "weight_field"})


@dataclass
class RunResult:
    workflow_id: str
    progress: WorkflowProgress
    reports: list[ReportFiles]


def resolve_document(spec: DocumentSpec, index: int, documents_root: Path) -> tuple[Path | None, DocumentInput | None]:
    """A document as given by a user: ``{"path": ...}``, ``{"content": ...}``, a Path or a str of text.

    Paths follow ``orchestrator.intake.sandboxed_path`` under ``documents_root`` (by default the
    current folder): relative, without ``..``, so a workflow cannot be pointed at files outside the
    place the user chose.
    """
    if isinstance(spec, Path):
        spec = {"path": str(spec)}
    if isinstance(spec, str):
        spec = {"content": spec}
    if not isinstance(spec, dict):
        raise RequestError(
            "bad_request", f"document {index + 1}: expected a dict with 'path' or 'content', got {type(spec).__name__}"
        )
    name = spec.get("name")
    if "content" in spec and "path" not in spec:
        content = spec["content"]
        if not isinstance(content, str) or not content.strip():
            raise RequestError("empty_document", f"document {index + 1}: 'content' must be non-empty text")
        return None, DocumentInput(content=content, name=name)
    if "path" not in spec:
        raise RequestError("bad_request", f"document {index + 1}: needs 'path' or 'content'")
    try:
        resolved = sandboxed_path(documents_root, str(spec["path"]), f"document {index + 1}")
    except RequestError as exc:
        if exc.code != "path_not_allowed":
            raise
        raise RequestError(exc.code, f"{exc.message} (documents_root, or --docs-root, allows another folder)") from None
    return resolved, DocumentInput(path=str(resolved), name=name or resolved.name)


def edge_semantics_of(specs: Sequence[SemanticsSpec]) -> list[EdgeSemantics]:
    """Per-workflow edge semantics as given by a user: ``EdgeSemantics`` or dicts with its three keys.

    Raises:
        RequestError: Code ``bad_request`` for an entry that is neither, naming it and the problem.
    """
    semantics = []
    for index, spec in enumerate(specs):
        if isinstance(spec, EdgeSemantics):
            semantics.append(spec)
            continue
        if not isinstance(spec, dict) or not set(spec) <= _SEMANTICS_KEYS:
            unknown = sorted(set(spec) - _SEMANTICS_KEYS) if isinstance(spec, dict) else type(spec).__name__
            raise RequestError(
                "bad_request",
                f"edge_semantics[{index}]: expected an EdgeSemantics or a dict of "
                f"{', '.join(sorted(_SEMANTICS_KEYS))}, got {unknown}",
            )
        try:
            semantics.append(msgspec.convert(spec, EdgeSemantics))
        except msgspec.ValidationError as exc:
            raise RequestError("bad_request", f"edge_semantics[{index}]: {exc}") from None
    return semantics


async def run_workflow(
    *,
    graph_name: str,
    documents: Sequence[DocumentSpec] = (),
    home: Path,
    nats_url: str | None = None,
    documents_root: Path | None = None,
    on_event: Callable[[Event], None] | None = None,
    on_start: Callable[[str], None] | None = None,
    announce: Callable[[str], None] | None = None,
    timeout: float | None = None,
    agent_env: dict[str, str] | None = None,
    **request_fields: object,
) -> RunResult:
    """Submit one workflow and wait for its reports; ``agent_env`` adds variables to the agents it starts."""
    store = EmbeddedStore(home)
    store.graph(graph_name)  # a clear error before anything starts
    if "edge_semantics" in request_fields:
        semantics = edge_semantics_of(request_fields["edge_semantics"])  # type: ignore[arg-type]
        store.check_semantics(graph_name, semantics)
        request_fields["edge_semantics"] = [msgspec.to_builtins(entry) for entry in semantics]
    resolved = [resolve_document(spec, i, documents_root or Path.cwd()) for i, spec in enumerate(documents)]
    stack = None
    if not nats_url:
        # Agents given a bad LLM setting would exit and be restarted forever: refuse it here.
        llm_from_env({**os.environ, **(agent_env or {})})
        stack = LocalStack(
            home=home,
            announce=announce,
            process_env={agent: dict(agent_env) for agent in TASK_AGENTS} if agent_env else {},
        )
        nats_url = stack.start()
    try:
        async with connected_client(Settings.from_env(nats_url=nats_url, home=home)) as client:
            inputs = []
            for path, document in resolved:
                inputs.append(await client.upload_document(path, document.name) if path else document)
            request = msgspec.convert(
                dict(request_fields, graph_name=graph_name, documents=[msgspec.to_builtins(d) for d in inputs]),
                SubmitRequest,
            )
            workflow_id = await client.submit(request)
            if on_start:
                on_start(workflow_id)
            progress = await client.wait(workflow_id, on_event=on_event, timeout=timeout)
            reports = await client.fetch_reports(progress)
            if not await client.wait_for_catalog() and announce:
                announce(
                    "the catalog has not recorded every step yet; 'gaai catalog lineage' may be incomplete for a moment"
                )
    finally:
        if stack:
            stack.stop()
    save_state(home, progress)
    return RunResult(workflow_id=workflow_id, progress=progress, reports=reports)


def save_state(home: Path, progress: WorkflowProgress) -> Path:
    """Keep the final state under ``$GAAI_HOME/workflows`` for later ``gaai`` commands."""
    folder = home / "workflows"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{progress.workflow_id}.json"
    path.write_bytes(msgspec.json.format(msgspec.json.encode(progress)))
    return path


def load_state(home: Path, workflow_id: str) -> WorkflowProgress:
    path = home / "workflows" / f"{Path(workflow_id).name}.json"
    if not path.is_file():
        raise RequestError("unknown_workflow", f"no saved workflow {workflow_id!r} under {home / 'workflows'}")
    return msgspec.json.decode(path.read_bytes(), type=WorkflowProgress)


def write_outputs(result: RunResult, output_dir: Path) -> Path:
    """Reports (Markdown, JSON, HTML), the workflow state as JSON and ``index.md`` into ``output_dir/<workflow_id>``."""
    folder = output_dir / result.workflow_id
    folder.mkdir(parents=True, exist_ok=True)
    for report in result.reports:
        for extension, data in report.files.items():
            (folder / f"{report.template_id}.{extension}").write_bytes(data)
    (folder / "workflow.json").write_bytes(msgspec.json.format(msgspec.json.encode(result.progress)))
    (folder / "index.md").write_text(report_index(result), encoding="utf-8")
    return folder


def report_index(result: RunResult) -> str:
    """The output folder's ``index.md``: each report with its files, then what became of each requirement."""
    progress = result.progress
    lines = [f"# Workflow {progress.workflow_id} on graph {progress.graph_name!r}: {progress.status}", ""]
    lines += ["## Reports", ""]
    for report in result.reports:
        files = ", ".join(f"[{extension}]({report.template_id}.{extension})" for extension in report.files)
        lines.append(f"- {report.template_id}: {report.title} ({files})")
    if not result.reports:
        lines.append("No report was produced.")
    lines += ["", "## Requirements", ""]
    if progress.coverage:
        lines += ["| requirement | status | templates | reason |", "|---|---|---|---|"]
        for item in progress.coverage:
            cells = [item.requirement_id, item.status, ", ".join(item.template_ids), item.reason]
            lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    else:
        lines.append("No requirement was accounted for: the workflow did not reach template selection.")
    return "\n".join(lines) + "\n"
