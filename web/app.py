"""The gateway's aiohttp application: the HTTP API under ``/api/``, the event stream, the dashboard's files.

Every answer that is not a success is ``{"error": {"code", "message", "retryable"}}`` with the code the bus
uses and an HTTP status that fits it. Reports are served under a sandboxing Content-Security-Policy, so their
content never runs in the dashboard's origin.
"""

from __future__ import annotations

import asyncio
import hmac
import math
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import resources
from typing import TypeVar, cast

import msgspec
import structlog
from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_exceptions import HTTPException

from gaai.bus import subjects
from gaai.bus.codec import (
    ReplyDecoder,
    decode_request,
    encode,
    status_reply_decoder,
    submit_decoder,
    submit_reply_decoder,
)
from gaai.bus.connection import Bus
from gaai.bus.contract import (
    FINAL_STATUSES,
    RETRYABLE_CODES,
    CancelRequest,
    DocumentInput,
    ErrorCode,
    ErrorInfo,
    ErrorReply,
    Event,
    LineageReply,
    RetryRequest,
    SubmitRequest,
    WorkflowEvent,
    WorkflowProgress,
)
from gaai.bus.errors import GaaiError, RequestError
from gaai.bus.follower import catalog_caught_up
from gaai.bus.requests import ask, catalog_lineage, workflow_status
from gaai.bus.trace import trace_html, trace_markdown
from gaai.store import GraphStore
from gaai.web import views
from gaai.web.attempts import WrongTokens
from gaai.web.messages import CancelBody, GraphList, SessionBody, WorkflowList
from gaai.web.openapi import TRACE_EXPORTS, api_routes, openapi_document

log = structlog.get_logger("web")
R = TypeVar("R")

STATIC = resources.files("gaai.web") / "static"
TOKEN_COOKIE = "gaai_token"
DEFAULT_MAX_UPLOAD_BYTES = 16 * 1024 * 1024
MAX_LISTED_WORKFLOWS = 500
SSE_KEEPALIVE_S = 10.0
SSE_SETTLE_S = 0.5
"""A stream opened on a finished workflow ends once its stored events have been quiet this long."""
CATALOG_CATCH_UP_S = 2.0
"""How long a finished workflow's lineage waits for the catalog to record the last results before asking it."""

DASHBOARD_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
REPORT_CSP = (
    "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'self'"
)
MEDIA_TYPES = {
    "html": "text/html; charset=utf-8",
    "markdown": "text/markdown; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
}

HTTP_STATUS: dict[str, int] = {
    "unauthorized": 401,
    "too_many_attempts": 429,
    "cross_origin": 403,
    "document_not_allowed": 403,
    "path_not_allowed": 403,
    "too_large": 413,
    "document_too_large": 413,
    "workflow_exists": 409,
    "not_failed": 409,
    "cancelled": 409,
    "state_conflict": 409,
    "internal": 500,
    "topology_missing": 503,
    "timeout": 504,
}
"""The HTTP status of the codes that need their own; other temporary conditions (``RETRYABLE_CODES``) are 503,
``unknown_*`` codes 404, the rest 400."""


def http_status(code: str) -> int:
    if code in HTTP_STATUS:
        return HTTP_STATUS[code]
    if code in RETRYABLE_CODES:
        return 503
    return 404 if code.startswith("unknown_") or code == "document_not_found" else 400


def error_response(
    code: ErrorCode,
    message: str,
    *,
    status: int | None = None,
    retryable: bool = False,
    headers: dict[str, str] | None = None,
):
    body = encode(ErrorReply(error=ErrorInfo(code=code, message=message, retryable=retryable)))
    return web.Response(body=body, status=status or http_status(code), content_type="application/json", headers=headers)


def too_many_attempts(wait_s: float) -> web.Response:
    seconds = max(1, math.ceil(wait_s))
    return error_response(
        "too_many_attempts",
        f"too many wrong tokens from this address; try again in {seconds} s",
        retryable=True,
        headers={"Retry-After": str(seconds)},
    )


def json_response(message: object, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=encode(message), status=status, content_type="application/json", headers=headers)


@dataclass(frozen=True)
class GatewayConfig:
    """How the gateway answers: its bearer token (None: none asked, only on a loopback address) and limits."""

    token: str | None = None
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    request_timeout_s: float = 10.0


