"""The wire contract: schemas committed in the repo, golden messages, error mapping."""

from __future__ import annotations

import msgspec
import pytest

from gaai.bus import contract
from gaai.bus.codec import decode_request, encode, submit_decoder, task_decoder
from gaai.bus.errors import RequestError
from gaai.bus.schema import SCHEMA_DIR, render


def test_committed_schemas_match_the_code():
    """schemas/ is what `python -m gaai.bus.schema` writes today; regenerate it when the contract changes."""
    rendered = render()
    committed = {p.name: p.read_bytes() for p in SCHEMA_DIR.glob("*.json")}
    assert sorted(committed) == sorted(rendered)
    drifted = [name for name, body in rendered.items() if committed[name] != body]
    assert drifted == [], f"run `python -m gaai.bus.schema`: {drifted} drifted"


def test_published_descriptions_carry_no_docstring_indentation():
    """Descriptions read the same whether or not the installed msgspec dedents docstrings."""
    indented = [
        (name, line)
        for name, body in render().items()
        for node in _descriptions(msgspec.json.decode(body))
        for line in node.splitlines()
        if line.startswith(" ")
    ]
    assert indented == []


def _descriptions(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "description" and isinstance(value, str):
                yield value
            else:
                yield from _descriptions(value)
    elif isinstance(node, list):
        for item in node:
            yield from _descriptions(item)


def test_submit_request_from_plain_json():
    """A client in any language sends plain JSON with only the fields it cares about."""
    request = decode_request(
        submit_decoder, b'{"graph_name": "shop", "documents": [{"content": "We must rank products."}]}'
    )
    assert request.graph_name == "shop"
    assert request.documents[0].content == "We must rank products."
    assert request.max_executions == 5 and request.enable_parallelism is True


@pytest.mark.parametrize(
    "body, fragment",
    [
        (b"not json", "not valid JSON"),
        (b"{}", "graph_name"),
        (b'{"graph_name": 7}', "$.graph_name"),
        (b'{"graph_name": "a b"}', "$.graph_name"),
        (b'{"graph_name": "g", "max_executions": 0}', "$.max_executions"),
        (b'{"graph_name": "g", "documents": [{"content": 5}]}', "$.documents[0].content"),
    ],
)
def test_bad_requests_name_the_offending_field(body, fragment):
    """Decoding errors become bad_request with the JSON path of the problem."""
    with pytest.raises(RequestError) as caught:
        decode_request(submit_decoder, body)
    assert caught.value.code == "bad_request"
    assert fragment in caught.value.message


def test_task_envelope_round_trip_keeps_the_task_kind():
    """Tasks are a tagged union: the decoder returns the right Struct for each kind."""
    envelope = contract.TaskEnvelope(
        workflow_id="wf-1",
        task_id="wf-1.schema",
        task=contract.SchemaTask(graph_name="g", core_collections=["a"]),
    )
    body = encode(envelope)
    assert b'"kind":"schema"' in body
    decoded = task_decoder.decode(body)
    assert decoded == envelope and isinstance(decoded.task, contract.SchemaTask)


def test_unknown_fields_from_newer_clients_are_ignored():
    """Adding a field on the sender's side does not break an older reader."""
    request = msgspec.json.decode(b'{"graph_name": "g", "future_field": 1}', type=contract.SubmitRequest)
    assert request.graph_name == "g"
