"""Reading import files into Arrow tables: ArangoDB JSON exports and CSV edge lists.

JSON lines go through Arrow's multi-threaded JSON reader when every attribute has one scalar type;
otherwise (nested values, mixed types) through an exact per-document path. CSV goes through Arrow's
CSV reader. Dates and times stay the strings they were in the file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import msgspec
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson

from gaai.store._columns import SCALAR_TYPES, table_from_documents
from gaai.store._errors import GraphImportError, is_valid_name

__all__ = ["SUFFIXES", "Source", "expand_paths", "read_source"]

SUFFIXES = (".jsonl", ".json", ".csv")
_ENDPOINT_HEADERS = (("_from", "_to"), ("source", "target"), ("from", "to"))
_decode_json = msgspec.json.Decoder().decode


@dataclass
class Source:
    """One import file read into a table.

    Attributes:
        path: The file.
        collection: The collection it fills (the file stem).
        format: ``"json"`` or ``"csv"``.
        kind: ``"vertex"`` or ``"edge"``.
        table: Its documents; CSV endpoint columns are already renamed ``_from``/``_to``.
        where: Describes where row ``i`` sits in the file, for error messages.
    """

    path: Path
    collection: str
    format: Literal["json", "csv"]
    kind: Literal["vertex", "edge"]
    table: pa.Table
    where: Callable[[int], str]

    def fail(self, problem: str) -> GraphImportError:
        """An import error naming this file."""
        return GraphImportError(f"{self.path.name}: {problem}")


def expand_paths(paths: Iterable[Path | str]) -> list[Path]:
    """Resolve the import arguments to files: a directory stands for its supported files, sorted.

    Raises:
        GraphImportError: A path does not exist, has an unsupported suffix, or nothing is given.
    """
    files: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)
            if not found:
                raise GraphImportError(f"{path}: the directory holds no .jsonl, .json or .csv files.")
            files.extend(found)
        elif not path.is_file():
            raise GraphImportError(f"{path}: no such file.")
        elif path.suffix.lower() not in SUFFIXES:
            raise GraphImportError(f"{path.name}: unsupported file type; use .jsonl, .json or .csv.")
        else:
            files.append(path)
    if not files:
        raise GraphImportError("Nothing to import: give at least one .jsonl, .json or .csv file.")
    return files


def read_source(path: Path) -> Source:
    """Read one import file; the collection is named after the file stem.

    Raises:
        GraphImportError: The name is invalid, the file cannot be parsed, or its documents mix
            vertices and edges.
    """
    collection = path.stem
    if not is_valid_name(collection):
        raise GraphImportError(
            f"{path.name}: '{collection}' is not a valid collection name; use 1-128 letters, digits, "
            "'_' or '-', starting with a letter or '_' (rename the file)."
        )
    if path.suffix.lower() == ".csv":
        table = _read_csv(path)
        return Source(path, collection, "csv", "edge", table, lambda i: f"line {i + 2}")
    table, where = _read_json(path)
    names = set(table.column_names)
    kind: Literal["vertex", "edge"] = "edge" if names & {"_from", "_to"} else "vertex"
    return Source(path, collection, "json", kind, table, where)


def _read_json(path: Path) -> tuple[pa.Table, Callable[[int], str]]:
    data = path.read_bytes()
    if data.lstrip()[:1] == b"[":
        # arangoexport --type json writes one array rather than lines.
        try:
            docs = _decode_json(data)
        except msgspec.DecodeError as exc:
            raise GraphImportError(f"{path.name}: not valid JSON ({exc}).") from exc

        def where(i: int) -> str:
            return f"document {i + 1}"

        return _exact_table(path, docs, where), where
    where = _line_locator(path)
    table = _fast_json_lines(data)
    if table is None:
        docs = []
        for number, line in enumerate(data.split(b"\n"), 1):
            if line.strip():
                try:
                    docs.append(_decode_json(line))
                except msgspec.DecodeError as exc:
                    raise GraphImportError(f"{path.name}, line {number}: not valid JSON ({exc}).") from exc
        table = _exact_table(path, docs, where)
    return table, where


def _exact_table(path: Path, docs: object, where: Callable[[int], str]) -> pa.Table:
    if not isinstance(docs, list):
        raise GraphImportError(f"{path.name}: expected JSON objects, one per line or in one array.")
    try:
        return table_from_documents(docs, where)
    except ValueError as exc:
        raise GraphImportError(f"{path.name}, {exc}.") from exc


def _fast_json_lines(data: bytes) -> pa.Table | None:
    """Arrow's JSON reader, or None when the documents need the exact path."""
    try:
        table = pajson.read_json(io.BytesIO(data))
        temporal = [f.name for f in table.schema if pa.types.is_temporal(f.type)]
        if temporal:
            # Arrow turns date-like strings into timestamps; read those columns again as text.
            order = table.column_names
            explicit = pa.schema([(name, pa.string()) for name in temporal])
            options = pajson.ParseOptions(explicit_schema=explicit, unexpected_field_behavior="infer")
            table = pajson.read_json(io.BytesIO(data), parse_options=options).select(order)
    except pa.ArrowInvalid:
        return None
    if not all(f.type in SCALAR_TYPES or f.type == pa.null() for f in table.schema):
        return None
    return table.select([f.name for f in table.schema if f.type != pa.null()])


