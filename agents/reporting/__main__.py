"""``python -m agents.reporting``: run the reporting agent against ``NATS_URL``."""

from agents.lib.runtime import run_agent
from agents.reporting import handle

run_agent("reporting", handle)
