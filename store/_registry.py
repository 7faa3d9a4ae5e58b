"""The SQLite registry: which graphs exist, their collections, counts and current version.

WAL mode lets readers proceed while a writer commits; the busy timeout makes concurrent writers
wait their turn instead of failing. Writes open a short-lived connection each. Reads use one
connection per thread and process, kept open between reads: opening one costs about 0.4 ms
(mapping the WAL index), a read about 5 µs, and the orchestrator reads once per submission.
A graph is registered or removed in one ``BEGIN IMMEDIATE`` transaction; readers read it in
one transaction, so they never see half a graph. Each edge collection row also keeps how the
collection is read (``directed``, ``weight_field``); a registry written before those columns
existed gets them on open, every edge collection directed and unweighted.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from gaai.bus.domain import EdgeSemantics
from gaai.store._errors import GraphExistsError, StoreError

__all__ = ["GraphInfo", "GraphRecord", "Registry"]

_SCHEMA_VERSION = 2
_BUSY_TIMEOUT_S = 60.0
_SCHEMA = """
CREATE TABLE IF NOT EXISTS graphs (
    name TEXT PRIMARY KEY,
    version TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS collections (
    graph TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('vertex', 'edge')),
    position INTEGER NOT NULL,
    count INTEGER NOT NULL,
    directed INTEGER NOT NULL DEFAULT 1,
    weight_field TEXT,
    PRIMARY KEY (graph, name)
);
CREATE TABLE IF NOT EXISTS endpoints (
    graph TEXT NOT NULL,
    edge_collection TEXT NOT NULL,
    from_collection TEXT NOT NULL,
    to_collection TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (graph, edge_collection, from_collection, to_collection)
);
"""


@dataclass(frozen=True)
class GraphInfo:
    """A stored graph as the registry lists it.

    Attributes:
        name: The graph's name.
        vertex_collections: Vertex collection name → document count, in graph order.
        edge_collections: Edge collection name → edge count, in import order.
        created_at: Unix time the current version was imported.
        version: Identifies this import; a replace gives a new version.
        edge_semantics: Edge collection name → how it is read; a collection not listed is
            directed and unweighted.
    """

    name: str
    vertex_collections: dict[str, int]
    edge_collections: dict[str, int]
    created_at: float
    version: str
    edge_semantics: dict[str, EdgeSemantics] = field(default_factory=dict)

    def semantics(self, edge_collection: str) -> EdgeSemantics:
        """How one edge collection is read: as declared, else directed and unweighted."""
        return self.edge_semantics.get(edge_collection) or EdgeSemantics(collection=edge_collection)

    @property
    def total_vertices(self) -> int:
        """Documents over all vertex collections."""
        return sum(self.vertex_collections.values())

    @property
    def total_edges(self) -> int:
        """Edges over all edge collections."""
        return sum(self.edge_collections.values())

    def collections(self) -> list[str]:
        """Every collection name, vertex collections first."""
        return [*self.vertex_collections, *self.edge_collections]


@dataclass(frozen=True)
class GraphRecord:
    """Everything the registry knows of one graph: its info and per edge collection endpoint counts."""

    info: GraphInfo
    endpoints: dict[str, list[tuple[str, str, int]]] = field(default_factory=dict)


class Registry:
    """The ``store.sqlite`` registry of one store home."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._keep_readers()
        with closing(self._connect()) as conn:
            if conn.execute("PRAGMA user_version").fetchone()[0] == _SCHEMA_VERSION:
                return
            # WAL is a persistent property of the database file, so it is set once, with the schema.
            _switch_to_wal(conn)
            with self._transaction(conn, immediate=True):
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                _add_semantics_columns(conn)
                conn.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")

    def _keep_readers(self) -> None:
        self._readers = threading.local()
        self._opened: list[sqlite3.Connection] = []
        weakref.finalize(self, _close_all, self._opened)

    def __getstate__(self) -> dict:
        # A store handed to a worker process travels as its path; connections stay here.
        return {"path": self.path}

    def __setstate__(self, state: dict) -> None:
        self.path = state["path"]
        self._keep_readers()

    def names(self) -> list[str]:
        """Every graph name, sorted."""
        with self._reading() as conn:
            return [name for (name,) in conn.execute("SELECT name FROM graphs ORDER BY name")]

    def get(self, name: str) -> GraphRecord | None:
        """The record of one graph, read consistently, or None."""
        with self._reading() as conn:
            return self._read(conn, name)

    def all(self) -> list[GraphRecord]:
        """Records of every graph, sorted by name, from one consistent snapshot."""
        with self._reading() as conn:
            names = [name for (name,) in conn.execute("SELECT name FROM graphs ORDER BY name")]
            return [record for name in names if (record := self._read(conn, name)) is not None]

    def register(self, record: GraphRecord, replace: bool) -> str | None:
        """Make ``record`` the graph's current version.

        Args:
            record: The new graph.
            replace: Whether an existing graph of that name may be replaced.

        Returns:
            The replaced version, or None when the graph is new.

        Raises:
            GraphExistsError: The graph exists and ``replace`` is false.
        """
        info = record.info
        with closing(self._connect()) as conn, self._transaction(conn, immediate=True):
            row = conn.execute("SELECT version FROM graphs WHERE name = ?", (info.name,)).fetchone()
            if row is not None and not replace:
                raise GraphExistsError(info.name)
            self._delete(conn, info.name)
            conn.execute(
                "INSERT INTO graphs (name, version, created_at) VALUES (?, ?, ?)",
                (info.name, info.version, info.created_at),
            )
            conn.executemany(
                "INSERT INTO collections (graph, name, kind, position, count, directed, weight_field) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(info.name, n, "vertex", i, c, 1, None) for i, (n, c) in enumerate(info.vertex_collections.items())]
                + [
                    (info.name, n, "edge", i, c, int(info.semantics(n).directed), info.semantics(n).weight_field)
                    for i, (n, c) in enumerate(info.edge_collections.items())
                ],
            )
            conn.executemany(
                "INSERT INTO endpoints (graph, edge_collection, from_collection, to_collection, count) "
                "VALUES (?, ?, ?, ?, ?)",
                [(info.name, e, f, t, c) for e, pairs in record.endpoints.items() for f, t, c in pairs],
            )
            return row[0] if row else None

    def set_semantics(self, name: str, version: str, semantics: list[EdgeSemantics]) -> None:
        """Change how some edge collections of one graph version are read.

        Raises:
            StoreError: Code ``graph_changed`` when the graph is no longer at ``version``.
        """
        with closing(self._connect()) as conn, self._transaction(conn, immediate=True):
            row = conn.execute("SELECT version FROM graphs WHERE name = ?", (name,)).fetchone()
            if row is None or row[0] != version:
                raise StoreError("graph_changed", f"Graph '{name}' was replaced or deleted meanwhile; try again.")
            conn.executemany(
                "UPDATE collections SET directed = ?, weight_field = ? WHERE graph = ? AND name = ? AND kind = 'edge'",
                [(int(s.directed), s.weight_field, name, s.collection) for s in semantics],
            )

    def unregister(self, name: str) -> str | None:
        """Remove a graph; returns its version, or None when it did not exist."""
        with closing(self._connect()) as conn, self._transaction(conn, immediate=True):
            row = conn.execute("SELECT version FROM graphs WHERE name = ?", (name,)).fetchone()
            self._delete(conn, name)
            return row[0] if row else None

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """A read transaction on this thread's kept connection (a forked child opens its own)."""
        held: tuple[int, sqlite3.Connection] | None = getattr(self._readers, "held", None)
        if held is None or held[0] != os.getpid():
            # Closed by the finalizer, from whichever thread: the connection is this thread's alone.
            held = (os.getpid(), self._connect(check_same_thread=False))
            self._readers.held = held
            self._opened.append(held[1])
        with self._transaction(held[1]):
            yield held[1]

    def _connect(self, check_same_thread: bool = True) -> sqlite3.Connection:
        # isolation_level=None: transactions are begun explicitly, so their kind is ours to choose.
        return sqlite3.connect(
            self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=check_same_thread
        )

    @staticmethod
    @contextmanager
    def _transaction(conn: sqlite3.Connection, immediate: bool = False) -> Iterator[None]:
        conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @staticmethod
    def _delete(conn: sqlite3.Connection, name: str) -> None:
        for table, column in (("graphs", "name"), ("collections", "graph"), ("endpoints", "graph")):
            # The table and column names are the fixed ones above, never input.
            conn.execute(f"DELETE FROM {table} WHERE {column} = ?", (name,))

    @staticmethod
    def _read(conn: sqlite3.Connection, name: str) -> GraphRecord | None:
        row = conn.execute("SELECT version, created_at FROM graphs WHERE name = ?", (name,)).fetchone()
        if row is None:
            return None
        vertices: dict[str, int] = {}
        edges: dict[str, int] = {}
        semantics: dict[str, EdgeSemantics] = {}
        for coll, kind, count, directed, weight_field in conn.execute(
            "SELECT name, kind, count, directed, weight_field FROM collections WHERE graph = ? "
            "ORDER BY kind DESC, position",
            (name,),
        ):
            (vertices if kind == "vertex" else edges)[coll] = count
            if kind == "edge":
                semantics[coll] = EdgeSemantics(collection=coll, directed=bool(directed), weight_field=weight_field)
        endpoints: dict[str, list[tuple[str, str, int]]] = {edge: [] for edge in edges}
        for edge, source, target, count in conn.execute(
            "SELECT edge_collection, from_collection, to_collection, count FROM endpoints WHERE graph = ? "
            "ORDER BY edge_collection, from_collection, to_collection",
            (name,),
        ):
            endpoints[edge].append((source, target, count))
        info = GraphInfo(name, vertices, edges, created_at=row[1], version=row[0], edge_semantics=semantics)
        return GraphRecord(info, endpoints)


def _add_semantics_columns(conn: sqlite3.Connection) -> None:
    """Give a registry written before edge semantics were kept its two columns (all directed, unweighted)."""
    present = {row[1] for row in conn.execute("PRAGMA table_info(collections)")}
    if "directed" not in present:
        conn.execute("ALTER TABLE collections ADD COLUMN directed INTEGER NOT NULL DEFAULT 1")
    if "weight_field" not in present:
        conn.execute("ALTER TABLE collections ADD COLUMN weight_field TEXT")


def _close_all(connections: list[sqlite3.Connection]) -> None:
    for conn in connections:
        conn.close()


def _switch_to_wal(conn: sqlite3.Connection) -> None:
    """Set WAL mode, waiting while another process holds the file.

    Changing the journal mode needs the file to itself and fails at once with "database
    is locked", without waiting for the busy timeout, when another process is creating
    the same registry at that moment.
    """
    deadline = time.monotonic() + _BUSY_TIMEOUT_S
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)
