"""Every table page exports as CSV and XLSX with the page's filters: the files open with
pandas, hold the rows the pages list (every page of them, not one), keep typed text as text,
and show each viewer only what the page shows them."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re
from typing import Any
from zoneinfo import ZoneInfo

import factories
import pytest
from openpyxl import load_workbook

from qm.inputs import BadInput
from qm.interactions.models import Interaction
from qm.spreadsheets import table_response
from scoring.evaluations import services as ev
from scoring.evaluations import views as evaluation_views
from scoring.interactions import views as interaction_views

FORMULA = "=HYPERLINK(\"http://x\",\"y\")"


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "page_size": 2}  # several pages from a handful of rows


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Exports walk the list two rows at a time, so a test of five rows crosses batches."""
    monkeypatch.setattr(evaluation_views, "EXPORT_BATCH", 2)
    monkeypatch.setattr(interaction_views, "EXPORT_BATCH", 2)


@pytest.fixture
def scored(session, people) -> dict[str, Any]:
    """Five submitted evaluations by the QA evaluator: three of team A (one of an agent whose
    name is a formula), two of team B."""
    factories.create_form(session)
    tricky = factories.create_user(session, "agent.f", team=people["team_a"],
                                   display_name=FORMULA)
    agents = [people["agent_a"], people["agent_a2"], tricky, people["agent_b"], people["agent_b"]]
    ids = []
    for n, agent in enumerate(agents):
        interaction = factories.create_interaction(session, agent,
                                                   channel="chat" if n % 2 else "voice")
        evaluation = ev.start_evaluation(session, people["qa"], interaction)
        ev.submit(session, people["qa"], evaluation.id, {"greet": "yes", "verify": "yes"})
        ids.append(evaluation.id)
    session.commit()
    return {"ids": ids, "team_a": ids[:3], "team_b": ids[3:], "tricky": tricky}


class Table(list):
    """A read export: its rows as dicts, and ``column(name)``."""

    def __init__(self, header: list[str], rows: list[list[Any]]) -> None:
        super().__init__(dict(zip(header, row, strict=True)) for row in rows)
        self.header = header

    def column(self, name: str) -> list[Any]:
        assert name in self.header, (name, self.header)
        return [row[name] for row in self]


def _csv(response: Any) -> Table:
    """The CSV as Python's csv module reads it (what a spreadsheet imports): text cells."""
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "text/csv"
    header, *rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8"))))
    return Table(header, rows)


def _xlsx(response: Any) -> Table:
    """The XLSX as openpyxl opens it: typed cells."""
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    header, *rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    return Table(header, rows)


def _page_ids(client: Any, url: str, pattern: str) -> list[int]:
    """Every id the list pages show (``pattern``'s group), following "Older" to the end."""
    ids: list[int] = []
    while url:
        page = client.get(url).get_data(as_text=True)
        ids += [int(i) for i in re.findall(pattern, page)]
        older = re.search(r'href="([^"]+)">Older</a>', page)
        url = older.group(1).replace("&amp;", "&") if older else ""
    return ids


# --- the shared helper ------------------------------------------------------------------------

def test_a_format_other_than_csv_or_xlsx_is_refused_in_words(app):
    with app.test_request_context(), pytest.raises(BadInput, match="'csv' or 'xlsx', not 'pdf'"):
        table_response("pdf", "x", "X", ["a"], [])


def test_the_csv_is_formula_safe_and_keeps_numbers_and_dates(app):
    with app.test_request_context():
        response = table_response(
            "csv", "things", "Things", ["text", "number", "day", "flag"],
            iter([[FORMULA, -0.25, dt.date(2026, 11, 2), True], ["@sum", 3, None, False]]))
        body = response.get_data(as_text=True)
    assert not body.startswith("\ufeff")  # no byte order mark: see table_response
    assert 'filename=things.csv' in response.headers["Content-Disposition"]
    header, *rows = list(csv.reader(io.StringIO(body)))
    assert [dict(zip(header, r, strict=True)) for r in rows] == [
        {"text": "'" + FORMULA, "number": "-0.25", "day": "2026-11-02", "flag": "yes"},
        {"text": "'@sum", "number": "3", "day": "", "flag": "no"}]


# --- evaluations ------------------------------------------------------------------------------

def test_evaluations_export_every_row_the_filters_select_in_both_formats(
        client, auth, people, scored, small_batches):
    auth.login("lead.a")
    page = _page_ids(client, "/evaluations?tab=all", r'data-evaluation="(\d+)"')
    assert sorted(page) == sorted(scored["team_a"])  # three rows, over two pages
    for fmt, read in (("csv", _csv), ("xlsx", _xlsx)):
        frame = read(client.get(f"/evaluations?tab=all&format={fmt}&before=999999"))
        assert [int(i) for i in frame.column("evaluation id")] == page  # paging args are ignored
        assert "interaction started (UTC)" in frame.header
    rows = _xlsx(client.get("/evaluations?tab=all&format=xlsx"))
    assert set(rows.column("agent")) == {"Agent.A", "Agent.A2", FORMULA}  # text stays text in XLSX
    assert all(isinstance(t, dt.datetime) for t in rows.column("submitted (UTC)"))  # typed
    csv_rows = _csv(client.get("/evaluations?tab=all&format=csv"))
    assert "'" + FORMULA in set(csv_rows.column("agent"))  # and cannot run in the CSV


