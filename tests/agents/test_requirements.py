"""Offline requirements extraction: structure and wording in, a RequirementsDoc out."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from gaai.agents.lib.documents import MARKDOWN, PLAIN, ParsedDocument, parse_document
from gaai.agents.requirements.parser import extract_requirements
from gaai.agents.requirements.prompt import PROMPT_DOCUMENT_CHARS, requirements_prompt
from gaai.bus.contract import RequirementsTask
from gaai.bus.domain import Requirement, RequirementsDoc, Stakeholder

BUNDLED = Path(__file__).resolve().parents[2] / "graph_analytics_ai" / "data" / "requirements_ecommerce.md"


def markdown(text: str, name: str = "brd.md") -> ParsedDocument:
    return parse_document(name, MARKDOWN, text.encode())


@pytest.fixture(scope="module", name="bundled")
def _bundled() -> RequirementsDoc:
    return extract_requirements([parse_document(BUNDLED.name, MARKDOWN, BUNDLED.read_bytes())])


class TestBundledDocument:
    def test_explicit_ids_are_kept_and_one_is_generated(self, bundled: RequirementsDoc) -> None:
        """Every REQ/NFR/OBJ id of the demo document is found as written; the user story gets REQ-001."""
        assert [objective.id for objective in bundled.objectives] == ["OBJ-1", "OBJ-2", "OBJ-3", "OBJ-4"]
        assert [requirement.id for requirement in bundled.requirements] == [
            *(f"REQ-{number}" for number in range(1, 10)),
            "REQ-001",
            "NFR-1",
            "NFR-2",
            "NFR-3",
        ]

    def test_priorities_follow_markers_and_modal_verbs(self, bundled: RequirementsDoc) -> None:
        """P0 and [critical] are critical, P1 and must are high, should is medium, could is low."""
        priority = {requirement.id: requirement.priority for requirement in bundled.requirements}
        assert priority == {
            "REQ-1": "critical",
            "REQ-2": "high",
            "REQ-3": "high",
            "REQ-4": "medium",
            "REQ-5": "medium",
            "REQ-6": "critical",
            "REQ-7": "medium",
            "REQ-8": "high",
            "REQ-9": "low",
            "REQ-001": "medium",
            "NFR-1": "high",
            "NFR-2": "high",
            "NFR-3": "medium",
        }

    def test_text_kind_source_and_section(self, bundled: RequirementsDoc) -> None:
        """Ids and priority markers are cut from the text; NFRs are non-functional; the section is the heading."""
        by_id = {requirement.id: requirement for requirement in bundled.requirements}
        assert by_id["REQ-1"].text.startswith("The system must rank customers by influence")
        assert by_id["REQ-6"].text.startswith("The system must detect circular follow and referral patterns")
        assert by_id["REQ-1"].kind == "functional" and by_id["REQ-1"].section == "Functional requirements"
        assert all(by_id[key].kind == "non_functional" for key in ("NFR-1", "NFR-2", "NFR-3"))
        assert by_id["NFR-1"].section == "Non-functional requirements"
        assert {requirement.source for requirement in bundled.requirements} == {BUNDLED.name}
        assert bundled.documents == [BUNDLED.name]

    def test_out_of_scope_items_are_not_requirements(self, bundled: RequirementsDoc) -> None:
        """'Real-time scoring … should be considered' sits under Out of scope and is ignored."""
        assert not any("Real-time scoring" in requirement.text for requirement in bundled.requirements)

    def test_stakeholders(self, bundled: RequirementsDoc) -> None:
        """'Name – role', 'Role: name', team entries and 'As a …' user stories are all stakeholders."""
        assert bundled.stakeholders == [
            Stakeholder(name="Maria Lopez", role="VP Marketing (executive sponsor)"),
            Stakeholder(name="David Chen", role="Head of Customer Insights"),
            Stakeholder(name="Trust & Safety team", role="investigates referral abuse and fake reviews"),
            Stakeholder(name="Merchandising team", role="owns category and assortment decisions"),
            Stakeholder(name="Aisha Rahman", role="Data Protection Officer"),
            Stakeholder(name="Data Engineering", role="operates the graph platform and the nightly loads"),
            Stakeholder(name="Category manager", role="user"),
        ]

    def test_constraints(self, bundled: RequirementsDoc) -> None:
        """Constraint-section items and run-time and privacy limits elsewhere are constraints."""
        constraints = "\n".join(bundled.constraints)
        for expected in (
            "within 30 minutes",
            "must not contain customer names",
            "GDPR",
            "no more than EUR 2,000",
            "deadline",
            "nightly snapshot",
        ):
            assert expected in constraints
        assert len(bundled.constraints) == len(set(bundled.constraints))

    def test_domain_terms(self, bundled: RequirementsDoc) -> None:
        """The most frequent business words lead the terms; stopwords and ids never appear."""
        assert 0 < len(bundled.domain_terms) <= 25
        assert bundled.domain_terms[0] == "customer"
        assert {"product", "products"} & set(bundled.domain_terms)
        assert {"category", "community", "referral"} <= set(bundled.domain_terms)
        assert not {"the", "must", "system", "req-1", "should"} & set(bundled.domain_terms)


class TestProse:
    PROSE = (
        "We want to understand which customers influence others. The analysis must run every night and "
        "finish within 2 hours. It should also find communities of similar shoppers, e.g. hikers. "
        "It would be nice to have a dashboard. This may take some time to set up. Our goal is to reduce churn. "
        "As a store manager, I want a weekly list of top products."
    )

    def test_sentences_give_objectives_and_requirements(self) -> None:
        """Without headings, modal sentences are requirements and goal sentences are objectives."""
        result = extract_requirements([parse_document("notes.txt", PLAIN, self.PROSE.encode())])
        assert [(objective.id, objective.text) for objective in result.objectives] == [
            ("OBJ-001", "We want to understand which customers influence others."),
            ("OBJ-002", "Our goal is to reduce churn."),
        ]
        assert [(r.id, r.priority, r.kind, r.text) for r in result.requirements] == [
            ("REQ-001", "high", "non_functional", "The analysis must run every night and finish within 2 hours."),
            ("REQ-002", "medium", "functional", "It should also find communities of similar shoppers, e.g. hikers."),
            ("REQ-003", "low", "functional", "It would be nice to have a dashboard."),
            ("REQ-004", "medium", "functional", "As a store manager, I want a weekly list of top products."),
        ]
        assert result.stakeholders == [Stakeholder(name="Store manager", role="user")]
        assert result.constraints == ["The analysis must run every night and finish within 2 hours."]


class TestIds:
    def test_generated_ids_are_stable_and_skip_explicit_ones(self) -> None:
        """Generated ids never reuse an explicit one, and the same input gives the same ids."""
        doc = markdown(
            "## Requirements\n"
            "- Rank customers by influence.\n"
            "- REQ-001: Find communities.\n"
            "- Detect circular referrals.\n"
            "- Export results as CSV.\n"
        )
        first = extract_requirements([doc])
        assert [(requirement.id, requirement.text) for requirement in first.requirements] == [
            ("REQ-002", "Rank customers by influence."),
            ("REQ-001", "Find communities."),
            ("REQ-003", "Detect circular referrals."),
            ("REQ-004", "Export results as CSV."),
        ]
        assert extract_requirements([doc]) == first

    def test_repeated_explicit_id_is_made_unique(self) -> None:
        """Two different requirements written with the same id stay distinguishable."""
        result = extract_requirements(
            [
                markdown("## Requirements\n- REQ-1: Rank customers.\n"),
                markdown("## Requirements\n- REQ-1: Find rings.\n", "b.md"),
            ]
        )
        assert [requirement.id for requirement in result.requirements] == ["REQ-1", "REQ-1#2"]

    def test_trailing_bracket_id(self) -> None:
        """An id in brackets at the end of an item is its id."""
        result = extract_requirements([markdown("## Features\n- The system must rank products (FR-7).\n")])
        assert [(requirement.id, requirement.text) for requirement in result.requirements] == [
            ("FR-7", "The system must rank products.")
        ]


class TestDeduplication:
    def test_identical_texts_across_documents_appear_once(self) -> None:
        """A requirement repeated in a second document is kept once, from the first, with its explicit id."""
        first = markdown("## Requirements\n- The system must rank customers by influence.\n", "a.md")
        second = markdown(
            "## Requirements\n- REQ-9: The system must rank customers  by influence\n- The system should find rings.\n",
            "b.md",
        )
        result = extract_requirements([first, second])
        assert [(requirement.id, requirement.source) for requirement in result.requirements] == [
            ("REQ-9", "a.md"),
            ("REQ-001", "b.md"),
        ]
        assert result.documents == ["a.md", "b.md"]

    def test_same_document_in_two_formats(self, bundled: RequirementsDoc) -> None:
        """The demo document given as .md and again as .txt yields each item once."""
        data = BUNDLED.read_bytes()
        result = extract_requirements(
            [parse_document("brd.md", MARKDOWN, data), parse_document("brd.txt", PLAIN, data)]
        )
        assert [r.id for r in result.requirements] == [r.id for r in bundled.requirements]
        assert [o.id for o in result.objectives] == [o.id for o in bundled.objectives]
        assert {r.source for r in result.requirements} == {"brd.md"}


class TestStructures:
    def test_lead_in_gives_its_modal_verb_to_the_items(self) -> None:
        """'The platform must:' followed by bullets makes each bullet a high-priority requirement."""
        result = extract_requirements(
            [markdown("Intro.\n\nThe platform must:\n\n- Rank customers by influence\n- find rings\n")]
        )
        assert [(requirement.text, requirement.priority) for requirement in result.requirements] == [
            ("The platform must rank customers by influence", "high"),
            ("The platform must find rings", "high"),
        ]

    def test_requirement_table_with_priority_column(self) -> None:
        """A table row's id cell, priority cell and text cell become one requirement; the header is skipped."""
        result = extract_requirements(
            [
                markdown(
                    "## Requirements\n\n| ID | Requirement | Priority |\n|---|---|---|\n"
                    "| REQ-4 | Find brokers between communities | Low |\n"
                    "| NFR-2 | Finish within 10 minutes | Must |\n"
                )
            ]
        )
        assert [(r.id, r.text, r.priority, r.kind) for r in result.requirements] == [
            ("REQ-4", "Find brokers between communities", "low", "functional"),
            ("NFR-2", "Finish within 10 minutes", "high", "non_functional"),
        ]

    def test_heading_with_id_takes_its_body(self) -> None:
        """A '### REQ-7: title' section is one requirement whose text is the body."""
        result = extract_requirements(
            [
                markdown(
                    "## Requirements\n### REQ-7: Hub products\nThe system should find products that connect many "
                    "categories.\n### OBJ-2 Reach\nGrow reach in new segments.\n"
                )
            ]
        )
        assert [(r.id, r.text, r.priority, r.section) for r in result.requirements] == [
            ("REQ-7", "The system should find products that connect many categories.", "medium", "REQ-7: Hub products")
        ]
        assert [(o.id, o.text) for o in result.objectives] == [("OBJ-2", "Grow reach in new segments.")]

    def test_plain_text_sections_and_stakeholder_forms(self) -> None:
        """A .txt with ALL CAPS and colon headings is read by section, stakeholders in either order."""
        text = (
            "GOALS\n"
            "Our strategy is described below.\n"
            "- Reduce churn among new customers\n\n"
            "STAKEHOLDERS\n"
            "Sponsor: Maria Lopez\n"
            "- Head of CRM - Priya Shah\n"
            "- Finance team\n\n"
            "Assumptions:\n"
            "- Data is refreshed daily\n\n"
            "REQUIREMENTS\n"
            "Each requirement below is agreed.\n"
            "- Rank customers (P2)\n"
            "- The report may include charts\n"
        )
        result = extract_requirements([parse_document("brd.txt", PLAIN, text.encode())])
        assert [objective.text for objective in result.objectives] == ["Reduce churn among new customers"]
        assert result.stakeholders == [
            Stakeholder(name="Maria Lopez", role="Sponsor"),
            Stakeholder(name="Priya Shah", role="Head of CRM"),
            Stakeholder(name="Finance team", role=""),
        ]
        assert result.constraints == ["Data is refreshed daily"]
        assert [(r.text, r.priority, r.section) for r in result.requirements] == [
            ("Rank customers (P2)", "medium", "REQUIREMENTS"),
            ("The report may include charts", "low", "REQUIREMENTS"),
        ]

    def test_subsections_inherit_their_parent_meaning(self) -> None:
        """Items under '### Performance' inside 'Non-functional requirements' are non-functional requirements."""
        result = extract_requirements(
            [markdown("## Non-functional requirements\n### Reporting\n- Reports are readable on a phone\n")]
        )
        assert [(r.text, r.kind, r.section) for r in result.requirements] == [
            ("Reports are readable on a phone", "non_functional", "Reporting")
        ]


