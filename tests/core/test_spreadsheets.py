"""qm/spreadsheets.py: the CSV formula guard every export shares, and the XLSX download (text
stays text, never a formula; dates stay dates; what an XLSX cannot hold is left out)."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import sys
import zipfile
from decimal import Decimal

import pytest

from qm.spreadsheets import safe_csv_cell, xlsx_response


@pytest.mark.parametrize("typed", ["=1+1", "=HYPERLINK(\"http://x\",\"y\")", "+cmd|' /C calc'!A0",
                                   "-2+3", "@SUM(A1)", "\t=1+1", "\r=1+1", "-", "+"])
def test_a_cell_a_spreadsheet_would_run_gets_a_quote(typed):
    assert safe_csv_cell(typed) == "'" + typed


@pytest.mark.parametrize(("value", "written"), [
    ("Verify first", "Verify first"), ("a=b", "a=b"), ("", ""), (None, ""), (7, "7"),
    ("-0.2500", "-0.2500"), ("+3", "+3"), (-1.5, "-1.5"), (dt.date(2026, 1, 2), "2026-01-02"),
])
def test_text_and_numbers_are_left_as_they_are(value, written):
    assert safe_csv_cell(value) == written


def _book(response):
    from openpyxl import load_workbook

    return load_workbook(io.BytesIO(response.data))


def test_the_xlsx_writes_text_as_text_and_keeps_types():
    aware = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    response = xlsx_response(
        "coaching log.xlsx", "Log: a/b [test]", ["name", "when", "at", "n", "share", "note"],
        [["=1+1", dt.date(2026, 1, 2), aware, 3, Decimal("0.25"), "#N/A"],
         ["@SUM(A1)", None, dt.datetime(2026, 1, 2, 8), -4, 1.5, "bell\x07 and\ttab\nline"]],
        widths=[30, 12])
    assert response.mimetype == ("application/vnd.openxmlformats-officedocument."
                                 "spreadsheetml.sheet")
    assert response.headers["Content-Disposition"] == 'attachment; filename="coaching log.xlsx"'
    book = _book(response)
    sheet = book.active
    assert sheet.title == "Log  a b  test"  # no character Excel refuses in a sheet's name
    header, first, second = (list(row) for row in sheet.iter_rows())
    assert [c.value for c in header] == ["name", "when", "at", "n", "share", "note"]
    assert all(c.font.bold for c in header) and not first[0].font.bold
    # text typed like a formula or an error code stays the characters typed
    assert (first[0].value, first[0].data_type) == ("=1+1", "s")
    assert (first[5].value, first[5].data_type) == ("#N/A", "s")
    assert (second[0].value, second[0].data_type) == ("@SUM(A1)", "s")
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml and "<f " not in xml  # no formula anywhere in the sheet
    # dates and numbers keep their type; a zoned datetime is written as UTC
    assert first[1].is_date and first[1].value == dt.datetime(2026, 1, 2)
    assert first[2].value == dt.datetime(2026, 3, 1, 7, 30)
    assert second[2].value == dt.datetime(2026, 1, 2, 8)
    assert (first[3].value, first[4].value, second[3].value) == (3, 0.25, -4)
    assert second[1].value is None
    # a control character an XLSX cannot hold is left out; tab and line feed stay
    assert second[5].value == "bell and\ttab\nline"
    assert sheet.column_dimensions["A"].width == 30
    assert sheet.column_dimensions["B"].width == 12
    assert sheet.freeze_panes == "A2"


def test_an_empty_export_is_its_header_and_long_text_is_cut_to_what_excel_holds():
    sheet = _book(xlsx_response("x.xlsx", "", ["only"], [])).active
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [["only"]]
    assert sheet.title == "Sheet"
    long = _book(xlsx_response("x.xlsx", "t" * 40, ["text"], [["y" * 40_000]])).active
    assert long.title == "t" * 31
    assert len(long["A2"].value) == 32_767


def test_openpyxl_is_loaded_only_when_an_xlsx_is_made():
    code = "import sys, qm.spreadsheets; print('openpyxl' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"