def test_an_export_keeps_the_status_and_agent_filters(client, auth, people, scored):
    auth.login("admin")
    agent_b = people["agent_b"].id
    frame = _csv(client.get(f"/evaluations?tab=all&status=released&agent_id={agent_b}"
                            "&format=csv"))
    assert sorted(int(i) for i in frame.column("evaluation id")) == sorted(scored["team_b"])
    assert set(frame.column("agent id")) == {str(agent_b)}
    assert client.get("/evaluations?tab=all&status=nonsense&format=csv").status_code == 400


def test_an_agent_exports_only_their_own_evaluations(client, auth, people, scored):
    auth.login("agent.b")
    frame = _xlsx(client.get("/evaluations?tab=all&format=xlsx"))
    assert sorted(frame.column("evaluation id")) == sorted(scored["team_b"])
    assert set(frame.column("agent")) == {"Agent.B"}


def test_a_bad_format_is_a_400_on_every_table(client, auth, people, scored):
    auth.login("admin")
    for url in ("/evaluations?format=pdf", "/interactions?format=docx", "/audit?format=x"):
        response = client.get(url)
        assert response.status_code == 400, url
        assert "'csv' or 'xlsx'" in html.unescape(response.get_data(as_text=True))


def test_the_list_pages_offer_exports_with_their_filters(client, auth, people, scored):
    auth.login("admin")
    page = client.get(f"/evaluations?tab=all&status=released&agent_id={people['agent_b'].id}"
                      ).get_data(as_text=True)
    links = [html.unescape(link) for link in
             re.findall(r'href="([^"]*format=(?:csv|xlsx)[^"]*)"', page)]
    assert len(links) == 2
    for link in links:
        assert "status=released" in link and f"agent_id={people['agent_b'].id}" in link
    older = re.search(r'href="([^"]+)">Older</a>',
                      client.get("/evaluations?tab=all").get_data(as_text=True)).group(1)
    page = client.get(html.unescape(older)).get_data(as_text=True)
    assert "Export CSV" in page
    assert all("before=" not in link
               for link in re.findall(r'href="([^"]*format=[^"]*)"', page))


# --- interactions -----------------------------------------------------------------------------

def test_interactions_export_matches_the_pages_for_the_same_filters(
        client, auth, people, scored, small_batches):
    auth.login("lead.a")
    page = _page_ids(client, "/interactions?channel=voice", r'href="/interactions/(\d+)"')
    frame = _xlsx(client.get("/interactions?channel=voice&format=xlsx"))
    assert list(frame.column("interaction id")) == page and page
    assert set(frame.column("channel")) == {"voice"}
    assert set(frame.column("team")) == {"Team A"}  # the lead's team only
    csv_frame = _csv(client.get("/interactions?format=csv"))
    assert len(csv_frame) == 3 and set(csv_frame.column("team")) == {"Team A"}
    assert csv_frame.header[1] == "started (UTC)"
    assert set(csv_frame.column("duration (s)")) == {"300"}


def test_an_agent_exports_only_their_own_interactions(client, auth, people, scored):
    auth.login("agent.a")
    frame = _csv(client.get("/interactions?format=csv"))
    assert set(frame.column("agent id")) == {str(people["agent_a"].id)} and len(frame) == 1


def test_times_are_in_the_viewers_zone_named_in_the_header(client, auth, session, people, scored):
    people["lead_a"].timezone = "Europe/Berlin"
    session.commit()
    auth.login("lead.a")
    frame = _xlsx(client.get("/interactions?format=xlsx"))
    column = "started (Europe/Berlin)"
    page = client.get("/interactions").get_data(as_text=True)
    shown = re.findall(r'interactions/\d+">([0-9: -]+)</a>', page)
    assert len(shown) == 2  # page_size 2: the first page
    assert [t.strftime("%Y-%m-%d %H:%M") for t in frame.column(column)][:2] == shown
    # and they are the stored UTC times as Berlin reads them, not UTC relabelled
    berlin = ZoneInfo("Europe/Berlin")
    expected = [session.get(Interaction, int(i)).started_at.astimezone(berlin)
                .strftime("%Y-%m-%d %H:%M") for i in list(frame.column("interaction id"))[:2]]
    assert shown == expected


# --- the audit log ----------------------------------------------------------------------------

def test_the_audit_log_exports_as_xlsx_with_its_filters(client, auth, people, scored):
    auth.login("auditor")
    frame = _xlsx(client.get("/audit/export.xlsx?entity_type=evaluations"))
    csv_frame = _csv(client.get("/audit/export.csv?entity_type=evaluations"))
    assert len(frame) == len(csv_frame) > 0
    assert list(frame.column("seq")) == [int(s) for s in csv_frame.column("seq")]
    assert set(frame.column("entity_type")) == {"evaluations"}
    assert all(isinstance(t, dt.datetime) for t in frame.column("at (UTC)"))
    same = _csv(client.get("/audit?entity_type=evaluations&format=csv"))
    assert same == csv_frame  # ?format= on the page is the same export
    assert 'id="audit-export-xlsx"' in client.get("/audit").get_data(as_text=True)


def test_the_audit_export_needs_the_audit_permission(client, auth, people):
    auth.login("agent.a")
    assert client.get("/audit/export.xlsx").status_code == 403
    assert client.get("/audit?format=xlsx").status_code == 403
