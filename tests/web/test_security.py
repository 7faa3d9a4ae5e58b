"""The gateway's own guards: its address and token, its session cookie, and its least-privilege NATS user."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from gaai.bus.contract import AGENT_NAMES
from gaai.bus.security import authorization_block
from gaai.bus.server import LocalNatsServer
from gaai.store import EmbeddedStore
from gaai.store.sample import ensure_sample_graph
from gaai.web.openapi import OPENAPI_FILE
from graph_analytics_ai.stack import LocalStack

from .conftest import DEMO_REQUIREMENTS, free_port, http

pytestmark = pytest.mark.timeout(120)


def _web(argv: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "gaai.web", *argv],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1", "example.org"])
def test_it_refuses_an_address_other_than_loopback_without_a_token(host, tmp_path: Path):
    process = _web(["--host", host, "--port", "0"], {"GAAI_HOME": str(tmp_path), "GAAI_WEB_TOKEN": ""})
    _, err = process.communicate(timeout=30)
    assert process.returncode == 2
    assert err.strip().splitlines() == [
        f"gaai-web: refusing to listen on {host} without GAAI_WEB_TOKEN: set a token (clients send it as "
        "'Authorization: Bearer <token>') or listen on 127.0.0.1 [bad_setting]"
    ]


def test_a_bad_upload_limit_is_refused_with_its_variable(tmp_path: Path):
    process = _web(["--port", "0"], {"GAAI_HOME": str(tmp_path), "GAAI_WEB_MAX_UPLOAD_MB": "lots"})
    _, err = process.communicate(timeout=30)
    assert process.returncode == 2 and "GAAI_WEB_MAX_UPLOAD_MB" in err and "Traceback" not in err


@pytest.fixture
def guarded(nats_server, tmp_path: Path):
    """A gateway alone on the test's nats-server, asking for a token."""
    token = secrets.token_urlsafe(16)
    port = free_port()
    env = {"NATS_URL": nats_server.url, "GAAI_HOME": str(tmp_path), "GAAI_WEB_TOKEN": token}
    process = _web(["--port", str(port)], env)
    first_line = process.stdout.readline()
    assert first_line.strip() == f"gaai web: dashboard at http://127.0.0.1:{port}/", process.stderr.read()
    yield f"http://127.0.0.1:{port}", token
    process.terminate()
    process.communicate(timeout=10)


def test_api_requests_need_the_token_and_the_session_cookie_stands_for_it(guarded):
    url, token = guarded
    status, error = http("GET", url + "/api/graphs")
    assert (status, error["error"]["code"]) == (401, "unauthorized")
    status, error = http("GET", url + "/api/graphs", headers={"Authorization": "Bearer wrong"})
    assert (status, error["error"]["code"]) == (401, "unauthorized")
    assert http("GET", url + "/api/graphs", headers={"Authorization": f"Bearer {token}"}) == (200, {"graphs": []})
    with urllib.request.urlopen(url + "/api/openapi.json") as response:  # the document and the page need none
        assert response.read() == OPENAPI_FILE.read_bytes()
    with urllib.request.urlopen(url + "/") as response:
        assert response.status == 200
    body = json.dumps({"token": "wrong ĝüéß"}).encode()
    status, error = http("POST", url + "/api/session", body, {"Content-Type": "application/json"})
    assert (status, error["error"]["code"]) == (401, "unauthorized")
    request = urllib.request.Request(
        url + "/api/session", json.dumps({"token": token}).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request) as response:
        cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert http("GET", url + "/api/graphs", headers={"Cookie": cookie.split(";")[0]}) == (200, {"graphs": []})


def test_wrong_tokens_past_the_limit_are_answered_429_until_the_window_passes(guarded):
    """Ten wrong tokens from one address, by header or sign-in, and every token from it is refused for a while, the
    right one too; a request with no token at all counts for nothing."""
    url, token = guarded
    for _ in range(5):
        assert http("GET", url + "/api/graphs")[0] == 401  # no token: not a guess
    for attempt in range(10):
        if attempt % 2:
            status, _ = http("GET", url + "/api/graphs", headers={"Authorization": f"Bearer guess-{attempt}"})
        else:
            body = json.dumps({"token": f"guess-{attempt}"}).encode()
            status, _ = http("POST", url + "/api/session", body, {"Content-Type": "application/json"})
        assert status == 401
    request = urllib.request.Request(url + "/api/graphs", headers={"Authorization": f"Bearer {token}"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request)
    assert refused.value.code == 429
    assert 1 <= int(refused.value.headers["Retry-After"]) <= 60
    error = json.loads(refused.value.read())["error"]
    assert (error["code"], error["retryable"]) == ("too_many_attempts", True)
    body = json.dumps({"token": token}).encode()
    assert http("POST", url + "/api/session", body, {"Content-Type": "application/json"})[0] == 429


def test_the_gateway_works_as_its_own_least_privilege_nats_user(tmp_path: Path, monkeypatch):
    """With the generated permissions, the web user submits (with an uploaded file), lists, reads, follows, cancels
    and asks the catalog (its own user too) for the lineage of the finished workflow."""
    users = ("orchestrator", "client", "web", *AGENT_NAMES)
    passwords = {user: secrets.token_hex(12) for user in users}
    for user, password in passwords.items():
        monkeypatch.setenv(f"GAAI_PASSWORD_{user.upper()}", password)
    config = tmp_path / "nats.conf"
    config.write_text(authorization_block())
    server = LocalNatsServer(tmp_path / "store", config_file=config)
    server.start()
    home = tmp_path / "home"
    ensure_sample_graph(EmbeddedStore(home), "ecommerce")
    port = free_port()
    credentials = {
        user: {"NATS_USER": user, "NATS_PASSWORD": passwords[user]} for user in ("orchestrator", "web", "catalog")
    }
    stack = LocalStack(home=home, nats_url=server.url, agents=("catalog",), web_port=port, process_env=credentials)
    stack.start()
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if http("GET", url + "/api/workflows/probe")[0] == 404:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, (home / "logs" / "web.log").read_text()
            time.sleep(0.2)
        boundary = "b0undary"
        body = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="graph_name"\r\n\r\necommerce\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="documents"; filename="req.md"\r\n\r\n'
            f"{DEMO_REQUIREMENTS}\r\n--{boundary}--\r\n"
        ).encode()
        status, reply = http(
            "POST", url + "/api/workflows", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        )
        assert status == 202, reply
        status, listed = http("GET", url + "/api/workflows")
        assert status == 200 and [w["workflow_id"] for w in listed["workflows"]] == [reply["workflow_id"]]
        status, progress = http("GET", url + f"/api/workflows/{reply['workflow_id']}")
        assert status == 200 and progress["status"] == "running"  # no agent runs here: its first tasks wait
        with urllib.request.urlopen(url + f"/api/workflows/{reply['workflow_id']}/events", timeout=10) as stream:
            lines = [stream.readline().decode().strip() for _ in range(6)]
        assert "event: status" in lines and "event: workflow" in lines, lines
        status, cancelled = http("POST", url + f"/api/workflows/{reply['workflow_id']}/cancel")
        assert status == 200 and cancelled["status"] == "cancelled", cancelled
        while True:  # the catalog process may still be starting
            status, lineage = http("GET", url + f"/api/workflows/{reply['workflow_id']}/lineage")
            if status != 503 or lineage["error"]["code"] != "no_catalog" or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert status == 200 and lineage["status"] == "cancelled", lineage
        for log in ("web.log", "catalog.log"):
            assert "Permissions Violation" not in (home / "logs" / log).read_text()
    finally:
        stack.stop()
        server.stop()
