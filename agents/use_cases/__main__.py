"""``python -m gaai.agents.use_cases``: run the use-cases agent against ``NATS_URL``."""

from gaai.agents.lib.runtime import run_agent
from gaai.agents.use_cases import handle

run_agent("use_cases", handle)
