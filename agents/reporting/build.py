"""Build a report from an execution's numbers, worded with the vertical's patterns, every claim checked.

``draft_report`` is pure: from the ``ExecutionSummary`` it writes the title, summary,
insights and recommendations as ``Sentence``s, each carrying the claims it makes (rank
within a scope, value, share of the top 1 %, group sizes, figures re-read from the summary).
``publish`` checks every claim against the ``Evidence`` (the stored per-vertex results) and
keeps only the sentences whose claims hold (an insight whole or not at all, since its title
reads its figures); the rest are listed in ``claims_rejected``. ``build_report`` does both.

Scopes are explicit: a centrality report ranks each focus collection (the collections the
use cases ask about, else every analysed one) in its own list, so ranks read "first among
customers" and a recommendation names vertices from the list it speaks of; whole-graph
figures say "across all analysed vertices". Titles say what the report shows (the ranked
collections, the groups found), never what a use case hoped for. Vertices are named through
a ``Namer``, so a ``no_names`` constraint holds in every sentence.

Numbers are written with one set of formats (``format_count``, ``format_share``,
``format_value``, ``format_ratio``, ``format_times`` in ``wording``), shared with the renderers.

The wording is drafted by ``headline`` (title, summary, semantics), ``centrality`` and
``group_insights`` (the insights), and ``recommendations``, from the ``facts``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import msgspec

from gaai.agents.lib.algorithms import algorithm_spec
from gaai.agents.reporting.centrality import draft_centrality_insights
from gaai.agents.reporting.claims import Evidence, GroupCount, Recorded, Sentence, Statistic, VertexCount, verify
from gaai.agents.reporting.facts import DraftInsight, DraftRecommendation, Facts, draft_insight, linked_requirements
from gaai.agents.reporting.group_insights import draft_group_insights
from gaai.agents.reporting.headline import (
    constraints_applied_lines,
    semantics_sentence,
    summary_sentences,
    title_sentence,
)
from gaai.agents.reporting.overlaps import draft_overlap_insights
from gaai.agents.reporting.privacy import Namer
from gaai.agents.reporting.recommendations import base_priority, draft_recommendations
from gaai.agents.reporting.wording import format_value, plural
from gaai.bus.domain import (
    AlgorithmPattern,
    AnalysisTemplate,
    ExecutionSummary,
    Insight,
    OutputConstraint,
    Recommendation,
    RejectedClaim,
    Report,
    Requirement,
    UseCase,
    VerticalProfile,
)

# A requirement asking for these wants the small and isolated groups listed.
_ISOLATION_WORDS = re.compile(r"isolat|disconnect|island|orphan|fragment|small (group|component|cluster)s?", re.I)


@dataclass(frozen=True)
class Draft:
    """A report before verification: every statement a ``Sentence`` with its claims.

    ``execution`` is the execution as the report may show it: lists capped by ``max_items``,
    the small groups kept only when a linked requirement asks for isolated groups.
    """

    report_id: str
    template_id: str
    execution_id: str
    algorithm: str
    title: Sentence
    fallback_title: str
    summary: list[Sentence]
    insights: list[DraftInsight]
    recommendations: list[DraftRecommendation]
    semantics: str
    constraints_applied: list[str]
    execution: ExecutionSummary
    warnings: tuple[str, ...] = ()

    def sentences(self) -> list[Sentence]:
        out = [self.title, *self.summary]
        for insight in self.insights:
            out += [insight.title, *insight.body]
        for recommendation in self.recommendations:
            out += recommendation.sentences
        return out


def build_report(
    template: AnalysisTemplate,
    use_case: UseCase | None,
    execution: ExecutionSummary,
    vertical: VerticalProfile,
    requirements: list[Requirement],
    evidence: Evidence,
    constraints: list[OutputConstraint] | None = None,
    warnings: list[str] | None = None,
) -> Report:
    """The report of one execution, with only the claims the stored results confirm.

    Args:
        template: the analysis that ran.
        use_case: the use case it serves, if known.
        execution: what the run found.
        vertical: the industry vertical whose patterns word the findings.
        requirements: requirements; those linked by the use case set the priorities
            (all of them when the use case links none), and one asking for isolated groups
            gets the small groups listed.
        evidence: the stored per-vertex results every claim is checked against.
        constraints: output constraints to obey (``no_names``, ``max_items``, ...).
        warnings: the schema analysis' doubts about how the analysed edge collections were read.
    """
    draft = draft_report(template, use_case, execution, vertical, requirements, constraints or [], warnings or [])
    return publish(draft, evidence)


def draft_report(
    template: AnalysisTemplate,
    use_case: UseCase | None,
    execution: ExecutionSummary,
    vertical: VerticalProfile,
    requirements: list[Requirement],
    constraints: list[OutputConstraint],
    warnings: list[str] | None = None,
) -> Draft:
    """Every statement of the report with its claims, not yet checked; see ``build_report``."""
    spec = algorithm_spec(execution.algorithm)
    catalog_pattern = AlgorithmPattern(title=spec.title, meaning=spec.summary, recommendation="")
    pattern = vertical.patterns.get(spec.name) or catalog_pattern
    facts = Facts.of(spec, template, execution, Namer.of(constraints, template.vertex_collections), constraints)
    linked = linked_requirements(use_case, template, requirements)
    priority = base_priority(use_case, linked)
    asks_isolated = not spec.scores and any(_ISOLATION_WORDS.search(r.text) for r in linked)
    if facts.edges == 0:
        insights = [_no_structure(facts)]
    elif spec.kind == "overlap":
        insights = draft_overlap_insights(facts, pattern)
    elif spec.scores:
        insights = draft_centrality_insights(facts, pattern)
    else:
        insights = draft_group_insights(facts, pattern, asks_isolated)
    if not insights:
        insights = [_no_figures(facts)]
    title, fallback = title_sentence(facts)
    return Draft(
        report_id=f"report-{template.id}",
        template_id=template.id,
        execution_id=execution.execution_id,
        algorithm=spec.name,
        title=title,
        fallback_title=fallback,
        summary=summary_sentences(facts),
        insights=insights,
        recommendations=draft_recommendations(facts, pattern, priority),
        semantics=semantics_sentence(spec.name, template.edge_collections, execution),
        constraints_applied=constraints_applied_lines(constraints, facts.namer),
        execution=facts.execution if asks_isolated else msgspec.structs.replace(facts.execution, small_groups=[]),
        warnings=tuple(warnings or ()),
    )


def publish(draft: Draft, evidence: Evidence) -> Report:
    """The report made of the draft's sentences whose claims all hold; the others are withheld and listed."""
    sentences = draft.sentences()
    verdict = verify(sentences, evidence)
    held = {id(sentences[i]) for i in verdict.held}
    rejected = list(verdict.rejected)
    verified = verdict.verified

    def kept(items: list[Sentence]) -> list[Sentence]:
        return [s for s in items if id(s) in held]

    def text(items: list[Sentence]) -> str:
        return " ".join(_capitalised(s.text) for s in kept(items))

    insights = []
    for insight in draft.insights:
        statements = [insight.title, *insight.body]
        if any(id(s) not in held for s in statements) or not insight.body:
            # An insight stands or falls whole: its title and reading rest on all of its figures.
            verified -= sum(len(s.claims) for s in statements if id(s) in held)
            rejected += [_withheld(s, "withheld with its insight") for s in statements if id(s) in held and s.claims]
            continue
        insights.append(
            Insight(
                title=_capitalised(insight.title.text),
                text=text(insight.body),
                confidence=insight.confidence,
                evidence=insight.evidence,
            )
        )
    recommendations = [
        Recommendation(text=text(r.sentences), priority=r.priority) for r in draft.recommendations if kept(r.sentences)
    ]
    return Report(
        report_id=draft.report_id,
        template_id=draft.template_id,
        execution_id=draft.execution_id,
        title=draft.title.text if id(draft.title) in held else draft.fallback_title,
        summary=text(draft.summary),
        algorithm=draft.algorithm,
        insights=insights,
        recommendations=recommendations,
        semantics=draft.semantics,
        claims_verified=verified,
        claims_rejected=rejected,
        constraints_applied=draft.constraints_applied,
        warnings=list(draft.warnings),
    )


