"""Operational KPIs (issue 18): the import of telephony and survey exports (bad rows by line,
re-import adds nothing, a correction replaces), the month's figures from raw sums, the survey
intervals, the targets, scope, the page, the API and `qm kpis import`."""

from __future__ import annotations

import datetime as dt
import io

import factories
import pytest
from sqlalchemy import func, select

from qm.audit import AuditEntry
from qm.auth import tokens
from qm.errors import InvalidInput, PermissionDenied
from scoring.evaluations import services as ev
from scoring.kpis import metrics, queries, services
from scoring.kpis.models import KpiRecord

TODAY = dt.date(2026, 3, 20)
HEADER = ("date,team,queue,channel,offered,answered,abandoned,wait_seconds,handled,"
          "handle_seconds,contacts,resolved_first\n")
GOOD = HEADER + (
    "2026-02-02,Team A,billing,voice,100,95,5,2375,95,28500,95,76\n"
    "2026-02-03,Team A,billing,voice,300,280,20,11200,280,84000,280,196\n"
    "2026-02-03,Team B,,chat,50,50,0,1500,50,30000,50,40\n")


def _import(session, actor, text, today=TODAY):
    return services.import_kpis(session, actor, io.BytesIO(text.encode()), today=today)


def _count(session):
    return session.scalar(select(func.count()).select_from(KpiRecord))


def _actions(session):
    return session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("kpi.%"))
                           .order_by(AuditEntry.seq)).all()


def _headers(session, user):
    _token, plaintext = tokens.create_token(session, factories.SYSTEM, user.id, name="t")
    session.commit()
    return {"Authorization": f"Bearer {plaintext}"}


# --- import -----------------------------------------------------------------------------------


def test_bad_rows_are_named_by_line_and_the_good_rows_go_in(session, people):
    text = GOOD + (
        "2026-02-31,Team A,billing,voice,10,10,0,100,10,100,10,5\n"  # line 5
        "2026-02-04,Team Z,billing,voice,10,10,0,100,10,100,10,5\n"  # line 6
        "2026-02-04,Team A,billing,fax,10,10,0,100,10,100,10,5\n"  # line 7
        "2026-02-04,Team A,billing,voice,10,8,5,100,8,100,10,5\n"  # line 8
        "2026-02-04,Team A,billing,voice,10,10,0,100,10,100,10,11\n"  # line 9
        "2026-02-04,Team A,billing,voice,10,ten,0,100,10,100,10,5\n"  # line 10
        "2026-02-02,Team A,billing,voice,100,95,5,2375,95,28500,95,76\n"  # line 11: dup of 2
        "2026-04-01,Team A,billing,voice,10,10,0,100,10,100,10,5\n"  # line 12: future
        "2026-02-04,Team A,billing,voice,,,,,,,,\n")  # line 13
    report = _import(session, people["admin"], text)
    assert (report.rows, report.created, report.already_there) == (12, 3, 0)
    assert [(e.line, e.reason) for e in report.errors] == [
        (5, "date '2026-02-31' is not a date as YYYY-MM-DD"),
        (6, "no team named 'Team Z'"),
        (7, "channel 'fax' is not one of voice, chat, email, messaging, social"),
        (8, "answered + abandoned (13) is more than offered (10)"),
        (9, "resolved_first (11) is more than contacts (10)"),
        (10, "answered 'ten' is not a number"),
        (11, "the same date, team, queue and channel as line 2"),
        (12, "date 2026-04-01 is in the future"),
        (13, "the row has no figures (all of " + ", ".join(metrics.SUMS) + " are empty)"),
    ]
    assert _count(session) == 3
    assert _actions(session) == ["kpi.recorded"] * 3


def test_a_header_without_a_required_or_any_figure_column_is_refused_whole(session, people):
    with pytest.raises(InvalidInput, match="lacks the column"):
        _import(session, people["admin"], "date,team,offered\n2026-02-02,Team A,5\n")
    with pytest.raises(InvalidInput, match="no figure column"):
        _import(session, people["admin"], "date,team,channel\n2026-02-02,Team A,voice\n")
    assert _count(session) == 0


