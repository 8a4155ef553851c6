"""Refresher compliance (/training/compliance) over real HTTP on SQLite: per course with a
refresher interval, on a day, the holders in date, due soon and overdue, counted by the
database with the rules of ``due`` (checked against those rules day by day, month ends
included); the 12-month trend; the chart and its tables; the CSV and XLSX exports holding the
page's numbers; the team filter and each viewer's scope."""

from __future__ import annotations

import datetime as dt
import io
import random
import re
from collections import Counter

import factories
import pandas as pd
import pytest
from openpyxl import load_workbook

from competencies.training import due, queries
from competencies.training import services as training

AS_OF = dt.date(2026, 3, 31)  # a day in the past, passed explicitly
D = dt.date


def _record(session, user, course, completed_on, expires_on=None):
    training.record_completion(session, factories.SYSTEM, user_id=user.id, course_id=course.id,
                               completed_on=completed_on, expires_on=expires_on,
                               today=max(completed_on, dt.date.today()))


def _course(session, name, months, **extra):
    return training.save_course(session, factories.SYSTEM, {
        "name": name, "kind": "compliance", "refresh_months": months, **extra})


@pytest.fixture
def world(session, people):
    """On 2026-03-31 (due soon: up to 2026-04-30):

    Data protection, every 12 months: agent.a done 2025-03-30 (due 2026-03-30: overdue; done
    again 2026-04-15, after the day), agent.a2 2025-03-31 (due that very day: due soon),
    agent.b 2025-06-01 (ok; an older 2024-01-01 no longer counts), hr 2025-04-30 (due
    2026-04-30, the window's last day: due soon). 4 holders, 3 in date, 2 due soon, 1 overdue.

    Fire safety, every 6 months: agent.a 2025-10-01 with a certificate expiring 2026-03-15
    (overdue by its expiry before its interval), agent.b 2025-09-30 (due 2026-03-30:
    overdue), agent.a2 2025-10-31 (due 2026-04-30: due soon). 3 holders, 1 in date (due
    soon), 2 overdue.

    Not counted: an inactive person's completion, a course without an interval, an inactive
    course."""
    a, a2, b, hr = (people[k] for k in ("agent_a", "agent_a2", "agent_b", "hr"))
    dp = _course(session, "Data protection", 12)
    fire = _course(session, "Fire safety", 6)
    induction = training.save_course(session, factories.SYSTEM,
                                     {"name": "Induction", "kind": "induction"})
    old = _course(session, "Old rules", 12, active=False)
    _record(session, a, dp, D(2025, 3, 30))
    _record(session, a, dp, D(2026, 4, 15))
    _record(session, a2, dp, D(2025, 3, 31))
    _record(session, b, dp, D(2024, 1, 1))
    _record(session, b, dp, D(2025, 6, 1))
    _record(session, hr, dp, D(2025, 4, 30))
    _record(session, a, fire, D(2025, 10, 1), expires_on=D(2026, 3, 15))
    _record(session, b, fire, D(2025, 9, 30))
    _record(session, a2, fire, D(2025, 10, 31))
    _record(session, a, induction, D(2025, 1, 1))
    _record(session, a, old, D(2024, 1, 1))
    gone = factories.create_user(session, "agent.gone", team=people["team_a"])
    _record(session, gone, dp, D(2024, 1, 1))
    gone.active = False
    session.commit()
    return {"dp": dp, "fire": fire}


