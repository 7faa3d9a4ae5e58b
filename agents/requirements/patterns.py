"""The wording the requirements extractor recognises: section names, ids, priority markers, modal verbs, stop words."""

from __future__ import annotations

import re
from typing import Literal

Priority = Literal["critical", "high", "medium", "low"]

Category = Literal["ignore", "constraints", "non_functional", "stakeholders", "objectives", "requirements"]

# First match wins: "Security constraints" is a constraints section, "Non-functional requirements"
# is not a plain requirements section.
CATEGORIES: list[tuple[Category, re.Pattern[str]]] = [
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

REQUIREMENT_PREFIXES = ("REQ", "FR", "NFR", "BR", "US")

OBJECTIVE_PREFIXES = ("OBJ", "GOAL")

_ID = r"(?:REQ|FR|NFR|BR|US|OBJ|GOAL)-\d{1,4}[A-Za-z]?"

ID_EXACT = re.compile(rf"^{_ID}$")

LEADING_ID = re.compile(rf"^[\[(]?({_ID})[\])]?(?:\s*[\[(][^\])]{{1,24}}[\])])*(?:\s*[:.)\-–—]\s*|\s+)")

TRAILING_ID = re.compile(rf"\s*[\[(]({_ID})[\])]\s*([.!?]?)$")

PRIORITY_WORD: dict[str, Priority] = {
    "critical": "critical",
    "high": "high",
    "medium": "medium",
    "low": "low",
    "must": "high",
    "should": "medium",
    "could": "low",
}

EXPLICIT_PRIORITY = re.compile(
    r"priority\s*[:=]?\s*(critical|high|medium|low)\b|\b(critical|high|medium|low)[- ]priority\b", re.IGNORECASE
)

P_LEVEL = re.compile(r"\bP([0-3])\b")

P_PRIORITY: dict[str, Priority] = {"0": "critical", "1": "high", "2": "medium", "3": "low"}

CRITICAL = re.compile(
    r"\[critical\]|\(critical\)|^critical\s*[:\-–]|\bcritical\s*:|\b(?:mission|business)[- ]critical\b"
    r"|\bis critical\b",
    re.IGNORECASE,
)

MOSCOW = re.compile(r"\b(must|should|could|won'?t)[- ]have\b|\bnice[- ]to[- ]have\b", re.IGNORECASE)

MOSCOW_PRIORITY: dict[str, Priority] = {
    "must": "high",
    "should": "medium",
    "could": "low",
    "wont": "low",
    "won't": "low",
}

MODAL = re.compile(
    r"\b(must|shall|has to|have to|needs? to|(?:is|are) required to|should|ought to|could|may|might|optional)\b",
    re.IGNORECASE,
)

MODAL_PRIORITY: dict[str, Priority] = {
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
PROSE_MODAL = re.compile(
    r"\b(must|shall|has to|have to|needs? to|(?:is|are) required to|should|could|nice[- ]to[- ]have)\b", re.IGNORECASE
)

OBJECTIVE_PHRASE = re.compile(
    r"\b(?:we (?:want|wish|would like|intend|hope|plan) to|(?:our|the) (?:main |primary |overall |key )?"
    r"(?:goal|aim|objective|ambition|purpose) (?:is|are)|aims? to|seeks? to)\b",
    re.IGNORECASE,
)

USER_STORY = re.compile(r"\bas an? ([^,.;]{2,60}?),\s*I (?:want|need|would like|can)\b", re.IGNORECASE)

CONSTRAINT = re.compile(
    r"\b(?:must not|shall not|may not|cannot|can't|should not|within (?:\d|one|two|three|four|five|six|ten|twelve)"
    r"|no more than|no later than|not exceed|at most|budget|deadline|gdpr|ccpa|hipaa|pci[- ]dss|data residency)",
    re.IGNORECASE,
)

NON_FUNCTIONAL = re.compile(
    r"\b(?:performance|latency|latencies|response times?|throughput|scalab\w*|availability|uptime|reliab\w*|resilien\w*"
    r"|secur\w*|encrypt\w*|authenticat\w*|authori[sz]\w*|access control|privacy|personal data|pii|pseudonym\w*"
    r"|anonymi[sz]\w*|gdpr|ccpa|hipaa|complian\w*|audit\w*|costs?|budget|run ?times?|memory|reproducib\w*"
    r"|maintainab\w*|retention)\b"
    r"|\b(?:in|under|within) \d+(?:\.\d+)? ?(?:ms|milliseconds?|s|seconds?|minutes?|mins?|hours?|h)\b",
    re.IGNORECASE,
)

ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "vs.", "approx.", "incl.", "dr.", "mr.", "ms.", "mrs.", "no.", "cf.", "fig.")

SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])")

