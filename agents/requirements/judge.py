"""A model's requirements checked for meaning, and completed or replaced by the rule-based extractor.

A weak model answers in shape but not in sense: items with no text, the prompt's example copied,
placeholder or repeated ids ("1234567890", "id1"), ids the documents write left out. What can be
fixed is fixed (new ids), what cannot is dropped, and requirements the documents name by id but
the model left out are taken from the rules. An answer left with no requirement and no objective
is replaced by the rules' whole answer. Every change is said in the answer's note.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

import msgspec

from gaai.agents.lib.documents import ParsedDocument
from gaai.agents.lib.llm import Answer, first_free, renumbered
from gaai.bus.domain import Objective, Requirement, RequirementsDoc

DONE_BY_RULES = "requirements extracted by rules"

Item = TypeVar("Item", Requirement, Objective)

# An id as documents write them: letters, an optional separator, a number (REQ-12, FR1, NFR-2.1, OBJ-3).
_ID_SHAPE = re.compile(r"[A-Za-z]{1,10}[-_.]?\d{1,5}(?:\.\d{1,3})?[A-Za-z]?")
_PLACEHOLDER_PREFIX = re.compile(r"(?:id|x+|item|example|string)[-_.]?\d*", re.IGNORECASE)
_PLACEHOLDER_TEXTS = frozenset({"", "string", "text", "requirement", "objective", "...", "…", "n/a", "tbd", "todo"})


def judge_requirements(
    answer: RequirementsDoc, rules: Callable[[], RequirementsDoc], docs: list[ParsedDocument], example: RequirementsDoc
) -> Answer[RequirementsDoc]:
    """``answer`` with its unusable items dropped or fixed and completed from ``rules``, or the rules' answer.

    Args:
        answer: The model's requirements, valid in shape.
        rules: Gives the rule-based extractor's requirements for the same documents.
        docs: The documents both read.
        example: The example the prompt showed; an item copied from it that the documents do not say is dropped.
    """
    corpus = _normalised(" ".join(doc.text for doc in docs))
    copied = {_normalised(r.text) for r in example.requirements} | {_normalised(o.text) for o in example.objectives}
    problems: list[str] = []

    seen: set[str] = set()

    def usable(text: str) -> bool:
        key = _normalised(text)
        if key in _PLACEHOLDER_TEXTS:
            problems.append("an item with no text")
            return False
        if key in seen:
            problems.append("a repeated item")
            return False
        seen.add(key)
        if key in copied and key not in corpus:
            problems.append("the prompt's example copied")
            return False
        return True

    requirements = [r for r in answer.requirements if usable(r.text)]
    objectives = [o for o in answer.objectives if usable(o.text)]
    if not requirements and not objectives:
        why = "held no requirement or objective" if not problems else f"held only {_counted(problems)}"
        return Answer(rules(), "rules", f"{DONE_BY_RULES}: the model's answer {why}")
    written = set(re.findall(_ID_SHAPE.pattern, " ".join(doc.text for doc in docs)))
    extracted = rules()
    # An item the model gave a placeholder id takes the id the documents write for the same text.
    written_ids = {_normalised(item.text): item.id for item in [*extracted.requirements, *extracted.objectives]}
    written_ids = {text: identifier for text, identifier in written_ids.items() if identifier in written}
    requirements, renamed = _fixed_ids(requirements, "REQ", written_ids)
    objectives, renamed_objectives = _fixed_ids(objectives, "OBJ", written_ids)
    renamed += renamed_objectives
    taken = {r.id for r in requirements} | {o.id for o in objectives}
    said = {_normalised(item.text) for item in [*requirements, *objectives]}
    missing = [
        r for r in extracted.requirements if r.id in written and r.id not in taken and _normalised(r.text) not in said
    ]
    missing_objectives = [
        o for o in extracted.objectives if o.id in written and o.id not in taken and _normalised(o.text) not in said
    ]
    notes = []
    if problems:
        notes.append(f"dropped {_counted(problems)}")
    if renamed:
        notes.append(f"gave new ids to {', '.join(renamed)}")
    if missing or missing_objectives:
        ids = ", ".join(item.id for item in [*missing, *missing_objectives])
        notes.append(f"{DONE_BY_RULES} where the model left out what the documents name: {ids}")
    completed = msgspec.structs.replace(
        answer,
        requirements=[*requirements, *missing],
        objectives=[*objectives, *missing_objectives],
        documents=[doc.name for doc in docs],
    )
    planned_by = "model and rules" if missing or missing_objectives else "model"
    return Answer(completed, planned_by, f"requirements checked: {'; '.join(notes)}" if notes else "")


def _fixed_ids(items: list[Item], prefix: str, written_ids: dict[str, str]) -> tuple[list[Item], list[str]]:
    """Items whose ids are placeholders or repeats given the id the documents write for their text, else
    ``PREFIX-001``…, skipping ids in use; and which were."""

    def next_id(item: Item, taken: set[str]) -> str:
        written = written_ids.get(_normalised(item.text))
        return written if written is not None and written not in taken else first_free(prefix, taken)

    return renumbered(items, _real_id, next_id)


def _real_id(identifier: str) -> bool:
    return bool(_ID_SHAPE.fullmatch(identifier)) and not _PLACEHOLDER_PREFIX.fullmatch(identifier)


def _normalised(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9%]+", text.lower()))


def _counted(problems: list[str]) -> str:
    counts = {problem: problems.count(problem) for problem in dict.fromkeys(problems)}
    return ", ".join(f"{count} × {problem}" if count > 1 else problem for problem, count in counts.items())
