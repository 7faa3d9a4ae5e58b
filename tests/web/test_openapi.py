"""The OpenAPI document: committed under schemas/http/, the same as the code generates and the gateway serves."""

from __future__ import annotations

import msgspec

from gaai.bus.contract import ERROR_CODES
from gaai.web.app import HTTP_STATUS, create_app, http_status
from gaai.web.openapi import OPENAPI_FILE, api_routes, openapi_document, render


def test_committed_openapi_document_matches_the_code():
    """schemas/http/openapi.json is what `python -m gaai.web.openapi` writes today; regenerate it when types change."""
    assert OPENAPI_FILE.read_bytes() == openapi_document(), "run `python -m gaai.web.openapi`"


def test_every_reference_resolves_and_every_operation_answers_errors_as_the_bus_does():
    document = render()
    assert document["openapi"] == "3.1.0"
    text = msgspec.json.encode(document).decode()
    references = {part.split('"')[0] for part in text.split('"$ref":"#/components/schemas/')[1:]}
    assert references <= set(document["components"]["schemas"])
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            errors = {status for status in operation["responses"] if status >= "400"}
            if path != "/api/openapi.json":
                assert errors, f"{method.upper()} {path} documents no error"
            for status in errors:
                schema = operation["responses"][status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorReply"}


def test_http_statuses_are_given_for_known_codes_only():
    assert set(HTTP_STATUS) <= set(ERROR_CODES)
    assert http_status("unknown_workflow") == 404 and http_status("bad_request") == 400
    assert http_status("no_orchestrator") == 503 and http_status("unauthorized") == 401


def test_the_gateway_serves_exactly_the_documented_operations_each_by_its_handler():
    app = create_app(bus=None, store=None)  # type: ignore[arg-type]  # the routes only: nothing is asked
    served = {
        (route.method.lower(), route.resource.canonical, route.handler.__name__)
        for route in app.router.routes()
        if route.resource is not None and route.resource.canonical.startswith("/api/") and route.method != "HEAD"
    }
    assert served == set(api_routes())
    assert ("get", "/api/workflows/{workflow_id}/trace.{format}", "trace_export") in served