ROLE_WORDS = frozenset(
    [
        "head",
        "lead",
        "leader",
        "manager",
        "director",
        "officer",
        "owner",
        "analyst",
        "analysts",
        "engineer",
        "engineers",
        "scientist",
        "scientists",
        "sponsor",
        "vp",
        "chief",
        "team",
        "department",
        "president",
        "executive",
        "architect",
        "specialist",
        "administrator",
        "steward",
        "representative",
        "consultant",
        "controller",
        "ceo",
        "cto",
        "cfo",
        "cmo",
        "cdo",
        "coo",
        "dpo",
        "cio",
        "ciso",
        "responsible",
        "accountable",
        "product",
        "marketing",
        "operations",
        "finance",
        "legal",
        "compliance",
        "security",
        "support",
        "customer",
        "customers",
        "users",
        "user",
        "investigator",
        "investigators",
        "board",
        "committee",
        "group",
        "unit",
    ]
)

TABLE_HEADERS = frozenset(
    [
        "name",
        "names",
        "role",
        "roles",
        "stakeholder",
        "stakeholders",
        "title",
        "responsibility",
        "responsibilities",
        "interest",
        "department",
        "id",
        "requirement",
        "description",
        "priority",
    ]
)

STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "across",
        "after",
        "again",
        "against",
        "all",
        "almost",
        "along",
        "also",
        "although",
        "always",
        "am",
        "among",
        "an",
        "and",
        "another",
        "any",
        "are",
        "around",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "cannot",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "done",
        "down",
        "during",
        "each",
        "either",
        "else",
        "enough",
        "etc",
        "even",
        "ever",
        "every",
        "few",
        "for",
        "from",
        "further",
        "get",
        "gets",
        "given",
        "go",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "him",
        "his",
        "how",
        "however",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "least",
        "less",
        "like",
        "made",
        "make",
        "makes",
        "many",
        "may",
        "me",
        "might",
        "more",
        "most",
        "much",
        "must",
        "my",
        "near",
        "need",
        "needs",
        "neither",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "often",
        "on",
        "once",
        "one",
        "only",
        "onto",
        "or",
        "other",
        "others",
        "otherwise",
        "our",
        "ours",
        "out",
        "over",
        "own",
        "per",
        "perhaps",
        "rather",
        "same",
        "see",
        "seen",
        "shall",
        "she",
        "should",
        "since",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "then",
        "there",
        "therefore",
        "these",
        "they",
        "this",
        "those",
        "though",
        "through",
        "thus",
        "to",
        "too",
        "toward",
        "towards",
        "under",
        "until",
        "up",
        "upon",
        "us",
        "use",
        "used",
        "uses",
        "using",
        "very",
        "via",
        "was",
        "we",
        "well",
        "were",
        "what",
        "whatever",
        "when",
        "where",
        "whether",
        "which",
        "while",
        "who",
        "whom",
        "whose",
        "why",
        "will",
        "with",
        "within",
        "without",
        "would",
        "yet",
        "you",
        "your",
        "yours",
        "able",
        "ability",
        "allow",
        "allows",
        "also",
        "want",
        "wants",
        "wish",
        "ensure",
        "ensures",
        "provide",
        "provides",
        "providing",
        "support",
        "supports",
        "supported",
        "include",
        "includes",
        "including",
        "new",
        "based",
        "system",
        "systems",
        "platform",
        "solution",
        "requirement",
        "requirements",
        "objective",
        "objectives",
        "stakeholder",
        "stakeholders",
        "section",
        "document",
        "documents",
        "data",
        "e",
        "g",
        "ie",
        "eg",
        "two",
        "three",
        "four",
        "five",
        "first",
        "second",
        "third",
        "high",
        "low",
        "medium",
        "critical",
        "priority",
        "nice",
        "identify",
        "find",
        "detect",
        "see",
        "show",
        "give",
        "take",
        "set",
        "get",
        "make",
        "keep",
        "help",
        "know",
        "understand",
        "offer",
    ]
)

WORD = re.compile(r"[a-z][a-z0-9]*(?:['-][a-z0-9]+)*")

ID_WORD = re.compile(r"^(?:req|fr|nfr|br|us|obj|goal)-\d")
