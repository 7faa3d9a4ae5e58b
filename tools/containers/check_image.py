"""Run by the Dockerfile after it prunes and strips the virtualenv: does everything gaai loads still load and work?

Imports every module of ``gaai`` and ``graph_analytics_ai`` but the benchmarks (``gaai.bench`` compares the
engine with peer libraries the ``bench`` extra installs; no container runs it). Any other module that needs an
optional extra must say so with a ``missing_dependency`` error, as ``gaai eval`` does without networkx. Then it
makes the calls the code makes inside functions into the pruned packages: a Parquet round trip through
``pyarrow.dataset`` (what ``pyarrow.parquet.read_table`` uses), scipy's sparse arrays and strong components,
and a numba kernel.
Prints one line and exits 0, or names every failure and exits 1.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import tempfile
import traceback
from pathlib import Path


def import_failures() -> list[str]:
    from gaai.bus.errors import GaaiError

    failures = []
    for top in ("gaai", "graph_analytics_ai"):
        package = importlib.import_module(top)
        for module in pkgutil.walk_packages(package.__path__, f"{top}."):
            if module.name.endswith(".__main__") or module.name.startswith("gaai.bench."):
                continue  # runs the program; benchmarks need the bench extra
            try:
                importlib.import_module(module.name)
            except GaaiError as exc:
                if exc.code != "missing_dependency":
                    failures.append(f"{module.name}: {exc.code}: {exc}")
            except Exception as exc:  # any import failure is a finding
                failures.append(f"{module.name}: {type(exc).__name__}: {exc}")
    return failures


def exercise_pruned_packages() -> None:
    import numba
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "table.parquet"
        pq.write_table(pa.table({"v": [3, 1, 2]}), path)
        assert pq.read_table(path).column("v").to_pylist() == [3, 1, 2]

    cycle = sp.csr_array((np.ones(3), ([0, 1, 2], [1, 2, 0])), shape=(4, 4))
    count, _ = connected_components(cycle, directed=True, connection="strong")
    assert count == 2, count

    @numba.njit(cache=False)
    def total(values: np.ndarray) -> float:
        return values.sum()

    assert total(np.arange(4.0)) == 6.0


def main() -> int:
    failures = import_failures()
    try:
        exercise_pruned_packages()
    except Exception:
        failures.append(traceback.format_exc())
    if failures:
        print("check_image: the virtualenv lacks what gaai loads:", *failures, sep="\n  ", file=sys.stderr)
        return 1
    print(f"check_image: {len(sys.modules)} modules imported, pyarrow, scipy.sparse and numba work")
    return 0


if __name__ == "__main__":
    sys.exit(main())
