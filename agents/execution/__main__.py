"""``python -m agents.execution``: run the execution agent against ``NATS_URL``."""

import os

from agents._runtime import run_agent
from agents.execution.agent import handle

# A bounded time per template: community detection or sampling on a huge graph can run
# away, and a clear timeout error beats a task that never ends (GAAI_TASK_TIMEOUT_S overrides).
run_agent("execution", handle, cpu_workers=os.cpu_count() or 1, default_timeout_s=900.0)
