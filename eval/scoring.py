"""Scoring one finished workflow of a case: results against networkx and the planted truth,
requirement coverage, the reports' own claim counts, the suite's independent claim check and
the document's output constraints.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import msgspec
import numpy as np

from gaai.bus.domain import RequirementCoverage
from gaai.eval.cases import Case
from gaai.eval.claims import ResultView, Subgraph, check_report
from gaai.eval.metrics import (
    adjusted_rand_index,
    jaccard,
    modularity,
    normalized_mutual_information,
    purity,
    top_k,
    top_k_overlap,
)
from gaai.eval.reference import (
    Selection,
    disconnected_communities,
    reference_betweenness,
    reference_cohesion,
    reference_degree,
    reference_hits,
    reference_louvain_modularity,
    reference_nearness,
    reference_overlap,
    reference_pagerank,
    reference_paths,
)
from gaai.store import LABEL_ATTRIBUTES, EmbeddedStore
from graph_analytics_ai.ai.agents import Report, WorkflowState

__all__ = [
    "NMI_GOAL",
    "OVERLAP_GOAL",
    "TOP_K",
    "CaseResult",
    "CoverageOutcome",
    "Metric",
    "coverage_outcome",
    "labels_of",
    "personal_data_found",
    "score_case",
]

TOP_K = 10
OVERLAP_GOAL = 0.9
NMI_GOAL = 0.9
MODULARITY_GOAL = 0.95
CENTRALITIES = ("pagerank", "betweenness")
COMMUNITIES = ("louvain", "leiden", "label_propagation")
COHESION = ("k_core", "triangles", "clustering", "k_hop", "cycles")
NEARNESS = ("closeness", "harmonic", "hits")
HITS_TOLERANCE = 1e-6
"""Largest difference allowed between a stored HITS score and networkx's: the engine stops its power iteration
when the L1 change falls below 1e-8, networkx solves for the singular vector."""
OVERLAPS = ("similarity", "co_occurrence")
DEFAULT_SEED = 42


@dataclass
class Metric:
    """One scored figure; ``met`` is ``None`` for figures shown without a goal."""

    metric: str
    value: float | int | str | None
    shown: str
    goal: str = ""
    met: bool | None = None
    detail: str = ""


@dataclass
class CaseResult:
    name: str
    title: str
    tests: str
    workflow_id: str = ""
    status: str = ""
    elapsed_s: float = 0.0
    metrics: list[Metric] = field(default_factory=list)
    false_claims: list[str] = field(default_factory=list)
    unresolved_statements: list[str] = field(default_factory=list)
    silently_dropped: list[str] = field(default_factory=list)
    coverage: list[dict] = field(default_factory=list)

    def add(self, metric: Metric) -> None:
        self.metrics.append(metric)


@dataclass
class _Run:
    """One execution with its report and stored results."""

    template_id: str
    algorithm: str
    body: dict
    view: ResultView

    @property
    def template(self) -> dict:
        return self.body["template"]

    @property
    def params(self) -> dict:
        return {**self.template.get("params", {}), **self.body["execution"].get("params", {})}

    def selection(self, case: Case) -> Selection:
        """The collections this run read, under the case's declared semantics."""
        return Selection.of(case, self.template["vertex_collections"], self.template["edge_collections"])


def score_case(case: Case, state: WorkflowState, store: EmbeddedStore, result: CaseResult) -> None:
    """Score a finished workflow (``WorkflowState``) of ``case`` into ``result``."""
    labels = labels_of(store, case.name)
    runs = []
    for report in sorted(state.reports, key=lambda r: r.template_id):
        body = msgspec.json.decode(report.files["json"])
        execution = body["execution"]
        table = store.read_vertex_results(execution["result_ref"])
        view = ResultView.of(table, execution["result_field"], labels)
        runs.append(_Run(report.template_id, execution["algorithm"], body, view))
    for algorithm in case.required_algorithms:
        if not any(run.algorithm == algorithm for run in runs):
            result.add(
                Metric(
                    f"{algorithm} report",
                    "missing",
                    "missing",
                    "present",
                    False,
                    "a must requirement asks for it within the execution budget",
                )
            )
    for run in runs:
        _score_run(case, run, result)
    _score_semantics_sentences(case, runs, result)
    _score_coverage(case, state, runs, result)
    _score_claims(case, runs, result)
    if case.private_collections:
        _score_privacy(case, state, store, result)


