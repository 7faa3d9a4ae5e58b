"""What a language model is asked for the requirements (``requirements_prompt``), and the offline answer."""

from __future__ import annotations

from typing import NamedTuple

import msgspec

from gaai.agents.lib.documents import ParsedDocument
from gaai.agents.lib.llm import offline_responder
from gaai.agents.requirements.parser import extract_requirements
from gaai.bus.domain import Objective, OutputConstraint, Requirement, RequirementsDoc, Stakeholder

PROMPT_DOCUMENT_CHARS = 60_000
"""Document text beyond this many characters is cut from the LLM prompt, however large the model's context."""
_CUT_MARK = "\n[… the rest of this document is cut: the model's context has no room for it …]\n"


class RequirementsPrompt(NamedTuple):
    text: str
    cuts: list[str]
    """One sentence per document the prompt holds only part of, naming how much."""


def requirements_prompt(docs: list[ParsedDocument], room: int | None = None) -> RequirementsPrompt:
    """The instruction that makes an LLM produce the same :class:`RequirementsDoc` as JSON.

    Args:
        docs: The parsed documents; their text is appended in order while it fits.
        room: The longest prompt the model's context takes, in characters (``None``: no limit); the
            documents are cut after :data:`PROMPT_DOCUMENT_CHARS` characters in total in any case.

    Returns:
        The prompt text, and what was cut from it.
    """
    instructions = _instructions(docs)
    wrappers = sum(len(_wrapped(doc.name, _CUT_MARK)) + 1 for doc in docs)
    budget = (
        PROMPT_DOCUMENT_CHARS
        if room is None
        else min(PROMPT_DOCUMENT_CHARS, max(0, room - len(instructions) - wrappers))
    )
    body: list[str] = []
    cuts: list[str] = []
    for doc in docs:
        if len(doc.text) <= budget:
            text = doc.text
        else:
            text = doc.text[:budget] + _CUT_MARK
            cuts.append(
                f"the model was shown the first {budget:,} of {len(doc.text):,} characters of {doc.name}, "
                "all its context had room for"
            )
        budget = max(0, budget - len(doc.text))
        body.append(_wrapped(doc.name, text))
    return RequirementsPrompt("\n".join([instructions, *body]), cuts)


def _wrapped(name: str, text: str) -> str:
    return f'<document name="{name}">\n{text}</document>'


def _instructions(docs: list[ParsedDocument]) -> str:
    return "\n".join(
        [
            "Extract the business requirements for a graph-analytics project from the documents below.",
            "Answer with one JSON object and nothing else, shaped like this example:",
            _EXAMPLE_JSON,
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
        ]
    )


PROMPT_EXAMPLE = RequirementsDoc(
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
_EXAMPLE_JSON = msgspec.json.encode(PROMPT_EXAMPLE).decode()


@offline_responder("requirements")
def _offline_requirements(docs: list[ParsedDocument]) -> RequirementsDoc:
    return extract_requirements(docs)
