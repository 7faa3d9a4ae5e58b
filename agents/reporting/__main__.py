"""``python -m gaai.agents.reporting``: run the reporting agent against ``NATS_URL``."""

from gaai.agents.lib.runtime import run_agent
from gaai.agents.reporting import handle

run_agent("reporting", handle)