def _reference(session, on, soon_days=due.DUE_SOON_DAYS, users=None):
    """The compliance the rules of ``due`` give, one person at a time, in Python: per course
    name, Counter of statuses of the latest completion on or before ``on``."""
    from sqlalchemy import select

    from competencies.training.models import Course, TrainingRecord
    from qm.auth.models import User

    latest = {}
    for user_id, course_id, completed_on, expires_on in session.execute(
            select(TrainingRecord.user_id, TrainingRecord.course_id,
                   TrainingRecord.completed_on, TrainingRecord.expires_on)
            .join(User, User.id == TrainingRecord.user_id).where(User.active.is_(True))):
        if completed_on <= on and (users is None or user_id in users):
            key = (user_id, course_id)
            if key not in latest or latest[key][0] < completed_on:
                latest[key] = (completed_on, expires_on)
    courses = {c.id: c for c in session.scalars(select(Course))}
    out = {}
    for (_user, course_id), (completed_on, expires_on) in latest.items():
        course = courses[course_id]
        if not course.active or course.refresh_months is None:
            continue
        status = due.status(due.next_due(completed_on, course.refresh_months, expires_on), on,
                            soon_days)
        out.setdefault(course.name, Counter())[status] += 1
    return out


def _as_counts(rows):
    return {r.course: (r.holders, r.current, r.due_soon, r.overdue) for r in rows}


def _expected(reference):
    return {name: (sum(c.values()), c["ok"] + c["due"], c["due"], c["overdue"])
            for name, c in reference.items()}


def test_earliest_in_date_is_the_first_day_not_overdue():
    start = D(2027, 11, 1)
    for months in (1, 2, 6, 11, 12, 13, 24):
        for offset in range(0, 520):
            on = start + dt.timedelta(days=offset)
            first = queries.earliest_in_date(on, months)
            assert due.add_months(first, months) >= on, (on, months)
            assert due.add_months(first - dt.timedelta(days=1), months) < on, (on, months)


def test_the_counts_on_a_day(session, people, world):
    rows = queries.refresher_compliance(session, as_of=AS_OF)
    assert [r.course for r in rows] == ["Data protection", "Fire safety"]
    assert _as_counts(rows) == {"Data protection": (4, 3, 2, 1), "Fire safety": (3, 1, 1, 2)}
    assert [r.rate for r in rows] == [75, pytest.approx(100 / 3)]
    # what the due list says of today (it reads the latest completion of all, so a day in
    # the past is no match: agent.a did data protection again after AS_OF), course by course
    today = dt.date.today()
    listed = Counter((r.course, r.status) for r in queries.due_list(session, as_of=today))
    now = queries.refresher_compliance(session, as_of=today)
    assert sum(r.overdue for r in now) > 0
    for r in now:
        assert (r.due_soon, r.overdue) == (listed[r.course, "due"], listed[r.course, "overdue"])
    # a team, and a viewer's scope
    team_b = queries.refresher_compliance(session, as_of=AS_OF, team_id=people["team_b"].id)
    assert _as_counts(team_b) == {"Data protection": (1, 1, 0, 0), "Fire safety": (1, 0, 0, 1)}
    lead = queries.refresher_compliance(session, as_of=AS_OF, visible_to=people["lead_a"])
    assert _as_counts(lead) == {"Data protection": (2, 1, 1, 1), "Fire safety": (2, 1, 1, 1)}
    # before anyone did fire safety: the course is listed, with nobody and no rate
    early = queries.refresher_compliance(session, as_of=D(2025, 4, 30))
    assert _as_counts(early) == {"Data protection": (4, 3, 0, 1), "Fire safety": (0, 0, 0, 0)}
    assert early[1].rate is None


