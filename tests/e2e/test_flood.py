"""A flood of requests against the orchestrator (issue 13, D3): answered, not disconnected, memory bounded.

The orchestrator runs as its own process (``python -m gaai.orchestrator``) against a nats-server of the test's own,
started as ``gaai up`` starts one, with the ``max_pending`` that docs/RELIABILITY.md asks for and production's
deploy/nats-server.conf sets (the server cuts a client that leaves more than that unread; with the default 64 MB
even a subscriber that only counts messages is cut by such a flood, as it
arrives faster than a Python client reads it). 1,000 requests, valid and invalid, a third of them as large as the
server's ``max_payload``, go at once from 8 connections. Each must get its answer (accepted, refused with the code
that names its fault, or ``overloaded``) within 10 s; the orchestrator must not be cut as a slow consumer nor lose
its connection, and its peak RSS must stay under the bound.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nats
import nats.errors
import pytest

from gaai.bus import subjects
from gaai.bus.server import SERVER_DEFAULTS, LocalNatsServer
from gaai.bus.service import MAX_REQUEST_BYTES
from gaai.store import EmbeddedStore
from gaai.store.sample import ensure_sample_graph

CONNECTIONS = 8
ANSWER_WITHIN_S = 10.0
RSS_BOUND_MB = 256
"""1,000 requests of up to the default 1 MB max_payload: one flood the server may have to hold for the orchestrator."""
TEXT = "Find the most influential customers and the communities they belong to. "


@dataclass(frozen=True)
class Kind:
    """One sort of request in the flood: how many, where, its body, and the answers it may get besides overloaded."""

    name: str
    count: int
    subject: str
    body: bytes
    answers: frozenset[str]


def flood_kinds(max_payload: int) -> list[Kind]:
    large = max_payload - 1024

    def submit(**fields: object) -> bytes:
        return json.dumps({"graph_name": "ecommerce", **fields}).encode()

    def content_of(size: int, unit: str) -> bytes:
        one = len(json.dumps(unit)) - 2  # the JSON-escaped size of one unit
        return submit(documents=[{"content": unit * ((size - 100) // one)}])

    accepted, refused = frozenset({"accepted"}), frozenset
    return [
        Kind("valid", 250, subjects.SUBMIT, submit(documents=[{"content": TEXT}]), accepted),
        Kind("valid-large", 60, subjects.SUBMIT, content_of(large, TEXT), accepted),
        Kind("status-unknown", 150, subjects.STATUS, b'{"workflow_id": "wf-nowhere"}', refused({"unknown_workflow"})),
        Kind("cancel-unknown", 50, subjects.CANCEL, b'{"workflow_id": "wf-nowhere"}', refused({"unknown_workflow"})),
        Kind("not-json-large", 100, subjects.SUBMIT, b"x" * large, refused({"bad_request"})),
        Kind("nul-only-large", 100, subjects.SUBMIT, content_of(large, "\x00"), refused({"empty_document"})),
        Kind("binary-large", 60, subjects.SUBMIT, content_of(large, "text\x00"), refused({"bad_document"})),
        Kind("unknown-graph", 100, subjects.SUBMIT, b'{"graph_name": "nowhere"}', refused({"unknown_graph"})),
        Kind("bad-field", 80, subjects.SUBMIT, b'{"graph_name": 3}', refused({"bad_request"})),
        Kind("unknown-industry", 50, subjects.SUBMIT, submit(industry="astrology"), refused({"bad_request"})),
    ]


@dataclass
class Orchestrator:
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    server_log: Path

    def peak_rss_mb(self) -> float:
        """The process's high-water mark of resident memory, in MiB."""
        return self._memory_mb("VmHWM")

    def rss_mb(self) -> float:
        return self._memory_mb("VmRSS")

    def _memory_mb(self, field: str) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
        raise AssertionError(f"no {field} in /proc/{self.process.pid}/status")