def labels_of(store: EmbeddedStore, graph: str) -> dict[str, str]:
    """Every vertex's display label: its first non-empty label attribute, else its key."""
    labels = {}
    for collection, count in store.graph(graph).vertex_collections.items():
        for doc in store.sample_documents(graph, collection, limit=max(count, 1)):
            given = [str(doc[a]) for a in LABEL_ATTRIBUTES if doc.get(a) not in (None, "")]
            labels[doc["_id"]] = given[0] if given else doc["_key"]
    return labels


# ---------------------------------------------------------------- results against the truth


def _score_run(case: Case, run: _Run, result: CaseResult) -> None:
    tag = f"[{run.template_id}]"
    if run.algorithm in CENTRALITIES:
        _score_centrality(case, run, result, tag)
    elif run.algorithm in COMMUNITIES:
        _score_communities(case, run, result, tag)
    elif run.algorithm == "degree" or run.algorithm in COHESION or run.algorithm in NEARNESS:
        _score_vertex_values(case, run, result, tag)
    elif run.algorithm in OVERLAPS:
        _score_overlap(case, run, result, tag)
    elif run.algorithm == "scc" and case.planted_cycle:
        groups = run.view.values.astype(np.int64)
        ids, sizes = np.unique(groups, return_counts=True)
        cycles = [set(np.asarray(run.view.ids)[groups == g].tolist()) for g in ids[sizes > 1]]
        found = max(cycles, key=len) if cycles else set()
        score = jaccard(found, case.planted_cycle)
        result.add(
            Metric(
                f"scc cycle vs planted ring {tag}",
                score,
                f"{score:.2f} Jaccard",
                "1.00",
                score == 1.0,
                f"{len(cycles)} cycle(s) found",
            )
        )


def _score_vertex_values(case: Case, run: _Run, result: CaseResult, tag: str) -> None:
    """Every stored value against networkx's; the planted core against the highest core numbers, planted tops
    (and hubs) against the highest values."""
    selection = run.selection(case)
    tolerance = 1e-9
    if "sampled" in run.body["execution"].get("engine", ""):
        # An estimate from sampled sources is not comparable with exact scores.
        result.add(Metric(f"{run.algorithm} values vs networkx {tag}", "sampled", "not compared (sampled)"))
        return
    if run.algorithm == "hits":
        hubs, reference = reference_hits(selection)
        tolerance = HITS_TOLERANCE
        _score_hubs(case, run, result, tag, hubs)
    elif run.algorithm in NEARNESS:
        reference = reference_nearness(selection, run.algorithm)
    elif run.algorithm == "degree":
        reference = reference_degree(
            selection, str(run.params.get("direction", "all")), bool(run.params.get("weighted", False))
        )
    elif run.algorithm in ("k_hop", "cycles"):
        bound = int(run.params.get("hops", 2) if run.algorithm == "k_hop" else run.params.get("max_length", 4))
        reference = reference_paths(selection, run.algorithm, bound)
    else:
        reference = reference_cohesion(selection, run.algorithm)
    stored = dict(zip(run.view.ids, run.view.values.tolist(), strict=True))
    equal = sum(1 for v, x in reference.items() if abs(stored.get(v, float("nan")) - x) <= tolerance * max(1.0, abs(x)))
    result.add(
        Metric(
            f"{run.algorithm} values vs networkx {tag}",
            equal / max(len(reference), 1),
            f"{equal}/{len(reference)}",
            f"{len(reference)}/{len(reference)}",
            equal == len(reference),
            _semantics_note(case, run.template),
        )
    )
    if run.algorithm in NEARNESS:
        _score_planted_top(case, run, result, tag, stored)
    if run.algorithm == "k_core" and case.planted_core:
        found = set(top_k(stored, len(case.planted_core)))
        hits = len(found & case.planted_core)
        size = len(case.planted_core)
        result.add(
            Metric(
                f"k_core innermost {size} vs planted core {tag}",
                hits / size,
                f"{hits}/{size}",
                f"{size}/{size}",
                hits == size,
            )
        )


