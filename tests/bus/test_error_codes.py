"""Error codes are a closed set: every code the code raises or sends is in ``bus.contract.ERROR_CODES``, and back.

The scan reads every module of ours (tests excepted) and finds the calls that carry a code: the error classes
(``GaaiError`` and every subclass of it), ``ErrorInfo``, and whatever declares a ``code`` parameter or field of
type ``ErrorCode``; it also reads comparisons of a ``.code`` with a string.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import get_args

import msgspec

from gaai.bus.contract import ERROR_CODES, ErrorCode, ErrorInfo
from gaai.bus.errors import RequestError

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("agents", "bench", "bus", "eval", "graph_analytics_ai", "orchestrator", "store", "telemetry", "web")


def _modules() -> dict[Path, ast.Module]:
    return {
        path: ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _code_carriers(modules: dict[Path, ast.Module]) -> set[str]:
    """Names of the classes and functions that take an error code first or as ``code=``.

    A subclass of an error class with its own ``__init__`` takes other arguments; its code is found where it
    calls ``super().__init__``.
    """
    carriers = {"GaaiError", "ErrorInfo"}
    classes = [node for tree in modules.values() for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]
    grew = True
    while grew:  # subclasses of subclasses, in any order of definition
        found = {
            c.name
            for c in classes
            if any(_name(base) in carriers for base in c.bases) and _init_takes_code_first(c) is not False
        } - carriers
        carriers |= found
        grew = bool(found)
    for tree in modules.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                if any(arg.arg == "code" and _is_error_code(arg.annotation) for arg in node.args.args):
                    carriers.add(node.name)
            elif isinstance(node, ast.ClassDef):
                fields = [item for item in node.body if isinstance(item, ast.AnnAssign)]
                if any(_name(f.target) == "code" and _is_error_code(f.annotation) for f in fields):
                    carriers.add(node.name)
    return carriers


def _init_takes_code_first(cls: ast.ClassDef) -> bool | None:
    """Whether the class's own ``__init__`` takes ``code`` first; None when it inherits its constructor."""
    for item in cls.body:
        if isinstance(item, ast.FunctionDef) and item.name == "__init__":
            return len(item.args.args) > 1 and item.args.args[1].arg == "code"
    return None


def _is_error_code(annotation: ast.expr | None) -> bool:
    return annotation is not None and ast.unparse(annotation) in ("ErrorCode", "'ErrorCode'")


def _literal_codes(modules: dict[Path, ast.Module], carriers: set[str], indirect: bool = True) -> dict[str, list[str]]:
    """Each string literal given to a carrier → where (``file:line``).

    With ``indirect``, also the codes given to ``super().__init__`` and those compared with a ``.code``.
    """
    found: dict[str, list[str]] = {}

    def record(node: ast.expr | None, path: Path) -> None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.setdefault(node.value, []).append(f"{path.relative_to(ROOT)}:{node.lineno}")

    for path, tree in modules.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                is_super_init = (
                    isinstance(func, ast.Attribute)
                    and func.attr == "__init__"
                    and isinstance(func.value, ast.Call)
                    and _name(func.value.func) == "super"
                )
                if _name(func) in carriers or (indirect and is_super_init):
                    code = next((k.value for k in node.keywords if k.arg == "code"), None)
                    record(code if code is not None else (node.args[0] if node.args else None), path)
            elif indirect and isinstance(node, ast.Compare) and _name(node.left) == "code":
                for right in node.comparators:
                    for item in right.elts if isinstance(right, ast.Tuple | ast.List | ast.Set) else [right]:
                        record(item, path)
    return found


def _scan() -> dict[str, list[str]]:
    modules = _modules()
    return _literal_codes(modules, _code_carriers(modules))


def test_the_literal_and_the_table_list_the_same_codes():
    assert sorted(get_args(ErrorCode)) == sorted(ERROR_CODES)
    assert list(ERROR_CODES) == sorted(ERROR_CODES), "keep ERROR_CODES in alphabetical order"
    vague = [code for code, meaning in ERROR_CODES.items() if not meaning.strip() or "\n" in meaning]
    assert vague == [], f"give each code a one-line meaning: {vague}"


def test_every_code_the_code_uses_is_in_the_set():
    used = _scan()
    unknown = {code: where for code, where in used.items() if code not in ERROR_CODES}
    assert unknown == {}, f"add these codes to bus.contract.ERROR_CODES and ErrorCode: {unknown}"


def test_every_code_in_the_set_is_used():
    unused = sorted(set(ERROR_CODES) - set(_scan()))
    assert unused == [], f"no code raises or sends these codes; remove them from ERROR_CODES and ErrorCode: {unused}"


def test_the_scan_finds_codes_through_subclasses_and_typed_parameters():
    used = _scan()
    assert "store/_errors.py" in " ".join(used["unknown_graph"])  # super().__init__ in a StoreError subclass
    assert any(where.startswith("store/_semantics.py") for where in used["bad_weight"])  # a field of type ErrorCode
    assert any(where.startswith("bus/service.py") for where in used["too_large"])  # a parameter of type ErrorCode
    assert any(where.startswith("agents/catalog/") for where in used["unknown_workflow"])  # exc.code == "..."


def test_a_reader_keeps_a_code_it_does_not_know_and_the_schema_lists_the_set():
    """A newer sender's code must not make an older reader drop the whole message."""
    newer = msgspec.json.decode(b'{"code": "added_later", "message": "m"}', type=ErrorInfo)
    assert newer.code == "added_later"
    schema = msgspec.json.schema(ErrorInfo)
    code = schema["$defs"]["ErrorInfo"]["properties"]["code"]
    assert code["type"] == "string" and code["examples"] == sorted(ERROR_CODES)


def test_the_readme_lists_every_request_error_code():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("| request error code |", 1)[1].split("\n\n", 1)[0]
    listed = re.findall(r"^\| `([a-z_]+)` \|", table, flags=re.M)
    assert sorted(set(listed) - set(ERROR_CODES)) == [], "the README lists codes that do not exist"
    modules = _modules()
    raised_by_requests = _literal_codes(modules, {RequestError.__name__, "error_reply"}, indirect=False)
    missing = sorted(set(raised_by_requests) - set(listed))
    assert missing == [], f"the README's request error table lacks {missing}"
