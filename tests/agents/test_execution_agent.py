"""The execution agent's workers: forked with the engine's compiled kernels already loaded."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time

from gaai.agents.execution import engine
from gaai.agents.execution.handler import handle
from gaai.agents.lib.cpu_pool import CpuPool
from tests.processes import process_alive


def loaded_signatures() -> dict[str, int]:
    """How many compiled signatures each of the engine's kernels holds in this process."""
    return {name: len(kernel.signatures) for name, kernel in engine.compiled_kernels().items()}


def signatures_before_and_after_running_every_algorithm() -> tuple[dict[str, int], dict[str, int]]:
    before = loaded_signatures()
    engine.load_compiled_kernels()
    return before, loaded_signatures()


def test_a_worker_starts_with_every_kernel_loaded():
    """The agent's forkserver preloads the handler's module: in a worker forked from it, running every algorithm loads
    no kernel."""
    pool = CpuPool(1, preload=[handle.__module__, "gaai.store"])
    before, after = asyncio.run(pool.run(signatures_before_and_after_running_every_algorithm))
    assert before == after
    assert sum(count > 0 for count in before.values()) >= 9


CACHE_PROBE = """
import json
from gaai.agents.execution import engine

engine.load_compiled_kernels()
print(json.dumps({
    name: {
        "signatures": len(kernel.signatures),
        "compiled": sum(kernel.stats.cache_misses.values()),
        "loaded": sum(kernel.stats.cache_hits.values()),
        "cache_path": kernel.stats.cache_path,
    }
    for name, kernel in engine.compiled_kernels().items()
}))
"""


def test_precompile_fills_numba_cache_dir_so_a_fresh_process_loads_every_kernel_without_compiling(tmp_path):
    """What the image's build step does: ``python -m gaai.agents.execution.precompile`` compiles every kernel into
    NUMBA_CACHE_DIR; a later process with the same NUMBA_CACHE_DIR, as a container's agent, compiles none."""
    cache = tmp_path / "numba"
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    precompiled = subprocess.run(
        [sys.executable, "-m", "gaai.agents.execution.precompile"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        stdin=subprocess.DEVNULL,
    )
    assert precompiled.returncode == 0, precompiled.stderr
    kernels = set(loaded_signatures())
    report = re.match(r"(\d+) kernels: (\d+) signatures compiled, (\d+) loaded from the cache", precompiled.stdout)
    assert report, precompiled.stdout
    assert int(report[1]) == len(kernels) and int(report[2]) > 0 and int(report[3]) == 0, precompiled.stdout
    assert {index.name.split("-")[0] for index in cache.rglob("*.nbi")} == kernels

    started = subprocess.run(
        [sys.executable, "-c", CACHE_PROBE],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert started.returncode == 0, started.stderr
    probe = json.loads(started.stdout.splitlines()[-1])
    assert set(probe) == kernels
    compiled_again = {name: stats["compiled"] for name, stats in probe.items() if stats["compiled"]}
    assert not compiled_again, f"a process with the filled cache compiled {compiled_again}"
    assert all(stats["loaded"] == stats["signatures"] for stats in probe.values()), probe
    assert sum(stats["loaded"] for stats in probe.values()) > 0
    assert all(stats["cache_path"].startswith(f"{cache}/") for stats in probe.values()), probe


def test_precompile_stops_before_compiling_when_numba_cannot_use_numba_cache_dir(tmp_path):
    """A NUMBA_CACHE_DIR the user cannot create files in makes numba cache elsewhere: the build step fails and says
    so."""
    (tmp_path / "a-file").write_text("")
    unusable = tmp_path / "a-file" / "numba"
    env = {**os.environ, "NUMBA_CACHE_DIR": str(unusable)}
    refused = subprocess.run(
        [sys.executable, "-m", "gaai.agents.execution.precompile"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert f"NUMBA_CACHE_DIR ({unusable})" in refused.stderr
    assert all(f"{name}: numba caches it in" in refused.stderr for name in loaded_signatures()), refused.stderr
    assert refused.stdout == ""


FORKSERVER_PROBE = """
import asyncio, os
from gaai.agents.lib.cpu_pool import CpuPool

def children():
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
                command = open(f"/proc/{entry}/cmdline", "rb").read()
            except OSError:
                continue
            if int(stat[1]) == os.getpid():
                found.append(command)
    return found

async def main():
    before = children()
    await CpuPool(1, preload=["gaai.agents.execution.handler", "gaai.store"]).start()
    after = children()
    print(sum(b"forkserver" in c for c in before), sum(b"forkserver" in c for c in after))

asyncio.run(main())
"""


def test_the_forkserver_runs_before_the_first_task():
    """An agent starts its forkserver when it starts, off the loop: the first task does not wait for the preloaded
    imports."""
    done = subprocess.run(
        [sys.executable, "-c", FORKSERVER_PROBE], capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "1"]


ORPHAN_PROBE = """
import asyncio, os, sys, time
from gaai.agents.lib.cpu_pool import CpuPool

def note_pid_then_work(marker):
    with open(marker, "w") as file:
        file.write(str(os.getpid()))
    time.sleep(30)
    with open(marker + ".finished", "w") as file:
        file.write("the worker outlived its agent")

if __name__ == "__main__":
    asyncio.run(CpuPool(1, preload=[]).run(note_pid_then_work, sys.argv[1]))
"""


def test_a_worker_dies_with_its_sigkilled_agent(tmp_path):
    """A worker does not outlive its SIGKILLed agent, so it cannot rewrite results after the task moved on to another
    replica."""
    probe = tmp_path / "probe.py"
    probe.write_text(ORPHAN_PROBE)
    marker = tmp_path / "worker.pid"
    agent = subprocess.Popen([sys.executable, str(probe), str(marker)], stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not (marker.exists() and marker.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        worker = int(marker.read_text())
    finally:
        agent.kill()
        agent.wait()
    deadline = time.monotonic() + 10
    while process_alive(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = process_alive(worker)
    if alive:
        os.kill(worker, signal.SIGKILL)
    assert not alive, "the worker kept running after its agent was killed"
    assert not (tmp_path / "worker.pid.finished").exists()
