"""Requirements extraction agent: objectives, requirements, stakeholders and constraints from documents.

The offline extractor reads structure and wording, never guesses with randomness, so the
same documents always give the same :class:`~bus.contract.RequirementsDoc`:

* Section headings say what their items are (Objectives, Requirements, Non-functional,
  Stakeholders, Constraints…); a sub-section inherits its parent's meaning.
* Inside a requirements section every list item is a requirement; a paragraph sentence
  is one only when it says must/shall/should/could/may or carries an explicit id.
  Outside such sections (free prose) a sentence needs a modal verb, and sentences such
  as "our goal is…" or "we want to…" become objectives.
* Explicit ids (``REQ-12``, ``FR-1``, ``NFR-2``, ``BR-3``, ``US-4``; ``OBJ-3``,
  ``GOAL-1``) at the start of an item or in brackets at its end are kept as given;
  other items get ``REQ-001``, ``OBJ-001``… in reading order, skipping taken numbers.
* Priority: an explicit marker first (``P0``–``P3``, ``[critical]``, ``priority: low``,
  MoSCoW "must have"…), else the first modal verb (must/shall → high, should → medium,
  could/may/nice to have → low), else medium.
* Output constraints (:func:`output_constraints`): requirements and constraint sentences
  that bind what a report may show. Privacy ("must not contain customer names",
  "pseudonymise", "no personal data") → ``no_names`` with the entity words as written
  (``["customer"]``; the orchestrator maps them to the graph's collections when it builds
  each report task); "at most 10 rows" → ``max_items``; "reports in German" → ``language``;
  "export … as CSV" → ``format`` ``csv``. Each names its requirement's id as ``source``
  (the document's name for a constraint sentence without one).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Literal

import msgspec

from agents.documents import ParsedDocument, list_item, read_documents
from agents.llm import offline_responder
from bus.contract import (
    Objective,
    OutputConstraint,
    Requirement,
    RequirementsDoc,
    RequirementsResult,
    RequirementsTask,
    Stakeholder,
)

Priority = Literal["critical", "high", "medium", "low"]
Category = Literal["ignore", "constraints", "non_functional", "stakeholders", "objectives", "requirements"]

DOMAIN_TERM_COUNT = 25
"""How many domain terms :func:`extract_requirements` reports."""

PROMPT_DOCUMENT_CHARS = 60_000
"""Document text beyond this many characters is cut from the LLM prompt, to fit a context window."""

# First match wins: "Security constraints" is a constraints section, "Non-functional requirements"
# is not a plain requirements section.
_CATEGORIES: list[tuple[Category, re.Pattern[str]]] = [
    (
        "ignore",
        re.compile(
            r"out[- ]of[- ]scope|non[- ]goals?|glossary|references|revision history|document (?:history|control)"
            r"|approvals?|sign[- ]?off|appendix|open questions"
        ),
    ),
    ("constraints", re.compile(r"constraints?|assumptions?|limitations?|dependencies|restrictions?")),
    (
        "non_functional",
        re.compile(
            r"non[- ]?functional|\bnfrs?\b|quality attributes?|service levels?|performance|security|privacy|compliance"
        ),
    ),
    (
        "stakeholders",
        re.compile(r"stakeholders?|\broles?(?: and responsibilities)?\b|\bteam\b|audiences?|personas?|sponsors?"),
    ),
    ("objectives", re.compile(r"objectives?|goals?|\baims?\b|purpose|vision|success criteria|outcomes?")),
    ("requirements", re.compile(r"requirements?|features?|capabilit(?:y|ies)|user stories|use cases|\bfunctional\b")),
]

_REQUIREMENT_PREFIXES = ("REQ", "FR", "NFR", "BR", "US")
_OBJECTIVE_PREFIXES = ("OBJ", "GOAL")
_ID = r"(?:REQ|FR|NFR|BR|US|OBJ|GOAL)-\d{1,4}[A-Za-z]?"
_ID_EXACT = re.compile(rf"^{_ID}$")
_LEADING_ID = re.compile(rf"^[\[(]?({_ID})[\])]?(?:\s*[\[(][^\])]{{1,24}}[\])])*(?:\s*[:.)\-–—]\s*|\s+)")
_TRAILING_ID = re.compile(rf"\s*[\[(]({_ID})[\])]\s*([.!?]?)$")

_PRIORITY_WORD: dict[str, Priority] = {
    "critical": "critical",
    "high": "high",
    "medium": "medium",
    "low": "low",
    "must": "high",
    "should": "medium",
    "could": "low",
}
_EXPLICIT_PRIORITY = re.compile(
    r"priority\s*[:=]?\s*(critical|high|medium|low)\b|\b(critical|high|medium|low)[- ]priority\b", re.IGNORECASE
)
_P_LEVEL = re.compile(r"\bP([0-3])\b")
_P_PRIORITY: dict[str, Priority] = {"0": "critical", "1": "high", "2": "medium", "3": "low"}
_CRITICAL = re.compile(
    r"\[critical\]|\(critical\)|^critical\s*[:\-–]|\bcritical\s*:|\b(?:mission|business)[- ]critical\b"
    r"|\bis critical\b",
    re.IGNORECASE,
)
_MOSCOW = re.compile(r"\b(must|should|could|won'?t)[- ]have\b|\bnice[- ]to[- ]have\b", re.IGNORECASE)
_MOSCOW_PRIORITY: dict[str, Priority] = {
    "must": "high",
    "should": "medium",
    "could": "low",
    "wont": "low",
    "won't": "low",
}
_MODAL = re.compile(
    r"\b(must|shall|has to|have to|needs? to|(?:is|are) required to|should|ought to|could|may|might|optional)\b",
    re.IGNORECASE,
)
_MODAL_PRIORITY: dict[str, Priority] = {
    "must": "high",
    "shall": "high",
    "has to": "high",
    "have to": "high",
    "need to": "high",
    "needs to": "high",
    "is required to": "high",
    "are required to": "high",
    "should": "medium",
    "ought to": "medium",
    "could": "low",
    "may": "low",
    "might": "low",
    "optional": "low",
}
# "may" and "might" also hedge ordinary prose ("this may take time"), so outside a
# requirements section only these stronger words make a sentence a requirement.
_PROSE_MODAL = re.compile(
    r"\b(must|shall|has to|have to|needs? to|(?:is|are) required to|should|could|nice[- ]to[- ]have)\b", re.IGNORECASE
)
_OBJECTIVE_PHRASE = re.compile(
    r"\b(?:we (?:want|wish|would like|intend|hope|plan) to|(?:our|the) (?:main |primary |overall |key )?"
    r"(?:goal|aim|objective|ambition|purpose) (?:is|are)|aims? to|seeks? to)\b",
    re.IGNORECASE,
)
_USER_STORY = re.compile(r"\bas an? ([^,.;]{2,60}?),\s*I (?:want|need|would like|can)\b", re.IGNORECASE)
_CONSTRAINT = re.compile(
    r"\b(?:must not|shall not|may not|cannot|can't|should not|within (?:\d|one|two|three|four|five|six|ten|twelve)"
    r"|no more than|no later than|not exceed|at most|budget|deadline|gdpr|ccpa|hipaa|pci[- ]dss|data residency)",
    re.IGNORECASE,
)
_NON_FUNCTIONAL = re.compile(
    r"\b(?:performance|latency|latencies|response times?|throughput|scalab\w*|availability|uptime|reliab\w*|resilien\w*"
    r"|secur\w*|encrypt\w*|authenticat\w*|authori[sz]\w*|access control|privacy|personal data|pii|pseudonym\w*"
    r"|anonymi[sz]\w*|gdpr|ccpa|hipaa|complian\w*|audit\w*|costs?|budget|run ?times?|memory|reproducib\w*"
    r"|maintainab\w*|retention)\b"
    r"|\b(?:in|under|within) \d+(?:\.\d+)? ?(?:ms|milliseconds?|s|seconds?|minutes?|mins?|hours?|h)\b",
    re.IGNORECASE,
)
_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "vs.", "approx.", "incl.", "dr.", "mr.", "ms.", "mrs.", "no.", "cf.", "fig.")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])")

_ROLE_WORDS = frozenset(
    "head lead leader manager director officer owner analyst analysts engineer engineers scientist scientists "
    "sponsor vp chief team department president executive architect specialist administrator steward "
    "representative consultant controller ceo cto cfo cmo cdo coo dpo cio ciso responsible accountable "
    "product marketing operations finance legal compliance security support customer customers users user "
    "investigator investigators board committee group unit".split()
)
_TABLE_HEADERS = frozenset(
    "name names role roles stakeholder stakeholders title responsibility responsibilities interest department "
    "id requirement description priority".split()
)

_STOPWORDS = frozenset(
    """a about above across after again against all almost along also although always am among an and another any
    are around as at be because been before being below between both but by can cannot could did do does doing done
    down during each either else enough etc even ever every few for from further get gets given go had has have
    having he her here hers him his how however i if in into is it its itself just least less like made make makes
    many may me might more most much must my near need needs neither no nor not now of off often on once one only
    onto or other others otherwise our ours out over own per perhaps rather same see seen shall she should since so
    some such than that the their theirs them then there therefore these they this those though through thus to
    too toward towards under until up upon us use used uses using very via was we well were what whatever when
    where whether which while who whom whose why will with within without would yet you your yours able ability
    allow allows also want wants wish ensure ensures provide provides providing support supports supported include
    includes including new based system systems platform solution requirement requirements objective objectives
    stakeholder stakeholders section document documents data e g ie eg two three four five first second third
    high low medium critical priority nice identify find detect see show give take set get make keep help know
    understand offer""".split()
)
_WORD = re.compile(r"[a-z][a-z0-9]*(?:['-][a-z0-9]+)*")
_ID_WORD = re.compile(r"^(?:req|fr|nfr|br|us|obj|goal)-\d")


@dataclass
class _Found:
    """A requirement or objective before ids are assigned."""

    id: str | None
    text: str
    source: str
    section: str
    priority: Priority = "medium"
    kind: Literal["functional", "non_functional"] = "functional"


@dataclass
class _Collector:
    """Everything found so far, in reading order."""

    requirements: list[_Found]
    objectives: list[_Found]
    stakeholders: list[Stakeholder]
    constraints: list[str]
    constraint_sources: dict[str, str]


def extract_requirements(docs: list[ParsedDocument]) -> RequirementsDoc:
    """Extract objectives, requirements, stakeholders, constraints and domain terms, offline.

    Args:
        docs: Parsed requirement documents, in the order they were given.

    Returns:
        The requirements. Identical texts found in several documents appear once (the
        first occurrence wins, taking an explicit id from a later copy if it had none);
        generated ids are stable for the same input.
    """
    found = _Collector([], [], [], [], {})
    for doc in docs:
        _read_document(doc, found)
    extracted = RequirementsDoc(
        objectives=[
            Objective(id=identifier, text=item.text, source=item.source)
            for identifier, item in _assign_ids(_dedupe(found.objectives), "OBJ")
        ],
        requirements=[
            Requirement(
                id=identifier,
                text=item.text,
                priority=item.priority,
                kind=item.kind,
                source=item.source,
                section=item.section,
            )
            for identifier, item in _assign_ids(_dedupe(found.requirements), "REQ")
        ],
        stakeholders=_dedupe_stakeholders(found.stakeholders),
        constraints=list(dict.fromkeys(found.constraints)),
        documents=[doc.name for doc in docs],
        domain_terms=domain_terms(docs),
    )
    constraints = output_constraints(extracted, found.constraint_sources)
    return msgspec.structs.replace(extracted, output_constraints=constraints)


def requirements_prompt(docs: list[ParsedDocument]) -> str:
    """The instruction that makes an LLM produce the same :class:`RequirementsDoc` as JSON.

    Args:
        docs: The parsed documents; their text is appended, cut after
            :data:`PROMPT_DOCUMENT_CHARS` characters in total.

    Returns:
        The prompt text.
    """
    body: list[str] = []
    budget = PROMPT_DOCUMENT_CHARS
    for doc in docs:
        text = doc.text if len(doc.text) <= budget else doc.text[:budget] + "\n[… document truncated …]\n"
        budget = max(0, budget - len(text))
        body.append(f'<document name="{doc.name}">\n{text}</document>')
    return "\n".join(
        [
            "Extract the business requirements for a graph-analytics project from the documents below.",
            "Answer with one JSON object and nothing else, shaped like this example:",
            _PROMPT_EXAMPLE,
            "Rules:",
            "- Use only what the documents say; never invent requirements, people or numbers.",
            "- objectives: business goals. requirements: what the analysis must deliver.",
            "- Keep ids written in the documents (REQ-12, FR-1, NFR-2, OBJ-3) exactly; number the others "
            "REQ-001, REQ-002… and OBJ-001… in reading order, skipping ids already used.",
            "- priority: critical for P0 or 'critical'; high for must/shall/P1; medium for should/P2 or no wording; "
            "low for could/may/nice to have/P3.",
            "- kind: non_functional for performance, latency, security, privacy, availability, compliance or cost; "
            "otherwise functional.",
            "- source: the document name; section: the heading the requirement is under.",
            "- stakeholders: people, teams and roles named in the documents, including 'As a <role>' user stories.",
            "- constraints: limits such as deadlines, budgets, run times, regulations (GDPR) and 'must not' rules.",
            "- domain_terms: up to 25 lowercase business terms the documents use most.",
            "- output_constraints: rules that bind what reports may show, ids OC-1…: kind no_names (privacy: no "
            "names, pseudonymise; collections = the entity words named, singular), max_items (value = the limit), "
            "language (value = the language) or format (value = csv); text = the sentence; source = its requirement "
            "id.",
            "- An item that appears in several documents is listed once.",
            f"- documents: {msgspec.json.encode([doc.name for doc in docs]).decode()}",
            "",
            *body,
        ]
    )


def domain_terms(docs: list[ParsedDocument], limit: int = DOMAIN_TERM_COUNT) -> list[str]:
    """The most frequent meaningful words and two-word phrases of the documents.

    Plural forms count towards the singular when both occur. Two-word phrases need at
    least two occurrences. Ties go to phrases, then alphabetical order.

    Args:
        docs: Parsed documents.
        limit: How many terms to return.

    Returns:
        Lowercase terms, most frequent first.
    """
    words: Counter[str] = Counter()
    pairs: Counter[tuple[str, str]] = Counter()
    for doc in docs:
        for section in doc.sections:
            for line in [section.heading, *section.lines]:
                for run in _content_runs(line):
                    words.update(run)
                    pairs.update(zip(run, run[1:]))
    singular = {word: _singular(word, words) for word in words}
    merged: Counter[str] = Counter()
    for word, count in words.items():
        merged[singular[word]] += count
    for (first, second), count in pairs.items():
        if first != second:
            merged[f"{singular[first]} {singular[second]}"] += count
    ranked = sorted(
        (term for term, count in merged.items() if " " not in term or count >= 2),
        key=lambda term: (-merged[term], -term.count(" "), term),
    )
    return ranked[:limit]


# ---------------------------------------------------------------- output constraints

_PRIVACY = re.compile(
    r"\b(?:must|shall|should|may|will|can|do|does) not (?:\w+ ){0,2}?(?:contain|include|show|display|reveal|list|expose"
    r"|mention|print|disclose|publish|name)\b[^.;]*?\b(?:names?|personal data|personally identifiable|pii|identit\w*)\b"
    r"|\b(?:must|shall|should|may) not name\b"
    r"|\bnames?\b[^.;]*\b(?:must|shall|should|may) not be "
    r"(?:shown|displayed|included|revealed|listed|published|disclosed)"
    r"|\b(?:anonymi[sz]\w*|pseudonymi[sz]\w*|pseudonymous|de-?identif\w*)"
    r"|\bno (?:personal data|pii|personally identifiable information|(?:[a-z\-]+ )?names)\b"
    r"|\bwithout (?:[a-z\-]+ )?names\b",
    re.IGNORECASE,
)
_ENTITY_WORD = r"([a-z][a-z\-]+)"
_PRIVATE_ENTITIES = (
    re.compile(rf"\b{_ENTITY_WORD}(?:'s|s')? (?:full |real |display |first |last )?names?\b", re.IGNORECASE),
    re.compile(rf"\bnames? of (?:the |any |our |individual )?{_ENTITY_WORD}", re.IGNORECASE),
    re.compile(
        rf"\b(?:anonymi[sz]e|pseudonymi[sz]e|mask|hide|not name) (?:the |all |any |our |individual )?{_ENTITY_WORD}",
        re.IGNORECASE,
    ),
    re.compile(
        rf"\b{_ENTITY_WORD} (?:are|is) (?:only )?(?:referred to|identified|shown|listed)\b[^.;]*\bpseudonym",
        re.IGNORECASE,
    ),
)
# Words that stand before "names" or after "anonymise" without naming an entity.
_NOT_ENTITIES = frozenset(
    "contain contains show shows display include includes reveal list expose mention print disclose publish "
    "personal full real first last their its his her any all no the other individual people person "
    "data results reports report output outputs".split()
)
_NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "fifty": 50,
    "hundred": 100,
}
_MAX_ITEMS = re.compile(
    r"\b(?:at most|no more than|not more than|a maximum of|maximum of|max\.?|limited to"
    r"|limit(?:ed)? (?:\w+ ){0,3}?to)"
    rf"\s+(\d{{1,4}}|{'|'.join(_NUMBER_WORDS)})\s+([a-z\-]+)(?:\s+([a-z]+))?\b",
    re.IGNORECASE,
)
_LIST_NOUNS = frozenset(
    "items rows entries results records lines names vertices nodes members elements entities".split()
)
# Counted things that are not entries of a report's lists.
_UNITS = frozenset(
    "minutes minute hours hour seconds second days day weeks week months month years year ms times retries attempts "
    "percent gb mb tb kb euros eur dollars usd executions analyses runs jobs cores workers threads requests calls "
    "pages characters words".split()
)
_OUTPUT_WORDS = re.compile(
    r"\b(?:reports?|tables?|lists?|rankings?|show\w*|display\w*|charts?|summar\w*|outputs?|insights?)\b", re.IGNORECASE
)
_LANGUAGE_NAMES = (
    "English",
    "German",
    "French",
    "Spanish",
    "Italian",
    "Portuguese",
    "Dutch",
    "Polish",
    "Swedish",
    "Danish",
    "Norwegian",
    "Finnish",
    "Czech",
    "Greek",
    "Turkish",
    "Russian",
    "Ukrainian",
    "Japanese",
    "Chinese",
    "Korean",
    "Arabic",
    "Hebrew",
    "Hindi",
)
_LANGUAGE = re.compile(
    rf"\b(?:in|into) (?:plain |simple |british |american )?({'|'.join(_LANGUAGE_NAMES)})\b"
    r"(?=\s*(?:[.,;:)!?]|$|\s+(?:and|or|for|only|language|as|so|to|with|because|since|when|by)\b))"
    rf"|\blanguage\s*(?::|is|must be|should be|shall be)\s*({'|'.join(_LANGUAGE_NAMES)})\b",
    re.IGNORECASE,
)
_LANGUAGE_CONTEXT = re.compile(r"\b(?:reports?|written|language|outputs?|summar\w*|texts?|insights?)\b", re.IGNORECASE)
_CSV = re.compile(
    r"\b(?:as|in|to|into) (?:a |an )?csv\b|\bcsv (?:format|exports?|files?|downloads?)\b|\bexport\w*\b[^.;]*\bcsv\b",
    re.IGNORECASE,
)


def output_constraints(
    doc: RequirementsDoc, constraint_sources: dict[str, str] | None = None
) -> list[OutputConstraint]:
    """The rules in ``doc`` that bind what a report may show, in reading order.

    Every requirement (functional or not) and every constraint sentence is read; the same
    rule found twice is kept once, with the first source.

    Args:
        doc: Extracted requirements.
        constraint_sources: The document each constraint sentence came from, for ``source``.

    Returns:
        Constraints with ids ``OC-1``, ``OC-2``…; ``no_names`` carries the entity words the
        sentence names, singular and lowercase (empty when it names none: then no vertex
        may be named).
    """
    sources = constraint_sources or {}
    units = [(requirement.text, requirement.id) for requirement in doc.requirements]
    units += [(sentence, sources.get(sentence, "")) for sentence in doc.constraints]
    found: dict[tuple, OutputConstraint] = {}
    for text, source in units:
        for kind, value, collections in _rules_in(text):
            key = (kind, value, tuple(collections))
            if key not in found:
                found[key] = OutputConstraint(
                    id=f"OC-{len(found) + 1}", kind=kind, text=text, value=value, collections=collections, source=source
                )
    return list(found.values())


def _rules_in(text: str) -> list[tuple[str, str | int | None, list[str]]]:
    """(kind, value, entity words) of each output rule one requirement or constraint states."""
    rules: list[tuple[str, str | int | None, list[str]]] = []
    if _PRIVACY.search(text):
        words = [
            _singular_word(found.group(1).lower())
            for pattern in _PRIVATE_ENTITIES
            for found in pattern.finditer(text)
            if found.group(1).lower() not in _NOT_ENTITIES and found.group(1).lower() not in _STOPWORDS
        ]
        rules.append(("no_names", None, list(dict.fromkeys(words))))
    for limit in _MAX_ITEMS.finditer(text):
        nouns = {word.lower() for word in limit.group(2, 3) if word}
        if not nouns & _UNITS and (nouns & _LIST_NOUNS or _OUTPUT_WORDS.search(text)):
            count = limit.group(1).lower()
            rules.append(("max_items", int(count) if count.isdigit() else _NUMBER_WORDS[count], []))
            break
    language = _LANGUAGE.search(text)
    if language and _LANGUAGE_CONTEXT.search(text):
        rules.append(("language", (language.group(1) or language.group(2)).capitalize(), []))
    if _CSV.search(text):
        rules.append(("format", "csv", []))
    return rules


def _singular_word(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    return word


# ---------------------------------------------------------------- reading


def _read_document(doc: ParsedDocument, found: _Collector) -> None:
    stack: list[tuple[int, Category | None]] = []
    for section in doc.sections:
        own = _category(section.heading)
        while stack and stack[-1][0] >= section.level:
            stack.pop()
        category = own or next((category for _, category in reversed(stack) if category), None)
        stack.append((section.level, category))
        if category == "ignore":
            continue
        heading_id, heading_text = _split_id(section.heading)
        if heading_id:
            _read_titled_item(doc.name, section.heading, heading_id, heading_text, section.lines, found)
        else:
            _read_section(doc.name, section.heading, category, section.lines, found)


def _read_titled_item(
    source: str, heading: str, identifier: str, title: str, lines: list[str], found: _Collector
) -> None:
    """A section whose heading carries an id ("### REQ-4: Hub products"): its body is the item's text."""
    body = " ".join(list_item(line) or line for line in lines).strip()
    text = body or title
    for sentence in _sentences(body):
        _note_constraint(sentence, found, source)
        _note_user_story(sentence, found)
    context = f"{title}. {body}"
    if identifier.startswith(_OBJECTIVE_PREFIXES):
        found.objectives.append(_Found(identifier, text, source, heading))
    else:
        found.requirements.append(
            _Found(identifier, text, source, heading, _priority(context, "medium"), _kind(context, identifier, None))
        )


