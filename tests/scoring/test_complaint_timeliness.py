"""The complaint-handling timeliness report: the pure helpers on worked examples (the on-time
rate, a step's tally, the working days a step took, counted as its deadline counts them, the
mean and median), the query on constructed complaints with known answers (per month received,
per severity, the whole window; who sees what; one query whatever the count; holidays moving a
deadline), and the page over HTTP with its CSV and XLSX, its links and who may open it."""

from __future__ import annotations

import datetime as dt
import io
from html.parser import HTMLParser

import factories
import pandas as pd
import pytest
from openpyxl import load_workbook
from sqlalchemy import event

from qm.config import Settings
from scoring.complaints import clock, queries, services

UTC = dt.UTC
NOW = dt.datetime(2025, 6, 20, 12, 0, tzinfo=UTC)  # a Friday


def at(day: str, time: str = "09:00") -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{time}").replace(tzinfo=UTC)


# --- the pure helpers -------------------------------------------------------------------------

def test_the_on_time_rate_leaves_out_what_is_not_yet_due():
    assert clock.on_time_rate(3, 1, 0) == 75.0
    assert clock.on_time_rate(1, 1, 1) == pytest.approx(100 / 3)
    assert clock.on_time_rate(0, 0, 2) == 0.0
    assert clock.on_time_rate(0, 0, 0) is None  # nothing due: no rate, not 0%
    tally = clock.Tally()
    for state in ("met", "met", "late", "overdue", "open", "open"):
        tally.add(state)
    assert (tally.met, tally.late, tally.overdue, tally.open, tally.due) == (2, 1, 1, 2, 4)
    assert tally.rate == 50.0
    with pytest.raises(ValueError):
        tally.add("done")


def test_working_days_taken_count_as_the_deadline_counts():
    cal = clock.Calendar("UTC", frozenset({dt.date(2025, 6, 10)}))  # Tuesday 10 June: a holiday
    friday = at("2025-06-06", "10:00")
    assert clock.working_days_taken(friday, at("2025-06-06", "17:00"), cal) == 0
    assert clock.working_days_taken(friday, at("2025-06-09"), cal) == 1  # Monday
    assert clock.working_days_taken(friday, at("2025-06-07"), cal) == 1  # Saturday: deemed Monday
    assert clock.working_days_taken(friday, at("2025-06-11"), cal) == 2  # the holiday skipped
    assert clock.working_days_taken(at("2025-06-07"), at("2025-06-09"), cal) == 0  # received Sat
    # resolved at its deadline: the 15th working day; a second later: the 16th, and late
    policy = clock.Policy()
    due = clock.resolve_due(friday, policy, cal)
    assert clock.working_days_taken(friday, due, cal) == policy.resolve_working_days
    assert clock.working_days_taken(friday, due + dt.timedelta(seconds=1), cal) == 16
    # the days are the site's: 23:30 UTC on Friday is Saturday in Paris, deemed Monday
    paris = clock.Calendar("Europe/Paris")
    assert clock.working_days_taken(at("2025-06-06", "23:30"), at("2025-06-09", "10:00"),
                                    paris) == 0
    assert clock.working_days_taken(at("2025-06-06", "21:00"), at("2025-06-09", "10:00"),
                                    paris) == 1


def test_mean_and_median():
    assert clock.mean_median([]) == (None, None)
    assert clock.mean_median([3]) == (3.0, 3.0)
    assert clock.mean_median([10, 1, 2]) == (pytest.approx(13 / 3), 2.0)
    assert clock.mean_median([4, 1, 3, 2]) == (2.5, 2.5)


# --- constructed complaints -------------------------------------------------------------------

@pytest.fixture
def calls(session, people):
    out = {"a": factories.create_interaction(session, people["agent_a"], customer_ref="CUST-A"),
           "b": factories.create_interaction(session, people["agent_b"], customer_ref="CUST-B")}
    session.commit()
    return out


