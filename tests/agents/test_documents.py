"""Document parsing: every supported format becomes the same sections and body-line convention."""

from __future__ import annotations

import io

import docx
import pytest

from gaai.agents.lib.documents import (
    DOCX,
    HTML,
    MARKDOWN,
    MAX_DOCUMENT_BYTES,
    PDF,
    PLAIN,
    ParsedDocument,
    list_item,
    media_type_for,
    parse_document,
)
from gaai.bus.errors import TaskError


def make_pdf(pages: list[list[str]]) -> bytes:
    """A minimal valid PDF with one Helvetica text line per entry, one page per list."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>"
        % (b" ".join(b"%d 0 R" % (4 + 2 * index) for index in range(len(pages))), len(pages)),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    for index, lines in enumerate(pages):
        operations = [b"BT", b"/F1 11 Tf", b"14 TL", b"72 750 Td"]
        for line in lines:
            escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            operations.append(b"(" + escaped.encode("cp1252") + b") Tj T*")
        operations.append(b"ET")
        stream = b"\n".join(operations) if lines else b""
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (5 + 2 * index)
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def sections_of(document: ParsedDocument) -> dict[str, list[str]]:
    return {section.heading: section.lines for section in document.sections}


def error_of(name: str, data: bytes, media_type: str | None = None) -> TaskError:
    with pytest.raises(TaskError) as caught:
        parse_document(name, media_type or "", data)
    return caught.value


class TestMediaType:
    @pytest.mark.parametrize(
        ("name", "expected"),
        [
            ("brd.md", MARKDOWN),
            ("BRD.Markdown", MARKDOWN),
            ("notes.txt", PLAIN),
            ("spec.PDF", PDF),
            ("spec.docx", DOCX),
            ("page.htm", HTML),
            ("page.html", HTML),
        ],
    )
    def test_extension_decides_without_declared_type(self, name: str, expected: str) -> None:
        """Each supported extension maps to its media type."""
        assert media_type_for(name) == expected

    def test_supported_declared_type_wins_over_extension(self) -> None:
        """A declared supported type, even with parameters, beats the file name."""
        assert media_type_for("upload.bin", "text/markdown; charset=utf-8") == MARKDOWN
        assert media_type_for("notes.txt", "text/html") == HTML

    def test_unsupported_declared_type_falls_back_to_extension(self) -> None:
        """An unknown declared type does not hide a known extension."""
        assert media_type_for("spec.pdf", "application/octet-stream") == PDF

    def test_unknown_extension_names_supported_ones(self) -> None:
        """An unsupported document is refused with the list of supported extensions."""
        with pytest.raises(TaskError) as caught:
            media_type_for("sheet.xlsx")
        assert caught.value.code == "unsupported_document"
        assert ".docx" in caught.value.message and ".pdf" in caught.value.message
        assert caught.value.retryable is False


class TestMarkdown:
    def test_headings_bullets_tables_and_wrapped_paragraphs(self) -> None:
        """ATX and setext headings split sections; markup, code blocks and table rules are dropped."""
        source = (
            "Customer Graph\n"
            "==============\n"
            "Intro text that is\n"
            "wrapped over lines.\n\n"
            "## 2. Goals ##\n"
            "* **First** goal with a [link](https://example.com)\n"
            "  that continues\n"
            "+ second goal\n"
            "3) third, numbered\n\n"
            "```\n"
            "the system must not be read from code\n"
            "```\n"
            "| ID | Text |\n"
            "|----|:----:|\n"
            "| REQ-1 | Use `pagerank` |\n"
            "Scope\n"
            "-----\n"
            "> quoted must stay\n"
        )
        document = parse_document("brd.md", MARKDOWN, source.encode())
        assert [(section.heading, section.level) for section in document.sections] == [
            ("Customer Graph", 1),
            ("Goals", 2),
            ("Scope", 2),
        ]
        sections = sections_of(document)
        assert sections["Customer Graph"] == ["Intro text that is wrapped over lines."]
        assert sections["Goals"] == [
            "- First goal with a link that continues",
            "- second goal",
            "3. third, numbered",
            "ID | Text",
            "REQ-1 | Use pagerank",
        ]
        assert sections["Scope"] == ["quoted must stay"]
        assert "code" not in document.text
        assert document.text.startswith("# Customer Graph\n")
        assert "## Goals\n- First goal" in document.text

    def test_list_item_reads_the_normalised_markers(self) -> None:
        """Bullets and numbered items are recognisable; paragraphs and rows are not items."""
        assert list_item("- rank customers") == "rank customers"
        assert list_item("12. rank customers") == "rank customers"
        assert list_item("rank customers") is None
        assert list_item("REQ-1 | rank") is None


class TestPlainText:
    def test_heading_heuristics(self) -> None:
        """ALL CAPS lines, numbered titles and 'Label:' before a list become headings; lead-ins do not."""
        source = (
            "PROJECT OVERVIEW\n"
            "This document covers the\n"
            "customer graph.\n\n"
            "1. Scope\n"
            "Everything in the shop.\n"
            "2.1 Goals\n"
            "Objectives:\n"
            "• grow repeat purchases\n"
            "• find communities\n"
            "  of shoppers\n"
            "The system must:\n"
            "- rank customers\n"
            "1. Short item\n"
            "2. Another item\n"
        )
        document = parse_document("notes.txt", PLAIN, source.encode())
        assert [(section.heading, section.level) for section in document.sections] == [
            ("PROJECT OVERVIEW", 1),
            ("Scope", 1),
            ("Goals", 2),
            ("Objectives", 2),
        ]
        sections = sections_of(document)
        assert sections["PROJECT OVERVIEW"] == ["This document covers the customer graph."]
        assert sections["Objectives"] == [
            "- grow repeat purchases",
            "- find communities of shoppers",
            "The system must:",
            "- rank customers",
            "1. Short item",
            "2. Another item",
        ]

    @pytest.mark.parametrize(
        "data",
        [
            "Café – must work".encode("cp1252"),
            "Café – must work".encode("utf-8-sig"),
            "Café – must work".encode("utf-16"),
            "Café must work".encode("latin-1"),
        ],
    )
    def test_encodings(self, data: bytes) -> None:
        """UTF-8 with or without BOM, UTF-16 with BOM and Windows-1252/Latin-1 text all decode."""
        document = parse_document("notes.txt", PLAIN, data)
        assert document.sections[0].lines[0].startswith("Café")
        assert document.sections[0].lines[0].endswith("must work")

    def test_binary_content_is_refused(self) -> None:
        """A .txt holding binary data is a bad document, not Latin-1 gibberish."""
        error = error_of("notes.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
        assert error.code == "bad_document"


class TestPdf:
    def test_text_pages_become_sections(self) -> None:
        """PDF text runs through the plain-text heuristics; page numbers are dropped."""
        data = make_pdf(
            [
                ["REQUIREMENTS", "The system must rank customers by", "influence.", "\u2022 Find communities", "1"],
                ["2.1 Constraints", "Reports must not contain personal data."],
            ]
        )
        document = parse_document("spec.pdf", PDF, data)
        assert document.media_type == PDF
        assert sections_of(document) == {
            "REQUIREMENTS": ["The system must rank customers by influence.", "- Find communities"],
            "Constraints": ["Reports must not contain personal data."],
        }

    def test_corrupt_pdf_is_a_bad_document(self) -> None:
        """A damaged PDF is refused with the parser's reason and no retry."""
        data = make_pdf([["Hello"]])[:60]
        error = error_of("spec.pdf", data)
        assert error.code == "bad_document"
        assert "spec.pdf" in error.message and "not a readable PDF" in error.message
        assert error.retryable is False

    def test_pdf_without_text_is_empty(self) -> None:
        """A PDF with no text layer (a scan) is reported as empty."""
        assert error_of("scan.pdf", make_pdf([[]])).code == "empty_document"


