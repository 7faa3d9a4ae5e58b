"""Request endpoints take what they have room for and answer the rest at once: ``overloaded`` when full,
``too_large`` over ``MAX_REQUEST_BYTES``; requests already taken are answered when the endpoint closes."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

import msgspec
import nats
import pytest

from gaai.bus.connection import Bus
from gaai.bus.errors import RequestError
from gaai.bus.requests import ask
from gaai.bus.server import LocalNatsServer
from gaai.bus.service import MAX_REQUEST_BYTES, REQUEST_BYTES_IN_HAND, REQUESTS_IN_HAND, add_endpoint
from gaai.bus.settings import Settings

SUBJECT = "test.service"


async def test_a_full_endpoint_answers_overloaded_at_once_and_serves_the_requests_it_took(fresh_nats):
    settings = Settings(nats_url=fresh_nats.url)
    server, client = await Bus.connect(settings, name="test-server"), await Bus.connect(settings, name="test-client")
    release = asyncio.Event()
    served: list[bytes] = []

    async def held(data: bytes) -> dict:
        await release.wait()
        served.append(data)
        return {"echo": data.decode()}

    try:
        await add_endpoint(server, SUBJECT, "q", held)
        taken = [
            asyncio.create_task(client.nc.request(SUBJECT, b"%d" % i, timeout=10)) for i in range(REQUESTS_IN_HAND)
        ]
        await client.nc.flush()
        started = time.monotonic()
        refused = await asyncio.gather(*(client.nc.request(SUBJECT, b"more", timeout=10) for _ in range(5)))
        held_bytes = sum(len(b"%d" % i) for i in range(REQUESTS_IN_HAND))
        assert time.monotonic() - started < 2, "refused without waiting for the requests in hand"
        for reply in refused:
            error = json.loads(reply.data)["error"]
            assert (error["code"], error["retryable"]) == ("overloaded", True)
            assert error["message"] == (
                f"{SUBJECT} is busy with {REQUESTS_IN_HAND} requests ({held_bytes} bytes); "
                f"it takes {REQUESTS_IN_HAND} requests or {REQUEST_BYTES_IN_HAND} bytes at once; "
                "send it again shortly"
            )
        assert served == []
        release.set()
        answered = [json.loads(reply.data) for reply in await asyncio.gather(*taken)]
        assert answered == [{"echo": str(i)} for i in range(REQUESTS_IN_HAND)]
        again = await client.nc.request(SUBJECT, b"more", timeout=10)
        assert json.loads(again.data) == {"echo": "more"}
    finally:
        await client.close()
        await server.close()


async def test_the_byte_budget_refuses_what_the_count_would_take(fresh_nats):
    """Bodies held at once are bounded too: two half-budget requests fill it, a third is overloaded."""
    settings = Settings(nats_url=fresh_nats.url)
    server, client = await Bus.connect(settings, name="test-server"), await Bus.connect(settings, name="test-client")
    release = asyncio.Event()

    async def held(data: bytes) -> dict:
        await release.wait()
        return {"size": len(data)}

    body = b"x" * min(client.nc.max_payload - 1024, REQUEST_BYTES_IN_HAND // 2)
    in_budget = REQUEST_BYTES_IN_HAND // len(body)
    try:
        await add_endpoint(server, SUBJECT, "q", held)
        taken = [asyncio.create_task(client.nc.request(SUBJECT, body, timeout=20)) for _ in range(in_budget)]
        await client.nc.flush()
        refused = await client.nc.request(SUBJECT, body, timeout=10)
        assert json.loads(refused.data)["error"]["code"] == "overloaded"
        release.set()
        assert [json.loads(r.data) for r in await asyncio.gather(*taken)] == [{"size": len(body)}] * in_budget
    finally:
        await client.close()
        await server.close()


@pytest.fixture
def large_payload_nats(tmp_path):
    """A server that lets 16 MB messages through (the default max_payload is 1 MB)."""
    config = tmp_path / "nats-server.conf"
    config.write_text("max_payload: 16MB\nmax_pending: 256MB\n")
    server = LocalNatsServer(tmp_path / "nats", config_file=config)
    server.start()
    yield server
    server.stop()


async def test_a_request_over_the_limit_is_refused_too_large_without_reaching_the_handler(large_payload_nats):
    settings = Settings(nats_url=large_payload_nats.url)
    server, client = await Bus.connect(settings, name="test-server"), await Bus.connect(settings, name="test-client")
    handled: list[int] = []

    async def handler(data: bytes) -> dict:
        handled.append(len(data))
        return {"size": len(data)}

    try:
        await add_endpoint(server, SUBJECT, "q", handler)
        too_big = MAX_REQUEST_BYTES + 1
        reply = json.loads((await client.nc.request(SUBJECT, b"x" * too_big, timeout=20)).data)
        assert reply["error"] == {
            "code": "too_large",
            "message": f"request of {too_big} bytes exceeds the limit of {MAX_REQUEST_BYTES}",
            "retryable": False,
        }
        fits = json.loads((await client.nc.request(SUBJECT, b"x" * MAX_REQUEST_BYTES, timeout=20)).data)
        assert fits == {"size": MAX_REQUEST_BYTES}
        assert handled == [MAX_REQUEST_BYTES]
    finally:
        await client.close()
        await server.close()


async def test_a_request_over_the_servers_max_payload_never_reaches_the_endpoint(fresh_nats):
    """The client refuses to send it (``too_large``); the orchestrator never buffers a byte of it."""
    settings = Settings(nats_url=fresh_nats.url)
    server, client = await Bus.connect(settings, name="test-server"), await Bus.connect(settings, name="test-client")
    handled: list[int] = []

    async def handler(data: bytes) -> dict:
        handled.append(len(data))
        return {}

    try:
        await add_endpoint(server, SUBJECT, "q", handler)
        over = {"content": "x" * client.nc.max_payload}
        with pytest.raises(RequestError) as refused:
            await ask(client, SUBJECT, over, msgspec.json.Decoder(), timeout=5)
        assert refused.value.code == "too_large"
        assert refused.value.message.startswith("request too large for the server")
        assert handled == []
    finally:
        await client.close()
        await server.close()


async def test_closing_an_endpoint_answers_the_requests_it_took_and_takes_no_more(fresh_nats):
    settings = Settings(nats_url=fresh_nats.url)
    server, client = await Bus.connect(settings, name="test-server"), await Bus.connect(settings, name="test-client")

    started: list[bytes] = []
    all_taken = asyncio.Event()

    async def slow(data: bytes) -> dict:
        started.append(data)
        if len(started) == 3:
            all_taken.set()
        await asyncio.sleep(0.5)
        return {"done": data.decode()}

    try:
        endpoint = await add_endpoint(server, SUBJECT, "q", slow)
        taken = [asyncio.create_task(client.nc.request(SUBJECT, b"%d" % i, timeout=10)) for i in range(3)]
        await asyncio.wait_for(all_taken.wait(), timeout=10)
        await endpoint.close()
        assert [json.loads(r.data) for r in await asyncio.gather(*taken)] == [{"done": str(i)} for i in range(3)]
        with pytest.raises(Exception, match="no responders"):
            await client.nc.request(SUBJECT, b"late", timeout=2)
    finally:
        await client.close()
        await server.close()


async def test_an_endpoint_takes_requests_from_other_connections_as_soon_as_it_is_added(fresh_nats):
    """add_endpoint returns only once the server has the subscription, even with the CPU busy (nats-py sends a
    flush's PING ahead of a queued SUB, so a single flush left a window where a request found no responder)."""
    settings = Settings(nats_url=fresh_nats.url)
    server, client = await Bus.connect(settings, name="test-server"), await Bus.connect(settings, name="test-client")
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(4)]

    async def answered(data: bytes) -> dict:
        return {"ok": True}

    missed = 0
    try:
        for attempt in range(300):
            endpoint = await add_endpoint(server, f"{SUBJECT}.{attempt}", "q", answered)
            try:
                await client.nc.request(f"{SUBJECT}.{attempt}", b"", timeout=10)
            except nats.errors.NoRespondersError:
                missed += 1
            await endpoint.close()
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
        await client.close()
        await server.close()
    assert missed == 0, f"{missed} of 300 requests right after add_endpoint found no responder"
