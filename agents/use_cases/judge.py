"""A model's use cases checked for meaning, and completed or replaced by the rule-based mapping.

A use case must name a catalog algorithm and at least one vertex collection of this graph; one
that does not, or that repeats another's algorithm and collections, is dropped. Placeholder or
repeated ids ("1234567890", "id1") get the next free ``UC-nnn``; requirement ids the requirements
do not have are removed. Requirements the mapping answers but no kept use case serves get the
mapping's use case. An answer left with nothing is replaced by the mapping's whole answer. Each
use case says who planned it (``planned_by``), and the answer's note says what was done and why.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import msgspec

from gaai.agents.lib.algorithms import ALGORITHMS
from gaai.agents.lib.llm import Answer, first_free, renumbered
from gaai.agents.use_cases.mapping import collection_forms
from gaai.bus.contract import UseCasesTask
from gaai.bus.domain import UseCase

DONE_BY_RULES = "use cases planned by rules"

_USE_CASE_ID = re.compile(r"UC-\d{1,4}")


def judge_use_cases(answer: list[UseCase], rules: Callable[[], list[UseCase]], task: UseCasesTask) -> Answer:
    """``answer`` with its unusable use cases dropped or fixed and completed from ``rules``, or the rules' answer."""
    known_requirements = {r.id for r in task.requirements.requirements} | {o.id for o in task.requirements.objectives}
    collections = {form: c.name for c in task.schema.vertex_collections for form in collection_forms(c.name)}
    problems: list[str] = []
    kept: list[UseCase] = []
    for use_case in answer:
        if use_case.algorithm not in ALGORITHMS:
            problems.append(f"named no catalog algorithm ({use_case.algorithm!r})")
            continue
        focus = list(dict.fromkeys(collections[f] for f in map(_form, use_case.focus_collections) if f in collections))
        if not focus:
            problems.append("named no collection of this graph")
            continue
        if any(other.algorithm == use_case.algorithm and set(other.focus_collections) == set(focus) for other in kept):
            problems.append("repeated another")
            continue
        kept.append(
            msgspec.structs.replace(
                use_case,
                focus_collections=focus,
                requirement_ids=[i for i in dict.fromkeys(use_case.requirement_ids) if i in known_requirements],
                planned_by="model",
            )
        )
    reasons = "; ".join(dict.fromkeys(problems))
    if not kept:
        why = f"the model's answer {reasons or 'held no use case'}"
        planned = [msgspec.structs.replace(use_case, planned_by=f"rules: {why}") for use_case in rules()]
        return Answer(planned, "rules", f"{DONE_BY_RULES}: {why}")
    kept, renamed = _numbered(kept)
    served = {i for use_case in kept for i in use_case.requirement_ids}
    added: list[UseCase] = []
    for use_case in rules():
        unserved = [i for i in use_case.requirement_ids if i not in served]
        if not unserved:
            continue
        served.update(unserved)
        reason = f"rules: the model's answer served no use case for {', '.join(unserved)}"
        added.append(msgspec.structs.replace(use_case, planned_by=reason))
    notes = []
    if problems:
        notes.append(f"dropped {len(problems)} of the model's use cases: {reasons}")
    if renamed:
        notes.append(f"gave new ids to {', '.join(renamed)}")
    if added:
        ids = sorted({i for use_case in added for i in use_case.requirement_ids})
        notes.append(f"{DONE_BY_RULES} for what the model's answer left unserved: {', '.join(ids)}")
    completed, _ = _numbered([*kept, *added])
    note = f"use cases checked: {'; '.join(notes)}" if notes else ""
    return Answer(completed, "model and rules" if added else "model", note)


def stamped(answer: Answer) -> list[UseCase]:
    """The answer's use cases, each saying who planned it: the rules', when they answered for the model (an answer
    cut off or invalid), with the reason. The offline provider's, the rules' as configured, say nothing."""
    if answer.planned_by != "rules" or not answer.note:
        return answer.value
    why = answer.note.removeprefix(f"{DONE_BY_RULES}: ")
    return [u if u.planned_by else msgspec.structs.replace(u, planned_by=f"rules: {why}") for u in answer.value]


def _numbered(use_cases: list[UseCase]) -> tuple[list[UseCase], list[str]]:
    """Use cases whose ids are placeholders or repeats given the next free ``UC-nnn``; and which were."""
    return renumbered(use_cases, _USE_CASE_ID.fullmatch, lambda _use_case, taken: first_free("UC", taken))


def _form(name: str) -> str:
    return re.sub(r"[_\-]+", " ", name).strip().lower()
