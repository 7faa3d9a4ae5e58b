"""``python -m agents.use_cases``: run the use-cases agent against ``NATS_URL``."""

from agents.lib.runtime import run_agent
from agents.use_cases import handle

run_agent("use_cases", handle)
