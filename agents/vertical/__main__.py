"""``python -m agents.vertical``: run the vertical agent against ``NATS_URL``."""

from agents.lib.runtime import run_agent
from agents.vertical import handle

run_agent("vertical", handle)
