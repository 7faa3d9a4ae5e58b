"""The language model of an agent process, as its environment configures it (``GAAI_LLM_*``).

Picks the offline provider (``agents.lib.llm``) or an HTTP one (``agents.lib.llm_http``) and the price table; whatever
starts agents calls :func:`llm_from_env` first with the agents' environment, to refuse bad settings up front.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from gaai.agents.lib.llm import LLM_PROVIDERS, LlmProvider, OfflineProvider, PriceTable
from gaai.agents.lib.llm_http import http_provider_from_env
from gaai.bus.errors import GaaiError


def provider_from_name(name: str | None, environ: Mapping[str, str] | None = None) -> LlmProvider:
    """The provider called ``name``, configured from ``environ`` (default ``os.environ``).

    Raises:
        GaaiError: ``unknown_llm_provider`` for a name not in ``LLM_PROVIDERS``;
            ``bad_setting`` when an HTTP provider's ``GAAI_LLM_*`` variables are missing or wrong.
    """
    if name in ("offline", "", None):
        return OfflineProvider()
    if name in LLM_PROVIDERS:
        return http_provider_from_env(name, os.environ if environ is None else environ)
    raise GaaiError("unknown_llm_provider", f"unknown LLM provider {name!r}; available: {', '.join(LLM_PROVIDERS)}")


def llm_from_env(environ: Mapping[str, str] | None = None) -> tuple[LlmProvider, PriceTable]:
    """The provider ``GAAI_LLM_PROVIDER`` names (default offline) and the ``GAAI_LLM_PRICES``
    table, configured from ``environ`` (default ``os.environ``).

    An agent builds both with it at start; whatever starts agents calls it first with the
    agents' environment, since an agent refusing its settings exits, and a supervisor
    would restart it forever.

    Raises:
        GaaiError: as :func:`provider_from_name`, or ``bad_price_table``.
    """
    environ = os.environ if environ is None else environ
    return provider_from_name(environ.get("GAAI_LLM_PROVIDER", "offline"), environ), PriceTable.from_env(environ)
