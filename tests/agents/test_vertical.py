"""Industry verticals: built-in profiles, the custom format and automatic choice."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gaai.agents import vertical
from gaai.agents.lib.algorithms import ALGORITHMS
from gaai.agents.lib.documents import MARKDOWN, parse_document
from gaai.agents.lib.llm import OfflineProvider, RecordingLlm
from gaai.agents.vertical import choice
from gaai.agents.vertical.choice import builtin_verticals, choose_vertical, load_vertical_file
from gaai.bus.contract import ALGORITHM_NAMES, VERTICAL_NAMES, CustomPatterns, LlmCall, SubmitRequest, VerticalTask
from gaai.bus.errors import RequestError, TaskError
from gaai.store import EmbeddedStore
from gaai.store.sample import ensure_sample_graph
from tests.agents.contexts import DocumentsAtHand

BUNDLED = Path(__file__).resolve().parents[2] / "graph_analytics_ai" / "data" / "requirements_ecommerce.md"
DEMO_COLLECTIONS = ["customers", "products", "categories", "purchased", "viewed", "follows", "reviewed", "belongs_to"]

CUSTOM = {
    "metadata": {"name": "logistics", "display_name": "Logistics", "description": "Parcels and depots.", "version": 2},
    "domain_context": {
        "key_entities": ["depot", "parcel"],
        "metrics": ["on-time rate"],
        "terminology": {"hub": "A depot that routes parcels onward."},
        "keywords": ["shipment", "route"],
    },
    "analysis_prompt": "You are a logistics analyst.",
    "patterns": {
        "betweenness": {
            "title": "Critical depots",
            "meaning": "Depots most routes pass through.",
            "recommendation": "Add capacity at critical depots.",
        }
    },
}


def bad_vertical(data: dict) -> TaskError:
    with pytest.raises(TaskError) as caught:
        load_vertical_file(data)
    return caught.value


class TestContract:
    """The names the wire contract accepts are the agent's: its JSON profiles and its algorithm catalog."""

    def test_the_contract_names_the_json_profiles_of_the_agent(self) -> None:
        files = sorted(path.stem for path in (Path(choice.__file__).parent / "profiles").glob("*.json"))
        assert list(VERTICAL_NAMES) == files
        assert sorted(builtin_verticals()) == files

    def test_the_contract_names_the_algorithms_of_the_catalog(self) -> None:
        assert tuple(ALGORITHMS) == ALGORITHM_NAMES
        assert CustomPatterns.__struct_fields__ == ALGORITHM_NAMES


class TestBuiltins:
    def test_each_builtin_loads_with_all_six_patterns(self) -> None:
        """Every built-in vertical has a worded pattern for every algorithm in the catalog."""
        verticals = builtin_verticals()
        assert sorted(verticals) == ["adtech", "ecommerce", "fintech", "fraud", "generic", "social"]
        assert set(ALGORITHMS) == {
            *("pagerank", "wcc", "scc", "label_propagation", "louvain", "leiden", "betweenness"),
            *("degree", "eigenvector", "k_core", "triangles", "clustering", "k_hop", "cycles"),
            *("similarity", "co_occurrence"),
            *("closeness", "harmonic", "hits"),
        }
        for name, profile in verticals.items():
            assert profile.name == name and profile.source == "builtin"
            assert profile.display_name and profile.description and profile.analysis_prompt
            assert profile.keywords and profile.key_entities and profile.metrics and profile.terminology
            assert set(profile.patterns) == set(ALGORITHMS)
            for pattern in profile.patterns.values():
                assert pattern.title and pattern.meaning and pattern.recommendation

    def test_industry_verticals_word_patterns_for_their_industry(self) -> None:
        """Built-in industries do not borrow the generic wording: each pattern is their own."""
        verticals = builtin_verticals()
        generic = verticals["generic"]
        for name, profile in verticals.items():
            if name != "generic":
                for algorithm in ALGORITHMS:
                    assert profile.patterns[algorithm].title != generic.patterns[algorithm].title
        assert "customer" in verticals["ecommerce"].patterns["pagerank"].title.lower()
        assert "collusion" in verticals["fraud"].patterns["scc"].title.lower()

    def test_callers_cannot_change_the_shared_builtins(self) -> None:
        """Mutating the returned mapping leaves the next call intact."""
        builtin_verticals().pop("fraud")
        assert "fraud" in builtin_verticals()


