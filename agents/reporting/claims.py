"""Claims: what a report's sentences assert, and how each is re-derived from the stored results.

A sentence that states a number, a rank, a share, a name or a comparison carries the claims
it makes. Each claim knows its scope (the collections it speaks of; empty = every analysed
vertex) and re-derives itself from ``Evidence``: the per-vertex values the execution stored
(``read_vertex_results``) and the stored labels of the vertices the report names. Figures
the stored values cannot reproduce (modularity, timings, ties) are re-read from the
execution summary field they come from. ``verify`` keeps the sentences whose every claim
holds and withholds the others with the reason.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gaai.agents.execution.summary import gini, top_indices
from gaai.bus.domain import ExecutionSummary, RejectedClaim

__all__ = [
    "Claim",
    "CollectionMix",
    "Evidence",
    "GroupCount",
    "GroupMember",
    "GroupMix",
    "GroupSize",
    "Named",
    "Outranked",
    "PairOverlap",
    "Rank",
    "RatioToMean",
    "Recorded",
    "Sentence",
    "Singletons",
    "Statistic",
    "TopShare",
    "Verdict",
    "VertexCount",
    "VertexValue",
    "scope_phrase",
    "verify",
]

Scope = tuple[str, ...]


def scope_phrase(scope: Scope) -> str:
    """``among customers``, ``among customers and products``, or ``among all analysed vertices``."""
    if not scope:
        return "among all analysed vertices"
    names = list(scope)
    joined = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    return f"among {joined}"


@dataclass(frozen=True)
class Evidence:
    """The stored per-vertex results of one execution, as arrays, and the names the report may use.

    Attributes:
        execution: the summary the report is written from (for figures only it holds).
        ids: each vertex's ``collection/key``, in stored order.
        collection: each vertex's position in ``collections``.
        collections: the analysed vertex collections.
        values: each vertex's value (score or group id).
        display_name: the name a report must use for a vertex id (its stored label, or a
            pseudonym where an output constraint forbids names).
        overlaps: for overlap algorithms, ``(shared, combined)`` of each pair the report names,
            re-derived from the stored graph's edges (not from the engine's output).
    """

    execution: ExecutionSummary
    ids: pa.Array
    collection: np.ndarray
    collections: list[str]
    values: np.ndarray
    display_name: Callable[[str], str | None]
    overlaps: Mapping[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    _masks: dict[Scope, np.ndarray] = field(default_factory=dict, repr=False, compare=False)
    _sizes: list[np.ndarray] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def from_table(
        cls,
        execution: ExecutionSummary,
        table: pa.Table,
        display_name: Callable[[str], str | None],
        overlaps: Mapping[tuple[str, str], tuple[int, int]] | None = None,
    ) -> Evidence:
        """Evidence from a ``read_vertex_results`` table (columns ``_id``, ``collection``, ``_key``, the value)."""
        field_name = execution.result_field if execution.result_field in table.column_names else table.column_names[-1]
        collection = table.column("collection").combine_chunks()
        if isinstance(collection, pa.DictionaryArray):
            codes = collection.indices.to_numpy(zero_copy_only=False).astype(np.int64)
            names = [str(name) for name in collection.dictionary.to_pylist()]
        else:
            names = sorted(set(collection.to_pylist()))
            codes = np.array([names.index(name) for name in collection.to_pylist()], dtype=np.int64)
        return cls(
            execution=execution,
            ids=table.column("_id").combine_chunks(),
            collection=codes,
            collections=names,
            values=table.column(field_name).to_numpy().astype(np.float64),
            display_name=display_name,
            overlaps=overlaps or {},
        )

    def mask(self, scope: Scope) -> np.ndarray:
        """Which vertices a scope covers (every vertex for the empty scope)."""
        cached = self._masks.get(scope)
        if cached is None:
            positions = [i for i, name in enumerate(self.collections) if name in scope]
            cached = np.isin(self.collection, positions) if scope else np.ones(self.values.size, dtype=bool)
            self._masks[scope] = cached
        return cached

    def index(self, vertex_id: str) -> int | None:
        position = pc.index(self.ids, vertex_id).as_py()
        return None if position is None or position < 0 else int(position)

    def rank(self, vertex: int, scope: Scope) -> int:
        """1-based rank by value within the scope; equal values rank by lower stored position."""
        mask = self.mask(scope)
        value = self.values[vertex]
        above = np.count_nonzero(mask & (self.values > value))
        tied_before = np.count_nonzero(mask[:vertex] & (self.values[:vertex] == value))
        return int(above + tied_before + 1)

    def scoped(self, scope: Scope) -> np.ndarray:
        return self.values[self.mask(scope)]

    def group_sizes(self) -> np.ndarray:
        """Members per group id, for values that are group ids (counted once, then kept)."""
        if not self._sizes:
            self._sizes.append(np.bincount(self.values.astype(np.int64)) if self.values.size else np.zeros(0, np.int64))
        return self._sizes[0]


class Claim:
    """One checkable statement; ``check`` returns ``None`` when it holds, else why not."""

    kind = "claim"

    def check(self, evidence: Evidence) -> str | None:
        raise NotImplementedError


def _close(stated: float, actual: float) -> bool:
    return math.isclose(stated, actual, rel_tol=1e-6, abs_tol=1e-12)


def _vertex(evidence: Evidence, vertex_id: str, shown_name: str | None) -> tuple[int | None, str | None]:
    """The vertex's stored position, or why the claim cannot stand (unknown id, wrong name)."""
    position = evidence.index(vertex_id)
    if position is None:
        return None, f"{vertex_id} is not in the stored results"
    if shown_name is not None:
        expected = evidence.display_name(vertex_id)
        if expected is None:
            return None, f"the stored label of {vertex_id} could not be read, so its name cannot be confirmed"
        if expected != shown_name:
            return None, f"{vertex_id} is stored as {expected!r}, not {shown_name!r}"
    return position, None


