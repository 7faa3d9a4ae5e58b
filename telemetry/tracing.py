"""OpenTelemetry for every process: provider setup from the standard variables, and spans
that follow the messaging conventions across NATS hops.

One trace per workflow. Its trace id is chosen at submission and kept in the workflow
state; the root span and one span per phase get span ids derived from it, so any process
(and a restarted orchestrator) can parent spans under them before they are recorded.
The orchestrator records the root and phase spans, with their real start and end times,
when the workflow finishes.

    workflow <graph>                               (orchestrator, root)
      phase <name>                                 (orchestrator)
        send gaai.task.<agent>        PRODUCER     (orchestrator)
          process gaai.task.<agent>   CONSUMER     (agent; parent from traceparent)
            chat <model> / parse document / load graph / run <algorithm> / write results
            send gaai.result.<agent>  PRODUCER     (agent)
              process gaai.result.<agent> CONSUMER (orchestrator, and the catalog)

Configuration is the standard one: ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``), ``OTEL_EXPORTER_OTLP_PROTOCOL`` (``http/protobuf``
or ``grpc``), ``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_TRACES_SAMPLER``,
``OTEL_BSP_*``. With no endpoint nothing is exported, and unless ``OTEL_TRACES_SAMPLER``
says otherwise nothing is recorded either: no span is even started, and a message's
handler runs in the context of its sender's span, so the workflow's trace id still
reaches log lines and ``traceparent`` headers. Give every process of a system the same
exporter settings: a process that records nothing passes its sender's context on
unchanged, so its own steps are missing from the trace.
"""

from __future__ import annotations

import contextvars
import functools
import hashlib
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_propagator = TraceContextTextMapPropagator()
_forced_ids: contextvars.ContextVar[tuple[int | None, int | None]] = contextvars.ContextVar(
    "gaai_forced_ids", default=(None, None)
)
_provider: TracerProvider | None = None
# False once setup_tracing has chosen to record nothing: spans are then not started at all
# (starting an unsampled one cost 12–24 µs, about 4 % of a no-op workflow's CPU).
_starting_spans = True

TRACER_NAME = "graph_analytics_ai"


class _WorkflowIdGenerator(IdGenerator):
    """Random ids, except where a workflow's root or phase span needs its derived id."""

    def __init__(self) -> None:
        self._random = RandomIdGenerator()

    def generate_trace_id(self) -> int:
        forced = _forced_ids.get()[0]
        return forced if forced is not None else self._random.generate_trace_id()

    def generate_span_id(self) -> int:
        forced = _forced_ids.get()[1]
        return forced if forced is not None else self._random.generate_span_id()


def setup_tracing(service_name: str, instance_id: str) -> TracerProvider:
    """Install the process's tracer provider (once); exports only when an endpoint is configured."""
    global _provider, _starting_spans
    if _provider is not None:
        return _provider
    resource = Resource.create({"service.name": service_name, "service.instance.id": instance_id})
    # Resource.create already merged OTEL_RESOURCE_ATTRIBUTES; OTEL_SERVICE_NAME wins over ours.
    if os.environ.get("OTEL_SERVICE_NAME"):
        resource = resource.merge(Resource({"service.name": os.environ["OTEL_SERVICE_NAME"]}))
    exporter = _exporter_from_env()
    sampler = None  # the SDK reads OTEL_TRACES_SAMPLER
    if exporter is None and not os.environ.get("OTEL_TRACES_SAMPLER"):
        # Nothing leaves the process, so recorded spans would only cost CPU (measured: about
        # 15 % of a busy orchestrator). The few spans still started (record_span, a
        # workflow's root and phase spans) are dropped by this sampler.
        sampler = ALWAYS_OFF
        _starting_spans = False
    provider = TracerProvider(resource=resource, id_generator=_WorkflowIdGenerator(), sampler=sampler)
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    _provider = provider
    return provider


def shutdown_tracing() -> None:
    """Flush and stop the exporter; call before the process exits."""
    if _provider is not None:
        _provider.shutdown()


class ExporterUnavailable(ValueError):
    """The configured OTLP protocol cannot be used: an unknown one, or grpc without its exporter installed."""


def _exporter_from_env():
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if not endpoint:
        return None
    traces_protocol = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
    variable = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL" if traces_protocol else "OTEL_EXPORTER_OTLP_PROTOCOL"
    protocol = traces_protocol or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "http/protobuf"
    if protocol == "grpc":
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
        except ImportError:
            # An extra, not a dependency: grpc is 19 MB of the container image that http/protobuf does without.
            raise ExporterUnavailable(
                f"{variable}=grpc needs the grpc exporter: pip install 'graph-analytics-ai[grpc]', "
                "or use http/protobuf (the default)"
            ) from None
        return GrpcExporter()
    if protocol != "http/protobuf":
        raise ExporterUnavailable(f"{variable}={protocol!r}: expected http/protobuf (the default) or grpc")
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

    return HttpExporter()


