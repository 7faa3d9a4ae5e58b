"""Analytics catalog agent: records each workflow's epoch, steps and lineage.

The catalog is a SQLite file (``<GAAI_HOME>/catalog.sqlite``) any SQL tool can open:
``epochs`` (one row per workflow run), ``entities`` (requirements, use cases, templates,
executions, reports…) and ``lineage`` (parent → child links). Every write is an upsert
keyed on the workflow and entity ids, so a redelivered task records nothing twice.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from bus.contract import (
    CatalogEntry,
    CatalogResult,
    CatalogTask,
    ExecutionResult,
    ReportResult,
    RequirementsResult,
    SchemaResult,
    TemplatesResult,
    UseCasesResult,
    VerticalResult,
)
from telemetry.tracing import span

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
        return [Entity(f"vertical:{v.name}", "vertical", v.display_name, {"source": v.source, "score": v.score})]
    if isinstance(result, SchemaResult):
        s = result.schema
        return [Entity(f"schema:{s.graph_name}", "schema", f"Schema of {s.graph_name}", {"vertices": s.total_vertices, "edges": s.total_edges})]
    if isinstance(result, RequirementsResult):
        doc = result.requirements
        found = [Entity(f"requirement:{r.id}", "requirement", r.text, {"priority": r.priority, "source": r.source}) for r in doc.requirements]
        return found + [Entity(f"objective:{o.id}", "objective", o.text, {"source": o.source}) for o in doc.objectives]
    if isinstance(result, UseCasesResult):
        return [
            Entity(f"use_case:{u.id}", "use_case", u.title, {"algorithm": u.algorithm}, tuple(f"requirement:{r}" for r in u.requirement_ids))
            for u in result.use_cases
        ]
    if isinstance(result, TemplatesResult):
        return [
            Entity(f"template:{t.id}", "template", t.title, {"algorithm": t.algorithm, "params": t.params}, (f"use_case:{t.use_case_id}",))
            for t in result.templates
        ]
    if isinstance(result, ExecutionResult):
        s = result.summary
        data = {"algorithm": s.algorithm, "result_ref": s.result_ref, "vertices": s.vertex_count, "edges": s.edge_count}
        return [Entity(f"execution:{s.execution_id}", "execution", f"{s.algorithm} on {s.graph_name}", data, (f"template:{s.template_id}",))]
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
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def record(self, entry: CatalogEntry) -> int:
        entities = entities_of(entry)
        with self._connect() as db:
            db.execute(
                "INSERT OR IGNORE INTO epochs VALUES (?, ?, ?)",
                (entry.workflow_id, entry.epoch, entry.graph_name),
            )
            for entity in entities:
                db.execute(
                    "INSERT OR REPLACE INTO entities VALUES (?, ?, ?, ?, ?)",
                    (entry.workflow_id, entity.entity_id, entity.kind, entity.title, json.dumps(entity.data, sort_keys=True, default=str)),
                )
                for parent in entity.parents:
                    db.execute("INSERT OR IGNORE INTO lineage VALUES (?, ?, ?)", (entry.workflow_id, parent, entity.entity_id))
        return len(entities)

    def lineage(self, workflow_id: str) -> list[list[tuple[str, str]]]:
        """Every chain from a requirement down to a report (or as far as it got).

        Each chain is a list of ``(entity_id, title)``; requirements without use cases
        form one-element chains, so gaps in coverage show.
        """
        with self._connect() as db:
            titles = dict(db.execute("SELECT entity_id, title FROM entities WHERE workflow_id = ?", (workflow_id,)).fetchall())
            links: dict[str, list[str]] = {}
            for parent, child in db.execute("SELECT parent, child FROM lineage WHERE workflow_id = ? ORDER BY child", (workflow_id,)):
                links.setdefault(parent, []).append(child)
        chains: list[list[tuple[str, str]]] = []

        def walk(node: str, path: list[tuple[str, str]]) -> None:
            path = path + [(node, titles.get(node, ""))]
            children = links.get(node, [])
            if not children:
                chains.append(path)
            for child in children:
                walk(child, path)

        for root in sorted(e for e in titles if e.startswith("requirement:")):
            walk(root, [])
        return chains

    def has_workflow(self, workflow_id: str) -> bool:
        with self._connect() as db:
            return db.execute("SELECT 1 FROM epochs WHERE workflow_id = ?", (workflow_id,)).fetchone() is not None

    def counts(self, workflow_id: str) -> dict[str, int]:
        with self._connect() as db:
            rows = db.execute("SELECT kind, count(*) FROM entities WHERE workflow_id = ? GROUP BY kind", (workflow_id,))
            return dict(rows.fetchall())


def catalog_path(home: Path) -> Path:
    return home / "catalog.sqlite"


async def handle(task: CatalogTask, ctx) -> CatalogResult:
    with span("record catalog entry", **{"gaai.catalog.step": task.entry.step}) as current:
        recorded = Catalog(catalog_path(ctx.home)).record(task.entry)
        current.set_attribute("gaai.catalog.entities", recorded)
    return CatalogResult(recorded=recorded)


if __name__ == "__main__":
    from agents._runtime import run_agent

    run_agent("catalog", handle)
