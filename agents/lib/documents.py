"""Requirement documents: bytes in, structured text out.

Every format ends up as the same shape, a :class:`ParsedDocument` holding a list of
:class:`Section` (a heading and the body lines under it), so the agents that read
documents never care whether a requirement came from Markdown, a PDF or a Word file.

Body lines follow one convention, whatever the source format:

* ``"- text"`` is a bullet item, ``"3. text"`` a numbered item (see :func:`list_item`);
* ``"a | b | c"`` is a table row;
* anything else is a paragraph, with hard-wrapped lines already joined.

All failures are non-retryable :class:`~bus.errors.TaskError` s: a document that cannot be
read now will not become readable by trying again.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import PurePath

from docx import Document
from docx.table import Table
from pypdf import PdfReader

from gaai.bus.domain import DocumentRef
from gaai.bus.errors import TaskError
from gaai.telemetry.tracing import span

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
"""Larger documents are refused: requirement documents are pages, not archives."""

MARKDOWN = "text/markdown"
PLAIN = "text/plain"
PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
HTML = "text/html"

MEDIA_TYPES: dict[str, str] = {
    ".md": MARKDOWN,
    ".markdown": MARKDOWN,
    ".txt": PLAIN,
    ".pdf": PDF,
    ".docx": DOCX,
    ".html": HTML,
    ".htm": HTML,
}
"""Supported file extensions and the media type each one means."""


@dataclass(frozen=True)
class Section:
    """A heading and the body lines under it, up to the next heading.

    Attributes:
        heading: The heading text without markup; ``""`` for text before the first heading.
        level: 1 for a top-level heading, 2 below it, and so on; 0 for text before any heading.
        lines: Body lines in the convention of the module docstring.
    """

    heading: str
    level: int
    lines: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ParsedDocument:
    """A document reduced to text and sections.

    Attributes:
        name: The document's name as given (usually its file name).
        media_type: One of the values of :data:`MEDIA_TYPES`.
        text: The sections rendered as Markdown: what an LLM or a keyword scorer should read.
        sections: The document's sections in reading order.
    """

    name: str
    media_type: str
    text: str
    sections: list[Section]


def media_type_for(name: str, declared: str | None = None) -> str:
    """The media type of a document from its declared type or, failing that, its extension.

    Args:
        name: The document's file name; only its extension is used.
        declared: A media type the sender gave. It wins when it is a supported type;
            parameters such as ``; charset=utf-8`` are ignored.

    Returns:
        A supported media type.

    Raises:
        TaskError: ``unsupported_document`` when neither the declared type nor the
            extension is supported.
    """
    if declared:
        base = declared.split(";", 1)[0].strip().lower()
        if base in MEDIA_TYPES.values():
            return base
    suffix = PurePath(name).suffix.lower()
    if suffix in MEDIA_TYPES:
        return MEDIA_TYPES[suffix]
    supported = ", ".join(MEDIA_TYPES)
    raise TaskError("unsupported_document", f"cannot read {name!r}: supported document types are {supported}")


def parse_document(name: str, media_type: str, data: bytes) -> ParsedDocument:
    """Parse a document's bytes into sections.

    Args:
        name: The document's name, used in error messages and kept on the result.
        media_type: The document's media type; resolved with :func:`media_type_for`, so an
            unsupported value falls back to the extension of ``name``.
        data: The raw file content.

    Returns:
        The parsed document.

    Raises:
        TaskError: ``document_too_large``, ``empty_document`` (no text at all),
            ``bad_document`` (corrupt or undecodable file, with the parser's reason) or
            ``unsupported_document``; none of them retryable.
    """
    kind = media_type_for(name, media_type)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise TaskError(
            "document_too_large",
            f"{name!r} is {len(data) / 1e6:.1f} MB; documents are limited to {MAX_DOCUMENT_BYTES / 1e6:.0f} MB",
        )
    if not data.strip():
        raise TaskError("empty_document", f"{name!r} is empty")
    if kind == MARKDOWN:
        blocks = _scan_lines(_decode_text(name, data).splitlines(), markdown=True)
    elif kind == PLAIN:
        blocks = _scan_lines(_decode_text(name, data).splitlines(), markdown=False)
    elif kind == PDF:
        blocks = _scan_lines(_pdf_lines(name, data), markdown=False)
    elif kind == DOCX:
        blocks = _scan_lines(_docx_lines(name, data), markdown=False)
    else:
        blocks = _html_blocks(_decode_text(name, data))
    sections = _assemble(blocks)
    if not any(section.heading or section.lines for section in sections):
        raise TaskError("empty_document", f"{name!r} contains no readable text (a scanned image without a text layer?)")
    return ParsedDocument(name=name, media_type=kind, text=_render(sections), sections=sections)


def list_item(line: str) -> str | None:
    """The text of a body line that is a bullet or numbered item, else ``None``.

    Args:
        line: A line of :attr:`Section.lines`.

    Returns:
        The item's text without its marker, or ``None`` for paragraphs and table rows.
    """
    match = _ITEM_LINE.match(line)
    return match.group(1) if match else None


# ---------------------------------------------------------------- decoding

_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def _decode_text(name: str, data: bytes) -> str:
    """Text from bytes: UTF-8 (with or without BOM), UTF-16 with a BOM, else Windows-1252/Latin-1."""
    if data.startswith(_UTF16_BOMS):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise TaskError("bad_document", f"{name!r} has a UTF-16 byte order mark but is not UTF-16: {exc}") from None
    # NUL bytes never occur in 8-bit text; without this check a binary file would "decode" as Latin-1.
    if b"\x00" in data:
        raise TaskError("bad_document", f"{name!r} is binary, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _pdf_lines(name: str, data: bytes) -> list[str]:
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise TaskError("bad_document", f"{name!r} is an encrypted PDF")
        pages = [page.extract_text() or "" for page in reader.pages]
    except TaskError:
        raise
    except Exception as exc:  # pypdf raises many unrelated types (ValueError, KeyError, zlib.error…) on corrupt input
        reason = str(exc) or type(exc).__name__
        raise TaskError("bad_document", f"{name!r} is not a readable PDF: {reason}") from None
    lines: list[str] = []
    for text in pages:
        lines.extend(line for line in text.splitlines() if not _PAGE_NUMBER.match(line))
        lines.append("")
    return lines


def _docx_lines(name: str, data: bytes) -> list[str | tuple[int, str]]:
    """Lines for :func:`_scan_lines`: styled headings, lists and tables arrive pre-classified."""
    try:
        document = Document(io.BytesIO(data))
        content = list(document.iter_inner_content())
    except Exception as exc:  # a broken zip, a missing part or bad XML all surface as different types
        reason = str(exc) or type(exc).__name__
        raise TaskError("bad_document", f"{name!r} is not a readable Word document: {reason}") from None
    lines: list[str | tuple[int, str]] = []
    number = 0
    for block in content:
        if isinstance(block, Table):
            for row in block.rows:
                cells: list[str] = []
                for cell in row.cells:
                    text = squash_spaces(cell.text)
                    # python-docx repeats a merged cell once per grid column it spans.
                    if text and (not cells or cells[-1] != text):
                        cells.append(text)
                if cells:
                    lines.append((0, " | ".join(cells)))
            lines.append("")
            continue
        text = block.text.strip()
        style = (block.style.name if block.style is not None else "") or ""
        heading = re.fullmatch(r"Heading (\d)", style)
        number = number + 1 if style.startswith("List Number") and text else 0
        if not text:
            lines.append("")
        elif heading or style == "Title":
            lines.append((int(heading.group(1)) if heading else 1, squash_spaces(text)))
        elif style.startswith("List Number"):
            lines.append((0, f"{number}. {squash_spaces(text)}"))
        elif style.startswith("List"):
            lines.append((0, f"- {squash_spaces(text)}"))
        else:
            lines.extend(text.splitlines())
            lines.append("")
    return lines


# ---------------------------------------------------------------- line scanning

_ATX = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_SETEXT = re.compile(r"^(=+|-+)\s*$")
_BULLET = re.compile(r"^(?:[-*+•‣◦▪▫●○■□–—]|\([a-z]\)|[a-z]\))\s+(.+)$")
_NUMBERED = re.compile(r"^\(?(\d{1,3})[.)]\s+(.+)$")
_NUMBERED_HEADING = re.compile(r"^(\d{1,2}(?:\.\d{1,2})*)\.?\s+(\S.*)$")
_TABLE_SEPARATOR = re.compile(r"^\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?$")
_FENCE = re.compile(r"^(```|~~~)")
_ITEM_LINE = re.compile(r"^(?:-|\d{1,3}\.)\s+(.+)$")
_PAGE_NUMBER = re.compile(r"^\s*(?:page\s*)?\d+(?:\s*(?:of|/)\s*\d+)?\s*$", re.IGNORECASE)
_MODAL = re.compile(r"\b(?:must|shall|should|could|would)\b", re.IGNORECASE)
_TERMINAL = (".", "!", "?", ";", ",")

_INLINE = [
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),
    (re.compile(r"`([^`]*)`"), r"\1"),
    (re.compile(r"(\*\*|__)(.+?)\1"), r"\2"),
    (re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])"), r"\1"),
    (re.compile(r"(?<!\w)_(?!\s)(.+?)(?<!\s)_(?!\w)"), r"\1"),
    (re.compile(r"\\([\\`*_{}\[\]()#+\-.!|])"), r"\1"),
]


def squash_spaces(text: str) -> str:
    """``text`` with every run of whitespace as one space, none at either end."""
    return " ".join(text.split())


def _strip_inline(text: str) -> str:
    for pattern, replacement in _INLINE:
        text = pattern.sub(replacement, text)
    return text


def _scan_lines(lines: list[str | tuple[int, str]], *, markdown: bool) -> list[tuple[int, str]]:
    """Classify lines into blocks ``(level, text)``: level > 0 is a heading, 0 a body line.

    Hard-wrapped paragraph lines are joined, as are indented or unfinished continuations
    of a list item. Tuples in ``lines`` are already-classified blocks (from Word styles).
    Outside Markdown, headings are also guessed from plain-text habits: ALL CAPS lines,
    numbered titles such as ``2.1 Goals`` and short ``Label:`` lines that introduce a list.
    """
    blocks: list[tuple[int, str]] = []
    pending: list[str] = []  # the paragraph or list item being built
    pending_is_item = False

    def flush() -> None:
        nonlocal pending_is_item
        if pending:
            blocks.append((0, " ".join(pending)))
            pending.clear()
        pending_is_item = False

    def start(text: str, is_item: bool) -> None:
        nonlocal pending_is_item
        flush()
        pending.append(text)
        pending_is_item = is_item

    in_fence = False
    count = len(lines)
    for index, raw in enumerate(lines):
        if isinstance(raw, tuple):
            flush()
            blocks.append(raw)
            continue
        stripped = raw.strip()
        if markdown and _FENCE.match(stripped):
            # Code blocks hold examples, not requirements; their "must"s would be misread.
            in_fence = not in_fence
            flush()
            continue
        if in_fence:
            continue
        if markdown:
            stripped = re.sub(r"^(?:>\s?)+", "", stripped).strip()
        if not stripped or (markdown and stripped.startswith("<!--") and stripped.endswith("-->")):
            flush()
            continue
        if _SETEXT.match(stripped):
            # The underline of a setext heading: the heading is the single line just gathered.
            if len(pending) == 1 and not pending_is_item and len(stripped) >= 2:
                title = pending.pop()
                blocks.append((1 if stripped[0] == "=" else 2, title))
            flush()
            continue
        # Plain text is often Markdown saved as .txt, so emphasis and links are unwrapped there too.
        text = _strip_inline(stripped)
        atx = _ATX.match(text)
        if atx:
            flush()
            blocks.append((len(atx.group(1)), squash_spaces(atx.group(2))))
            continue
        if "|" in text and (text.startswith("|") or text.count("|") >= 2):
            flush()
            if not _TABLE_SEPARATOR.match(text):
                cells = [squash_spaces(cell) for cell in text.strip("|").split("|")]
                blocks.append((0, " | ".join(cell for cell in cells if cell)))
            continue
        if not markdown:
            level = _guess_heading(text, _neighbours(lines, index, count))
            if level:
                flush()
                blocks.append((level, squash_spaces(text.rstrip(":"))))
                continue
        bullet = _BULLET.match(text)
        if bullet:
            start(f"- {squash_spaces(bullet.group(1))}", True)
            continue
        numbered = _NUMBERED.match(text)
        if numbered:
            start(f"{numbered.group(1)}. {squash_spaces(numbered.group(2))}", True)
            continue
        # PDF text loses indentation, so an unfinished item followed by a lowercase line is a wrap too.
        continues_item = pending_is_item and (
            raw[:1].isspace() or (not pending[-1].endswith((*_TERMINAL, ":")) and text[:1].islower())
        )
        if pending and pending_is_item and not continues_item:
            flush()
        pending.append(squash_spaces(text))
    flush()
    return blocks


def _neighbours(lines: list[str | tuple[int, str]], index: int, count: int) -> tuple[str, str]:
    """The nearest non-blank plain lines before and after ``index`` (``""`` when none)."""

    def scan(step: int) -> str:
        position = index + step
        while 0 <= position < count:
            line = lines[position]
            if isinstance(line, tuple):
                return line[1]
            if line.strip():
                return line.strip()
            position += step
        return ""

    return scan(-1), scan(1)


def _guess_heading(text: str, around: tuple[str, str]) -> int:
    """The heading level a plain-text line looks like, or 0 for body text."""
    previous, following = around
    words = text.split()
    if len(words) > 10 or text.endswith(_TERMINAL) or _BULLET.match(text):
        return 0
    numbered = _NUMBERED_HEADING.match(text)
    if numbered:
        depth = numbered.group(1).count(".") + 1
        title = numbered.group(2)
        if not title[:1].isupper() or len(title.split()) > 8 or _MODAL.search(title):
            return 0
        # "1. Influential customers" between "2. …" items is a short list item, not a heading.
        if depth == 1 and any(re.match(r"^\d{1,3}[.)]\s", line) for line in (previous, following)):
            return 0
        return depth
    letters = [char for char in text if char.isalpha()]
    if len(letters) >= 3 and text.upper() == text and sum(char.isalpha() for char in words[0]) >= 2:
        return 1
    if (
        text.endswith(":")
        and len(words) <= 8
        and text[:1].isupper()
        and not _MODAL.search(text)
        and (_BULLET.match(following) or _NUMBERED.match(following))
    ):
        return 2
    return 0


# ---------------------------------------------------------------- HTML


class _HtmlBlocks(HTMLParser):
    """Collects headings, list items, table rows and paragraphs from HTML.

    A stack of open containers (heading, list item, table cell) decides what kind of
    block the text belongs to, so ``<li><p>text</p></li>`` is still an item and an
    unclosed ``<li>`` ends at the next one, as browsers do.
    """

    _SKIP = frozenset({"script", "style", "template", "noscript", "head", "title", "svg", "iframe", "object"})
    _BREAKS = frozenset(
        {
            "p",
            "div",
            "section",
            "article",
            "header",
            "footer",
            "main",
            "aside",
            "nav",
            "blockquote",
            "pre",
            "br",
            "hr",
            "table",
            "dl",
            "dt",
            "dd",
            "figure",
            "figcaption",
            "form",
            "body",
            "html",
        }
    )
    _HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
    _STRUCTURE = _BREAKS | _HEADINGS | {"li", "ul", "ol", "tr", "td", "th"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[int, str]] = []
        self._text: list[str] = []
        self._skip_depth = 0
        self._containers: list[tuple[str, int, int]] = []  # (tag, heading level or item number, list depth)
        self._lists: list[tuple[bool, list[int]]] = []  # (ordered, [items seen]) per open list
        self._cells: list[str] | None = None

    def _flush(self) -> None:
        text = squash_spaces("".join(self._text))
        self._text.clear()
        if not text:
            return
        tag, value, _ = self._containers[-1] if self._containers else ("p", 0, 0)
        if tag in ("td", "th") and self._cells is not None:
            self._cells.append(text)
        elif tag in self._HEADINGS:
            self.blocks.append((value, text))
        elif tag == "li":
            self.blocks.append((0, f"{value}. {text}" if value else f"- {text}"))
        else:
            self.blocks.append((0, text))

    def _close(self, tag: str) -> None:
        """Pop the innermost open ``tag`` and whatever was left open inside it."""
        for position in range(len(self._containers) - 1, -1, -1):
            if self._containers[position][0] == tag:
                del self._containers[position:]
                return

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skip_depth += 1
            return
        if self._skip_depth or tag not in self._STRUCTURE:
            return
        self._flush()
        depth = len(self._lists)
        if tag in self._HEADINGS:
            self._containers.append((tag, int(tag[1]), depth))
        elif tag == "li":
            if self._containers and self._containers[-1][0] == "li" and self._containers[-1][2] == depth:
                self._containers.pop()
            number = 0
            if self._lists:
                ordered, seen = self._lists[-1]
                seen[0] += 1
                number = seen[0] if ordered else 0
            self._containers.append(("li", number, depth))
        elif tag in ("ul", "ol"):
            self._lists.append((tag == "ol", [0]))
        elif tag == "tr":
            self._cells = []
        elif tag in ("td", "th"):
            self._close("td")
            self._close("th")
            self._containers.append((tag, 0, depth))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self._skip_depth and tag in self._BREAKS:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skip_depth = max(0, self._skip_depth - 1)
            return
        if self._skip_depth or tag not in self._STRUCTURE:
            return
        self._flush()
        if tag in ("ul", "ol"):
            if self._lists:
                self._lists.pop()
            depth = len(self._lists)
            while self._containers and self._containers[-1][2] > depth:
                self._containers.pop()
        elif tag == "tr":
            self._close("td")
            self._close("th")
            if self._cells:
                self.blocks.append((0, " | ".join(self._cells)))
            self._cells = None
        elif tag in self._HEADINGS or tag in ("li", "td", "th"):
            self._close(tag)

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self._text.append(data)


def _html_blocks(markup: str) -> list[tuple[int, str]]:
    parser = _HtmlBlocks()
    parser.feed(markup)
    parser.close()
    parser._flush()
    return parser.blocks


# ---------------------------------------------------------------- assembly


_HEADING_NUMBER = re.compile(r"^(?:\d{1,2}(?:\.\d{1,2})*\.?|[A-Z]\.)\s+(?=\S)")


def _assemble(blocks: list[tuple[int, str]]) -> list[Section]:
    sections: list[Section] = []
    current = Section(heading="", level=0)
    for level, text in blocks:
        if level:
            if current.heading or current.lines:
                sections.append(current)
            # "2.1 Goals" and "## 2. Goals" are both the section "Goals".
            current = Section(heading=_HEADING_NUMBER.sub("", text) or text, level=level)
        else:
            current.lines.append(text)
    if current.heading or current.lines:
        sections.append(current)
    return sections


def _render(sections: list[Section]) -> str:
    parts: list[str] = []
    for section in sections:
        chunk = [f"{'#' * section.level} {section.heading}"] if section.heading else []
        chunk.extend(section.lines)
        parts.append("\n".join(chunk))
    return "\n\n".join(parts) + "\n"


async def read_documents(refs: list[DocumentRef], ctx) -> list[ParsedDocument]:
    """Fetch the task's documents from the document store and parse them off the event loop."""
    parsed = []
    for ref in refs:
        with span(
            "parse document", **{"gaai.document.name": ref.name, "gaai.document.media_type": ref.media_type}
        ) as current:
            data = await ctx.fetch_document(ref)
            document = await ctx.run_cpu(parse_document, ref.name, ref.media_type, data)
            current.set_attributes(
                {
                    "gaai.document.bytes": len(data),
                    "gaai.document.chars": len(document.text),
                    "gaai.document.sections": len(document.sections),
                }
            )
        parsed.append(document)
    return parsed