@pytest.fixture
def orchestrator(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Orchestrator]:
    """The orchestrator process on a server of its own; ``max_payload`` (default 1MB) from the test's parameter."""
    config = tmp_path / "nats-server.conf"
    config.write_text(f"max_payload: {getattr(request, 'param', '1MB')}\n")
    server = LocalNatsServer(tmp_path / "nats", config_file=config)
    server.start()
    home = tmp_path / "home"
    ensure_sample_graph(EmbeddedStore(home), "ecommerce")
    log = tmp_path / "orchestrator.log"
    env = dict(os.environ, GAAI_HOME=str(home), NATS_URL=server.url)
    env.pop("GAAI_DOCUMENTS_ROOT", None)
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gaai.orchestrator"], env=env, stdout=out, stderr=out, stdin=subprocess.DEVNULL
        )
    try:
        yield Orchestrator(server.url, process, log, server.store_dir / "nats-server.log")
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        server.stop()


async def wait_until_served(nc: nats.NATS, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            await nc.request(subjects.STATUS, b'{"workflow_id": "wf-probe"}', timeout=1)
            return
        except (nats.errors.NoRespondersError, nats.errors.TimeoutError):
            if time.monotonic() > deadline:
                raise AssertionError(f"the orchestrator did not serve requests within {timeout} s") from None
            await asyncio.sleep(0.1)


def outcome(subject: str, data: bytes) -> tuple[str, dict]:
    """``accepted`` for a submission's reply, else the error code (``ok`` for any other reply)."""
    reply = json.loads(data)
    if "error" in reply:
        return reply["error"]["code"], reply
    return ("accepted" if subject == subjects.SUBMIT else "ok"), reply


async def test_a_thousand_concurrent_requests_are_all_answered_in_time_without_disconnect(orchestrator):
    connections = [await nats.connect(orchestrator.url, max_reconnect_attempts=0) for _ in range(CONNECTIONS)]
    try:
        await wait_until_served(connections[0])
        idle_mb = orchestrator.rss_mb()
        kinds = flood_kinds(connections[0].max_payload)
        flood = [kind for kind in kinds for _ in range(kind.count)]
        random.Random(13).shuffle(flood)
        assert len(flood) == 1000
        large_mb = sum(len(kind.body) for kind in flood if len(kind.body) > 1000) / 2**20

        answers: dict[str, Counter[str]] = {kind.name: Counter() for kind in kinds}
        overloaded_replies: list[dict] = []
        accepted_ids: list[str] = []
        to_resend: list[Kind] = []
        latencies: list[float] = []
        started = time.monotonic()

        async def send(index: int, kind: Kind) -> None:
            try:
                message = await connections[index % CONNECTIONS].request(
                    kind.subject, kind.body, timeout=ANSWER_WITHIN_S + 20
                )
            except nats.errors.NoRespondersError:
                answers[kind.name]["no responders"] += 1
                return
            except nats.errors.TimeoutError:
                answers[kind.name]["no answer"] += 1
                return
            latencies.append(time.monotonic() - started)
            code, reply = outcome(kind.subject, message.data)
            answers[kind.name][code] += 1
            if code == "accepted":
                accepted_ids.append(reply["workflow_id"])
            elif code == "overloaded":
                overloaded_replies.append(reply)
                if kind.name == "valid":
                    to_resend.append(kind)

        await asyncio.gather(*(send(i, kind) for i, kind in enumerate(flood)))
        summary = {name: dict(counts) for name, counts in answers.items()}
        print(f"flood of {len(flood)} requests ({large_mb:.0f} MB in large bodies): {summary}")
        peak_mb = orchestrator.peak_rss_mb()
        print(
            f"last answer after {max(latencies):.2f} s; orchestrator RSS {idle_mb:.0f} MB idle, peak {peak_mb:.0f} MB"
        )

        # Every request answered, each with what it may get, in time.
        assert len(latencies) == len(flood), summary
        for kind in kinds:
            unexpected = set(answers[kind.name]) - kind.answers - {"overloaded"}
            assert not unexpected, f"{kind.name}: {summary[kind.name]}"
            assert answers[kind.name].total() == kind.count
        assert max(latencies) <= ANSWER_WITHIN_S, f"last answer after {max(latencies):.2f} s"
        # Overload is the exception, not the answer to everything: each kind was served too.
        for kind in kinds:
            assert sum(answers[kind.name][code] for code in kind.answers) > 0, f"{kind.name}: {summary[kind.name]}"
        for reply in overloaded_replies:
            assert reply["error"]["retryable"] is True
            assert "send it again shortly" in reply["error"]["message"]

        # Not cut, not reconnected, alive, memory bounded.
        server_log = orchestrator.server_log.read_text()
        assert "Slow Consumer" not in server_log, [line for line in server_log.splitlines() if "Slow" in line]
        orchestrator_log = orchestrator.log.read_text()
        assert '"nats error"' not in orchestrator_log, orchestrator_log[-2000:]
        assert orchestrator.process.poll() is None
        assert peak_mb < RSS_BOUND_MB

        # Accepted means stored: every accepted workflow is known; an overloaded submission sent again is accepted.
        for workflow_id in accepted_ids:
            status = await connections[0].request(subjects.STATUS, json.dumps({"workflow_id": workflow_id}).encode())
            assert json.loads(status.data)["workflow_id"] == workflow_id
        for kind in to_resend:
            again = await connections[1].request(kind.subject, kind.body, timeout=ANSWER_WITHIN_S)
            assert outcome(kind.subject, again.data)[0] == "accepted"
    finally:
        for nc in connections:
            await nc.close()


@pytest.mark.parametrize("orchestrator", ["16MB"], indirect=True)
async def test_requests_of_eight_megabytes_on_a_server_that_allows_sixteen_are_answered(orchestrator):
    """Issue 13's second flood: 8 requests of 7.9 MB and 8 valid ones of 4 MB, 4 over the 8 MB limit, and status
    requests, at once."""
    connections = [await nats.connect(orchestrator.url, max_reconnect_attempts=0) for _ in range(4)]
    try:
        await wait_until_served(connections[0])
        large = int(7.9 * 2**20)
        # The longest inline document the contract takes (DocumentInput.content, 4,000,000 characters).
        longest_document = TEXT * (4_000_000 // len(TEXT))
        valid = json.dumps({"graph_name": "ecommerce", "documents": [{"content": longest_document}]}).encode()
        flood = [
            *[(subjects.SUBMIT, b"x" * large, {"bad_request"})] * 8,
            *[(subjects.SUBMIT, valid, {"accepted"})] * 8,
            *[(subjects.SUBMIT, b"x" * (MAX_REQUEST_BYTES + 1), {"too_large"})] * 4,
            *[(subjects.STATUS, b'{"workflow_id": "wf-nowhere"}', {"unknown_workflow"})] * 20,
        ]
        started = time.monotonic()
        replies = await asyncio.gather(
            *(connections[i % 4].request(s, body, timeout=ANSWER_WITHIN_S + 20) for i, (s, body, _) in enumerate(flood))
        )
        took = time.monotonic() - started
        codes = [outcome(subject, reply.data)[0] for (subject, _, _), reply in zip(flood, replies, strict=True)]
        print(f"{len(flood)} requests answered in {took:.2f} s: {Counter(codes)}")
        for (_, _, expected), code in zip(flood, codes, strict=True):
            assert code in expected | {"overloaded"}
        assert codes.count("too_large") == 4 and codes.count("unknown_workflow") > 0 and codes.count("accepted") > 0
        assert took <= ANSWER_WITHIN_S
        assert "Slow Consumer" not in orchestrator.server_log.read_text()
        assert '"nats error"' not in orchestrator.log.read_text()
        assert orchestrator.peak_rss_mb() < RSS_BOUND_MB
    finally:
        for nc in connections:
            await nc.close()


def test_local_and_production_servers_hold_a_flood_for_the_orchestrator():
    """``gaai up``'s server and deploy/nats-server.conf give the same slow-consumer limit as this file's server."""
    assert SERVER_DEFAULTS == "max_pending: 1GB"
    production = (Path(__file__).resolve().parents[2] / "deploy" / "nats-server.conf").read_text().splitlines()
    assert SERVER_DEFAULTS in production