def _read_section(source: str, heading: str, category: Category | None, lines: list[str], found: _Collector) -> None:
    has_items = any(list_item(line) is not None for line in lines)
    lead_in: str | None = None  # "The system must:" gives its modal verb to the items after it
    for line in lines:
        item = list_item(line)
        if item is None and " | " in line:
            lead_in = None
            _read_row(source, heading, category, line, found)
            continue
        if item is not None:
            _read_unit(source, heading, category, item, True, lead_in, has_items, found)
            continue
        for sentence in _sentences(line):
            _read_unit(source, heading, category, sentence, False, None, has_items, found)
        lead_in = line if line.endswith(":") else None


def _read_unit(
    source: str,
    heading: str,
    category: Category | None,
    unit: str,
    is_item: bool,
    lead_in: str | None,
    has_items: bool,
    found: _Collector,
) -> None:
    """Route one list item or sentence to what it is: objective, requirement, stakeholder or constraint."""
    identifier, text = _split_id(unit)
    if not text or (text.endswith(":") and not identifier):
        return
    # Markers such as "(P0)" beside the id are cut from the text but still set the priority.
    context = f"{lead_in} {unit}" if lead_in else unit
    if lead_in:
        text = _join_lead_in(lead_in, text)
    if category not in ("stakeholders", "objectives"):
        _note_constraint(text, found, source)
    _note_user_story(text, found)
    prefix = identifier.split("-", 1)[0] if identifier else ""
    if prefix in _OBJECTIVE_PREFIXES:
        found.objectives.append(_Found(identifier, text, source, heading))
        return
    if prefix in _REQUIREMENT_PREFIXES:
        _add_requirement(source, heading, category, identifier, text, context, found)
        return
    if category == "objectives":
        if is_item or _OBJECTIVE_PHRASE.search(text) or not has_items:
            found.objectives.append(_Found(None, text, source, heading))
    elif category in ("requirements", "non_functional"):
        if is_item or _MODAL.search(text) or _USER_STORY.search(text):
            _add_requirement(source, heading, category, None, text, context, found)
    elif category == "stakeholders":
        stakeholder = _stakeholder_from_text(text)
        if stakeholder and (is_item or stakeholder.role):
            found.stakeholders.append(stakeholder)
    elif category == "constraints":
        found.constraints.append(text)
        found.constraint_sources.setdefault(text, source)
    elif _OBJECTIVE_PHRASE.search(text):
        found.objectives.append(_Found(None, text, source, heading))
    elif _PROSE_MODAL.search(text) or _USER_STORY.search(text):
        _add_requirement(source, heading, category, None, text, context, found)


