"""EmbeddedStore: graphs as Parquet files under one home folder, listed in a SQLite registry.

Layout of a home folder (all of it readable with standard tools: sqlite3, DuckDB, pandas)::

    store.sqlite                               graphs, collections, counts, edge semantics, versions (WAL)
    graphs/<graph>/<version>/<collection>.parquet
    results/<graph>/<execution_id>.parquet     per-vertex algorithm results

Each import writes a fresh ``<version>`` directory under a hidden staging name, renames it into
place and then registers it in one transaction; a replace points the registry at the new version
and only then removes the old directory. Readers resolve the version in the registry first, so they
see either the old graph or the new one, never a mix; a reader that loses the race with a replace
simply resolves again.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from gaai.bus.domain import EdgeSemantics
from gaai.store._arrays import GraphArrays
from gaai.store._columns import documents_from_table
from gaai.store._errors import (
    GraphExistsError,
    GraphImportError,
    GraphNotFoundError,
    StoreError,
    check_name,
    is_valid_name,
)
from gaai.store._importer import INTERNAL_EDGE_COLUMNS, build_graph, write_parquet
from gaai.store._protocol import GraphStore, default_home
from gaai.store._registry import GraphInfo, GraphRecord, Registry
from gaai.store._semantics import FieldStats, field_stats, read_weights, semantics_problem

__all__ = ["EmbeddedStore"]

T = TypeVar("T")

_RESULT_FIELDS = ("_id", "collection", "_key")
_EXECUTION_ID = re.compile(r"^[A-Za-z0-9_\-][A-Za-z0-9_.\-]{0,199}$")
_READ_ATTEMPTS = 3
_MAX_SAMPLE_ROW_GROUPS = 8
_STALE_AFTER_S = 3600.0


class EmbeddedStore(GraphStore):
    """A graph store in a local folder, safe for several processes at once.

    Args:
        home: The store's folder; ``default_home()`` when omitted. Created if missing.
    """

    def __init__(self, home: Path | str | None = None) -> None:
        self.home = Path(home) if home is not None else default_home()
        self.home.mkdir(parents=True, exist_ok=True)
        self._graphs = self.home / "graphs"
        self._results = self.home / "results"
        self._registry = Registry(self.home / "store.sqlite")

    def __repr__(self) -> str:
        return f"EmbeddedStore(home={str(self.home)!r})"

    # ------------------------------------------------------------------ registry

    def list_graphs(self) -> list[GraphInfo]:
        """Every stored graph, sorted by name."""
        return [record.info for record in self._registry.all()]

    def graph(self, name: str) -> GraphInfo:
        """One graph's info.

        Raises:
            GraphNotFoundError: No graph of that name; the message lists the known ones.
        """
        return self._record(name).info

    def has_graph(self, name: str) -> bool:
        """Whether a graph of that name exists."""
        return is_valid_name(name) and self._registry.get(name) is not None

    def import_graph(
        self,
        name: str,
        paths: Sequence[Path | str],
        replace: bool = False,
        semantics: Sequence[EdgeSemantics] = (),
    ) -> GraphInfo:
        """Create a graph from ArangoDB JSON exports and CSV edge lists.

        Each file fills the collection named after its stem. JSON files (``.jsonl``, or ``.json``
        with one document per line or one array) are edge collections when their documents carry
        ``_from``/``_to``, otherwise vertex collections keyed by ``_key``. CSV files are edge lists
        with ``_from,_to``, ``source,target`` or ``from,to`` columns (others become attributes);
        ``collection/key`` endpoints point into that collection, bare keys into ``vertices``, and a
        collection no file provides is created from the keys the CSV edges use. A directory stands
        for its files.

        Every edge collection is directed and unweighted unless ``semantics`` says otherwise.

        Args:
            name: The graph's name.
            paths: Files or directories to import.
            replace: Overwrite an existing graph of that name.
            semantics: How edge collections are read: at most one entry per edge collection, a
                weight field a number >= 0 on every edge.

        Returns:
            The new graph's info.

        Raises:
            StoreError: Code ``bad_name`` for an invalid graph name.
            GraphExistsError: The graph exists and ``replace`` is false.
            GraphImportError: The files do not make a valid graph, or ``semantics`` does not fit them
                (the message says which and why).
        """
        check_name(name)
        semantics = list(semantics)
        if not replace and self._registry.get(name) is not None:
            raise GraphExistsError(name)
        version = f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{secrets.token_hex(4)}"
        root = self._graphs / name
        root.mkdir(parents=True, exist_ok=True)
        self._sweep(root, name)
        staging = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=root))
        final = root / version
        try:
            built = build_graph(paths, staging)
            files = {edge: staging / f"{edge}.parquet" for edge in built.edge_collections}
            problem = semantics_problem(name, built.vertex_collections, files, semantics)
            if problem:
                raise GraphImportError(problem.message)
            os.replace(staging, final)
            declared = {entry.collection: entry for entry in semantics}
            info = GraphInfo(
                name,
                built.vertex_collections,
                built.edge_collections,
                time.time(),
                version,
                {edge: declared.get(edge) or EdgeSemantics(collection=edge) for edge in built.edge_collections},
            )
            try:
                replaced = self._registry.register(GraphRecord(info, built.endpoints), replace)
            except BaseException:
                shutil.rmtree(final, ignore_errors=True)
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        if replaced:
            shutil.rmtree(root / replaced, ignore_errors=True)
        return info

    def set_semantics(self, graph: str, semantics: Sequence[EdgeSemantics]) -> GraphInfo:
        """Declare how some edge collections of an imported graph are read; the others keep theirs.

        Returns:
            The graph's info with the new semantics.

        Raises:
            GraphNotFoundError: No such graph.
            StoreError: Code ``unknown_collection``, ``duplicate_collection`` or ``bad_weight`` when
                the declaration does not fit the graph (see ``check_semantics``).
        """
        semantics = list(semantics)

        def declare(record: GraphRecord, directory: Path) -> None:
            self._raise_semantics_problem(record, directory, semantics)
            self._registry.set_semantics(graph, record.info.version, semantics)

        self._with_files(graph, declare)
        return self.graph(graph)

    def check_semantics(self, graph: str, semantics: Sequence[EdgeSemantics]) -> None:
        """Check a declaration against a graph without keeping it (a per-workflow override).

        Raises:
            GraphNotFoundError: No such graph.
            StoreError: Code ``unknown_collection`` for an entry naming no edge collection,
                ``duplicate_collection`` for one declared twice, ``bad_weight`` for a weight field
                that is not a number >= 0 on every edge; the message names collection, field,
                how many edges are affected and one example.
        """
        semantics = list(semantics)
        self._with_files(graph, lambda record, directory: self._raise_semantics_problem(record, directory, semantics))

    def delete_graph(self, name: str) -> None:
        """Remove a graph and its files; stored results of past executions stay.

        Raises:
            GraphNotFoundError: No graph of that name.
        """
        version = self._registry.unregister(name) if is_valid_name(name) else None
        if version is None:
            raise GraphNotFoundError(name, self._registry.names())
        shutil.rmtree(self._graphs / name / version, ignore_errors=True)

    # ------------------------------------------------------------------ reading

    def sample_documents(self, graph: str, collection: str, limit: int = 200) -> list[dict[str, Any]]:
        """Up to ``limit`` documents spread evenly over a collection, in file order.

        Vertices come with ``_key`` and ``_id``; edges also with ``_from`` and ``_to`` (an edge
        imported without a key gets its row number). Attributes are as imported; nulls are absent.
        Large collections are sampled from at most eight evenly spaced row groups, so the cost stays
        bounded.

        Raises:
            GraphNotFoundError: No such graph.
            StoreError: Code ``unknown_collection`` when the graph has no such collection.
        """

        def read(record: GraphRecord, directory: Path) -> list[dict[str, Any]]:
            kind = self._collection_kind(record, collection)
            parquet = pq.ParquetFile(directory / f"{collection}.parquet")
            groups, local, rows = _sample_rows(parquet, limit)
            if not groups:
                return []
            columns = [n for n in parquet.schema_arrow.names if n not in INTERNAL_EDGE_COLUMNS]
            table = parquet.read_row_groups(groups, columns=columns).take(pa.array(local))
            docs = documents_from_table(table)
            return [_shape(collection, kind, doc, int(row)) for doc, row in zip(docs, rows, strict=True)]

        return self._with_files(graph, read)

    def edge_endpoint_counts(self, graph: str, edge_collection: str) -> list[tuple[str, str, int]]:
        """How many edges of one edge collection connect each pair of vertex collections.

        Counted over all edges at import time.

        Returns:
            (from collection, to collection, count) triples, most edges first, ties by name.

        Raises:
            StoreError: Code ``unknown_collection`` when it is not an edge collection of the graph.
        """
        record = self._record(graph)
        if self._collection_kind(record, edge_collection) != "edge":
            raise _unknown_collection(record.info, edge_collection, "edge")
        return sorted(record.endpoints[edge_collection], key=lambda p: (-p[2], p[0], p[1]))

    def numeric_field_stats(self, graph: str, collection: str) -> list[FieldStats]:
        """Presence, minimum and maximum of each numeric attribute of a collection, over all its documents.

        Raises:
            GraphNotFoundError: No such graph.
            StoreError: Code ``unknown_collection`` when the graph has no such collection.
        """

        def read(record: GraphRecord, directory: Path) -> list[FieldStats]:
            self._collection_kind(record, collection)
            return field_stats(directory / f"{collection}.parquet")

        return self._with_files(graph, read)

    def load_arrays(
        self,
        graph: str,
        vertex_collections: Sequence[str],
        edge_collections: Sequence[str],
        semantics: Sequence[EdgeSemantics] | None = None,
    ) -> GraphArrays:
        """The subgraph made of exactly the given collections, as integer arrays.

        Vertices are numbered densely: the given vertex collections concatenated in the given
        order. Edges of the given edge collections with an endpoint outside those vertex
        collections are dropped. Reads only the precomputed integer endpoint columns, plus the
        weight column of each weighted collection.

        Each edge collection is read as the registry declares it unless ``semantics`` has an
        entry for it. ``weights`` is None when no selected collection is weighted (else edges of
        unweighted collections weigh 1.0); ``undirected`` is None when every selected collection
        is directed.

        Raises:
            GraphNotFoundError: No such graph.
            StoreError: Code ``unknown_collection`` or ``duplicate_collection`` for a bad selection,
                ``bad_weight`` for an overriding weight field that is not a number >= 0 on every edge.
        """
        vertex_collections, edge_collections = list(vertex_collections), list(edge_collections)
        overrides = list(semantics or [])

        def read(record: GraphRecord, directory: Path) -> GraphArrays:
            info = record.info
            _check_selection(info, vertex_collections, "vertex")
            _check_selection(info, edge_collections, "edge")
            chosen = [entry for entry in overrides if entry.collection in edge_collections]
            self._raise_semantics_problem(record, directory, chosen)
            in_force = {edge: info.semantics(edge) for edge in edge_collections}
            in_force.update({entry.collection: entry for entry in chosen})
            counts = np.array([info.vertex_collections[c] for c in vertex_collections], dtype=np.int64)
            offsets = np.concatenate([np.zeros(1, np.int64), np.cumsum(counts)])
            dtype = np.int32 if offsets[-1] < np.iinfo(np.int32).max else np.int64
            # Graph-wide collection position -> first dense index, or -1 when not selected.
            base = np.full(len(info.vertex_collections), -1, dtype=np.int64)
            position = {name: i for i, name in enumerate(info.vertex_collections)}
            for i, name in enumerate(vertex_collections):
                base[position[name]] = offsets[i]
            selected = set(vertex_collections)

            plans = []
            for edge in edge_collections:
                pairs = record.endpoints[edge]
                kept = sum(n for f, t, n in pairs if f in selected and t in selected)
                if kept:
                    plans.append((edge, pairs, kept))
            total = sum(kept for _, _, kept in plans)
            src, dst = np.empty(total, dtype=dtype), np.empty(total, dtype=dtype)
            weighted = any(in_force[edge].weight_field for edge in edge_collections)
            weights = np.ones(total, dtype=np.float64) if weighted else None
            mixed = any(not in_force[edge].directed for edge in edge_collections)
            undirected = np.zeros(total, dtype=bool) if mixed else None
            at = 0
            for edge, pairs, kept in plans:
                path = directory / f"{edge}.parquet"
                out_src, out_dst = src[at : at + kept], dst[at : at + kept]
                keep = None
                if len(pairs) == 1:
                    # One (from, to) pair: every edge shifts by the same two constants.
                    table = pq.read_table(path, columns=["_from_idx", "_to_idx"], memory_map=True)
                    _shift_into(out_src, table.column("_from_idx"), int(base[position[pairs[0][0]]]))
                    _shift_into(out_dst, table.column("_to_idx"), int(base[position[pairs[0][1]]]))
                else:
                    table = pq.read_table(path, columns=list(INTERNAL_EDGE_COLUMNS), memory_map=True)
                    from_base = base[table.column("_from_coll").to_numpy()]
                    to_base = base[table.column("_to_coll").to_numpy()]
                    keep = (from_base >= 0) & (to_base >= 0)
                    out_src[:] = (from_base + table.column("_from_idx").to_numpy())[keep]
                    out_dst[:] = (to_base + table.column("_to_idx").to_numpy())[keep]
                weight_field = in_force[edge].weight_field
                if weights is not None and weight_field:
                    values = read_weights(path, weight_field)
                    weights[at : at + kept] = values if keep is None else values[keep]
                if undirected is not None:
                    undirected[at : at + kept] = not in_force[edge].directed
                at += kept
                # Arrow's allocator keeps the decoded columns' pages after the table is
                # gone (~10 bytes per edge); hand them back before the caller allocates.
                del table
                pa.default_memory_pool().release_unused()
            return GraphArrays(
                num_vertices=int(offsets[-1]),
                src=src,
                dst=dst,
                collections=vertex_collections,
                offsets=offsets,
                graph=graph,
                version=info.version,
                vertex_files=[directory / f"{name}.parquet" for name in vertex_collections],
                weights=weights,
                undirected=undirected,
                edge_semantics=[in_force[edge] for edge in edge_collections],
            )

        return self._with_files(graph, read)

    # ------------------------------------------------------------------ results

    def write_vertex_results(
        self, graph: str, execution_id: str, arrays: GraphArrays, field: str, values: np.ndarray
    ) -> str:
        """Store one value per vertex of ``arrays`` as ``results/<graph>/<execution_id>.parquet``.

        The file has columns ``_id``, ``collection``, ``_key`` and ``field``, and is replaced
        atomically: writing the same execution id again rewrites it, other ids are untouched.

        Args:
            graph: The graph the arrays were loaded from.
            execution_id: Names the result; letters, digits, ``_``, ``-`` and ``.``.
            arrays: The loaded subgraph the values belong to.
            field: Name of the value column.
            values: One value per vertex, in the arrays' vertex order.

        Returns:
            The reference to pass to ``read_vertex_results``.

        Raises:
            StoreError: Code ``bad_name`` for an invalid id or field, ``bad_request`` when the
                values do not match the arrays.
        """
        check_name(graph)
        if arrays.graph != graph:
            raise StoreError("bad_request", f"These arrays were loaded from graph '{arrays.graph}', not '{graph}'.")
        if not isinstance(execution_id, str) or not _EXECUTION_ID.fullmatch(execution_id):
            raise StoreError(
                "bad_name",
                f"Invalid execution id {execution_id!r}: use letters, digits, '_', '-' and '.' "
                "(not first), at most 200.",
            )
        if not is_valid_name(field) or field in _RESULT_FIELDS:
            raise StoreError(
                "bad_name", f"Invalid result field {field!r}; it must be a valid name other than {_RESULT_FIELDS}."
            )
        values = np.asarray(values)
        if values.shape != (arrays.num_vertices,):
            raise StoreError(
                "bad_request", f"Expected {arrays.num_vertices} values (one per vertex), got shape {values.shape}."
            )
        positions = range(len(arrays.collections))
        membership = np.repeat(np.arange(len(arrays.collections), dtype=np.int32), np.diff(arrays.offsets))
        table = pa.table(
            {
                "_id": pa.chunked_array([arrays.collection_column(i, "ids") for i in positions], pa.string()),
                "collection": pa.DictionaryArray.from_arrays(
                    pa.array(membership), pa.array(arrays.collections, pa.string())
                ),
                "_key": pa.chunked_array([arrays.collection_column(i, "keys") for i in positions], pa.string()),
                field: pa.array(values),
            }
        )
        directory = self._results / graph
        directory.mkdir(parents=True, exist_ok=True)
        temporary = directory / f".{execution_id}.{secrets.token_hex(6)}.tmp"
        metadata = {
            "gaai.kind": "vertex_results",
            "gaai.graph": graph,
            "gaai.graph_version": arrays.version,
            "gaai.execution_id": execution_id,
            "gaai.field": field,
        }
        final = directory / f"{execution_id}.parquet"
        try:
            write_parquet(table, temporary, metadata)
            os.replace(temporary, final)
        except FileNotFoundError:
            # Another writer of this execution finished first and removed this one's temp file.
            if not final.exists():
                raise
        finally:
            temporary.unlink(missing_ok=True)
        # A writer killed mid-write (an agent SIGKILLed with its worker) leaves its temp file;
        # the execution's result is now complete, so any temp file of it is a leftover.
        for leftover in directory.glob(f".{execution_id}.*.tmp"):
            leftover.unlink(missing_ok=True)
        del table
        # pyarrow's allocator keeps what the write freed for reuse; the summary that follows needs numpy's memory.
        pa.default_memory_pool().release_unused()
        return f"results/{graph}/{execution_id}.parquet"

    def read_vertex_results(self, result_ref: str) -> pa.Table:
        """The table a ``write_vertex_results`` reference points to.

        Raises:
            StoreError: Code ``bad_result_ref`` for a reference outside the results folder,
                ``unknown_result`` when there is no such result.
        """
        results = self._results.resolve()
        path = (self.home / result_ref).resolve() if isinstance(result_ref, str) and result_ref else None
        if path is None or not path.is_relative_to(results) or path.suffix != ".parquet":
            raise StoreError(
                "bad_result_ref", f"{result_ref!r} is not a result reference (results/<graph>/<id>.parquet)."
            )
        try:
            return pq.read_table(path)
        except FileNotFoundError as exc:
            raise StoreError("unknown_result", f"No result stored at {result_ref!r}.") from exc

    # ------------------------------------------------------------------ internals

    def _record(self, name: str) -> GraphRecord:
        record = self._registry.get(name) if is_valid_name(name) else None
        if record is None:
            raise GraphNotFoundError(name, self._registry.names())
        return record

    def _with_files(self, name: str, read: Callable[[GraphRecord, Path], T]) -> T:
        for _ in range(_READ_ATTEMPTS):
            record = self._record(name)
            try:
                return read(record, self._graphs / name / record.info.version)
            except FileNotFoundError:
                # Replaced between reading the registry and opening its files: resolve again.
                continue
        raise StoreError("graph_changed", f"Graph '{name}' kept changing while being read; try again.")

    @staticmethod
    def _raise_semantics_problem(record: GraphRecord, directory: Path, semantics: list[EdgeSemantics]) -> None:
        files = {edge: directory / f"{edge}.parquet" for edge in record.info.edge_collections}
        problem = semantics_problem(record.info.name, record.info.vertex_collections, files, semantics)
        if problem:
            raise StoreError(problem.code, problem.message)

    @staticmethod
    def _collection_kind(record: GraphRecord, collection: str) -> str:
        if collection in record.info.vertex_collections:
            return "vertex"
        if collection in record.info.edge_collections:
            return "edge"
        raise _unknown_collection(record.info, collection, "")

    def _sweep(self, root: Path, name: str) -> None:
        """Remove what crashed imports left behind: old directories the registry does not point to."""
        record = self._registry.get(name)
        current = record.info.version if record else None
        cutoff = time.time() - _STALE_AFTER_S
        for entry in root.iterdir():
            try:
                stale = entry.name != current and entry.stat().st_mtime < cutoff
            except FileNotFoundError:
                continue
            if stale:
                shutil.rmtree(entry, ignore_errors=True)


def _sample_rows(parquet: pq.ParquetFile, limit: int) -> tuple[list[int], np.ndarray, np.ndarray]:
    """Which row groups to read, which rows of their concatenation to keep, and their file rows."""
    sizes = np.array([parquet.metadata.row_group(i).num_rows for i in range(parquet.num_row_groups)], np.int64)
    total = int(sizes.sum())
    if limit <= 0 or total == 0:
        return [], np.empty(0, np.int64), np.empty(0, np.int64)
    groups = np.arange(len(sizes))
    if total > limit and len(groups) > _MAX_SAMPLE_ROW_GROUPS:
        groups = np.unique(np.linspace(0, len(sizes) - 1, _MAX_SAMPLE_ROW_GROUPS).round().astype(np.int64))
    chosen = sizes[groups]
    span = int(chosen.sum())
    local = np.unique(np.linspace(0, span - 1, min(limit, span)).round().astype(np.int64))
    starts = np.concatenate([[0], np.cumsum(sizes)])[groups]
    chosen_starts = np.concatenate([[0], np.cumsum(chosen)])
    group_of = np.searchsorted(chosen_starts, local, side="right") - 1
    rows = starts[group_of] + (local - chosen_starts[group_of])
    return groups.tolist(), local, rows


def _shape(collection: str, kind: str, doc: dict[str, Any], row: int) -> dict[str, Any]:
    """A stored row as an ArangoDB-style document: system attributes first."""
    key = doc.pop("_key", None)
    key = str(row) if key is None else key
    head: dict[str, Any] = {"_key": key, "_id": f"{collection}/{key}"}
    if kind == "edge":
        head["_from"] = doc.pop("_from")
        head["_to"] = doc.pop("_to")
    return {**head, **doc}


def _shift_into(out: np.ndarray, column: pa.ChunkedArray, shift: int) -> None:
    at = 0
    for chunk in column.chunks:
        values = chunk.to_numpy()
        np.add(values, shift, out=out[at : at + len(values)], casting="unsafe")
        at += len(values)


def _check_selection(info: GraphInfo, names: list[str], kind: str) -> None:
    available = info.vertex_collections if kind == "vertex" else info.edge_collections
    for name in names:
        if name not in available:
            raise _unknown_collection(info, name, kind)
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise StoreError("duplicate_collection", f"Collection(s) {', '.join(repeated)} selected more than once.")


def _unknown_collection(info: GraphInfo, name: str, kind: str) -> StoreError:
    what = f"{kind} collection" if kind else "collection"
    vertices = ", ".join(info.vertex_collections) or "none"
    edges = ", ".join(info.edge_collections) or "none"
    return StoreError(
        "unknown_collection",
        f"Graph '{info.name}' has no {what} '{name}'. Vertex collections: {vertices}; edge collections: {edges}.",
    )