def test_reimporting_adds_nothing_and_a_corrected_row_replaces_audited(session, people):
    first = _import(session, people["admin"], GOOD)
    again = _import(session, people["admin"], GOOD)
    assert (first.created, again.created, again.replaced, again.already_there) == (3, 0, 0, 3)
    assert _count(session) == 3
    corrected = GOOD.replace("300,280,20,11200", "300,270,30,10800")
    report = _import(session, people["admin"], corrected)
    assert (report.created, report.replaced, report.already_there) == (0, 1, 2)
    record = session.scalar(select(KpiRecord).where(KpiRecord.day == dt.date(2026, 2, 3),
                                                    KpiRecord.channel == "voice"))
    assert (record.answered, record.abandoned, record.wait_seconds) == (270, 30, 10800)
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "kpi.corrected")).one()
    assert (entry.before["answered"], entry.after["answered"]) == (280, 270)


def test_a_survey_export_adds_to_the_day_the_telephony_export_gave(session, people):
    _import(session, people["admin"], GOOD)
    survey = ("Date,Team,Queue,Channel,CSAT Responses,CSAT Satisfied,Promoters,Passives,"
              "Detractors\n2026-02-02,team a,billing,Voice,40,30,20,10,10\n")
    report = _import(session, people["admin"], survey)
    assert (report.created, report.replaced, report.errors) == (0, 1, [])
    record = session.scalar(select(KpiRecord).where(KpiRecord.day == dt.date(2026, 2, 2)))
    assert (record.offered, record.csat_satisfied, record.nps_promoters) == (100, 30, 20)


def test_only_importers_may_import(session, people):
    with pytest.raises(PermissionDenied):
        _import(session, people["lead_a"], GOOD)
    assert _count(session) == 0


# --- the arithmetic ---------------------------------------------------------------------------


def test_a_month_is_computed_from_its_sums_not_from_daily_averages(session, people):
    _import(session, people["admin"], GOOD)
    team = people["team_a"]
    found = queries.totals(session, [team.id], (2026, 1), (2026, 2))
    assert list(found) == [(team.id, (2026, 2), "voice")]  # January: no rows, no entry
    values = metrics.values(found[(team.id, (2026, 2), "voice")])
    # FCR (76 + 196) / (95 + 280) = 72.53%; daily averages would give (80 + 70) / 2 = 75
    assert values["fcr"] == pytest.approx(100 * 272 / 375)
    assert values["asa"] == pytest.approx((2375 + 11200) / 375)  # 36.2 s
    assert values["abandonment"] == pytest.approx(100 * 25 / 400)  # 6.25%
    assert values["aht"] == pytest.approx((28500 + 84000) / 375)  # 300 s
    assert values["csat"] is None and values["nps"] is None  # no survey: unknown, not 0
    empty = metrics.values(metrics.Totals())
    assert set(empty.values()) == {None}


def test_a_rate_adds_a_row_only_when_it_has_both_figures():
    totals = metrics.Totals.of([{"answered": 100, "wait_seconds": 2000},
                                {"answered": 300, "wait_seconds": None}])
    assert metrics.values(totals)["asa"] == 20.0


def test_wilson_interval_worked_example():
    low, high = metrics.wilson(80, 100)
    assert (round(low, 4), round(high, 4)) == (0.7112, 0.8666)
    assert metrics.wilson(0, 10)[0] == 0.0  # stays inside 0-1
    assert metrics.wilson(0, 0) is None
    csat = metrics.csat(metrics.Totals(csat_satisfied=80, csat_responses=100))
    assert (csat.value, csat.n, round(csat.low, 1), round(csat.high, 1)) == (80.0, 100, 71.1,
                                                                             86.7)


def test_nps_and_its_normal_approximation_interval():
    # 50 promoters, 30 passives, 20 detractors: NPS 30; var = (.5 + .2 - .3^2) / 100
    found = metrics.nps(metrics.Totals(nps_promoters=50, nps_passives=30, nps_detractors=20))
    assert (found.value, found.n) == (30.0, 100)
    assert (round(found.low, 1), round(found.high, 1)) == (14.7, 45.3)


def test_targets_default_and_configured():
    default = metrics.targets_from("")
    assert default.for_("fcr", "voice").text == "at least 70%"
    assert default.for_("asa", "voice").met(30.0) is True
    assert default.for_("asa", "chat").met(60.0) is False  # under 60 s
    assert default.for_("abandonment", "voice").met(5.0) is False  # under 5%
    assert default.for_("aht", "voice") is None
    site = metrics.targets_from('{"aht": {"voice": {"max": 420}}, "fcr": null}')
    assert site.for_("aht", "voice").text == "at most 420 s"
    assert site.for_("fcr", "voice") is None
    for bad, message in (("{", "not valid JSON"), ('{"speed": {"min": 1}}', "not a KPI"),
                         ('{"fcr": {"least": 1}}', "exactly one of"),
                         ('{"fcr": {"min": "x"}}', "needs a number")):
        with pytest.raises(ValueError, match=message):
            metrics.targets_from(bad)


