"""Liveness of a bus process, for a container healthcheck that needs no network tool.

With ``GAAI_HEALTH_FILE`` set, ``Bus.connect`` starts a ``Heartbeat``: a task on the
process's event loop that rewrites that file every ``GAAI_HEALTH_INTERVAL_S`` seconds
while the NATS connection is up. A wedged event loop or a connection lost for good
stops the writes, so the file grows old. ``Bus.close`` removes it.

``python -m gaai.bus.health [--file PATH] [--max-age SECONDS]`` checks it: exit 0 when the
file is fresh, 1 with one line when it is missing, stale or unreadable, 2 when the
arguments or the settings are wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import structlog

from gaai.bus.errors import GaaiError
from gaai.bus.process import process_settings

log = structlog.get_logger("bus")

# The check's default max age, in heartbeat intervals: one late write is not a failure.
INTERVALS_BEFORE_STALE = 3


class Heartbeat:
    """Rewrites ``path`` every ``interval_s`` seconds while ``connected()`` holds."""

    def __init__(self, path: Path, interval_s: float, *, process: str, connected: Callable[[], bool]) -> None:
        self.path = path
        self.interval_s = interval_s
        self.process = process
        self._connected = connected
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Write the first beat now, then keep writing from a task on the running loop.

        Raises:
            GaaiError: ``bad_setting`` when the file cannot be written.
        """
        try:
            self._write()
        except OSError as exc:
            raise GaaiError(
                "bad_setting", f"GAAI_HEALTH_FILE={str(self.path)!r}: cannot write it: {exc.strerror or exc}"
            ) from None
        self._task = asyncio.get_running_loop().create_task(self._beat(), name="heartbeat")

    def stop(self) -> None:
        """Stop writing and remove the file, so a stopped process never looks alive."""
        if self._task is not None:
            # The task is suspended in its sleep: once cancelled it cannot write again.
            self._task.cancel()
            self._task = None
        self.path.unlink(missing_ok=True)

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            if not self._connected():
                continue  # while NATS is away the file ages; if it never comes back, the check fails
            try:
                self._write()
            except OSError as exc:
                log.warning("health file not written", path=str(self.path), error=exc.strerror or str(exc))

    def _write(self) -> None:
        beat = json.dumps({"pid": os.getpid(), "process": self.process, "time": time.time()})
        partial = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        partial.write_text(beat)
        os.replace(partial, self.path)  # atomic: a check never reads half a file


def staleness(path: Path, max_age_s: float, now: float) -> str | None:
    """Why the heartbeat in ``path`` does not show a live process at ``now``, or None when it does."""
    try:
        beat = json.loads(path.read_bytes())
        written, process, pid = float(beat["time"]), beat["process"], beat["pid"]
    except FileNotFoundError:
        return f"{path} is missing: the process has not connected to NATS yet, or has stopped"
    except OSError as exc:
        return f"{path} is unreadable: {exc.strerror or exc}"
    except (ValueError, TypeError, KeyError):
        return f"{path} is unreadable: not a heartbeat (JSON with time, process and pid)"
    if not math.isfinite(written):
        return f"{path} is unreadable: its time is {written}"
    age = now - written
    if age > max_age_s:
        return f"{path} is stale: written {age:.1f} s ago by {process} (pid {pid}), max age {max_age_s:g} s"
    return None


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds > 0")
    return value


def main(argv: list[str] | None = None) -> None:
    settings = process_settings("gaai-health")
    parser = argparse.ArgumentParser(
        prog="python -m gaai.bus.health", description="Exit 0 if a gaai process's heartbeat file is fresh, 1 if not."
    )
    parser.add_argument(
        "--file", type=Path, default=settings.health_file, help="the heartbeat file (default: GAAI_HEALTH_FILE)"
    )
    default_max_age = INTERVALS_BEFORE_STALE * settings.health_interval_s
    parser.add_argument(
        "--max-age",
        type=_seconds,
        default=default_max_age,
        metavar="SECONDS",
        help=f"oldest fresh heartbeat (default: {default_max_age:g})",
    )
    args = parser.parse_args(argv)
    if args.file is None:
        parser.error("no heartbeat file: pass --file or set GAAI_HEALTH_FILE")
    problem = staleness(args.file, args.max_age, time.time())
    if problem:
        print(f"unhealthy: {problem}", file=sys.stderr)
        sys.exit(1)
    print(f"healthy: {args.file} is fresh")


if __name__ == "__main__":
    main()