def _read_row(source: str, heading: str, category: Category | None, line: str, found: _Collector) -> None:
    """A table row: an id cell, an optional priority cell and the longest other cell as the text."""
    cells = [cell.strip() for cell in line.split(" | ") if cell.strip()]
    if all(cell.lower() in _TABLE_HEADERS for cell in cells):
        return
    if category == "stakeholders":
        stakeholder = _stakeholder(cells[0], cells[1] if len(cells) > 1 else "")
        if stakeholder:
            found.stakeholders.append(stakeholder)
        return
    identifier = next((cell for cell in cells if _ID_EXACT.match(cell)), None)
    marker = next((cell for cell in cells if _priority_marker(cell) and len(cell.split()) <= 2), None)
    rest = [cell for cell in cells if cell not in (identifier, marker)]
    if not rest:
        return
    text = max(rest, key=len)
    unit = f"{identifier}: {text}" if identifier else text
    before = len(found.requirements)
    _read_unit(source, heading, category, unit, True, None, True, found)
    if marker and len(found.requirements) > before:
        found.requirements[-1].priority = _priority_marker(marker) or found.requirements[-1].priority


def _add_requirement(
    source: str,
    heading: str,
    category: Category | None,
    identifier: str | None,
    text: str,
    context: str,
    found: _Collector,
) -> None:
    found.requirements.append(
        _Found(identifier, text, source, heading, _priority(context, "medium"), _kind(context, identifier, category))
    )


