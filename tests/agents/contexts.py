"""Agent contexts and a scripted model for calling a handler directly, without the bus or a network."""

from __future__ import annotations

from dataclasses import dataclass, field

from gaai.agents.lib.context import AgentContext
from gaai.agents.lib.llm import LlmRequest, LlmResponse
from gaai.bus.domain import DocumentRef


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


class ScriptedProvider:
    """A provider speaking the interface with one fixed answer (1,200 tokens in, 300 out), as an HTTP model would."""

    name = "scripted"
    model = "scripted-1"

    def __init__(self, text: str) -> None:
        self.text = text
        self.requests: list[LlmRequest] = []

    async def complete(self, request: LlmRequest) -> LlmResponse:
        self.requests.append(request)
        return LlmResponse(text=self.text, model=self.model, tokens_in=1200, tokens_out=300)

    async def context_tokens(self) -> int | None:
        return None
