"""What the agents share: the context a handler gets and the process it runs in (``context``,
``cpu_pool``, ``runtime``), the language-model providers (``llm``, ``llm_http``, ``llm_config``),
document parsing (``documents``) and the algorithm catalog (``algorithms``).
"""
