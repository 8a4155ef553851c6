"""A plain-text PDF, written by hand: headings, paragraphs and fixed-width lines on A4 pages, in
the PDF's own standard fonts (Helvetica and Courier, which every reader has), with no browser, no
rendering library and no font file. Enough for a document an auditor prints and files, such as
the evidence pack's index; not a layout engine (no tables, no images).

Text is encoded as WinAnsi (cp1252): a character outside it prints as "?". Lines are wrapped by
an estimate of each font's average character width, on the safe side, so nothing runs off the
page. The output is deterministic: the same blocks give the same bytes (no creation date), so a
PDF inside a pack can be hashed like every other file.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

PAGE_WIDTH, PAGE_HEIGHT, MARGIN = 595, 842, 50  # A4 in points
USABLE = PAGE_WIDTH - 2 * MARGIN

# style -> (font resource, size, average character width in ems, space before)
STYLES = {
    "title": ("F2", 16, 0.60, 0),
    "heading": ("F2", 12, 0.60, 10),
    "text": ("F1", 10, 0.52, 2),
    "small": ("F1", 8, 0.52, 0),
    "mono": ("F3", 8, 0.60, 0),
}
FONTS = {"F1": "Helvetica", "F2": "Helvetica-Bold", "F3": "Courier"}


@dataclass(frozen=True)
class Block:
    """One paragraph in one style; wrapped to the page's width when written."""

    style: str
    text: str


def _escape(text: str) -> bytes:
    raw = text.encode("cp1252", errors="replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _lines(blocks: Iterable[Block]) -> list[tuple[str, int, float, str]]:
    """(font, size, space before, text) for every line after wrapping."""
    out = []
    for block in blocks:
        font, size, em, before = STYLES[block.style]
        width = max(10, int(USABLE / (size * em)))
        wrapped = textwrap.wrap(block.text, width, break_long_words=True,
                                break_on_hyphens=False) or [""]
        for i, line in enumerate(wrapped):
            out.append((font, size, before if i == 0 else 0, line))
    return out


def _pages(lines: Sequence[tuple[str, int, float, str]]) -> list[bytes]:
    """Each page's content stream: lines from the top margin down, a new page when full, and
    the page number at the foot."""
    pages: list[list[bytes]] = [[]]
    y = PAGE_HEIGHT - MARGIN
    for font, size, before, text in lines:
        step = before + size * 1.3
        if y - step < MARGIN + 20 and pages[-1]:
            pages.append([])
            y = PAGE_HEIGHT - MARGIN
            step = size * 1.3
        y -= step
        pages[-1].append(b"BT /%s %d Tf %d %.1f Td (%s) Tj ET" % (
            font.encode(), size, MARGIN, y, _escape(text)))
    total = len(pages)
    for number, ops in enumerate(pages, start=1):
        ops.append(b"BT /F1 8 Tf %d %d Td (%s) Tj ET" % (
            PAGE_WIDTH - MARGIN - 60, MARGIN - 20, _escape(f"page {number} of {total}")))
    return [b"\n".join(ops) for ops in pages]


def document(title: str, blocks: Iterable[Block]) -> bytes:
    """The PDF of ``blocks``, with ``title`` in its document information."""
    contents = _pages(_lines(blocks))
    fonts = list(FONTS.items())
    first_page = 3 + len(fonts)  # 1 catalog, 2 page tree, then the fonts, then the pages
    objects: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    kids = b" ".join(b"%d 0 R" % (first_page + 2 * i) for i in range(len(contents)))
    objects.append(b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(contents)))
    for _name, base in fonts:
        objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /%s "
                       b"/Encoding /WinAnsiEncoding >>" % base.encode())
    font_refs = b" ".join(b"/%s %d 0 R" % (name.encode(), 3 + i)
                          for i, (name, _base) in enumerate(fonts))
    for i, stream in enumerate(contents):
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] "
                       b"/Resources << /Font << %s >> >> /Contents %d 0 R >>"
                       % (PAGE_WIDTH, PAGE_HEIGHT, font_refs, first_page + 2 * i + 1))
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    objects.append(b"<< /Title (%s) /Producer (qm) >>" % _escape(title))
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += (b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n"
            % (len(objects) + 1, len(objects), xref))
    return bytes(out)