@dataclass(frozen=True)
class Named(Claim):
    """``vertex_id`` is an analysed vertex, shown as ``shown_name`` (for a vertex named beside a figure only the
    execution summary holds, such as a HITS hub score)."""

    vertex_id: str
    shown_name: str | None
    kind = "named"

    def check(self, evidence: Evidence) -> str | None:
        return _vertex(evidence, self.vertex_id, self.shown_name)[1]


@dataclass(frozen=True)
class Rank(Claim):
    """``vertex_id`` (shown as ``shown_name``) ranks ``rank`` by value within ``scope``."""

    vertex_id: str
    shown_name: str | None
    rank: int
    scope: Scope = ()
    kind = "rank"

    def check(self, evidence: Evidence) -> str | None:
        position, problem = _vertex(evidence, self.vertex_id, self.shown_name)
        if position is None:
            return problem
        if not evidence.mask(self.scope)[position]:
            return f"{self.vertex_id} is not {scope_phrase(self.scope)}"
        actual = evidence.rank(position, self.scope)
        if actual != self.rank:
            return f"{self.vertex_id} ranks {actual} {scope_phrase(self.scope)} in the stored results, not {self.rank}"
        return None


@dataclass(frozen=True)
class Outranked(Claim):
    """Vertices outside ``scope`` rank above ``vertex_id`` (``True``) or none do (``False``)."""

    vertex_id: str
    scope: Scope
    outranked: bool
    kind = "comparison"

    def check(self, evidence: Evidence) -> str | None:
        position = evidence.index(self.vertex_id)
        if position is None:
            return f"{self.vertex_id} is not in the stored results"
        above = np.count_nonzero(~evidence.mask(self.scope) & (evidence.values > evidence.values[position]))
        if bool(above) != self.outranked:
            return f"{above} vertices outside {', '.join(self.scope)} rank above {self.vertex_id}"
        return None


@dataclass(frozen=True)
class VertexValue(Claim):
    """``vertex_id`` has the stored value ``value``."""

    vertex_id: str
    value: float
    kind = "value"

    def check(self, evidence: Evidence) -> str | None:
        position = evidence.index(self.vertex_id)
        if position is None:
            return f"{self.vertex_id} is not in the stored results"
        actual = float(evidence.values[position])
        return None if _close(self.value, actual) else f"{self.vertex_id} has {actual:.6g}, not {self.value:.6g}"


@dataclass(frozen=True)
class RatioToMean(Claim):
    """``vertex_id``'s value is ``ratio`` times the mean within ``scope``."""

    vertex_id: str
    ratio: float
    scope: Scope = ()
    kind = "comparison"

    def check(self, evidence: Evidence) -> str | None:
        position = evidence.index(self.vertex_id)
        values = evidence.scoped(self.scope)
        if position is None or values.size == 0 or values.mean() <= 0:
            return f"no mean to compare {self.vertex_id} with {scope_phrase(self.scope)}"
        actual = float(evidence.values[position] / values.mean())
        return None if _close(self.ratio, actual) else f"the ratio to the mean is {actual:.4g}, not {self.ratio:.4g}"


