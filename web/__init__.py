"""The web gateway: the bus's requests over HTTP (``/api/``), live progress as Server-Sent Events, and a dashboard.

A process on the bus like the orchestrator (``python -m gaai.web``); it talks to the system only through
``gaai.bus`` operations and reads the graph list from the store.
"""
