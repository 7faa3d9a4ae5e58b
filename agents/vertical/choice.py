"""Industry vertical agent: picks the vertical whose vocabulary fits the requirements and the graph.

A vertical is a JSON file in the custom-vertical format, ``bus.contract.CustomVertical`` (the
built-in ones live in ``agents/vertical/profiles/``)::

    {
      "metadata": {"name": "...", "display_name": "...", "description": "...", "version": "1.0"},
      "domain_context": {
        "key_entities": ["..."], "metrics": ["..."],
        "terminology": {"term": "meaning"}, "keywords": ["..."]
      },
      "analysis_prompt": "...",
      "patterns": {"pagerank": {"title": "...", "meaning": "...", "recommendation": "..."}, ...}
    }

Only ``metadata.name`` is required. ``patterns`` keys are algorithm names from
:mod:`agents.lib.algorithms`; an algorithm a file leaves out takes the generic vertical's
pattern, so every profile can word the findings of every algorithm. Texts are used as
written (no placeholders).

In auto mode a model only chooses: it answers the name of one built-in vertical (the
answer's schema allows no other) and why, and the agent loads that built-in. The offline
answer is the rule-based choice of :func:`choose_vertical`.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import msgspec

from gaai.agents.lib.algorithms import ALGORITHMS
from gaai.agents.lib.llm import offline_responder
from gaai.bus.codec import decode_custom_vertical, industry_name
from gaai.bus.contract import CustomVertical
from gaai.bus.domain import AlgorithmPattern, VerticalProfile
from gaai.bus.errors import TaskError

GENERIC = "generic"


MIN_SCORE = 3.0
"""The best vertical needs at least this score in auto mode, else the generic one is used.

One matched collection name or three vocabulary hits in the texts reach it.
"""

MIN_TERMS = 3
"""Without a matched collection name, the best vertical needs this many distinct terms, else the generic one is used.