@dataclass(frozen=True)
class TopShare(Claim):
    """The top 1 % of the vertices in ``scope`` (``count`` of them) hold ``share`` of the scope's total."""

    share: float
    count: int
    scope: Scope = ()
    kind = "share"

    def check(self, evidence: Evidence) -> str | None:
        values = evidence.scoped(self.scope)
        if values.size == 0:
            return f"no vertices {scope_phrase(self.scope)}"
        count = max(1, math.ceil(values.size * 0.01))
        total = values.sum()
        top_sum = np.partition(values, values.size - count)[values.size - count :].sum()
        share = float(top_sum / total) if total > 0 else 0.0
        if count != self.count or not _close(self.share, share):
            where = scope_phrase(self.scope)
            return f"the top {count} {where} hold {share:.4f}, not the top {self.count} {self.share:.4f}"
        return None


@dataclass(frozen=True)
class Statistic(Claim):
    """A statistic (``mean``, ``median``, ``p90``, ``p99``, ``max``, ``min``, ``gini``) of the values in ``scope``."""

    statistic: str
    value: float
    scope: Scope = ()
    kind = "statistic"

    def check(self, evidence: Evidence) -> str | None:
        values = evidence.scoped(self.scope)
        if values.size == 0:
            return f"no vertices {scope_phrase(self.scope)}"
        compute = {
            "mean": np.mean,
            "median": np.median,
            "p90": lambda v: np.percentile(v, 90),
            "p99": lambda v: np.percentile(v, 99),
            "max": np.max,
            "min": np.min,
            "gini": gini,
        }[self.statistic]
        actual = float(compute(values))
        if not _close(self.value, actual):
            return f"the {self.statistic} {scope_phrase(self.scope)} is {actual:.6g}, not {self.value:.6g}"
        return None


@dataclass(frozen=True)
class CollectionMix(Claim):
    """Of the top ``k`` by value within ``scope``, ``counts`` come from each collection."""

    k: int
    counts: Mapping[str, int]
    scope: Scope = ()
    kind = "count"

    def check(self, evidence: Evidence) -> str | None:
        positions = np.flatnonzero(evidence.mask(self.scope))
        top = positions[top_indices(evidence.values[positions], self.k)]
        found = np.bincount(evidence.collection[top], minlength=len(evidence.collections))
        actual = {name: int(c) for name, c in zip(evidence.collections, found.tolist(), strict=True) if c}
        return None if actual == dict(self.counts) else f"the top {self.k} come from {actual}, not {dict(self.counts)}"


@dataclass(frozen=True)
class VertexCount(Claim):
    """``count`` vertices were analysed within ``scope``."""

    count: int
    scope: Scope = ()
    kind = "count"

    def check(self, evidence: Evidence) -> str | None:
        actual = int(np.count_nonzero(evidence.mask(self.scope)))
        if actual != self.count:
            return f"{actual} vertices are stored {scope_phrase(self.scope)}, not {self.count}"
        return None


def _group_number(group_id: str) -> int | None:
    tail = group_id.rpartition("/")[2]
    return int(tail) if tail.isdigit() else None


@dataclass(frozen=True)
class GroupSize(Claim):
    """Group ``group_id`` (``community/3``) has ``size`` members."""

    group_id: str
    size: int
    kind = "group_size"

    def check(self, evidence: Evidence) -> str | None:
        number = _group_number(self.group_id)
        if number is None:
            return f"{self.group_id} names no group"
        sizes = evidence.group_sizes()
        actual = int(sizes[number]) if number < sizes.size else 0
        return None if actual == self.size else f"{self.group_id} has {actual} members, not {self.size}"


@dataclass(frozen=True)
class GroupMember(Claim):
    """``vertex_id`` (shown as ``shown_name``) belongs to group ``group_id``."""

    group_id: str
    vertex_id: str
    shown_name: str | None
    kind = "membership"

    def check(self, evidence: Evidence) -> str | None:
        position, problem = _vertex(evidence, self.vertex_id, self.shown_name)
        if position is None:
            return problem
        if evidence.values[position] != _group_number(self.group_id):
            return f"{self.vertex_id} is in group {int(evidence.values[position])}, not {self.group_id}"
        return None