def _note_constraint(text: str, found: _Collector, source: str = "") -> None:
    if _CONSTRAINT.search(text):
        sentence = _split_id(text)[1]
        found.constraints.append(sentence)
        found.constraint_sources.setdefault(sentence, source)


def _note_user_story(text: str, found: _Collector) -> None:
    story = _USER_STORY.search(text)
    if story:
        role = _squash(story.group(1))
        found.stakeholders.append(Stakeholder(name=role[:1].upper() + role[1:], role="user"))


# ---------------------------------------------------------------- wording


def _category(heading: str) -> Category | None:
    lowered = heading.lower()
    return next((category for category, pattern in _CATEGORIES if pattern.search(lowered)), None) if lowered else None


def _split_id(text: str) -> tuple[str | None, str]:
    """An explicit id at the start or in brackets at the end, and the text without it."""
    text = text.strip()
    leading = _LEADING_ID.match(text)
    if leading:
        return leading.group(1), text[leading.end() :].strip()
    trailing = _TRAILING_ID.search(text)
    if trailing:
        return trailing.group(1), (text[: trailing.start()] + trailing.group(2)).strip()
    if _ID_EXACT.match(text):
        return text, ""
    return None, text


def _priority_marker(text: str) -> Priority | None:
    explicit = _EXPLICIT_PRIORITY.search(text)
    if explicit:
        return _PRIORITY_WORD[(explicit.group(1) or explicit.group(2)).lower()]
    # A table's priority column holds a bare word: "High", or MoSCoW's "Must".
    if text.strip().lower() in _PRIORITY_WORD:
        return _PRIORITY_WORD[text.strip().lower()]
    level = _P_LEVEL.search(text)
    if level:
        return _P_PRIORITY[level.group(1)]
    if _CRITICAL.search(text):
        return "critical"
    moscow = _MOSCOW.search(text)
    if moscow:
        return _MOSCOW_PRIORITY[moscow.group(1).lower()] if moscow.group(1) else "low"
    return None


