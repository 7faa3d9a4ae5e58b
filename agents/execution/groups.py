"""Group details: what makes the largest components or communities what they are.

For the few groups a report shows: size and share, the members with the most ties inside
the group, internal density against the whole graph's, the collections and attribute values
over-represented in it, and the bridges (ties and the vertices carrying them) to the other
shown groups. A tie is a pair of vertices joined by at least one edge in either direction,
so direction, duplicates and weights do not change these figures. Everything is vectorised
over the edge arrays (one compiled counting build merges duplicate pairs); per-group work is one
pass over the vertex array for each group shown. What is looked up per tie is looked up a slice of
ties at a time, so the temporaries stay small beside the edge arrays (at 10^7 edges, whole-array
lookups through 64-bit group ids once took the execution agent's peak from 49 to 120 B/edge).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from gaai.agents.execution.engine.graph_views import simple_graph
from gaai.agents.execution.summary import top_indices
from gaai.agents.lib.algorithms import algorithm_spec
from gaai.bus.domain import AttributeShare, GroupBridge, GroupDetail, RankedVertex
from gaai.store import LABEL_ATTRIBUTES, GraphArrays

__all__ = ["DETAILED_GROUPS", "GroupDescription", "Ties", "describe_groups", "describe_result", "ties_of"]

# How many of the largest groups are described, and how many of the smallest are listed.
DETAILED_GROUPS = 5
SMALL_GROUPS = 10
# Members listed per group as its most central, and vertices per bridge.
CENTRAL_MEMBERS = 5
BRIDGE_CARRIERS = 3
# An attribute is categorical when it has at most this many distinct values, and at most one
# per this many vertices: a brand shared by a few dozen products qualifies, while names, ids
# and free text (nearly one value per vertex) do not, nor do codes too many to read as a
# group's make-up ...
_MAX_CATEGORIES = 500
_VERTICES_PER_CATEGORY = 5
# ... and a value dominates a group when at least this share of the group's members of that
# collection hold it, and at least this many times the collection-wide share: a brand held by
# a third of a community's products and 3% of all products marks it, a segment held by 57% of
# its customers and 59% of all customers does not.
_DOMINANT_SHARE = 0.25
_DOMINANT_LIFT = 1.5
# Fewer holders than this say nothing about a group (a lone vertex holds its own value 100%).
_MIN_HOLDERS = 3
# Ties looked up per slice (see the module docstring).
_SLICE = 1 << 20


@dataclass(frozen=True)
class Ties:
    """The distinct vertex pairs joined by an edge (``lo < hi``), and each vertex's ties inside its group."""

    lo: np.ndarray
    hi: np.ndarray
    internal: np.ndarray
    member_ties: np.ndarray


def ties_of(num_vertices: int, src: np.ndarray, dst: np.ndarray, groups: np.ndarray) -> Ties:
    """Merge the edges into distinct undirected ties (no self-loops), sorted, in the endpoints' dtype, and count each
    vertex's ties inside its group."""
    # Each tie in the row of its lower end, once: the simple graph drops loops and repeats.
    indptr, hi = simple_graph(num_vertices, src, dst, both_ways=False, lower_end_rows=True)
    lo = np.repeat(np.arange(num_vertices, dtype=hi.dtype), np.diff(indptr))
    internal = np.empty(lo.size, dtype=np.bool_)
    member_ties = np.zeros(num_vertices, dtype=np.int64)
    for part in _slices(lo.size):
        inside = internal[part] = groups[lo[part]] == groups[hi[part]]
        member_ties += np.bincount(lo[part][inside], minlength=num_vertices)
        member_ties += np.bincount(hi[part][inside], minlength=num_vertices)
    return Ties(lo=lo, hi=hi, internal=internal, member_ties=member_ties)


def _slices(size: int) -> list[slice]:
    return [slice(start, start + _SLICE) for start in range(0, size, _SLICE)]