def _score_hubs(case: Case, run: _Run, result: CaseResult, tag: str, reference: dict[str, float]) -> None:
    """The hub scores the execution recorded (its top list) against networkx's, and the planted hubs."""
    listed = run.body["execution"].get("top_hubs", [])
    close = sum(1 for v in listed if abs(reference.get(v["id"], float("nan")) - v["value"]) <= HITS_TOLERANCE)
    result.add(
        Metric(
            f"hits listed hubs vs networkx {tag}",
            close / max(len(listed), 1),
            f"{close}/{len(listed)}",
            f"{len(listed)}/{len(listed)}",
            close == len(listed) and bool(listed),
            f"each listed hub score within {HITS_TOLERANCE:g} of networkx's",
        )
    )
    if case.planted_hubs and listed:
        size = len(case.planted_hubs)
        found = {v["id"] for v in listed[:size]}
        hits = len(found & case.planted_hubs)
        result.add(
            Metric(
                f"hits top-{size} hubs vs planted {tag}", hits / size, f"{hits}/{size}", f"{size}/{size}", hits == size
            )
        )


def _score_overlap(case: Case, run: _Run, result: CaseResult, tag: str) -> None:
    """The listed pairs' counts against networkx's, and the top pair against the planted one."""
    compared = tuple(run.template.get("focus_collections", []))
    members = str(run.params["members"]) if run.algorithm == "co_occurrence" else None
    reference = reference_overlap(run.selection(case), compared, members, int(run.params.get("hops", 2)))
    listed = run.body["execution"].get("top_pairs", [])
    exact = sum(
        1
        for pair in listed
        if (found := reference.get(frozenset((pair["first_id"], pair["second_id"])))) is not None
        and found[0] == pair["shared"]
        and abs(found[1] - pair["score"]) <= 1e-9
    )
    result.add(
        Metric(
            f"{run.algorithm} listed pairs vs networkx {tag}",
            exact / max(len(listed), 1),
            f"{exact}/{len(listed)}",
            f"{len(listed)}/{len(listed)}",
            exact == len(listed) and bool(listed),
            "shared count and Jaccard of each listed pair",
        )
    )
    # The best pair by the algorithm's own order: members shared for co-occurrence, Jaccard for similarity.
    best_key = 0 if run.algorithm == "co_occurrence" else 1
    if reference and listed:
        best = max(reference.values(), key=lambda found: found[best_key])[best_key]
        stated = listed[0]["shared"] if best_key == 0 else listed[0]["score"]
        result.add(
            Metric(
                f"{run.algorithm} first pair is networkx's best {tag}",
                float(abs(stated - best) <= 1e-9),
                f"{stated:.4g} / {best:.4g}",
                "equal",
                abs(stated - best) <= 1e-9,
            )
        )
    planted = case.planted_pairs.get(run.algorithm)
    if planted and listed:
        first = frozenset((listed[0]["first_id"], listed[0]["second_id"]))
        result.add(
            Metric(
                f"{run.algorithm} first pair vs planted {tag}",
                float(first == planted),
                " & ".join(sorted(first)),
                " & ".join(sorted(planted)),
                first == planted,
            )
        )


def _scope_values(values: dict[str, float], scope: tuple[str, ...]) -> dict[str, float]:
    return {v: x for v, x in values.items() if not scope or v.split("/", 1)[0] in scope}