@dataclass(frozen=True)
class GroupMix(Claim):
    """Group ``group_id`` holds ``counts`` vertices of each collection."""

    group_id: str
    counts: Mapping[str, int]
    kind = "count"

    def check(self, evidence: Evidence) -> str | None:
        members = evidence.values == _group_number(self.group_id)
        found = np.bincount(evidence.collection[members], minlength=len(evidence.collections))
        actual = {name: int(c) for name, c in zip(evidence.collections, found.tolist(), strict=True) if c}
        return None if actual == dict(self.counts) else f"{self.group_id} holds {actual}, not {dict(self.counts)}"


@dataclass(frozen=True)
class GroupCount(Claim):
    """The result has ``count`` distinct groups."""

    count: int
    kind = "count"

    def check(self, evidence: Evidence) -> str | None:
        actual = int(np.count_nonzero(evidence.group_sizes()))
        return None if actual == self.count else f"the results hold {actual} groups, not {self.count}"


@dataclass(frozen=True)
class Singletons(Claim):
    """``count`` groups have exactly one member."""

    count: int
    kind = "count"

    def check(self, evidence: Evidence) -> str | None:
        actual = int(np.count_nonzero(evidence.group_sizes() == 1))
        return None if actual == self.count else f"{actual} groups have one member, not {self.count}"


@dataclass(frozen=True)
class PairOverlap(Claim):
    """Vertices ``first_id`` and ``second_id`` (shown by these names) share ``shared`` vertices, and
    their Jaccard similarity (shared over combined) is ``score``."""

    first_id: str
    first_name: str | None
    second_id: str
    second_name: str | None
    shared: int
    score: float
    kind = "pair"

    def check(self, evidence: Evidence) -> str | None:
        for vertex_id, name in ((self.first_id, self.first_name), (self.second_id, self.second_name)):
            _, problem = _vertex(evidence, vertex_id, name)
            if problem:
                return problem
        found = evidence.overlaps.get((self.first_id, self.second_id))
        if found is None:
            return f"the overlap of {self.first_id} and {self.second_id} could not be re-derived from the graph"
        shared, combined = found
        score = shared / combined if combined else 0.0
        if shared != self.shared or not _close(self.score, score):
            return (
                f"{self.first_id} and {self.second_id} share {shared} of {combined} in the stored graph, "
                f"not {self.shared} (Jaccard {score:.4g}, not {self.score:.4g})"
            )
        return None


@dataclass(frozen=True)
class Recorded(Claim):
    """A figure only the execution summary holds (modularity, timings, ties), re-read from its field.

    ``source`` is the path to it: attribute names, and group or bridge ids to pick list
    entries, e.g. ``("group_details", "community/0", "bridges", "community/1", "ties")``.
    """

    source: tuple[str, ...]
    value: float
    kind = "recorded"

    def check(self, evidence: Evidence) -> str | None:
        current: object = evidence.execution
        for step in self.source:
            if isinstance(current, list) and step.isdigit():
                current = current[int(step)] if int(step) < len(current) else None
            elif isinstance(current, list):
                current = next((item for item in current if getattr(item, "group_id", None) == step), None)
            elif isinstance(current, dict):
                current = current.get(step)
            else:
                current = getattr(current, step, None)
            if current is None:
                return f"the execution records no {'.'.join(self.source)}"
        if not isinstance(current, (int, float)) or not _close(self.value, float(current)):
            return f"the execution records {'.'.join(self.source)} = {current}, not {self.value}"
        return None


@dataclass(frozen=True)
class Sentence:
    """A sentence and the claims it makes; a sentence without claims only words what others state."""

    text: str
    claims: tuple[Claim, ...] = ()


@dataclass(frozen=True)
class Verdict:
    """Which sentences hold, how many claims they published, and what was withheld."""

    held: frozenset[int]
    verified: int
    rejected: list[RejectedClaim]


def verify(sentences: list[Sentence], evidence: Evidence) -> Verdict:
    """Check every claim of every sentence against the evidence.

    Returns:
        The positions of the sentences whose claims all hold, the number of claims they
        make, and each withheld sentence with the first reason it failed.
    """
    held: set[int] = set()
    verified = 0
    rejected: list[RejectedClaim] = []
    for position, sentence in enumerate(sentences):
        reasons = [reason for claim in sentence.claims if (reason := claim.check(evidence)) is not None]
        if reasons:
            rejected.append(RejectedClaim(text=sentence.text, reason=reasons[0]))
        else:
            held.add(position)
            verified += len(sentence.claims)
    return Verdict(held=frozenset(held), verified=verified, rejected=rejected)