def _priority(text: str, default: Priority) -> Priority:
    marker = _priority_marker(text)
    if marker:
        return marker
    modal = _MODAL.search(text)
    return _MODAL_PRIORITY[_squash(modal.group(1)).lower()] if modal else default


def _kind(text: str, identifier: str | None, category: Category | None) -> Literal["functional", "non_functional"]:
    if identifier and identifier.startswith("NFR"):
        return "non_functional"
    if identifier and identifier.startswith("FR"):
        return "functional"
    if category == "non_functional" or _NON_FUNCTIONAL.search(text):
        return "non_functional"
    return "functional"


def _join_lead_in(lead_in: str, item: str) -> str:
    """ "The system must:" + "Rank customers" → "The system must rank customers"."""
    if len(item) > 1 and item[0].isupper() and item[1].islower():
        item = item[0].lower() + item[1:]
    return f"{lead_in.rstrip(':').rstrip()} {item}"


def _sentences(text: str) -> list[str]:
    sentences: list[str] = []
    for part in _SENTENCE_BREAK.split(text):
        if sentences and sentences[-1].lower().endswith(_ABBREVIATIONS):
            sentences[-1] = f"{sentences[-1]} {part}"
        elif part.strip():
            sentences.append(part.strip())
    return sentences


def _squash(text: str) -> str:
    return " ".join(text.split())


