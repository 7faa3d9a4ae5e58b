"""Render a report as Markdown, JSON or one self-contained HTML page.

Every piece of text in a report can come from outside: vertex labels from the graph,
titles from documents or a language model, vertical wording from a custom JSON file. So
the HTML renderer escapes every string it writes (``html.escape`` with quotes), writes no
script, loads nothing from elsewhere (inline CSS and SVG only) and declares a Content
Security Policy that forbids scripts and remote loads should anything slip through. The
Markdown renderer escapes ``&``, ``<`` and ``>`` as entities, so no raw HTML reaches a
Markdown viewer, and backslash-escapes the characters that would change the formatting.
"""

from __future__ import annotations

import html
import re

import msgspec

from gaai.agents.lib.algorithms import algorithm_spec
from gaai.agents.reporting.wording import (
    dominant_value,
    format_count,
    format_ratio,
    format_share,
    format_value,
    join_phrases,
)
from gaai.bus.domain import AnalysisTemplate, Distribution, ExecutionSummary, GroupStats, RankedVertex, Report, Scalar

__all__ = ["render_html", "render_json", "render_markdown"]

_PRIORITY_COLOURS = {"critical": "#b71c1c", "high": "#e65100", "medium": "#1565c0", "low": "#546e7a"}

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0}
body{background:#f5f6f8;color:#1d232b;line-height:1.5}
main{max-width:980px;margin:0 auto;padding:24px}
header{background:#263238;color:#fff;padding:24px}
header h1{margin:0 auto;max-width:932px;font-size:1.6em}
header p{margin:6px auto 0;max-width:932px;color:#cfd8dc}
section{background:#fff;border-radius:8px;padding:16px 20px;margin:16px 0;box-shadow:0 1px 3px rgba(0,0,0,.08)}
h2{font-size:1.15em;margin:0 0 12px}
table{border-collapse:collapse;width:100%;font-size:.92em}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e3e6ea;vertical-align:top}
th{background:#fafbfc;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.bar{background:#e3e6ea;border-radius:4px;height:10px;width:120px;display:inline-block;vertical-align:middle}
.bar span{display:block;height:10px;border-radius:4px;background:#2e7d32}
.bar.value span{background:#1565c0}
.evidence{color:#546e7a;font-size:.85em}
.priority{color:#fff;border-radius:4px;padding:1px 8px;font-size:.8em;text-transform:uppercase;white-space:nowrap}
ul.recs{list-style:none;padding:0;margin:0}
ul.recs li{padding:8px 0;border-bottom:1px solid #e3e6ea}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(260px,1fr));gap:16px}
footer{color:#78909c;font-size:.8em;text-align:center;padding:16px}
"""


def render_markdown(report: Report, execution: ExecutionSummary, template: AnalysisTemplate) -> str:
    """The report as a Markdown document.

    Args:
        report: the report.
        execution: the run it describes (top list, figures, parameters, timings).
        template: the analysis that ran.

    Returns:
        Markdown text; all report text is escaped, so it renders as written.
    """
    lines = [f"# {_md(report.title)}", ""]
    if template.title and template.title != report.title:
        lines += [f"Question: {_md(template.title)}", ""]
    lines += [_md(report.summary), ""]
    if report.semantics or report.warnings:
        lines += ["## How the graph was read", ""]
        lines += [_md(report.semantics), ""] if report.semantics else []
        lines += [f"- Warning: {_md(warning)}" for warning in report.warnings]
        lines += [""] if report.warnings else []
    lines += _md_table(
        ["Algorithm", "Graph", "Vertices", "Edges", "Engine"],
        [
            [
                report.algorithm,
                execution.graph_name,
                format_count(execution.vertex_count),
                format_count(execution.edge_count),
                execution.engine,
            ]
        ],
    )
    lines += ["", "## Insights", ""]
    for insight in report.insights:
        lines += [
            f"### {_md(insight.title)} (confidence {format_share(insight.confidence)})",
            "",
            _md(insight.text),
            "",
        ]
        if insight.evidence:
            evidence = ", ".join(f"{_md(key)} = {format_value(value)}" for key, value in insight.evidence.items())
            lines += [f"Evidence: {evidence}", ""]
    if report.recommendations:
        lines += ["## Recommendations", ""]
        lines += [f"- **{rec.priority.upper()}**: {_md(rec.text)}" for rec in report.recommendations]
        lines.append("")
    for heading, listed in _top_lists(execution):
        header, rows = _top_rows(execution, listed)
        lines += [f"## {_md(heading)}", "", *_md_table(header, rows), ""]
    if execution.group_details:
        lines += [f"## {_details_heading(execution)}", "", _md(_DETAILS_CAPTION), ""]
        lines += [*_md_table(_DETAIL_HEADER, _detail_rows(execution, execution.group_details)), ""]
    if execution.small_groups:
        lines += ["## Smallest groups", ""]
        lines += [*_md_table(_DETAIL_HEADER, _detail_rows(execution, execution.small_groups)), ""]
    if execution.top_pairs:
        lines += [f"## {_md(_PAIRS_HEADING)}", "", *_md_table(_PAIR_HEADER, _pair_rows(execution)), ""]
    heading, distribution = _shown_distribution(execution, template)
    if distribution is not None:
        lines += [
            f"## {_md(heading)}",
            "",
            *_md_table(["Figure", "Value"], _distribution_rows(distribution)),
            "",
        ]
    if execution.groups is not None:
        lines += ["## Groups", "", *_md_table(["Figure", "Value"], _group_rows(execution.groups)), ""]
    if _shows_by_collection(execution):
        lines += ["## By collection", "", _md(_by_collection_caption(execution)), ""]
        lines += _md_table(
            ["Collection", "Vertices"], [[name, format_count(count)] for name, count in execution.by_collection.items()]
        )
        lines.append("")
    lines += ["## Verification", "", _md(_verification_line(report)), ""]
    lines += [f"- {_md(claim.text)} — withheld: {_md(claim.reason)}" for claim in report.claims_rejected]
    if report.claims_rejected:
        lines.append("")
    lines += ["## Parameters", ""]
    lines += [*_md_table(["Parameter", "Value"], _parameter_rows(execution, template, report)), ""]
    lines += ["## Timings", "", *_md_table(["Step", "Value"], _timing_rows(execution)), ""]
    return "\n".join(lines)


def render_json(report: Report, execution: ExecutionSummary, template: AnalysisTemplate) -> bytes:
    """The report, execution and template as one JSON object (keys ``report``, ``execution``, ``template``)."""
    return msgspec.json.encode({"report": report, "execution": execution, "template": template})


def render_html(report: Report, execution: ExecutionSummary, template: AnalysisTemplate) -> str:
    """The report as a self-contained HTML page: inline CSS and SVG, no scripts, no remote loads.

    Args:
        report: the report.
        execution: the run it describes (top list, figures, parameters, timings).
        template: the analysis that ran.

    Returns:
        A complete HTML document; every text from the inputs is escaped.
    """
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        # No script, image, font or style may come from anywhere but this page.
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(report.title)}</title>",
        f"<style>{_CSS}</style>",
        "</head><body>",
        f"<header><h1>{_e(report.title)}</h1>",
        f"<p>{_question(report, template)}{_e(report.algorithm)} on {_e(execution.graph_name)} · "
        f"{_e(format_count(execution.vertex_count))} vertices, {_e(format_count(execution.edge_count))} edges · "
        f"template {_e(template.id)}</p></header>",
        "<main>",
        f"<section><h2>Summary</h2><p>{_e(report.summary)}</p></section>",
        _html_semantics(report),
        _html_insights(report),
        _html_recommendations(report),
        _html_top(execution),
        _html_details(execution),
        _html_figures(execution, template),
        _html_verification(report),
        _html_parameters(execution, template, report),
        "</main>",
        f"<footer>Report {_e(report.report_id)} · execution {_e(report.execution_id)} · "
        f"template {_e(report.template_id)}</footer>",
        "</body></html>",
    ]
    return "\n".join(part for part in parts if part)


# ---------------------------------------------------------------- shared rows


def _question(report: Report, template: AnalysisTemplate) -> str:
    """The question the analysis was run for, as the header's first words, unless the title already says it."""
    if not template.title or template.title == report.title:
        return ""
    return f"Question: {_e(template.title)} · "


def _top_heading(execution: ExecutionSummary) -> tuple[str, str]:
    if execution.groups is not None:
        return "Largest groups", "Group"
    return "Top vertices", "Vertex"


def _top_lists(execution: ExecutionSummary) -> list[tuple[str, list[RankedVertex]]]:
    """The ranked lists to show, with their headings: one per focus collection when the run ranked each."""
    if execution.groups is None and execution.top_by_collection:
        return [(f"Top {name}", listed) for name, listed in execution.top_by_collection.items()]
    return [(_top_heading(execution)[0], execution.top)] if execution.top else []


def _shows_by_collection(execution: ExecutionSummary) -> bool:
    """The mix of the one top list; per-collection lists make it moot."""
    return bool(execution.by_collection) and (execution.groups is not None or not execution.top_by_collection)


_PAIRS_HEADING = "Pairs sharing the most"
_PAIR_HEADER = ["#", "First", "Second", "Shared", "Jaccard"]


def _pair_rows(execution: ExecutionSummary) -> list[list[str]]:
    return [
        [
            str(rank),
            pair.first_label or pair.first_id,
            pair.second_label or pair.second_id,
            format_count(pair.shared),
            format_ratio(pair.score),
        ]
        for rank, pair in enumerate(execution.top_pairs, start=1)
    ]


def _shown_distribution(execution: ExecutionSummary, template: AnalysisTemplate) -> tuple[str, Distribution | None]:
    """The distribution a report shows: an overlap algorithm scores only the vertices it compares, so
    it shows theirs (the other vertices hold 0)."""
    if algorithm_spec(execution.algorithm).kind == "overlap" and execution.focus_distribution is not None:
        return f"Distribution among {join_phrases(list(template.focus_collections))}", execution.focus_distribution
    return "Distribution", execution.distribution


def _distribution_rows(dist: Distribution) -> list[list[str]]:
    return [
        ["Vertices", format_count(dist.count)],
        ["Minimum", format_value(dist.min)],
        ["Median", format_value(dist.median)],
        ["Mean", format_value(dist.mean)],
        ["90th percentile", format_value(dist.p90)],
        ["99th percentile", format_value(dist.p99)],
        ["Maximum", format_value(dist.max)],
        ["Standard deviation", format_value(dist.std)],
        ["Share held by the top 1%", format_share(dist.top_1pct_share)],
        ["Gini coefficient", format_ratio(dist.gini)],
    ]


def _group_rows(groups: GroupStats) -> list[list[str]]:
    rows = [
        ["Groups", format_count(groups.count)],
        ["Largest", format_count(groups.largest)],
        ["Largest share", format_share(groups.largest_share)],
        ["Singletons", format_count(groups.singletons)],
        ["Largest sizes", ", ".join(format_count(size) for size in groups.top_sizes)],
    ]
    if groups.modularity is not None:
        rows.append(["Modularity", format_ratio(groups.modularity)])
    return rows


def _parameter_rows(execution: ExecutionSummary, template: AnalysisTemplate, report: Report) -> list[list[str]]:
    params: dict[str, Scalar] = {**template.params, **execution.params}
    rows = [[name, _scalar(value)] for name, value in sorted(params.items())]
    rows.append(["vertex collections", ", ".join(template.vertex_collections)])
    rows.append(["edge collections", ", ".join(template.edge_collections)])
    if template.focus_collections:
        rows.append(["top list drawn from", ", ".join(template.focus_collections)])
    rows.append(["use case", template.use_case_id])
    if template.planned_by:
        rows.append(["use case planned by", template.planned_by])
    rows += [["output constraint", applied] for applied in report.constraints_applied]
    return rows


def _top_rows(execution: ExecutionSummary, listed: list[RankedVertex]) -> tuple[list[str], list[list[str]]]:
    """A ranked list's header and rows; the label column only when labels say more than the ids."""
    _, column = _top_heading(execution)
    if execution.groups is not None:
        return ["#", column, "Named after", "Vertices"], [
            [str(i), v.id, v.label or "—", format_count(int(v.value))] for i, v in enumerate(listed, 1)
        ]
    if all(not v.label or v.label in (v.id, v.id.rpartition("/")[2]) for v in listed):
        return ["#", column, "Value"], [[str(i), v.id, format_value(v.value)] for i, v in enumerate(listed, 1)]
    rows = [[str(i), v.id, v.label, format_value(v.value)] for i, v in enumerate(listed, 1)]
    return ["#", column, "Label", "Value"], rows


_DETAIL_HEADER = [
    "Group", "Named after", "Vertices", "Share", "Density", "Most connected members (ties inside)",
    "Over-represented values", "Ties out", "Strongest bridges",
]  # fmt: skip
_DETAILS_CAPTION = (
    "Each group is named after its member with the most ties inside it; a tie is a pair of vertices joined by an edge "
    "in either direction. Density is the group's ties over the pairs it could hold."
)


def _details_heading(execution: ExecutionSummary) -> str:
    if execution.graph_density is None:
        return "Largest groups in detail"
    density = f" (whole graph: density {format_value(execution.graph_density)})"
    return f"Largest groups in detail{density}"


def _detail_rows(execution: ExecutionSummary, details: list) -> list[list[str]]:
    names = {d.group_id: d.name for d in execution.group_details}
    rows = []
    for d in details:
        members = ", ".join(f"{v.label or v.id} ({format_count(int(v.value))})" for v in d.central)
        bridges = "; ".join(
            f"{format_count(b.ties)} to {names.get(b.group_id) or b.group_id}"
            + (f" via {', '.join(v.label or v.id for v in b.carriers)}" if b.carriers else "")
            for b in d.bridges[:3]
        )
        rows.append(
            [
                d.group_id,
                d.name or "—",
                format_count(d.size),
                format_share(d.share),
                format_value(d.density),
                members,
                "; ".join(dominant_value(a) for a in d.attributes) or "—",
                format_count(d.external_ties),
                bridges or "—",
            ]
        )
    return rows


def _by_collection_caption(execution: ExecutionSummary) -> str:
    if execution.groups is not None:
        return "Members of the largest group, by vertex collection."
    return f"Where the {len(execution.top)} listed vertices come from, by vertex collection."


def _verification_line(report: Report) -> str:
    withheld = len(report.claims_rejected)
    return (
        f"{report.claims_verified} {'claim' if report.claims_verified == 1 else 'claims'} checked against the stored "
        f"per-vertex results and published; {withheld} {'statement' if withheld == 1 else 'statements'} withheld."
    )


def _timing_rows(execution: ExecutionSummary) -> list[list[str]]:
    rows = [
        ["Load", f"{format_value(execution.load_ms)} ms"],
        ["Compute", f"{format_value(execution.compute_ms)} ms"],
        ["Write", f"{format_value(execution.write_ms)} ms"],
        ["Engine", execution.engine],
    ]
    if execution.iterations is not None:
        rows.append(["Iterations", format_count(execution.iterations)])
    return rows


def _scalar(value: Scalar) -> str:
    if isinstance(value, float):
        return format_value(value)
    return str(value)


# ---------------------------------------------------------------- markdown


_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#~])")


def _md(text: object) -> str:
    """Text safe for Markdown: formatting characters backslash-escaped, HTML as entities, one line."""
    escaped = _MD_SPECIAL.sub(r"\\\1", str(text))
    return html.escape(escaped, quote=False).replace("\r", " ").replace("\n", " ")


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(_md(cell) for cell in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_md(cell) for cell in row) + " |" for row in rows]
    return lines


# ---------------------------------------------------------------- html


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _bar(fraction: float, kind: str = "") -> str:
    width = max(0.0, min(1.0, fraction)) * 100
    return f'<span class="bar {kind}"><span style="width:{width:.1f}%"></span></span>'


def _html_table(header: list[str], rows: list[list[str]], numeric: set[int] | None = None) -> str:
    """A table of already-escaped cells (callers escape, so bars can be embedded)."""
    numeric = numeric or set()
    head = "".join(f"<th>{cell}</th>" for cell in header)
    body = "".join(
        "<tr>"
        + "".join(f'<td class="num">{cell}</td>' if i in numeric else f"<td>{cell}</td>" for i, cell in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html_insights(report: Report) -> str:
    rows = []
    for insight in report.insights:
        evidence = ", ".join(f"{_e(key)} = {_e(format_value(value))}" for key, value in insight.evidence.items())
        text = f"<strong>{_e(insight.title)}</strong><br>{_e(insight.text)}"
        if evidence:
            text += f'<div class="evidence">Evidence: {evidence}</div>'
        confidence = f"{_bar(insight.confidence)} {_e(format_share(insight.confidence))}"
        rows.append([text, confidence])
    return f"<section><h2>Insights</h2>{_html_table(['Finding', 'Confidence'], rows)}</section>"


def _html_recommendations(report: Report) -> str:
    if not report.recommendations:
        return ""
    items = "".join(
        f'<li><span class="priority" style="background:{_PRIORITY_COLOURS.get(rec.priority, "#546e7a")}">'
        f"{_e(rec.priority)}</span> {_e(rec.text)}</li>"
        for rec in report.recommendations
    )
    return f'<section><h2>Recommendations</h2><ul class="recs">{items}</ul></section>'


def _html_semantics(report: Report) -> str:
    if not report.semantics and not report.warnings:
        return ""
    warnings = "".join(f"<li>Warning: {_e(warning)}</li>" for warning in report.warnings)
    listing = f"<ul>{warnings}</ul>" if warnings else ""
    semantics = f"<p>{_e(report.semantics)}</p>" if report.semantics else ""
    return f"<section><h2>How the graph was read</h2>{semantics}{listing}</section>"


def _html_top(execution: ExecutionSummary) -> str:
    sections = []
    for heading, listed in _top_lists(execution):
        header, rows = _top_rows(execution, listed)
        peak = max((v.value for v in listed), default=0.0)
        cells = [
            [_e(cell) for cell in row] + [_bar(vertex.value / peak if peak > 0 else 0.0, "value")]
            for row, vertex in zip(rows, listed, strict=True)
        ]
        table = _html_table([_e(cell) for cell in header] + [""], cells, numeric={0, len(header) - 1})
        sections.append(f"<section><h2>{_e(heading)}</h2>{table}</section>")
    return "".join(sections)


def _html_details(execution: ExecutionSummary) -> str:
    blocks = []
    if execution.group_details:
        rows = [[_e(cell) for cell in row] for row in _detail_rows(execution, execution.group_details)]
        blocks.append(
            f"<section><h2>{_e(_details_heading(execution))}</h2><p>{_e(_DETAILS_CAPTION)}</p>"
            f"{_html_table([_e(h) for h in _DETAIL_HEADER], rows, numeric={2, 3, 4, 7})}</section>"
        )
    if execution.small_groups:
        rows = [[_e(cell) for cell in row] for row in _detail_rows(execution, execution.small_groups)]
        table = _html_table([_e(h) for h in _DETAIL_HEADER], rows, numeric={2, 3, 4, 7})
        blocks.append(f"<section><h2>Smallest groups</h2>{table}</section>")
    return "".join(blocks)


def _html_verification(report: Report) -> str:
    items = "".join(f"<li>{_e(c.text)} — withheld: {_e(c.reason)}</li>" for c in report.claims_rejected)
    listing = f"<ul>{items}</ul>" if items else ""
    return f"<section><h2>Verification</h2><p>{_e(_verification_line(report))}</p>{listing}</section>"


def _html_figures(execution: ExecutionSummary, template: AnalysisTemplate) -> str:
    blocks = []
    if execution.top_pairs:
        rows = [[_e(cell) for cell in row] for row in _pair_rows(execution)]
        blocks.append(f"<div><h2>{_e(_PAIRS_HEADING)}</h2>{_html_table(_PAIR_HEADER, rows, numeric={0, 3, 4})}</div>")
    heading, distribution = _shown_distribution(execution, template)
    if distribution is not None:
        rows = [[_e(name), _e(value)] for name, value in _distribution_rows(distribution)]
        blocks.append(f"<div><h2>{_e(heading)}</h2>{_html_table(['Figure', 'Value'], rows, numeric={1})}</div>")
    if execution.groups is not None:
        rows = [[_e(name), _e(value)] for name, value in _group_rows(execution.groups)]
        blocks.append(
            f"<div><h2>Groups</h2>{_html_table(['Figure', 'Value'], rows, numeric={1})}"
            f"{_size_chart(execution.groups)}</div>"
        )
    if _shows_by_collection(execution):
        rows = [[_e(name), _e(format_count(count))] for name, count in execution.by_collection.items()]
        caption = f"<p>{_e(_by_collection_caption(execution))}</p>"
        table = _html_table(["Collection", "Vertices"], rows, numeric={1})
        blocks.append(f"<div><h2>By collection</h2>{caption}{table}</div>")
    if not blocks:
        return ""
    return f'<section class="grid">{"".join(blocks)}</section>'


def _size_chart(groups: GroupStats) -> str:
    """Horizontal bars of the largest group sizes, as inline SVG."""
    sizes = groups.top_sizes
    if not sizes:
        return ""
    peak = max(sizes)
    row, width = 18, 300
    bars = []
    for i, size in enumerate(sizes):
        length = width * size / peak if peak else 0
        y = i * row
        bars.append(
            f'<rect x="0" y="{y + 3}" width="{length:.1f}" height="{row - 6}" fill="#1565c0"></rect>'
            f'<text x="{min(length + 4, width + 4):.1f}" y="{y + row - 5}" font-size="11" fill="#1d232b">'
            f"{_e(format_count(size))}</text>"
        )
    height = row * len(sizes)
    return (
        f'<svg width="{width + 60}" height="{height}" role="img" aria-label="Largest group sizes">{"".join(bars)}</svg>'
    )


def _html_parameters(execution: ExecutionSummary, template: AnalysisTemplate, report: Report) -> str:
    params = [[_e(name), _e(value)] for name, value in _parameter_rows(execution, template, report)]
    timings = [[_e(name), _e(value)] for name, value in _timing_rows(execution)]
    rationale = f"<p>{_e(template.rationale)}</p>" if template.rationale else ""
    return (
        '<section class="grid">'
        f"<div><h2>Parameters</h2>{rationale}{_html_table(['Parameter', 'Value'], params)}</div>"
        f"<div><h2>Timings</h2>{_html_table(['Step', 'Value'], timings, numeric={1})}</div>"
        "</section>"
    )
