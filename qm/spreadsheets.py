"""Exports people open in a spreadsheet: a CSV cell that cannot run as a formula, and an XLSX
download. Names, titles and notes are typed by people, and a spreadsheet runs a cell that
starts with ``=`` (``+``, ``-``, ``@`` too, in some) as a formula: a crafted note could then
reach out to the network or run a command on the machine of whoever opens the export (CSV or
formula injection). One guard for every export, so a fix reaches them all."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from flask import Response, stream_with_context

from qm.inputs import BadInput

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula (OWASP's list)."""

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

MAX_XLSX_TEXT = 32_767
"""The longest text an Excel cell holds; a longer one makes Excel "repair" the whole file."""

# Control characters an XLSX (XML 1.0) cannot hold; tab, line feed and carriage return it can.
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# A sheet's name: 31 characters at most, none of these.
_SHEET_NAME_BANNED = re.compile(r"[\[\]:*?/\\]")


def safe_csv_cell(value: Any) -> str:
    """``value`` as CSV text a spreadsheet shows rather than runs: a leading ``=``, ``+``,
    ``-``, ``@``, tab or carriage return gets a quote (``'``), which the spreadsheet hides.
    A number (``-0.25``, ``+3``) is left as it is: it is no formula, and a quote would turn
    it into text nobody can sum. None is an empty cell."""
    text = "" if value is None else str(value)
    if text[:1] in FORMULA_STARTS and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def xlsx_response(filename: str, title: str, header: Sequence[str],
                  rows: Iterable[Sequence[Any]],
                  widths: Sequence[float] | None = None) -> Response:
    """A download of one sheet, ``title``: a bold ``header`` row (frozen, so it stays on
    screen), then ``rows``. Text is always written as text, never as a formula (a value like
    ``=1+1`` or ``#N/A`` stays the characters typed), with the control characters an XLSX
    cannot hold left out; dates and numbers keep their type, so the spreadsheet sorts and sums
    them. A datetime with a zone is written as UTC wall time (Excel has no zones): pass the
    viewer's local time, naive, where that is what the sheet should show. ``widths``: the
    columns' widths in characters, in order."""
    from openpyxl import Workbook  # a large library: loaded when an export is asked for
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=_sheet_title(title))
    for index, width in enumerate(widths or (), start=1):  # before any row, in write-only mode
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)

    def text_cell(text: str, *, header_cell: bool = False) -> Any:
        cell = WriteOnlyCell(sheet, value=_ILLEGAL_XML.sub("", text)[:MAX_XLSX_TEXT])
        cell.data_type = "s"  # openpyxl would make "=..." a formula and "#N/A" an error
        if header_cell:
            cell.font = bold
        return cell

    def value(item: Any) -> Any:
        if isinstance(item, str):
            return text_cell(item)
        if isinstance(item, dt.datetime) and item.tzinfo is not None:
            return item.astimezone(dt.UTC).replace(tzinfo=None)
        return item

    sheet.append([text_cell(str(name), header_cell=True) for name in header])
    for row in rows:
        sheet.append([value(item) for item in row])
    out = io.BytesIO()
    book.save(out)
    response = Response(out.getvalue(), mimetype=XLSX_MIMETYPE)
    response.headers.set("Content-Disposition", "attachment", filename=filename)
    return response


EXPORT_FORMATS = ("csv", "xlsx")
"""What ``?format=`` may ask of a table; anything else is a 400 naming these."""

PAGING_ARGS = frozenset({"before", "after", "cursor", "page", "format"})
"""Query arguments that choose a page of a list (or the export itself), not which rows: an
export keeps every other argument of the page it was asked from, and drops these."""

CSV_BATCH = 500
"""Rows written to the CSV stream at a time: small enough to start the download at once."""


def export_format(args: Mapping[str, str]) -> str | None:
    """The table format a request asks for with ``?format=``: None for the page itself (no
    ``format``, or an empty one), "csv" or "xlsx"; anything else is a 400 that names the two,
    before any row is read."""
    fmt = (args.get("format") or "").strip().lower()
    if not fmt:
        return None
    if fmt not in EXPORT_FORMATS:
        raise BadInput(f"The parameter 'format' is 'csv' or 'xlsx', not {fmt[:20]!r}.")
    return fmt


def table_response(fmt: str, filename: str, title: str, header: Sequence[str],
                   rows: Iterable[Sequence[Any]],
                   widths: Sequence[float] | None = None) -> Response:
    """One table as a download, ``fmt`` "csv" or "xlsx" (anything else: ``BadInput``, a 400);
    ``filename`` without its extension. ``rows`` may be a generator that reads the database a
    batch at a time: the CSV is streamed as it is read, the XLSX is written row by row (openpyxl's
    write-only mode) and sent when complete.

    The CSV is UTF-8 *without* a byte order mark, like every other CSV qm writes (the audit log,
    the calibration and complaint exports): a CSV is for programs, and a mark becomes part of the
    first column's name for a reader that does not expect it (``"\ufeffid"``); people who open
    the table in Excel take the XLSX, which has no encoding to guess and keeps dates as dates.
    Every text cell goes through ``safe_csv_cell``; dates and times are ISO 8601 (a time with a
    zone keeps its offset); None is an empty cell."""
    if fmt == "xlsx":
        return xlsx_response(f"{filename}.xlsx", title, header, rows, widths)
    if fmt != "csv":
        raise BadInput(f"The parameter 'format' is 'csv' or 'xlsx', not {str(fmt)[:20]!r}.")
    response = Response(stream_with_context(csv_lines(header, rows)),
                        mimetype="text/csv")
    response.headers.set("Content-Disposition", "attachment", filename=f"{filename}.csv")
    return response


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The CSV text of ``header`` and ``rows``, yielded a batch of rows at a time so that a
    response streams it as the rows are read; cells as ``table_response`` describes."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow([safe_csv_cell(name) for name in header])
    count = 0
    for row in rows:
        writer.writerow([_csv_value(item) for item in row])
        count += 1
        if count % CSV_BATCH == 0:
            yield flush()
    yield flush()


def _csv_value(item: Any) -> Any:
    if isinstance(item, dt.datetime | dt.date | dt.time):
        return item.isoformat()
    if isinstance(item, bool):
        return "yes" if item else "no"
    if isinstance(item, int | float):
        return item
    return safe_csv_cell(item)


def _sheet_title(title: str) -> str:
    """A sheet name Excel accepts: without ``[]:*?/\\``, no quote at either end, 1 to 31
    characters."""
    return _SHEET_NAME_BANNED.sub(" ", _ILLEGAL_XML.sub("", title)).strip(" '")[:31] or "Sheet"
