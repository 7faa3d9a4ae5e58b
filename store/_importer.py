"""Turning import files into a graph directory: validation, endpoint resolution, Parquet files.

Every edge file gets four integer columns next to its ``_from``/``_to`` text: ``_from_coll`` and
``_to_coll`` (int16 position of the endpoint's vertex collection in the graph, listed in the file
metadata ``gaai.vertex_collections``) and ``_from_idx``/``_to_idx`` (row of the endpoint in that
collection's file). Loading a subgraph is then pure array arithmetic. All work here is vectorised
over edges: endpoints are matched to vertices with one hash lookup per column.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from gaai.store._errors import GraphImportError, is_valid_name
from gaai.store._readers import Source, expand_paths, read_source

__all__ = [
    "FORMAT_VERSION",
    "IMPLICIT_VERTICES",
    "INTERNAL_EDGE_COLUMNS",
    "BuiltGraph",
    "build_graph",
    "write_parquet",
]

FORMAT_VERSION = "1"
IMPLICIT_VERTICES = "vertices"
"""The collection bare CSV endpoint keys (no ``collection/`` prefix) belong to."""
INTERNAL_EDGE_COLUMNS = ("_from_coll", "_from_idx", "_to_coll", "_to_idx")
ROW_GROUP_SIZE = 1 << 17
_MAX_VERTEX_COLLECTIONS = np.iinfo(np.int16).max
_DERIVED = ("_id", "_rev")  # ArangoDB bookkeeping, recomputed from the collection and key


@dataclass
class BuiltGraph:
    """What an import wrote: collections in graph order with their counts, and endpoint counts."""

    vertex_collections: dict[str, int] = field(default_factory=dict)
    edge_collections: dict[str, int] = field(default_factory=dict)
    endpoints: dict[str, list[tuple[str, str, int]]] = field(default_factory=dict)


def build_graph(paths: Iterable[Path | str], out_dir: Path) -> BuiltGraph:
    """Read, validate and write a graph's files into ``out_dir`` (which must exist).

    Args:
        paths: Import files or directories of them.
        out_dir: Where to write ``<collection>.parquet`` files.

    Returns:
        What was written.

    Raises:
        GraphImportError: Anything in the files that does not make a valid graph.
    """
    sources = [read_source(path) for path in expand_paths(paths)]
    seen: dict[str, Path] = {}
    for source in sources:
        if source.collection in seen:
            raise GraphImportError(
                f"{seen[source.collection].name} and {source.path.name} both fill collection "
                f"'{source.collection}'; one file per collection."
            )
        seen[source.collection] = source.path

    vertex_tables = {s.collection: _vertex_table(s) for s in sources if s.kind == "vertex"}
    edges = [_Edges(s, *_edge_endpoints(s)) for s in sources if s.kind == "edge"]

    # Endpoints are matched against the files' vertices first. What CSV edges leave unmatched
    # founds the implicit collections, and only the unmatched rows are looked up again.
    explicit = _VertexIndex(list(vertex_tables), vertex_tables, start=0)
    for edge in edges:
        edge.found = [explicit.lookup(values) for values in edge.endpoints]
    implicit = _implicit_collections(edges, set(vertex_tables))
    if implicit:
        later = _VertexIndex(list(implicit), implicit, start=explicit.stop)
        for edge in edges:
            for values, found in zip(edge.endpoints, edge.found, strict=True):
                missing = np.flatnonzero(found < 0)
                if missing.size:
                    found[missing] = later.lookup(values.take(pa.array(missing)))
        vertex_tables.update(implicit)
    order = list(vertex_tables)
    if len(order) > _MAX_VERTEX_COLLECTIONS:
        raise GraphImportError(f"Too many vertex collections ({len(order)}); at most {_MAX_VERTEX_COLLECTIONS}.")

    built = BuiltGraph()
    for name, table in vertex_tables.items():
        write_parquet(table, out_dir / f"{name}.parquet", {"gaai.collection": name, "gaai.kind": "vertex"})
        built.vertex_collections[name] = table.num_rows
    counts = np.array([built.vertex_collections[name] for name in order], dtype=np.int64)
    offsets = np.concatenate([np.zeros(1, np.int64), np.cumsum(counts)])
    layout = _Layout(order, offsets)
    for edge in edges:
        table, pairs = _edge_table(edge, layout)
        metadata = {
            "gaai.collection": edge.source.collection,
            "gaai.kind": "edge",
            "gaai.vertex_collections": json.dumps(order),
        }
        write_parquet(table, out_dir / f"{edge.source.collection}.parquet", metadata)
        built.edge_collections[edge.source.collection] = table.num_rows
        built.endpoints[edge.source.collection] = pairs
    return built


def write_parquet(table: pa.Table, path: Path, metadata: dict[str, str]) -> None:
    """Write a table with our file metadata; integer index columns stay plain for fast loading."""
    merged = {**(table.schema.metadata or {}), **{k.encode(): v.encode() for k, v in metadata.items()}}
    merged[b"gaai.format"] = FORMAT_VERSION.encode()
    table = table.replace_schema_metadata(merged)
    # Identifiers are nearly all distinct, so dictionaries only cost time there; lz4 keeps big
    # edge files quick to write, and the integer index columns stay raw for the fastest load.
    identifiers = {"_key", "_id", "_from", "_to"}
    dictionary = [f.name for f in table.schema if pa.types.is_string(f.type) and f.name not in identifiers]
    compression = {
        name: "none" if name in INTERNAL_EDGE_COLUMNS else "lz4" if name in identifiers else "zstd"
        for name in table.column_names
    }
    pq.write_table(table, path, row_group_size=ROW_GROUP_SIZE, use_dictionary=dictionary, compression=compression)


@dataclass
class _Edges:
    """An edge file on its way in: its endpoints as ``collection/key`` text and, once matched, as
    global vertex indices (-1 while unmatched)."""

    source: Source
    from_values: pa.Array
    to_values: pa.Array
    found: list[np.ndarray] = field(default_factory=list)

    @property
    def endpoints(self) -> tuple[pa.Array, pa.Array]:
        return self.from_values, self.to_values


class _VertexIndex:
    """Matches ``collection/key`` strings to global vertex indices of some vertex collections."""

    def __init__(self, order: list[str], tables: dict[str, pa.Table], start: int) -> None:
        ids = [pc.binary_join_element_wise(name, tables[name].column("_key"), "/") for name in order]
        self.ids = pa.chunked_array(ids, pa.string()).combine_chunks()
        self.start = start
        self.stop = start + len(self.ids)

    def lookup(self, endpoints: pa.Array) -> np.ndarray:
        """Global vertex index of each endpoint, -1 where none of these vertices has that id."""
        found = pc.fill_null(pc.index_in(endpoints, value_set=self.ids), -1).to_numpy().astype(np.int64)
        if self.start:
            found[found >= 0] += self.start
        return found


class _Layout:
    """Where each global vertex index lives: its collection position and row."""

    def __init__(self, order: list[str], offsets: np.ndarray) -> None:
        self.order = order
        self.offsets = offsets
        # A per-vertex table makes locating an edge endpoint one gather instead of a binary search.
        self.position_of = np.repeat(np.arange(len(order), dtype=np.int16), np.diff(offsets))
        self.row_dtype = np.int32 if offsets[-1] < np.iinfo(np.int32).max else np.int64

    def locate(self, found: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        position = self.position_of[found]
        return position, (found - self.offsets[position]).astype(self.row_dtype)


def _vertex_table(source: Source) -> pa.Table:
    table = source.table.drop_columns([c for c in _DERIVED if c in source.table.column_names])
    if "_key" not in table.column_names:
        raise source.fail("vertex documents need a '_key' (or '_from' and '_to' for an edge collection).")
    keys = _text_column(source, table, "_key")
    nulls = _first(keys.is_null())
    if nulls is not None:
        raise source.fail(f"{source.where(nulls)} has no '_key'.")
    empty = _first(pc.equal(keys, ""))
    if empty is not None:
        raise source.fail(f"{source.where(empty)} has an empty '_key'.")
    _check_unique(source, keys, "_key")
    rest = [c for c in table.column_names if c != "_key"]
    return pa.table([keys, *(table.column(c) for c in rest)], schema=_schema_with(table, keys, rest))


def _edge_endpoints(source: Source) -> tuple[pa.Array, pa.Array]:
    columns = []
    for name in ("_from", "_to"):
        if name not in source.table.column_names:
            raise source.fail(f"edge documents need both '_from' and '_to'; '{name}' is missing.")
        values = _text_column(source, source.table, name)
        missing = _first(values.is_null())
        if missing is not None:
            raise source.fail(f"{source.where(missing)} has no '{name}'.")
        empty = _first(pc.equal(values, ""))
        if empty is not None:
            raise source.fail(f"{source.where(empty)} has an empty '{name}'.")
        has_slash = pc.match_substring(values, "/")
        if source.format == "csv":
            values = pc.if_else(has_slash, values, pc.binary_join_element_wise(IMPLICIT_VERTICES, values, "/"))
        else:
            bare = _first(pc.invert(has_slash))
            if bare is not None:
                raise source.fail(
                    f"{source.where(bare)}: '{name}' is {values[bare].as_py()!r}; expected 'collection/key'."
                )
        columns.append(values)
    return columns[0], columns[1]


def _implicit_collections(edges: list[_Edges], vertex_names: set[str]) -> dict[str, pa.Table]:
    """Vertex collections CSV edges point into that no file provides, built from the keys they use.

    Keys keep the order of their first appearance. Unmatched endpoints of JSON edges, or of CSV
    edges into a collection a file does provide, are left for the dangling-edge check.
    """
    edge_names = {edge.source.collection for edge in edges}
    known = pa.array(sorted(vertex_names), pa.string())
    found: dict[str, list[pa.Array]] = {}
    for edge in edges:
        if edge.source.format != "csv":
            continue
        for values, matched in zip(edge.endpoints, edge.found, strict=True):
            missing = np.flatnonzero(matched < 0)
            if not missing.size:
                continue
            distinct = pc.unique(values.take(pa.array(missing)))
            parts = pc.split_pattern(distinct, "/", max_splits=1)
            collections, keys = pc.list_element(parts, 0), pc.list_element(parts, 1)
            absent = pc.invert(pc.is_in(collections, value_set=known))
            collections, keys, distinct = (pc.filter(a, absent) for a in (collections, keys, distinct))
            for name in pc.unique(collections).to_pylist():
                in_name = pc.equal(collections, name)
                example = pc.filter(distinct, in_name)[0].as_py()
                if name in edge_names:
                    raise edge.source.fail(f"endpoint {example!r} points into '{name}', which is an edge collection.")
                if not is_valid_name(name):
                    raise edge.source.fail(f"endpoint {example!r} names an invalid collection {name!r}.")
                selected = pc.filter(keys, in_name)
                if _first(pc.equal(selected, "")) is not None:
                    raise edge.source.fail(f"endpoint '{name}/' has an empty key.")
                found.setdefault(name, []).append(selected)
    return {name: pa.table({"_key": pc.unique(pa.chunked_array(parts, pa.string()))}) for name, parts in found.items()}


def _edge_table(edge: _Edges, layout: _Layout) -> tuple[pa.Table, list[tuple[str, str, int]]]:
    source = edge.source
    table = source.table.drop_columns([c for c in _DERIVED if c in source.table.column_names])
    clash = [c for c in INTERNAL_EDGE_COLUMNS if c in table.column_names]
    if clash:
        raise source.fail(f"attribute(s) {', '.join(clash)} are reserved by the store; rename them.")
    front = ["_from", "_to"]
    if "_key" in table.column_names:
        keys = _text_column(source, table, "_key")
        _check_unique(source, keys, "_key")
        table = table.set_column(table.column_names.index("_key"), "_key", keys)
        front.insert(0, "_key")
    table = table.set_column(table.column_names.index("_from"), "_from", edge.from_values)
    table = table.set_column(table.column_names.index("_to"), "_to", edge.to_values)
    table = table.select(front + [c for c in table.column_names if c not in front])

    from_found, to_found = edge.found
    dangling = (from_found < 0) | (to_found < 0)
    if dangling.any():
        raise source.fail(_dangling_message(edge, dangling, layout.order))

    from_pos, from_row = layout.locate(from_found)
    to_pos, to_row = layout.locate(to_found)
    for name, values in zip(INTERNAL_EDGE_COLUMNS, (from_pos, from_row, to_pos, to_row), strict=True):
        table = table.append_column(name, pa.array(values))
    return table, _pair_counts(from_pos, to_pos, layout.order)


def _dangling_message(edge: _Edges, dangling: np.ndarray, order: list[str]) -> str:
    first = int(np.flatnonzero(dangling)[0])
    name, values = ("_from", edge.from_values) if edge.found[0][first] < 0 else ("_to", edge.to_values)
    value = values[first].as_py()
    collection = value.split("/", 1)[0]
    reason = (
        f"collection '{collection}' has no such key"
        if collection in order
        else f"no vertex collection '{collection}' is imported"
    )
    return (
        f"{int(dangling.sum())} edge(s) point to vertices that are not imported, "
        f"e.g. {edge.source.where(first)}: {name} {value!r} ({reason})."
    )


def _pair_counts(from_pos: np.ndarray, to_pos: np.ndarray, order: list[str]) -> list[tuple[str, str, int]]:
    width = len(order)
    codes = from_pos.astype(np.int64) * width + to_pos
    if width * width <= 1 << 20:
        counts = np.bincount(codes, minlength=width * width)
        present = np.flatnonzero(counts)
        counts = counts[present]
    else:
        present, counts = np.unique(codes, return_counts=True)
    return [(order[c // width], order[c % width], int(n)) for c, n in zip(present, counts, strict=True)]


def _text_column(source: Source, table: pa.Table, name: str) -> pa.Array:
    """A key or endpoint column as strings; integer keys are accepted and become text."""
    column = table.column(name).combine_chunks()
    field = table.schema.field(name)
    if column.type == pa.int64():
        return pc.cast(column, pa.string())
    if column.type != pa.string() or field.metadata:
        kinds = "mixed or nested values" if field.metadata else f"{column.type} values"
        raise source.fail(f"'{name}' must be a string but the documents hold {kinds}.")
    return column


def _check_unique(source: Source, keys: pa.Array, name: str) -> None:
    present = keys.drop_null()
    if pc.count_distinct(present).as_py() == len(present):
        return
    counts = pc.value_counts(present)
    repeated = pc.filter(counts, pc.greater(counts.field("counts"), 1))
    example = repeated[0]["values"].as_py()
    duplicates = int(pc.sum(pc.subtract(repeated.field("counts"), 1)).as_py())
    rows = np.flatnonzero(pc.fill_null(pc.equal(keys, example), False).to_numpy(zero_copy_only=False))
    raise source.fail(
        f"{duplicates} duplicate {name}(s), e.g. {example!r} at {source.where(int(rows[0]))} "
        f"and {source.where(int(rows[1]))}."
    )


def _first(mask: pa.Array) -> int | None:
    """Position of the first true value, or None."""
    positions = np.flatnonzero(pc.fill_null(mask, False).to_numpy(zero_copy_only=False))
    return int(positions[0]) if positions.size else None


def _schema_with(table: pa.Table, keys: pa.Array, rest: list[str]) -> pa.Schema:
    return pa.schema([pa.field("_key", keys.type), *(table.schema.field(c) for c in rest)])