def _ties_by_group(groups: np.ndarray, ties: Ties, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Per group, the ties inside it and the ties from it to another group."""
    internal = np.zeros(size, dtype=np.int64)
    external = np.zeros(size, dtype=np.int64)
    for part in _slices(ties.lo.size):
        inside = ties.internal[part]
        group_lo, group_hi = groups[ties.lo[part]], groups[ties.hi[part]]
        internal += np.bincount(group_lo[inside], minlength=size)
        external += np.bincount(group_lo[~inside], minlength=size) + np.bincount(group_hi[~inside], minlength=size)
    return internal, external


@dataclass(frozen=True)
class GroupDescription:
    """What ``describe_groups`` found, and each vertex's ties inside its group (to name groups by)."""

    details: list[GroupDetail]
    small: list[GroupDetail]
    graph_ties: int
    graph_density: float
    member_ties: np.ndarray

    def summary_fields(self) -> dict:
        """The ``ExecutionSummary`` fields this description fills."""
        return {
            "group_details": self.details,
            "small_groups": self.small,
            "graph_ties": self.graph_ties,
            "graph_density": self.graph_density,
        }


def describe_result(arrays: GraphArrays, algorithm: str, values: np.ndarray) -> GroupDescription | None:
    """The group description of a components or communities result; ``None`` for centralities."""
    kind = algorithm_spec(algorithm).kind
    if algorithm_spec(algorithm).scores or arrays.num_vertices == 0:
        return None
    groups = np.asarray(values, dtype=np.int64)
    ties = ties_of(arrays.num_vertices, arrays.src, arrays.dst, groups)
    return describe_groups(arrays, groups, ties, "component" if kind == "connectivity" else "community")


def describe_groups(arrays: GraphArrays, groups: np.ndarray, ties: Ties, prefix: str) -> GroupDescription:
    """Describe the largest groups in full and list the smallest.

    Args:
        arrays: the analysed subgraph (labels, ids, collections and attribute files).
        groups: per-vertex group ids.
        ties: ``ties_of`` the same graph and groups.
        prefix: ``"component"`` or ``"community"``, for the group ids ``<prefix>/<id>``.
    """
    n = arrays.num_vertices
    groups = np.asarray(groups, dtype=np.int64)
    sizes = np.bincount(groups)
    order = np.lexsort((np.arange(sizes.size), -sizes))
    order = order[sizes[order] > 0]
    shown = order[:DETAILED_GROUPS]
    # Every group but the largest may be listed among the smallest, also when it is described in full.
    smallest = order[1:][::-1][:SMALL_GROUPS]
    members = {int(g): np.flatnonzero(groups == g) for g in np.concatenate((shown, smallest)).tolist()}
    internal_ties, external_ties = _ties_by_group(groups, ties, sizes.size)
    collection_index = arrays.collection_index(np.arange(n))
    names = {g: _central(arrays, rows, ties.member_ties, 1)[0].label for g, rows in members.items()}
    bridges = _bridges(arrays, groups, ties, shown, names, prefix)
    attributes = _Attributes(arrays)

    def detail(gid: int, with_make_up: bool) -> GroupDetail:
        rows = members[gid]
        size = int(sizes[gid])
        counts = np.bincount(collection_index[rows], minlength=len(arrays.collections))
        return GroupDetail(
            group_id=f"{prefix}/{gid}",
            name=names[gid],
            size=size,
            share=size / n,
            central=_central(arrays, rows, ties.member_ties, CENTRAL_MEMBERS),
            internal_ties=int(internal_ties[gid]),
            density=_density(int(internal_ties[gid]), size),
            external_ties=int(external_ties[gid]),
            by_collection={name: int(c) for name, c in zip(arrays.collections, counts.tolist(), strict=True) if c},
            attributes=attributes.dominant(rows, collection_index[rows]) if with_make_up else [],
            bridges=bridges.get(gid, []),
        )

    return GroupDescription(
        details=[detail(g, True) for g in shown.tolist()],
        small=[detail(g, False) for g in smallest.tolist()],
        graph_ties=int(ties.lo.size),
        graph_density=_density(int(ties.lo.size), n),
        member_ties=ties.member_ties,
    )


def _density(ties: int, size: int) -> float:
    pairs = size * (size - 1) / 2
    return ties / pairs if pairs else 0.0


def _central(arrays: GraphArrays, rows: np.ndarray, member_ties: np.ndarray, k: int) -> list[RankedVertex]:
    """The ``k`` members with the most ties inside the group, equal counts by lower index."""
    chosen = rows[top_indices(member_ties[rows], k)]
    return [
        RankedVertex(id=vertex_id, value=float(member_ties[i]), label=label)
        for i, vertex_id, label in zip(chosen.tolist(), arrays.vertex_ids(chosen), arrays.labels(chosen), strict=True)
    ]


def _bridges(
    arrays: GraphArrays, groups: np.ndarray, ties: Ties, shown: np.ndarray, names: dict[int, str], prefix: str
) -> dict[int, list[GroupBridge]]:
    """Per shown group, the ties to each other shown group and the members carrying most of them."""
    k = shown.size
    if k < 2:
        return {}
    slot = np.full(int(groups.max()) + 1, -1, dtype=np.int8)  # k is at most DETAILED_GROUPS
    slot[shown] = np.arange(k)
    vertex_slot = slot[groups]
    pair_ties = np.zeros(k * k, dtype=np.int64)
    # carried[v * k + b]: the ties from vertex v to shown group b, v in another shown group (each end of a bridging
    # tie carries one tie towards the other end's group).
    carried = np.zeros(groups.size * k, dtype=np.int32)
    for part in _slices(ties.lo.size):
        lo, hi = ties.lo[part], ties.hi[part]
        slot_lo, slot_hi = vertex_slot[lo], vertex_slot[hi]
        between = (slot_lo != slot_hi) & (slot_lo >= 0) & (slot_hi >= 0)  # both ends shown, not the same group
        lo, hi, slot_lo, slot_hi = lo[between], hi[between], slot_lo[between], slot_hi[between]
        pair_ties += np.bincount(np.minimum(slot_lo, slot_hi) * k + np.maximum(slot_lo, slot_hi), minlength=k * k)
        np.add.at(carried, lo.astype(np.int64) * k + slot_hi, 1)
        np.add.at(carried, hi.astype(np.int64) * k + slot_lo, 1)
    by_vertex = carried.reshape(groups.size, k)
    out: dict[int, list[GroupBridge]] = {}
    for a, gid in enumerate(shown.tolist()):
        items = []
        for b, other in enumerate(shown.tolist()):
            count = int(pair_ties[min(a, b) * k + max(a, b)])
            if a == b or count == 0:
                continue
            members = np.flatnonzero(vertex_slot == a)
            towards = by_vertex[members, b]
            carrying = members[towards > 0]
            vertices = carrying[top_indices(by_vertex[carrying, b].astype(np.float64), BRIDGE_CARRIERS)]
            carriers = [
                RankedVertex(id=vertex_id, value=float(c), label=label)
                for vertex_id, label, c in zip(
                    arrays.vertex_ids(vertices), arrays.labels(vertices), by_vertex[vertices, b].tolist(), strict=True
                )
            ]
            items.append(GroupBridge(group_id=f"{prefix}/{other}", name=names[other], ties=count, carriers=carriers))
        out[gid] = sorted(items, key=lambda bridge: -bridge.ties)
    return out


class _Attributes:
    """Categorical attributes of the analysed collections, read once per collection as integer codes."""

    def __init__(self, arrays: GraphArrays) -> None:
        self._arrays = arrays
        self._codes: dict[int, list[tuple[str, np.ndarray, list[str]]]] = {}

    def dominant(self, rows: np.ndarray, collection_of_rows: np.ndarray) -> list[AttributeShare]:
        """The attribute values over-represented among these vertices, most over-represented first."""
        found: list[tuple[float, AttributeShare]] = []
        for position in np.unique(collection_of_rows).tolist():
            local = rows[collection_of_rows == position] - self._arrays.offsets[position]
            for attribute, codes, values in self._columns(position):
                present = codes[local]
                present = present[present >= 0]
                if present.size == 0:
                    continue
                counts = np.bincount(present, minlength=len(values))
                best = int(np.argmax(counts))
                share = counts[best] / local.size
                overall = float(np.count_nonzero(codes == best) / codes.size)
                if counts[best] >= _MIN_HOLDERS and share >= _DOMINANT_SHARE and share >= _DOMINANT_LIFT * overall:
                    item = AttributeShare(
                        collection=self._arrays.collections[position],
                        attribute=attribute,
                        value=values[best],
                        count=int(counts[best]),
                        share=float(share),
                        overall_share=overall,
                    )
                    found.append((share / overall if overall else float("inf"), item))
        found.sort(key=lambda pair: -pair[0])
        return [item for _, item in found[:3]]

    def _columns(self, position: int) -> list[tuple[str, np.ndarray, list[str]]]:
        cached = self._codes.get(position)
        if cached is not None:
            return cached
        columns = []
        path = self._arrays.vertex_files[position] if position < len(self._arrays.vertex_files) else None
        schema = pq.read_schema(path) if path is not None and path.exists() else None
        for field in schema or []:
            if field.name.startswith("_") or field.name in LABEL_ATTRIBUTES or not pa.types.is_string(field.type):
                continue
            column = pq.read_table(path, columns=[field.name]).column(field.name)
            encoded = pc.dictionary_encode(column).combine_chunks()
            distinct = len(encoded.dictionary)
            if distinct > _MAX_CATEGORIES or distinct * _VERTICES_PER_CATEGORY > len(column):
                continue
            codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
            columns.append((field.name, codes, encoded.dictionary.to_pylist()))
        self._codes[position] = columns
        return columns
