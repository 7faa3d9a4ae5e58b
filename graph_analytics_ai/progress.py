"""The live progress of a workflow as text: one line per task state change, for the CLI and the Python API."""

from __future__ import annotations

import time

from gaai.bus.contract import FINAL_STATUSES, Event, TaskEvent, WorkflowEvent
from gaai.orchestrator.dag import PHASES

_PHASE_WIDTH = max(len(phase) for phase in PHASES.values())


def _out(text: str = "") -> None:
    print(text, flush=True)


class ProgressPrinter:
    """Prints one line per task state change, prefixed with its phase and elapsed time."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.seen: set[tuple[str, str]] = set()
        self.labels: dict[str, str] = {}
        self.placed: set[str] = set()

    def __call__(self, event: Event) -> None:
        if isinstance(event, TaskEvent):
            self._task(event)
            return
        # A workflow that starts is shown before its first tasks, one that ends after its last.
        ends = event.status in FINAL_STATUSES
        if not ends:
            self._workflow(event)
        for task_event in event.tasks:
            self._task(task_event)
        if ends:
            self._workflow(event)

    def _workflow(self, event: WorkflowEvent) -> None:
        if ("workflow", event.status) not in self.seen:
            self.seen.add(("workflow", event.status))
            _out(f"[{self._elapsed():6.2f}s] workflow {event.workflow_id} {event.status}")

    def _task(self, event: TaskEvent) -> None:
        if (event.task_id, event.status) in self.seen:
            return
        self.seen.add((event.task_id, event.status))
        if event.label:
            self.labels[event.task_id] = event.label
        label = self.labels.get(event.task_id, event.task_id.split(".", 1)[1])
        # Where a task ran is shown once per attempt: on its "running" line, or on its end when it was quick.
        where = ""
        if event.status == "dispatched":
            self.placed.discard(event.task_id)
        elif event.instance and event.task_id not in self.placed:
            self.placed.add(event.task_id)
            where = f" on {event.instance.host}:{event.instance.pid}"
        error = f" — {event.error.message} [{event.error.code}]" if event.error else ""
        phase = PHASES.get(event.agent, event.agent)
        _out(f"[{self._elapsed():6.2f}s] {phase:{_PHASE_WIDTH}}  {label:38} {event.status}{where}{error}")

    def _elapsed(self) -> float:
        return time.monotonic() - self.started