# --- scope, the page, the API, the command ----------------------------------------------------


def test_leads_see_their_teams_only(session, people):
    assert [t.name for t in queries.visible_teams(session, people["lead_a"])] == ["Team A"]
    assert len(queries.visible_teams(session, people["auditor"])) == 2
    assert queries.visible_teams(session, people["agent_a"]) == []


def test_the_page_shows_targets_in_words_and_the_qa_score_beside(client, auth, session, people):
    form = factories.create_form(session)
    agent = people["agent_a"]
    evaluation = ev.start_evaluation(session, people["qa"],
                                     factories.create_interaction(session, agent))
    ev.submit(session, people["qa"], evaluation.id, {"greet": "yes", "verify": "yes"})
    session.commit()
    assert form is not None and evaluation.score is not None
    today = dt.datetime.now(dt.UTC).date()
    _import(session, people["admin"], HEADER + (
        f"{today.isoformat()},Team A,billing,voice,100,95,5,2375,95,28500,95,76\n"
        f"{today.isoformat()},Team B,billing,voice,100,90,10,9000,90,9000,90,50\n"),
        today=today)
    session.commit()
    auth.login("lead.a")
    html = client.get("/kpis").get_data(as_text=True)
    assert "80.0%" in html and "met (at least 70%)" in html  # FCR 76/95
    assert "25 s" in html and "met (at most 30 s)" in html  # ASA 2375/95
    assert "not met (under 5%)" in html  # abandonment exactly 5%
    assert f"{float(evaluation.score):.1f}" in html and "(1 evaluations)" in html
    assert "Team B" not in html.split('id="kpi-month"')[1]
    assert client.get(f"/kpis?team_id={people['team_b'].id}").status_code == 404
    assert client.get("/kpis?month=2026-13").status_code == 400
    assert client.get("/kpis/import").status_code == 403
    auth.logout()
    auth.login("agent.a")
    assert client.get("/kpis").status_code == 403