class TestAuto:
    def test_bundled_document_and_demo_graph_give_ecommerce(self) -> None:
        """The demo requirements and collections pick e-commerce, with the terms that earned it."""
        chosen = choose_vertical([BUNDLED.read_text(encoding="utf-8")], DEMO_COLLECTIONS)
        assert chosen.name == "ecommerce"
        assert chosen.score > 0
        assert {"customer", "product", "category", "purchase", "review"} <= set(chosen.matched_terms)

    def test_fraud_text(self) -> None:
        """A fraud investigation brief picks the fraud vertical."""
        text = (
            "Investigators need alerts on mule accounts and suspicious transfers. We must uncover fraud rings, "
            "money laundering chains and account takeover across shared devices."
        )
        assert choose_vertical([text], []).name == "fraud"

    def test_social_text(self) -> None:
        """A social-network brief picks the social vertical."""
        text = (
            "Our social network has millions of users who follow each other, post, comment and mention friends. "
            "Find the influencers and the communities in the follower graph."
        )
        assert choose_vertical([text], ["users", "follows", "posts"]).name == "social"

    def test_unrelated_text_gives_generic(self) -> None:
        """Without industry vocabulary the generic vertical is used."""
        chosen = choose_vertical(["The weather tomorrow will be sunny with light winds."], ["nodes", "edges"])
        assert chosen.name == "generic"
        assert chosen.matched_terms == []

    def test_collection_names_weigh_more_than_text(self) -> None:
        """One word in the prose is not enough, the same word as a collection name is."""
        assert choose_vertical(["Please look at the product."], []).name == "generic"
        assert choose_vertical(["Please look at the graph."], ["products"]).name == "ecommerce"

    def test_camel_case_and_attribute_names_count(self) -> None:
        """Collection and attribute names are split into words before matching."""
        chosen = choose_vertical([], ["adImpressions"], ["clickThrough", "publisherId"])
        assert chosen.name == "adtech"
        assert {"impression", "publisher"} <= set(chosen.matched_terms)

    def test_choice_is_deterministic(self) -> None:
        """The same inputs always give the same profile, score and terms."""
        texts = [BUNDLED.read_text(encoding="utf-8")]
        assert choose_vertical(texts, DEMO_COLLECTIONS) == choose_vertical(texts, DEMO_COLLECTIONS)


class TestNamedIndustry:
    @pytest.mark.parametrize(
        ("industry", "expected"),
        [
            ("ecommerce", "ecommerce"),
            ("e-commerce", "ecommerce"),
            ("Retail", "ecommerce"),
            ("fraud_intelligence", "fraud"),
            ("Fraud Intelligence", "fraud"),
            ("social media", "social"),
            ("banking", "fintech"),
            ("advertising", "adtech"),
            ("generic", "generic"),
        ],
    )
    def test_names_and_aliases(self, industry: str, expected: str) -> None:
        """A named industry returns that built-in whatever the texts say."""
        chosen = choose_vertical(["fraud rings and money mules"], [], industry=industry)
        assert chosen.name == expected

    def test_unknown_industry_lists_the_known_ones(self) -> None:
        """An unknown industry name is an error that lists the choices."""
        with pytest.raises(TaskError) as caught:
            choose_vertical([], [], industry="space mining")
        assert caught.value.code == "unknown_vertical"
        assert "ecommerce" in caught.value.message and "fraud" in caught.value.message


class TestCustom:
    def test_custom_vertical_wins(self) -> None:
        """A custom vertical beats a named industry and auto scoring."""
        texts = ["e-commerce customers and products"]
        chosen = choose_vertical(texts, DEMO_COLLECTIONS, industry="retail", custom=CUSTOM)
        assert (chosen.name, chosen.display_name, chosen.source) == ("logistics", "Logistics", "custom")
        assert chosen.keywords == ["shipment", "route"]
        assert chosen.terminology == {"hub": "A depot that routes parcels onward."}
        assert chosen.patterns["betweenness"].title == "Critical depots"

    def test_missing_patterns_fall_back_to_generic(self) -> None:
        """Algorithms a custom file leaves out use the generic vertical's wording."""
        chosen = load_vertical_file(CUSTOM)
        generic = builtin_verticals()["generic"]
        assert set(chosen.patterns) == set(ALGORITHMS)
        assert chosen.patterns["pagerank"] == generic.patterns["pagerank"]

    def test_only_the_name_is_required(self) -> None:
        """A minimal custom vertical needs just metadata.name."""
        chosen = load_vertical_file({"metadata": {"name": "minimal"}})
        assert (chosen.name, chosen.display_name, chosen.description) == ("minimal", "minimal", "")

    @pytest.mark.parametrize(
        ("change", "path"),
        [
            (lambda data: data.pop("metadata"), "metadata is missing"),
            (lambda data: data["metadata"].pop("name"), "metadata.name is missing"),
            (lambda data: data["metadata"].update(name=""), "metadata.name must be a non-empty string"),
            (lambda data: data.update(domain_context=["x"]), "domain_context must be an object"),
            (lambda data: data["domain_context"]["keywords"].append(3), "domain_context.keywords[2] must be a string"),
            (lambda data: data["domain_context"]["terminology"].update(hub=1), "domain_context.terminology.hub"),
            (lambda data: data["patterns"]["betweenness"].pop("title"), "patterns.betweenness.title is missing"),
            (lambda data: data["patterns"].update(kmeans={}), "patterns.kmeans is not an algorithm"),
            (lambda data: data["patterns"].update(wcc="text"), "patterns.wcc must be an object"),
        ],
    )
    def test_bad_custom_vertical_names_the_field(self, change, path: str) -> None:
        """A malformed custom vertical is refused with the path of the offending field."""
        data = copy.deepcopy(CUSTOM)
        change(data)
        error = bad_vertical(data)
        assert error.code == "bad_vertical"
        assert path in error.message
        assert error.retryable is False

    def test_bad_custom_vertical_through_choose(self) -> None:
        """choose_vertical reports a bad custom vertical instead of silently falling back."""
        with pytest.raises(TaskError) as caught:
            choose_vertical([], [], custom={"metadata": "ecommerce"})
        assert caught.value.code == "bad_vertical"
        assert "metadata must be an object" in caught.value.message


