"""NATS with authentication and least-privilege permissions per process."""

from __future__ import annotations

import asyncio
import secrets

import nats
import nats.errors
import pytest

from bus.connection import Bus
from bus.contract import AGENT_NAMES, SubmitRequest
from bus.errors import BusError
from bus.security import authorization_block
from bus.server import LocalNatsServer
from bus.settings import Settings
from graph_analytics_ai.client import connected_client
from graph_analytics_ai.stack import LocalStack
from store import EmbeddedStore
from store.sample import ensure_sample_graph

USERS = ("orchestrator", "client", *AGENT_NAMES)


@pytest.fixture
def secured(tmp_path, monkeypatch):
    """A nats-server started with the generated configuration and a password per user."""
    passwords = {user: secrets.token_hex(12) for user in USERS}
    for user, password in passwords.items():
        monkeypatch.setenv(f"GAAI_PASSWORD_{user.upper()}", password)
    config = tmp_path / "nats.conf"
    config.write_text(authorization_block())
    server = LocalNatsServer(tmp_path / "store", config_file=config)
    server.start()
    yield server, passwords
    server.stop()


async def test_unauthenticated_client_is_refused(secured):
    """No credentials, no connection; the error names the server."""
    server, _ = secured
    with pytest.raises(BusError) as caught:
        await Bus.connect(Settings(nats_url=server.url), name="anonymous")
    assert caught.value.code == "nats_unavailable" and server.url in caught.value.message


async def test_an_agent_cannot_publish_outside_its_subjects(secured):
    """The execution agent's user may not submit workflows nor inject tasks for other agents."""
    server, passwords = secured
    violations: list[str] = []

    async def on_error(error: Exception) -> None:
        violations.append(str(error))

    nc = await nats.connect(server.url, user="execution", password=passwords["execution"], error_cb=on_error)
    try:
        with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError)):
            await nc.request("gaai.workflow.submit", b'{"graph_name": "g"}', timeout=0.5)
        await nc.publish("gaai.task.schema", b"{}")
        await nc.publish("gaai.result.reporting", b"{}")
        await nc.flush()
        await asyncio.sleep(0.3)
    finally:
        await nc.close()
    denied = " ".join(violations).lower()
    assert "permissions violation" in denied
    for subject in ("gaai.workflow.submit", "gaai.task.schema", "gaai.result.reporting"):
        assert subject in denied


async def test_workflows_complete_with_least_privilege(home, secured):
    """Each process logs in as its own user with only its permissions, and a workflow completes."""
    server, passwords = secured
    credentials = {user: {"NATS_USER": user, "NATS_PASSWORD": passwords[user]} for user in USERS}
    ensure_sample_graph(EmbeddedStore(home), "ecommerce")
    with LocalStack(home=home, nats_url=server.url, process_env=credentials):
        async with connected_client(Settings(nats_url=server.url, nats_user="client", nats_password=passwords["client"]), name="client") as client:
            text = "We must find the most influential customers. We should detect communities of customers."
            workflow_id = await client.submit(SubmitRequest(graph_name="ecommerce", documents=[{"content": text}], max_executions=2))
            progress = await client.wait(workflow_id, timeout=90)
            reports = await client.fetch_reports(progress)
    assert progress.status == "completed", progress.failures
    assert len(reports) == 2 and all(r.files["html"][:15].lower() == b"<!doctype html>" for r in reports)


def test_shipped_server_configuration_matches_the_generator():
    """deploy/nats-server.conf carries the permissions the code needs today."""
    from pathlib import Path

    shipped = (Path(__file__).parents[2] / "deploy" / "nats-server.conf").read_text()
    assert authorization_block() in shipped
    assert "sync_interval: always" in shipped
