"""qm.pdf: a text PDF written by hand, read back by a real PDF library (pypdf)."""

from __future__ import annotations

import io

from pypdf import PdfReader

from qm import pdf


def _read(data: bytes) -> PdfReader:
    reader = PdfReader(io.BytesIO(data), strict=True)  # strict: a wrong xref offset fails
    return reader


def test_a_document_reads_back_with_its_title_and_text():
    data = pdf.document("Evidence pack (test)", [
        pdf.Block("title", "Evidence pack"),
        pdf.Block("text", "Period 2026-01-01 to 2026-12-31 (both included)."),
        pdf.Block("mono", "sha256 " + "ab" * 32),
        pdf.Block("text", "Brackets (like these) and a back\\slash, caf\u00e9, \u2603 snowman."),
    ])
    assert data.startswith(b"%PDF-1.4") and data.rstrip().endswith(b"%%EOF")
    reader = _read(data)
    assert reader.metadata.title == "Evidence pack (test)"
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    assert "Period 2026-01-01 to 2026-12-31" in text
    assert "ab" * 32 in text.replace("\n", "")
    assert "(like these)" in text and "back\\slash" in text and "caf\u00e9" in text
    assert "? snowman" in text  # outside WinAnsi: a question mark, not a broken file
    assert "page 1 of 1" in text


def test_long_text_wraps_and_flows_onto_numbered_pages():
    words = " ".join(f"word{i}" for i in range(4000))
    reader = _read(pdf.document("Long", [pdf.Block("heading", "Many words"),
                                         pdf.Block("text", words)]))
    assert len(reader.pages) > 3
    found = "".join(page.extract_text() for page in reader.pages)
    flat = found.replace("\n", " ")
    assert "word0 " in flat and "word3999" in flat and "word2000" in flat
    assert f"page {len(reader.pages)} of {len(reader.pages)}" in found
    for page in reader.pages:  # every line inside the page's box
        assert float(page.mediabox.width) == pdf.PAGE_WIDTH


def test_the_same_blocks_give_the_same_bytes():
    blocks = [pdf.Block("title", "Same"), pdf.Block("small", "twice")]
    assert pdf.document("t", blocks) == pdf.document("t", blocks)