def _score_centrality(case: Case, run: _Run, result: CaseResult, tag: str) -> None:
    template = run.template
    if run.algorithm == "pagerank":
        reference = reference_pagerank(run.selection(case), float(run.params.get("damping", 0.85)))
    elif "sampled" in run.body["execution"].get("engine", ""):
        # An estimate from sampled sources is not comparable with exact betweenness.
        result.add(Metric(f"{run.algorithm} top-{TOP_K} vs networkx {tag}", "sampled", "not compared (sampled)"))
        return
    else:
        reference = reference_betweenness(run.selection(case), bool(run.params.get("normalized", True)))
    scope = case.rank_scope.get(run.algorithm, ())
    stored = _scope_values(dict(zip(run.view.ids, run.view.values.tolist(), strict=True)), scope)
    reference = _scope_values(reference, scope)
    where = f" among {', '.join(scope)}" if scope else ""
    k = min(TOP_K, len(reference))
    shared = top_k_overlap(top_k(stored, k), reference, k)
    leaders = top_k(reference, k)
    gap = max(abs(stored[v] - reference[v]) / max(abs(reference[v]), 1e-300) for v in leaders)
    note = f"{_semantics_note(case, template)}; largest relative difference over networkx's top {k}: {gap:.1e}"
    result.add(
        Metric(
            f"{run.algorithm} top-{k}{where} vs networkx {tag}",
            shared / k,
            f"{shared}/{k}",
            f">= {OVERLAP_GOAL * k:.0f}/{k}",
            shared >= OVERLAP_GOAL * k,
            note,
        )
    )
    _score_planted_top(case, run, result, tag, stored, where)


def _score_planted_top(
    case: Case, run: _Run, result: CaseResult, tag: str, stored: dict[str, float], where: str = ""
) -> None:
    """Whether the vertices the case planted to lead ``run``'s algorithm are its top ones, when it planted any."""
    planted = case.planted_top.get(run.algorithm)
    if not planted:
        return
    found = set(top_k(stored, len(planted)))
    hits = len(found & planted)
    result.add(
        Metric(
            f"{run.algorithm} top-{len(planted)}{where} vs planted {tag}",
            hits / len(planted),
            f"{hits}/{len(planted)}",
            f"{len(planted)}/{len(planted)}",
            hits == len(planted),
            f"missed: {', '.join(sorted(planted - found))}" if hits < len(planted) else "",
        )
    )


def _score_communities(case: Case, run: _Run, result: CaseResult, tag: str) -> None:
    template = run.template
    groups = dict(zip(run.view.ids, run.view.values.astype(np.int64).tolist(), strict=True))
    if case.blocks:
        scored = [v for v in case.blocks if v in groups]
        truth, found = [case.blocks[v] for v in scored], [groups[v] for v in scored]
        nmi, ari = normalized_mutual_information(truth, found), adjusted_rand_index(truth, found)
        against = "planted blocks" if case.blocks_are_planted else "known factions"
        if case.blocks_are_planted:
            result.add(
                Metric(f"{run.algorithm} NMI vs {against} {tag}", nmi, f"{nmi:.3f}", f">= {NMI_GOAL}", nmi >= NMI_GOAL)
            )
        else:
            result.add(Metric(f"{run.algorithm} NMI vs {against} {tag}", nmi, f"{nmi:.3f}"))
        result.add(Metric(f"{run.algorithm} ARI vs {against} {tag}", ari, f"{ari:.3f}"))
        if not case.blocks_are_planted:
            share = purity(truth, found)
            result.add(
                Metric(
                    f"{run.algorithm} purity vs {against} {tag}",
                    share,
                    f"{share:.1%}",
                    detail="share of members whose community's majority faction is their own",
                )
            )
    selection = run.selection(case)
    resolution = float(run.params.get("resolution", 1.0))
    best = reference_louvain_modularity(selection, resolution, int(run.params.get("seed", DEFAULT_SEED)))
    achieved = _modularity(selection, groups, resolution)
    ratio = achieved / best if best > 0 else 0.0
    goal = run.algorithm in ("louvain", "leiden")
    if run.algorithm == "leiden":
        split = disconnected_communities(selection, groups)
        result.add(
            Metric(
                f"leiden communities in more than one piece {tag}",
                float(split),
                str(split),
                "0",
                split == 0,
                "a community whose members do not all reach each other along ties inside it",
            )
        )
    result.add(
        Metric(
            f"{run.algorithm} modularity vs networkx Louvain {tag}",
            ratio,
            f"{achieved:.3f} / {best:.3f}",
            f">= {MODULARITY_GOAL:.2f}x" if goal else "",
            ratio >= MODULARITY_GOAL if goal else None,
            _semantics_note(case, template),
        )
    )


