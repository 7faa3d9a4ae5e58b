"""The GraphStore protocol every backend implements, and where the embedded store lives by default."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pyarrow as pa

from gaai.bus.domain import EdgeSemantics
from gaai.store._arrays import GraphArrays
from gaai.store._registry import GraphInfo
from gaai.store._semantics import FieldStats

__all__ = ["GraphStore", "default_home"]


def default_home() -> Path:
    """The store's home folder: ``$GAAI_HOME``, else ``$XDG_DATA_HOME/gaai``, else ``~/.local/share/gaai``."""
    home = os.environ.get("GAAI_HOME")
    if home:
        return Path(home).expanduser()
    data = os.environ.get("XDG_DATA_HOME")
    return (Path(data).expanduser() if data else Path.home() / ".local" / "share") / "gaai"


@runtime_checkable
class GraphStore(Protocol):
    """What agents and tools need from a graph store; the embedded store and a future ArangoDB one."""

    def list_graphs(self) -> list[GraphInfo]:
        """Every stored graph, sorted by name."""
        ...

    def graph(self, name: str) -> GraphInfo:
        """One graph's info; raises ``GraphNotFoundError`` when absent."""
        ...

    def has_graph(self, name: str) -> bool:
        """Whether a graph of that name exists."""
        ...

    def import_graph(
        self, name: str, paths: list[Path], replace: bool = False, semantics: Sequence[EdgeSemantics] = ()
    ) -> GraphInfo:
        """Create (or with ``replace``, overwrite) a graph from import files, with its edge semantics."""
        ...

    def set_semantics(self, graph: str, semantics: Sequence[EdgeSemantics]) -> GraphInfo:
        """Declare how some edge collections of an imported graph are read."""
        ...

    def check_semantics(self, graph: str, semantics: Sequence[EdgeSemantics]) -> None:
        """Raise ``StoreError`` when a semantics declaration does not fit the graph."""
        ...

    def delete_graph(self, name: str) -> None:
        """Remove a graph and its files."""
        ...

    def sample_documents(self, graph: str, collection: str, limit: int = 200) -> list[dict[str, Any]]:
        """Up to ``limit`` documents spread evenly over a collection."""
        ...

    def edge_endpoint_counts(self, graph: str, edge_collection: str) -> list[tuple[str, str, int]]:
        """(from collection, to collection, edge count) over all edges of one edge collection."""
        ...

    def numeric_field_stats(self, graph: str, collection: str) -> list[FieldStats]:
        """Presence, minimum and maximum of each numeric attribute of a collection, over all documents."""
        ...

    def load_arrays(
        self,
        graph: str,
        vertex_collections: list[str],
        edge_collections: list[str],
        semantics: Sequence[EdgeSemantics] | None = None,
    ) -> GraphArrays:
        """The subgraph made of exactly the given collections, as arrays, read with the semantics in force."""
        ...

    def write_vertex_results(
        self, graph: str, execution_id: str, arrays: GraphArrays, field: str, values: np.ndarray
    ) -> str:
        """Store one value per vertex of ``arrays`` under an execution id; returns a reference."""
        ...

    def read_vertex_results(self, result_ref: str) -> pa.Table:
        """The table a ``write_vertex_results`` reference points to."""
        ...