FRAUD_BRIEF = (
    "Investigators need alerts on mule accounts and suspicious transfers. We must uncover fraud rings, "
    "money laundering chains and account takeover across shared devices."
)
WEATHER = "The weather tomorrow will be sunny with light winds."


class TestAgentOffline:
    @pytest.mark.parametrize(
        ("graph", "text", "expected"),
        [
            ("ecommerce", BUNDLED.read_text(encoding="utf-8"), "ecommerce"),
            ("plain", FRAUD_BRIEF, "fraud"),
            ("plain", WEATHER, "generic"),
        ],
    )
    async def test_auto_mode_answers_as_the_rules_choose(
        self, tmp_path: Path, graph: str, text: str, expected: str
    ) -> None:
        """Offline, the agent asks the same small question as of a model and the rule-based answer
        leads to the profile choose_vertical returns, score and matched terms included."""
        store = EmbeddedStore(tmp_path)
        ensure_sample_graph(store, "ecommerce")
        edges = tmp_path / "links.csv"
        edges.write_text("_from,_to\nnodes/a,nodes/b\nnodes/b,nodes/c\n")
        store.import_graph("plain", [edges])
        info = store.graph(graph)
        calls: list[LlmCall] = []
        ctx = DocumentsAtHand(
            workflow_id="wf",
            task_id="wf.vertical",
            attempt=1,
            store=store,
            llm=RecordingLlm(OfflineProvider(), calls),
            home=tmp_path,
        )
        result = await vertical.handle(VerticalTask(graph_name=graph, documents=[ctx.hand("brief.md", text)]), ctx)
        collections = [*info.vertex_collections, *info.edge_collections]
        assert result.vertical.name == expected
        assert result.vertical == choose_vertical(
            [parse_document("brief.md", MARKDOWN, text.encode()).text], collections
        )
        assert [(call.purpose, call.provider) for call in calls] == [("vertical", "offline")]


LITERARY = (
    "# Character network of the novels\n\n"
    "We want to understand the novels through their characters. Which characters are central to the story? "
    "Find the communities of characters who appear together in the same chapters, and the characters who connect "
    "different groups of the cast. Which books share the most characters? The analysis should follow each "
    "character's relationships across books and highlight friendships and rivalries."
)
LITERARY_COLLECTIONS = ["characters", "books", "appears_with", "appears_in"]


