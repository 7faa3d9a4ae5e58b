"""Number formats and word helpers shared by the report's sentences and renderers."""

from __future__ import annotations

import math
from collections import Counter

from gaai.bus.domain import AttributeShare, RankedVertex


def dominant_value(attribute: AttributeShare) -> str:
    """``brand Tailor (31.4% of its products vs 3.2% of all products)``."""
    return (
        f"{attribute.attribute} {attribute.value} ({format_share(attribute.share)} of its {attribute.collection} vs "
        f"{format_share(attribute.overall_share)} of all {attribute.collection})"
    )


def top_mix(top: list[RankedVertex]) -> dict[str, int]:
    """How many listed vertices come from each collection (ids are ``collection/key``)."""
    return dict(Counter(v.id.partition("/")[0] for v in top))


def mix_phrase(by_collection: dict[str, int]) -> str:
    ordered = sorted(by_collection.items(), key=lambda item: (-item[1], item[0]))
    parts = [f"{format_count(count)} from {name}" for name, count in ordered]
    return join_phrases(parts)


def join_phrases(parts: list[str]) -> str:
    if len(parts) <= 2:
        return " and ".join(parts)
    return f"{', '.join(parts[:-1])} and {parts[-1]}"


def rounded_confidence(value: float) -> float:
    return round(min(0.99, max(0.05, value)), 2)


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``1 tie``, ``3 ties``, ``1 vertex``, ``2 vertices`` (pass the plural when it is not singular + s)."""
    word = singular if count == 1 else (plural_form or f"{singular}s")
    return f"{format_count(count)} {word}"


def format_count(value: int) -> str:
    """A count with thousands separators: ``12,345``."""
    return f"{value:,}"


def format_share(value: float) -> str:
    """A fraction as a percentage with one decimal: ``0.1834`` → ``18.3%``; with the digits it takes to be neither
    none nor all when it is not: ``5.7e-05`` → ``0.0057%``, ``0.99996`` → ``99.996%``."""
    text = f"{value:.1%}"
    if 0 < value < 1 and text == "0.0%":
        return f"{value * 100:.{1 - math.floor(math.log10(value * 100))}f}%"
    if 0 < value < 1 and text == "100.0%":
        return f"{value * 100:.{-math.floor(math.log10((1 - value) * 100))}f}%"
    return text


def format_value(value: float) -> str:
    """A score with four significant digits: ``0.0031``, ``1.234e-05``."""
    return f"{value:.4g}"


def format_ratio(value: float) -> str:
    """A coefficient in [0, 1] (Gini, modularity) with three decimals: ``0.620``."""
    return f"{value:.3f}"


def format_times(value: float) -> str:
    """A multiple: ``12.5×``; below one with two significant digits, so a small one is not rounded up: ``0.066×``."""
    return f"{value:.1f}×" if value >= 1 or value == 0 else f"{value:.2g}×"