class Gateway:
    """The handlers: each turns one HTTP request into bus requests and a JSON answer."""

    def __init__(self, bus: Bus, store: GraphStore, config: GatewayConfig, wrong_tokens: WrongTokens) -> None:
        self.bus = bus
        self.store = store
        self.config = config
        self.wrong_tokens = wrong_tokens

    async def _ask(self, subject: str, request: object, decoder: ReplyDecoder[R]) -> R:
        return await ask(self.bus, subject, request, decoder, self.config.request_timeout_s)

    async def _status(self, workflow_id: str) -> WorkflowProgress:
        _check_workflow_id(workflow_id)
        return await workflow_status(self.bus, workflow_id, self.config.request_timeout_s)

    async def list_workflows(self, request: web.Request) -> web.Response:
        limit = _int_query(request, "limit", default=50, low=1, high=MAX_LISTED_WORKFLOWS)
        keys = await self.bus.entry_keys(subjects.WORKFLOWS_BUCKET)
        gate = asyncio.Semaphore(16)

        async def status_of(workflow_id: str) -> WorkflowProgress | None:
            async with gate:
                try:
                    return await workflow_status(self.bus, workflow_id, self.config.request_timeout_s)
                except RequestError as exc:
                    if exc.code == "unknown_workflow":  # removed between the listing and the request
                        return None
                    raise

        found = [p for p in await asyncio.gather(*(status_of(key) for key in keys)) if p is not None]
        found.sort(key=lambda p: (-p.created_at, p.workflow_id))
        return json_response(WorkflowList(workflows=[views.workflow_summary(p) for p in found[:limit]]))

    async def submit(self, request: web.Request) -> web.Response:
        if request.content_type.startswith("multipart/"):
            submission = await self._submission_from_form(request)
        elif request.content_type == "application/json":
            submission = decode_request(submit_decoder, await request.read())
        else:
            raise RequestError(
                "bad_request",
                f"send the submission as application/json or multipart/form-data, not {request.content_type!r}",
            )
        reply = await self._ask(subjects.SUBMIT, submission, submit_reply_decoder)
        location = f"/api/workflows/{reply.workflow_id}"
        return json_response(reply, status=202, headers={"Location": location})

    async def _submission_from_form(self, request: web.Request) -> SubmitRequest:
        """A multipart form: ``request`` (a submit request as JSON) and/or its fields one by one, plus files.

        The whole form is read and its fields checked before any file is stored.
        """
        fields: dict[str, object] = {}
        files: list[tuple[str, bytes]] = []
        for name, filename, data in await self._form_parts(request):
            if filename is not None:
                if name != "documents":
                    raise RequestError(
                        "bad_request", f"invalid request: a file may only be sent as 'documents', not {name!r}"
                    )
                if data:  # an empty file input of the form sends an empty part
                    files.append((filename, data))
            elif name == "request":
                try:
                    given = msgspec.json.decode(data)
                except msgspec.DecodeError as exc:
                    raise RequestError("bad_request", f"the 'request' field is not valid JSON: {exc}") from None
                if not isinstance(given, dict):
                    raise RequestError("bad_request", "the 'request' field must be a JSON object")
                fields.update(given)
            else:
                fields[name] = _form_value(name, data.decode("utf-8", errors="replace"))
        decode_request(submit_decoder, encode(fields))  # its errors before anything is stored
        if files:
            uploaded = [await self._upload(filename, data) for filename, data in files]
            fields["documents"] = [*cast(list, fields.get("documents", [])), *uploaded]
        return decode_request(submit_decoder, encode(fields))

    async def _form_parts(self, request: web.Request) -> list[tuple[str, str | None, bytes]]:
        """(field name, file name or None, content) of each part, within the upload limit."""
        budget = _Budget(self.config.max_upload_bytes)
        parts = []
        try:
            async for part in await request.multipart():
                if isinstance(part, BodyPartReader) and part.name is not None:
                    parts.append((part.name, part.filename, await budget.read(part)))
        except (ValueError, HttpProcessingError) as exc:
            problem = getattr(exc, "message", None) or str(exc)
            problem = " ".join(problem.split())
            raise RequestError("bad_request", f"the form is not valid multipart/form-data: {problem}") from None
        return parts

    async def _upload(self, filename: str, data: bytes) -> dict:
        name = _safe_file_name(filename)
        object_name = f"{subjects.UPLOAD_PREFIX}{uuid.uuid4().hex}-{name}"
        await self.bus.put_object(subjects.DOCUMENTS_BUCKET, object_name, data)
        return msgspec.to_builtins(DocumentInput(object_name=object_name, name=name))

    async def get_workflow(self, request: web.Request) -> web.Response:
        return json_response(await self._status(request.match_info["workflow_id"]))

    async def cancel(self, request: web.Request) -> web.Response:
        workflow_id = request.match_info["workflow_id"]
        _check_workflow_id(workflow_id)
        body = await request.read()
        reason = decode_request(msgspec.json.Decoder(CancelBody), body).reason if body.strip() else CancelBody().reason
        cancel = CancelRequest(workflow_id=workflow_id, reason=reason)
        progress: WorkflowProgress = await self._ask(subjects.CANCEL, cancel, status_reply_decoder)
        return json_response(progress)

    async def retry(self, request: web.Request) -> web.Response:
        workflow_id = request.match_info["workflow_id"]
        _check_workflow_id(workflow_id)
        retry = RetryRequest(workflow_id=workflow_id, task_id=request.match_info["task_id"])
        progress: WorkflowProgress = await self._ask(subjects.RETRY, retry, status_reply_decoder)
        return json_response(progress)

    async def lineage(self, request: web.Request) -> web.Response:
        """The workflow's state joined with the catalog's chains; ``no_catalog`` (503) when no catalog answers."""
        progress = await self._status(request.match_info["workflow_id"])
        if progress.status in FINAL_STATUSES:
            await catalog_caught_up(self.bus, CATALOG_CATCH_UP_S)
        try:
            recorded = await catalog_lineage(self.bus, progress.workflow_id, self.config.request_timeout_s)
        except RequestError as exc:
            if exc.code != "unknown_workflow":
                raise
            recorded = LineageReply(workflow_id=progress.workflow_id, chains=[])  # no result of it recorded yet
        return json_response(views.lineage(progress, recorded))

    async def trace(self, request: web.Request) -> web.Response:
        return json_response(views.trace(await self._status(request.match_info["workflow_id"])))

    async def trace_export(self, request: web.Request) -> web.Response:
        """The trace as ``gaai trace export`` writes it: a self-contained HTML timeline or Markdown tables."""
        file_format = request.match_info["format"]
        if file_format not in TRACE_EXPORTS:
            exports = ", ".join(f"trace.{name}" for name in TRACE_EXPORTS)
            raise RequestError("unknown_route", f"no trace export {file_format[:40]!r}; exports: {exports}")
        progress = await self._status(request.match_info["workflow_id"])
        text = trace_html(progress) if file_format == "html" else trace_markdown(progress)
        return _file(text.encode(), TRACE_EXPORTS[file_format], f"trace-{progress.workflow_id}.{file_format}", request)

    async def report_file(self, request: web.Request) -> web.Response:
        """One file of one of the workflow's reports; only files the workflow lists are served."""
        progress = await self._status(request.match_info["workflow_id"])
        template_id, file_format = request.match_info["template_id"], request.match_info["format"]
        location = next((r for r in progress.reports if r.template_id == template_id), None)
        if location is None:
            raise RequestError("unknown_report", f"workflow {progress.workflow_id} has no report of {template_id!r}")
        artifact = next((a for a in location.artifacts if a.format == file_format), None)
        if artifact is None:
            formats = ", ".join(a.format for a in location.artifacts) or "none"
            raise RequestError(
                "unknown_report", f"report {template_id} has no {file_format!r} file (formats: {formats})"
            )
        data = await self.bus.get_object(subjects.REPORTS_BUCKET, artifact.object_name)
        if data is None:
            raise RequestError(
                "unknown_report", f"report file {artifact.object_name!r} is no longer in the report store"
            )
        name = artifact.object_name.rsplit("/", 1)[-1]
        return _file(data, MEDIA_TYPES.get(file_format, "application/octet-stream"), name, request)

    async def graphs(self, request: web.Request) -> web.Response:
        infos = await asyncio.to_thread(self.store.list_graphs)
        return json_response(GraphList(graphs=[views.graph_entry(info) for info in infos]))

    async def events(self, request: web.Request) -> web.StreamResponse:
        """Server-Sent Events: a ``status`` snapshot, then each stored and new event with its stream sequence as id.

        ``Last-Event-ID`` (sent by a reconnecting EventSource) or ``?after=`` resumes after that event. The stream
        ends with an ``end`` event once the workflow is finished.
        """
        progress = await self._status(request.match_info["workflow_id"])
        resume = request.headers.get("Last-Event-ID") or request.query.get("after") or "0"
        if not resume.isdigit() or len(resume) > 19:
            raise RequestError(
                "bad_request", f"Last-Event-ID must be an event id (a whole number), got {resume[:40]!r}"
            )
        queue: asyncio.Queue[tuple[int, Event]] = asyncio.Queue()

        async def on_event(sequence: int, event: Event) -> None:
            await queue.put((sequence, event))

        subscription = await self.bus.follow_event_log(progress.workflow_id, on_event, after_sequence=int(resume))
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        )
        try:
            await response.prepare(request)
            await response.write(_sse("status", encode(progress)))
            opened_at, finished = progress.updated_at, progress.status in FINAL_STATUSES
            while True:
                try:
                    sequence, event = await asyncio.wait_for(
                        queue.get(), timeout=SSE_SETTLE_S if finished else SSE_KEEPALIVE_S
                    )
                except TimeoutError:
                    if finished:
                        break
                    await response.write(b": keep-alive\n\n")
                    progress = await self._status(progress.workflow_id)  # a lost final event must not hang us
                    if progress.status in FINAL_STATUSES:
                        await response.write(_sse("status", encode(progress)))
                        break
                    continue
                name = "workflow" if isinstance(event, WorkflowEvent) else "task"
                await response.write(_sse(name, encode(event), sequence))
                # A final event older than the snapshot belongs to a run since retried: the stream goes on.
                if isinstance(event, WorkflowEvent) and event.status in FINAL_STATUSES and event.at >= opened_at:
                    break
            await response.write(_sse("end", b"{}"))
        except ConnectionError:
            pass  # the browser went away
        finally:
            await subscription.close()
        return response

    async def openapi(self, request: web.Request) -> web.Response:
        return web.Response(body=openapi_document(), content_type="application/json")

    async def session(self, request: web.Request) -> web.Response:
        """Check a token and hand it back as an HttpOnly same-site cookie, so the dashboard's EventSource is let in."""
        body = decode_request(msgspec.json.Decoder(SessionBody), await request.read())
        if self.config.token is None:
            raise RequestError("bad_request", "this gateway asks no token")
        address = request.remote or "unknown"
        wait_s = self.wrong_tokens.wait_s(address)
        if wait_s is not None:
            return too_many_attempts(wait_s)
        if not hmac.compare_digest(body.token.encode(), self.config.token.encode()):
            self.wrong_tokens.failed(address)
            raise RequestError("unauthorized", "wrong token")
        response = web.json_response({"ok": True})
        response.set_cookie(TOKEN_COOKIE, body.token, httponly=True, samesite="Strict", path="/", secure=request.secure)
        return response

    async def page(self, request: web.Request) -> web.Response:
        return web.Response(body=(STATIC / "index.html").read_bytes(), content_type="text/html", charset="utf-8")


