"""NATS with authentication and least-privilege permissions per process."""

from __future__ import annotations

import asyncio
import secrets

import nats
import nats.errors
import pytest

from gaai.bus.connection import Bus
from gaai.bus.contract import AGENT_NAMES, SubmitRequest
from gaai.bus.errors import BusError
from gaai.bus.security import authorization_block
from gaai.bus.server import LocalNatsServer
from gaai.bus.settings import Settings
from gaai.store import EmbeddedStore
from gaai.store.sample import ensure_sample_graph
from graph_analytics_ai.client import connected_client
from graph_analytics_ai.stack import LocalStack

USERS = ("orchestrator", "client", "web", *AGENT_NAMES)


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
        async with connected_client(
            Settings(nats_url=server.url, nats_user="client", nats_password=passwords["client"]), name="client"
        ) as client:
            text = "We must find the most influential customers. We should detect communities of customers."
            workflow_id = await client.submit(
                SubmitRequest(graph_name="ecommerce", documents=[{"content": text}], max_executions=2)
            )
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


async def test_token_authentication(tmp_path):
    """NATS_TOKEN: the right token connects, a wrong one is refused with a clear error."""
    from gaai.bus.errors import BusError
    from gaai.bus.server import LocalNatsServer

    config = tmp_path / "token.conf"
    config.write_text('authorization { token: "s3cret-token" }\n')
    with LocalNatsServer(tmp_path / "store", config_file=config) as server:
        bus = await Bus.connect(Settings(nats_url=server.url, nats_token="s3cret-token"), name="token")
        await bus.close()
        with pytest.raises(BusError) as caught:
            await Bus.connect(Settings(nats_url=server.url, nats_token="wrong"), name="token")
        assert caught.value.code == "nats_unavailable" and "uthoriz" in caught.value.message


def _certificates(folder):
    """A CA and a server certificate for 127.0.0.1, made with openssl."""
    import subprocess

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    run(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "1",
        "-subj",
        "/CN=gaai-test-ca",
    )
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    run(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "1",
        "-extfile",
        "san.ext",
    )
    return folder / "ca.pem"


@pytest.mark.skipif(__import__("shutil").which("openssl") is None, reason="no openssl to make test certificates")
async def test_tls_with_our_ca(tmp_path):
    """NATS_CA: a server with TLS accepts us when we trust its CA; without the CA the connection fails."""
    from gaai.bus.errors import BusError
    from gaai.bus.server import LocalNatsServer

    ca = _certificates(tmp_path)
    config = tmp_path / "tls.conf"
    config.write_text(f'tls {{ cert_file: "{tmp_path / "server.pem"}", key_file: "{tmp_path / "server.key"}" }}\n')
    with LocalNatsServer(tmp_path / "store", config_file=config) as server:
        url = server.url.replace("nats://", "tls://")
        bus = await Bus.connect(Settings(nats_url=url, tls_ca=ca), name="tls")
        assert bus.nc.is_connected
        await bus.close()
        with pytest.raises(BusError):
            await Bus.connect(Settings(nats_url=url, connect_wait_s=3), name="tls-untrusted")


async def test_nkey_authentication(tmp_path):
    """NATS_NKEY: a user NKey seed file authenticates against the user's public key."""
    import os as _os

    import nkeys

    from gaai.bus.errors import BusError
    from gaai.bus.server import LocalNatsServer

    seed = nkeys.encode_seed(_os.urandom(32), nkeys.PREFIX_BYTE_USER)
    public = nkeys.from_seed(seed).public_key.decode()
    (tmp_path / "user.nk").write_bytes(seed)
    (tmp_path / "other.nk").write_bytes(nkeys.encode_seed(_os.urandom(32), nkeys.PREFIX_BYTE_USER))
    config = tmp_path / "nkey.conf"
    config.write_text(f'authorization {{ users = [ {{ nkey: "{public}" }} ] }}\n')
    with LocalNatsServer(tmp_path / "store", config_file=config) as server:
        bus = await Bus.connect(Settings(nats_url=server.url, nats_nkey_seed=tmp_path / "user.nk"), name="nkey")
        await bus.close()
        with pytest.raises(BusError):
            await Bus.connect(
                Settings(nats_url=server.url, nats_nkey_seed=tmp_path / "other.nk", connect_wait_s=3), name="nkey-other"
            )


