"""Hostile input against the running system (issue 4, points 7 and 8).

One system (``LocalStack``: orchestrator and agents as separate processes) serves the
whole module, started with ``GAAI_DOCUMENTS_ROOT`` pointing at a folder of its own next
to an "outside" folder holding a canary file, and with a graph whose every vertex
name is a script tag. The tests:

- fire a barrage of malformed and hostile requests at ``gaai.workflow.submit`` and
  ``gaai.workflow.status`` while a valid (but hostile-worded) workflow runs, and check
  that each is answered, within a bound, with a JSON error carrying a code; that no
  process dies; that the valid workflow completes; and that its HTML and Markdown
  reports show the hostile text escaped;
- check, case by case, that each bad request gets the error code that says what is wrong
  with it (``bad_request``, ``unknown_graph``, ``path_not_allowed``…), never ``internal``;
- check that document paths cannot leave the documents root (``..``, absolute paths,
  symlinked files and folders), over the bus and in the CLI.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import nats
import nats.errors
import nats.js.errors
import pytest

from gaai.bus import subjects
from gaai.store import EmbeddedStore
from graph_analytics_ai.stack import LocalStack

GRAPH = "hostile"
PEOPLE = 80
REPLY_BOUND_S = 5.0
CANARY = "CANARY-7f3a-outside-the-documents-root"
XSS_LABEL = "gaai-xss-label"
XSS_TITLE = "gaai-xss-title"

HOSTILE_VERTICAL = {
    "metadata": {
        "name": "hostile",
        "display_name": "<script>alert('gaai-xss-vertical')</script>",
        "description": "<b onmouseover=alert(1)>x</b>",
    },
    "domain_context": {"key_entities": ["people"], "metrics": ["<i>reach</i>"], "keywords": ["people", "influential"]},
    "analysis_prompt": "</textarea><script>alert('gaai-xss-prompt')</script>",
    "patterns": {
        algorithm: {
            "title": f'<script>alert("{XSS_TITLE}")</script> {algorithm}',
            "meaning": "<img src=x onerror=alert('gaai-xss-meaning')>",
            "recommendation": '"><svg onload=alert(1)>gaai-xss-recommendation',
        }
        for algorithm in ("pagerank", "louvain")
    },
}
HOSTILE_DOCUMENT = (
    "REQ-1: We must find the most influential people. <script>alert('gaai-xss-doc')</script>\n"
    "REQ-2: We should detect communities of people. <iframe src=javascript:alert(2)></iframe>\n"
)
GAAI = [sys.executable, "-m", "graph_analytics_ai.cli"]


# ---------------------------------------------------------------- the system under attack


@dataclass
class Target:
    stack: LocalStack
    home: Path
    root: Path
    outside: Path

    @property
    def url(self) -> str:
        return self.stack.nats_url


def build_files(base: Path) -> tuple[Path, Path, Path]:
    home, root, outside = base / "home", base / "docs", base / "outside"
    for folder in (home, root / "sub", outside):
        folder.mkdir(parents=True)
    (outside / "secret.md").write_text(f"REQ-1: We must find the most influential people. {CANARY}\n")
    (root / "brief.md").write_text("REQ-1: We must find the most influential people.\n")
    (root / "sub" / "inner.md").write_text("REQ-1: We should detect communities of people.\n")
    (root / "link.md").symlink_to(outside / "secret.md")  # a file link out of the root
    (root / "linkdir").symlink_to(outside, target_is_directory=True)  # a folder link out of the root
    (root / "inside-link.md").symlink_to(root / "brief.md")  # a link that stays inside
    (root / "loop.md").symlink_to(root / "loop.md")  # a link to itself
    (root / "nul.md").write_bytes(b"\x00" * 64)
    (root / "binary.md").write_bytes(b"REQ-1\x00\xff\xfe\x00\x01")
    (root / "fake.pdf").write_bytes(b"REQ-1: this is text, not a PDF\n")
    (root / "bad-utf16.txt").write_bytes(b"\xff\xfeR\x00E\x00Q")  # an odd byte count: not UTF-16
    people = [{"_key": f"p{i}", "name": f"<script>alert('{XSS_LABEL}-{i}')</script>"} for i in range(PEOPLE)]
    knows = []
    for i in range(PEOPLE):  # four groups, dense inside, one tie between neighbours
        group = i // 20
        for step in (1, 3, 7):
            knows.append({"_from": f"people/p{i}", "_to": f"people/p{group * 20 + (i + step) % 20}"})
        knows.append({"_from": f"people/p{i}", "_to": "people/p0"})  # an influencer
    (base / "people.jsonl").write_text("\n".join(json.dumps(p) for p in people) + "\n")
    (base / "knows.jsonl").write_text("\n".join(json.dumps(k) for k in knows) + "\n")
    EmbeddedStore(home).import_graph(GRAPH, [base / "people.jsonl", base / "knows.jsonl"])
    return home, root, outside


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("hostile")
    home, root, outside = build_files(base)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("GAAI_HOME", str(home))
        env.setenv("GAAI_DOCUMENTS_ROOT", str(root))
        env.delenv("NATS_URL", raising=False)
        stack = LocalStack(home=home)
        stack.start()
        try:
            yield Target(stack, home, root, outside)
        finally:
            stack.stop()
            for pid in _left_behind(home):
                os.kill(pid, signal.SIGKILL)


def _left_behind(home: Path) -> list[int]:
    marker = f"GAAI_HOME={home}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if marker in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


async def connect(url: str) -> nats.NATS:
    nc = await nats.connect(url, connect_timeout=5)
    deadline = time.monotonic() + 60
    while True:  # the orchestrator may still be importing
        try:
            reply = json.loads((await nc.request(subjects.STATUS, b'{"workflow_id": "probe"}', timeout=2)).data)
            assert reply["error"]["code"] == "unknown_workflow", reply
            return nc
        except (nats.errors.NoRespondersError, nats.errors.TimeoutError):
            assert time.monotonic() < deadline, "the orchestrator did not come up"
            await asyncio.sleep(0.1)


async def ask(nc: nats.NATS, subject: str, body: bytes, timeout: float = 10.0) -> tuple[dict | None, bytes, float]:
    """The decoded reply (None when it is not JSON), the raw reply, and how long it took."""
    started = time.monotonic()
    raw = (await nc.request(subject, body, timeout=timeout)).data
    took = time.monotonic() - started
    try:
        return json.loads(raw), raw, took
    except ValueError:
        return None, raw, took


# ---------------------------------------------------------------- the hostile requests


@dataclass(frozen=True)
class Case:
    id: str
    subject: str
    body: bytes
    code: str  # the error code that names what is wrong with the request


def _j(value: object) -> bytes:
    return json.dumps(value).encode()


def _submit(**fields: object) -> bytes:
    return _j({"graph_name": GRAPH, **fields})


def _doc(**document: object) -> bytes:
    return _submit(documents=[document])


METACHARACTER_NAMES = [
    "hostile' OR '1'='1", "hostile\" OR \"1\"=\"1", "hostile`", "hostile; DROP TABLE graphs",
    "FOR v IN hostile RETURN v",
    "@@hostile", "@hostile", "hostile/../x", "../../etc/passwd", "hostile\x00", "$where", "{{7*7}}", "${jndi:ldap://x/a}",
    "hostile%00", "hostile\n", "hostile RETURN 1", "*", ">", "gaai.task.>", "hostile.people", "hostile|people",
    "1hostile",
    "-hostile", "hostile people", "<script>alert(1)</script>", "hostilé",
]  # fmt: skip
DEEP = 100_000
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def submit_cases(root: Path, outside: Path) -> list[Case]:
    cases: list[Case] = []

    def add(id: str, body: bytes, code: str) -> None:
        cases.append(Case(f"submit-{id}", subjects.SUBMIT, body, code))

    # not JSON, or not a JSON object
    for i, body in enumerate([
        b"", b" ", b"not json", b"{", b"}", b"[", b"{]", b'{"graph_name":', b"{'graph_name': 'hostile'}",
        b"graph_name=hostile",
        b"<xml/>", b"\x00" * 16, b"null", b"true", b"42", b'"hostile"', b"[]", b'[{"graph_name": "hostile"}]',
        b'{"graph_name": "hostile"} trailing', b'{"graph_name": "hostile", "max_executions": NaN}',
        b'{"graph_name": "hostile" /* comment */}', b'{"graph_name": "hostile",}',
        b"\xef\xbb\xbf{\"graph_name\": \"hostile\"}",
        b'{"graph_name": "\\ud800"}', b'{"graph_name": "\\x41"}', b"\x1f\x8b\x08\x00",
    ]):  # fmt: skip
        add(f"not-json-{i}", body, "bad_request")
    # invalid UTF-8
    for i, raw in enumerate([b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"ab\xc3", b"\xfe\xfe"]):
        add(f"bad-utf8-name-{i}", b'{"graph_name": "' + raw + b'"}', "bad_request")
        add(
            f"bad-utf8-content-{i}",
            b'{"graph_name": "hostile", "documents": [{"content": "' + raw + b'"}]}',
            "bad_request",
        )
    add("utf16-body", '{"graph_name": "hostile"}'.encode("utf-16"), "bad_request")
    # wrong types
    wrong = {
        "graph_name": [1, 1.5, None, True, [], {}, ["hostile"]],
        "documents": [
            "x",
            1,
            {},
            [1],
            ["x"],
            [None],
            [[]],
            [{"content": 5}],
            [{"path": ["a"]}],
            [{"content": "x", "name": 3}],
        ],
        "max_executions": ["5", 0, -1, 257, 2.5, 1e309, 10**30, None, True, []],
        "enable_parallelism": ["yes", 1, None, []],
        "max_concurrency": [0, -5, "3", 1025, []],
        "core_collections": ["people", [1], [None], {}],
        "satellite_collections": ["knows", [[]], [{}]],
        "industry": [5, [], {}],
        "custom_vertical": ["x", [1], 1, True],
        "workflow_id": ["", "a b", "../x", "a.b", "*", ">", "x" * 65, 7, "wf\x00"],
    }
    for field, values in wrong.items():
        for i, value in enumerate(values):
            body = _j({"graph_name": GRAPH, field: value}) if field != "graph_name" else _j({"graph_name": value})
            if field == "max_executions" and value == 10**30:
                body = b'{"graph_name": "hostile", "max_executions": ' + b"9" * 400 + b"}"
            add(f"type-{field}-{i}", body, "bad_request")
    # missing fields
    add("missing-all", b"{}", "bad_request")
    add("missing-graph", _j({"documents": [{"content": "x"}]}), "bad_request")
    add("document-without-source", _doc(name="a.md"), "bad_request")
    add("document-two-sources", _doc(content="x", path="brief.md"), "bad_request")
    add("document-three-sources", _doc(content="x", path="brief.md", object_name="a"), "bad_request")
    # oversized
    add("graph-name-129", _j({"graph_name": "g" * 129}), "bad_request")
    add("graph-name-10k", _j({"graph_name": "g" * 10_000}), "bad_request")
    add("documents-65", _submit(documents=[{"content": "x"}] * 65), "bad_request")
    add("core-collections-257", _submit(core_collections=["people"] * 257), "bad_request")
    add("path-4097", _doc(path="a" * 4097), "bad_request")
    add("name-257", _doc(content="x", name="n" * 257), "bad_request")
    add("media-type-129", _doc(content="x", media_type="m" * 129), "bad_request")
    add("industry-65", _submit(industry="i" * 65), "bad_request")
    add("body-1mb-of-spaces", b" " * 1_000_000 + b"{}", "bad_request")
    add(
        "document-900kb-unknown-graph",
        _j({"graph_name": "no_such_graph", "documents": [{"content": "<script>" * 110_000}]}),
        "unknown_graph",
    )
    add(
        "keys-50k",
        b"{" + b",".join(b'"k%d": 0' % i for i in range(50_000)) + b', "graph_name": "no_such_graph"}',
        "unknown_graph",
    )
    # deep nesting
    add("deep-array", b"[" * DEEP + b"]" * DEEP, "bad_request")  # rejected at the first '[': not an object
    add("deep-object", b'{"a":' * DEEP + b"1" + b"}" * DEEP, "bad_request")
    add("deep-unknown-field", b'{"graph_name": "hostile", "x": ' + b"[" * DEEP + b"]" * DEEP + b"}", "bad_request")
    add(
        "deep-custom-vertical",
        b'{"graph_name": "hostile", "custom_vertical": {"a": ' + b"[" * DEEP + b"]" * DEEP + b"}}",
        "bad_request",
    )
    add(
        "moderate-nesting-unknown-graph",
        b'{"graph_name": "no_such_graph", "x": ' + b"[" * 200 + b"]" * 200 + b"}",
        "unknown_graph",
    )
    # unknown graphs
    for i, name in enumerate(
        ["nope", "Hostile", "HOSTILE", "hostile_", "_", "a" * 128, "ecommerce", "graphs", "sqlite_master", "gaai"]
    ):
        add(f"unknown-graph-{i}", _j({"graph_name": name}), "unknown_graph")
    # names with query metacharacters, as the graph and as collections
    for i, name in enumerate(METACHARACTER_NAMES):
        add(f"meta-graph-{i}", _j({"graph_name": name}), "bad_request")
        add(f"meta-core-{i}", _submit(core_collections=[name]), "bad_request")
        add(f"meta-satellite-{i}", _submit(satellite_collections=["people", name]), "bad_request")
    add("workflow-id-newline", _submit(workflow_id="wf-newline\n"), "bad_request")
    # document paths that try to leave the documents root
    for i, path in enumerate([
        "../outside/secret.md", "/etc/passwd", str(outside / "secret.md"), "sub/../../outside/secret.md",
        "./../outside/secret.md",
        "..", "../", "sub/../..", "link.md", "linkdir/secret.md", "linkdir", "/",
        str(root / ".." / "outside" / "secret.md"),
        "/proc/self/environ", "//etc/passwd", "sub/../../../../../../etc/passwd",
    ]):  # fmt: skip
        add(f"path-escape-{i}", _doc(path=path), "path_not_allowed")
    for i, path in enumerate(
        [
            "missing.md",
            "~/.ssh/id_rsa",
            "%2e%2e/outside/secret.md",
            "..\\..\\etc\\passwd",
            "file:///etc/passwd",
            "sub",
            "",
            ".",
        ]
    ):
        add(f"path-not-found-{i}", _doc(path=path), "document_not_found")
    add("path-nul", _doc(path="sub/inner.md\x00.txt"), "path_not_allowed")
    add("path-symlink-loop", _doc(path="loop.md"), "document_not_found")
    # hostile markup where it cannot be stored, and unsupported or empty documents
    add(
        "script-content-unknown-graph",
        _j({"graph_name": "no_such_graph", "documents": [{"content": HOSTILE_DOCUMENT}]}),
        "unknown_graph",
    )
    add("script-name-exe", _doc(content="x", name="<script>alert(1)</script>.exe"), "unsupported_document")
    add("script-media-type", _doc(content="x", name="a", media_type="text/html<script>"), "unsupported_document")
    add("exe-name", _doc(content="MZ", name="a.exe"), "unsupported_document")
    add("empty-content", _doc(content=""), "empty_document")
    add("blank-content", _doc(content="  \n\t "), "empty_document")
    add("nul-content", _doc(content="\x00" * 64), "empty_document")
    add("nul-and-blank-content", _doc(content=" \x00\n\x00\t"), "empty_document")
    add("binary-content", _doc(content="REQ-1: find hubs\x00\x01\x02"), "bad_document")
    add(
        "unknown-media-type",
        _doc(content="Find communities.", media_type="application/x-unknown"),
        "unsupported_document",
    )
    add("pdf-name-not-pdf", _doc(content="not a pdf at all", name="brief.pdf"), "bad_document")
    add("docx-type-not-zip", _doc(content="plain text", media_type=DOCX_TYPE), "bad_document")
    add("path-nul-only", _doc(path="nul.md"), "empty_document")
    add("path-binary", _doc(path="binary.md"), "bad_document")
    add("path-fake-pdf", _doc(path="fake.pdf"), "bad_document")
    add("path-bad-utf16", _doc(path="bad-utf16.txt"), "bad_document")
    for i, name in enumerate(["upload/does-not-exist", "upload/../../x", "upload/*", "upload/" + "x" * 505]):
        add(f"object-name-{i}", _doc(object_name=name), "unknown_document")
    for i, name in enumerate(
        ["wf-someone/00-brief.md", "../../x", "wf-x/../../secret", "$O.gaai_documents.>", "*", "x" * 512]
    ):
        add(f"object-name-outside-uploads-{i}", _doc(object_name=name), "document_not_allowed")
    return cases


def status_cases() -> list[Case]:
    cases: list[Case] = []

    def add(id: str, body: bytes, code: str) -> None:
        cases.append(Case(f"status-{id}", subjects.STATUS, body, code))

    for i, body in enumerate([
        b"", b"not json", b"{", b"null", b"[]", b"42", b'"wf-1"', b"{'workflow_id': 'x'}", b'{"workflow_id": "x"} x',
        b"\x00" * 8, b"<xml/>", b'{"workflow_id": NaN}', b" " * 500_000 + b"{",
    ]):  # fmt: skip
        add(f"not-json-{i}", body, "bad_request")
    for i, raw in enumerate([b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"ab\xc3"]):
        add(f"bad-utf8-{i}", b'{"workflow_id": "' + raw + b'"}', "bad_request")
    for i, value in enumerate([1, 1.5, None, True, [], {}, ["wf-1"], {"$ne": None}]):
        add(f"type-{i}", _j({"workflow_id": value}), "bad_request")
    add("missing", b"{}", "bad_request")
    add("other-field", _j({"id": "wf-1"}), "bad_request")
    for i, value in enumerate([
        "", " ", "*", ">", "a.b", "wf.*", "$KV.gaai_workflows.>", "../x", "..", "/etc/passwd", "x" * 65, "x" * 100_000,
        "<script>alert(1)</script>", "'; DROP TABLE x; --", "wf\x00", "wf\n", "wf-é", "wf 1", "wf/1", "wf\\1",
        "${jndi:x}", "%2e%2e",
    ]):  # fmt: skip
        add(f"bad-id-{i}", _j({"workflow_id": value}), "bad_request")
    for i, value in enumerate(
        ["wf-none", "none", "A" * 64, "_", "-", "wf-0000000000000000", "gaai_workflows", "KV", "probe", "wf-x-y_z"]
    ):
        add(f"unknown-{i}", _j({"workflow_id": value}), "unknown_workflow")
    add("deep", b'{"workflow_id": "x", "y": ' + b"[" * DEEP + b"]" * DEEP + b"}", "bad_request")
    add("deep-object", b'{"a":' * DEEP + b"1" + b"}" * DEEP, "bad_request")
    add(
        "keys-50k",
        b"{" + b",".join(b'"k%d": 0' % i for i in range(50_000)) + b', "workflow_id": "wf-none"}',
        "unknown_workflow",
    )
    return cases


_ROOT_PLACEHOLDER = Path("/placeholder-root")
_OUTSIDE_PLACEHOLDER = Path("/placeholder-outside")


def all_cases(root: Path = _ROOT_PLACEHOLDER, outside: Path = _OUTSIDE_PLACEHOLDER) -> list[Case]:
    return submit_cases(root, outside) + status_cases()


def _params() -> list:
    params = []
    for case in all_cases():
        params.append(pytest.param(case.id, id=case.id))
    return params


# ---------------------------------------------------------------- point 7: the barrage


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append((tag, attrs))


def assert_no_active_markup(page: str) -> None:
    """No script, frame or image element, no event-handler attribute, no javascript: URL in the page."""
    parser = _Tags()
    parser.feed(page)
    for tag, attrs in parser.tags:
        assert tag not in ("script", "iframe", "img", "object", "embed", "frame"), f"<{tag}> in the report"
        for name, value in attrs:
            assert not name.startswith("on"), f"<{tag} {name}=...> in the report"
            assert "javascript:" not in (value or "").lower(), f"<{tag} {name}={value!r}> in the report"
    assert "Content-Security-Policy" in page


@dataclass
class Barrage:
    """What happened when every case was fired at the system next to one valid workflow."""

    answers: list[tuple[Case, dict | None, bytes, float]]
    pids_before: dict[str, int]
    pids_after: dict[str, int]
    alive_after: dict[str, bool]
    restarts_after: dict[str, int]
    server_alive: bool
    final: dict
    reports: list[dict[str, str]]


async def _fire(target: Target) -> Barrage:
    nc = await connect(target.url)
    js = nc.jetstream()
    try:
        pids_before = {p.name: p.pid for p in target.stack.processes}
        valid = {
            "graph_name": GRAPH,
            "documents": [{"content": HOSTILE_DOCUMENT, "name": "brief <script>alert(1)</script>.md"}],
            "custom_vertical": HOSTILE_VERTICAL,
            "max_executions": 2,
        }
        accepted, raw, _ = await ask(nc, subjects.SUBMIT, _j(valid))
        assert accepted and accepted.get("status") == "running", raw
        cases = all_cases(target.root, target.outside)
        for case in cases[:50]:  # requests nobody waits for must not hurt either
            await nc.publish(case.subject, case.body)
        gate = asyncio.Semaphore(16)

        async def attack(case: Case) -> tuple[Case, dict | None, bytes, float]:
            async with gate:
                try:
                    return (case, *await ask(nc, case.subject, case.body, timeout=REPLY_BOUND_S * 2))
                except nats.errors.TimeoutError:
                    return case, None, b"<no reply>", REPLY_BOUND_S * 2

        answers = await asyncio.gather(*(attack(case) for case in cases))
        deadline = time.monotonic() + 60
        while True:
            final, _, _ = await ask(nc, subjects.STATUS, _j({"workflow_id": accepted["workflow_id"]}))
            if final["status"] not in ("pending", "running") or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        store = await js.object_store(subjects.REPORTS_BUCKET)
        reports = [
            {a["format"]: (await store.get(a["object_name"])).data.decode() for a in report["artifacts"]}
            for report in final.get("reports", [])
        ]
        return Barrage(
            answers=answers,
            pids_before=pids_before,
            pids_after={p.name: p.pid for p in target.stack.processes},
            alive_after={p.name: p.process.poll() is None for p in target.stack.processes},
            restarts_after={p.name: p.restarts for p in target.stack.processes},
            server_alive=target.stack.server.process.poll() is None,
            final=final,
            reports=reports,
        )
    finally:
        await nc.close()


@pytest.fixture(scope="module")
def barrage(target: Target) -> Barrage:
    return asyncio.run(_fire(target))


def _is_error(reply: dict | None) -> bool:
    error = reply.get("error") if isinstance(reply, dict) else None
    return (
        isinstance(error, dict)
        and isinstance(error.get("code"), str)
        and bool(error["code"])
        and isinstance(error.get("message"), str)
    )


@pytest.mark.timeout(120)
def test_barrage_of_hostile_requests_is_answered_in_json_within_the_bound(barrage: Barrage):
    """Every one of 300+ malformed or hostile requests on submit and status gets a JSON object back, fast."""
    submits = sum(case.subject == subjects.SUBMIT for case, *_ in barrage.answers)
    statuses = sum(case.subject == subjects.STATUS for case, *_ in barrage.answers)
    assert submits >= 200 and statuses >= 50
    problems = [
        f"{case.id}: {raw[:120]!r} after {took:.1f} s"
        for case, reply, raw, took in barrage.answers
        if not isinstance(reply, dict) or took > REPLY_BOUND_S
    ]
    assert problems == [], "\n".join(problems)


@pytest.mark.timeout(120)
def test_barrage_every_hostile_request_is_refused_with_an_error_code(barrage: Barrage):
    """None of them starts a workflow: each answer is ``{"error": {"code", "message"}}`` and nothing else."""
    accepted = [
        f"{case.id}: {raw[:120]!r}"
        for case, reply, raw, _ in barrage.answers
        if not (_is_error(reply) and set(reply) == {"error"})
    ]
    assert accepted == [], "\n".join(accepted)


@pytest.mark.timeout(120)
def test_barrage_kills_no_process(barrage: Barrage):
    assert barrage.pids_after == barrage.pids_before, "a process died and was restarted"
    assert all(barrage.alive_after.values()) and not any(barrage.restarts_after.values()), (
        barrage.alive_after,
        barrage.restarts_after,
    )
    assert barrage.server_alive


@pytest.mark.timeout(120)
def test_barrage_leaves_the_valid_workflow_to_complete_with_hostile_text_escaped_in_its_reports(barrage: Barrage):
    """The workflow sent with the barrage (script tags in its document, vertical and vertex names) completes safely."""
    assert barrage.final["status"] == "completed", barrage.final.get("failures")
    assert len(barrage.reports) == 2
    for files in barrage.reports:
        page = files["html"]
        assert_no_active_markup(page)
        assert XSS_LABEL in page and "&lt;script&gt;alert(" in page, "the hostile vertex names reach the page, escaped"
        assert XSS_TITLE in page, "the hostile vertical wording reaches the page, escaped"
        for tag in ("<script", "<img", "<iframe", "<svg onload"):
            assert tag not in files["md"].lower(), f"raw {tag} in the Markdown report"
        assert json.loads(files["json"])  # the JSON rendering keeps the text as data


# ---------------------------------------------------------------- point 7: the right code for each


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case_id", _params())
async def test_each_hostile_request_gets_the_error_code_that_names_its_fault(target: Target, case_id: str):
    [case] = [c for c in all_cases(target.root, target.outside) if c.id == case_id]
    nc = await connect(target.url)
    try:
        reply, raw, took = await ask(nc, case.subject, case.body)
    finally:
        await nc.close()
    assert reply is not None and "error" in reply, raw[:300]
    assert reply["error"]["code"] == case.code, reply["error"]
    assert took <= REPLY_BOUND_S


# ---------------------------------------------------------------- point 8: the documents root


@pytest.mark.timeout(60)
async def test_document_paths_over_the_bus_stay_inside_the_documents_root(target: Target):
    """``..``, absolute paths and symlinks out are refused; files (and links) inside are read; the canary never
    leaks."""
    nc = await connect(target.url)
    js = nc.jetstream()
    try:
        refused = [
            "../outside/secret.md", str(target.outside / "secret.md"), "sub/../../outside/secret.md", "link.md",
            "linkdir/secret.md", "/etc/passwd", str(target.root / ".." / "outside" / "secret.md"),
        ]  # fmt: skip
        for path in refused:
            reply, raw, _ = await ask(nc, subjects.SUBMIT, _doc(path=path))
            assert reply["error"]["code"] == "path_not_allowed", (path, raw)
            assert CANARY not in raw.decode(errors="replace")
        inside = {
            "brief.md": target.root / "brief.md",
            "sub/inner.md": target.root / "sub" / "inner.md",
            "inside-link.md": target.root / "brief.md",
        }
        documents = await js.object_store(subjects.DOCUMENTS_BUCKET)
        for path, file in inside.items():
            reply, raw, _ = await ask(nc, subjects.SUBMIT, _submit(documents=[{"path": path}], max_executions=1))
            assert reply.get("status") == "running", (path, raw)
            names = [o.name for o in await documents.list() if o.name.startswith(f"{reply['workflow_id']}/")]
            assert len(names) == 1
            assert (await documents.get(names[0])).data == file.read_bytes()
        for info in await documents.list():
            assert CANARY.encode() not in (await documents.get(info.name)).data, f"{info.name} holds the outside file"
    finally:
        await nc.close()


@pytest.mark.timeout(60)
def test_cli_documents_stay_inside_the_current_folder(target: Target):
    """``gaai run --docs`` refuses paths and symlinks leading out of the current folder, before starting anything."""
    env = dict(os.environ, GAAI_HOME=str(target.home))
    env.pop("NATS_URL", None)
    env.pop("GAAI_DOCUMENTS_ROOT", None)
    for path in (
        "link.md",
        "linkdir/secret.md",
        "../outside/secret.md",
        str(target.outside / "secret.md"),
        "/etc/passwd",
    ):
        run = subprocess.run(
            [*GAAI, "run", "--graph", GRAPH, "--docs", path],
            env=env,
            cwd=target.root,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == 2, (path, run.stdout, run.stderr)
        assert "outside the documents root" in run.stderr and "Traceback" not in run.stderr, (path, run.stderr)
        assert CANARY not in run.stdout + run.stderr
