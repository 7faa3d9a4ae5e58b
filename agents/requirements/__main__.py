"""``python -m gaai.agents.requirements``: run the requirements agent against ``NATS_URL``."""

from gaai.agents.lib.runtime import run_agent
from gaai.agents.requirements import handle

run_agent("requirements", handle)