def _stakeholder_from_text(text: str) -> Stakeholder | None:
    """ "Name – role", "Role: name", "Name (role)" or a bare short name.

    A dash puts the name first and a colon the role first, as these lists are usually written.
    """
    text = _squash(text).strip(" .;,")
    dash = re.search(r"\s+[–—-]\s+", text)
    colon = re.search(r":\s+", text)
    if colon and (not dash or colon.start() < dash.start()):
        return _stakeholder(text[colon.end() :], text[: colon.start()])
    if dash:
        return _stakeholder(text[: dash.start()], text[dash.end() :])
    bracket = re.fullmatch(r"(.+?)\s*\((.+)\)", text)
    if bracket:
        return _stakeholder(bracket.group(1), bracket.group(2))
    return Stakeholder(name=text) if text and len(text.split()) <= 6 else None


def _stakeholder(name: str, role: str) -> Stakeholder | None:
    """A stakeholder from a likely name and role, swapped when the wording says otherwise.

    In order: a side that looks like a person's name ("Aisha Rahman") is the name; a side
    starting in lowercase is a description ("owns the catalogue"), so the other is the
    name; a side with role words ("Head of CRM", "team") is the role.
    """
    name, role = name.strip(" .;,"), role.strip(" .;,")
    for looks_like_name in (_looks_like_person, _starts_uppercase, _lacks_role_words):
        if looks_like_name(role) != looks_like_name(name):
            if looks_like_name(role):
                name, role = role, name
            break
    if not name or len(name.split()) > 8:
        return None
    return Stakeholder(name=name, role=role)