class TestPrompt:
    def test_prompt_carries_rules_example_and_documents(self) -> None:
        """The LLM prompt shows a valid RequirementsDoc example, the id rules and every document."""
        docs = [markdown("## Requirements\n- REQ-1: Rank customers.\n", "a.md"), markdown("# Goals\n- Grow.\n", "b.md")]
        prompt = requirements_prompt(docs).text
        example = next(line for line in prompt.splitlines() if line.startswith("{"))
        assert isinstance(msgspec.json.decode(example, type=RequirementsDoc), RequirementsDoc)
        assert "REQ-001" in prompt and "non_functional" in prompt
        assert '<document name="a.md">' in prompt and "- REQ-1: Rank customers." in prompt
        assert '<document name="b.md">' in prompt and '["a.md","b.md"]' in prompt

    def test_long_documents_are_truncated(self) -> None:
        """Without a known context, document text beyond the prompt budget is cut, marked and named."""
        doc = markdown("# Notes\n" + "The system must rank customers. " * 5000, "notes.md")
        prompt = requirements_prompt([doc])
        assert len(prompt.text) < PROMPT_DOCUMENT_CHARS + 5000
        assert "the rest of this document is cut" in prompt.text
        assert prompt.cuts == [
            f"the model was shown the first {PROMPT_DOCUMENT_CHARS:,} of {len(doc.text):,} characters of notes.md, "
            "all its context had room for"
        ]

    def test_a_prompt_fits_the_room_given_and_says_what_it_cut(self) -> None:
        """With room for 6,000 characters the whole prompt fits it; the first document is cut, the second left out."""
        first = markdown("# Notes\n" + "The system must rank customers. " * 400, "a.md")
        second = markdown("# More\n- REQ-9: Find communities.\n", "b.md")
        prompt = requirements_prompt([first, second], room=6000)
        assert len(prompt.text) <= 6000
        kept = prompt.text.split('<document name="a.md">\n', 1)[1].split("\n[… the rest", 1)[0]
        assert first.text.startswith(kept) and 0 < len(kept) < len(first.text)
        assert prompt.cuts == [
            f"the model was shown the first {len(kept):,} of {len(first.text):,} characters of a.md, "
            "all its context had room for",
            f"the model was shown the first 0 of {len(second.text):,} characters of b.md, all its context had room for",
        ]


