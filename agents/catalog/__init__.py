"""Analytics catalog agent: records each workflow's epoch, steps and lineage.

The catalog takes no tasks: it follows the results stream (``bus.follower``) and records
every agent's result as it passes, off the workflows' critical path. A workflow's
lineage is therefore complete moments after the workflow, not at the same instant;
``WorkflowClient.wait_for_catalog`` waits for it. It answers lineage requests on
``gaai.catalog.lineage`` (``bus.requests.catalog_lineage``) from what it has recorded.

The catalog is a SQLite file (``<GAAI_HOME>/catalog.sqlite``) any SQL tool can open:
``epochs`` (one row per workflow run), ``entities`` (requirements, use cases, templates,
executions, reports…) and ``lineage`` (parent → child links). Every write is an upsert
keyed on the workflow and entity ids, so a redelivered result records nothing twice.
"""

from gaai.agents.catalog.database import Catalog, CatalogEntry, catalog_path
from gaai.agents.catalog.handler import Recorder, lineage_reply

__all__ = ["Catalog", "CatalogEntry", "Recorder", "catalog_path", "lineage_reply"]