class _Budget:
    """Multipart parts are streamed, past aiohttp's body limit: this holds them to the gateway's upload limit."""

    def __init__(self, limit: int) -> None:
        self.left = limit
        self.limit = limit

    async def read(self, part: BodyPartReader) -> bytes:
        chunks = []
        while chunk := await part.read_chunk(64 * 1024):
            self.left -= len(chunk)
            if self.left < 0:
                raise RequestError(
                    "too_large", f"the upload is larger than this gateway accepts ({self.limit // (1024 * 1024)} MiB)"
                )
            chunks.append(chunk)
        return b"".join(chunks)


def _file(data: bytes, media_type: str, name: str, request: web.Request) -> web.Response:
    """A file for the browser under the sandboxing policy: shown inline, or downloaded with ``?download=1``."""
    disposition = "attachment" if request.query.get("download") == "1" else "inline"
    return web.Response(
        body=data,
        headers={
            "Content-Type": media_type,
            "Content-Security-Policy": REPORT_CSP,
            "Content-Disposition": f'{disposition}; filename="{_safe_file_name(name)}"',
        },
    )


def _sse(event: str, data: bytes, event_id: int | None = None) -> bytes:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\n".encode() + b"data: " + data + b"\n\n"


_WORKFLOW_ID = re.compile(r"[A-Za-z0-9_\-]{1,64}")