def _line_locator(path: Path) -> Callable[[int], str]:
    def where(i: int) -> str:
        # Only error messages need line numbers, so the file is scanned again only then.
        with path.open("rb") as lines:
            seen = -1
            for number, line in enumerate(lines, 1):
                if line.strip():
                    seen += 1
                    if seen == i:
                        return f"line {number}"
        return f"document {i + 1}"

    return where


def _read_csv(path: Path) -> pa.Table:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            header = next(csv.reader(handle), None)
    except UnicodeDecodeError as exc:
        raise GraphImportError(f"{path.name}: not UTF-8 text ({exc}).") from exc
    if not header:
        raise GraphImportError(f"{path.name}: empty file; expected a header line such as '_from,_to'.")
    names = [raw.strip() for raw in header]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise GraphImportError(f"{path.name}: the header repeats column(s) {', '.join(duplicates)}.")
    by_lower = {name.lower(): raw for name, raw in zip(names, header, strict=True)}
    pair = next(((by_lower[a], by_lower[b]) for a, b in _ENDPOINT_HEADERS if a in by_lower and b in by_lower), None)
    if pair is None:
        raise GraphImportError(
            f"{path.name}: the header needs endpoint columns '_from,_to', 'source,target' or 'from,to'; "
            f"found: {', '.join(names)}."
        )
    text_columns = {pair[0], pair[1], *(raw for name, raw in zip(names, header, strict=True) if name == "_key")}
    table = _csv_table(path, text_columns)
    retype = {f.name for f in table.schema if f.type not in SCALAR_TYPES and f.type != pa.null()}
    if retype:
        # Dates, times and decimals stay the text they were, as they do for JSON.
        table = _csv_table(path, text_columns | retype)
    renamed = {pair[0]: "_from", pair[1]: "_to"}
    table = table.rename_columns([renamed.get(raw, raw.strip()) for raw in table.column_names])
    return table.select([f.name for f in table.schema if f.type != pa.null()])


def _csv_table(path: Path, text_columns: set[str]) -> pa.Table:
    options = pacsv.ConvertOptions(column_types={name: pa.string() for name in text_columns}, strings_can_be_null=False)
    try:
        table = pacsv.read_csv(path, convert_options=options)
    except pa.ArrowInvalid as exc:
        raise GraphImportError(f"{path.name}: cannot parse the CSV ({exc}).") from exc
    binary = [f.name for f in table.schema if pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type)]
    if binary:
        raise GraphImportError(f"{path.name}: column(s) {', '.join(binary)} are not UTF-8 text.")
    return table