class TestDocx:
    def test_styles_lists_and_tables(self, tmp_path) -> None:
        """Heading styles, bullet and numbered list styles and tables map onto sections and lines."""
        document = docx.Document()
        document.add_heading("Business Requirements", 0)
        document.add_heading("Objectives", 1)
        document.add_paragraph("OBJ-1: Grow repeat purchases", style="List Bullet")
        document.add_heading("Requirements", 2)
        document.add_paragraph("Rank customers", style="List Number")
        document.add_paragraph("Find communities", style="List Number")
        document.add_paragraph("The report must be ready by Friday.")
        table = document.add_table(rows=2, cols=2)
        table.cell(0, 0).text, table.cell(0, 1).text = "Name", "Role"
        table.cell(1, 0).text, table.cell(1, 1).text = "Maria Lopez", "Sponsor"
        path = tmp_path / "brd.docx"
        document.save(path)

        parsed = parse_document("brd.docx", DOCX, path.read_bytes())
        assert [(section.heading, section.level) for section in parsed.sections] == [
            ("Business Requirements", 1),
            ("Objectives", 1),
            ("Requirements", 2),
        ]
        sections = sections_of(parsed)
        assert sections["Objectives"] == ["- OBJ-1: Grow repeat purchases"]
        assert sections["Requirements"] == [
            "1. Rank customers",
            "2. Find communities",
            "The report must be ready by Friday.",
            "Name | Role",
            "Maria Lopez | Sponsor",
        ]

    def test_corrupt_docx_is_a_bad_document(self) -> None:
        """Bytes that are not a Word package are refused with the reason."""
        error = error_of("brd.docx", b"PK\x03\x04 this is not a zip archive")
        assert error.code == "bad_document"
        assert "not a readable Word document" in error.message

    def test_docx_read_from_memory(self) -> None:
        """A document saved to bytes (as clients upload it) parses the same way."""
        document = docx.Document()
        document.add_paragraph("SCOPE")
        document.add_paragraph("Customers and products.")
        buffer = io.BytesIO()
        document.save(buffer)
        assert sections_of(parse_document("a.docx", DOCX, buffer.getvalue())) == {"SCOPE": ["Customers and products."]}