Three hits of one or two words in the prose are weak evidence: "friendship" and "follow" in
a text about a novel's characters do not make it a social network.
"""

GRAPH_WORDS = frozenset({"community", "communities", "group", "cluster", "member", "connection", "segment"})
"""Words any graph analysis uses, counted for no industry (nor are the generic vertical's own terms)."""

TEXT_WEIGHT = 1.0
"""Score per occurrence of a vocabulary term in the texts, counted at most :data:`TEXT_HITS_CAP` times."""

TEXT_HITS_CAP = 3
"""A term repeated on every page should not outweigh the breadth of the vocabulary matched."""

COLLECTION_WEIGHT = 3.0
"""Score per collection whose name contains a term: the graph says more than the prose."""

ATTRIBUTE_WEIGHT = 1.0
"""Score per attribute name that contains a term."""


def load_vertical_file(data: dict, source: Literal["builtin", "custom"] = "custom") -> VerticalProfile:
    """Validate a vertical in the custom-vertical format and turn it into a profile.

    Args:
        data: The decoded JSON object.
        source: Where it came from, recorded on the profile.

    Returns:
        The profile, with the generic vertical's pattern for every algorithm ``data`` omits.

    Raises:
        TaskError: ``bad_vertical`` naming the path of the first missing or malformed
            field, e.g. ``patterns.pagerank.title``.
    """
    return _profile(decode_custom_vertical(data), source, _builtins()[GENERIC].patterns)


def builtin_verticals() -> dict[str, VerticalProfile]:
    """The built-in verticals by name, loaded once from the package's ``verticals`` folder."""
    return dict(_builtins())


def choose_vertical(
    texts: Sequence[str],
    collection_names: Sequence[str],
    attribute_names: Sequence[str] = (),
    industry: str = "auto",
    custom: dict | None = None,
) -> VerticalProfile:
    """The vertical for a workflow: a custom one, a named one, or the best-scoring built-in.

    Args:
        texts: Requirement document texts.
        collection_names: The graph's vertex and edge collection names.
        attribute_names: Attribute names seen in the graph's documents.
        industry: ``"auto"``, a built-in name or an alias from :data:`bus.contract.INDUSTRY_ALIASES`.
        custom: A vertical in the custom format; when given it wins over everything else.

    Returns:
        The chosen profile. In auto mode it carries ``score``, the ``matched_terms`` that
        earned it and a ``reason`` sentence; the generic vertical is returned when the
        evidence is weak: no built-in reaches :data:`MIN_SCORE`, or the best reaches it
        with fewer than :data:`MIN_TERMS` distinct terms and no collection name. Its
        ``reason`` then names the best industry's terms and why they were not enough.

    Raises:
        TaskError: ``bad_vertical`` for a malformed custom vertical, ``unknown_vertical``
            for an industry name that is not known.
    """
    if custom is not None:
        return load_vertical_file(custom, "custom")
    verticals = _builtins()
    name = industry_name(industry)
    if name != "auto":
        return verticals[name]
    evidence = _Evidence(texts, collection_names, attribute_names)
    scored = [evidence.score(profile) for name, profile in sorted(verticals.items()) if name != GENERIC]
    best = min(scored, key=lambda entry: (-entry.score, -len(entry.matched), entry.profile.name))
    if _weak(best):
        return _generic_for_want_of(best, "the evidence for any industry is weak: the best fit")
    return _with_evidence(best.profile, best.score, best.matched, best.collections)


def _weak(evidence: _Score) -> bool:
    return evidence.score < MIN_SCORE or (len(evidence.matched) < MIN_TERMS and not evidence.collections)


def _generic_for_want_of(evidence: _Score, lead: str) -> VerticalProfile:
    """The generic vertical, with a reason naming the weak evidence for ``evidence.profile``."""
    found = ", ".join(f"'{term}'" for term in evidence.matched) or "no term"
    reason = (
        f"{lead}, {evidence.profile.display_name}, matched {found} (score {evidence.score:g}); an industry needs a "
        f"score of {MIN_SCORE:g} from at least {MIN_TERMS} distinct terms or a collection name, and words every "
        f"graph uses ({', '.join(sorted(GRAPH_WORDS))}) count for none"
    )
    return msgspec.structs.replace(_builtins()[GENERIC], reason=reason)


def chosen_builtin(name: str, texts: Sequence[str], collection_names: Sequence[str], reason: str) -> VerticalProfile:
    """The built-in vertical ``name``, chosen in auto mode (by a model or the rules) for ``reason``.

    It is loaded as a named industry is, and carries the ``score`` and ``matched_terms``
    its vocabulary earns in ``texts`` and ``collection_names``; the generic vertical is
    the choice for want of such evidence, so it carries none, as in :func:`choose_vertical`.
    A choice whose evidence is weak (as :func:`choose_vertical` defines it) gives the
    generic vertical, whose reason says so.

    Raises:
        TaskError: ``unknown_vertical`` when ``name`` is not a built-in vertical.
    """
    profile = choose_vertical([], collection_names, industry=name)
    if profile.name == GENERIC:
        return msgspec.structs.replace(profile, reason=reason)
    found = _Evidence(texts, collection_names, ()).score(profile)
    if _weak(found):
        return _generic_for_want_of(found, "the choice's evidence is weak")
    backed = _with_evidence(profile, found.score, found.matched, found.collections)
    return msgspec.structs.replace(backed, reason=reason)


def _with_evidence(
    profile: VerticalProfile, score: float, matched: list[str], collections: list[str]
) -> VerticalProfile:
    named = f", and the collection names {', '.join(collections)}" if collections else ""
    reason = (
        f"its vocabulary scores {score:g} in the documents and collection names, from "
        f"{', '.join(repr(term) for term in matched) or 'no term'}{named}"
    )
    return msgspec.structs.replace(profile, matched_terms=matched, score=round(score, 3), reason=reason)


# ---------------------------------------------------------------- scoring


def _stem(word: str) -> str:
    """A crude stem, so "purchased", "purchases" and "purchase" match one another."""
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if len(word) > 5 and word.endswith("ing"):
        word = word[:-3]
    elif len(word) > 4 and word.endswith("ed"):
        word = word[:-2]
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    return word


def _stems(text: str) -> tuple[str, ...]:
    # Split camelCase before lowercasing, so "productViews" reads like "product views".
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", text)
    return tuple(_stem(word) for word in re.findall(r"[a-z0-9]+", spaced.lower()))


def _occurrences(term: tuple[str, ...], words: tuple[str, ...]) -> int:
    size = len(term)
    return sum(1 for start in range(len(words) - size + 1) if words[start : start + size] == term)


@dataclass(frozen=True)
class _Score:
    """A vertical's evidence: its score, the terms that earned it (strongest first), the collections they named."""

    score: float
    matched: list[str]
    collections: list[str]
    profile: VerticalProfile


class _Evidence:
    """The texts and names of one request, stemmed once and scored against each vertical."""

    def __init__(self, texts: Sequence[str], collections: Sequence[str], attributes: Sequence[str]) -> None:
        self._texts = [_stems(text) for text in texts]
        self._names = list(collections)
        self._collections = [_stems(name) for name in collections]
        self._attributes = [_stems(name) for name in attributes]

    def score(self, profile: VerticalProfile) -> _Score:
        """The profile's evidence; graph words (:func:`_graph_stems`) earn nothing."""
        weights: dict[str, float] = {}
        seen = set(_graph_stems()) if profile.name != GENERIC else set()
        named: list[str] = []
        for term in _vocabulary(profile):
            stems = _stems(term)
            if not stems or stems in seen:
                continue
            seen.add(stems)
            hits = sum(_occurrences(stems, words) for words in self._texts)
            in_names = [
                name for name, words in zip(self._names, self._collections, strict=True) if _occurrences(stems, words)
            ]
            weight = TEXT_WEIGHT * min(hits, TEXT_HITS_CAP)
            weight += COLLECTION_WEIGHT * len(in_names)
            weight += ATTRIBUTE_WEIGHT * sum(1 for words in self._attributes if _occurrences(stems, words))
            if weight:
                weights[term] = weight
                named += in_names
        matched = sorted(weights, key=lambda term: (-weights[term], term))
        return _Score(sum(weights.values()), matched, list(dict.fromkeys(named)), profile)


@functools.cache
def _graph_stems() -> frozenset[tuple[str, ...]]:
    """Stems of :data:`GRAPH_WORDS` and of the generic vertical's vocabulary."""
    return frozenset(_stems(term) for term in [*GRAPH_WORDS, *_vocabulary(_builtins()[GENERIC])])


def _vocabulary(profile: VerticalProfile) -> list[str]:
    return [*profile.keywords, *profile.key_entities, *profile.terminology]


# ---------------------------------------------------------------- loading


@functools.cache
def _builtins() -> dict[str, VerticalProfile]:
    # Beside this module rather than importlib.resources: an editable install can present
    # ``agents`` as a namespace package, which importlib.resources cannot open on 3.11.
    folder = Path(__file__).with_name("profiles")
    raw = {entry.name: json.loads(entry.read_text(encoding="utf-8")) for entry in sorted(folder.glob("*.json"))}
    generic = _profile(decode_custom_vertical(raw.pop(f"{GENERIC}.json")), "builtin", None)
    profiles = {GENERIC: generic}
    for file_name in sorted(raw):
        profile = _profile(decode_custom_vertical(raw[file_name]), "builtin", generic.patterns)
        profiles[profile.name] = profile
    return profiles


def _profile(
    vertical: CustomVertical, source: Literal["builtin", "custom"], fallback: dict[str, AlgorithmPattern] | None
) -> VerticalProfile:
    """The profile of ``vertical``; an algorithm without a pattern takes ``fallback``'s (None: all need one)."""
    given = {name: getattr(vertical.patterns, name) for name in ALGORITHMS}
    patterns = {
        name: AlgorithmPattern(title=pattern.title, meaning=pattern.meaning, recommendation=pattern.recommendation)
        for name, pattern in given.items()
        if pattern is not None
    }
    missing = [name for name in ALGORITHMS if name not in patterns]
    if missing and fallback is None:
        raise TaskError("bad_vertical", f"invalid vertical: patterns.{missing[0]} is missing")
    metadata, context = vertical.metadata, vertical.domain_context
    return VerticalProfile(
        name=metadata.name,
        display_name=metadata.display_name or metadata.name,
        description=metadata.description,
        source=source,
        key_entities=list(context.key_entities),
        metrics=list(context.metrics),
        terminology=dict(context.terminology),
        analysis_prompt=vertical.analysis_prompt,
        patterns={name: {**(fallback or {}), **patterns}[name] for name in ALGORITHMS},
        keywords=list(context.keywords),
    )


# ---------------------------------------------------------------- the agent


@functools.cache
def vertical_choice_type() -> type[msgspec.Struct]:
    """The answer asked for in auto mode: ``name``, one of the built-in verticals' names, and ``reason``.

    Made from the ``verticals`` folder, so that a new built-in file is a choice at once.
    """
    names = tuple(sorted(_builtins()))
    return msgspec.defstruct("VerticalChoice", [("name", Literal[names]), ("reason", str)], frozen=True, kw_only=True)


def vertical_prompt(texts: Sequence[str], collection_names: Sequence[str]) -> str:
    """What an HTTP model is asked when the industry is ``auto``: which built-in vertical fits, not what one says."""
    menu = "\n".join(
        f"- {name} ({profile.display_name}): {profile.description}"
        for name, profile in sorted(builtin_verticals().items())
    )
    excerpt = "\n\n".join(texts)[:6000]
    return (
        f"Graph collections: {', '.join(collection_names)}.\nRequirement documents (excerpt):\n{excerpt}\n\n"
        f"Which industry vertical fits these documents and this graph best? The built-in verticals:\n{menu}\n"
        f"Choose one of them; {GENERIC} when no industry fits. Answer with a JSON object "
        '{"name": "<the chosen vertical\'s name, as listed before the parenthesis>", '
        '"reason": "<one sentence: what in the documents or the collections points to it>"}.'
    )


@offline_responder("vertical")
def _offline_vertical(inputs: tuple[list[str], list[str]]) -> msgspec.Struct:
    texts, collection_names = inputs
    chosen = choose_vertical(texts, collection_names)
    return vertical_choice_type()(name=chosen.name, reason=chosen.reason)