class TestWeakEvidence:
    def test_a_literary_graph_is_generic_and_the_reason_names_the_weak_terms(self) -> None:
        """'follow' and 'friendship' in a text about novels do not make a social network; 'community' and 'group'
        are words of every graph analysis and count for no industry."""
        chosen = choose_vertical([LITERARY], LITERARY_COLLECTIONS)
        assert (chosen.name, chosen.matched_terms) == ("generic", [])
        assert chosen.reason.startswith(
            "the evidence for any industry is weak: the best fit, Social Networks, matched 'follow', 'friendship' "
            "(score 2); an industry needs a score of 3 from at least 3 distinct terms or a collection name"
        )

    def test_strong_evidence_says_which_terms_and_collections_decided(self) -> None:
        chosen = choose_vertical(["Please look at the graph."], ["products"])
        assert (chosen.name, chosen.matched_terms) == ("ecommerce", ["product"])
        assert chosen.reason == (
            "its vocabulary scores 3 in the documents and collection names, from 'product', "
            "and the collection names products"
        )

    def test_a_model_choice_without_evidence_falls_back_to_generic(self) -> None:
        """A model that answers 'social' for the literary graph is overruled by the same rule."""
        chosen = choice.chosen_builtin("social", [LITERARY], LITERARY_COLLECTIONS, "characters form a social network")
        assert chosen.name == "generic"
        assert chosen.reason.startswith(
            "the choice's evidence is weak, Social Networks, matched 'follow', 'friendship'"
        )
        backed = choice.chosen_builtin("ecommerce", [BUNDLED.read_text(encoding="utf-8")], DEMO_COLLECTIONS, "a shop")
        assert (backed.name, backed.reason) == ("ecommerce", "a shop")

    async def test_the_agent_gives_generic_for_the_literary_graph(self, tmp_path: Path) -> None:
        store = EmbeddedStore(tmp_path)
        (tmp_path / "appears_with.csv").write_text("_from,_to\ncharacters/anna,characters/vronsky\n")
        store.import_graph("novels", [tmp_path / "appears_with.csv"])
        llm = RecordingLlm(OfflineProvider(), [])
        ctx = DocumentsAtHand(workflow_id="wf", task_id="wf.vertical", attempt=1, store=store, llm=llm, home=tmp_path)
        task = VerticalTask(graph_name="novels", documents=[ctx.hand("brief.md", LITERARY)])
        result = await vertical.handle(task, ctx)
        assert result.vertical.name == "generic"
        assert "Social Networks, matched 'follow', 'friendship'" in result.vertical.reason


def gaai(*args: str, home: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key != "NATS_URL"} | {"GAAI_HOME": str(home)}
    command = [sys.executable, "-m", "graph_analytics_ai.cli", *args]
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=60)


class TestCommandLine:
    def test_help_lists_the_industries(self, tmp_path: Path) -> None:
        shown = gaai("run", "--help", home=tmp_path / "home", cwd=tmp_path)
        listed = " ".join(shown.stdout.split())
        assert "auto or one of: adtech, ecommerce, fintech, fraud, generic, social (aliases:" in listed
        assert "--industry-file PATH" in listed

    @pytest.mark.parametrize("command", [["demo"], ["run", "--graph", "ecommerce"]])
    def test_an_unknown_industry_stops_before_anything_starts(self, tmp_path: Path, command: list[str]) -> None:
        """One line listing the values, exit 2; the home folder is never made (no import, no server)."""
        home = tmp_path / "home"
        refused = gaai(*command, "--industry", "literature", home=home, cwd=tmp_path)
        assert (refused.returncode, refused.stdout) == (2, "")
        assert refused.stderr.startswith("gaai: unknown industry 'literature'; use auto or one of: adtech, ecommerce,")
        assert refused.stderr.count("\n") == 1
        assert not home.exists()

    def test_a_bad_industry_file_names_the_field(self, tmp_path: Path) -> None:
        home = tmp_path / "home"
        broken = copy.deepcopy(CUSTOM)
        del broken["patterns"]["betweenness"]["meaning"]
        (tmp_path / "broken.json").write_text(json.dumps(broken))
        (tmp_path / "garbled.json").write_text("{not json")
        refused = gaai("demo", "--industry-file", "broken.json", home=home, cwd=tmp_path)
        assert (refused.returncode, refused.stdout) == (2, "")
        assert refused.stderr == (
            "gaai: broken.json: invalid vertical: patterns.betweenness.meaning is missing [bad_vertical]\n"
        )
        garbled = gaai("demo", "--industry-file", "garbled.json", home=home, cwd=tmp_path)
        assert garbled.returncode == 2
        assert garbled.stderr.startswith("gaai: garbled.json is not valid JSON: ")
        assert not home.exists()


class TestSubmission:
    """The orchestrator refuses a bad vertical when the workflow is submitted (a bad_request reply)."""

    def test_unknown_industry_and_bad_custom_vertical_are_bad_requests(self) -> None:
        from gaai.orchestrator.runner import _check_vertical

        for fields, message in [
            ({"industry": "literature"}, "industry: unknown industry 'literature'; use auto or one of:"),
            ({"custom_vertical": {"metadata": {}}}, "custom_vertical: invalid vertical: metadata.name is missing"),
        ]:
            with pytest.raises(RequestError) as caught:
                _check_vertical(SubmitRequest(graph_name="g", **fields))
            assert caught.value.code == "bad_request"
            assert caught.value.message.startswith(message)
        _check_vertical(SubmitRequest(graph_name="g", industry="Retail", custom_vertical=None))
        _check_vertical(SubmitRequest(graph_name="g", custom_vertical=CUSTOM))
