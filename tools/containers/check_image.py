"""Run by the Dockerfile in each finished image: does everything its processes load still load and work?

Each image runs some of the processes (``--role``): the engine image the execution agent, the services image
every other process and the ``gaai`` CLI. For each of them it imports what the process's entry module imports at
start; none of these may fail. Then it imports every other module of ``gaai`` and ``graph_analytics_ai`` but the
benchmarks (``gaai.bench`` compares the engine with peer libraries the ``bench`` extra installs; no container runs
it): a module may fail only for want of a package this image leaves to the other one (``--without``), or with a
``missing_dependency`` error, as ``gaai eval`` does without networkx. Last, it makes the calls the code makes
inside functions into the pruned packages: a Parquet round trip through ``pyarrow.dataset`` (what
``pyarrow.parquet.read_table`` uses), and where the image has them, scipy's sparse arrays and strong components
and a numba kernel.
Prints one line and exits 0, or names every failure and exits 1.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import pkgutil
import sys
import tempfile
import traceback
from importlib import metadata
from pathlib import Path

ENGINE_PROCESSES = frozenset({"execution"})
"""The processes the engine image runs; the services image runs every other one and the CLI."""


def entry_modules(role: str) -> dict[str, str]:
    """The module each process of ``role`` runs (``python -m`` or the console script), by process."""
    from graph_analytics_ai.stack import ENTRY_MODULES

    processes = {
        kind: module for kind, module in ENTRY_MODULES.items() if (kind in ENGINE_PROCESSES) == (role == "engine")
    }
    if role == "services":
        (cli,) = metadata.entry_points(group="console_scripts", name="gaai")
        processes["gaai CLI"] = cli.module
    return processes


def start_imports(module: str) -> tuple[str, list[ast.stmt]]:
    """The file ``python -m module`` runs, and its top-level import statements: what it loads before it runs."""
    spec = importlib.util.find_spec(module)
    if spec is not None and spec.submodule_search_locations:
        spec = importlib.util.find_spec(f"{module}.__main__")
    tree = ast.parse(Path(spec.origin).read_text())
    return spec.origin, [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]


def start_failures(role: str) -> list[str]:
    """Each process's start-up imports, run as its entry module runs them (a lazy attribute is loaded too)."""
    failures = []
    for process, module in entry_modules(role).items():
        origin, statements = start_imports(module)
        for statement in statements:
            try:
                exec(compile(ast.Module([statement], []), origin, "exec"), {"__name__": "check_image"})
            except Exception as exc:
                failures.append(f"{process}: {ast.unparse(statement)}: {type(exc).__name__}: {exc}")
    return failures


def import_failures(without: set[str]) -> tuple[list[str], list[str]]:
    """Every module's import: the failures, and the modules left out for want of a package in ``without``."""
    from gaai.bus.errors import GaaiError

    failures, left_out = [], []

    def outcome(name: str, exc: BaseException) -> None:
        if isinstance(exc, ModuleNotFoundError) and (exc.name or "").split(".")[0] in without:
            left_out.append(name)
        elif not (isinstance(exc, GaaiError) and exc.code == "missing_dependency"):
            failures.append(f"{name}: {type(exc).__name__}: {exc}")

    for top in ("gaai", "graph_analytics_ai"):
        package = importlib.import_module(top)
        walked = pkgutil.walk_packages(package.__path__, f"{top}.", onerror=lambda name: None)
        for module in walked:
            if module.name.endswith(".__main__") or module.name.startswith("gaai.bench."):
                continue  # runs the program; benchmarks need the bench extra
            try:
                importlib.import_module(module.name)
            except Exception as exc:  # any import failure is a finding
                outcome(module.name, exc)
    return failures, left_out


def exercise_pruned_packages(without: set[str]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "table.parquet"
        pq.write_table(pa.table({"v": [3, 1, 2]}), path)
        assert pq.read_table(path).column("v").to_pylist() == [3, 1, 2]
    if "scipy" not in without:
        import numpy as np
        import scipy.sparse as sp
        from scipy.sparse.csgraph import connected_components

        cycle = sp.csr_array((np.ones(3), ([0, 1, 2], [1, 2, 0])), shape=(4, 4))
        count, _ = connected_components(cycle, directed=True, connection="strong")
        assert count == 2, count
    if "numba" not in without:
        import numba
        import numpy as np

        @numba.njit(cache=False)
        def total(values: np.ndarray) -> float:
            return values.sum()

        assert total(np.arange(4.0)) == 6.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role", choices=("engine", "services"), required=True)
    parser.add_argument("--without", default="", help="MODULE,MODULE…: top-level packages left to the other image")
    args = parser.parse_args(argv)
    without = set(filter(None, args.without.split(",")))
    failures = start_failures(args.role)
    walk_failures, left_out = import_failures(without)
    failures += walk_failures
    try:
        exercise_pruned_packages(without)
    except Exception:
        failures.append(traceback.format_exc())
    if failures:
        print(f"check_image ({args.role}): the image lacks what gaai loads:", *failures, sep="\n  ", file=sys.stderr)
        return 1
    print(
        f"check_image ({args.role}): {', '.join(entry_modules(args.role))} start; {len(sys.modules)} modules "
        f"imported; left out for want of {', '.join(sorted(without)) or 'nothing'}: {', '.join(left_out) or 'none'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