def test_the_database_follows_the_rules_day_by_day(session, people):
    """Random completions and expiries on three intervals, compared with ``due``'s rules on
    days that include month ends, a leap day and the days after them."""
    rng = random.Random(7)
    courses = [_course(session, f"Course {m}", m) for m in (1, 12, 13)]
    users = [factories.create_user(session, f"agent.r{i}", team=people["team_a"])
             for i in range(10)]
    for user in users:
        for course in courses:
            for _ in range(rng.randrange(0, 3)):
                done = D(2023, 12, 1) + dt.timedelta(days=rng.randrange(0, 850))
                expires = (done + dt.timedelta(days=rng.randrange(0, 500))
                           if rng.random() < 0.3 else None)
                _record(session, user, course, done, expires)
    session.commit()
    days = [D(2024, 2, 29), D(2024, 3, 1), D(2024, 12, 31), D(2025, 1, 31), D(2025, 2, 28),
            D(2025, 3, 1), D(2025, 3, 31), D(2025, 4, 30), D(2025, 8, 31), D(2026, 1, 15),
            D(2026, 2, 28), D(2026, 3, 31)]
    seen = Counter()
    for on in days:
        for soon in (0, 30):
            rows = queries.refresher_compliance(session, as_of=on, soon_days=soon)
            expected = _expected(_reference(session, on, soon))
            got = {name: counts for name, counts in _as_counts(rows).items() if counts[0]}
            assert got == expected, (on, soon)
            for counts in got.values():
                seen.update({"holders": counts[0], "due": counts[2], "overdue": counts[3]})
    assert seen["due"] > 0 and seen["overdue"] > 0 and seen["holders"] > 50


def test_the_trend_ends_on_the_day_asked_for(session, people, world):
    trend = queries.compliance_trend(session, as_of=AS_OF)
    assert [p.month for p in trend] == [f"2025-{m:02d}" for m in range(4, 13)] + [
        "2026-01", "2026-02", "2026-03"]
    assert [p.on for p in trend][:2] == [D(2025, 4, 30), D(2025, 5, 31)]
    assert trend[-2].on == D(2026, 2, 28) and trend[-1].on == AS_OF
    assert (trend[-1].n, trend[-1].current, trend[-1].overdue) == (7, 4, 3)  # the day's totals
    assert (trend[0].n, trend[0].overdue, trend[0].rate) == (4, 1, 75)  # before fire safety
    for point in trend:
        expected = _expected(_reference(session, point.on))
        assert point.n == sum(c[0] for c in expected.values())
        assert point.overdue == sum(c[3] for c in expected.values())
        assert point.due_soon == sum(c[2] for c in expected.values())



_rows = factories.table_rows


def test_the_page_shows_both_charts_and_their_tables(client, auth, world):
    auth.login("hr")
    response = client.get(f"/training/compliance?as_of={AS_OF}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert _rows(page, "courses") == [
        ["Data protection", "12 mo", "4", "3", "2", "1", "75.0%"],
        ["Fire safety", "6 mo", "3", "1", "1", "2", "33.3%"]]
    assert _rows(page, "courses", "tfoot") == [["All courses", "", "7", "4", "3", "3", "57.1%"]]
    trend = _rows(page, "trend")
    assert len(trend) == 12
    assert trend[0] == ["2025-04", "2025-04-30", "4", "1", "75.0%"]
    assert trend[-1] == ["2026-03", "2026-03-31", "7", "3", "57.1%"]
    assert 'aria-label="Refresher compliance per course' in page
    assert 'aria-label="Refresher compliance at the end of each month' in page
    bars = re.findall(r'<rect class="bar"[^>]*><title>([^<]+)</title>', page)
    assert bars[:2] == ["Data protection: 75%", "Fire safety: 33%"]
    assert "2026-03: 57.1% (4 of 7)" in bars  # in date of all holdings
    assert len(bars) == 2 + 12  # a bar for each month: none is empty here


def test_the_team_filter_and_each_viewers_scope(client, auth, people, world):
    auth.login("hr")
    page = client.get(f"/training/compliance?as_of={AS_OF}&team_id={people['team_b'].id}"
                      ).get_data(as_text=True)
    assert _rows(page, "courses") == [
        ["Data protection", "12 mo", "1", "1", "0", "0", "100.0%"],
        ["Fire safety", "6 mo", "1", "0", "0", "1", "0.0%"]]
    auth.logout()
    auth.login("lead.a")
    page = client.get(f"/training/compliance?as_of={AS_OF}").get_data(as_text=True)
    assert _rows(page, "courses") == [
        ["Data protection", "12 mo", "2", "1", "1", "1", "50.0%"],
        ["Fire safety", "6 mo", "2", "1", "1", "1", "50.0%"]]
    frame = pd.read_csv(io.BytesIO(client.get(
        f"/training/compliance?as_of={AS_OF}&format=csv&team_id={people['team_b'].id}").data))
    assert frame["holders"].tolist() == [0, 0]  # another team: the scope still applies
    auth.logout()
    auth.login("agent.b")
    page = client.get(f"/training/compliance?as_of={AS_OF}").get_data(as_text=True)
    assert _rows(page, "courses") == [
        ["Data protection", "12 mo", "1", "1", "0", "0", "100.0%"],
        ["Fire safety", "6 mo", "1", "0", "0", "1", "0.0%"]]


