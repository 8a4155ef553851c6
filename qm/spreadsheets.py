"""Exports people open in a spreadsheet: a CSV cell that cannot run as a formula, and an XLSX
download. Names, titles and notes are typed by people, and a spreadsheet runs a cell that
starts with ``=`` (``+``, ``-``, ``@`` too, in some) as a formula: a crafted note could then
reach out to the network or run a command on the machine of whoever opens the export (CSV or
formula injection). One guard for every export, so a fix reaches them all."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterable, Sequence
from typing import Any

from flask import Response

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


def _sheet_title(title: str) -> str:
    """A sheet name Excel accepts: without ``[]:*?/\\``, no quote at either end, 1 to 31
    characters."""
    return _SHEET_NAME_BANNED.sub(" ", _ILLEGAL_XML.sub("", title)).strip(" '")[:31] or "Sheet"
