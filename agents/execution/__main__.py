"""``python -m gaai.agents.execution``: run the execution agent against ``NATS_URL``."""

from gaai.agents.execution import handle
from gaai.agents.execution.engine import usable_cores
from gaai.agents.lib.runtime import run_agent

# A bounded time per template: community detection or sampling on a huge graph can run
# away, and a clear timeout error beats a task that never ends (GAAI_TASK_TIMEOUT_S overrides).
# One worker per core this process may run on (GAAI_CPU_WORKERS overrides, e.g. in a
# container limited by CPU quota rather than by cores).
run_agent("execution", handle, cpu_workers=usable_cores(), default_timeout_s=900.0)
