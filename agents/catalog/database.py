"""The analytics catalog's SQLite file: one row per workflow run, its entities and their lineage.

``epochs`` (one row per workflow run), ``entities`` (requirements, use cases, templates,
executions, reports…) and ``lineage`` (parent → child links). Every write is an upsert
keyed on the workflow and entity ids, so a redelivered result records nothing twice.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import msgspec

from gaai.bus.contract import (
    ExecutionResult,
    ReportResult,
    RequirementsResult,
    SchemaResult,
    TaskResult,
    TemplatesResult,
    UseCasesResult,
    VerticalResult,
)
from gaai.bus.domain import RequirementCoverage

_SCHEMA = """
CREATE TABLE IF NOT EXISTS epochs (
    workflow_id TEXT PRIMARY KEY, epoch REAL NOT NULL, graph_name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entities (
    workflow_id TEXT NOT NULL, entity_id TEXT NOT NULL, kind TEXT NOT NULL,
    title TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (workflow_id, entity_id));
CREATE TABLE IF NOT EXISTS lineage (
    workflow_id TEXT NOT NULL, parent TEXT NOT NULL, child TEXT NOT NULL,
    PRIMARY KEY (workflow_id, parent, child));
"""


@dataclass(frozen=True)
class CatalogEntry:
    """One step's output as the catalog records it."""

    workflow_id: str
    epoch: float
    graph_name: str
    result: TaskResult


@dataclass(frozen=True)
class Entity:
    entity_id: str
    kind: str
    title: str
    data: dict
    parents: tuple[str, ...] = ()


def entities_of(entry: CatalogEntry) -> list[Entity]:
    """The catalog entities one step's result stands for, with their parent links."""
    result = entry.result
    if isinstance(result, VerticalResult):
        v = result.vertical
        data = {"source": v.source, "score": v.score, "matched_terms": v.matched_terms, "reason": v.reason}
        return [Entity(f"vertical:{v.name}", "vertical", v.display_name, data)]
    if isinstance(result, SchemaResult):
        s = result.schema
        return [
            Entity(
                f"schema:{s.graph_name}",
                "schema",
                f"Schema of {s.graph_name}",
                {"vertices": s.total_vertices, "edges": s.total_edges},
            )
        ]
    if isinstance(result, RequirementsResult):
        doc = result.requirements
        found = [
            Entity(f"requirement:{r.id}", "requirement", r.text, {"priority": r.priority, "source": r.source})
            for r in doc.requirements
        ]
        return found + [Entity(f"objective:{o.id}", "objective", o.text, {"source": o.source}) for o in doc.objectives]
    if isinstance(result, UseCasesResult):
        return [
            Entity(
                f"use_case:{u.id}",
                "use_case",
                u.title,
                {"algorithm": u.algorithm},
                tuple(f"requirement:{r}" for r in u.requirement_ids),
            )
            for u in result.use_cases
        ]
    if isinstance(result, TemplatesResult):
        templates = [
            Entity(
                f"template:{t.id}",
                "template",
                t.title,
                {"algorithm": t.algorithm, "params": t.params},
                tuple(f"use_case:{u}" for u in t.use_case_ids or [t.use_case_id]),
            )
            for t in result.templates
        ]
        return templates + [
            Entity(f"coverage:{c.requirement_id}", "coverage", c.text, {"position": position, **msgspec.to_builtins(c)})
            for position, c in enumerate(result.coverage)
        ]
    if isinstance(result, ExecutionResult):
        s = result.summary
        data = {"algorithm": s.algorithm, "result_ref": s.result_ref, "vertices": s.vertex_count, "edges": s.edge_count}
        return [
            Entity(
                f"execution:{s.execution_id}",
                "execution",
                f"{s.algorithm} on {s.graph_name}",
                data,
                (f"template:{s.template_id}",),
            )
        ]
    if isinstance(result, ReportResult):
        r = result.report
        data = {"artifacts": [a.object_name for a in r.artifacts], "insights": len(r.insights)}
        return [Entity(f"report:{r.report_id}", "report", r.title, data, (f"execution:{r.execution_id}",))]
    return []


class Catalog:
    """The SQLite catalog, safe for several processes (WAL, busy timeout)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._writer: sqlite3.Connection | None = None
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def record(self, entries: list[CatalogEntry]) -> list[int]:
        """Upsert the entities of ``entries`` in one transaction; returns how many each stood for."""
        if self._writer is None:  # one connection for every write of this process
            self._writer = self._connect()
            # WAL without an fsync per commit (synced at checkpoints): a commit per result
            # with fsync blocked the agent's event loop for most of its time. A power cut
            # may lose the last entries, like nats-server's own default sync interval.
            self._writer.execute("PRAGMA synchronous=NORMAL")
        counts = []
        with self._writer as db:
            for entry in entries:
                entities = entities_of(entry)
                db.execute(
                    "INSERT OR IGNORE INTO epochs VALUES (?, ?, ?)",
                    (entry.workflow_id, entry.epoch, entry.graph_name),
                )
                db.executemany(
                    "INSERT OR REPLACE INTO entities VALUES (?, ?, ?, ?, ?)",
                    [
                        (
                            entry.workflow_id,
                            e.entity_id,
                            e.kind,
                            e.title,
                            json.dumps(e.data, sort_keys=True, default=str),
                        )
                        for e in entities
                    ],
                )
                db.executemany(
                    "INSERT OR IGNORE INTO lineage VALUES (?, ?, ?)",
                    [(entry.workflow_id, parent, e.entity_id) for e in entities for parent in e.parents],
                )
                counts.append(len(entities))
        return counts

    def lineage(self, workflow_id: str) -> list[list[tuple[str, str]]]:
        """Every chain from a requirement down to a report (or as far as it got).

        Each chain is a list of ``(entity_id, title)``; requirements and objectives
        without use cases form one-element chains, so gaps in coverage show. A use case
        records every id it serves as ``requirement:<id>``; an objective's is read as its own.
        """
        with self._connect() as db:
            titles = dict(
                db.execute("SELECT entity_id, title FROM entities WHERE workflow_id = ?", (workflow_id,)).fetchall()
            )
            links: dict[str, list[str]] = {}
            for parent, child in db.execute(
                "SELECT parent, child FROM lineage WHERE workflow_id = ? ORDER BY child", (workflow_id,)
            ):
                objective = f"objective:{parent.partition(':')[2]}"
                if parent.startswith("requirement:") and parent not in titles and objective in titles:
                    parent = objective
                links.setdefault(parent, []).append(child)
        chains: list[list[tuple[str, str]]] = []

        def walk(node: str, path: list[tuple[str, str]]) -> None:
            path = [*path, (node, titles.get(node, ""))]
            children = links.get(node, [])
            if not children:
                chains.append(path)
            for child in children:
                walk(child, path)

        for root in sorted(e for e in titles if e.startswith("requirement:")):
            walk(root, [])
        for root in sorted(e for e in titles if e.startswith("objective:")):
            walk(root, [])
        return chains

    def coverage(self, workflow_id: str) -> list[RequirementCoverage]:
        """What became of each requirement and objective, as the templates agent accounted for it, in its order."""
        with self._connect() as db:
            query = "SELECT data FROM entities WHERE workflow_id = ? AND kind = 'coverage'"
            rows = db.execute(query, (workflow_id,)).fetchall()
        recorded = [json.loads(data) for (data,) in rows]
        recorded.sort(key=lambda item: item.pop("position"))
        return [msgspec.convert(item, RequirementCoverage) for item in recorded]

    def has_workflow(self, workflow_id: str) -> bool:
        with self._connect() as db:
            return db.execute("SELECT 1 FROM epochs WHERE workflow_id = ?", (workflow_id,)).fetchone() is not None

    def counts(self, workflow_id: str) -> dict[str, int]:
        with self._connect() as db:
            rows = db.execute("SELECT kind, count(*) FROM entities WHERE workflow_id = ? GROUP BY kind", (workflow_id,))
            return dict(rows.fetchall())


def catalog_path(home: Path) -> Path:
    return home / "catalog.sqlite"
