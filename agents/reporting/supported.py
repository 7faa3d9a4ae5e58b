"""A model-written report keeps only what the verified report supports: the model may word, never invent.

Every sentence of the model's title, summary, insights and recommendations is read for the
numbers and vertex names it states. A number must appear in the verified report's text, a
name among the names it uses; a sentence stating anything else is dropped and listed as
rejected. Ids, semantics, constraints and claim counts come from the verified report.
"""

from __future__ import annotations

import re

import msgspec

from gaai.agents.reporting.privacy import find_names
from gaai.bus.domain import Insight, Recommendation, RejectedClaim, Report

__all__ = ["keep_supported"]

_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?%?")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


def keep_supported(model: Report, verified: Report, names: set[str]) -> Report:
    """The model's report with every unsupported sentence removed.

    Args:
        model: the report as the model wrote it.
        verified: the report built from verified claims for the same execution.
        names: every vertex name the model could have seen (labels and pseudonyms).
    """
    if model == verified:
        return verified
    corpus = " ".join(_texts(verified))
    numbers = {_normal(n) for n in _NUMBER.findall(corpus)}
    allowed_names = set(find_names(corpus, names))
    rejected: list[RejectedClaim] = []
    published = 0

    def keep(text: str) -> str:
        nonlocal published
        kept = []
        for sentence in _SENTENCE_END.split(text.strip()):
            stated = [n for n in _NUMBER.findall(sentence) if _normal(n) not in numbers]
            named = [n for n in find_names(sentence, names) if n not in allowed_names]
            if stated or named:
                what = ", ".join([*stated, *named])
                rejected.append(RejectedClaim(text=sentence, reason=f"states {what}, which no verified claim supports"))
                continue
            published += bool(_NUMBER.search(sentence) or find_names(sentence, names))
            kept.append(sentence)
        return " ".join(kept)

    title = keep(model.title) or verified.title
    evidence_values = {value for insight in verified.insights for value in insight.evidence.values()}
    insights = []
    for insight in model.insights:
        insight_title, text = keep(insight.title), keep(insight.text)
        if insight_title and text:
            evidence = {k: v for k, v in insight.evidence.items() if v in evidence_values}
            insights.append(Insight(title=insight_title, text=text, confidence=insight.confidence, evidence=evidence))
    recommendations = [
        Recommendation(text=text, priority=r.priority) for r in model.recommendations if (text := keep(r.text))
    ]
    return msgspec.structs.replace(
        verified,
        title=title,
        summary=keep(model.summary),
        insights=insights,
        recommendations=recommendations,
        claims_verified=published,
        claims_rejected=[*verified.claims_rejected, *rejected],
    )


def _texts(report: Report) -> list[str]:
    return [
        report.title,
        report.summary,
        report.semantics,
        *(f"{i.title} {i.text}" for i in report.insights),
        *(r.text for r in report.recommendations),
    ]


def _normal(number: str) -> str:
    return number.replace(",", "")
