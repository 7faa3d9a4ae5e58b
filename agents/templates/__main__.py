"""``python -m gaai.agents.templates``: run the templates agent against ``NATS_URL``."""

from gaai.agents.lib.runtime import run_agent
from gaai.agents.templates import handle

run_agent("templates", handle)
