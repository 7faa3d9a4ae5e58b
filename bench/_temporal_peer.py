"""The Temporal peer's workflows and activity (imported only where Temporal runs: it needs temporalio).

The DAG and hop workflows are peer_dag's ``run_dag`` and ``hop_samples`` with each task an
activity. They are not sandboxed: the hop workflow reads the clock around each activity, which is what it
measures; workers keep their workflows cached, so none is replayed.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import timedelta

from temporalio import activity, workflow

from gaai.bench.peer_dag import hop_samples, run_dag, task_result

WORKFLOW_QUEUE = "gaai-bench-workflows"
ACTIVITY_QUEUE = "gaai-bench-activities"


@activity.defn(name="gaai-task")
async def no_op_task(payload: list) -> object:
    return task_result(*payload)


def _call(kind: str, *inputs: object) -> Awaitable:
    return workflow.execute_activity(
        "gaai-task", [kind, *inputs], task_queue=ACTIVITY_QUEUE, start_to_close_timeout=timedelta(seconds=60)
    )


@workflow.defn(name="gaai-dag", sandboxed=False)
class DagWorkflow:
    @workflow.run
    async def run(self) -> int:
        return await run_dag(_call)


@workflow.defn(name="gaai-hop", sandboxed=False)
class HopWorkflow:
    @workflow.run
    async def run(self, count: int) -> list[float]:
        return await hop_samples(_call, count)