def _starts_uppercase(text: str) -> bool:
    return text[:1].isupper()


def _lacks_role_words(text: str) -> bool:
    return not _is_role(text)


def _is_role(text: str) -> bool:
    return any(word in _ROLE_WORDS for word in re.findall(r"[a-z]+", text.lower()))


def _looks_like_person(text: str) -> bool:
    words = text.split()
    capitalised = all(word[:1].isupper() and word[1:].islower() for word in words)
    return 2 <= len(words) <= 3 and capitalised and not _is_role(text)


# ---------------------------------------------------------------- ids and de-duplication


def _normalised(text: str) -> str:
    return _squash(text).lower().rstrip(".!?;:")


def _dedupe(items: list[_Found]) -> list[_Found]:
    kept: dict[str, _Found] = {}
    for item in items:
        first = kept.setdefault(_normalised(item.text), item)
        if first is not item and first.id is None and item.id is not None:
            first.id = item.id
    return list(kept.values())


def _assign_ids(items: list[_Found], prefix: str) -> list[tuple[str, _Found]]:
    """Explicit ids as given (a repeated one gets ``#2``, ``#3``…); generated ones in reading order."""
    taken = {item.id for item in items if item.id}
    seen: Counter[str] = Counter()
    number = 0
    assigned: list[tuple[str, _Found]] = []
    for item in items:
        if item.id:
            seen[item.id] += 1
            identifier = item.id if seen[item.id] == 1 else f"{item.id}#{seen[item.id]}"
        else:
            number += 1
            while f"{prefix}-{number:03d}" in taken:
                number += 1
            identifier = f"{prefix}-{number:03d}"
        assigned.append((identifier, item))
    return assigned


