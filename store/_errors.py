"""The store's errors and the name rules every backend shares.

    GaaiError (bus.errors)
    └── StoreError                 any store failure; ``code`` says which
        ├── GraphNotFoundError     "unknown_graph": no graph of that name
        ├── GraphImportError       "bad_import": the files cannot become a graph
        └── GraphExistsError       "graph_exists": import without ``replace`` over an existing graph

Other ``StoreError`` codes: ``bad_name``, ``unknown_collection``, ``duplicate_collection``,
``bad_request``, ``bad_result_ref``, ``unknown_result`` and ``graph_changed`` (the graph was
replaced or deleted while it was being read; trying again helps).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from gaai.bus.errors import GaaiError

__all__ = [
    "GraphExistsError",
    "GraphImportError",
    "GraphNotFoundError",
    "StoreError",
    "check_name",
    "is_valid_name",
]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,127}$")


class StoreError(GaaiError):
    """A graph store operation failed; ``code`` is machine-readable, the message is for people."""


class GraphNotFoundError(StoreError):
    """No graph of the asked name; the message lists the graphs that do exist."""

    def __init__(self, name: str, known: Iterable[str]) -> None:
        known = sorted(known)
        listing = ", ".join(known) if known else "none (import one first)"
        super().__init__("unknown_graph", f"Graph '{name}' does not exist. Known graphs: {listing}.")
        self.name = name
        self.known = known


class GraphImportError(StoreError):
    """Input files that cannot become a graph; the message names the file and the problem."""

    def __init__(self, message: str) -> None:
        super().__init__("bad_import", message)


class GraphExistsError(StoreError):
    """An import would overwrite an existing graph and ``replace`` was not asked for."""

    def __init__(self, name: str) -> None:
        super().__init__("graph_exists", f"Graph '{name}' already exists; import with replace=True to overwrite it.")
        self.name = name


def is_valid_name(name: object) -> bool:
    """Whether ``name`` is a valid graph or collection name.

    Args:
        name: The candidate name.

    Returns:
        True for 1–128 characters of letters, digits, ``_`` and ``-`` starting with a letter or ``_``.
    """
    return isinstance(name, str) and _NAME.fullmatch(name) is not None


def check_name(name: object, what: str = "graph") -> str:
    """Return ``name`` when valid; raise otherwise.

    Names become file and directory names, so this check is also what keeps paths inside the store.

    Args:
        name: The candidate name.
        what: What is being named, for the message.

    Returns:
        The name, unchanged.

    Raises:
        StoreError: Code ``bad_name`` when the name breaks the rule.
    """
    if not is_valid_name(name):
        raise StoreError(
            "bad_name",
            f"Invalid {what} name {name!r}: use 1-128 letters, digits, '_' or '-', starting with a letter or '_'.",
        )
    return name  # type: ignore[return-value]