def _open(session, people, calls, ref, team, received, severity):
    return services.open_complaint(session, people["qa"], {
        "customer_ref": ref, "summary": "A complaint.", "category": "billing",
        "severity": severity, "interaction_ids": [calls[team].id], "received_at": received},
        now=NOW)


def _resolve(session, people, item, when):
    services.resolve(session, people["qa"], item.id, outcome="Refunded.", root_cause="process",
                     at=when, now=NOW)


@pytest.fixture
def filed(session, people, calls):
    """Five complaints with known states as of NOW (2025-06-20 12:00 UTC, the defaults: 24 h,
    5 and 15 working days, 48 h), and one from the year before, outside the window.

    June (four): c1 (team A, high) every step in time, escalated and answered in time,
    resolved two working days after receipt; c2 (team A, low) acknowledged late, response
    overdue, resolution not yet due; c3 (team A, high) received two days ago, nothing done,
    acknowledgement overdue, escalated and its answer overdue; c5 (team B, low) resolved the
    day it came. May (one): c4 (team A, medium) acknowledged in time, resolved late, on the
    21st working day."""
    qa = people["qa"]
    c1 = _open(session, people, calls, "C1", "a", at("2025-06-02"), "high")
    services.acknowledge(session, qa, c1.id, at=at("2025-06-02", "10:00"), now=NOW)
    services.escalate(session, qa, c1.id, reason="Large sum.", at=at("2025-06-02", "12:00"),
                      now=NOW)
    services.answer_escalation(session, qa, c1.id, answer="Refund it.",
                               at=at("2025-06-03", "09:00"), now=NOW)
    services.respond(session, qa, c1.id, at=at("2025-06-03", "10:00"), now=NOW)
    _resolve(session, people, c1, at("2025-06-04", "10:00"))
    c2 = _open(session, people, calls, "C2", "a", at("2025-06-03"), "low")
    services.acknowledge(session, qa, c2.id, at=at("2025-06-05"), now=NOW)
    c3 = _open(session, people, calls, "C3", "a", at("2025-06-18"), "high")
    services.escalate(session, qa, c3.id, reason="Press.", at=at("2025-06-18", "10:00"),
                      now=NOW)
    c4 = _open(session, people, calls, "C4", "a", at("2025-05-15"), "medium")
    services.acknowledge(session, qa, c4.id, at=at("2025-05-15", "10:00"), now=NOW)
    _resolve(session, people, c4, at("2025-06-13"))
    c5 = _open(session, people, calls, "C5", "b", at("2025-06-04"), "low")
    _resolve(session, people, c5, at("2025-06-04", "15:00"))
    old = _open(session, people, calls, "C0", "a", at("2024-06-10"), "critical")
    session.commit()
    return {"c1": c1, "c2": c2, "c3": c3, "c4": c4, "c5": c5, "old": old}


def _site(session, now=NOW):
    return queries.site_clock(session, Settings(secret_key="t"), now)


def _counts(tally):
    return (tally.met, tally.late, tally.overdue, tally.open)


def test_per_month_received_with_known_answers(session, people, filed):
    found = queries.timeliness(session, people["qa"], _site(session), (2025, 6))
    assert [r.key for r in found.months][0] == "2024-07" and found.end == "2025-06"
    june, may = found.months[-1], found.months[-2]
    assert june.received == 4
    assert _counts(june.steps["acknowledge"]) == (2, 1, 1, 0)
    assert june.steps["acknowledge"].rate == 50.0
    assert _counts(june.steps["respond"]) == (2, 0, 1, 1)
    assert june.steps["respond"].rate == pytest.approx(200 / 3)
    assert _counts(june.steps["resolve"]) == (2, 0, 0, 2)
    assert june.steps["resolve"].rate == 100.0
    assert _counts(june.steps["escalation"]) == (1, 0, 1, 0)  # only the escalated two
    assert sorted(june.days) == [0, 2] and (june.days_mean, june.days_median) == (1.0, 1.0)
    assert may.received == 1
    assert _counts(may.steps["acknowledge"]) == (1, 0, 0, 0)
    assert _counts(may.steps["respond"]) == (0, 1, 0, 0)  # recorded by the late resolution
    assert _counts(may.steps["resolve"]) == (0, 1, 0, 0) and may.steps["resolve"].rate == 0.0
    assert may.steps["escalation"].rate is None and may.days == [21]
    # the months without a complaint, and the one from the year before, count nothing
    for row in found.months[:-2]:
        assert row.received == 0 and row.steps["resolve"].rate is None
        assert (row.days_mean, row.days_median) == (None, None)
    total = found.total
    assert total.received == 5 and _counts(total.steps["resolve"]) == (2, 1, 0, 2)
    assert total.steps["resolve"].rate == pytest.approx(200 / 3)
    assert total.days_mean == pytest.approx(23 / 3) and total.days_median == 2.0