def test_the_exports_hold_the_pages_numbers(client, auth, world):
    auth.login("hr")
    url = f"/training/compliance?as_of={AS_OF}"
    csv_response = client.get(f"{url}&format=csv")
    assert csv_response.status_code == 200 and csv_response.mimetype == "text/csv"
    assert f"refresher-compliance-{AS_OF}.csv" in csv_response.headers["Content-Disposition"]
    courses = pd.read_csv(io.BytesIO(csv_response.data))
    assert courses.columns.tolist() == ["course", "refresh months", "holders", "in date",
                                        "due soon", "overdue", "compliance %"]
    assert courses.values.tolist() == [["Data protection", 12, 4, 3, 2, 1, 75.0],
                                       ["Fire safety", 6, 3, 1, 1, 2, 33.3]]
    xlsx = client.get(f"{url}&format=xlsx&table=courses")
    assert xlsx.status_code == 200 and xlsx.mimetype.endswith("spreadsheetml.sheet")
    assert pd.read_excel(io.BytesIO(xlsx.data)).values.tolist() == courses.values.tolist()
    trend_csv = pd.read_csv(io.BytesIO(client.get(f"{url}&format=csv&table=trend").data))
    assert trend_csv.columns.tolist() == ["month", "on", "holdings", "in date", "due soon",
                                          "overdue", "compliance %"]
    assert len(trend_csv) == 12
    assert trend_csv.iloc[-1].tolist() == ["2026-03", "2026-03-31", 7, 4, 3, 3, 57.1]
    assert trend_csv.iloc[0].tolist() == ["2025-04", "2025-04-30", 4, 3, 0, 1, 75.0]
    sheet = load_workbook(io.BytesIO(client.get(f"{url}&format=xlsx&table=trend").data)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()][1:]
    assert rows[-1][0] == "2026-03" and rows[-1][1].date() == AS_OF
    assert [r[2:] for r in rows] == [r[2:] for r in trend_csv.values.tolist()]
    assert client.get(f"{url}&format=pdf").status_code == 400
    assert client.get(f"{url}&format=csv&table=people").status_code == 400


def test_the_default_day_a_bad_day_and_no_course(client, auth, people):
    today = dt.date.today()
    auth.login("hr")
    page = client.get("/training/compliance").get_data(as_text=True)
    assert f'value="{today}"' in page
    assert "No active course has a refresher interval." in page
    trend = _rows(page, "trend")
    assert len(trend) == 12 and trend[-1][:3] == [f"{today:%Y-%m}", str(today), "0"]
    assert all(row[-1] == "–" for row in trend)
    bad = client.get("/training/compliance?as_of=31/03/2026")
    assert bad.status_code == 200
    assert "is not a date written YYYY-MM-DD" in bad.get_data(as_text=True)
    assert client.get("/training/compliance?team_id=x").status_code == 400


def test_the_links_to_the_page(client, auth, people, world):
    auth.login("hr")
    assert 'id="compliance-link"' in client.get("/training").get_data(as_text=True)
    home = client.get("/reports").get_data(as_text=True)
    assert 'href="/training/compliance" id="report-refreshers"' in home
    auth.logout()
    auth.login("agent.a")
    assert 'id="report-refreshers"' not in client.get("/reports").get_data(as_text=True)