def _dedupe_stakeholders(stakeholders: list[Stakeholder]) -> list[Stakeholder]:
    """One entry per name; a later entry that knows the role replaces one that did not."""
    kept: dict[str, Stakeholder] = {}
    for stakeholder in stakeholders:
        key = stakeholder.name.lower()
        if key not in kept or (not kept[key].role and stakeholder.role):
            kept[key] = stakeholder
    return list(kept.values())


# ---------------------------------------------------------------- domain terms


def _content_runs(text: str) -> list[list[str]]:
    """Runs of consecutive meaningful words; stopwords and punctuation end a run."""
    runs: list[list[str]] = []
    for chunk in re.split(r"[.,;:!?()\[\]|/\"&–—]+|\s-\s", text.lower()):
        run: list[str] = []
        for word in _WORD.findall(chunk):
            if len(word) < 3 or word in _STOPWORDS or _ID_WORD.match(word):
                if run:
                    runs.append(run)
                run = []
            else:
                run.append(word)
        if run:
            runs.append(run)
    return runs


def _singular(word: str, words: Counter[str]) -> str:
    if word.endswith("ies") and f"{word[:-3]}y" in words:
        return f"{word[:-3]}y"
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and word[:-1] in words:
        return word[:-1]
    return word


_PROMPT_EXAMPLE = msgspec.json.encode(
    RequirementsDoc(
        objectives=[Objective(id="OBJ-1", text="Grow repeat purchases by 10% this year.", source="brd.md")],
        requirements=[
            Requirement(
                id="REQ-001",
                text="The analysis must rank customers by influence.",
                priority="high",
                kind="functional",
                source="brd.md",
                section="Functional requirements",
            )
        ],
        stakeholders=[Stakeholder(name="Maria Lopez", role="VP Marketing")],
        constraints=["Each analysis must finish within 30 minutes."],
        output_constraints=[
            OutputConstraint(
                id="OC-1",
                kind="no_names",
                text="Reports must not contain customer names.",
                collections=["customer"],
                source="NFR-2",
            )
        ],
        documents=["brd.md"],
        domain_terms=["customer", "repeat purchase"],
    )
).decode()


# ---------------------------------------------------------------- the agent


@offline_responder("requirements")
def _offline_requirements(docs: list[ParsedDocument]) -> RequirementsDoc:
    return extract_requirements(docs)


async def handle(task: RequirementsTask, ctx) -> RequirementsResult:
    docs = await read_documents(task.documents, ctx)
    requirements = await ctx.llm.ask("requirements", requirements_prompt(docs), RequirementsDoc, context=docs)
    if not requirements.output_constraints:
        # A model may leave them out; the rules read them from the requirements it found.
        requirements = msgspec.structs.replace(requirements, output_constraints=output_constraints(requirements))
    return RequirementsResult(requirements=requirements)


if __name__ == "__main__":
    from agents._runtime import run_agent

    run_agent("requirements", handle)