def test_per_severity_over_the_window(session, people, filed):
    found = queries.timeliness(session, people["qa"], _site(session), (2025, 6))
    rows = {r.key: r for r in found.severities}
    assert list(rows) == ["low", "medium", "high", "critical"]
    assert (rows["low"].received, rows["medium"].received, rows["high"].received,
            rows["critical"].received) == (2, 1, 2, 0)  # the critical one is outside
    assert _counts(rows["low"].steps["resolve"]) == (1, 0, 0, 1)
    assert rows["low"].steps["resolve"].rate == 100.0
    assert rows["medium"].steps["resolve"].rate == 0.0
    assert _counts(rows["high"].steps["acknowledge"]) == (1, 0, 1, 0)
    assert rows["critical"].steps["resolve"].rate is None
    assert sum(r.received for r in found.severities) == found.total.received


def test_the_window_ends_with_the_chosen_month(session, people, filed):
    found = queries.timeliness(session, people["qa"], _site(session), (2025, 5))
    assert found.end == "2025-05" and found.total.received == 2  # June's four left out
    assert found.months[-1].received == 1 and found.months[-1].days == [21]
    assert (found.months[0].key, found.months[0].received) == ("2024-06", 1)  # the old one
    assert queries.timeliness(session, people["qa"], _site(session), (2024, 5)) \
        .total.received == 0


def test_a_lead_counts_only_their_teams_complaints(session, people, filed):
    found = queries.timeliness(session, people["lead_a"], _site(session), (2025, 6))
    june = found.months[-1]
    assert june.received == 3  # team B's c5 is not theirs
    assert _counts(june.steps["resolve"]) == (1, 0, 0, 2) and june.days == [2]
    assert found.total.received == 4


def test_one_query_reads_the_window_whatever_the_count(session, people, filed):
    statements = []

    def count(conn, cursor, statement, *args):
        if "complaints" in statement and "holidays" not in statement:
            statements.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        queries.timeliness(session, people["admin"], _site(session), (2025, 6))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 1


def test_a_holiday_moves_the_resolution_deadline(session, people, calls):
    later = dt.datetime(2025, 6, 30, 12, 0, tzinfo=UTC)
    item = services.open_complaint(session, people["qa"], {
        "customer_ref": "H1", "summary": "x", "category": "service", "severity": "low",
        "interaction_ids": [calls["a"].id], "received_at": at("2025-06-02")}, now=later)
    services.resolve(session, people["qa"], item.id, outcome="Done.", root_cause="system",
                     at=at("2025-06-24"), now=later)  # the 16th working day
    session.commit()
    june = queries.timeliness(session, people["qa"], _site(session, later), (2025, 6)).months[-1]
    assert _counts(june.steps["resolve"]) == (0, 1, 0, 0) and june.days == [16]
    services.add_holiday(session, people["admin"], dt.date(2025, 6, 10), "Holiday")
    session.commit()
    june = queries.timeliness(session, people["qa"], _site(session, later), (2025, 6)).months[-1]
    assert _counts(june.steps["resolve"]) == (1, 0, 0, 0) and june.days == [15]