def _operator_mode(folder):
    """An operator-mode server config and a user creds file, with JWTs signed by fresh NKeys."""
    import base64
    import hashlib
    import json
    import os as _os
    import time as _time

    import nkeys

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    def keypair(prefix: int):
        seed = nkeys.encode_seed(_os.urandom(32), prefix)
        pair = nkeys.from_seed(seed)
        return seed, pair, pair.public_key.decode()

    def jwt(claims: dict, signer) -> str:
        claims = {**claims, "iat": int(_time.time())}
        claims["jti"] = (
            base64.b32encode(hashlib.sha256(json.dumps(claims, sort_keys=True).encode()).digest()).decode().rstrip("=")
        )
        header = b64(json.dumps({"typ": "JWT", "alg": "ed25519-nkey"}).encode())
        payload = b64(json.dumps(claims).encode())
        return f"{header}.{payload}.{b64(signer.sign(f'{header}.{payload}'.encode()))}"

    unlimited = {
        "subs": -1,
        "data": -1,
        "payload": -1,
        "imports": -1,
        "exports": -1,
        "wildcards": True,
        "conn": -1,
        "leaf": -1,
    }
    _, operator, operator_key = keypair(nkeys.PREFIX_BYTE_OPERATOR)
    _, account, account_key = keypair(nkeys.PREFIX_BYTE_ACCOUNT)
    _, _, system_key = keypair(nkeys.PREFIX_BYTE_ACCOUNT)
    user_seed, _, user_key = keypair(nkeys.PREFIX_BYTE_USER)
    jetstream = {"mem_storage": -1, "disk_storage": -1, "streams": -1, "consumer": -1}
    operator_jwt = jwt(
        {"iss": operator_key, "sub": operator_key, "name": "gaai-test", "nats": {"type": "operator", "version": 2}},
        operator,
    )
    account_jwt = jwt(
        {
            "iss": operator_key,
            "sub": account_key,
            "name": "gaai",
            "nats": {"type": "account", "version": 2, "limits": {**unlimited, **jetstream}},
        },
        operator,
    )
    system_jwt = jwt(
        {
            "iss": operator_key,
            "sub": system_key,
            "name": "SYS",
            "nats": {"type": "account", "version": 2, "limits": unlimited},
        },
        operator,
    )
    user_jwt = jwt(
        {
            "iss": account_key,
            "sub": user_key,
            "name": "agent",
            "nats": {"type": "user", "version": 2, "pub": {}, "sub": {}, "subs": -1, "data": -1, "payload": -1},
        },
        account,
    )
    config = folder / "operator.conf"
    config.write_text(
        f'operator: "{operator_jwt}"\nsystem_account: {system_key}\nresolver: MEMORY\n'
        f'resolver_preload: {{\n  {account_key}: "{account_jwt}"\n  {system_key}: "{system_jwt}"\n}}\n'
    )
    creds = folder / "agent.creds"
    creds.write_text(
        f"-----BEGIN NATS USER JWT-----\n{user_jwt}\n------END NATS USER JWT------\n\n"
        f"-----BEGIN USER NKEY SEED-----\n{user_seed.decode()}\n------END USER NKEY SEED------\n"
    )
    return config, creds


async def test_creds_file_login_in_operator_mode(tmp_path):
    """NATS_CREDS: a user JWT + seed file logs in (and sets up JetStream); no credentials, no login."""
    from gaai.bus.server import LocalNatsServer

    config, creds = _operator_mode(tmp_path)
    with LocalNatsServer(tmp_path / "store", config_file=config) as server:
        bus = await Bus.connect(Settings(nats_url=server.url, nats_creds=creds), name="creds")
        assert (await bus.js.stream_info("GAAI_TASKS")).config.name == "GAAI_TASKS"
        await bus.close()
        with pytest.raises(BusError):
            await Bus.connect(Settings(nats_url=server.url, connect_wait_s=3), name="anonymous")
