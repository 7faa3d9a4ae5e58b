"""The graph store: where graphs live and how agents read them.

``GraphStore`` is the interface agents depend on; ``EmbeddedStore`` implements it with Parquet
files and a SQLite registry under ``default_home()``, safe for several processes at once.
"""

from gaai.store._arrays import LABEL_ATTRIBUTES, GraphArrays
from gaai.store._embedded import EmbeddedStore
from gaai.store._errors import GraphExistsError, GraphImportError, GraphNotFoundError, StoreError
from gaai.store._protocol import GraphStore, default_home
from gaai.store._registry import GraphInfo
from gaai.store._semantics import FieldStats

__all__ = [
    "LABEL_ATTRIBUTES",
    "EmbeddedStore",
    "FieldStats",
    "GraphArrays",
    "GraphExistsError",
    "GraphImportError",
    "GraphInfo",
    "GraphNotFoundError",
    "GraphStore",
    "StoreError",
    "default_home",
]
