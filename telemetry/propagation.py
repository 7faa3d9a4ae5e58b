"""W3C trace context (``traceparent``) carried in NATS headers on every hop.

A workflow gets one trace id when it is submitted; every message of that workflow
carries it, so whatever records spans later (and Jaeger) can stitch the run together.
"""

from __future__ import annotations

import re
import secrets
from typing import NamedTuple

_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


class TraceContext(NamedTuple):
    trace_id: str
    span_id: str
    flags: str = "01"

    @property
    def header(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-{self.flags}"

    def child(self) -> "TraceContext":
        """Same trace, a new span id: the context a message sent from here carries."""
        return TraceContext(self.trace_id, new_span_id(), self.flags)


def new_trace_id() -> str:
    return secrets.token_hex(16)


def new_span_id() -> str:
    return secrets.token_hex(8)


def new_trace() -> TraceContext:
    return TraceContext(new_trace_id(), new_span_id())


def parse_traceparent(value: str | None) -> TraceContext | None:
    """The context in a ``traceparent`` header, or None when absent or malformed.

    Flags are kept as sent: W3C allows bits beyond ``sampled`` (e.g. ``03``).
    """
    if not value:
        return None
    match = _TRACEPARENT.match(value.strip().lower())
    if not match or match.group(1) == "ff" or set(match.group(2)) == {"0"} or set(match.group(3)) == {"0"}:
        return None
    return TraceContext(match.group(2), match.group(3), match.group(4))
