"""``python -m gaai.agents.execution.precompile``: fill numba's on-disk cache with every kernel of the engine.

The container image runs this at build time, as its runtime user and with the image's
``NUMBA_CACHE_DIR``, so that an execution agent starting in a fresh container loads the
machine code instead of compiling it. It makes the call the agent makes at start,
``load_compiled_kernels``, and prints how many kernels it compiled or loaded, how long
that took and where the cache is.

numba picks a kernel's cache directory when the engine is imported, and it quietly falls
back from ``NUMBA_CACHE_DIR`` to the ``__pycache__`` next to the engine, then to
``~/.cache/numba``, when the directory is not writable, or keeps no cache at all. A build
that filled the wrong directory would ship an image that compiles at every start, so
this stops with exit code 2 before compiling anything when a kernel is not cached where
``NUMBA_CACHE_DIR`` says; with exit code 1 when compiling fails.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from numba.core import config as numba_config
from numba.core.registry import CPUDispatcher

from gaai.agents.execution import engine


def misplaced_caches(kernels: dict[str, CPUDispatcher]) -> list[str]:
    """One line per kernel that numba will not cache in ``NUMBA_CACHE_DIR`` (or anywhere, when it is unset)."""
    wanted = Path(numba_config.CACHE_DIR).resolve() if numba_config.CACHE_DIR else None
    problems = []
    for name, kernel in kernels.items():
        cache_path = kernel.stats.cache_path
        if cache_path is None:
            problems.append(f"{name}: numba keeps no on-disk cache (no cache directory is writable)")
        elif wanted is not None and not Path(cache_path).resolve().is_relative_to(wanted):
            problems.append(f"{name}: numba caches it in {cache_path}, not under NUMBA_CACHE_DIR")
    return problems


def main() -> int:
    kernels = engine.compiled_kernels()
    problems = misplaced_caches(kernels)
    if problems:
        setting = numba_config.CACHE_DIR or "unset"
        print(
            f"error: the engine's kernels would not be cached in NUMBA_CACHE_DIR ({setting}) as uid {os.getuid()}:",
            file=sys.stderr,
        )
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        print("fix: set NUMBA_CACHE_DIR to a directory this user can create files in", file=sys.stderr)
        return 2
    started = time.perf_counter()
    try:
        engine.load_compiled_kernels()
    except Exception as exc:  # a numba typing or lowering error names the kernel and the line
        print(f"error: compiling the engine's kernels failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    seconds = time.perf_counter() - started
    compiled = sum(sum(kernel.stats.cache_misses.values()) for kernel in kernels.values())
    loaded = sum(sum(kernel.stats.cache_hits.values()) for kernel in kernels.values())
    cache_dirs = sorted({kernel.stats.cache_path for kernel in kernels.values()})
    print(
        f"{len(kernels)} kernels: {compiled} signatures compiled, {loaded} loaded from the cache, "
        f"in {seconds:.1f} s; cache: {', '.join(cache_dirs)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
