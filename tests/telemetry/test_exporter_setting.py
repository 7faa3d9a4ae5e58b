"""An OTLP protocol a process cannot use stops it at start with exit 2 and one line naming the variable: an unknown
value, or grpc where its exporter (the ``grpc`` extra) is not installed."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

# The vertical agent as `python -m gaai.agents.vertical` runs it, with the grpc exporter made unimportable the way
# an install without the extra leaves it.
WITHOUT_GRPC = (
    "import runpy, sys; sys.modules['opentelemetry.exporter.otlp.proto.grpc'] = None; "
    "runpy.run_module('gaai.agents.vertical', run_name='__main__')"
)


def start(argv: list[str], home, **otel: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, GAAI_HOME=str(home), NATS_URL="nats://127.0.0.1:1", GAAI_CONNECT_WAIT_S="1", **otel)
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json", "OTEL_EXPORTER_OTLP_PROTOCOL='http/json': expected http/protobuf"),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "udp", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL='udp': expected"),
    ],
)
def test_an_unknown_protocol_stops_the_process_naming_the_variable(home, variable, value, message):
    ended = start(
        [sys.executable, "-m", "gaai.agents.vertical"],
        home,
        OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:4318",
        **{variable: value},
    )
    assert ended.returncode == 2
    [line] = ended.stderr.strip().splitlines()
    assert line.startswith("gaai-vertical: ") and message in line and line.endswith("[bad_setting]")


def test_grpc_without_its_exporter_says_which_extra_to_install(home):
    ended = start(
        [sys.executable, "-c", WITHOUT_GRPC],
        home,
        OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:4317",
        OTEL_EXPORTER_OTLP_PROTOCOL="grpc",
    )
    assert ended.returncode == 2
    [line] = ended.stderr.strip().splitlines()
    assert "OTEL_EXPORTER_OTLP_PROTOCOL=grpc needs the grpc exporter" in line
    assert "graph-analytics-ai[grpc]" in line


def test_grpc_with_its_exporter_installed_starts_and_waits_for_nats(home):
    """The same start with the exporter present gets past tracing to the NATS connection (refused here)."""
    ended = start(
        [sys.executable, "-m", "gaai.agents.vertical"],
        home,
        OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:4317",
        OTEL_EXPORTER_OTLP_PROTOCOL="grpc",
    )
    assert ended.returncode == 2
    assert "cannot connect to NATS" in ended.stderr and "grpc" not in ended.stderr
