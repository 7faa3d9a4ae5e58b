"""An independent check of what a report states, against the per-vertex results it was built from.

Checked, for every report:

* its top list: each listed value is the stored one, the list is in order, no vertex of the
  list's scope (the run's focus collections, else every collection) that is left out ranks
  above it, and each label is the vertex's own; the same for each per-collection list, whose
  scope is its collection; for groups, each listed size is the group's and the vertex it is
  named after belongs to it;
* its figures: the distribution (count, maximum, mean, share of the top 1 %), the group
  statistics (count, largest, singletons), the per-collection counts and the modularity,
  recomputed on the declared semantics;
* for a ranking, its sentences "X ranks first [among C]", "X has the highest M [among C]"
  and every "X (value)" pair; for a partition, "X's community (N vertices", "X (N ties)" and
  "X, with N ties inside it" (X's neighbours inside its own group); for an overlap (similarity,
  co-occurrence), each listed pair's shared count and Jaccard and every sentence "X and Y share N
  … (Jaccard J", recounted from the run's subgraph. X is a vertex's label,
  key, id or the pseudonym a no-names constraint shows (in any case), C a collection or
  "all analysed vertices". A HITS report's sentence "By hub score …" states hub scores, which the
  execution records for its top hubs only: each "X (value)" there is checked against that list.

A statement is *false* when the stored data contradicts it, *unresolved* when its subject
names no vertex or collection of the graph (it is listed, not counted as false).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import numpy as np
import pyarrow as pa

from gaai.agents.reporting.privacy import pseudonym

__all__ = ["ClaimCheck", "ResultView", "Subgraph", "check_report"]

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_FIRST = re.compile(
    r"\s(?:ranks first|has the highest [\w\- ]+?)"
    r"(?: among all (?:the )?(?:analysed |analyzed )?vertices| among (?:the )?(?P<scope>[\w\- ]+?))?"
    r"(?=[\s.,;:)]|$)"
)
_VALUED = re.compile(r"\s\((?P<value>-?\d[\d.]*(?:e[-+]?\d+)?)\)")
_GROUP_SIZE = re.compile(r"'s (?:community|component|group) \((?P<size>\d[\d,]*) vertices")
_INNER_TIES = re.compile(r"(?:\s\((?P<listed>\d[\d,]*) ties\)|, with (?P<stated>\d[\d,]*) ties inside it)")
_PAIR = re.compile(r" and (?P<second>.+?) share (?P<shared>\d[\d,]*) \w+ \(Jaccard (?P<score>\d\.\d+)")
_NAME_WORDS = 6
_ABSOLUTE = 1e-12


@dataclass
class ClaimCheck:
    """Every statement checked in one report, and those the data contradicts or that name nothing."""

    checked: int = 0
    false: list[str] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)

    def expect(self, holds: bool, statement: str, why: str) -> None:
        self.checked += 1
        if not holds:
            self.false.append(f"{statement} — {why}")


@dataclass(frozen=True)
class Subgraph:
    """The run's subgraph under the declared semantics, for statements about a partition.

    Attributes:
        ties: Each vertex's neighbours along edges in either direction, itself excluded.
        modularity: Modularity of a partition (vertex id to group).
        shared_by: For an overlap run, the vertices a vertex shares with others (its neighbours,
            or the members it reaches for co-occurrence).
    """

    ties: dict[str, set[str]]
    modularity: Callable[[dict[str, int]], float]
    shared_by: Callable[[str], set[str]] | None = None


@dataclass
class ResultView:
    """One execution's stored per-vertex values with what is needed to read statements about them."""

    ids: list[str]
    collections: list[str]
    values: np.ndarray
    labels: dict[str, str]

    @classmethod
    def of(cls, table: pa.Table, field_name: str, labels: dict[str, str]) -> ResultView:
        return cls(
            ids=table.column("_id").to_pylist(),
            collections=[str(c) for c in table.column("collection").to_pylist()],
            values=np.asarray(table.column(field_name).to_numpy(zero_copy_only=False), dtype=np.float64),
            labels=labels,
        )

    def __post_init__(self) -> None:
        self.position = {vertex: i for i, vertex in enumerate(self.ids)}
        self.by_name: dict[str, set[str]] = {}
        for vertex in self.ids:
            # A report obeying a no-names constraint shows a vertex as its pseudonym (a hash of its id).
            for name in (vertex, vertex.split("/", 1)[1], self.labels.get(vertex, ""), pseudonym(vertex)):
                if name:
                    self.by_name.setdefault(name.casefold(), set()).add(vertex)

    def vertex(self, shown: str) -> str | None:
        """The vertex a list shows as ``shown`` (its id, or its pseudonym), when exactly one fits."""
        if shown in self.position:
            return shown
        found = self.by_name.get(shown.casefold(), set())
        return next(iter(found)) if len(found) == 1 else None

    def value(self, vertex: str) -> float:
        return float(self.values[self.position[vertex]])

    def in_scope(self, collections: Iterable[str]) -> np.ndarray:
        wanted = set(collections)
        return np.array([c in wanted for c in self.collections], dtype=bool) if wanted else np.ones(len(self.ids), bool)

    def collection_named(self, word: str) -> str | None:
        """The collection a phrase such as "customers" or "the customer" names, if any."""
        word = word.strip().lower().replace(" ", "_")
        for collection in dict.fromkeys(self.collections):
            lower = collection.lower()
            if word in (lower, f"{lower}s", lower.removesuffix("s")):
                return collection
        return None

    def named(self, words: str) -> tuple[str, set[str]] | None:
        """The longest trailing run of ``words`` that is a vertex's label, key or id, with its vertices."""
        parts = words.split()
        for length in range(min(len(parts), _NAME_WORDS), 0, -1):
            # A label may open a sentence with its first letter raised, so names match without case.
            candidate = " ".join(parts[-length:]).strip("\"'“”‘’*_,;:")
            if candidate.casefold() in self.by_name:
                return candidate, self.by_name[candidate.casefold()]
        return None


