"""Process configuration, read from the environment once in each ``__main__``."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec

from gaai.bus.errors import GaaiError

DEFAULT_REQUEST_TIMEOUT_S = 10.0
MAX_REPLICAS = 5


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """What every gaai process needs to know. Built once and passed down explicitly."""

    nats_url: str = "nats://127.0.0.1:4222"
    home: Path | None = None
    documents_root: Path | None = None
    ack_wait_s: float = 30.0
    max_deliver: int = 5
    concurrency: int = 8
    request_timeout_s: float = DEFAULT_REQUEST_TIMEOUT_S
    task_timeout_s: float | None = None
    running_event_after_s: float = 0.2
    cpu_workers: int | None = None
    health_file: Path | None = None
    health_interval_s: float = 5.0
    connect_wait_s: float = 10.0
    """How long a process waits for its first NATS connection before it gives up (``nats_unavailable``)."""
    replicas: int | None = None
    """JetStream copies of every stream and bucket; None: new ones get 1, existing ones are left as they are."""
    nats_user: str | None = None
    nats_password: str | None = None
    nats_token: str | None = None
    nats_creds: Path | None = None
    nats_nkey_seed: Path | None = None
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """``NATS_URL``, ``GAAI_HOME``, ``GAAI_DOCUMENTS_ROOT``, ``GAAI_CONCURRENCY``,
        ``GAAI_MAX_DELIVER``, ``GAAI_ACK_WAIT_S``, ``GAAI_TASK_TIMEOUT_S``, ``GAAI_REQUEST_TIMEOUT_S``,
        ``GAAI_RUNNING_EVENT_AFTER_S``, ``GAAI_CPU_WORKERS``,
        ``GAAI_HEALTH_FILE``, ``GAAI_HEALTH_INTERVAL_S``, ``GAAI_CONNECT_WAIT_S``, ``GAAI_REPLICAS``, and the NATS
        credentials: ``NATS_USER`` +
        ``NATS_PASSWORD``, ``NATS_TOKEN``, ``NATS_CREDS`` (a creds file), ``NATS_NKEY`` (a seed
        file), ``NATS_CA`` / ``NATS_CERT`` / ``NATS_KEY`` (TLS); keywords win.

        Raises:
            GaaiError: ``bad_setting`` when a variable does not hold what it must.
        """
        # Each value has the type of its field: parse_setting made it with the field's kind.
        env: dict[str, Any] = {
            field: parse_setting(variable, kind, os.environ[variable])
            for field, variable, kind in _ENVIRONMENT
            if os.environ.get(variable)
        }
        env.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**env)


_ENVIRONMENT = (
    ("nats_url", "NATS_URL", str),
    ("home", "GAAI_HOME", Path),
    ("documents_root", "GAAI_DOCUMENTS_ROOT", Path),
    ("concurrency", "GAAI_CONCURRENCY", int),
    ("max_deliver", "GAAI_MAX_DELIVER", int),
    ("ack_wait_s", "GAAI_ACK_WAIT_S", float),
    ("task_timeout_s", "GAAI_TASK_TIMEOUT_S", float),
    ("request_timeout_s", "GAAI_REQUEST_TIMEOUT_S", float),
    ("running_event_after_s", "GAAI_RUNNING_EVENT_AFTER_S", float),
    ("cpu_workers", "GAAI_CPU_WORKERS", int),
    ("health_file", "GAAI_HEALTH_FILE", Path),
    ("health_interval_s", "GAAI_HEALTH_INTERVAL_S", float),
    ("connect_wait_s", "GAAI_CONNECT_WAIT_S", float),
    ("replicas", "GAAI_REPLICAS", int),
    ("nats_user", "NATS_USER", str),
    ("nats_password", "NATS_PASSWORD", str),
    ("nats_token", "NATS_TOKEN", str),
    ("nats_creds", "NATS_CREDS", Path),
    ("nats_nkey_seed", "NATS_NKEY", Path),
    ("tls_ca", "NATS_CA", Path),
    ("tls_cert", "NATS_CERT", Path),
    ("tls_key", "NATS_KEY", Path),
)

# Counts and durations must be positive; only the running-event delay may be zero (announce at once).
_ZERO_ALLOWED = {"GAAI_RUNNING_EVENT_AFTER_S", "GAAI_LLM_TEMPERATURE", "GAAI_LLM_SEED"}


_NATS_SCHEMES = ("nats", "tls", "ws", "wss")


def nats_servers(url: str) -> list[str]:
    """The servers of ``NATS_URL``: one URL or a comma-separated list (the nats convention); nats-py tries them in
    random order, spreading clients over a cluster, and adds the servers the cluster announces.

    Raises:
        GaaiError: ``bad_setting`` naming ``NATS_URL`` and the item that is not a NATS server URL.
    """
    servers = [item.strip() for item in url.split(",")]
    for server in servers:
        problem = _nats_url_problem(server)
        if problem:
            raise GaaiError("bad_setting", f"NATS_URL={url!r}: {problem}")
    if len({server.split(":", 1)[0] in ("ws", "wss") for server in servers}) > 1:
        raise GaaiError("bad_setting", f"NATS_URL={url!r}: websocket (ws, wss) and nats/tls URLs cannot be mixed")
    return servers


def _nats_url_problem(server: str) -> str | None:
    if not server:
        return "an empty server in the list (expected nats://host:port, comma-separated)"
    parsed = urlsplit(server)
    if parsed.scheme not in _NATS_SCHEMES:
        return f"{server!r} has no known scheme (expected one of {', '.join(_NATS_SCHEMES)}, as in nats://host:4222)"
    try:
        parsed.port  # noqa: B018 (raises on a port that is not a number in 0-65535)
    except ValueError:
        return f"{server!r} has a port that is not a number in 0-65535"
    if not parsed.hostname:
        return f"{server!r} names no host"
    return None


def parse_setting(variable: str, kind: type, text: str) -> object:
    """``text``, the value of ``variable``, as ``kind``; numbers must be finite and positive (or zero where allowed).

    Raises:
        GaaiError: ``bad_setting``, naming the variable and what it must hold.
    """
    if variable == "NATS_URL":
        nats_servers(text)
        return text
    if kind not in (int, float):
        return kind(text)
    zero_allowed = variable in _ZERO_ALLOWED
    expected = f"{'a whole number' if kind is int else 'a number'} {'>= 0' if zero_allowed else '> 0'}"
    problem = GaaiError("bad_setting", f"{variable}={text!r}: expected {expected}")
    try:
        value = kind(text)
    except ValueError:
        raise problem from None
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero_allowed):
        raise problem
    if variable == "GAAI_REPLICAS" and value > MAX_REPLICAS:
        raise GaaiError("bad_setting", f"{variable}={text!r}: JetStream keeps at most {MAX_REPLICAS} replicas")
    return value
