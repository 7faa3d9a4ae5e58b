"""A whole stack with the web gateway (nats-server, orchestrator, every agent, ``python -m gaai.web``) for the tests."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from gaai.store import EmbeddedStore
from gaai.store.sample import ensure_sample_graph
from graph_analytics_ai.stack import LocalStack

DEMO_REQUIREMENTS = (
    "# Requirements\n\nWe must find the most influential customers.\n"
    "We should detect communities of customers who buy together.\n"
)


@dataclass
class Gateway:
    url: str
    home: Path
    stack: LocalStack

    def get(self, path: str) -> tuple[int, dict]:
        return http("GET", self.url + path)

    def post(self, path: str, body: object) -> tuple[int, dict]:
        return http("POST", self.url + path, json.dumps(body).encode(), {"Content-Type": "application/json"})

    def wait_final(self, workflow_id: str, timeout: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            status, body = self.get(f"/api/workflows/{workflow_id}")
            if status == 200 and body["status"] in ("completed", "failed", "cancelled"):
                return body
            assert time.monotonic() < deadline, f"workflow {workflow_id} not finished: {body}"
            time.sleep(0.2)


def http(method: str, url: str, data: bytes | None = None, headers: dict | None = None) -> tuple[int, dict]:
    """Status and decoded JSON body of one request; error statuses are answers too."""
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gateway(home: Path, **stack_options) -> Gateway:
    ensure_sample_graph(EmbeddedStore(home), "ecommerce")
    port = free_port()
    stack = LocalStack(home=home, web_port=port, **stack_options)
    stack.start()
    gateway = Gateway(url=f"http://127.0.0.1:{port}", home=home, stack=stack)
    deadline = time.monotonic() + 60
    while True:  # up once it answers, and an orchestrator serves it ("unknown workflow" rather than 503)
        try:
            if gateway.get("/api/workflows/readiness-probe")[0] == 404:
                return gateway
        except OSError:
            pass
        if time.monotonic() > deadline:
            stack.stop()
            log = (home / "logs" / "web.log").read_text(errors="replace")[-2000:]
            raise AssertionError(f"the web gateway did not come up: {log}")
        time.sleep(0.2)


@pytest.fixture(scope="session")
def gateway(tmp_path_factory: pytest.TempPathFactory):
    """One stack for every test of tests/web that needs one: starting it takes about ten seconds."""
    gateway = start_gateway(tmp_path_factory.mktemp("web-home"))
    yield gateway
    gateway.stack.stop()


@pytest.fixture(scope="module")
def finished(gateway: Gateway) -> dict:
    """One workflow on the sample graph, run to its end through the API."""
    status, reply = gateway.post(
        "/api/workflows",
        {
            "graph_name": "ecommerce",
            "documents": [{"content": DEMO_REQUIREMENTS, "name": "req.md"}],
            "max_executions": 2,
        },
    )
    assert status == 202, reply
    return gateway.wait_final(reply["workflow_id"])