def check_report(
    body: dict,
    view: ResultView,
    subgraph: Subgraph | None,
) -> ClaimCheck:
    """Check one report (its JSON artifact: ``report``, ``execution``, ``template``).

    Args:
        body: The report's JSON artifact, decoded.
        view: The stored results of its execution.
        subgraph: The run's subgraph on the declared semantics, to check a partition's
            modularity and ties; ``None`` when the run is not a partition.

    Returns:
        What was checked and what failed.
    """
    check = ClaimCheck()
    execution, template, report = body["execution"], body["template"], body["report"]
    focus = [c for c in template.get("focus_collections", []) if c in set(view.collections)]
    partition = execution.get("groups") is not None
    if partition:
        _check_groups(check, execution, view, subgraph)
    else:
        _check_ranking(check, execution, view, focus)
        for collection, listed in (execution.get("top_by_collection") or {}).items():
            _check_list(check, listed, view, [collection], f"among {collection}")
    hubs = {v["id"]: v["value"] for v in execution.get("top_hubs") or []}
    for text in _texts(report):
        _check_sentences(check, text, view, partition, subgraph if partition else None, hubs)
    if execution.get("top_pairs") and subgraph is not None and subgraph.shared_by is not None:
        _check_pairs(check, execution, report, view, subgraph.shared_by)
    return check


