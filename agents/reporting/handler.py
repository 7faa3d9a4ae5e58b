"""The reporting agent's task handler: draft, verify against the stored results, reword, render, store.

Besides the handler: what an HTTP model is asked (``report_prompt``), what the verifier
reads from the store (``load_stored``) and the CSV export (``csv_export``).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from gaai.agents.lib.constraints import wants_csv
from gaai.agents.lib.context import AgentContext
from gaai.agents.lib.llm import offline_responder
from gaai.agents.reporting.build import Draft, draft_report, publish
from gaai.agents.reporting.claims import Evidence, PairOverlap
from gaai.agents.reporting.overlaps import rederive_overlaps
from gaai.agents.reporting.privacy import Namer, find_names, mask_names, pseudonym, visible_text
from gaai.agents.reporting.render import render_html, render_json, render_markdown
from gaai.agents.reporting.supported import keep_supported
from gaai.bus.contract import ReportResult, ReportTask
from gaai.bus.domain import AnalysisTemplate, ArtifactRef, ExecutionSummary, RankedVertex, Report
from gaai.bus.errors import TaskError
from gaai.store import GraphStore, StoreError
from gaai.telemetry.tracing import span


def report_prompt(task: ReportTask, verified: Report, shown: ExecutionSummary) -> str:
    """What an HTTP model is asked: to word the verified report better, stating nothing beyond it."""
    pattern = task.vertical.patterns.get(task.template.algorithm)
    meaning = f" In {task.vertical.display_name} terms: {pattern.meaning}" if pattern else ""
    return (
        f"{task.vertical.analysis_prompt}\nAnalysis: {task.template.title} ({task.template.algorithm}).{meaning}\n"
        f"Verified report: {msgspec.json.encode(verified).decode()}\n"
        f"Figures: {msgspec.json.encode(shown).decode()}\n"
        "Rewrite the verified report as JSON with the same fields, for an analyst in this industry. Every number, "
        "rank, share and vertex name must be one the verified report states, with the same scope (e.g. 'among "
        "customers'); a sentence stating anything else is removed."
    )


@offline_responder("reporting")
def _offline_report(verified: Report) -> Report:
    return verified


@dataclass(frozen=True)
class Stored:
    """What the verifier reads from the store: the results table and labels."""

    table: pa.Table
    labels: dict[str, str]
    hidden_labels: list[str]
    all_labels: pa.Array | None
    overlaps: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)


def load_stored(
    store: GraphStore,
    execution: ExecutionSummary,
    ids: list[str],
    hidden: list[str],
    every_label: bool,
    template: AnalysisTemplate | None = None,
    pairs: list[tuple[str, str]] | None = None,
) -> Stored:
    """The stored results, the labels of ``ids``, every label of the ``hidden`` collections, all labels on request,
    and the overlap of each of ``pairs``, recounted from the ``template``'s edges.

    Labels and overlaps come from the graph the results were computed on; when it has been
    replaced since, none is returned and claims that name vertices cannot be confirmed.
    """
    try:
        table = store.read_vertex_results(execution.result_ref)
    except StoreError as exc:
        raise TaskError(exc.code, f"cannot check the report's claims: {exc.message}") from None
    column = table.column("collection").combine_chunks()
    if isinstance(column, pa.DictionaryArray):
        collections = column.dictionary.to_pylist()
    else:
        collections = list(dict.fromkeys(column.to_pylist()))
    arrays = store.load_arrays(execution.graph_name, collections, [])
    version = (table.schema.metadata or {}).get(b"gaai.graph_version", b"").decode()
    if version and version != arrays.version:
        return Stored(table, {}, [], None)
    positions = pc.index_in(pa.array(ids, pa.string()), value_set=table.column("_id")).to_pylist()
    found = [(vertex_id, p) for vertex_id, p in zip(ids, positions, strict=True) if p is not None]
    looked_up = arrays.labels(np.array([p for _, p in found], dtype=np.int64)) if found else []
    labels = {vertex_id: label for (vertex_id, _), label in zip(found, looked_up, strict=True)}
    hidden_labels: list[str] = []
    for position, name in enumerate(arrays.collections):
        if name in hidden:
            hidden_labels += arrays.collection_column(position, "labels").to_pylist()
    all_labels = (
        pa.concat_arrays([arrays.collection_column(i, "labels") for i in range(len(arrays.collections))])
        if every_label
        else None
    )
    overlaps = {}
    if pairs and template is not None:
        with_edges = store.load_arrays(
            execution.graph_name, collections, template.edge_collections, execution.edge_semantics
        )
        overlaps = rederive_overlaps(
            with_edges, execution.algorithm, dict(execution.params), template.focus_collections, pairs
        )
    return Stored(table, labels, hidden_labels, all_labels, overlaps)


def _named_ids(draft: Draft) -> list[str]:
    """Every vertex id a claim of the draft names."""
    ids = {
        vertex_id
        for s in draft.sentences()
        for claim in s.claims
        for name in ("vertex_id", "first_id", "second_id")
        if (vertex_id := getattr(claim, name, None))
    }
    return sorted(ids)


def _named_pairs(draft: Draft) -> list[tuple[str, str]]:
    """Every vertex pair a claim of the draft says something about."""
    return [(c.first_id, c.second_id) for s in draft.sentences() for c in s.claims if isinstance(c, PairOverlap)]


def _names_seen(execution: ExecutionSummary, namer: Namer) -> set[str]:
    """Every vertex name the summary carries, as stored and as shown."""
    vertices = [*execution.top, *execution.top_hubs]
    for listed in execution.top_by_collection.values():
        vertices += listed
    for detail in [*execution.group_details, *execution.small_groups]:
        vertices += detail.central
        for bridge in detail.bridges:
            vertices += bridge.carriers
    for pair in execution.top_pairs:
        vertices += [
            RankedVertex(pair.first_id, 0.0, pair.first_label),
            RankedVertex(pair.second_id, 0.0, pair.second_label),
        ]
    names = {v.label for v in vertices if v.label}
    vertex_ids = [v for v in vertices if "/" in v.id and not v.id.startswith(("community/", "component/"))]
    names |= {namer.name(v.id, v.label) for v in vertex_ids}
    return names


def csv_export(stored: Stored, field: str, namer: Namer) -> bytes:
    """Every analysed vertex as ``id,name,collection,value``; hidden vertices as their pseudonym in id and name.

    Raises:
        TaskError: ``constraint_violated`` should a hidden vertex's stored label reach the file.
    """
    ids = stored.table.column("_id").to_pylist()
    collections = stored.table.column("collection").cast(pa.string()).to_pylist()
    labels = stored.all_labels.to_pylist() if stored.all_labels is not None else ids
    shown_ids = [pseudonym(i) if namer.hides(i) else i for i in ids]
    names = [pseudonym(i) if namer.hides(i) else (label or i) for i, label in zip(ids, labels, strict=True)]
    table = pa.table({"id": shown_ids, "name": names, "collection": collections, "value": stored.table.column(field)})
    hidden_labels = pa.array(stored.hidden_labels, pa.string())
    if len(hidden_labels) and pc.any(pc.is_in(table.column("name"), value_set=hidden_labels)).as_py():
        leaked = [n for n, i in zip(names, ids, strict=True) if namer.hides(i) and n in set(stored.hidden_labels)]
        if leaked:
            raise TaskError("constraint_violated", f"the CSV export would name hidden vertices, e.g. {leaked[0]!r}")
    out = io.BytesIO()
    pacsv.write_csv(table, out)
    return out.getvalue()


async def handle(task: ReportTask, ctx: AgentContext) -> ReportResult:
    namer = Namer.of(task.constraints, task.template.vertex_collections)
    draft = draft_report(
        task.template,
        task.use_case,
        task.execution,
        task.vertical,
        task.requirements,
        task.constraints,
        task.schema_warnings,
    )
    with span("load stored results"):
        stored = await ctx.run_cpu(
            load_stored,
            ctx.store,
            task.execution,
            _named_ids(draft),
            sorted(namer.hidden),
            wants_csv(task.constraints),
            task.template,
            _named_pairs(draft),
        )
    evidence = Evidence.from_table(
        task.execution, stored.table, lambda vertex_id: _shown_name(stored.labels, namer, vertex_id), stored.overlaps
    )
    with span("verify claims"):
        verified = publish(draft, evidence)
    shown = namer.redact(draft.execution)
    prompt = report_prompt(task, verified, shown)
    answer = (
        await ctx.llm.ask_or_rules(
            "reporting", prompt, Report, context=verified, done_by_rules="report written from the verified draft"
        )
    ).value
    hidden = set(stored.hidden_labels)
    report = _masked_rejections(keep_supported(answer, verified, _names_seen(task.execution, namer)), hidden)
    with span("render report", **{"gaai.report.insights": len(report.insights)}):
        renderings = {
            "md": render_markdown(report, shown, task.template).encode(),
            "json": render_json(report, shown, task.template),
            "html": render_html(report, shown, task.template).encode(),
        }
        if wants_csv(task.constraints):
            renderings["csv"] = csv_export(stored, _value_field(stored.table, task.execution), namer)
    # The CSV is checked column-wise as it is written; the documents are read as a person would.
    read = [visible_text(ext, data) for ext, data in renderings.items() if ext != "csv"]
    leaks = sorted({name for text in read for name in find_names(text, hidden)})
    if leaks:
        named = f"report {report.report_id} would name {len(leaks)} hidden vertices, e.g. {leaks[0]!r}"
        raise TaskError("constraint_violated", named)
    artifacts = []
    with span("store report files", **{"gaai.report.bytes": sum(len(d) for d in renderings.values())}):
        for extension, data in renderings.items():
            object_name = await ctx.put_artifact(f"{task.template.id}.{extension}", data)
            artifacts.append(ArtifactRef(format=extension, object_name=object_name, size=len(data)))
    return ReportResult(report=msgspec.structs.replace(report, artifacts=artifacts))


def _masked_rejections(report: Report, hidden: set[str]) -> Report:
    """A withheld sentence is listed without the hidden names it would have printed."""
    if not hidden or not report.claims_rejected:
        return report
    masked = [
        msgspec.structs.replace(c, text=mask_names(c.text, hidden), reason=mask_names(c.reason, hidden))
        for c in report.claims_rejected
    ]
    return msgspec.structs.replace(report, claims_rejected=masked)


def _shown_name(labels: dict[str, str], namer: Namer, vertex_id: str) -> str | None:
    label = labels.get(vertex_id)
    return None if label is None else namer.name(vertex_id, label)


def _value_field(table: pa.Table, execution: ExecutionSummary) -> str:
    return execution.result_field if execution.result_field in table.column_names else table.column_names[-1]
