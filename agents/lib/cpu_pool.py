"""``CpuPool``: CPU-bound work of an agent in child processes, so its event loop keeps serving."""

from __future__ import annotations

import asyncio
import multiprocessing
import multiprocessing.forkserver
import os
import select
import signal
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from gaai.bus.errors import GaaiError, TaskError

T = TypeVar("T")


def _die_with(agent_pid: int) -> None:
    """Kill this worker as soon as the agent that started it exits (Linux 5.3+: a pidfd).

    Nothing else ends it: a worker is the forkserver's child, and the forkserver stays up
    while any worker holds the liveness pipe it inherits from the agent. A worker that
    outlived a SIGKILLed agent would finish its computation and rewrite the results that
    the task's redelivery to another replica has written since.
    """
    try:
        agent = os.pidfd_open(agent_pid)
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):
        return  # no pidfd on this system: a worker may outlive a killed agent here

    def watch() -> None:
        select.select([agent], [], [])
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="agent-watch", daemon=True).start()


def _child(connection: Connection, function: Callable[..., Any], args: tuple, agent_pid: int) -> None:
    _die_with(agent_pid)
    try:
        outcome: tuple[bool, Any] = (True, function(*args))
    except GaaiError as exc:
        outcome = (False, exc)
    except Exception as exc:  # reported to the parent, which decides
        outcome = (False, TaskError("internal", f"{type(exc).__name__}: {exc}"))
    connection.send(outcome)
    connection.close()


class CpuPool:
    """One child process per CPU-bound call, at most ``workers`` at once.

    Children come from a forkserver: a plain fork of a process whose threads have run
    (the engine's kernels run on threads) can inherit a lock held by a thread that the
    child does not have. A fresh child per call can be killed when it overruns its time
    limit without disturbing other tasks.
    """

    def __init__(self, workers: int, preload: list[str]) -> None:
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(preload)
        self._slots = asyncio.Semaphore(workers)

    async def start(self) -> None:
        """Start the forkserver off the event loop; otherwise the first call's ``Process.start``
        blocks the loop while the forkserver imports the preloaded modules (over a second for
        the execution agent), and heartbeats and other tasks wait that long."""
        await asyncio.get_running_loop().run_in_executor(None, multiprocessing.forkserver.ensure_running)

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        async with self._slots:
            receiver, sender = self._context.Pipe(duplex=False)
            process = self._context.Process(target=_child, args=(sender, function, args, os.getpid()), daemon=True)
            process.start()
            sender.close()
            loop = asyncio.get_running_loop()
            try:
                try:
                    await loop.run_in_executor(None, receiver.poll, None)
                except asyncio.CancelledError:
                    process.kill()  # the task timed out or was cancelled: stop the computation, too
                    raise
                try:
                    ok, value = receiver.recv()
                except EOFError:
                    process.join()
                    raise TaskError(
                        "worker_crashed", f"the worker process died (exit code {process.exitcode})", retryable=True
                    ) from None
            finally:
                receiver.close()
                await loop.run_in_executor(None, process.join)
            if not ok:
                raise value
            return value
