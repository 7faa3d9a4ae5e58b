"""Output constraints: names replaced by pseudonyms, lists capped, and the check that no name slipped through.

A ``no_names`` constraint covers the vertices of its collections (all when it lists none):
such a vertex is shown as a stable pseudonym made from a hash of its id (``customer
#3f9a1c``), in place of both its label and its id, since keys are often names too. The same
id always gets the same pseudonym, so a reader can follow a vertex across reports.
``find_names`` is the verifier's last look: which stored labels of constrained vertices
appear in a rendered text.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterable
from dataclasses import dataclass

import msgspec

from gaai.bus.domain import ExecutionSummary, GroupBridge, GroupDetail, OutputConstraint, RankedVertex

__all__ = ["Namer", "find_names", "mask_names", "pseudonym", "visible_text"]

WITHHELD_NAME = "[name withheld]"

# A label counts as a name to look for when it has a letter and at least this many characters
# (bare numbers and one- or two-letter keys would match everywhere).
_MIN_NAME_LENGTH = 3
_LETTER = re.compile(r"[^\W\d_]")
_WORD = re.compile(r"\w")


def _singular_collection(collection: str) -> str:
    if collection.endswith("ies"):
        return collection[:-3] + "y"
    if collection.endswith(("sses", "xes", "ches", "shes")):
        return collection[:-2]
    if collection.endswith("s") and not collection.endswith("ss"):
        return collection[:-1]
    return collection


def pseudonym(vertex_id: str) -> str:
    """A stable stand-in for a vertex: ``customer #3f9a1c`` for ``customers/<key>``."""
    collection = vertex_id.partition("/")[0] if "/" in vertex_id else "vertex"
    digest = hashlib.sha256(vertex_id.encode()).hexdigest()[:6]
    return f"{_singular_collection(collection)} #{digest}"


@dataclass(frozen=True)
class Namer:
    """How a report refers to vertices under the task's ``no_names`` constraints."""

    hidden: frozenset[str]
    everything: bool

    @classmethod
    def of(cls, constraints: Iterable[OutputConstraint], collections: Iterable[str]) -> Namer:
        hidden: set[str] = set()
        everything = False
        for constraint in constraints:
            if constraint.kind != "no_names":
                continue
            if constraint.collections:
                hidden.update(constraint.collections)
            else:
                everything = True
        if everything:
            hidden.update(collections)
        return cls(hidden=frozenset(hidden), everything=everything)

    @property
    def active(self) -> bool:
        return bool(self.hidden) or self.everything

    def hides(self, vertex_id: str) -> bool:
        return self.everything or vertex_id.partition("/")[0] in self.hidden

    def name(self, vertex_id: str, label: str) -> str:
        """What the report calls a vertex: its pseudonym when hidden, else its label (or id)."""
        return pseudonym(vertex_id) if self.hides(vertex_id) else (label or vertex_id)

    def shown_id(self, vertex_id: str) -> str:
        return pseudonym(vertex_id) if self.hides(vertex_id) else vertex_id

    def vertex(self, vertex: RankedVertex) -> RankedVertex:
        return RankedVertex(id=self.shown_id(vertex.id), value=vertex.value, label=self.name(vertex.id, vertex.label))

    def redact(self, execution: ExecutionSummary) -> ExecutionSummary:
        """The execution as a report may show it: hidden vertices pseudonymised, group labels renamed."""
        if not self.active:
            return execution
        details = {d.group_id: d for d in execution.group_details}

        def group_label(vertex: RankedVertex) -> str:
            detail = details.get(vertex.id)
            # A group is labelled by a member; only a described group says which one.
            return self.name(detail.central[0].id, detail.name) if detail and detail.central else ""

        if execution.groups is not None:
            top = [RankedVertex(id=v.id, value=v.value, label=group_label(v)) for v in execution.top]
        else:
            top = [self.vertex(v) for v in execution.top]
        return msgspec.structs.replace(
            execution,
            top=top,
            top_by_collection={
                name: [self.vertex(v) for v in listed] for name, listed in execution.top_by_collection.items()
            },
            top_hubs=[self.vertex(v) for v in execution.top_hubs],
            top_pairs=[
                msgspec.structs.replace(
                    pair,
                    first_id=self.shown_id(pair.first_id),
                    second_id=self.shown_id(pair.second_id),
                    first_label=self.name(pair.first_id, pair.first_label),
                    second_label=self.name(pair.second_id, pair.second_label),
                )
                for pair in execution.top_pairs
            ],
            group_details=[self._detail(d) for d in execution.group_details],
            small_groups=[self._detail(d) for d in execution.small_groups],
        )

    def _detail(self, detail: GroupDetail) -> GroupDetail:
        central = [self.vertex(v) for v in detail.central]
        return msgspec.structs.replace(
            detail,
            name=central[0].label if central else "",
            central=central,
            bridges=[self._bridge(b) for b in detail.bridges],
        )

    def _bridge(self, bridge: GroupBridge) -> GroupBridge:
        return msgspec.structs.replace(bridge, carriers=[self.vertex(v) for v in bridge.carriers], name="")


def visible_text(extension: str, data: bytes) -> str:
    """What a reader of a rendered file sees: Markdown without its escapes, HTML without tags and entities."""
    text = data.decode("utf-8", errors="replace")
    if extension == "md":
        return html.unescape(re.sub(r"\\(.)", r"\1", text))
    if extension == "html":
        return html.unescape(re.sub(r"<[^>]*>", " ", text))
    if extension == "json":
        return "\n".join(_strings(msgspec.json.decode(data)))
    return text


def _strings(value: object) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def find_names(text: str, names: Iterable[str]) -> list[str]:
    """The names that appear in ``text`` as whole words (case-sensitive), in the order given.

    Only labels with a letter and at least three characters count as names. The text is
    cut into candidate phrases of up to as many words as the longest name, so the cost
    grows with the text, not with the number of names.
    """
    wanted = {n for n in names if len(n) >= _MIN_NAME_LENGTH and _LETTER.search(n)}
    if not wanted:
        return []
    longest = max(len(n.split()) for n in wanted)
    words = [m for m in re.finditer(r"\S+", text)]
    found: set[str] = set()
    for start in range(len(words)):
        for end in range(start, min(start + longest, len(words))):
            phrase = text[words[start].start() : words[end].end()]
            for candidate in _trimmed(phrase):
                if candidate in wanted:
                    found.add(candidate)
    return sorted(found)


def mask_names(text: str, names: set[str]) -> str:
    """``text`` with every name of ``names`` it contains replaced by ``[name withheld]``."""
    for name in sorted(find_names(text, names), key=len, reverse=True):
        text = text.replace(name, WITHHELD_NAME)
    return text


def _trimmed(phrase: str) -> set[str]:
    """The phrase and the phrase without leading or trailing punctuation (quotes, commas, brackets)."""
    out = {phrase}
    stripped = phrase
    while stripped and not _WORD.match(stripped[-1]):
        stripped = stripped[:-1]
        out.add(stripped)
    while stripped and not _WORD.match(stripped[0]):
        stripped = stripped[1:]
        out.add(stripped)
    return out
