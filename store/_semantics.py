"""Edge semantics on stored files: checking a declaration, reading weights, numeric field statistics.

A declared weight must be a finite number ≥ 0 on every edge of its collection: the ranking
and community algorithms read it as a strength, the path-based ones as a length (each report
says which), and neither means anything for a missing, negative or infinite value.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from gaai.bus.contract import ErrorCode
from gaai.bus.domain import EdgeSemantics
from gaai.store._importer import INTERNAL_EDGE_COLUMNS

__all__ = ["FieldStats", "SemanticsProblem", "field_stats", "read_weights", "semantics_problem"]

_NOT_ATTRIBUTES = frozenset({"_key", "_id", "_from", "_to", "_rev", *INTERNAL_EDGE_COLUMNS})
_NUMBER_TEXT = r"^\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*$"


@dataclass(frozen=True)
class SemanticsProblem:
    """Why a semantics declaration cannot hold: ``code`` (``unknown_collection``,
    ``duplicate_collection`` or ``bad_weight``) and a sentence for people."""

    code: ErrorCode
    message: str


@dataclass(frozen=True)
class FieldStats:
    """One numeric attribute of a collection over all its documents.

    Attributes:
        name: The attribute.
        present: Documents holding a number in it.
        total: Documents in the collection.
        minimum: The smallest value (NaN when none is present).
        maximum: The largest value (NaN when none is present).
    """

    name: str
    present: int
    total: int
    minimum: float
    maximum: float


def semantics_problem(
    graph: str,
    vertex_collections: Iterable[str],
    edge_files: dict[str, Path],
    semantics: Sequence[EdgeSemantics],
) -> SemanticsProblem | None:
    """The first thing wrong with a declaration for a graph's files, or None when it holds.

    Args:
        graph: The graph's name, for messages.
        vertex_collections: Its vertex collections.
        edge_files: Each edge collection's Parquet file.
        semantics: The declaration, at most one entry per edge collection.
    """
    seen: set[str] = set()
    edges = ", ".join(edge_files) or "none"
    for entry in semantics:
        name = entry.collection
        if name in seen:
            return SemanticsProblem("duplicate_collection", f"Edge collection '{name}' is declared more than once.")
        seen.add(name)
        if name not in edge_files:
            what = "is a vertex collection" if name in set(vertex_collections) else "is not a collection"
            return SemanticsProblem(
                "unknown_collection",
                f"'{name}' {what} of graph '{graph}'; direction and weight are declared for its edge "
                f"collections: {edges}.",
            )
        if entry.weight_field is not None:
            problem = _weight_problem(name, edge_files[name], entry.weight_field)
            if problem:
                return SemanticsProblem("bad_weight", problem)
    return None


def read_weights(path: Path, weight_field: str) -> np.ndarray:
    """Every edge's weight in file order, as float64 (the field was checked when declared)."""
    column = pq.read_table(path, columns=[weight_field], memory_map=True).column(weight_field)
    return np.asarray(pc.cast(column, pa.float64()).to_numpy(), dtype=np.float64)


def field_stats(path: Path) -> list[FieldStats]:
    """Presence, minimum and maximum of every integer or floating-point attribute of a collection file."""
    schema = pq.read_schema(path)
    numeric = [
        f.name
        for f in schema
        if f.name not in _NOT_ATTRIBUTES and (pa.types.is_integer(f.type) or pa.types.is_floating(f.type))
    ]
    if not numeric:
        return []
    table = pq.read_table(path, columns=numeric, memory_map=True)
    stats = []
    for name in numeric:
        column = table.column(name)
        present = len(column) - column.null_count
        bounds = pc.min_max(column)
        low, high = bounds["min"].as_py(), bounds["max"].as_py()
        stats.append(
            FieldStats(
                name=name,
                present=present,
                total=len(column),
                minimum=math.nan if low is None else float(low),
                maximum=math.nan if high is None else float(high),
            )
        )
    return stats


def _weight_problem(collection: str, path: Path, weight_field: str) -> str | None:
    schema = pq.read_schema(path)
    if weight_field in _NOT_ATTRIBUTES or schema.get_field_index(weight_field) < 0:
        numeric = [s.name for s in field_stats(path)]
        listing = f"its numeric fields: {', '.join(numeric)}" if numeric else "it has no numeric field"
        return f"Edge collection '{collection}' has no field '{weight_field}' to use as weight ({listing})."
    field = schema.field(weight_field)
    column = pq.read_table(path, columns=[weight_field]).column(weight_field).combine_chunks()
    total = len(column)
    missing = column.is_null()
    if pa.types.is_integer(field.type) or pa.types.is_floating(field.type):
        values = pc.cast(column, pa.float64())
        not_number = pa.array(np.zeros(total, dtype=bool))
        out_of_range = pc.fill_null(pc.invert(pc.and_(pc.is_finite(values), pc.greater_equal(values, 0.0))), False)
    elif field.type == pa.string():
        # Text holding numbers: a CSV column with one stray value, or JSON text of mixed types.
        text = pc.utf8_trim_whitespace(column)
        missing = pc.fill_null(pc.equal(text, ""), True)
        numeric_text = pc.fill_null(pc.match_substring_regex(text, _NUMBER_TEXT), False)
        not_number = pc.and_(pc.invert(missing), pc.invert(numeric_text))
        out_of_range = pc.fill_null(pc.starts_with(text, "-"), False)
        if not pc.any(not_number).as_py():
            # Every value is a number written as text ("2"): text all the same, not a number.
            not_number = pc.invert(missing)
    else:
        not_number = pc.invert(missing)
        out_of_range = pa.array(np.zeros(total, dtype=bool))
    counts = [
        (mask, text)
        for mask, text in (
            (missing, "missing"),
            (not_number, "not a number"),
            (pc.and_(out_of_range, pc.invert(not_number)), "negative or infinite"),
        )
        if pc.sum(pc.cast(mask, pa.int64())).as_py()
    ]
    if not counts:
        return None
    noun = "edge" if total == 1 else "edges"
    parts = [f"{text} on {pc.sum(pc.cast(mask, pa.int64())).as_py():,} of {total:,} {noun}" for mask, text in counts]
    first_mask, first_problem = counts[0]
    row = int(np.flatnonzero(first_mask.to_numpy(zero_copy_only=False))[0])
    ends = pq.read_table(path, columns=["_from", "_to"]).slice(row, 1).to_pylist()[0]
    shown = "no value" if first_problem == "missing" else repr(column[row].as_py())
    return (
        f"Edge collection '{collection}': weight field '{weight_field}' is {' and '.join(parts)} "
        f"(e.g. the edge {ends['_from']} -> {ends['_to']} has {shown}); a weight must be a number >= 0 on every edge."
    )