class TestHtml:
    def test_structure_scripts_and_entities(self) -> None:
        """Headings, list items and rows are kept; script, style and template content is dropped."""
        markup = b"""<!doctype html><html><head><title>Ignored title</title>
        <style>body { color: red }</style><script>var must = "never read";</script></head>
        <body><h1>Goals &amp; Requirements</h1>
        <p>The platform <b>must</b> rank customers &lt;fast&gt; &#8211; daily.</p>
        <ul><li><p>Find communities</p></li><li>Detect rings<ul><li>nested item</li></ul></li></ul>
        <ol><li>first<li>second</ol>
        <template><p>template text</p></template>
        <h3>Stakeholders</h3>
        <table><tr><th>Name</th><th>Role</th></tr><tr><td>Maria Lopez</td><td>Sponsor</td></tr></table>
        <script type="module">console.log("must not appear")</script>
        </body></html>"""
        document = parse_document("page.html", HTML, markup)
        assert sections_of(document) == {
            "Goals & Requirements": [
                "The platform must rank customers <fast> \u2013 daily.",
                "- Find communities",
                "- Detect rings",
                "- nested item",
                "1. first",
                "2. second",
            ],
            "Stakeholders": ["Name | Role", "Maria Lopez | Sponsor"],
        }
        assert "never read" not in document.text and "template text" not in document.text
        assert "Ignored title" not in document.text


class TestErrors:
    @pytest.mark.parametrize("data", [b"", b"   \n\t\n"])
    def test_empty_document(self, data: bytes) -> None:
        """An empty or blank file is an empty document."""
        error = error_of("empty.md", data)
        assert error.code == "empty_document"
        assert error.retryable is False

    def test_markup_without_text_is_empty(self) -> None:
        """HTML whose only content is script has no text."""
        assert error_of("page.html", b"<html><script>alert(1)</script></html>").code == "empty_document"

    def test_too_large(self) -> None:
        """Documents above the size limit are refused before parsing."""
        error = error_of("huge.txt", b"a" * (MAX_DOCUMENT_BYTES + 1))
        assert error.code == "document_too_large"
        assert "MB" in error.message

    def test_unsupported_extension(self) -> None:
        """A file type the parser cannot read is refused by parse_document too."""
        assert error_of("sheet.xlsx", b"data", "application/vnd.ms-excel").code == "unsupported_document"
