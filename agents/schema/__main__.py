"""``python -m gaai.agents.schema``: run the schema agent against ``NATS_URL``."""

from gaai.agents.lib.runtime import run_agent
from gaai.agents.schema import handle

run_agent("schema", handle)
