"""``python -m agents.execution``: run the execution agent against ``NATS_URL``."""

import os

from agents._runtime import run_agent
from agents.execution import handle

run_agent("execution", handle, cpu_workers=os.cpu_count() or 1)
