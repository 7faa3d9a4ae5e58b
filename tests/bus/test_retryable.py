"""Every error code's retryability, as a table: changing whether a code is worth retrying is a visible diff here.

Error replies built by the request service and by the worker, and errors raised from a code, carry the table's
answer; a raiser that says otherwise for one occurrence wins.
"""

from __future__ import annotations

import json

import pytest

from gaai.bus import subjects
from gaai.bus.connection import Bus
from gaai.bus.contract import ERROR_CODES, RETRYABLE_CODES, ErrorCode, ErrorReply
from gaai.bus.errors import BusError, RequestError, TaskError
from gaai.bus.requests import workflow_status
from gaai.bus.service import add_endpoint, answer, error_reply
from gaai.bus.settings import Settings

RETRYABLE = {
    "bad_argument": False,
    "bad_document": False,
    "bad_format": False,
    "bad_graph": False,
    "bad_import": False,
    "bad_name": False,
    "bad_params": False,
    "bad_price_table": False,
    "bad_request": False,
    "bad_result_ref": False,
    "bad_setting": False,
    "bad_vertical": False,
    "bad_weight": False,
    "cancelled": False,
    "conflicting_hints": False,
    "cross_origin": False,
    "constraint_violated": False,
    "document_missing": False,
    "document_not_allowed": False,
    "document_not_found": False,
    "document_too_large": False,
    "duplicate_collection": False,
    "empty_document": False,
    "empty_graph": False,
    "graph_changed": True,
    "graph_exists": False,
    "internal": False,
    "jetstream_unavailable": True,
    "llm_answer_truncated": False,
    "llm_auth": False,
    "llm_bad_output": True,
    "llm_bad_response": False,
    "llm_request_rejected": False,
    "llm_unavailable": True,
    "missing_dependency": False,
    "nats_server_failed": False,
    "nats_unavailable": True,
    "no_bus": False,
    "no_catalog": True,
    "no_nats_server": False,
    "no_nats_url": False,
    "no_orchestrator": True,
    "no_run": False,
    "no_use_case": False,
    "not_failed": False,
    "not_ready": True,
    "overloaded": True,
    "path_not_allowed": False,
    "publish_failed": True,
    "state_conflict": True,
    "state_unavailable": True,
    "stopped": True,
    "timeout": True,
    "too_large": False,
    "too_many_attempts": True,
    "unauthorized": False,
    "topology_missing": False,
    "unknown_agent": False,
    "unknown_algorithm": False,
    "unknown_bucket": False,
    "unknown_case": False,
    "unknown_collection": False,
    "unknown_dead_letter": False,
    "unknown_document": False,
    "unknown_graph": False,
    "unknown_llm_provider": False,
    "unknown_report": False,
    "unknown_result": False,
    "unknown_route": False,
    "unknown_task": False,
    "unknown_vertical": False,
    "unknown_workflow": False,
    "unsupported_document": False,
    "worker_crashed": True,
    "workflow_exists": False,
}


def test_the_table_lists_every_code_and_matches_retryable_codes():
    assert sorted(RETRYABLE) == sorted(ERROR_CODES)
    assert {code for code, retryable in RETRYABLE.items() if retryable} == RETRYABLE_CODES


@pytest.mark.parametrize("code", sorted(RETRYABLE))
async def test_an_error_reply_carries_the_codes_retryability(code: ErrorCode):
    async def refusing(data: bytes) -> object:
        raise RequestError(code, f"refused with {code}")

    reply = await answer(refusing, b"{}")
    assert isinstance(reply, ErrorReply)
    assert (reply.error.code, reply.error.retryable) == (code, RETRYABLE[code])
    assert error_reply(code, "m").error.retryable is RETRYABLE[code]
    assert TaskError(code, "m").retryable is BusError(code, "m").info().retryable is RETRYABLE[code]


def test_a_raiser_may_say_otherwise_for_one_occurrence():
    assert TaskError("internal", "flaky", retryable=True).info().retryable is True
    assert TaskError("llm_unavailable", "no rule for this purpose", retryable=False).info().retryable is False


async def test_retryability_crosses_the_wire_to_the_asking_client(fresh_nats):
    """A status request answered with state_unavailable says retryable: true in its JSON and to the client."""
    settings = Settings(nats_url=fresh_nats.url, request_timeout_s=5)
    server = await Bus.connect(settings, name="store-down-orchestrator")
    client = await Bus.connect(settings, name="asking-client")

    async def store_down(data: bytes) -> object:
        raise RequestError("state_unavailable", "the workflow store does not answer")

    try:
        await add_endpoint(server, subjects.STATUS, "orchestrator", store_down)
        raw = await client.nc.request(subjects.STATUS, b'{"workflow_id": "wf1"}', timeout=5)
        assert json.loads(raw.data)["error"] == {
            "code": "state_unavailable",
            "message": "the workflow store does not answer",
            "retryable": True,
        }
        with pytest.raises(RequestError) as caught:
            await workflow_status(client, "wf1", timeout=5)
        assert (caught.value.code, caught.value.retryable) == ("state_unavailable", True)
    finally:
        await client.close()
        await server.close()