def _check_workflow_id(workflow_id: str) -> None:
    if not _WORKFLOW_ID.fullmatch(workflow_id):
        raise RequestError("unknown_workflow", f"no workflow {workflow_id[:80]!r} (ids are letters, digits, _ and -)")


def _int_query(request: web.Request, name: str, *, default: int, low: int, high: int) -> int:
    text = request.query.get(name)
    if text is None:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise RequestError("bad_request", f"{name} must be a whole number from {low} to {high}, got {text[:40]!r}")
    return int(text)


_FORM_INTEGERS = ("max_executions", "max_concurrency")
_FORM_BOOLEANS = ("enable_parallelism",)
_FORM_LISTS = ("core_collections", "satellite_collections")


def _form_value(name: str, text: str) -> object:
    """A form field as the submit request's JSON has it (numbers, booleans and comma-separated lists)."""
    if name in _FORM_INTEGERS:
        if not text.strip().isdigit():
            raise RequestError("bad_request", f"invalid request: {name} must be a whole number, got {text[:40]!r}")
        return int(text)
    if name in _FORM_BOOLEANS:
        if text.lower() not in ("true", "false", "on", "off", "1", "0"):
            raise RequestError("bad_request", f"invalid request: {name} must be true or false, got {text[:40]!r}")
        return text.lower() in ("true", "on", "1")
    if name in _FORM_LISTS:
        return [item.strip() for item in text.split(",") if item.strip()]
    return text


