"""Document intake: the documents of a submission checked, named, typed and stored for its agents.

``sandboxed_path`` is the one rule for a document given by path, shared by the orchestrator
(paths under ``GAAI_DOCUMENTS_ROOT``) and the Python API and CLI (paths under the documents
root the user chose): relative to the root, no ``..``, no NUL byte, still under the root once
symlinks are followed, and a regular file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from bus import subjects
from bus.connection import Bus
from bus.contract import DocumentInput
from bus.domain import DocumentRef
from bus.errors import RequestError

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_EXTENSION_TYPES = {
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".txt": "text/plain",
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".html": "text/html",
    ".htm": "text/html",
}


def sandboxed_path(root: Path, given: str, label: str) -> Path:
    """The regular file ``given`` names under ``root``, resolved.

    Raises:
        RequestError: ``path_not_allowed`` for a path that is absolute, has a ``..`` or a NUL byte, or
            leads out of the root through a symlink; ``document_not_found`` for one that names no file.
            The message starts with ``label`` (which document it is).
    """
    root = root.resolve()
    if "\x00" in given:
        raise RequestError("path_not_allowed", f"{label}: path contains a NUL byte")
    candidate = Path(given)
    if candidate.is_absolute() or ".." in candidate.parts:
        raise RequestError(
            "path_not_allowed",
            f"{label}: {given!r} is outside the documents root {root}; give a path relative to it, without '..'",
        )
    try:
        resolved = (root / candidate).resolve()
    except (RuntimeError, OSError):  # a symlink loop, or a name the OS refuses
        raise RequestError("document_not_found", f"{label}: {given!r} cannot be resolved to a file") from None
    if not resolved.is_relative_to(root):
        raise RequestError("path_not_allowed", f"{label}: {given!r} leads outside the documents root {root}")
    if not resolved.is_file():
        raise RequestError("document_not_found", f"{label}: no file {given!r} under the documents root {root}")
    return resolved


async def store_document(
    bus: Bus, workflow_id: str, index: int, document: DocumentInput, documents_root: Path | None
) -> DocumentRef:
    """Document ``index`` of a submission, stored in the documents bucket under the workflow (uploads stay put)."""
    label = f"documents[{index}]"
    given = [field for field in ("content", "path", "object_name") if getattr(document, field) is not None]
    if len(given) != 1:
        raise RequestError("bad_request", f"{label} needs exactly one of content, path or object_name")
    if document.object_name is not None:
        return await _uploaded(bus, label, document.object_name, document)
    if document.content is not None:
        data = document.content.encode()
        name = document.name or f"document-{index + 1}.md"
    else:
        if documents_root is None:
            raise RequestError(
                "path_not_allowed",
                f"{label}: this orchestrator reads no paths (no documents root configured); send content",
            )
        path = sandboxed_path(documents_root, document.path or "", label)
        data = path.read_bytes()
        name = document.name or path.name
    if not data.strip():
        raise RequestError("empty_document", f"{label} ({name}) is empty")
    if len(data) > MAX_DOCUMENT_BYTES:
        raise RequestError("document_too_large", f"{label} ({name}) exceeds {MAX_DOCUMENT_BYTES} bytes")
    media_type = media_type_of(name, document.media_type)
    object_name = f"{workflow_id}/{index:02d}-{_SAFE_NAME.sub('_', name)[:120]}"
    await bus.put_object(subjects.DOCUMENTS_BUCKET, object_name, data)
    return DocumentRef(name=name, object_name=object_name, media_type=media_type, size=len(data))


async def _uploaded(bus: Bus, label: str, object_name: str, document: DocumentInput) -> DocumentRef:
    if not object_name.startswith(subjects.UPLOAD_PREFIX):
        # Other objects in the bucket are other workflows' documents.
        raise RequestError(
            "document_not_allowed", f"{label}: object_name must name an upload ({subjects.UPLOAD_PREFIX}...)"
        )
    size = await bus.object_size(subjects.DOCUMENTS_BUCKET, object_name)
    if size is None:
        raise RequestError("unknown_document", f"{label}: no object {object_name!r} in {subjects.DOCUMENTS_BUCKET}")
    name = document.name or Path(object_name).name
    return DocumentRef(
        name=name, object_name=object_name, media_type=media_type_of(name, document.media_type), size=size
    )


def media_type_of(name: str, declared: str | None) -> str:
    """The media type of a document: the declared one when we read it, else the one its extension names."""
    if declared is not None and declared in _EXTENSION_TYPES.values():
        return declared
    extension = os.path.splitext(name.lower())[1]
    if extension in _EXTENSION_TYPES:
        return _EXTENSION_TYPES[extension]
    if declared is None and not extension:
        return "text/markdown"
    supported = ", ".join(sorted(_EXTENSION_TYPES))
    raise RequestError("unsupported_document", f"document {name!r}: unsupported type; supported: {supported}")