def _modularity(selection: Selection, groups: dict[str, int], resolution: float) -> float:
    """Modularity of a partition on the tie graph: weighted where declared, else each tie 1."""
    graph = selection.tie_graph()
    edges = ((u, v, float(d["weight"]) if selection.weighted else 1.0) for u, v, d in graph.edges(data=True))
    return modularity(edges, groups, resolution)


def _semantics_note(case: Case, template: dict) -> str:
    parts = []
    for name in template["edge_collections"]:
        semantics = case.semantics_of(name)
        direction = "directed" if semantics.directed else "undirected"
        parts.append(f"{name} {direction}" + (f", weight {semantics.weight_field}" if semantics.weight_field else ""))
    return "reference on " + "; ".join(parts)


def _score_semantics_sentences(case: Case, runs: list[_Run], result: CaseResult) -> None:
    """Each report must say how it read the graph: every edge collection of its run, and the
    weight field where one is declared."""
    missing = []
    for run in runs:
        sentence = run.body["report"].get("semantics", "")
        needed = list(run.template["edge_collections"])
        needed += [w for w in (case.semantics_of(c).weight_field for c in run.template["edge_collections"]) if w]
        absent = [word for word in needed if word not in sentence]
        if not sentence or absent:
            missing.append(f"{run.template_id}: {sentence or 'no sentence'} (missing {', '.join(absent)})")
    stated = len(runs) - len(missing)
    result.add(
        Metric(
            "reports stating their semantics", stated, f"{stated}/{len(runs)}", "all", not missing, "; ".join(missing)
        )
    )


# ---------------------------------------------------------------- coverage


@dataclass
class CoverageOutcome:
    """What became of each expected requirement: answered by a report, explained, or dropped (with why)."""

    answered: list[str] = field(default_factory=list)
    explained: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)


def coverage_outcome(
    expected_ids: Sequence[str], coverage: Sequence[RequirementCoverage], reported_templates: set[str]
) -> CoverageOutcome:
    """Sort expected requirements by the workflow's coverage.

    Answered: listed ``answered`` by a template that has a report. Explained: listed with
    another status and a reason. Anything else (not listed, "answered" with no report, no
    reason) was silently dropped.
    """
    entries = {entry.requirement_id: entry for entry in coverage}
    outcome = CoverageOutcome()
    for requirement in expected_ids:
        entry = entries.get(requirement)
        if entry is None:
            outcome.dropped.append(f"{requirement}: not in the workflow's coverage")
        elif entry.status == "answered":
            if set(entry.template_ids) & reported_templates:
                outcome.answered.append(requirement)
            else:
                templates = ", ".join(entry.template_ids) or "no template"
                outcome.dropped.append(f"{requirement}: listed as answered, but there is no report of {templates}")
        elif entry.reason.strip():
            outcome.explained.append(requirement)
        else:
            outcome.dropped.append(f"{requirement}: {entry.status} without a reason")
    return outcome


def _score_coverage(case: Case, state: WorkflowState, runs: list[_Run], result: CaseResult) -> None:
    """Every must/should requirement and objective must be answered by a report or explained."""
    coverage = state.progress.coverage
    outcome = coverage_outcome(case.expected_ids, coverage, {run.template_id for run in runs})
    result.silently_dropped = outcome.dropped
    result.coverage = [msgspec.to_builtins(entry) for entry in coverage]
    total = len(case.expected_ids)
    covered = len(outcome.answered) + len(outcome.explained)
    result.add(
        Metric(
            "requirements answered or explained",
            covered / total,
            f"{covered}/{total}",
            "100%",
            covered == total,
            "; ".join(outcome.dropped),
        )
    )
    explained = f"explained: {', '.join(outcome.explained)}" if outcome.explained else ""
    result.add(
        Metric(
            "requirements answered by a report",
            len(outcome.answered),
            f"{len(outcome.answered)}/{total}",
            detail=explained,
        )
    )


