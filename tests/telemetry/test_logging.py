"""Log lines: JSON off a terminal, with the task's ids on every line logged while it runs."""

from __future__ import annotations

import io
import json

import structlog

from gaai.telemetry.logging import bind_task, setup_logging, unbind_task


def test_lines_inside_a_task_carry_its_ids():
    """workflow_id, task_id, trace_id and span_id appear on each line until unbound."""
    stream = io.StringIO()
    setup_logging("gaai-test", stream=stream)
    try:
        log = structlog.get_logger("t")
        bind_task(workflow_id="wf-1", task_id="wf-1.schema", attempt=2, trace_id="a" * 32, span_id="b" * 16)
        log.info("working", rows=3)
        unbind_task()
        log.info("idle")
    finally:
        structlog.reset_defaults()
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["event"] == "working" and first["service"] == "gaai-test" and first["rows"] == 3
    assert (first["workflow_id"], first["task_id"], first["trace_id"], first["span_id"]) == (
        "wf-1",
        "wf-1.schema",
        "a" * 32,
        "b" * 16,
    )
    assert "workflow_id" not in second and second["level"] == "info"