class TestOutputConstraints:
    def test_bundled_document_yields_its_csv_export_and_its_privacy_rule(self, bundled: RequirementsDoc) -> None:
        """REQ-9's CSV export and NFR-2's ban on customer names become constraints naming their requirement."""
        assert [(c.id, c.kind, c.value, c.collections, c.source) for c in bundled.output_constraints] == [
            ("OC-1", "format", "csv", [], "REQ-9"),
            ("OC-2", "no_names", None, ["customer"], "NFR-2"),
        ]
        assert bundled.output_constraints[1].text.startswith("Reports must not contain customer names")

    @pytest.mark.parametrize(
        ("sentence", "rules"),
        [
            ("Reports must not contain customer names.", [("no_names", None, ["customer"])]),
            ("The system must not name customers in any report.", [("no_names", None, ["customer"])]),
            ("Names of suppliers must not be shown.", [("no_names", None, ["supplier"])]),
            ("Pseudonymise users and their e-mail addresses.", [("no_names", None, ["user"])]),
            ("No personal data may appear in the output.", [("no_names", None, [])]),
            ("Rankings in reports must list at most 20 customers.", [("max_items", 20, [])]),
            ("Tables must show no more than ten rows.", [("max_items", 10, [])]),
            ("Limit each list to 5 items.", [("max_items", 5, [])]),
            ("Reports must be written in German.", [("language", "German", [])]),
            ("Deliver the results in CSV format.", [("format", "csv", [])]),
            ("Export every ranking as CSV.", [("format", "csv", [])]),
            # Limits on money, time and retries, and a language that names a place, bind no report.
            ("The compute budget is no more than EUR 2,000 per month.", []),
            ("Each analysis must complete within 30 minutes.", []),
            ("Retry at most 3 times.", []),
            ("Find the customers in German cities.", []),
        ],
    )
    def test_sentences(self, sentence: str, rules: list) -> None:
        extracted = extract_requirements([markdown(f"## Non-functional requirements\n\n- {sentence}\n")])
        assert [(c.kind, c.value, c.collections) for c in extracted.output_constraints] == rules
        assert all(c.source == "REQ-001" and c.text == sentence for c in extracted.output_constraints)

    def test_constraint_sentences_count_and_the_same_rule_is_kept_once(self) -> None:
        """A constraints section is read too; a rule stated twice keeps its first source."""
        text = (
            "## Requirements\n\n- NFR-4: Each table in a report shows at most 15 rows.\n\n"
            "## Constraints\n\n- Reports must not show personal data.\n- Tables hold at most 15 rows.\n"
        )
        extracted = extract_requirements([markdown(text, "brd.md")])
        assert [(c.id, c.kind, c.value, c.source) for c in extracted.output_constraints] == [
            ("OC-1", "max_items", 15, "NFR-4"),
            ("OC-2", "no_names", None, "brd.md"),
        ]

    async def test_a_model_that_leaves_them_out_gets_them_from_its_requirements(self) -> None:
        """The agent reads the constraints from whatever requirements the model found, when it named none."""
        from gaai.agents import requirements as agent
        from gaai.agents.lib.llm import RecordingLlm
        from tests.agents.contexts import DocumentsAtHand, ScriptedProvider

        answer = RequirementsDoc(
            requirements=[Requirement(id="NFR-1", text="Reports must not contain customer names.")]
        )
        model = ScriptedProvider(msgspec.json.encode(answer).decode())
        ctx = DocumentsAtHand(
            workflow_id="wf", task_id="wf.requirements", attempt=1, store=None, llm=RecordingLlm(model, []), home=None
        )
        result = await agent.handle(RequirementsTask(documents=[ctx.hand("brd.md", "# Brief\n\nSome text.")]), ctx)
        assert [(c.kind, c.collections, c.source) for c in result.requirements.output_constraints] == [
            ("no_names", ["customer"], "NFR-1")
        ]
