"""Use-case agent: maps requirements, schema and vertical to graph-analytics use cases.

The mapping is deterministic and offline. Each functional requirement and each objective is
scanned for signal words:

=================  ==========================================================================
algorithm          signal words (word stems, case-insensitive)
=================  ==========================================================================
pagerank           influen-, importan-, key, top, rank-, popular-, hub, reach (not reachab-),
                   "PageRank"
louvain            communit-, segment-, cluster-, group-, cohort, taste, "Louvain"
leiden             "Leiden", (well-)connected communities/segments/clusters, well-connected groups
label_propagation  a louvain signal plus a speed/scale cue (fast-, large-scale, at scale,
                   scalab-, real-time, label-), or "label propagation" by name
wcc                connected-, disconnected, connectivity, isolat-, fragment-, island,
                   silo-, orphan-, "weakly connected"
scc                cycl-, circular-, loop-, ring, reciproc-, mutual-, round-trip, collu-,
                   "strongly connected"
betweenness        bridg-, broker-, bottleneck, gatekeep-, intermediar-, "flow(s) between",
                   "betweenness", and "bridges/brokers/connects … communities (groups,
                   clusters, segments)" as one phrase
closeness          closeness (centrality), reachab-, close to all/everyone/the rest, average
                   distance, shortest path length(s), reached quickest/fastest/soonest
harmonic           harmonic (centrality)
hits               HITS (algorithm/scores), hubs and authorities, hub score(s), authorit-,
                   "points to the most …"
degree             degree, in-/out-degree, most connected/linked, number of connections
eigenvector        eigenvector (centrality), prestig-
k_core             cohesive, k-core, core group, tight-knit, dense core
triangles          triangle(s), triangle count, triad
clustering         clustering coefficient, transitiv-
k_hop              k-hop, two-hop (one…four, 1–6), within … hops, hops away, exposure, exposed,
                   neighbourhood
cycles             short/small/bounded cycles (rings, loops), cycles of length/up to/at most …,
                   cycle detection
similarity         similar-, look-alike, Jaccard, "node similarity"
co_occurrence      share(s) the most/many/more/common, co-occurr-, bought together, in common
=================  ==========================================================================

Plain community words ask for Louvain, not Leiden: Leiden, which keeps every community connected, takes
well over the 1.5 times Louvain's time that would make it the default (docs/BENCHMARKS.md, section 8), so
it is asked for by name or by "well-connected" / "connected" communities.

Where matches overlap the longest wins, so "strongly connected" means SCC and not WCC, and
"bridges between communities" means betweenness and not Louvain. Three rules keep a requirement
to the questions it asks:

* A requirement that names an algorithm ("PageRank", "label propagation", "betweenness",
  "strongly/weakly connected", "Louvain", "Leiden", "closeness", "harmonic", "hubs and authorities")
  asks its question with that one and no other:
  "community detection (label propagation)" is no Louvain run.
* Weak words ("group" for Louvain; "key", "top", "rank", "reach" for PageRank; "similar" for similarity;
  "degree" for degree) count only
  when no other algorithm has a strong word in the same requirement: "isolated customer
  groups" asks for components, "groups … in closed loops" for cycles, not communities.
* An output request (export, download, CSV, Excel…) that speaks of the results of other
  analyses ("every ranking and segment") asks for no analysis of its own: those result
  nouns are not signals there. It is honoured as an output constraint instead.

Non-functional requirements are not scanned: they say how well the system must work, not
which question to ask of the graph, and words like "key" or "top" there would produce false
use cases.

The vertical adds signals of its own: a vertical keyword or terminology term that appears in
exactly one of the vertical's algorithm patterns (title or meaning) points at that algorithm,
e.g. "ring" in a fraud vertical whose SCC pattern is "Fraud rings". Terms naming the
vertical's key entities or the graph's collections are not signals: they say what a
requirement is about, not which question it asks. The vertical's pattern titles and meanings
also give the use cases their domain wording.

Schema awareness: a use case is about the vertex collections its requirements ask about (by
name, singular or plural, ``_``/``-`` read as spaces), else the core collections; they
go into its ``focus_collections``, which the template agent reads. A collection named only
in a relative clause is context, not the subject: "hub products that connect many customers
and categories" asks about products. When nothing is named before the clause, every
collection named counts.
Co-occurrence asks about two collections in order: the one named last before its words is
compared, the one named first after them is counted ("which categories share the most
customers": ``categories`` then ``customers``, its ``focus_collections``).
Matches for the same algorithm and the same collections merge into one use case. An
algorithm the schema cannot support (no edges; connectivity or community without edges among
core collections; SCC without an edge that can close a cycle) gets no use case; the result
lists it under ``unanswered`` with the requirements that asked and the reason
(``unanswered_questions``), and the workflow's status carries that list.

When no requirement yields a supported use case, a fallback set is returned: PageRank,
Louvain and WCC, limited to those the vertical has patterns for (all three when it has none
of them), on the core collections, with reasons that say plainly that no requirement asked
for them, no requirement ids and the contract's default priority, ``medium``. A use case fed
only by objectives (which carry no priority) is ``medium`` too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from gaai.agents.lib.algorithms import ALGORITHMS
from gaai.agents.lib.llm import offline_responder
from gaai.agents.lib.llm_http import WRAPPER_PROPERTY
from gaai.agents.templates.build import QUESTIONS, choose_collections, core_collections, scoped_title
from gaai.bus.contract import UseCasesTask
from gaai.bus.domain import GraphSchema, RequirementsDoc, UnansweredQuestion, UseCase, VerticalProfile

_SIGNAL_WORDS: dict[str, tuple[str, ...]] = {
    "pagerank": (
        r"influen\w*",
        r"importan\w*",
        r"keys?",
        r"tops?",
        r"rank\w*",
        r"popular\w*",
        r"hubs?",
        r"reach(?:es|ing)?",
        r"page ?rank\w*",
    ),
    "louvain": (
        r"communit\w*",
        r"segment\w*",
        r"cluster\w*",
        r"group\w*",
        r"cohorts?",
        r"tastes?",
        r"louvain",
    ),
    "leiden": (
        r"leiden",
        r"(?:well[- ])?connected (?:communit\w*|segments?|clusters?)",
        r"well[- ]connected groups?",
    ),
    "label_propagation": (r"label propagation",),
    "wcc": (
        r"connected\w*",
        r"disconnected",
        r"connectivity",
        r"isolat\w*",
        r"fragment\w*",
        r"islands?",
        r"silo\w*",
        r"orphan\w*",
        r"weakly connected",
    ),
    "scc": (
        r"cycl\w*",
        r"circular\w*",
        r"loop\w*",
        r"rings?",
        r"reciproc\w*",
        r"mutual\w*",
        r"round[- ]trips?",
        r"collu\w*",
        r"strongly connected",
    ),
    "betweenness": (
        r"bridg\w*",
        r"broker\w*",
        r"bottlenecks?",
        r"gatekeep\w*",
        r"intermediar\w*",
        r"flows? between",
        r"betweenness",
        # A bridging word close before a grouping word asks who links the groups, not for the groups.
        r"(?:bridg\w*|broker\w*|gatekeep\w*|connect(?:s|ing)?) (?:\w+ ){0,2}?(?:communit|group|cluster|segment)\w*",
    ),
    "closeness": (
        r"closeness(?: centrality)?",
        r"reachab\w*",
        r"close to (?:all|everyone|everybody|the rest|most)\w*",
        r"(?:average|mean) (?:distances?|path lengths?)",
        r"shortest[- ]path lengths?",
        r"reached (?:quickest|fastest|soonest)",
    ),
    "harmonic": (r"harmonic(?: centrality)?",),
    "hits": (
        r"hits(?: algorithm| scores?| centrality)",
        r"hubs? and authorit\w*",
        r"hub scores?",
        r"authorit\w*",
        r"points? to the most \w+",
    ),
    "degree": (
        r"degrees?",
        r"in-?degrees?",
        r"out-?degrees?",
        r"most (?:connected|linked)",
        r"number of (?:connections|links|ties)",
    ),
    "eigenvector": (r"eigenvector(?: centrality)?", r"prestig\w*"),
    "k_core": (r"cohesive", r"k-?cores?", r"core groups?", r"tight[- ]knit", r"dense cores?"),
    "triangles": (r"triangles?", r"triangle counts?", r"triads?"),
    "clustering": (r"clustering coefficients?", r"transitiv\w*"),
    "k_hop": (
        r"k-?hops?",
        r"(?:one|two|three|four|[1-6])[- ]hops?",
        r"within \w+ hops?",
        r"hops? away",
        r"exposure",
        r"exposed",
        r"neighbou?rhoods?",
    ),
    "cycles": (
        r"(?:short|small|bounded(?:[- ]length)?) (?:cycles?|rings?|loops?)",
        r"(?:cycles?|rings?|loops?) of (?:length|up to|at most) \w+",
        r"cycle detection",
    ),
    "similarity": (
        r"similar\w*",
        r"look-?alikes?",
        r"jaccard",
        r"node similarity",
    ),
    "co_occurrence": (
        r"shar(?:e|es|ing)(?: the)? (?:most|many|more|common)",
        r"co-?occurr\w*",
        r"bought together",
        r"in common",
    ),
}
_SIGNALS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (algorithm, re.compile(rf"\b(?:{word})\b", re.IGNORECASE))
    for algorithm, words in _SIGNAL_WORDS.items()
    for word in words
)
_SPEED_CUE = re.compile(r"\b(?:fast\w*|large[- ]scale|at scale|scalab\w*|real[- ]?time|label\w*)\b", re.IGNORECASE)
_BY_NAME = re.compile(
    r"^(?:page ?rank\w*|louvain|leiden|label propagation|betweenness|closeness(?: centrality)?|harmonic(?: centrality)?"
    r"|hits(?: algorithm| scores?| centrality)|hubs? and authorit\w*|strongly connected|weakly connected"
    r"|k-?cores?|jaccard"
    r"|node similarity|clustering coefficients?|triangle counts?|co-?occurr\w*)$",
    re.IGNORECASE,
)
_WEAK_WORDS = re.compile(
    r"^(?:group\w*|similar\w*|keys?|tops?|rank(?:s|ed|ing|ings)?|reach(?:es|ing)?|degrees?)$", re.IGNORECASE
)
_OUTPUT_REQUEST = re.compile(
    r"\b(?:export\w*|download\w*|csv|excel|xlsx|spreadsheets?|json files?|as (?:a |an )?(?:file|pdf))\b", re.IGNORECASE
)
_RESULT_NOUNS = re.compile(r"^(?:rank(?:ing|ings|ed)?|segment(?:s|ation|ations)?|scores?|results?)$", re.IGNORECASE)

ALGORITHM_ORDER: tuple[str, ...] = tuple(_SIGNAL_WORDS)
FALLBACK_ALGORITHMS: tuple[str, ...] = ("pagerank", "louvain", "wcc")
_PRIORITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}

_GENERIC_TITLES = {
    "pagerank": "Most influential {t}",
    "louvain": "Communities of {t}",
    "leiden": "Connected communities of {t}",
    "label_propagation": "Fast communities of {t}",
    "wcc": "Connected groups and isolated {t}",
    "scc": "Cycles among {t}",
    "betweenness": "Brokers and bottlenecks among {t}",
    "closeness": "Closest {t} to the rest",
    "harmonic": "Nearest {t} to the rest",
    "hits": "Authorities and hubs among {t}",
    "degree": "Most connected {t}",
    "eigenvector": "Prestige of {t}",
    "k_core": "Cohesive cores among {t}",
    "triangles": "Triangles among {t}",
    "clustering": "Tight-knit circles among {t}",
    "k_hop": "Reach and exposure of {t}",
    "cycles": "Short cycles through {t}",
    "similarity": "Similar {t}",
    "co_occurrence": "Shared members of {t}",
}
_WHY = {
    "pagerank": (
        "PageRank ranks {t} by the importance of the vertices that link to them, so the most influential {t} come first"
    ),
    "louvain": (
        "Louvain splits {t} into communities that are densely linked inside and sparsely linked to each other, "
        "maximising modularity"
    ),
    "leiden": (
        "Leiden splits {t} into communities that are densely linked inside and sparsely linked to each other, "
        "maximising modularity, and refines them so that every community is connected through its own members"
    ),
    "label_propagation": (
        "label propagation finds communities of {t} in near-linear time by letting each vertex adopt its neighbours' "
        "most frequent label, which suits the speed or scale asked for"
    ),
    "wcc": "weakly connected components groups {t} joined by any path, so isolated islands and fragments stand out",
    "scc": (
        "strongly connected components finds groups of {t} that can all reach each other along edge direction, "
        "which is what cycles, rings and reciprocal links form"
    ),
    "betweenness": (
        "betweenness centrality scores how often {t} lie on shortest paths between other vertices, "
        "so brokers, bridges and bottlenecks stand out"
    ),
    "closeness": (
        "closeness centrality scores {t} by how many vertices reach them and how few steps it takes, "
        "so those the rest reach soonest come first"
    ),
    "harmonic": (
        "harmonic centrality sums the inverse distances from every other vertex to each of {t}, "
        "so those nearest to the rest come first, even on a graph in separate parts"
    ),
    "hits": (
        "HITS scores {t} as authorities (pointed to by good hubs) and hubs (pointing to good authorities), "
        "so the most authoritative and the vertices pointing to them stand out"
    ),
    "degree": "degree counts the edges of {t}, so the most connected ones come first",
    "eigenvector": "eigenvector centrality ranks {t} by how central the vertices pointing to them are",
    "k_core": (
        "k-core decomposition gives each of {t} the largest k such that it sits in a subgraph where every vertex has "
        "at least k neighbours, so cohesive cores stand out"
    ),
    "triangles": "triangle counting finds {t} in closed three-way ties",
    "clustering": "the local clustering coefficient measures how many of the neighbours of {t} are tied to each other",
    "k_hop": "k-hop reach counts the vertices each of {t} reaches within a few hops along edge direction: its exposure",
    "cycles": (
        "short-cycle detection counts the directed cycles of bounded length through each of {t}, "
        "so rings that flow back to their start stand out"
    ),
    "similarity": "node similarity pairs {t} by the neighbours they share (Jaccard), so look-alikes stand out",
    "co_occurrence": "co-occurrence counts, for each pair among {t}, the members both reach, so the largest overlaps "
    "stand out",
}
_QUOTE_LIMIT = 160
# Where a relative clause opens: what it names describes the subject before it.
_RELATIVE_CLAUSE = re.compile(r"\b(?:that|which|who|whose|where)\b", re.IGNORECASE)


@dataclass(frozen=True)
class _Source:
    """A requirement or objective, in document order (requirements first)."""

    index: int
    id: str
    text: str
    priority: str | None  # objectives carry none, so they never raise a use case's priority


@dataclass(frozen=True)
class _DomainSignal:
    term: str
    algorithm: str
    pattern: re.Pattern[str]
    pattern_title: str


@dataclass(frozen=True)
class _Match:
    algorithm: str
    start: int
    end: int
    words: str
    domain: _DomainSignal | None = None


@dataclass
class _Group:
    """Everything that will become one use case: an algorithm, a target and its sources."""

    algorithm: str
    target: tuple[str, ...]
    explicit: bool
    sources: list[_Source] = field(default_factory=list)
    matches: dict[str, list[_Match]] = field(default_factory=dict)


def derive_use_cases(
    requirements: RequirementsDoc, schema: GraphSchema, vertical: VerticalProfile, max_use_cases: int = 12
) -> list[UseCase]:
    """Map requirements and objectives to graph-analytics use cases for this graph.

    Args:
        requirements: Extracted requirements and objectives.
        schema: The analysed graph; decides collection focus and which algorithms can run.
        vertical: The industry vertical; adds domain signals and domain wording.
        max_use_cases: At most this many use cases are returned, the most important first.

    Returns:
        Use cases with ids ``UC-001``…, ordered by priority and then by the position of
        their first requirement. A fallback set (see the module docstring) when no
        requirement yields a use case this graph supports; empty when the graph supports
        no analysis at all (no edges).
    """
    sources = _sources(requirements)
    groups, unsupported, problems = _match(sources, schema, vertical)
    if not groups:
        return _fallback(sources, unsupported, problems, schema, vertical, max_use_cases)
    ordered = sorted(groups.values(), key=_group_order)
    per_algorithm = [group.algorithm for group in ordered]
    use_cases = []
    for number, group in enumerate(ordered[: max(0, max_use_cases)], start=1):
        label = _label(group.target)
        why = _WHY[group.algorithm].format(t=label)
        clauses = [_clause(source, group.matches[source.id], vertical) for source in group.sources]
        priorities = [source.priority for source in group.sources if source.priority]
        use_cases.append(
            UseCase(
                id=f"UC-{number:03d}",
                title=_title(group.algorithm, group.target, vertical, per_algorithm.count(group.algorithm) > 1),
                description=_description(group.algorithm, group.target, group.explicit, vertical),
                algorithm=group.algorithm,
                reason=f"{'; '.join(clauses)}; {why}.",
                requirement_ids=list(dict.fromkeys(source.id for source in group.sources)),
                priority=min(priorities, key=_PRIORITY_RANK.__getitem__) if priorities else "medium",
                focus_collections=list(group.target),
            )
        )
    return use_cases


def unanswered_questions(
    requirements: RequirementsDoc, schema: GraphSchema, vertical: VerticalProfile
) -> list[UnansweredQuestion]:
    """The graph questions the requirements ask that this graph cannot answer, and why."""
    _, unsupported, problems = _match(_sources(requirements), schema, vertical)
    return [
        UnansweredQuestion(algorithm=algorithm, requirement_ids=list(dict.fromkeys(ids)), reason=problems[algorithm])
        for algorithm, ids in unsupported.items()
    ]


def _match(
    sources: list[_Source], schema: GraphSchema, vertical: VerticalProfile
) -> tuple[dict[tuple[str, tuple[str, ...]], _Group], dict[str, list[str]], dict[str, str]]:
    """Requirements grouped by (algorithm, collections); the questions this schema cannot answer by algorithm,
    and why."""
    domain_signals = _domain_signals(vertical, schema)
    groups: dict[tuple[str, tuple[str, ...]], _Group] = {}
    unsupported: dict[str, list[str]] = {}
    problems: dict[str, str] = {}
    for source in sources:
        matches = _scan(source.text, domain_signals)
        if not matches:
            continue
        mentioned = _mentioned_collections(source.text, schema)
        target = tuple(mentioned) or tuple(core_collections(schema))
        for algorithm in ALGORITHM_ORDER:
            found = [match for match in matches if match.algorithm == algorithm]
            if not found:
                continue
            asked = target
            if algorithm == "co_occurrence":
                asked = _co_occurrence_roles(source.text, found[0], schema)
                problem = choose_collections(algorithm, list(asked), schema).problem
            else:
                problem = problems.setdefault(algorithm, choose_collections(algorithm, [], schema).problem)
            if problem:
                problems.setdefault(algorithm, problem)
                unsupported.setdefault(algorithm, []).append(source.id)
                continue
            group = groups.setdefault((algorithm, asked), _Group(algorithm, asked, bool(mentioned)))
            if source not in group.sources:
                group.sources.append(source)
            group.matches.setdefault(source.id, []).extend(found)
    return groups, unsupported, {algorithm: problems[algorithm] for algorithm in unsupported}


def _co_occurrence_roles(text: str, match: _Match, schema: GraphSchema) -> tuple[str, ...]:
    """``(compared, members)``: the collection named last before the sharing words ("which categories
    share …") and the one named first after them ("… the most customers"); empty when either is missing."""
    before = _named_positions(text[: match.start], schema)
    after = _named_positions(text[match.end :], schema)
    if not before or not after:
        return ()
    compared, members = max(before)[1], min(after)[1]
    return () if compared == members else (compared, members)


def _named_positions(text: str, schema: GraphSchema) -> list[tuple[int, str]]:
    """``(position, collection)`` of each vertex collection named in ``text``."""
    found = []
    for info in schema.vertex_collections:
        forms = sorted(collection_forms(info.name), key=len, reverse=True)
        for hit in re.finditer(rf"\b(?:{'|'.join(re.escape(form) for form in forms)})\b", text, re.IGNORECASE):
            found.append((hit.start(), info.name))
    return found


def collection_forms(name: str) -> set[str]:
    """The lower-case words a text may use for a collection or entity name.

    Args:
        name: A collection or entity name such as ``customers`` or ``user_accounts``.

    Returns:
        Singular and plural forms, with ``_`` and ``-`` read as spaces.
    """
    base = re.sub(r"[_\-]+", " ", name).strip().lower()
    head, _, last = base.rpartition(" ")
    prefix = f"{head} " if head else ""
    singular = _singular_form(last)
    return {base, prefix + singular, prefix + _plural(singular)}


def _sources(requirements: RequirementsDoc) -> list[_Source]:
    scanned = [
        (requirement.id, requirement.text, requirement.priority)
        for requirement in requirements.requirements
        if requirement.kind == "functional"
    ]
    scanned += [(objective.id, objective.text, None) for objective in requirements.objectives]
    return [
        _Source(index, ident, " ".join(text.split()), priority) for index, (ident, text, priority) in enumerate(scanned)
    ]


def _domain_signals(vertical: VerticalProfile, schema: GraphSchema) -> list[_DomainSignal]:
    """Vertical terms that point at exactly one algorithm pattern of the vertical."""
    entity_forms: set[str] = set()
    for name in [*vertical.key_entities, *(info.name for info in schema.vertex_collections)]:
        entity_forms |= collection_forms(name)
    terms = dict.fromkeys(term.strip().lower() for term in [*vertical.keywords, *vertical.terminology] if term.strip())
    signals = []
    for term in terms:
        if collection_forms(term) & entity_forms:
            continue
        pattern = re.compile(rf"\b{re.escape(term)}(?:s|es)?\b", re.IGNORECASE)
        pointed = [
            algorithm
            for algorithm, algo_pattern in vertical.patterns.items()
            if algorithm in ALGORITHMS and pattern.search(f"{algo_pattern.title} {algo_pattern.meaning}")
        ]
        if len(pointed) == 1:
            signals.append(_DomainSignal(term, pointed[0], pattern, vertical.patterns[pointed[0]].title))
    return signals


def _scan(text: str, domain_signals: list[_DomainSignal]) -> list[_Match]:
    """Signal matches in ``text``; overlapping matches keep the longest (generic before domain on ties)."""
    candidates = [
        _Match(algorithm, found.start(), found.end(), found.group(0))
        for algorithm, pattern in _SIGNALS
        for found in pattern.finditer(text)
    ]
    candidates += [
        _Match(signal.algorithm, found.start(), found.end(), found.group(0), signal)
        for signal in domain_signals
        for found in signal.pattern.finditer(text)
    ]
    accepted: list[_Match] = []
    for match in sorted(candidates, key=lambda m: (m.start - m.end, m.start, m.domain is not None)):
        if all(match.end <= kept.start or match.start >= kept.end for kept in accepted):
            accepted.append(match)
    accepted.sort(key=lambda m: m.start)
    accepted = _asked(accepted, text)
    community = [match for match in accepted if match.algorithm == "louvain"]
    cue = _SPEED_CUE.search(text)
    if community and cue and not any(match.algorithm == "label_propagation" for match in accepted):
        first = community[0]
        accepted.append(_Match("label_propagation", first.start, first.end, first.words))
        accepted.append(_Match("label_propagation", cue.start(), cue.end(), cue.group(0)))
    return accepted


def _asked(matches: list[_Match], text: str) -> list[_Match]:
    """The matches that say which question ``text`` asks (see the module docstring)."""
    if _OUTPUT_REQUEST.search(text):
        matches = [match for match in matches if match.domain or not _RESULT_NOUNS.match(match.words)]
    named = {match.algorithm for match in matches if _BY_NAME.match(match.words)}
    answered = {QUESTIONS[algorithm] for algorithm in named}
    matches = [match for match in matches if match.algorithm in named or QUESTIONS[match.algorithm] not in answered]
    strong = {match.algorithm for match in matches if match.domain or not _WEAK_WORDS.match(match.words)}
    return [
        match
        for match in matches
        if match.domain or not _WEAK_WORDS.match(match.words) or not strong - {match.algorithm}
    ]


def _mentioned_collections(text: str, schema: GraphSchema) -> list[str]:
    """The vertex collections ``text`` asks about, in schema order (see the module docstring)."""
    clause = _RELATIVE_CLAUSE.search(text)
    if clause is not None:
        subject = _named_collections(text[: clause.start()], schema)
        if subject:
            return subject
    return _named_collections(text, schema)


def _named_collections(text: str, schema: GraphSchema) -> list[str]:
    """Vertex collections named in ``text``, in schema order."""
    mentioned = []
    for info in schema.vertex_collections:
        forms = sorted(collection_forms(info.name), key=len, reverse=True)
        if re.search(rf"\b(?:{'|'.join(re.escape(form) for form in forms)})\b", text, re.IGNORECASE):
            mentioned.append(info.name)
    return mentioned


def _group_order(group: _Group) -> tuple[int, int, int, tuple[str, ...]]:
    priorities = [_PRIORITY_RANK[source.priority] for source in group.sources if source.priority]
    return (
        min(priorities, default=_PRIORITY_RANK["medium"]),
        min(source.index for source in group.sources),
        ALGORITHM_ORDER.index(group.algorithm),
        group.target,
    )


def _clause(source: _Source, matches: list[_Match], vertical: VerticalProfile) -> str:
    """``REQ-3 says "…" (matched "influential")`` for one source of a use case."""
    words = []
    for match in matches:
        if match.domain is None:
            words.append(f'"{match.words}"')
        else:
            spec = ALGORITHMS[match.domain.algorithm]
            words.append(
                f'"{match.words}", which the {vertical.display_name} vertical ties to its {spec.title} pattern '
                f'"{match.domain.pattern_title}"'
            )
    return f'{source.id} says "{_quote(source.text, matches[0])}" (matched {", ".join(dict.fromkeys(words))})'


def _quote(text: str, match: _Match) -> str:
    """The requirement, or the sentence around ``match`` when the requirement is long."""
    if len(text) <= _QUOTE_LIMIT:
        return text.rstrip(" .;:")
    for sentence in re.finditer(r"[^.!?;]+[.!?;]?", text):
        if sentence.start() <= match.start < sentence.end():
            quoted = sentence.group(0).strip().rstrip(" .;:")
            if len(quoted) <= _QUOTE_LIMIT:
                return quoted
            break
    margin = (_QUOTE_LIMIT - (match.end - match.start)) // 2
    start, end = max(0, match.start - margin), min(len(text), match.end + margin)
    # Cut at word boundaries so the quote never splits a word.
    start = text.rfind(" ", 0, start) + 1 if start > 0 else 0
    cut = text.find(" ", end)
    end = len(text) if cut == -1 else cut
    return f"{'…' if start > 0 else ''}{text[start:end].strip()}{'…' if end < len(text) else ''}"


def _title(algorithm: str, target: tuple[str, ...], vertical: VerticalProfile, shared: bool) -> str:
    """The vertical's pattern title (``… among customers`` when the algorithm appears twice), else a generic one."""
    pattern = vertical.patterns.get(algorithm)
    if pattern and pattern.title:
        return scoped_title(pattern.title, target) if shared else pattern.title
    return _GENERIC_TITLES[algorithm].format(t=_label(target))


def _description(algorithm: str, target: tuple[str, ...], explicit: bool, vertical: VerticalProfile) -> str:
    spec = ALGORITHMS[algorithm]
    parts = [f"{spec.title} on {_label(target)}: {spec.summary}"]
    pattern = vertical.patterns.get(algorithm)
    if pattern and pattern.meaning:
        parts.append(f"For {vertical.display_name}: {_sentence(pattern.meaning)}")
    if not explicit:
        parts.append("No linked requirement names a collection, so it covers the core collections.")
    return " ".join(parts)


def _fallback(
    sources: list[_Source],
    unsupported: dict[str, list[str]],
    problems: dict[str, str],
    schema: GraphSchema,
    vertical: VerticalProfile,
    max_use_cases: int,
) -> list[UseCase]:
    """The vertical's default analyses, honestly labelled as not requested by anyone."""
    if unsupported:
        asked = "; ".join(
            f"{ALGORITHMS[algorithm].title} for {', '.join(dict.fromkeys(ids))} cannot run: {problems[algorithm]}"
            for algorithm, ids in unsupported.items()
        )
        why_none = f"The graph questions asked do not fit this graph ({asked})"
    elif sources:
        why_none = (
            f"No requirement named a graph question: none of {', '.join(source.id for source in sources)} uses a "
            "signal word such as influence, community, connected, cycle or bridge"
        )
    else:
        why_none = "No requirement named a graph question: the requirements document lists none"
    offered = [algorithm for algorithm in FALLBACK_ALGORITHMS if algorithm in vertical.patterns] or list(
        FALLBACK_ALGORITHMS
    )
    runnable = [algorithm for algorithm in offered if not choose_collections(algorithm, [], schema).problem]
    target = tuple(core_collections(schema))
    label = _label(target)
    return [
        UseCase(
            id=f"UC-{number:03d}",
            title=_title(algorithm, target, vertical, shared=False),
            description=_description(algorithm, target, False, vertical),
            algorithm=algorithm,
            reason=(
                f"{why_none}. This is the {vertical.display_name} vertical's default analysis, not a requested one: "
                f"{_WHY[algorithm].format(t=label)}."
            ),
            requirement_ids=[],
            priority="medium",
            focus_collections=list(target),
        )
        for number, algorithm in enumerate(runnable[: max(0, max_use_cases)], start=1)
    ]


def _label(names: Iterable[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    items = list(names)
    if len(items) > 1:
        return f"{', '.join(items[:-1])} and {items[-1]}"
    return items[0] if items else "the graph"


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else f"{text}."


def _singular_form(word: str) -> str:
    if word.endswith("ies") and len(word) > 3:
        return word[:-3] + "y"
    if word.endswith(("sses", "ches", "shes", "xes", "zes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _plural(word: str) -> str:
    if word.endswith("y") and len(word) > 1 and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    return word + "s"


# ---------------------------------------------------------------- the agent


def use_cases_prompt(task: UseCasesTask) -> str:
    """What an HTTP model is asked: the same mapping, from the same inputs, as JSON.

    The answer, a list, is asked for inside the object the HTTP providers send as its schema
    (both protocols want an object at the top); the offline rules answer the list itself.
    """
    requirements = "\n".join(f"- {r.id} [{r.priority}] {r.text}" for r in task.requirements.requirements) or "- (none)"
    collections = ", ".join(
        f"{c.name} ({c.count})" for c in task.schema.vertex_collections + task.schema.edge_collections
    )
    algorithms = ", ".join(f"{a.name}: {a.summary}" for a in ALGORITHMS.values())
    return (
        f"Industry: {task.vertical.display_name}.\nGraph collections: {collections}.\nRequirements:\n{requirements}\n"
        f"Algorithms: {algorithms}\n"
        f'Map the requirements to graph-analytics use cases. Answer with a JSON object {{"{WRAPPER_PROPERTY}": [...]}} '
        "whose list holds the use cases, each an object with fields id (UC-001…), title, description, "
        "algorithm (one of the names above), reason (quote the requirement words), "
        "requirement_ids, priority (critical|high|medium|low), focus_collections (the vertex collections it is about)."
    )


@offline_responder("use_cases")
def _offline_use_cases(task: UseCasesTask) -> list[UseCase]:
    return derive_use_cases(task.requirements, task.schema, task.vertical)