# --- the page ---------------------------------------------------------------------------------

def _csv(client, url):
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return pd.read_csv(io.StringIO(response.get_data(as_text=True)))


def _xlsx(client, url):
    response = client.get(url)
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    return pd.DataFrame(rows[1:], columns=rows[0])


class _Cells(HTMLParser):
    """The rows of the table with a given id, as lists of cell texts (header rows too)."""

    def __init__(self, table_id):
        super().__init__()
        self.table_id, self.inside, self.rows, self.cell = table_id, False, [], None

    def handle_starttag(self, tag, attrs):
        if tag == "table" and dict(attrs).get("id") == self.table_id:
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag in ("td", "th"):
            self.cell = ""

    def handle_endtag(self, tag):
        if tag == "table":
            self.inside = False
        elif self.inside and tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(self.cell.strip())
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


def _rows(html, table_id):
    parser = _Cells(table_id)
    parser.feed(html)
    return {row[0]: row[1:] for row in parser.rows if row}


def test_the_page_shows_the_counts_and_rates(client, auth, people, filed):
    # as of the real now, every deadline of June 2025 has passed: c2's and c3's open steps
    # are overdue, so June's resolution is 2 on time of 4 due
    auth.login("qa")
    page = client.get("/complaints/timeliness?month=2025-06")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Complaint handling timeliness" in html and "12 months to 2025-06" in html
    assert "5 complaints received" in html
    assert 'aria-label="Share of complaints resolved on time, per month received"' in html
    assert 'aria-label="Share of complaints acknowledged on time, per month received"' in html
    assert 'aria-label="Share of complaints resolved on time, per severity"' in html
    resolved = _rows(html, "resolved-table")
    assert resolved["Month received"] == ["Due", "On time", "On time %"]
    assert resolved["2025-06"] == ["4", "2", "50.0%"]
    assert resolved["2025-05"] == ["1", "0", "0.0%"]
    acked = _rows(html, "acknowledged-table")
    assert acked["2025-06"] == ["4", "2", "50.0%"] and acked["2025-05"] == ["1", "1", "100.0%"]
    assert acked["2025-01"] == ["0", "0", "–"]
    months = _rows(html, "months-table")
    assert "2024-06" not in months and len([k for k in months if k[:2] == "20"]) == 12
    # received, then acknowledge: on time, late, overdue, not yet due, rate
    assert months["2025-06"][:6] == ["4", "2", "1", "1", "0", "50.0%"]
    assert months["2025-06"][-3:] == ["2", "1.0", "1.0"]  # resolved, mean, median days
    assert months["Total"][0] == "5" and months["Total"][-3:] == ["3", "7.7", "2.0"]
    severity = _rows(html, "severity-table")
    assert list(severity)[-4:] == ["Low", "Medium", "High", "Critical"]
    # high: received, then resolve (the third step): 1 on time, 1 overdue
    assert severity["High"][0] == "2" and severity["High"][11:16] == ["1", "0", "1", "0",
                                                                       "50.0%"]


