"""Template agent: turns use cases into executable, validated analysis templates.

A template names an algorithm, its parameters and exactly the collections it reads. The
collections depend on the algorithm's kind (see ``choose_collections``):

* Centrality (PageRank, betweenness) reads the whole graph: every vertex collection and
  every edge collection whose endpoints are known, because importance flows through every
  relationship, satellite links included.
* Connectivity (WCC, SCC) and community (Louvain, label propagation) read the core vertex
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

Invalid use cases are not raised: each becomes a sentence in the ``rejected`` list.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from agents.algorithms import ALGORITHMS, AlgorithmSpec, resolve_params
from bus.contract import AnalysisTemplate, GraphSchema, Scalar, TemplatesResult, TemplatesTask, UseCase

# Measured: the engine's Brandes visits ~3e7 vertices+edges per second on this 2-core
# machine (32 sources on a random 10^6-vertex / 10^7-edge graph in 11 s, poor memory
# locality). One pass visits every vertex and edge once, so this budget keeps a
# betweenness run near 20 s here.
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
        return CollectionChoice(problem=f"unknown algorithm {algorithm!r}; known algorithms: {', '.join(sorted(ALGORITHMS))}")
    names = [info.name for info in schema.vertex_collections]
    unknown = [name for name in focus if name not in names]
    if unknown:
        return CollectionChoice(
            problem=f"collection(s) {', '.join(unknown)} not in graph {schema.graph_name!r}, "
            f"which has vertex collections: {', '.join(names) or 'none'}"
        )
    if spec.kind == "centrality":
        vertices = names
        edges = joining_edges(schema, vertices)
        notes = [
            f"{spec.title} is a centrality measure, so it reads the whole graph: every relationship, "
            "satellite links included, carries importance."
        ]
    else:
        vertices, edges, notes = _core_selection(spec, focus, schema)
    if not edges and spec.name == "scc" and joining_edges(schema, core_collections(schema)):
        return CollectionChoice(
            problem=f"no edge collection among {_join(core_collections(schema))} can close a directed cycle, "
            "so every strongly connected component would be a single vertex"
        )
    if not edges:
        return CollectionChoice(problem=f"no edge collection with edges joins {_join(vertices) or 'any vertex collection'}")
    if _vertex_count(schema, vertices) == 0:
        return CollectionChoice(problem=f"vertex collection(s) {_join(vertices)} hold no vertices")
    return CollectionChoice(vertices=vertices, edges=edges, notes=notes)


def build_templates(
    use_cases: list[UseCase], schema: GraphSchema, max_templates: int
) -> tuple[list[AnalysisTemplate], list[str]]:
    """Turn use cases into validated analysis templates.

    Use cases are taken in the given order (the use-case agent sorts them by priority), so
    when ``max_templates`` is reached the least important ones are the ones left out. A use
    case that asks for the same algorithm on the same collections as an earlier one does not
    get a template of its own: the earlier template's rationale notes that it serves both.

    Args:
        use_cases: The use cases, most important first.
        schema: The analysed graph.
        max_templates: At most this many templates (the workflow's ``max_executions``).

    Returns:
        The templates, ids ``TPL-001``… in order, and one sentence per use case that got
        no template (unknown algorithm or collection, nothing to read, or over the limit).
    """
    drafts: list[_Draft] = []
    by_key: dict[tuple[str, tuple[str, ...], tuple[str, ...]], _Draft] = {}
    rejected: list[str] = []
    for use_case in use_cases:
        choice = choose_collections(use_case.algorithm, use_case.focus_collections, schema)
        if choice.problem:
            rejected.append(f"{use_case.id} ({use_case.title}): {choice.problem}")
            continue
        key = (use_case.algorithm, tuple(choice.vertices), tuple(choice.edges))
        if key in by_key:
            by_key[key].also.append(use_case)
            continue
        if len(drafts) >= max_templates:
            rejected.append(
                f"{use_case.id} ({use_case.title}): over max_executions ({max_templates} templates already "
                "chosen for earlier use cases); raise max_executions to run it"
            )
            continue
        draft = _Draft(use_case, choice)
        by_key[key] = draft
        drafts.append(draft)
    templates = [draft.template(f"TPL-{index:03d}", schema) for index, draft in enumerate(drafts, start=1)]
    return templates, rejected


@dataclass
class _Draft:
    """A template under construction: later duplicates add to ``also`` before it is frozen."""

    use_case: UseCase
    choice: CollectionChoice
    also: list[UseCase] = field(default_factory=list)

    def template(self, template_id: str, schema: GraphSchema) -> AnalysisTemplate:
        spec = ALGORITHMS[self.use_case.algorithm]
        vertices, edges = self.choice.vertices, self.choice.edges
        n, m = _vertex_count(schema, vertices), sum(edge_count(schema, name) for name in edges)
        params, param_notes = _parameters(spec, n, m)
        rationale = [
            f"{spec.title} ({spec.kind}) for {self.use_case.id}, over {n:,} vertices in {_join(vertices)} "
            f"and {m:,} edges in {_join(edges)}.",
            *self.choice.notes,
            *param_notes,
        ]
        if self.also:
            served = ", ".join(f"{other.id} ({other.title})" for other in self.also)
            rationale.append(f"Also serves {served}, which asks for the same analysis on the same collections.")
        return AnalysisTemplate(
            id=template_id,
            use_case_id=self.use_case.id,
            title=self.use_case.title,
            algorithm=spec.name,
            vertex_collections=list(vertices),
            edge_collections=list(edges),
            directed=spec.directed,
            params=params,
            result_field=spec.result_field,
            rationale=" ".join(rationale),
            focus_collections=[c for c in self.use_case.focus_collections if c in vertices],
        )


def _core_selection(spec: AlgorithmSpec, focus: list[str], schema: GraphSchema) -> tuple[list[str], list[str], list[str]]:
    """Vertices, edges and notes for a connectivity or community algorithm."""
    core = core_collections(schema)
    group = "component" if spec.kind == "connectivity" else "community"
    notes: list[str] = []
    satellites = [info.name for info in schema.vertex_collections if info.name not in core]
    if satellites:
        core_edges = joining_edges(schema, core)
        reaching = [info.name for info in schema.edge_collections if info.name not in core_edges]
        notes.append(
            f"Satellite collections ({_join(satellites)}) and the edges reaching them ({_join(reaching) or 'none'}) "
            f"are left out: shared reference data would merge unrelated core vertices into one {group}."
        )
    named_satellites = [name for name in focus if name not in core]
    if named_satellites:
        notes.append(f"The use case names {_join(named_satellites)} too, which {spec.title} leaves out for that reason.")
    vertices = core
    named = [name for name in core if name in focus]
    if named and len(named) < len(core):
        if _usable_edges(spec, schema, named):
            vertices = named
            notes.append(f"The use case names {_join(named)}, so only the edges among them are read.")
        else:
            notes.append(
                f"The use case names {_join(named)}, but no edge collection "
                f"{'that can close a cycle ' if spec.name == 'scc' else ''}joins them, "
                f"so the selection widens to all core collections ({_join(core)})."
            )
    edges = joining_edges(schema, vertices)
    if spec.name != "scc":
        return vertices, edges, notes
    cyclic = cycle_edges(schema, edges)
    acyclic = [name for name in edges if name not in cyclic]
    endpoints = _edge_endpoints(schema)
    on_cycles = {collection for name in cyclic for collection in endpoints[name][0] | endpoints[name][1]}
    cyclic_vertices = [name for name in vertices if name in on_cycles]
    if cyclic and acyclic:
        notes.append(
            f"Only {_join(cyclic)} can close a directed cycle; {_join(acyclic)} "
            f"{'leads' if len(acyclic) == 1 else 'lead'} nowhere back and would add only single-vertex components, "
            f"so SCC reads {_join(cyclic_vertices)} with {_join(cyclic)}."
        )
    return cyclic_vertices, cyclic, notes


def _usable_edges(spec: AlgorithmSpec, schema: GraphSchema, vertices: list[str]) -> list[str]:
    """Edges that make ``spec`` meaningful on ``vertices``: any joining edge, cycle-capable ones for SCC."""
    edges = joining_edges(schema, vertices)
    return cycle_edges(schema, edges) if spec.name == "scc" else edges


def _parameters(spec: AlgorithmSpec, vertices: int, edges: int) -> tuple[dict[str, Scalar], list[str]]:
    """Catalog defaults, adjusted where the graph's size calls for it, with the reasons."""
    params: dict[str, Scalar] = dict(resolve_params(spec.name, {}))
    if not params:
        return params, [f"{spec.title} takes no parameters."]
    if spec.name != "betweenness":
        shown = ", ".join(f"{key}={value}" for key, value in params.items())
        return params, [f"Parameters are the catalog defaults ({shown}); nothing in this graph calls for others."]
    visits = vertices + edges
    default_limit, default_samples = int(params["exact_limit"]), int(params["samples"])
    # Exact betweenness runs one pass per vertex, so it is affordable only while vertices × visits fits the budget.
    exact_limit = min(default_limit, BETWEENNESS_VISIT_BUDGET // visits)
    params["exact_limit"] = exact_limit
    notes = []
    if exact_limit != default_limit:
        notes.append(
            f"exact_limit lowered from {default_limit:,} to {exact_limit:,}: exact betweenness costs one pass over "
            f"{visits:,} vertices and edges per vertex, and the budget is {BETWEENNESS_VISIT_BUDGET:,} visits."
        )
    if vertices <= exact_limit:
        notes.append(f"{vertices:,} vertices ≤ exact_limit {exact_limit:,}, so betweenness is exact and samples is unused.")
        return params, notes
    samples = max(BETWEENNESS_MIN_SAMPLES, min(default_samples, BETWEENNESS_VISIT_BUDGET // visits))
    params["samples"] = samples
    if samples != default_samples:
        notes.append(
            f"{vertices:,} vertices > exact_limit, so betweenness is sampled from {samples} sources instead of "
            f"{default_samples}: each source costs a pass over {visits:,} vertices and edges against a budget of "
            f"{BETWEENNESS_VISIT_BUDGET:,} visits (never fewer than {BETWEENNESS_MIN_SAMPLES}, "
            "below which the top ranks are noise)."
        )
    else:
        notes.append(f"{vertices:,} vertices > exact_limit, so betweenness is sampled from the default {samples} sources.")
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


# ---------------------------------------------------------------- the agent


async def handle(task: TemplatesTask, ctx) -> TemplatesResult:
    templates, rejected = build_templates(task.use_cases, task.schema, task.max_templates)
    return TemplatesResult(templates=templates, rejected=rejected)


if __name__ == "__main__":
    from agents._runtime import run_agent

    run_agent("templates", handle)
