"""The flag report (/review/report): fire rate per flag and month, measured precision with its
Wilson interval, filters, exports and scope, on constructed data with known answers."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from zoneinfo import ZoneInfo

import factories
import pytest
from sqlalchemy import true

from scoring.reports import queries as report_queries
from scoring.review import metrics, queries
from transcription.flagging import services as flags
from transcription.models import Flag

CANCEL = "cancellation (phrases)"
URL = "/review/report"


# --- the pure measures ------------------------------------------------------------------------

def test_wilson_interval_on_known_values():
    low, high = metrics.wilson(8, 10)
    assert (round(low, 3), round(high, 3)) == (0.490, 0.943)
    low, high = metrics.wilson(3, 4)
    assert (round(low, 3), round(high, 3)) == (0.301, 0.954)
    assert metrics.wilson(0, 0) is None
    assert metrics.wilson(10, 10)[1] == 1.0 and round(metrics.wilson(10, 10)[0], 3) == 0.722
    assert metrics.wilson(0, 5)[0] == 0.0
    with pytest.raises(ValueError):
        metrics.wilson(3, 2)


def test_precision_and_its_target():
    eight = metrics.precision(8, 2)
    assert eight.value == 0.8 and eight.reviewed == 10
    assert "80.0% confirmed of 10 reviewed" in eight.words and "49.0%–94.3%" in eight.words
    none = metrics.precision(0, 0)
    assert none.value is None and none.low is None and none.words == "no reviews yet"
    assert metrics.target_met(eight, 0.8) is True and metrics.target_met(eight, 0.81) is False
    assert metrics.target_met(none, 0.8) is None and metrics.target_met(eight, None) is None
    # 8 of 10 is too few to be sure of 80%; 95 of 100 is clearly above it
    assert not metrics.target_sure(eight, 0.8)
    assert metrics.target_sure(metrics.precision(95, 5), 0.8)
    assert metrics.target_sure(metrics.precision(1, 9), 0.8)  # clearly below


# --- the report on constructed data -------------------------------------------------------------

def _chat(session, agent, text, when, **fields):
    return factories.create_interaction(session, agent, channel="chat", body=text,
                                        started_at=when.isoformat(), **fields)


NOV = dt.datetime(2026, 11, 10, 9, tzinfo=dt.UTC)
OCT = dt.datetime(2026, 10, 5, 9, tzinfo=dt.UTC)


@pytest.fixture
def fired(session, people):
    """Starter rules in use. November: team A 4 chats (3 say "cancel my account": 2 confirmed,
    1 dismissed) and a call with no transcript; team B 2 chats (1 cancels, confirmed).
    October, queue "sales": team A 2 chats (1 cancels, not reviewed; 1 calm, marked missed).
    A year earlier: one cancelling chat, outside the window."""
    factories.flags_in_use(session)
    a, b, qa = people["agent_a"], people["agent_b"], people["qa"]
    cancel = "Customer: please cancel my account today\nAgent: of course"
    calm = "Customer: what time do you open\nAgent: nine"
    made = {
        "a1": _chat(session, a, cancel, NOV),
        "a2": _chat(session, a, cancel, NOV + dt.timedelta(days=1)),
        "a3": _chat(session, people["agent_a2"], cancel, NOV + dt.timedelta(days=2)),
        "a_calm": _chat(session, a, calm, NOV),
        "call": factories.create_interaction(session, a, started_at=NOV.isoformat()),
        "b1": _chat(session, b, cancel, NOV),
        "b_calm": _chat(session, b, calm, NOV),
        "oct": _chat(session, a, cancel, OCT, queue="sales"),
        "oct_calm": _chat(session, a, calm, OCT, queue="sales"),
        "old": _chat(session, a, cancel, NOV - dt.timedelta(days=365)),
    }
    session.flush()
    for key, verdict, reason in (("a1", "confirmed", ""), ("a2", "confirmed", ""),
                                 ("a3", "rejected", "an order, not the account"),
                                 ("b1", "confirmed", ""), ("oct_calm", "missed", "")):
        flags.record_verdict(session, qa, made[key].id, CANCEL, verdict, reason)
    session.commit()
    return made


def _report(session, end=(2026, 11), **filters):
    labels, bounds = report_queries.month_bounds(end, ZoneInfo("UTC"))
    f = queries.ReportFilters(end, **filters)
    return {r.name: r for r in queries.flag_report(session, f.where(true(), bounds), labels,
                                                   bounds, f.flag_id)}


def _months(row):
    return {m["month"]: m for m in row.months}


def test_fire_rate_per_month_and_precision(session, people, fired):
    rows = _report(session)
    row = rows[CANCEL]
    months = _months(row)
    assert len(row.months) == 12 and row.months[-1]["month"] == "2026-11"
    # November: 6 chats checked (the call has no transcript), 4 cancel
    assert (months["2026-11"]["n"], months["2026-11"]["fails"]) == (6, 4)
    assert months["2026-11"]["rate"] == pytest.approx(400 / 6)
    assert (months["2026-10"]["n"], months["2026-10"]["fails"]) == (2, 1)
    assert months["2026-10"]["rate"] == 50.0
    assert months["2026-09"] == {"month": "2026-09", "n": 0, "fails": 0, "rate": None}
    assert (row.fired, row.checked) == (5, 8)  # the chat a year earlier is outside
    m = row.measured
    assert (m.confirmed, m.dismissed, m.reviewed, row.missed) == (3, 1, 4, 1)
    assert m.value == 0.75 and (round(m.low, 3), round(m.high, 3)) == (0.301, 0.954)
    # a rule has no target; the starter rules in use are listed, the untrained classifiers not
    assert row.target == "" and row.met is None
    assert "complaint" not in rows and "long silence" in rows
    silence = rows["long silence"]
    assert silence.measured.value is None and silence.measured.words == "no reviews yet"


def test_an_empty_window_and_the_filters(session, people, fired):
    empty = _report(session, end=(2020, 5))[CANCEL]
    assert empty.fired == empty.checked == 0
    assert all(m["rate"] is None for m in empty.months) and empty.measured.value is None
    sales = _report(session, queue="sales")[CANCEL]
    assert (sales.checked, sales.fired, sales.missed) == (2, 1, 1)
    assert sales.measured.reviewed == 0
    team_b = _report(session, team_id=people["team_b"].id)[CANCEL]
    assert (team_b.checked, team_b.fired, team_b.measured.confirmed) == (2, 1, 1)
    assert team_b.measured.value == 1.0
    voice = _report(session, channel="voice")[CANCEL]
    assert voice.checked == voice.fired == 0
    one = _report(session, flag_id=flags.get_flag(session, CANCEL).id)
    assert list(one) == [CANCEL]


def test_only_the_active_versions_results_count(session, people, fired):
    """A new version of the rule is in use: what version 1 found (and the verdicts on it) no
    longer counts, until the period is checked again."""
    flags.revise_rule(session, people["admin"], CANCEL,
                      {"kind": "phrase", "phrases": ["terminate my contract"]})
    session.commit()
    row = _report(session)[CANCEL]
    assert row.fired == 0 and row.measured.reviewed == 0 and row.checked == 8
    assert row.missed == 1  # a missed verdict is about the interaction, not a hit


def test_a_classifier_target_is_compared(session, people, fired):
    flag = session.query(Flag).filter_by(name=CANCEL).one()
    flag.kind, flag.target, flag.target_value = "classifier", "precision", 0.7
    session.commit()
    row = _report(session)[CANCEL]
    assert (row.target, row.target_value, row.met, row.sure) == ("precision", 0.7, True, False)
    flag.target_value = 0.8
    session.commit()
    assert _report(session)[CANCEL].met is False
    flag.target = "recall"
    session.commit()
    assert _report(session)[CANCEL].met is None


# --- the page, its exports and who sees what --------------------------------------------------

def _csv(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    assert response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_the_page_shows_charts_tables_and_messages(client, auth, session, people, fired):
    auth.login("qa")
    page = client.get(f"{URL}?month=2026-11").get_data(as_text=True)
    assert page.count("<svg") >= 2 and 'id="precision-table"' in page
    assert 'aria-label="Fire rate per month of the flag cancellation (phrases)"' in page
    assert 'aria-label="Measured precision per flag, reviewed hits only"' in page
    cancel_id = flags.get_flag(session, CANCEL).id
    row = re.search(rf'<tr id="precision-{cancel_id}">(.*?)</tr>', page, re.S).group(1)
    cells = re.findall(r'<td[^>]*>([^<]*)</td>', row)
    assert cells[:7] == ["5", "4", "3", "1", "1", "75.0%", "30.1%–95.4%"]
    rates = page.split(f'id="rates-{cancel_id}"')[1].split("</table>")[0]
    assert "66.7%" in rates and "50.0%" in rates
    assert "no reviews yet" in page  # the rules nobody reviewed
    assert "table=precision" in page and "format=xlsx" in page and "month=2026-11" in page
    bad = client.get(f"{URL}?month=2026-13&channel=fax&flag_id=99999")
    text = bad.get_data(as_text=True)
    assert bad.status_code == 200
    assert "The month &#39;2026-13&#39; is not a month written YYYY-MM" in text
    assert 'value="2026-13"' in text
    assert "There is no channel &#39;fax&#39;" in text and "There is no flag 99999" in text
    assert client.get(f"{URL}?team_id=abc").status_code == 400


def test_the_exports_match_the_page(client, auth, session, people, fired):
    from openpyxl import load_workbook

    auth.login("qa")
    cancel_id = str(flags.get_flag(session, CANCEL).id)
    rates = [r for r in _csv(client, f"{URL}?month=2026-11&format=csv")
             if r["flag id"] == cancel_id]
    assert [r["month"] for r in rates][-2:] == ["2026-10", "2026-11"] and len(rates) == 12
    assert (rates[-1]["checked"], rates[-1]["fired"], rates[-1]["fire rate %"]) == \
        ("6", "4", "66.7")
    assert rates[0]["fire rate %"] == ""  # an empty month: an empty cell
    precision = {r["flag"]: r for r in _csv(
        client, f"{URL}?month=2026-11&table=precision&format=csv")}
    cancel = precision[CANCEL]
    assert (cancel["fired"], cancel["reviewed"], cancel["confirmed"], cancel["dismissed"],
            cancel["missed"]) == ("5", "4", "3", "1", "1")
    assert (cancel["precision %"], cancel["95% CI low %"], cancel["95% CI high %"]) == \
        ("75.0", "30.1", "95.4")
    assert precision["long silence"]["precision %"] == ""
    # filters apply to exports
    team_b = {r["flag"]: r for r in _csv(
        client, f"{URL}?month=2026-11&table=precision&format=csv"
                f"&team_id={people['team_b'].id}")}
    assert (team_b[CANCEL]["fired"], team_b[CANCEL]["precision %"]) == ("1", "100.0")
    xlsx = client.get(f"{URL}?month=2026-11&table=precision&format=xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("flag id", "flag", "fired")
    got = next(r for r in rows if r[1] == CANCEL)
    assert got[2:10] == (5, 4, 3, 1, 1, 75.0, 30.1, 95.4)
    assert client.get(f"{URL}?table=pie&format=csv").status_code == 400
    assert client.get(f"{URL}?format=pdf").status_code == 400


def test_a_lead_sees_their_team_and_an_agent_nothing(client, auth, session, people, fired):
    auth.login("lead.a")
    rows = [r for r in _csv(client, f"{URL}?month=2026-11&format=csv") if r["flag"] == CANCEL]
    november = rows[-1]
    assert (november["checked"], november["fired"]) == ("4", "3")
    precision = {r["flag"]: r for r in _csv(
        client, f"{URL}?month=2026-11&table=precision&format=csv")}
    assert (precision[CANCEL]["confirmed"], precision[CANCEL]["dismissed"]) == ("2", "1")
    # another team's id: said, and ignored
    page = client.get(f"{URL}?month=2026-11&team_id={people['team_b'].id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "among those you may see" in text
    assert "Team B" not in text and "66.7%" in text  # 2 of 3 confirmed, team A's
    for username in ("agent.a", "hr"):
        auth.logout()
        auth.login(username)
        assert client.get(URL).status_code == 403
        assert client.get(f"{URL}?format=csv").status_code == 403
    auth.logout()
    auth.login("auditor")
    assert client.get(URL).status_code == 200


def test_the_reports_home_and_the_flag_list_link_here(client, auth, people):
    auth.login("qa")
    home = client.get("/reports").get_data(as_text=True)
    assert f'href="{URL}" id="report-flags"' in home
    assert f'href="{URL}"' in client.get("/flags").get_data(as_text=True)
    assert client.get(URL).status_code == 200  # no flag yet: the page says so
    assert 'id="no-flags"' in client.get(URL).get_data(as_text=True)
