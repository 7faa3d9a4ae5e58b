"""Least-privilege NATS permissions for each process, as a nats-server configuration.

``python -m gaai.bus.security --password-env`` prints an ``authorization`` block in which
every agent may only take its own tasks, publish its own results, events and dead
letters, and read what its work needs (the cancellation bucket; documents for the
vertical and requirements agents; the reports bucket for the reporting agent); the
catalog may only follow the results stream, ask for workflow status and answer
lineage requests. The orchestrator administers the streams; a ``client`` user may
submit and follow workflows and ask their lineage, and the ``web`` user (the web
gateway) may too, and list them. Passwords come
from environment variables named in the file (``$GAAI_PASSWORD_<NAME>``), so the file
itself holds no secret.
"""

from __future__ import annotations

import argparse
import sys

from gaai.bus import subjects
from gaai.bus.contract import AGENT_NAMES

_READS_DOCUMENTS = {"vertical", "requirements"}
_WRITES_REPORTS = {"reporting"}


def _stream_reads(stream: str) -> list[str]:
    """Reading single messages of a stream (KV get, object info) and streaming its chunks."""
    return [
        "$JS.API.STREAM.NAMES",
        f"$JS.API.STREAM.MSG.GET.{stream}",
        f"$JS.API.DIRECT.GET.{stream}",
        f"$JS.API.DIRECT.GET.{stream}.>",
        f"$JS.API.CONSUMER.CREATE.{stream}",
        f"$JS.API.CONSUMER.CREATE.{stream}.>",
        f"$JS.API.CONSUMER.DELETE.{stream}.>",
        f"$JS.API.CONSUMER.INFO.{stream}.>",
    ]


def _consuming(stream: str, consumer: str) -> list[str]:
    """Creating, reading and pulling from one durable consumer, and acknowledging its messages."""
    return [
        f"$JS.API.CONSUMER.INFO.{stream}.{consumer}",
        f"$JS.API.CONSUMER.CREATE.{stream}.{consumer}",
        f"$JS.API.CONSUMER.CREATE.{stream}.{consumer}.>",
        f"$JS.API.CONSUMER.DURABLE.CREATE.{stream}.{consumer}",
        f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}",
        f"$JS.ACK.{stream}.{consumer}.>",
    ]


def agent_permissions(agent: str) -> dict[str, list[str]]:
    if agent == "catalog":
        # Follows the results stream, asks each workflow's status once and answers lineage requests (replies go to
        # the asker's inbox); sends nothing else.
        publish = [
            subjects.STATUS,
            "_INBOX.>",
            "$JS.API.INFO",
            "$JS.API.STREAM.INFO.*",
            *_consuming(subjects.RESULTS_STREAM, subjects.CATALOG_CONSUMER),
        ]
        return {"publish": publish, "subscribe": ["_INBOX.>", subjects.CATALOG_LINEAGE]}
    publish = [
        subjects.result_subject(agent),
        subjects.dlq_subject(agent),
        "gaai.event.*",
        "$JS.API.INFO",
        "$JS.API.STREAM.INFO.*",
        *_consuming(subjects.TASKS_STREAM, subjects.agent_consumer(agent)),
        *_stream_reads(f"KV_{subjects.CANCELLATIONS_BUCKET}"),
    ]
    if agent in _READS_DOCUMENTS:
        publish += _stream_reads(f"OBJ_{subjects.DOCUMENTS_BUCKET}")
    if agent in _WRITES_REPORTS:
        publish += [
            f"$O.{subjects.REPORTS_BUCKET}.>",
            f"$JS.API.STREAM.PURGE.OBJ_{subjects.REPORTS_BUCKET}",
            *_stream_reads(f"OBJ_{subjects.REPORTS_BUCKET}"),
        ]
    return {"publish": publish, "subscribe": ["_INBOX.>"]}


CLIENT_PERMISSIONS = {
    "publish": [
        "gaai.workflow.*",
        subjects.CATALOG_LINEAGE,
        f"$O.{subjects.DOCUMENTS_BUCKET}.>",
        "$JS.API.INFO",
        "$JS.API.STREAM.INFO.*",
        f"$JS.API.STREAM.PURGE.OBJ_{subjects.DOCUMENTS_BUCKET}",
        *_stream_reads(f"OBJ_{subjects.DOCUMENTS_BUCKET}"),
        *_stream_reads(f"OBJ_{subjects.REPORTS_BUCKET}"),
        *_stream_reads(subjects.EVENTS_STREAM),
        *_stream_reads(subjects.DLQ_STREAM),
        f"$JS.API.STREAM.MSG.DELETE.{subjects.DLQ_STREAM}",
        f"$JS.API.CONSUMER.INFO.{subjects.RESULTS_STREAM}.{subjects.CATALOG_CONSUMER}",
    ],
    "subscribe": ["_INBOX.>", "gaai.event.*"],
}

WEB_PERMISSIONS = {
    # The web gateway: the client's requests and uploads, plus listing workflows (the workflows bucket's keys) and
    # waiting for the catalog to catch up with a finished workflow before asking its lineage.
    "publish": [
        "gaai.workflow.*",
        subjects.CATALOG_LINEAGE,
        f"$O.{subjects.DOCUMENTS_BUCKET}.>",
        "$JS.API.INFO",
        "$JS.API.STREAM.INFO.*",
        f"$JS.API.STREAM.PURGE.OBJ_{subjects.DOCUMENTS_BUCKET}",
        *_stream_reads(f"OBJ_{subjects.DOCUMENTS_BUCKET}"),
        *_stream_reads(f"OBJ_{subjects.REPORTS_BUCKET}"),
        *_stream_reads(subjects.EVENTS_STREAM),
        *_stream_reads(f"KV_{subjects.WORKFLOWS_BUCKET}"),
        f"$JS.API.CONSUMER.INFO.{subjects.RESULTS_STREAM}.{subjects.CATALOG_CONSUMER}",
    ],
    "subscribe": ["_INBOX.>"],
}

ORCHESTRATOR_PERMISSIONS = {"publish": [">"], "subscribe": [">"]}


def _list(items: list[str]) -> str:
    return "[" + ", ".join(f'"{item}"' for item in items) + "]"


def authorization_block() -> str:
    """The ``authorization { users = [...] }`` block for every process kind."""
    users = [("orchestrator", ORCHESTRATOR_PERMISSIONS), ("client", CLIENT_PERMISSIONS), ("web", WEB_PERMISSIONS)]
    users += [(agent, agent_permissions(agent)) for agent in AGENT_NAMES]
    lines = ["authorization {", "  users = ["]
    for name, permissions in users:
        lines.append(f'    {{user: "{name}", password: $GAAI_PASSWORD_{name.upper()},')
        lines.append(f"     permissions: {{publish: {_list(permissions['publish'])},")
        lines.append(f"                   subscribe: {_list(permissions['subscribe'])}}}}}")
    lines += ["  ]", "}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gaai.bus.security", description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    sys.stdout.write("# Generated by `python -m gaai.bus.security`; passwords come from $GAAI_PASSWORD_<USER>.\n")
    sys.stdout.write(authorization_block())
    return 0


if __name__ == "__main__":
    sys.exit(main())
