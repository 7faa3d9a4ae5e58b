"""How documents become Parquet columns and back.

An attribute whose values are all strings, all booleans, all integers or all numbers becomes a
typed column (integers mixed with decimals become float64). Anything else — nested objects, arrays,
mixed types — becomes a string column of JSON text whose field metadata says so, so the values
come back exactly. A missing attribute and an explicit ``null`` are both stored as a null and read
back as an absent attribute (AQL reads both as ``null`` too).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
import pyarrow as pa

__all__ = [
    "JSON_METADATA",
    "SCALAR_TYPES",
    "documents_from_table",
    "is_json_field",
    "table_from_documents",
]

JSON_METADATA = {b"gaai.encoding": b"json"}
SCALAR_TYPES = (pa.string(), pa.int64(), pa.float64(), pa.bool_())

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_encode_json = msgspec.json.Encoder().encode
_decode_json = msgspec.json.Decoder().decode


def is_json_field(field: pa.Field) -> bool:
    """Whether a column holds JSON text standing for nested or mixed-type values."""
    return bool(field.metadata) and field.metadata.get(b"gaai.encoding") == b"json"


def table_from_documents(docs: list[Any], where: Callable[[int], str]) -> pa.Table:
    """Turn decoded JSON documents into a table, one column per attribute, in first-seen order.

    This is the exact path for documents the vectorised JSON reader cannot type; it visits every
    document in Python.

    Args:
        docs: Decoded JSON values, each expected to be an object.
        where: Describes the location of document ``i`` for error messages (e.g. ``"line 7"``).

    Returns:
        A table with one row per document.

    Raises:
        ValueError: A document is not a JSON object; the message says where.
    """
    columns: dict[str, dict[int, Any]] = {}
    for i, doc in enumerate(docs):
        if not isinstance(doc, dict):
            raise ValueError(f"{where(i)}: expected a JSON object, found {_json_type(doc)}")
        for name, value in doc.items():
            if value is not None:
                columns.setdefault(name, {})[i] = value
    fields, arrays = [], []
    for name, present in columns.items():
        field, array = _encode_column(name, present, len(docs))
        fields.append(field)
        arrays.append(array)
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def documents_from_table(table: pa.Table) -> list[dict[str, Any]]:
    """Rows of a stored table as plain dicts: nulls dropped, JSON-text columns decoded."""
    json_columns = {field.name for field in table.schema if is_json_field(field)}
    docs = []
    for row in table.to_pylist():
        doc = {}
        for name, value in row.items():
            if value is None:
                continue
            doc[name] = _decode_json(value) if name in json_columns else value
        docs.append(doc)
    return docs


def _encode_column(name: str, present: dict[int, Any], length: int) -> tuple[pa.Field, pa.Array]:
    kinds = {type(value) for value in present.values()}
    values = [present.get(i) for i in range(length)]
    if kinds == {str}:
        return pa.field(name, pa.string()), pa.array(values, pa.string())
    if kinds == {bool}:
        return pa.field(name, pa.bool_()), pa.array(values, pa.bool_())
    if kinds == {int} and all(_INT64_MIN <= v <= _INT64_MAX for v in present.values()):
        return pa.field(name, pa.int64()), pa.array(values, pa.int64())
    if kinds in ({float}, {int, float}) and all(abs(v) < 2**53 for v in present.values() if type(v) is int):
        return pa.field(name, pa.float64()), pa.array(values, pa.float64())
    text = [None if v is None else _encode_json(v).decode() for v in values]
    return pa.field(name, pa.string(), metadata=JSON_METADATA), pa.array(text, pa.string())


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if value is None:
        return "null"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"
