"""``python -m agents.requirements``: run the requirements agent against ``NATS_URL``."""

from agents.lib.runtime import run_agent
from agents.requirements import handle

run_agent("requirements", handle)