def _safe_file_name(name: str) -> str:
    base = re.sub(r"[^A-Za-z0-9._-]", "_", name.replace("\\", "/").rsplit("/", 1)[-1]).lstrip(".")
    return base[:200] or "document"


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_PUBLIC = ("/", "/api/openapi.json", "/api/session")


def _middlewares(config: GatewayConfig, wrong_tokens: WrongTokens) -> list:
    @web.middleware
    async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
        """Every failure as the bus's JSON error, never a traceback."""
        try:
            return await handler(request)
        except GaaiError as exc:
            return error_response(exc.code, exc.message, retryable=exc.retryable)
        except web.HTTPRequestEntityTooLarge:
            limit = config.max_upload_bytes // (1024 * 1024)
            return error_response("too_large", f"the request is larger than this gateway accepts ({limit} MiB)")
        except web.HTTPMethodNotAllowed as exc:
            return error_response(
                "unknown_route",
                f"{request.method} is not allowed here; use {', '.join(sorted(exc.allowed_methods))}",
                status=405,
            )
        except web.HTTPNotFound:
            if request.path.startswith("/api/"):
                return error_response("unknown_route", f"no API endpoint at {request.path[:200]}")
            raise
        except HTTPException as exc:
            if exc.status >= 400 and request.path.startswith("/api/"):
                return error_response("bad_request", exc.reason, status=exc.status)
            raise
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("request failed", path=request.path)
            return error_response("internal", "the gateway failed to serve this request; see its log")

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        """The bearer token (header or session cookie) when one is set; no state change from another site."""
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            origin = request.headers.get("Origin")
            if origin is not None and origin != f"{request.scheme}://{request.host}":
                raise RequestError("cross_origin", f"requests from {origin[:100]} may not change anything here")
            if request.headers.get("Sec-Fetch-Site") == "cross-site":
                raise RequestError("cross_origin", "requests from another site may not change anything here")
        if (request.content_length or 0) > config.max_upload_bytes:
            limit = config.max_upload_bytes // (1024 * 1024)
            raise RequestError("too_large", f"the request is larger than this gateway accepts ({limit} MiB)")
        if config.token is not None and request.path.startswith("/api/") and request.path not in _PUBLIC:
            given = request.headers.get("Authorization", "")
            token = given[7:] if given.startswith("Bearer ") else request.cookies.get(TOKEN_COOKIE, "")
            address = request.remote or "unknown"
            wait_s = wrong_tokens.wait_s(address) if token else None
            if wait_s is not None:
                return too_many_attempts(wait_s)
            if not hmac.compare_digest(token.encode(), config.token.encode()):
                if token:  # a request with no token at all guesses nothing
                    wrong_tokens.failed(address)
                raise RequestError(
                    "unauthorized", "send the gateway's token as 'Authorization: Bearer <GAAI_WEB_TOKEN>'"
                )
        return await handler(request)

    @web.middleware
    async def headers(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        response.headers.setdefault("Content-Security-Policy", DASHBOARD_CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    return [headers, errors, guard]


def create_app(bus: Bus, store: GraphStore, config: GatewayConfig = GatewayConfig()) -> web.Application:
    wrong_tokens = WrongTokens()
    gateway = Gateway(bus, store, config, wrong_tokens)
    app = web.Application(middlewares=_middlewares(config, wrong_tokens), client_max_size=config.max_upload_bytes)
    app.router.add_get("/", gateway.page)
    for method, path, handler in api_routes():  # the OpenAPI document is the one list of the API's routes
        if method == "get":
            app.router.add_get(path, getattr(gateway, handler))
        else:
            app.router.add_route(method.upper(), path, getattr(gateway, handler))
    app.router.add_static("/static", str(STATIC))
    return app