def test_the_exports_hold_the_page_numbers(client, auth, people, filed):
    auth.login("qa")
    for table in (_csv(client, "/complaints/timeliness?month=2025-06&format=csv&table=months"),
                  _xlsx(client, "/complaints/timeliness?month=2025-06&format=xlsx")):
        assert list(table["month received"])[0] == "2024-07"
        assert list(table["month received"])[-1] == "total" and len(table) == 13
        june = table[table["month received"] == "2025-06"].iloc[0]
        assert june["received"] == 4
        assert (june["resolve on time"], june["resolve overdue"]) == (2, 2)
        assert june["resolve on-time rate %"] == 50.0
        assert (june["acknowledge on time"], june["acknowledge late"],
                june["acknowledge overdue"]) == (2, 1, 1)
        assert (june["escalation on time"], june["escalation overdue"]) == (1, 1)
        assert (june["resolved"], june["mean working days to resolve"],
                june["median working days to resolve"]) == (2, 1.0, 1.0)
        total = table[table["month received"] == "total"].iloc[0]
        assert total["received"] == 5 and total["median working days to resolve"] == 2.0
        assert total["mean working days to resolve"] == 7.7
    for table in (_csv(client, "/complaints/timeliness?month=2025-06&format=csv&table=severity"),
                  _xlsx(client, "/complaints/timeliness?month=2025-06&format=xlsx"
                        "&table=severity")):
        assert list(table["severity"]) == ["low", "medium", "high", "critical"]
        high = table[table["severity"] == "high"].iloc[0]
        assert (high["received"], high["resolve on time"], high["resolve overdue"]) == (2, 1, 1)
        assert high["resolve on-time rate %"] == 50.0
        medium = table[table["severity"] == "medium"].iloc[0]
        assert medium["resolve late"] == 1 and medium["resolve on-time rate %"] == 0.0
        critical = table[table["severity"] == "critical"].iloc[0]
        assert critical["received"] == 0 and pd.isna(critical["resolve on-time rate %"])


def test_a_lead_sees_their_teams_rows_and_an_agent_none(client, auth, people, filed):
    auth.login("lead.a")
    table = _csv(client, "/complaints/timeliness?month=2025-06&format=csv")
    june = table[table["month received"] == "2025-06"].iloc[0]
    assert june["received"] == 3 and june["resolve on time"] == 1  # not team B's c5
    severity = _csv(client, "/complaints/timeliness?month=2025-06&format=csv&table=severity")
    assert severity[severity["severity"] == "low"].iloc[0]["received"] == 1
    auth.logout()
    auth.login("agent.a")
    assert client.get("/complaints/timeliness").status_code == 403
    assert client.get("/complaints/timeliness?format=csv").status_code == 403


def test_an_empty_window_bad_input_and_the_default_month(client, auth, people, filed):
    auth.login("qa")
    empty = client.get("/complaints/timeliness?month=2020-01").get_data(as_text=True)
    assert "0 complaints received" in empty and "No resolution was due" in empty
    assert 'aria-label="Share of complaints resolved on time, per severity"' not in empty
    table = _csv(client, "/complaints/timeliness?month=2020-01&format=csv")
    assert table["received"].sum() == 0 and table["resolve on-time rate %"].isna().all()
    bad = client.get("/complaints/timeliness?month=June")
    assert bad.status_code == 200 and "is not a month written YYYY-MM" in bad.get_data(
        as_text=True)
    assert client.get("/complaints/timeliness?format=csv&table=x").status_code == 400
    assert client.get("/complaints/timeliness?format=pdf").status_code == 400
    today = dt.datetime.now(UTC).date()
    assert f"12 months to {today.year}-{today.month:02d}" in client.get(
        "/complaints/timeliness").get_data(as_text=True)


def test_linked_from_the_register_the_trends_and_the_reports_home(client, auth, people):
    auth.login("qa")
    for url in ("/complaints", "/complaints/trends"):
        assert 'href="/complaints/timeliness"' in client.get(url).get_data(as_text=True), url
    home = client.get("/reports").get_data(as_text=True)
    assert 'href="/complaints/timeliness" id="report-complaint-timeliness"' in home
    auth.logout()
    auth.login("agent.a")
    assert "report-complaint-timeliness" not in client.get("/reports").get_data(as_text=True)


@pytest.mark.parametrize(("username", "status"), [
    ("admin", 200), ("qa", 200), ("lead.a", 200), ("auditor", 200), ("hr", 403),
    ("agent.a", 403)])
def test_who_may_open_the_page_and_its_exports(client, auth, people, username, status):
    auth.login(username)
    for url in ("/complaints/timeliness", "/complaints/timeliness?format=csv&table=months",
                "/complaints/timeliness?format=xlsx&table=severity"):
        assert client.get(url).status_code == status, url
    listed = "report-complaint-timeliness" in client.get("/reports").get_data(as_text=True)
    assert listed is (status == 200)
