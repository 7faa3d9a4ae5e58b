"""The offline requirements extractor: objectives, requirements, stakeholders and constraints from documents.

The offline extractor reads structure and wording, never guesses with randomness, so the
same documents always give the same :class:`~bus.domain.RequirementsDoc`:

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
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass
from typing import Literal

import msgspec

from gaai.agents.lib.documents import ParsedDocument, list_item, squash_spaces
from gaai.agents.requirements.constraints import output_constraints
from gaai.agents.requirements.patterns import (
    ABBREVIATIONS,
    CATEGORIES,
    CONSTRAINT,
    CRITICAL,
    EXPLICIT_PRIORITY,
    ID_EXACT,
    ID_WORD,
    LEADING_ID,
    MODAL,
    MODAL_PRIORITY,
    MOSCOW,
    MOSCOW_PRIORITY,
    NON_FUNCTIONAL,
    OBJECTIVE_PHRASE,
    OBJECTIVE_PREFIXES,
    P_LEVEL,
    P_PRIORITY,
    PRIORITY_WORD,
    PROSE_MODAL,
    REQUIREMENT_PREFIXES,
    ROLE_WORDS,
    SENTENCE_BREAK,
    STOPWORDS,
    TABLE_HEADERS,
    TRAILING_ID,
    USER_STORY,
    WORD,
    Category,
    Priority,
)
from gaai.bus.domain import Objective, Requirement, RequirementsDoc, Stakeholder

DOMAIN_TERM_COUNT = 25
"""How many domain terms :func:`extract_requirements` reports."""


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
                    pairs.update(itertools.pairwise(run))
    singular = {word: _singular_if_counted(word, words) for word in words}
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
    if identifier.startswith(OBJECTIVE_PREFIXES):
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
    if prefix in OBJECTIVE_PREFIXES:
        found.objectives.append(_Found(identifier, text, source, heading))
        return
    if prefix in REQUIREMENT_PREFIXES:
        _add_requirement(source, heading, category, identifier, text, context, found)
        return
    if category == "objectives":
        if is_item or OBJECTIVE_PHRASE.search(text) or not has_items:
            found.objectives.append(_Found(None, text, source, heading))
    elif category in ("requirements", "non_functional"):
        if is_item or MODAL.search(text) or USER_STORY.search(text):
            _add_requirement(source, heading, category, None, text, context, found)
    elif category == "stakeholders":
        stakeholder = _stakeholder_from_text(text)
        if stakeholder and (is_item or stakeholder.role):
            found.stakeholders.append(stakeholder)
    elif category == "constraints":
        found.constraints.append(text)
        found.constraint_sources.setdefault(text, source)
    elif OBJECTIVE_PHRASE.search(text):
        found.objectives.append(_Found(None, text, source, heading))
    elif PROSE_MODAL.search(text) or USER_STORY.search(text):
        _add_requirement(source, heading, category, None, text, context, found)


def _read_row(source: str, heading: str, category: Category | None, line: str, found: _Collector) -> None:
    """A table row: an id cell, an optional priority cell and the longest other cell as the text."""
    cells = [cell.strip() for cell in line.split(" | ") if cell.strip()]
    if all(cell.lower() in TABLE_HEADERS for cell in cells):
        return
    if category == "stakeholders":
        stakeholder = _stakeholder(cells[0], cells[1] if len(cells) > 1 else "")
        if stakeholder:
            found.stakeholders.append(stakeholder)
        return
    identifier = next((cell for cell in cells if ID_EXACT.match(cell)), None)
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
    if CONSTRAINT.search(text):
        sentence = _split_id(text)[1]
        found.constraints.append(sentence)
        found.constraint_sources.setdefault(sentence, source)


def _note_user_story(text: str, found: _Collector) -> None:
    story = USER_STORY.search(text)
    if story:
        role = squash_spaces(story.group(1))
        found.stakeholders.append(Stakeholder(name=role[:1].upper() + role[1:], role="user"))


def _category(heading: str) -> Category | None:
    lowered = heading.lower()
    return next((category for category, pattern in CATEGORIES if pattern.search(lowered)), None) if lowered else None


def _split_id(text: str) -> tuple[str | None, str]:
    """An explicit id at the start or in brackets at the end, and the text without it."""
    text = text.strip()
    leading = LEADING_ID.match(text)
    if leading:
        return leading.group(1), text[leading.end() :].strip()
    trailing = TRAILING_ID.search(text)
    if trailing:
        return trailing.group(1), (text[: trailing.start()] + trailing.group(2)).strip()
    if ID_EXACT.match(text):
        return text, ""
    return None, text


def _priority_marker(text: str) -> Priority | None:
    explicit = EXPLICIT_PRIORITY.search(text)
    if explicit:
        return PRIORITY_WORD[(explicit.group(1) or explicit.group(2)).lower()]
    # A table's priority column holds a bare word: "High", or MoSCoW's "Must".
    if text.strip().lower() in PRIORITY_WORD:
        return PRIORITY_WORD[text.strip().lower()]
    level = P_LEVEL.search(text)
    if level:
        return P_PRIORITY[level.group(1)]
    if CRITICAL.search(text):
        return "critical"
    moscow = MOSCOW.search(text)
    if moscow:
        return MOSCOW_PRIORITY[moscow.group(1).lower()] if moscow.group(1) else "low"
    return None


def _priority(text: str, default: Priority) -> Priority:
    marker = _priority_marker(text)
    if marker:
        return marker
    modal = MODAL.search(text)
    return MODAL_PRIORITY[squash_spaces(modal.group(1)).lower()] if modal else default


def _kind(text: str, identifier: str | None, category: Category | None) -> Literal["functional", "non_functional"]:
    if identifier and identifier.startswith("NFR"):
        return "non_functional"
    if identifier and identifier.startswith("FR"):
        return "functional"
    if category == "non_functional" or NON_FUNCTIONAL.search(text):
        return "non_functional"
    return "functional"


def _join_lead_in(lead_in: str, item: str) -> str:
    """ "The system must:" + "Rank customers" → "The system must rank customers"."""
    if len(item) > 1 and item[0].isupper() and item[1].islower():
        item = item[0].lower() + item[1:]
    return f"{lead_in.rstrip(':').rstrip()} {item}"


def _sentences(text: str) -> list[str]:
    sentences: list[str] = []
    for part in SENTENCE_BREAK.split(text):
        if sentences and sentences[-1].lower().endswith(ABBREVIATIONS):
            sentences[-1] = f"{sentences[-1]} {part}"
        elif part.strip():
            sentences.append(part.strip())
    return sentences


def _stakeholder_from_text(text: str) -> Stakeholder | None:
    """ "Name – role", "Role: name", "Name (role)" or a bare short name.

    A dash puts the name first and a colon the role first, as these lists are usually written.
    """
    text = squash_spaces(text).strip(" .;,")
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
    return any(word in ROLE_WORDS for word in re.findall(r"[a-z]+", text.lower()))


def _looks_like_person(text: str) -> bool:
    words = text.split()
    capitalised = all(word[:1].isupper() and word[1:].islower() for word in words)
    return 2 <= len(words) <= 3 and capitalised and not _is_role(text)


def _normalised(text: str) -> str:
    return squash_spaces(text).lower().rstrip(".!?;:")


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


def _content_runs(text: str) -> list[list[str]]:
    """Runs of consecutive meaningful words; stopwords and punctuation end a run."""
    runs: list[list[str]] = []
    for chunk in re.split(r"[.,;:!?()\[\]|/\"&–—]+|\s-\s", text.lower()):
        run: list[str] = []
        for word in WORD.findall(chunk):
            if len(word) < 3 or word in STOPWORDS or ID_WORD.match(word):
                if run:
                    runs.append(run)
                run = []
            else:
                run.append(word)
        if run:
            runs.append(run)
    return runs


def _singular_if_counted(word: str, words: Counter[str]) -> str:
    if word.endswith("ies") and f"{word[:-3]}y" in words:
        return f"{word[:-3]}y"
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and word[:-1] in words:
        return word[:-1]
    return word
