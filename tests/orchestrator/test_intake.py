"""The one rule for documents given by path, as the orchestrator and the Python API apply it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gaai.bus.errors import RequestError
from gaai.orchestrator.intake import media_type_of, sandboxed_path
from graph_analytics_ai.session import resolve_document


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A documents root with a file, a subfolder, links in and out, and a secret beside it."""
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.md").write_text("secret")
    inside = tmp_path / "docs"
    (inside / "sub").mkdir(parents=True)
    (inside / "brief.md").write_text("brief")
    (inside / "sub" / "inner.md").write_text("inner")
    os.symlink(inside / "brief.md", inside / "inside-link.md")
    os.symlink(tmp_path / "outside" / "secret.md", inside / "link.md")
    os.symlink(inside / "loop.md", inside / "loop.md")
    return inside


def refusal(root: Path, given: str) -> tuple[str, str]:
    with pytest.raises(RequestError) as refused:
        sandboxed_path(root, given, "documents[0]")
    return refused.value.code, refused.value.message


def test_files_and_links_inside_the_root_are_read(root: Path):
    assert sandboxed_path(root, "brief.md", "d") == (root / "brief.md").resolve()
    assert sandboxed_path(root, "sub/inner.md", "d") == (root / "sub" / "inner.md").resolve()
    assert sandboxed_path(root, "inside-link.md", "d") == (root / "brief.md").resolve()


@pytest.mark.parametrize(
    "given", ["../outside/secret.md", "sub/../brief.md", "..", "/etc/passwd", "link.md", "sub/inner.md\x00.txt"]
)
def test_paths_leaving_the_root_or_naming_it_loosely_are_not_allowed(root: Path, given: str):
    code, message = refusal(root, given)
    assert code == "path_not_allowed"
    assert message.startswith("documents[0]: ")


def test_an_absolute_path_is_refused_even_inside_the_root(root: Path):
    code, message = refusal(root, str(root / "brief.md"))
    assert code == "path_not_allowed"
    assert "outside the documents root" in message and "relative" in message


@pytest.mark.parametrize("given", ["missing.md", "sub", "", "loop.md"])
def test_paths_naming_no_file_are_not_found(root: Path, given: str):
    code, message = refusal(root, given)
    assert code == "document_not_found", message


def test_the_python_api_applies_the_same_rule_with_its_own_label(root: Path):
    path, document = resolve_document({"path": "sub/inner.md"}, 0, root)
    assert path == (root / "sub" / "inner.md").resolve()
    assert document is not None and document.name == "inner.md"
    with pytest.raises(RequestError) as refused:
        resolve_document(root / "brief.md", 1, root)
    assert refused.value.code == "path_not_allowed"
    assert refused.value.message.startswith("document 2: ")
    assert "outside the documents root" in refused.value.message and "--docs-root" in refused.value.message
    with pytest.raises(RequestError) as missing:
        resolve_document({"path": "missing.md"}, 0, root)
    assert missing.value.code == "document_not_found"


def test_media_types_come_from_the_declaration_or_the_extension():
    assert media_type_of("a.pdf", None) == "application/pdf"
    assert media_type_of("notes", None) == "text/markdown"
    assert media_type_of("a.bin", "text/plain") == "text/plain"
    with pytest.raises(RequestError) as refused:
        media_type_of("a.exe", None)
    assert refused.value.code == "unsupported_document"
    assert ".docx" in refused.value.message


def test_a_declared_media_type_is_read_without_its_parameters_and_an_unknown_one_is_refused():
    assert media_type_of("a.md", "Text/Plain; charset=utf-8") == "text/plain"
    with pytest.raises(RequestError) as refused:
        media_type_of("a.md", "application/x-unknown", "documents[1]")
    assert (refused.value.code, refused.value.message) == (
        "unsupported_document",
        "documents[1].media_type: 'application/x-unknown' is not supported; supported: application/pdf, "
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document, text/html, text/markdown, "
        "text/plain",
    )
