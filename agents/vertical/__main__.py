"""``python -m gaai.agents.vertical``: run the vertical agent against ``NATS_URL``."""

from gaai.agents.lib.runtime import run_agent
from gaai.agents.vertical import handle

run_agent("vertical", handle)
