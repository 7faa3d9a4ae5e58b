"""The GraphStore protocol every backend implements, and where the embedded store lives by default."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pyarrow as pa

from store._arrays import GraphArrays
from store._registry import GraphInfo

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

    def import_graph(self, name: str, paths: list[Path], replace: bool = False) -> GraphInfo:
        """Create (or with ``replace``, overwrite) a graph from import files."""
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

    def load_arrays(self, graph: str, vertex_collections: list[str], edge_collections: list[str]) -> GraphArrays:
        """The subgraph made of exactly the given collections, as integer arrays."""
        ...

    def write_vertex_results(
        self, graph: str, execution_id: str, arrays: GraphArrays, field: str, values: np.ndarray
    ) -> str:
        """Store one value per vertex of ``arrays`` under an execution id; returns a reference."""
        ...

    def read_vertex_results(self, result_ref: str) -> pa.Table:
        """The table a ``write_vertex_results`` reference points to."""
        ...