def _check_pairs(
    check: ClaimCheck, execution: dict, report: dict, view: ResultView, shared_by: Callable[[str], set[str]]
) -> None:
    """Each listed pair, and each "X and Y share N … (Jaccard J" sentence, recounted."""

    def overlap(a: str, b: str) -> tuple[int, float]:
        first, second = shared_by(a), shared_by(b)
        union = len(first | second)
        return len(first & second), (len(first & second) / union if union else 0.0)

    for pair in execution["top_pairs"]:
        a, b = view.vertex(pair["first_id"]), view.vertex(pair["second_id"])
        statement = f"{pair['first_id']} and {pair['second_id']} share {pair['shared']}"
        if a is None or b is None:
            check.expect(False, statement, "no such vertex in the stored results")
            continue
        shared, score = overlap(a, b)
        holds = shared == pair["shared"] and _close(score, pair["score"])
        check.expect(holds, statement, f"recounted {shared} (Jaccard {score:.6g})")
    for text in _texts(report):
        for sentence in _SENTENCE_END.split(text):
            for match in _PAIR.finditer(sentence):
                statement = sentence[: match.end()].strip()
                first, second = view.named(sentence[: match.start()]), view.named(match.group("second"))
                if first is None or second is None or len(first[1]) != 1 or len(second[1]) != 1:
                    check.unresolved.append(statement)
                    continue
                shared, score = overlap(next(iter(first[1])), next(iter(second[1])))
                printed = int(match.group("shared").replace(",", ""))
                holds = shared == printed and f"{score:.3f}" == match.group("score")
                check.expect(holds, statement, f"recounted {shared} (Jaccard {score:.3f})")


def _texts(report: dict) -> list[str]:
    texts = [report.get("title", ""), report.get("summary", "")]
    for insight in report.get("insights", []):
        texts += [insight.get("title", ""), insight.get("text", "")]
    texts += [rec.get("text", "") for rec in report.get("recommendations", [])]
    return [t for t in texts if t]


def _close(a: float, b: float, relative: float = 1e-9) -> bool:
    return math.isclose(a, b, rel_tol=relative, abs_tol=_ABSOLUTE)


def _check_ranking(check: ClaimCheck, execution: dict, view: ResultView, focus: list[str]) -> None:
    top = execution.get("top", [])
    listed = _check_list(check, top, view, focus, f"among {', '.join(focus)}" if focus else "overall")
    if top:
        _check_by_collection(check, execution, [view.collections[view.position[v]] for v in listed])
    distribution = execution.get("distribution")
    if distribution:
        values = view.values
        n = values.size
        top_count = max(1, math.ceil(n * 0.01))
        share = float(np.sort(values)[n - top_count :].sum() / values.sum()) if values.sum() > 0 else 0.0
        check.expect(distribution["count"] == n, f"{distribution['count']} vertices scored", f"{n} stored")
        maximum, mean = float(values.max()), float(values.mean())
        check.expect(_close(distribution["max"], maximum), f"maximum {distribution['max']}", f"stored {maximum}")
        check.expect(_close(distribution["mean"], mean, 1e-6), f"mean {distribution['mean']}", f"stored {mean}")
        check.expect(
            _close(distribution["top_1pct_share"], share, 1e-6),
            f"the top 1% hold {distribution['top_1pct_share']:.4f}",
            f"stored values give {share:.4f}",
        )


def _check_list(
    check: ClaimCheck, top: list[dict], view: ResultView, scope_collections: list[str], where: str
) -> list[str]:
    """A ranked list: stored values and labels, all in its scope, descending, no vertex of its scope left out above it.

    Returns the stored ids of the listed vertices.
    """
    scope = view.in_scope(scope_collections)
    listed: list[str] = []
    for rank, entry in enumerate(top, 1):
        vertex = view.vertex(entry["id"])
        if vertex is None:
            check.expect(False, f"top #{rank} is {entry['id']}", "no such vertex in the stored results")
            continue
        listed.append(vertex)
        collection = view.collections[view.position[vertex]]
        if scope_collections:
            statement = f"top #{rank} {entry['id']} is {where}"
            check.expect(collection in scope_collections, statement, f"it is in {collection}")
        stored = view.value(vertex)
        statement = f"top #{rank} {entry['id']} = {entry['value']}"
        check.expect(_close(stored, entry["value"]), statement, f"stored {stored}")
        label = entry.get("label", "")
        if label:
            own = view.labels.get(vertex, vertex.split("/", 1)[1])
            statement = f"top #{rank} {entry['id']} is labelled {label!r}"
            check.expect(label in (own, pseudonym(vertex)), statement, f"its label is {own!r}")
    if top:
        values = [entry["value"] for entry in top]
        in_order = all(a >= b for a, b in itertools.pairwise(values))
        check.expect(in_order, "the top list is in descending order", f"{values}")
        shown = set(listed)
        left_out = scope & np.array([v not in shown for v in view.ids], dtype=bool)
        if left_out.any():
            best = int(np.flatnonzero(left_out)[np.argmax(view.values[left_out])])
            check.expect(
                view.values[best] <= min(values) + _ABSOLUTE,
                f"the top {len(top)} are the highest {where}",
                f"{view.ids[best]} ({view.values[best]:.6g}) is left out but ranks above {min(values):.6g}",
            )
    return listed


