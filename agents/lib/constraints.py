"""Output constraints from the documents: the limits they set and which ones the reports obey.

The reports are written in English as Markdown, JSON and HTML (and CSV when asked): a
constraint asking for another language or format is listed as not honoured, never claimed.
"""

from __future__ import annotations

from collections.abc import Iterable

from gaai.bus.domain import OutputConstraint


def max_items(constraints: Iterable[OutputConstraint]) -> int | None:
    """The tightest ``max_items`` limit, if any (non-positive or non-numeric values are ignored)."""
    limits = [
        int(c.value) for c in constraints if c.kind == "max_items" and type(c.value) in (int, float) and c.value >= 1
    ]
    return min(limits) if limits else None


def wants_csv(constraints: Iterable[OutputConstraint]) -> bool:
    return any(c.kind == "format" and str(c.value or "").strip().lower() == "csv" for c in constraints)


def honoured(constraint: OutputConstraint) -> bool:
    """Whether the reports obey this constraint; they are written in English, as Markdown, JSON, HTML (+ CSV)."""
    if constraint.kind == "no_names":
        return True
    if constraint.kind == "max_items":
        return max_items([constraint]) is not None
    return wants_csv([constraint])
