"""Output constraints: the rules that read, from requirements and constraint sentences, what a report may show.

Requirements and constraint sentences that bind what a report may show. Privacy ("must not
contain customer names", "pseudonymise", "no personal data") → ``no_names`` with the entity
words as written (``["customer"]``; the orchestrator maps them to the graph's collections
when it builds each report task); "at most 10 rows" → ``max_items``; "reports in German" →
``language``; "export … as CSV" → ``format`` ``csv``. Each names its requirement's id as
``source`` (the document's name for a constraint sentence without one).
"""

from __future__ import annotations

import re

from gaai.agents.requirements.patterns import STOPWORDS
from gaai.bus.domain import OutputConstraint, RequirementsDoc

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
    [
        "contain",
        "contains",
        "show",
        "shows",
        "display",
        "include",
        "includes",
        "reveal",
        "list",
        "expose",
        "mention",
        "print",
        "disclose",
        "publish",
        "personal",
        "full",
        "real",
        "first",
        "last",
        "their",
        "its",
        "his",
        "her",
        "any",
        "all",
        "no",
        "the",
        "other",
        "individual",
        "people",
        "person",
        "data",
        "results",
        "reports",
        "report",
        "output",
        "outputs",
    ]
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
    [
        "items",
        "rows",
        "entries",
        "results",
        "records",
        "lines",
        "names",
        "vertices",
        "nodes",
        "members",
        "elements",
        "entities",
    ]
)

# Counted things that are not entries of a report's lists.
_UNITS = frozenset(
    [
        "minutes",
        "minute",
        "hours",
        "hour",
        "seconds",
        "second",
        "days",
        "day",
        "weeks",
        "week",
        "months",
        "month",
        "years",
        "year",
        "ms",
        "times",
        "retries",
        "attempts",
        "percent",
        "gb",
        "mb",
        "tb",
        "kb",
        "euros",
        "eur",
        "dollars",
        "usd",
        "executions",
        "analyses",
        "runs",
        "jobs",
        "cores",
        "workers",
        "threads",
        "requests",
        "calls",
        "pages",
        "characters",
        "words",
    ]
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
            if found.group(1).lower() not in _NOT_ENTITIES and found.group(1).lower() not in STOPWORDS
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
