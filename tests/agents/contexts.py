"""Agent contexts for calling a handler directly, without the bus."""

from __future__ import annotations

from dataclasses import dataclass, field

from agents.lib.context import AgentContext
from bus.domain import DocumentRef


@dataclass
class DocumentsAtHand(AgentContext):
    """An agent's context whose documents are held in memory instead of the bus's document store."""

    documents: dict[str, bytes] = field(default_factory=dict)

    def hand(self, name: str, text: str) -> DocumentRef:
        """Keep ``text`` as the Markdown document ``name``; the reference a task carries to it."""
        data = text.encode()
        ref = DocumentRef(name=name, object_name=f"upload/{name}", media_type="text/markdown", size=len(data))
        self.documents[ref.object_name] = data
        return ref

    async def fetch_document(self, ref: DocumentRef) -> bytes:
        return self.documents[ref.object_name]
