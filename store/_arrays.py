"""GraphArrays: a loaded subgraph as integer arrays, with lazy access to vertex keys and labels."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from gaai.bus.domain import EdgeSemantics
from gaai.store._columns import is_json_field
from gaai.store._errors import StoreError

__all__ = ["LABEL_ATTRIBUTES", "GraphArrays"]

LABEL_ATTRIBUTES: tuple[str, ...] = ("name", "title", "label", "username", "email")
"""Attributes tried in order for a vertex's human label; the key is the last resort."""


@dataclass(eq=False)
class GraphArrays:
    """The subgraph made of the selected collections, as a dense vertex space and edge index arrays.

    Vertex ``i`` belongs to ``collections[c]`` where ``offsets[c] <= i < offsets[c + 1]`` and is row
    ``i - offsets[c]`` of that collection's file. Keys and labels are read from the files only when
    asked for, so loading costs only the edge arrays; the object stays picklable for worker processes.

    Attributes:
        num_vertices: Vertices in the subgraph.
        src: Source vertex index of each edge (int32, or int64 beyond 2**31 vertices).
        dst: Target vertex index of each edge, same dtype.
        collections: The selected vertex collections, in vertex order.
        offsets: First vertex index of each collection, plus ``num_vertices`` at the end.
        graph: The graph the subgraph was loaded from.
        version: The graph version it was loaded from.
        vertex_files: Each collection's Parquet file, read for keys and labels.
        weights: Each edge's weight (float64), or None when no selected edge collection is
            weighted; edges of an unweighted collection weigh 1.0.
        undirected: Whether each edge is a tie both ways, or None when every edge is directed.
        edge_semantics: How each selected edge collection was read, in selection order.
    """

    num_vertices: int
    src: np.ndarray
    dst: np.ndarray
    collections: list[str]
    offsets: np.ndarray
    graph: str = ""
    version: str = ""
    vertex_files: list[Path] = field(default_factory=list, repr=False)
    weights: np.ndarray | None = field(default=None, repr=False)
    undirected: np.ndarray | None = field(default=None, repr=False)
    edge_semantics: list[EdgeSemantics] = field(default_factory=list)
    _cache: dict[tuple[str, int], pa.Array] = field(default_factory=dict, init=False, repr=False)

    @property
    def num_edges(self) -> int:
        """How many edges the subgraph has."""
        return int(self.src.shape[0])

    def collection_index(self, indices: np.ndarray | list[int]) -> np.ndarray:
        """Which collection (position in ``collections``) each vertex index belongs to.

        Args:
            indices: Vertex indices in ``[0, num_vertices)``.

        Returns:
            An int64 array of collection positions, one per index.

        Raises:
            StoreError: Code ``bad_request`` when an index is out of range.
        """
        idx = self._checked(indices)
        return np.searchsorted(self.offsets, idx, side="right").astype(np.int64) - 1

    def vertex_ids(self, indices: np.ndarray | list[int]) -> list[str]:
        """The ``collection/key`` ids of the given vertices, in the order given.

        Args:
            indices: Vertex indices in ``[0, num_vertices)``.

        Returns:
            One id per index.
        """
        return self._gather(indices, "ids")

    def keys(self, indices: np.ndarray | list[int]) -> list[str]:
        """The ``_key`` of each given vertex, in the order given."""
        return self._gather(indices, "keys")

    def labels(self, indices: np.ndarray | list[int]) -> list[str]:
        """A human label per vertex: the first non-empty of ``LABEL_ATTRIBUTES``, else its key.

        Args:
            indices: Vertex indices in ``[0, num_vertices)``.

        Returns:
            One label per index.
        """
        return self._gather(indices, "labels")

    def collection_column(self, position: int, what: str) -> pa.Array:
        """Every vertex's key, id or label of one collection, in row order (keys and labels cached; ids are built
        from the keys, as a whole column only for a write: cached, they would hold memory through the summary).

        Args:
            position: The collection's position in ``collections``.
            what: ``"keys"``, ``"ids"`` or ``"labels"``.

        Returns:
            A string array with one entry per vertex of that collection.
        """
        if what == "ids":
            return pc.binary_join_element_wise(
                self.collections[position], self.collection_column(position, "keys"), "/"
            )
        cached = self._cache.get((what, position))
        if cached is not None:
            return cached
        if what == "keys":
            column = self._read(position, ["_key"]).column("_key").combine_chunks()
        else:
            column = self._read_labels(position)
        self._cache[(what, position)] = column
        return column

    def _checked(self, indices: np.ndarray | list[int]) -> np.ndarray:
        idx = np.asarray(indices, dtype=np.int64).ravel()
        if idx.size and (idx.min() < 0 or idx.max() >= self.num_vertices):
            raise StoreError(
                "bad_request", f"Vertex index out of range: the subgraph has {self.num_vertices} vertices."
            )
        return idx

    def _gather(self, indices: np.ndarray | list[int], what: str) -> list[str]:
        idx = self._checked(indices)
        coll = np.searchsorted(self.offsets, idx, side="right") - 1
        out = np.empty(idx.shape[0], dtype=object)
        for position in np.unique(coll):
            selected = coll == position
            rows = pa.array(idx[selected] - self.offsets[position])
            if what == "ids":
                keys = self.collection_column(int(position), "keys").take(rows)
                values = pc.binary_join_element_wise(self.collections[position], keys, "/")
            else:
                values = self.collection_column(int(position), what).take(rows)
            out[selected] = values.to_numpy(zero_copy_only=False)
        return out.tolist()

    def _read(self, position: int, columns: list[str] | None = None) -> pa.Table:
        try:
            if columns is None:
                return pq.read_schema(self.vertex_files[position]).empty_table()
            return pq.read_table(self.vertex_files[position], columns=columns)
        except FileNotFoundError as exc:
            # The graph was replaced or deleted after loading; its old files are gone.
            raise StoreError(
                "graph_changed",
                f"Graph '{self.graph}' changed since it was loaded (version {self.version}); load it again.",
            ) from exc

    def _read_labels(self, position: int) -> pa.Array:
        schema = self._read(position).schema
        # JSON-encoded attributes hold nested or mixed values: not something to show as a name.
        candidates = [
            name
            for name in LABEL_ATTRIBUTES
            if schema.get_field_index(name) >= 0 and not is_json_field(schema.field(name))
        ]
        table = self._read(position, [*candidates, "_key"])
        columns = []
        for name in candidates:
            text = pc.cast(table.column(name).combine_chunks(), pa.string())
            columns.append(pc.if_else(pc.equal(pc.utf8_trim_whitespace(text), ""), None, text))
        return pc.coalesce(*columns, table.column("_key").combine_chunks())