# ---------------------------------------------------------------- claims and constraints


def _score_claims(case: Case, runs: list[_Run], result: CaseResult) -> None:
    verified = rejected = checked = 0
    for run in runs:
        report = run.body["report"]
        verified += int(report.get("claims_verified", 0))
        rejected += len(report.get("claims_rejected", []))
        check = check_report(run.body, run.view, _subgraph(case, run))
        checked += check.checked
        result.false_claims += [f"{run.template_id}: {claim}" for claim in check.false]
        result.unresolved_statements += [f"{run.template_id}: {claim}" for claim in check.unresolved]
    result.add(Metric("claims verified by the reports", verified, str(verified)))
    result.add(Metric("claims rejected by the reports", rejected, str(rejected)))
    result.add(
        Metric(
            "statements checked by the suite",
            checked,
            str(checked),
            detail=f"{len(result.unresolved_statements)} name no vertex or collection",
        )
    )
    false = len(result.false_claims)
    result.add(Metric("false claims published", false, str(false), "0", false == 0, "; ".join(result.false_claims[:3])))


def _subgraph(case: Case, run: _Run) -> Subgraph | None:
    """The run's subgraph on the declared semantics, for a partition's or an overlap's statements."""
    if run.body["execution"].get("groups") is None and run.algorithm not in OVERLAPS:
        return None
    selection = run.selection(case)
    resolution = float(run.params.get("resolution", 1.0))
    graph = selection.tie_graph()
    ties = {v: set(graph.neighbors(v)) for v in graph}
    return Subgraph(ties, lambda groups: _modularity(selection, groups, resolution), _shared_by(run, ties))


def _shared_by(run: _Run, ties: dict[str, set[str]]):
    """What a vertex shares with others in an overlap run: its neighbours, or the members it reaches."""
    if run.algorithm == "similarity":
        return lambda vertex: ties.get(vertex, set())
    if run.algorithm != "co_occurrence":
        return None
    members, hops = str(run.params["members"]), int(run.params.get("hops", 2))
    compared = set(run.template.get("focus_collections", []))

    def kind(vertex: str) -> str:
        return vertex.split("/", 1)[0]

    def reached(vertex: str) -> set[str]:
        near = ties.get(vertex, set())
        found = {u for u in near if kind(u) == members}
        if hops == 2:
            for between in near:
                if kind(between) != members and kind(between) not in compared:
                    found |= {u for u in ties.get(between, set()) if kind(u) == members}
        return found

    return reached


def personal_data_found(case: Case, store: EmbeddedStore, reports: Sequence[Report]) -> list[str]:
    """Where the private vertices' names (and other label attributes, e.g. e-mail) appear in report files.

    Returns ``<template>.<format>: <value>`` per value found in a file. Values shorter than
    three characters are not looked for: they would match ordinary text.
    """
    private = set()
    for collection in case.private_collections:
        count = store.graph(case.name).vertex_collections[collection]
        for doc in store.sample_documents(case.name, collection, limit=count):
            private.update(str(doc[a]) for a in LABEL_ATTRIBUTES if len(str(doc.get(a) or "")) >= 3)
    hits = []
    for report in reports:
        for extension, data in report.files.items():
            text = data.decode("utf-8", errors="replace")
            hits += [f"{report.template_id}.{extension}: {value}" for value in sorted(private) if value in text]
    return hits


def _score_privacy(case: Case, state: WorkflowState, store: EmbeddedStore, result: CaseResult) -> None:
    hits = personal_data_found(case, store, state.reports)
    where = f"personal data of {', '.join(case.private_collections)} in reports: " + "; ".join(hits[:5]) if hits else ""
    result.add(Metric("constraint violations", len(hits), str(len(hits)), "0", not hits, where))