def test_the_upload_page_imports_and_lists_bad_rows(client, auth, session, people):
    auth.login("admin")
    text = GOOD + "2026-02-04,Team Z,billing,voice,10,10,0,100,10,100,10,5\n"
    response = client.post_form("/kpis/import", {
        "file": (io.BytesIO(text.encode()), "kpis.csv")}, content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "3 added, 0 corrected, 0 already there, 1 failed" in html
    assert "no team named &#39;Team Z&#39;" in html
    assert _count(session) == 3


def test_the_api_imports_and_reads_in_scope(client, session, people):
    admin, lead = _headers(session, people["admin"]), _headers(session, people["lead_a"])
    assert client.post("/api/v1/kpis", data=GOOD, headers={**lead, "Content-Type": "text/csv"}
                       ).status_code == 403
    made = client.post("/api/v1/kpis", data=GOOD, headers={**admin, "Content-Type": "text/csv"})
    assert made.status_code == 200
    assert made.json | {"errors": []} == {"rows": 3, "created": 3, "replaced": 0,
                                          "already_there": 0, "errors": []}
    again = client.post("/api/v1/kpis", headers=admin, content_type="multipart/form-data",
                        data={"file": (io.BytesIO(GOOD.encode()), "kpis.csv")})
    assert again.json["already_there"] == 3 and again.json["created"] == 0
    read = client.get("/api/v1/kpis?from=2026-01&to=2026-02", headers=lead).json
    assert [(r["team"], r["month"], r["channel"]) for r in read["rows"]] == [
        ("Team A", "2026-02", "voice")]
    fcr = read["rows"][0]["kpis"]["fcr"]
    assert fcr == {"value": round(100 * 272 / 375, 2), "target": "at least 70%",
                   "verdict": "met"}
    assert read["rows"][0]["kpis"]["abandonment"]["verdict"] == "not met"
    assert client.get(f"/api/v1/kpis?team_id={people['team_b'].id}",
                      headers=lead).status_code == 404
    assert client.get("/api/v1/kpis?to=2026-1", headers=lead).status_code == 422


def test_qm_kpis_import(runner, session, people, tmp_path):
    path = tmp_path / "kpis.csv"
    path.write_text(GOOD + "2026-02-04,Team Z,billing,voice,10,10,0,100,10,100,10,5\n")
    result = runner.invoke("kpis", "import", str(path))
    assert result.exit_code == 1
    assert "kpis.csv:5: no team named 'Team Z'" in result.output
    assert "4 rows: 3 added, 0 already there, 1 failed." in result.output
    again = runner.invoke("kpis", "import", str(path))
    assert "4 rows: 0 added, 3 already there, 1 failed." in again.output


def test_the_demo_year_goes_in_through_the_import_and_only_once(session, people):
    from scoring import demo

    for name in demo.QUEUES:
        factories.create_team(session, name)
    first = demo.seed_kpis(session, factories.SYSTEM)
    assert first == "KPIs: 48 months of figures added, 0 were there already, 0 refused."
    again = demo.seed_kpis(session, factories.SYSTEM)
    assert again == "KPIs: 0 months of figures added, 48 were there already, 0 refused."


def test_both_tables_export_as_csv_and_xlsx_with_the_pages_figures(client, auth, session,
                                                                    people):
    import pandas as pd

    _import(session, people["admin"], GOOD)
    session.commit()
    auth.login("lead.a")
    page = client.get("/kpis?month=2026-02").get_data(as_text=True)
    assert "format=csv" in page and "table=trend" in page
    month = pd.read_csv(io.BytesIO(client.get("/kpis?month=2026-02&format=csv").data))
    assert list(month["team"]) == ["Team A"]  # the lead's team only, as on the page
    row = month.iloc[0]
    assert row["First-contact resolution (%)"] == pytest.approx(100 * 272 / 375, abs=0.01)
    assert row["fcr verdict"] == "met" and row["channel"] == "voice"
    assert row["Average speed of answer (s)"] == pytest.approx(13575 / 375, abs=0.01)
    trend = pd.read_excel(io.BytesIO(client.get(
        "/kpis?month=2026-02&table=trend&format=xlsx").data))
    assert list(trend["month"]) == [f"{y}-{m:02d}" for y, m in (
        [(2025, m) for m in range(3, 13)] + [(2026, 1), (2026, 2)])]
    assert trend["First-contact resolution (%)"].notna().sum() == 1  # the one month with figures
    assert trend.iloc[-1]["First-contact resolution (%)"] == pytest.approx(
        row["First-contact resolution (%)"])
    assert client.get("/kpis?format=csv&table=nope").status_code == 400
    auth.logout()
    auth.login("agent.a")
    assert client.get("/kpis?format=csv").status_code == 403


def test_the_qa_score_of_a_long_period_is_read_in_parts_and_the_api_caps_a_period(
        client, session, people):
    """Found by the API fuzzing: a period of thousands of months made one query with a bound
    per month, past PostgreSQL's 65,535 parameters. Now a long period is read a few years a
    query (same answers), and the API refuses more than ten years at once, in words."""
    factories.create_form(session)
    for answers in ({"greet": "yes", "verify": "yes"}, {"greet": "no", "verify": "yes"}):
        item = ev.start_evaluation(session, people["qa"],
                                   factories.create_interaction(session, people["agent_a"]))
        ev.submit(session, people["qa"], item.id, answers)
    session.commit()
    now = dt.datetime.now(dt.UTC)
    month = (now.year, now.month)
    first = queries.months_before(month, 2 * queries.MONTHS_A_QUERY + 5)  # three parts
    team = people["team_a"].id
    long = queries.qa_means(session, [team], first, month, "UTC")
    short = queries.qa_means(session, [team], month, month, "UTC")
    assert set(long) == set(short) == {(team, month)}
    assert long[(team, month)].n == 2
    assert long[(team, month)].mean == pytest.approx(short[(team, month)].mean)
    headers = _headers(session, people["admin"])
    refused = client.get("/api/v1/kpis?from=2026-01&to=6341-04", headers=headers)
    assert refused.status_code == 400
    assert "At most 120 months" in refused.get_json()["message"]
    assert client.get("/api/v1/kpis?from=2016-01&to=2025-12",
                      headers=headers).status_code == 200  # exactly ten years