@functools.cache
def tracer() -> trace.Tracer:
    # Looked up once: a lookup per span cost ~6 % of the orchestrator's CPU. A tracer
    # taken before setup_tracing is a proxy that follows the provider installed later.
    return trace.get_tracer(TRACER_NAME)


def derived_span_id(trace_id: str, name: str) -> int:
    """A stable span id for a workflow's root (``name="root"``) or one of its phases."""
    digest = hashlib.sha256(f"{trace_id}/{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") or 1


def workflow_context(trace_id: str, span_name: str = "root") -> otel_context.Context:
    """A context whose parent is the workflow's root or phase span, recorded or not yet."""
    parent = SpanContext(
        trace_id=int(trace_id, 16),
        span_id=derived_span_id(trace_id, span_name),
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    return trace.set_span_in_context(NonRecordingSpan(parent))


def record_derived_span(
    trace_id: str,
    name: str,
    span_name: str,
    start: float,
    end: float,
    attributes: Mapping[str, object],
    parent: str | None,
    error: str | None = None,
) -> None:
    """Record a root (``parent=None``) or phase span with its derived id and real times."""
    context = workflow_context(trace_id, parent) if parent else otel_context.Context()
    token = _forced_ids.set((int(trace_id, 16), derived_span_id(trace_id, span_name)))
    try:
        span = tracer().start_span(name, context=context, start_time=int(start * 1e9), attributes=dict(attributes))
    finally:
        _forced_ids.reset(token)
    if error:
        span.set_status(Status(StatusCode.ERROR, error))
    span.end(end_time=int(end * 1e9))


def inject(headers: dict[str, str]) -> dict[str, str]:
    """Put the current span's ``traceparent`` into NATS headers."""
    _propagator.inject(headers)
    return headers


def extract(headers: Mapping[str, str] | None) -> otel_context.Context:
    return _propagator.extract(dict(headers or {}))


def messaging_attributes(
    subject: str, operation: str, message_id: str, body_size: int, consumer_group: str | None = None
) -> dict[str, object]:
    attributes: dict[str, object] = {
        "messaging.system": "nats",
        "messaging.destination.name": subject,
        "messaging.operation.name": operation,
        "messaging.operation.type": "send" if operation == "send" else "process",
        "messaging.message.id": message_id,
        "messaging.message.body.size": body_size,
    }
    if consumer_group:
        attributes["messaging.consumer.group.name"] = consumer_group
    return attributes


@contextmanager
def producer_span(
    subject: str,
    message_id: str,
    body_size: int,
    headers: dict[str, str],
    *,
    context: otel_context.Context | None = None,
    links: list[Link] | None = None,
) -> Iterator[trace.Span]:
    """A ``send <subject>`` PRODUCER span; its context goes into ``headers``."""
    if not _starting_spans:
        _propagator.inject(headers, context=context)
        yield trace.get_current_span(context)
        return
    with tracer().start_as_current_span(
        f"send {subject}",
        context=context,
        kind=SpanKind.PRODUCER,
        attributes=messaging_attributes(subject, "send", message_id, body_size),
        links=links,
    ) as span:
        inject(headers)
        yield span


@contextmanager
def consumer_span(
    subject: str,
    headers: Mapping[str, str] | None,
    message_id: str,
    body_size: int,
    consumer_group: str,
    attributes: Mapping[str, object] | None = None,
) -> Iterator[trace.Span]:
    """A ``process <subject>`` CONSUMER span whose parent comes from the message's ``traceparent``."""
    if not _starting_spans:
        with _within(extract(headers)):
            yield trace.get_current_span()
        return
    attrs = messaging_attributes(subject, "process", message_id, body_size, consumer_group)
    attrs.update(attributes or {})
    with tracer().start_as_current_span(
        f"process {subject}", context=extract(headers), kind=SpanKind.CONSUMER, attributes=attrs
    ) as span:
        yield span


@contextmanager
def _within(context: otel_context.Context) -> Iterator[None]:
    token = otel_context.attach(context)
    try:
        yield
    finally:
        otel_context.detach(token)


def current_ids() -> tuple[str, str]:
    """Trace and span id of the current span, as hex, for log lines."""
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return "", ""
    return f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}"


def current_link() -> list[Link]:
    ctx = trace.get_current_span().get_span_context()
    return [Link(ctx)] if ctx.is_valid else []


@contextmanager
def span(name: str, **attributes: object) -> Iterator[trace.Span]:
    """An internal span around a piece of an agent's work; exceptions mark it failed."""
    if not _starting_spans:
        yield trace.get_current_span()
        return
    with tracer().start_as_current_span(
        name, attributes={k: v for k, v in attributes.items() if v is not None}
    ) as current:
        yield current


def record_span(name: str, start: float, end: float, **attributes: object) -> None:
    """A span for work timed elsewhere (e.g. in a worker process), as a child of the current span."""
    recorded = tracer().start_span(
        name, start_time=int(start * 1e9), attributes={k: v for k, v in attributes.items() if v is not None}
    )
    recorded.end(end_time=int(end * 1e9))
