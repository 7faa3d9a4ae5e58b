"""``python -m agents.schema``: run the schema agent against ``NATS_URL``."""

from agents.lib.runtime import run_agent
from agents.schema import handle

run_agent("schema", handle)