def _check_by_collection(check: ClaimCheck, execution: dict, collections: list[str]) -> None:
    stated = execution.get("by_collection") or {}
    if not stated:
        return
    counted = {c: collections.count(c) for c in set(collections)}
    check.expect(stated == counted, f"by collection {stated}", f"counted {counted}")


def _check_groups(check: ClaimCheck, execution: dict, view: ResultView, subgraph: Subgraph | None) -> None:
    groups = view.values.astype(np.int64)
    ids, sizes = np.unique(groups, return_counts=True)
    size_of = dict(zip(ids.tolist(), sizes.tolist(), strict=True))
    for rank, entry in enumerate(execution.get("top", []), 1):
        group = int(entry["id"].rsplit("/", 1)[1])
        stored = size_of.get(group, 0)
        statement = f"group #{rank} {entry['id']} has {entry['value']:g} members"
        check.expect(stored == int(entry["value"]), statement, f"stored {stored}")
        label = entry.get("label", "")
        named = view.by_name.get(label.casefold(), set())
        members = {v for v in named if int(view.values[view.position[v]]) == group}
        if label:
            statement = f"group #{rank} {entry['id']} is named after {label!r}"
            check.expect(bool(members), statement, "no member of it has that name")
    stats = execution["groups"]
    check.expect(stats["count"] == len(ids), f"{stats['count']} groups", f"stored {len(ids)}")
    biggest = int(sizes.max())
    check.expect(stats["largest"] == biggest, f"the largest has {stats['largest']}", f"stored {biggest}")
    singles = int((sizes == 1).sum())
    check.expect(stats["singletons"] == singles, f"{stats['singletons']} singletons", f"stored {singles}")
    # The largest group, lowest id among equals, as the summary breaks ties.
    largest = int(ids[np.argmax(sizes)])
    _check_by_collection(check, execution, [view.collections[i] for i in np.flatnonzero(groups == largest)])
    stated = stats.get("modularity")
    if stated is not None and subgraph is not None:
        partition = {vertex: int(g) for vertex, g in zip(view.ids, groups.tolist(), strict=True)}
        actual = subgraph.modularity(partition)
        why = f"recomputed on the declared semantics: {actual:.4f}"
        check.expect(abs(stated - actual) <= 2e-3, f"modularity {stated:.4f}", why)


def _check_sentences(
    check: ClaimCheck,
    text: str,
    view: ResultView,
    partition: bool,
    subgraph: Subgraph | None,
    hubs: dict[str, float] | None = None,
) -> None:
    """Sentences about a ranking for a centrality, about groups for a partition.

    A rank or a value stated in a partition's report is not about its stored values (group
    ids), so it is listed as unresolved rather than checked.
    """
    for sentence in _SENTENCE_END.split(text):
        if not partition:
            on_hubs = hubs if hubs and sentence.startswith("By hub score") else None
            _check_ranking_sentence(check, sentence, view, on_hubs)
            continue
        check.unresolved += [sentence[: match.end()].strip() for match in _FIRST.finditer(sentence)]
        for match in _GROUP_SIZE.finditer(sentence):
            _check_group_size(check, sentence, match, view)
        for match in _INNER_TIES.finditer(sentence) if subgraph is not None else ():
            _check_inner_ties(check, sentence, match, view, subgraph)


