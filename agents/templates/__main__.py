"""``python -m agents.templates``: run the templates agent against ``NATS_URL``."""

from agents.lib.runtime import run_agent
from agents.templates import handle

run_agent("templates", handle)
