"""Document intake: the documents of a submission checked, named, typed and stored for its agents.

``sandboxed_path`` is the one rule for a document given by path, shared by the orchestrator
(paths under ``GAAI_DOCUMENTS_ROOT``) and the Python API and CLI (paths under the documents
root the user chose): relative to the root, no ``..``, no NUL byte, still under the root once
symlinks are followed, and a regular file.
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

from gaai.bus import subjects
from gaai.bus.connection import Bus
from gaai.bus.contract import DocumentInput
from gaai.bus.domain import DocumentRef
from gaai.bus.errors import RequestError

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
        # Off the event loop: a slow disk or a huge file must not hold up other requests.
        path, data = await asyncio.to_thread(_read_under_limit, documents_root, document.path or "", label)
        name = document.name or path.name
    if len(data) > MAX_DOCUMENT_BYTES:
        raise RequestError("document_too_large", f"{label} ({name}) exceeds {MAX_DOCUMENT_BYTES} bytes")
    if not data.replace(b"\x00", b"").strip():
        raise RequestError("empty_document", f"{label} ({name}) is empty or holds only whitespace and NUL bytes")
    media_type = media_type_of(name, document.media_type, label)
    _check_readable(label, name, media_type, data)
    object_name = f"{workflow_id}/{index:02d}-{_SAFE_NAME.sub('_', name)[:120]}"
    await bus.put_object(subjects.DOCUMENTS_BUCKET, object_name, data)
    return DocumentRef(name=name, object_name=object_name, media_type=media_type, size=len(data))


def _read_under_limit(root: Path, given: str, label: str) -> tuple[Path, bytes]:
    """The file ``given`` names under ``root`` and its bytes, refused by its size before any of it is read.

    Raises:
        RequestError: as ``sandboxed_path``; ``document_too_large`` over ``MAX_DOCUMENT_BYTES`` (also when the
            file grew past it after its size was checked); ``document_not_found`` when it cannot be read.
    """
    path = sandboxed_path(root, given, label)
    too_large = RequestError("document_too_large", f"{label} ({path.name}) exceeds {MAX_DOCUMENT_BYTES} bytes")
    try:
        if path.stat().st_size > MAX_DOCUMENT_BYTES:
            raise too_large
        with path.open("rb") as file:
            data = file.read(MAX_DOCUMENT_BYTES + 1)
    except OSError as exc:
        raise RequestError("document_not_found", f"{label}: {given!r} cannot be read: {exc.strerror}") from None
    if len(data) > MAX_DOCUMENT_BYTES:
        raise too_large
    return path, data


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
        name=name, object_name=object_name, media_type=media_type_of(name, document.media_type, label), size=size
    )


def media_type_of(name: str, declared: str | None, label: str = "document") -> str:
    """The media type of a document: the declared one (parameters such as ``charset`` aside), else the one its
    extension names.

    Raises:
        RequestError: ``unsupported_document`` for a declared type we do not read, listing the ones we do, or for
            a name whose extension we do not read.
    """
    if declared is not None:
        base = declared.split(";", 1)[0].strip().lower()
        if base not in _EXTENSION_TYPES.values():
            supported = ", ".join(sorted(set(_EXTENSION_TYPES.values())))
            raise RequestError(
                "unsupported_document", f"{label}.media_type: {declared!r} is not supported; supported: {supported}"
            )
        return base
    extension = os.path.splitext(name.lower())[1]
    if extension in _EXTENSION_TYPES:
        return _EXTENSION_TYPES[extension]
    if not extension:
        return "text/markdown"
    supported = ", ".join(sorted(_EXTENSION_TYPES))
    raise RequestError("unsupported_document", f"document {name!r}: unsupported type; supported: {supported}")


_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_SIGNATURES = {"application/pdf": (b"%PDF-", "a PDF"), _EXTENSION_TYPES[".docx"]: (b"PK\x03\x04", "a Word document")}


def _check_readable(label: str, name: str, media_type: str, data: bytes) -> None:
    """Refuse, at the door, bytes the agents could not read as ``media_type`` (the checks of their decoder).

    Text is UTF-8, UTF-16 with a byte order mark, or an 8-bit encoding, so it has no NUL byte unless it is UTF-16;
    a PDF starts with ``%PDF-`` (within its first KiB) and a Word document is a ZIP archive.

    Raises:
        RequestError: ``bad_document`` naming the document and what its bytes are not.
    """
    if media_type in _SIGNATURES:
        signature, kind = _SIGNATURES[media_type]
        found = signature in data[:1024] if media_type == "application/pdf" else data.startswith(signature)
        if not found:
            raise RequestError("bad_document", f"{label} ({name}) is declared {media_type} but is not {kind}")
    elif data.startswith(_UTF16_BOMS):
        try:
            data.decode("utf-16")
        except UnicodeDecodeError:
            raise RequestError("bad_document", f"{label} ({name}) has a UTF-16 byte order mark, not UTF-16") from None
    elif b"\x00" in data:
        raise RequestError("bad_document", f"{label} ({name}) is binary (NUL bytes), not {media_type} text")