def _capitalised(text: str) -> str:
    """A sentence starts with a capital, also when it opens with a pseudonym ("customer #3f9a1c")."""
    return text[:1].upper() + text[1:]


def _withheld(sentence: Sentence, reason: str) -> RejectedClaim:
    return RejectedClaim(text=sentence.text, reason=reason)


def _no_structure(facts: Facts) -> DraftInsight:
    if facts.spec.scores:
        value = facts.execution.distribution.max if facts.execution.distribution else 0.0
        outcome = f"every vertex gets the same {facts.metric} ({format_value(value)}), so no vertex stands out"
        claims: tuple = (VertexCount(facts.vertices), Statistic("max", value), Statistic("min", value))
    else:
        singular, _ = facts.group_nouns
        outcome = f"every vertex is a {singular} of its own"
        claims = (VertexCount(facts.vertices), GroupCount(facts.vertices))
    return draft_insight(
        "No structure found",
        [
            Sentence(
                f"The analysed graph has {plural(facts.vertices, 'vertex', 'vertices')} but no edges in "
                f"{facts.edge_names()}: {outcome}.",
                (*claims, Recorded(("edge_count",), 0)),
            ),
            Sentence("Nothing here describes relationships yet."),
        ],
        0.95,
        {"vertex_count": float(facts.vertices), "edge_count": 0.0},
    )


def _no_figures(facts: Facts) -> DraftInsight:
    """Said when the execution carries none of the figures its algorithm should report."""
    return draft_insight(
        "No figures reported",
        [
            Sentence(
                f"The run over {plural(facts.vertices, 'vertex', 'vertices')} and {plural(facts.edges, 'edge')} "
                f"reported no {facts.spec.title.lower()} figures, so nothing can be concluded from it; re-run the "
                "analysis.",
                (VertexCount(facts.vertices), Recorded(("edge_count",), facts.edges)),
            )
        ],
        0.9,
        {"vertex_count": float(facts.vertices), "edge_count": float(facts.edges)},
    )