def _check_ranking_sentence(
    check: ClaimCheck, sentence: str, view: ResultView, hubs: dict[str, float] | None = None
) -> None:
    """Ranks and values against the stored values; with ``hubs``, the values against the recorded hub scores."""

    def value(vertex: str) -> float:
        return view.value(vertex) if hubs is None else hubs.get(vertex, math.nan)

    for match in _FIRST.finditer(sentence):
        statement = sentence[: match.end()].strip()
        named = view.named(sentence[: match.start()])
        scope_word = match.group("scope")  # absent, or "all analysed vertices": the whole run
        scope = view.collection_named(scope_word) if scope_word else None
        if named is None or (scope_word and scope is None):
            check.unresolved.append(statement)
            continue
        _, vertices = named
        mask = view.in_scope([scope] if scope else [])
        best = float(view.values[mask].max())
        candidates = [v for v in vertices if mask[view.position[v]]]
        holds = any(view.value(v) >= best - _ABSOLUTE for v in candidates)
        check.expect(holds, statement, f"the highest {'among ' + scope if scope else 'overall'} is {best:.6g}")
    for match in _VALUED.finditer(sentence):
        named = view.named(sentence[: match.start()])
        if named is None:
            continue
        name, vertices = named
        printed = match.group("value")
        check.expect(
            any(_matches_printed(value(v), printed) for v in vertices),
            f"{name} ({printed})",
            f"stored {', '.join(f'{view.value(v):.6g}' for v in sorted(vertices))}"
            if hubs is None
            else "recorded hub score "
            + ", ".join(f"{value(v):.6g}" if v in hubs else "none (not a listed hub)" for v in sorted(vertices)),
        )


def _check_group_size(check: ClaimCheck, sentence: str, match: re.Match[str], view: ResultView) -> None:
    """ "X's community (N vertices": the group holding X has N members."""
    named = view.named(sentence[: match.start()])
    if named is None:
        check.unresolved.append(sentence[: match.end()].strip())
        return
    name, vertices = named
    size = int(match.group("size").replace(",", ""))
    groups = view.values.astype(np.int64)
    sizes = [int((groups == groups[view.position[v]]).sum()) for v in vertices]
    check.expect(size in sizes, f"{name}'s group has {size} vertices", f"stored {', '.join(map(str, sizes))}")


def _check_inner_ties(
    check: ClaimCheck, sentence: str, match: re.Match[str], view: ResultView, subgraph: Subgraph
) -> None:
    """ "X (N ties)" or "X, with N ties inside it": X has N neighbours in its own group."""
    named = view.named(sentence[: match.start()])
    if named is None:
        check.unresolved.append(sentence[: match.end()].strip())
        return
    name, vertices = named
    count = int((match.group("listed") or match.group("stated")).replace(",", ""))
    group_of = dict(zip(view.ids, view.values.astype(np.int64).tolist(), strict=True))
    inside = [sum(1 for u in subgraph.ties.get(v, ()) if group_of.get(u) == group_of[v]) for v in vertices]
    check.expect(count in inside, f"{name} has {count} ties inside its group", f"counted {', '.join(map(str, inside))}")


def _matches_printed(value: float, printed: str) -> bool:
    """Whether ``value`` rounds to the number as printed (to its last written digit)."""
    if not math.isfinite(value):
        return False
    try:
        number = Decimal(printed)
    except InvalidOperation:
        return False
    exponent = number.as_tuple().exponent
    if not isinstance(exponent, int):
        return False
    return abs(Decimal(repr(value)) - number) <= Decimal(5) * Decimal(10) ** (exponent - 1) * Decimal("1.000001")
