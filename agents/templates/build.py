"""Template agent: turns use cases into executable, validated analysis templates.

A template names an algorithm, its parameters and exactly the collections it reads. The
collections depend on the algorithm's kind (see ``choose_collections``):

* Centrality (PageRank, betweenness) reads the whole graph: every vertex collection and
  every edge collection whose endpoints are known, because importance flows through every
  relationship, satellite links included.
* Connectivity (WCC, SCC) and community (Louvain, Leiden, label propagation) read the core vertex
  collections and only the edge collections whose endpoint collections all lie inside that
  selection. Satellite collections are shared reference data (a few categories, countries,
  tags): left in, each one would glue thousands of unrelated core vertices into one
  component or community.
* A use case narrows this to the core collections it names (its ``focus_collections``,
  set by the use-case agent). When the named collections have no edge among
  themselves, the selection widens back to all core collections rather than running an
  algorithm on isolated vertices.
* SCC keeps only edge collections that can close a directed cycle at the collection level
  (a collection linked to itself, or a loop through several). An edge such as
  customers→products can never be part of a cycle when nothing leads back from products,
  so it would only add single-vertex components.

Which analyses run within ``max_executions`` is greedy weighted set cover over the
requirements (:func:`build_templates`), and every requirement and objective gets a
:class:`~bus.domain.RequirementCoverage`: answered, or why not. Invalid use cases are not
raised: each becomes a sentence in the ``rejected`` list.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from gaai.agents.lib.algorithms import ALGORITHMS, AlgorithmSpec, resolve_params
from gaai.agents.lib.constraints import honoured as reports_honour
from gaai.agents.schema.analysis import edge_semantics_of
from gaai.bus.contract import TemplatesResult
from gaai.bus.domain import (
    AnalysisTemplate,
    GraphSchema,
    OutputConstraint,
    RequirementCoverage,
    RequirementsDoc,
    Scalar,
    UnansweredQuestion,
    UseCase,
)

# Vertices and edges a sampled betweenness (closeness, harmonic centrality) may visit in all:
# one pass from a source visits every vertex and edge once, so this budget bounds the run's
# time (about 20 s for betweenness on the benchmark machine, docs/BENCHMARKS.md, "Engine choices").
BETWEENNESS_VISIT_BUDGET = 500_000_000
# Below this many sampled sources the top of a sampled betweenness ranking is mostly noise,
# so very large graphs get this many sources and take longer than the budget instead.
BETWEENNESS_MIN_SAMPLES = 32


@dataclass(frozen=True)
class CollectionChoice:
    """The collections an algorithm will read, or why it cannot run.

    Attributes:
        vertices: Vertex collection names, in schema order.
        edges: Edge collection names, in schema order.
        notes: Sentences explaining the choice, for a template's rationale.
        problem: Why no valid selection exists; empty when the choice is usable.
    """

    vertices: list[str] = field(default_factory=list)
    edges: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problem: str = ""
    roles: tuple[str, ...] = ()
    """For overlap algorithms, the collections compared and, for co-occurrence last, the members counted."""


def core_collections(schema: GraphSchema) -> list[str]:
    """The core vertex collections of a schema, in schema order.

    Args:
        schema: The analysed graph.

    Returns:
        ``schema.core_collections`` that exist as vertex collections; when the schema marks
        none as core, every vertex collection not marked satellite (or all of them when all
        are marked satellite), since an analysis needs some vertices to run on.
    """
    names = [info.name for info in schema.vertex_collections]
    marked = set(schema.core_collections)
    core = [name for name in names if name in marked]
    if core:
        return core
    satellites = set(schema.satellite_collections)
    return [name for name in names if name not in satellites] or names


def edge_count(schema: GraphSchema, name: str) -> int:
    """How many edges an edge collection holds, per the schema.

    Args:
        schema: The analysed graph.
        name: An edge collection name.

    Returns:
        The collection's count, or the sum of its edge definitions' counts when the
        collection itself is not listed.
    """
    for info in schema.edge_collections:
        if info.name == name:
            return info.count
    return sum(definition.count for definition in schema.edge_definitions if definition.collection == name)


def joining_edges(schema: GraphSchema, vertices: Iterable[str]) -> list[str]:
    """Edge collections holding edges whose endpoint collections all lie within ``vertices``.

    Args:
        schema: The analysed graph.
        vertices: Selected vertex collection names.

    Returns:
        Edge collection names in schema order. Collections without an edge definition are
        left out: their endpoints are unknown, so loading them could reference vertices
        outside the selection.
    """
    inside = set(vertices)
    endpoints = _edge_endpoints(schema)
    return [
        name
        for name, (sources, targets) in endpoints.items()
        if sources and targets and sources | targets <= inside and edge_count(schema, name) > 0
    ]


def cycle_edges(schema: GraphSchema, edges: Iterable[str]) -> list[str]:
    """The edge collections among ``edges`` that can be part of a directed cycle.

    Args:
        schema: The analysed graph.
        edges: Candidate edge collection names.

    Returns:
        Names, in the given order, of edge collections with an arc ``a→b`` between vertex
        collections where ``b`` reaches ``a`` through the candidates (``a == b`` included).
    """
    candidates = list(edges)
    endpoints = _edge_endpoints(schema)
    arcs: dict[str, set[str]] = {}
    for name in candidates:
        sources, targets = endpoints.get(name, (set(), set()))
        for source in sources:
            arcs.setdefault(source, set()).update(targets)

    def reaches(start: str, goal: str) -> bool:
        seen, stack = {start}, [start]
        while stack:
            node = stack.pop()
            if node == goal:
                return True
            for nxt in arcs.get(node, ()):
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return False

    cyclic = []
    for name in candidates:
        sources, targets = endpoints.get(name, (set(), set()))
        if any(reaches(target, source) for source in sources for target in targets):
            cyclic.append(name)
    return cyclic


def choose_collections(algorithm: str, focus: list[str], schema: GraphSchema) -> CollectionChoice:
    """Pick the collections ``algorithm`` should read for a use case focused on ``focus``.

    Args:
        algorithm: A catalog algorithm name.
        focus: Vertex collections the use case is about; empty for no preference.
        schema: The analysed graph.

    Returns:
        The choice with notes for the rationale, or one whose ``problem`` says why the
        algorithm cannot run on this graph for this use case.
    """
    spec = ALGORITHMS.get(algorithm)
    if spec is None:
        return CollectionChoice(
            problem=f"unknown algorithm {algorithm!r}; known algorithms: {', '.join(sorted(ALGORITHMS))}"
        )
    names = [info.name for info in schema.vertex_collections]
    unknown = [name for name in focus if name not in names]
    if unknown:
        return CollectionChoice(
            problem=f"collection(s) {', '.join(unknown)} not in graph {schema.graph_name!r}, "
            f"which has vertex collections: {', '.join(names) or 'none'}"
        )
    roles: tuple[str, ...] = ()
    if spec.kind == "centrality":
        vertices = names
        edges = joining_edges(schema, vertices)
        notes = [
            f"{spec.title} is a centrality measure, so it reads the whole graph: every relationship, "
            "satellite links included, carries importance."
        ]
    elif spec.kind == "overlap":
        roles, problem = _overlap_roles(spec, focus, schema)
        if problem:
            return CollectionChoice(problem=problem)
        vertices = names
        edges = joining_edges(schema, vertices)
        notes = [_overlap_note(spec, roles)]
    else:
        vertices, edges, notes = _core_selection(spec, focus, schema)
    if not edges and spec.name in _CYCLE_ALGORITHMS and joining_edges(schema, core_collections(schema)):
        return CollectionChoice(
            problem=f"no edge collection among {_join(core_collections(schema))} can close a directed cycle, "
            + (
                "so every strongly connected component would be a single vertex"
                if spec.name == "scc"
                else "so there is no cycle to find"
            )
        )
    if not edges:
        return CollectionChoice(
            problem=f"no edge collection with edges joins {_join(vertices) or 'any vertex collection'}"
        )
    if _vertex_count(schema, vertices) == 0:
        return CollectionChoice(problem=f"vertex collection(s) {_join(vertices)} hold no vertices")
    return CollectionChoice(vertices=vertices, edges=edges, notes=notes, roles=roles)


def _overlap_roles(spec: AlgorithmSpec, focus: list[str], schema: GraphSchema) -> tuple[tuple[str, ...], str]:
    """The collections compared (and the members counted, last, for co-occurrence), or why there are none."""
    if spec.name == "similarity":
        return tuple(focus or core_collections(schema)[:1]), ""
    if len(focus) < 2:
        return (), (
            "co-occurrence needs two collections, the one compared and the one whose shared members are counted "
            f"(e.g. categories sharing customers); the question names {_join(focus) or 'none'}"
        )
    return (*focus[:-1], focus[-1]), ""


def _overlap_note(spec: AlgorithmSpec, roles: tuple[str, ...]) -> str:
    if spec.name == "similarity":
        return (
            f"Node similarity compares {_join(roles)} by the neighbours they share (Jaccard), so it reads the whole "
            "graph: every relationship is something two vertices can have in common."
        )
    return (
        f"Co-occurrence counts the {roles[-1]} that {_join(roles[:-1])} share: a member counts for a vertex it is tied "
        "to directly or through one vertex of another collection, so it reads the whole graph."
    )


def build_templates(
    use_cases: list[UseCase],
    schema: GraphSchema,
    max_templates: int,
    requirements: RequirementsDoc | None = None,
    unanswered: Sequence[UnansweredQuestion] = (),
) -> TemplatesResult:
    """Turn use cases into validated analysis templates that answer as many requirements as fit.

    Use cases that ask for the same algorithm on the same collections, or on a subset of
    another's collections (a near-duplicate), become one candidate serving all of them.
    Candidates are then chosen greedily, one slot at a time, by what they add (see
    :func:`_gain`): the weight of the must/should requirements and objectives they answer
    first, then that of the "could" ones, then new questions of requirements already
    answered by another algorithm; ties go to a question no chosen template asks yet, then
    to the use cases' order. A candidate that adds nothing is not run. Use cases that name
    no requirement (the vertical's defaults) fill the slots left, in order.

    Args:
        use_cases: The use cases, most important first.
        schema: The analysed graph.
        max_templates: At most this many templates (the workflow's ``max_executions``).
        requirements: The requirements and objectives; with them every one gets a
            :class:`RequirementCoverage`, in document order (requirements, then objectives).
        unanswered: The questions the use-case agent found this graph cannot answer.

    Returns:
        The templates, ids ``TPL-001``… in the order chosen; one sentence per use case that
        got no template; the coverage.
    """
    candidates, rejected, problems = _candidates(use_cases, schema)
    weights = _weights(use_cases, requirements)
    order = _greedy(candidates, weights)
    # Greedy choices never depend on the limit, so the first N steps are what N executions run.
    chosen = order[:max_templates]
    defaults = [candidate for candidate in candidates if not candidate.requirement_ids]
    chosen += defaults[: max(0, max_templates - len(chosen))]
    step = {id(candidate): number for number, candidate in enumerate(order, start=1)}
    for candidate in candidates:
        if candidate in chosen:
            continue
        for case in candidate.use_cases:
            if id(candidate) in step or not candidate.requirement_ids:
                needed = step.get(id(candidate))
                extra = f"; {needed} executions would run it" if needed else ""
                rejected.append(
                    f"{case.id} ({case.title}): over max_executions ({max_templates} templates chosen for what they "
                    f"answer first){extra}"
                )
            else:
                rejected.append(f"{case.id} ({case.title}): answers nothing the chosen templates do not already answer")
    templates = [candidate.template(f"TPL-{index:03d}", schema) for index, candidate in enumerate(chosen, start=1)]
    coverage = (
        _coverage(requirements, templates, order, step, max_templates, problems, unanswered) if requirements else []
    )
    return TemplatesResult(templates=templates, rejected=rejected, coverage=coverage)


QUESTIONS = {
    "pagerank": "importance",
    "betweenness": "brokers and bridges",
    "louvain": "communities",
    "leiden": "communities",
    "label_propagation": "communities",
    "wcc": "connected and isolated groups",
    "scc": "cycles",
    "closeness": "nearness to the rest",
    "harmonic": "nearness to the rest",
    "hits": "hubs and authorities",
    "degree": "most connected",
    "eigenvector": "importance",
    "k_core": "cohesive cores",
    "triangles": "closed triangles",
    "clustering": "tight-knit circles",
    "k_hop": "reach and exposure",
    "cycles": "cycles",
    "similarity": "similar vertices",
    "co_occurrence": "shared members",
}
"""The question each algorithm answers; two algorithms with the same question are near-duplicates for a requirement."""

PRIORITY_WEIGHTS = {"critical": 4, "high": 3, "medium": 2, "low": 1}
"""How much answering one requirement of each priority is worth; an objective counts as ``medium``."""


@dataclass
class _Candidate:
    """A template under construction: the use cases it serves (the first names it) and their requirements."""

    use_cases: list[UseCase]
    choice: CollectionChoice
    requirement_ids: list[str] = field(default_factory=list)

    @property
    def algorithm(self) -> str:
        return self.use_cases[0].algorithm

    def serve(self, use_case: UseCase) -> None:
        self.use_cases.append(use_case)
        self.requirement_ids = list(dict.fromkeys([*self.requirement_ids, *use_case.requirement_ids]))

    def template(self, template_id: str, schema: GraphSchema) -> AnalysisTemplate:
        primary = self.use_cases[0]
        spec = ALGORITHMS[primary.algorithm]
        vertices, edges = self.choice.vertices, self.choice.edges
        n, m = _vertex_count(schema, vertices), sum(edge_count(schema, name) for name in edges)
        params, param_notes = _parameters(spec, n, m, self.choice.roles)
        rationale = [
            f"{spec.title} ({spec.kind}) for {primary.id}, over {n:,} vertices in {_join(vertices)} "
            f"and {m:,} edges in {_join(edges)}.",
            *self.choice.notes,
            *param_notes,
        ]
        if len(self.use_cases) > 1:
            served = ", ".join(f"{other.id} ({other.title})" for other in self.use_cases[1:])
            rationale.append(f"Also serves {served}, which asks for the same analysis on these collections or fewer.")
        named = {name for case in self.use_cases for name in case.focus_collections}
        focus = [c for c in vertices if c in named]
        if spec.name == "co_occurrence":
            focus = list(self.choice.roles[:-1])
        elif spec.kind == "overlap":
            focus = list(self.choice.roles)
        return AnalysisTemplate(
            id=template_id,
            use_case_id=primary.id,
            title=_merged_title(primary, focus),
            algorithm=spec.name,
            vertex_collections=list(vertices),
            edge_collections=list(edges),
            directed=spec.directed,
            params=params,
            result_field=spec.result_field,
            rationale=" ".join(rationale),
            focus_collections=focus,
            requirement_ids=list(self.requirement_ids),
            use_case_ids=[case.id for case in self.use_cases],
            planned_by=primary.planned_by,
            edge_semantics=edge_semantics_of(schema, edges),
        )


def _candidates(
    use_cases: list[UseCase], schema: GraphSchema
) -> tuple[list[_Candidate], list[str], dict[str, list[str]]]:
    """One candidate per distinct analysis; the use cases that cannot run; their problems by requirement id."""
    candidates: list[_Candidate] = []
    rejected: list[str] = []
    problems: dict[str, list[str]] = {}
    for use_case in use_cases:
        choice = choose_collections(use_case.algorithm, use_case.focus_collections, schema)
        if choice.problem:
            rejected.append(f"{use_case.id} ({use_case.title}): {choice.problem}")
            for requirement_id in use_case.requirement_ids:
                title = ALGORITHMS[use_case.algorithm].title if use_case.algorithm in ALGORITHMS else use_case.algorithm
                problems.setdefault(requirement_id, []).append(f"{title}: {choice.problem}")
            continue
        same = next((c for c in candidates if c.algorithm == use_case.algorithm and _covers(c.choice, choice)), None)
        if same is not None:
            same.serve(use_case)
            continue
        wider = [c for c in candidates if c.algorithm == use_case.algorithm and _covers(choice, c.choice)]
        if wider:
            # A later use case reads more: the earlier, narrower ones join it, the most important first.
            merged = _Candidate([], choice)
            for narrower in wider:
                for case in narrower.use_cases:
                    merged.serve(case)
                candidates.remove(narrower)
            merged.serve(use_case)
            candidates.append(merged)
            continue
        candidate = _Candidate([], choice)
        candidate.serve(use_case)
        candidates.append(candidate)
    order = {case.id: index for index, case in enumerate(use_cases)}
    for candidate in candidates:
        served = sorted(candidate.use_cases, key=lambda case: order[case.id])
        candidate.use_cases, candidate.requirement_ids = [], []
        for case in served:
            candidate.serve(case)
    candidates.sort(key=lambda c: order[c.use_cases[0].id])
    return candidates, rejected, problems


def _covers(wide: CollectionChoice, narrow: CollectionChoice) -> bool:
    same_roles = wide.roles == narrow.roles
    return same_roles and set(narrow.vertices) <= set(wide.vertices) and set(narrow.edges) <= set(wide.edges)


_Weight = tuple[int, int]
"""(weight among must/should requirements and objectives, weight among "could" requirements)."""


def _weights(use_cases: list[UseCase], requirements: RequirementsDoc | None) -> dict[str, _Weight]:
    weights: dict[str, _Weight] = {}
    for case in use_cases:  # ids the documents do not list take their use case's priority
        for requirement_id in case.requirement_ids:
            weights.setdefault(requirement_id, _weight(case.priority))
    if requirements is not None:
        weights.update({requirement.id: _weight(requirement.priority) for requirement in requirements.requirements})
        weights.update({objective.id: _weight("medium") for objective in requirements.objectives})
    return weights


def _weight(priority: str) -> _Weight:
    return (0, PRIORITY_WEIGHTS["low"]) if priority == "low" else (PRIORITY_WEIGHTS[priority], 0)


def _greedy(candidates: list[_Candidate], weights: dict[str, _Weight]) -> list[_Candidate]:
    """The candidates that add something, in the order greedy weighted set cover takes them."""
    answered: set[str] = set()
    asked: set[tuple[str, str]] = set()
    questions: set[str] = set()
    pool = [candidate for candidate in candidates if candidate.requirement_ids]
    order: list[_Candidate] = []
    while pool:
        best = max(pool, key=lambda c: (_gain(c, weights, answered, asked, questions), -candidates.index(c)))
        if not any(_gain(best, weights, answered, asked, questions)[:3]):
            break
        pool.remove(best)
        order.append(best)
        question = QUESTIONS.get(best.algorithm, best.algorithm)
        answered.update(best.requirement_ids)
        asked.update((requirement_id, question) for requirement_id in best.requirement_ids)
        questions.add(question)
    return order


def _gain(
    candidate: _Candidate,
    weights: dict[str, _Weight],
    answered: set[str],
    asked: set[tuple[str, str]],
    questions: set[str],
) -> tuple[int, int, int, int]:
    """What choosing ``candidate`` adds: must/should weight, "could" weight, new questions' weight, a new question."""
    question = QUESTIONS.get(candidate.algorithm, candidate.algorithm)
    new = [requirement_id for requirement_id in candidate.requirement_ids if requirement_id not in answered]
    again = [
        requirement_id
        for requirement_id in candidate.requirement_ids
        if requirement_id in answered and (requirement_id, question) not in asked
    ]
    return (
        sum(weights[requirement_id][0] for requirement_id in new),
        sum(weights[requirement_id][1] for requirement_id in new),
        sum(sum(weights[requirement_id]) for requirement_id in again),
        int(question not in questions),
    )


def _coverage(
    requirements: RequirementsDoc,
    templates: list[AnalysisTemplate],
    order: list[_Candidate],
    step: dict[int, int],
    max_templates: int,
    problems: dict[str, list[str]],
    unanswered: Sequence[UnansweredQuestion],
) -> list[RequirementCoverage]:
    """What became of each requirement and objective, in document order."""
    missing = {requirement_id: list(reasons) for requirement_id, reasons in problems.items()}
    for question in unanswered:
        title = ALGORITHMS[question.algorithm].title if question.algorithm in ALGORITHMS else question.algorithm
        for requirement_id in question.requirement_ids:
            missing.setdefault(requirement_id, []).append(f"{title}: {question.reason}")
    outputs = {constraint.source: constraint for constraint in requirements.output_constraints}
    items = [(r.id, r.text, r.kind) for r in requirements.requirements]
    items += [(o.id, o.text, "objective") for o in requirements.objectives]
    coverage = []
    for requirement_id, text, kind in items:
        answering = [template for template in templates if requirement_id in template.requirement_ids]
        waiting = [candidate for candidate in order[max_templates:] if requirement_id in candidate.requirement_ids]
        needed = min((step[id(candidate)] for candidate in waiting), default=None)
        output = outputs.get(requirement_id)
        honoured = ""
        if output is not None and reports_honour(output):
            honoured = f"honoured by the reports as {describe_constraint(output)} ({output.id})"
        elif output is not None:
            honoured = (
                f"not honoured: it asks for {describe_constraint(output)} ({output.id}), but the reports are written "
                "in English as Markdown, JSON, HTML and CSV"
            )
        status, reason = "not_analytic", _NOT_ANALYTIC[kind == "non_functional"]
        if answering:
            status = "answered"
            answered_by = ", ".join(f"{t.id} ({ALGORITHMS[t.algorithm].title})" for t in answering)
            unrun = [
                f"its {QUESTIONS[c.algorithm]} question ({ALGORITHMS[c.algorithm].title}) got no slot: "
                f"{step[id(c)]} executions would run it"
                for c in waiting
            ]
            reason = "; ".join([f"answered by {answered_by}", *unrun, *([f"also {honoured}"] if output else [])])
            needed = None
        elif waiting:
            status = "no_slot"
            first = min(waiting, key=lambda candidate: step[id(candidate)])
            reason = (
                f"{ALGORITHMS[first.algorithm].title} on {_join(first.choice.vertices)} would answer it, but the "
                f"{max_templates} executions allowed went to requirements that weigh more; max_executions {needed} "
                "would cover it"
            )
        elif requirement_id in missing:
            status, reason = "no_data", "the graph cannot answer it: " + "; ".join(missing[requirement_id])
        elif output:
            status, reason = "output_request", f"an output request, {honoured}"
        coverage.append(
            RequirementCoverage(
                requirement_id=requirement_id,
                text=text,
                status=status,
                template_ids=[template.id for template in answering],
                reason=reason,
                executions_needed=needed,
            )
        )
    return coverage


_NOT_ANALYTIC = {
    True: "a non-functional requirement: it says how the analyses must run, not which question to ask of the graph",
    False: "no graph algorithm answers it: it asks no question of influence, connectedness, communities, connected "
    "or isolated groups, cohesive cores, cycles, brokers, reach, similarity or shared members",
}
"""Why a requirement no analysis answers is not analytic, by whether it is non-functional."""


def describe_constraint(constraint: OutputConstraint) -> str:
    """A constraint in a few words: ``no names of customer``, ``a CSV file of the results``."""
    if constraint.kind == "no_names":
        return f"no {_join(constraint.collections)} names" if constraint.collections else "no names of any vertex"
    if constraint.kind == "max_items":
        return f"at most {constraint.value} items per list"
    if constraint.kind == "language":
        return f"reports in {constraint.value}"
    return f"a {str(constraint.value).upper()} file of the results"


def _core_selection(
    spec: AlgorithmSpec, focus: list[str], schema: GraphSchema
) -> tuple[list[str], list[str], list[str]]:
    """Vertices, edges and notes for a connectivity or community algorithm."""
    core = core_collections(schema)
    merged = {
        "connectivity": "merge unrelated core vertices into one component",
        "community": "merge unrelated core vertices into one community",
    }.get(spec.kind, "tie unrelated core vertices together through it")
    notes: list[str] = []
    satellites = [info.name for info in schema.vertex_collections if info.name not in core]
    if satellites:
        core_edges = joining_edges(schema, core)
        reaching = [info.name for info in schema.edge_collections if info.name not in core_edges]
        notes.append(
            f"Satellite collections ({_join(satellites)}) and the edges reaching them ({_join(reaching) or 'none'}) "
            f"are left out: shared reference data would {merged}."
        )
    named_satellites = [name for name in focus if name not in core]
    if named_satellites:
        notes.append(
            f"The use case names {_join(named_satellites)} too, which {spec.title} leaves out for that reason."
        )
    vertices = core
    named = [name for name in core if name in focus]
    if named and len(named) < len(core):
        if _usable_edges(spec, schema, named):
            vertices = named
            notes.append(f"The use case names {_join(named)}, so only the edges among them are read.")
        else:
            notes.append(
                f"The use case names {_join(named)}, but no edge collection "
                f"{'that can close a cycle ' if spec.name in _CYCLE_ALGORITHMS else ''}joins them, "
                f"so the selection widens to all core collections ({_join(core)})."
            )
    edges = joining_edges(schema, vertices)
    if spec.name not in _CYCLE_ALGORITHMS:
        return vertices, edges, notes
    cyclic = cycle_edges(schema, edges)
    acyclic = [name for name in edges if name not in cyclic]
    endpoints = _edge_endpoints(schema)
    on_cycles = {collection for name in cyclic for collection in endpoints[name][0] | endpoints[name][1]}
    cyclic_vertices = [name for name in vertices if name in on_cycles]
    if cyclic and acyclic:
        notes.append(
            f"Only {_join(cyclic)} can close a directed cycle; {_join(acyclic)} "
            f"{'leads' if len(acyclic) == 1 else 'lead'} nowhere back and can be on no cycle, "
            f"so {spec.title} reads {_join(cyclic_vertices)} with {_join(cyclic)}."
        )
    return cyclic_vertices, cyclic, notes


def _usable_edges(spec: AlgorithmSpec, schema: GraphSchema, vertices: list[str]) -> list[str]:
    """Edges that make ``spec`` meaningful on ``vertices``: any joining edge, cycle-capable ones for SCC."""
    edges = joining_edges(schema, vertices)
    return cycle_edges(schema, edges) if spec.name in _CYCLE_ALGORITHMS else edges


_CYCLE_ALGORITHMS = ("scc", "cycles")

_SAMPLED_ALGORITHMS = {"betweenness": "betweenness", "closeness": "closeness", "harmonic": "harmonic centrality"}
"""Algorithms exact up to ``exact_limit`` vertices and sampled above it, one pass per source; how notes name them."""
"""Algorithms that read only the edge collections that can close a directed cycle."""


def _parameters(
    spec: AlgorithmSpec, vertices: int, edges: int, roles: tuple[str, ...] = ()
) -> tuple[dict[str, Scalar], list[str]]:
    """Catalog defaults, adjusted where the graph's size calls for it, with the reasons."""
    params: dict[str, Scalar] = dict(resolve_params(spec.name, {}))
    if not params:
        return params, [f"{spec.title} takes no parameters."]
    if spec.name == "co_occurrence":
        params["members"] = roles[-1]
        shown = ", ".join(f"{key}={value}" for key, value in params.items())
        return params, [f"Parameters: {shown} (members are the collection the question counts as shared)."]
    if spec.name not in _SAMPLED_ALGORITHMS:
        shown = ", ".join(f"{key}={value}" for key, value in params.items())
        return params, [f"Parameters are the catalog defaults ({shown}); nothing in this graph calls for others."]
    what = _SAMPLED_ALGORITHMS[spec.name]
    visits = vertices + edges
    default_limit, default_samples = int(params["exact_limit"]), int(params["samples"])
    # Exact betweenness runs one pass per vertex, so it is affordable only while vertices × visits fits the budget.
    exact_limit = min(default_limit, BETWEENNESS_VISIT_BUDGET // visits)
    params["exact_limit"] = exact_limit
    notes = []
    if exact_limit != default_limit:
        notes.append(
            f"exact_limit lowered from {default_limit:,} to {exact_limit:,}: exact {what} costs one pass over "
            f"{visits:,} vertices and edges per vertex, and the budget is {BETWEENNESS_VISIT_BUDGET:,} visits."
        )
    if vertices <= exact_limit:
        notes.append(f"{vertices:,} vertices ≤ exact_limit {exact_limit:,}, so {what} is exact and samples is unused.")
        return params, notes
    samples = max(BETWEENNESS_MIN_SAMPLES, min(default_samples, BETWEENNESS_VISIT_BUDGET // visits))
    params["samples"] = samples
    if samples != default_samples:
        notes.append(
            f"{vertices:,} vertices > exact_limit, so {what} is sampled from {samples} sources instead of "
            f"{default_samples}: each source costs a pass over {visits:,} vertices and edges against a budget of "
            f"{BETWEENNESS_VISIT_BUDGET:,} visits (never fewer than {BETWEENNESS_MIN_SAMPLES}, "
            "below which the top ranks are noise)."
        )
    else:
        notes.append(f"{vertices:,} vertices > exact_limit, so {what} is sampled from the default {samples} sources.")
    return params, notes


def _edge_endpoints(schema: GraphSchema) -> dict[str, tuple[set[str], set[str]]]:
    """Edge collection → (source collections, target collections), in schema order."""
    endpoints: dict[str, tuple[set[str], set[str]]] = {info.name: (set(), set()) for info in schema.edge_collections}
    for definition in schema.edge_definitions:
        sources, targets = endpoints.setdefault(definition.collection, (set(), set()))
        sources.update(definition.from_collections)
        targets.update(definition.to_collections)
    return endpoints


def _vertex_count(schema: GraphSchema, names: Iterable[str]) -> int:
    wanted = set(names)
    return sum(info.count for info in schema.vertex_collections if info.name in wanted)


def _join(names: Iterable[str]) -> str:
    return ", ".join(names)


def scoped_title(title: str, collections: Iterable[str]) -> str:
    """``Customer segments among customers and products``: a title narrowed to the collections it asks about."""
    items = list(collections)
    joined = f"{', '.join(items[:-1])} and {items[-1]}" if len(items) > 1 else "".join(items)
    return f"{title} among {joined}"


def _merged_title(primary: UseCase, focus: list[str]) -> str:
    """The primary use case's title, its ``among …`` narrowed or widened to the template's focus."""
    narrowed = scoped_title("", primary.focus_collections)
    if not focus or not primary.title.endswith(narrowed):
        return primary.title
    return scoped_title(primary.title.removesuffix(narrowed), focus)
