"""The QA dashboards: aggregates computed in SQL on constructed data with known answers."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import statistics
from zoneinfo import ZoneInfo

import factories
import pytest
from sqlalchemy import true

from scoring.calibration import services as cal
from scoring.evaluations import services as ev
from scoring.reports import queries as reports
from scoring.reports.queries import summarise

UTC = ZoneInfo("UTC")
NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
YES = {"greet": "yes", "verify": "yes"}     # 100
MISS = {"greet": "no", "verify": "yes"}     # 66.67
CRIT = {"greet": "yes", "verify": "no"}     # 0, a critical fail


@pytest.mark.parametrize("scores", [[], [70.0], [100.0, 66.67, 0.0, 100.0, 66.67, 100.0],
                                    [80.0] * 7, [12.5, 99.99, 50.0]])
def test_the_aggregate_summary_equals_the_summary_of_the_scores(scores):
    got = reports.summarise_aggregate(len(scores), sum(scores), sum(s * s for s in scores))
    want = summarise(scores)
    assert got.n == want.n
    for name in ("mean", "sd", "low", "high"):
        a, b = getattr(got, name), getattr(want, name)
        assert (a is None) == (b is None), name
        if a is not None:
            assert a == pytest.approx(b, abs=1e-9), name


def test_month_bounds_are_the_sites_calendar_months():
    labels, bounds = reports.month_bounds((2026, 1), ZoneInfo("Europe/Berlin"), 3)
    assert labels == ["2025-11", "2025-12", "2026-01"]
    assert bounds[0] == dt.datetime(2025, 10, 31, 23, tzinfo=dt.UTC)  # CET is UTC+1
    assert bounds[-1] == dt.datetime(2026, 1, 31, 23, tzinfo=dt.UTC)
    assert reports.parse_month("2026-13") is None and reports.parse_month("x") is None
    assert reports.parse_month("2026-02") == (2026, 2)


def _evaluate(session, evaluator, agent, answers, when, **contact):
    item = ev.start_evaluation(session, evaluator, factories.create_interaction(
        session, agent, **contact))
    ev.submit(session, evaluator, item.id, answers, now=when)
    return item


@pytest.fixture
def scored(session, people):
    """Team A: 3 in November (100, 66.67, 0 critical), 1 in September (100, chat queue
    'sales'); team B: 2 in November (100, 100)."""
    factories.create_form(session)
    qa, a, b = people["qa"], people["agent_a"], people["agent_b"]
    _evaluate(session, qa, a, YES, NOW)
    _evaluate(session, qa, a, MISS, NOW - dt.timedelta(days=1))
    _evaluate(session, qa, a, CRIT, NOW - dt.timedelta(days=2))
    _evaluate(session, qa, a, YES, dt.datetime(2026, 9, 10, tzinfo=dt.UTC), channel="chat",
              queue="sales")
    _evaluate(session, qa, b, YES, NOW)
    _evaluate(session, qa, b, YES, NOW - dt.timedelta(days=3))
    session.commit()


def _trend(session, filters, by=""):
    labels, bounds = reports.month_bounds(filters.end, UTC)
    return reports.score_trend(session, filters.where(true(), bounds), labels, bounds, by)


def test_the_trend_per_month_and_per_team(session, people, scored):
    overall, = _trend(session, reports.Filters((2026, 11)))
    by_month = {m["month"]: m["summary"] for m in overall.months}
    assert len(overall.months) == 12 and overall.months[-1]["month"] == "2026-11"
    november = [100.0, 66.67, 0.0, 100.0, 100.0]
    assert by_month["2026-11"].n == 5
    assert by_month["2026-11"].mean == pytest.approx(statistics.fmean(november))
    assert by_month["2026-11"].sd == pytest.approx(statistics.stdev(november))
    half = 2.776 * statistics.stdev(november) / math.sqrt(5)
    assert by_month["2026-11"].low == pytest.approx(max(0, statistics.fmean(november) - half))
    # a month with one evaluation: its mean, no interval; an empty month: nothing
    assert (by_month["2026-09"].n, by_month["2026-09"].mean, by_month["2026-09"].low) == (
        1, 100.0, None)
    assert by_month["2026-10"].n == 0 and by_month["2026-10"].mean is None
    assert overall.total.n == 6
    teams = {s.label: s for s in _trend(session, reports.Filters((2026, 11)), "team")}
    assert set(teams) == {"Team A", "Team B"}
    assert teams["Team B"].total.mean == 100.0 and teams["Team B"].total.sd == 0.0
    assert teams["Team A"].total.n == 4
    agents = {s.label for s in _trend(session, reports.Filters((2026, 11)), "agent")}
    assert agents == {people["agent_a"].display_name, people["agent_b"].display_name}
    queues = {s.label: s.total.n for s in _trend(session, reports.Filters((2026, 11)),
                                                 "queue")}
    assert queues == {"billing": 5, "sales": 1}


def test_an_empty_period_and_the_filters(session, people, scored):
    empty, = _trend(session, reports.Filters((2024, 6)))
    assert empty.total.n == 0 and all(m["summary"].n == 0 for m in empty.months)
    assert _trend(session, reports.Filters((2024, 6)), "team") == []
    chat, = _trend(session, reports.Filters((2026, 11), channel="chat"))
    assert chat.total.n == 1
    assert _trend(session, reports.Filters((2026, 11), queue="sales"))[0].total.n == 1
    team_b, = _trend(session, reports.Filters((2026, 11), team_id=people["team_b"].id))
    assert team_b.total.n == 2
    other_form = factories.create_form(session, {**factories.SIMPLE_FORM, "name": "Other"})
    none, = _trend(session, reports.Filters((2026, 11), form_id=other_form.form_id))
    assert none.total.n == 0
    # a month ending the period leaves out what came after it
    assert _trend(session, reports.Filters((2026, 10)))[0].total.n == 1


def test_critical_fail_rate_and_most_failed_questions(session, people, scored):
    filters = reports.Filters((2026, 11))
    labels, bounds = reports.month_bounds(filters.end, UTC)
    where = filters.where(true(), bounds)
    rates = {m["month"]: m for m in reports.critical_fail_rate(session, where, labels,
                                                                  bounds)}
    assert (rates["2026-11"]["n"], rates["2026-11"]["fails"]) == (5, 1)
    assert rates["2026-11"]["rate"] == pytest.approx(20.0)
    assert rates["2026-09"]["rate"] == 0 and rates["2026-10"]["rate"] is None
    questions = reports.most_failed_questions(session, where)
    # one fail each in six answers: a tie, broken by the question key
    assert [(q["key"], q["failed"], q["n"]) for q in questions] == [
        ("greet", 1, 6), ("verify", 1, 6)]
    assert questions[0]["text"] == "Greets"
    assert questions[0]["percent"] == pytest.approx(100 / 6)


def test_calibration_agreement_reads_the_statistics_frozen_at_closing(session, people):
    factories.create_form(session)
    contacts = [factories.create_interaction(session, people["agent_a"]) for _ in range(3)]
    qa2 = factories.create_user(session, "qa2", roles=["qa_evaluator"])
    item = cal.create_session(session, people["lead_a"], title="November", form_id=None,
                              interaction_ids=[c.id for c in contacts],
                              participant_ids=[people["qa"].id, qa2.id],
                              team_id=people["team_a"].id)
    for position, calibration_item in enumerate(item.items):
        cal.save_score(session, people["qa"], calibration_item.id, YES, submit=True)
        cal.save_score(session, qa2, calibration_item.id, MISS if position else YES,
                       submit=True)
    closed = cal.close_session(session, people["lead_a"], item.id)
    session.commit()
    now = closed.closed_at
    _labels, bounds = reports.month_bounds((now.year, now.month), UTC)
    rows = reports.calibration_agreement(session, cal.visible_clause(people["qa"]), bounds)
    stored = {s["name"]: s["value"] for s in closed.statistics}
    assert [r["title"] for r in rows] == ["November"]
    assert rows[0]["agreement"] == stored["Percent agreement, answers"]
    assert rows[0]["agreement"] == pytest.approx(4 / 6)  # 6 answer pairs, 2 disagree
    assert rows[0]["alpha"] == stored["Krippendorff's alpha, answers (nominal)"]
    # the team filter: team A's session, not team B's
    assert len(reports.calibration_agreement(session, true(), bounds,
                                             people["team_a"].id)) == 1
    assert reports.calibration_agreement(session, true(), bounds, people["team_b"].id) == []
    # someone who may not see the session does not see its row
    assert reports.calibration_agreement(session, cal.visible_clause(people["lead_b"]),
                                            bounds) == []


def test_the_dashboard_page(client, auth, session, people, scored):
    auth.login("qa")
    page = client.get("/reports/dashboard?month=2026-11&by=team").get_data(as_text=True)
    assert "<svg" in page and 'id="trend-table"' in page
    assert "73.3" in page  # November's mean: (100 + 66.67 + 0 + 100 + 100) / 5
    assert "Team B" in page and 'id="breakdown-table"' in page
    assert "20.0%" in page  # critical-fail rate in November
    bad = client.get("/reports/dashboard?month=2026-13&channel=fax")
    text = bad.get_data(as_text=True)
    assert bad.status_code == 200
    assert "The month &#39;2026-13&#39; is not a month written YYYY-MM" in text
    assert 'value="2026-13"' in text  # what was typed stays in the field
    assert "There is no channel &#39;fax&#39;" in text
    assert client.get("/reports/dashboard?team_id=abc").status_code == 400


def test_a_lead_sees_only_their_teams_on_the_dashboard(client, auth, session, people, scored):
    auth.login("lead.a")
    page = client.get("/reports/dashboard?month=2026-11&by=team").get_data(as_text=True)
    assert "Team A" in page and "Team B" not in page
    assert "55.6" in page  # team A's November: (100 + 66.67 + 0) / 3


def _csv(client, url):
    """The rows of a CSV export as dicts of text, read with the standard library."""
    response = client.get(url)
    assert response.status_code == 200, url
    assert response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def _by(rows, key):
    return {r[key]: r for r in rows}


def test_the_dashboard_exports_match_the_screen(client, auth, session, people, scored):
    from openpyxl import load_workbook

    auth.login("qa")
    page = client.get("/reports/dashboard?month=2026-11&by=team").get_data(as_text=True)
    assert "table=fails" in page and "format=xlsx" in page  # the buttons keep the filters
    trend = _csv(client, "/reports/dashboard?month=2026-11&format=csv")
    assert trend[-1]["month"] == "2026-11" and len(trend) == 12
    november = _by(trend, "month")["2026-11"]
    assert (november["evaluations"], november["mean"]) == ("5", "73.3")
    assert f'{november["95% CI low"]}–{november["95% CI high"]}' in page
    assert _by(trend, "month")["2026-10"]["mean"] == ""  # an empty month: an empty cell
    by_team = _csv(client, "/reports/dashboard?month=2026-11&by=team&table=breakdown"
                           "&format=csv")
    assert {r["team"] for r in by_team} == {"Team A", "Team B"}
    assert sum(int(r["evaluations"]) for r in by_team if r["team"] == "Team A") == 4
    fails = _csv(client, "/reports/dashboard?month=2026-11&table=fails&format=csv")
    assert _by(fails, "month")["2026-11"]["rate %"] == "20.0"
    questions = _csv(client, "/reports/dashboard?month=2026-11&table=questions&format=csv")
    assert [r["question key"] for r in questions] == ["greet", "verify"]
    # filters apply to exports: team B alone has no critical fail
    team_b = _csv(client, f"/reports/dashboard?month=2026-11&table=fails&format=csv"
                          f"&team_id={people['team_b'].id}")
    assert sum(int(r["critical fails"]) for r in team_b) == 0
    assert sum(int(r["evaluations"]) for r in team_b) == 2
    xlsx = client.get("/reports/dashboard?month=2026-11&format=xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("month", "evaluations", "mean")
    assert rows[-1][:3] == ("2026-11", 5, 73.3)
    assert client.get("/reports/dashboard?table=pie&format=csv").status_code == 400
    assert client.get("/reports/dashboard?format=pdf").status_code == 400


def test_the_older_reports_export_what_they_show(client, auth, session, people):
    """These reports end today, so their data is made today: 100, 66.67 and 0 for agent.a."""
    factories.create_form(session)
    now = dt.datetime.now(dt.UTC)
    for answers in (YES, MISS, CRIT):
        _evaluate(session, people["qa"], people["agent_a"], answers, now)
    session.commit()
    auth.login("qa")
    evaluators = _csv(client, "/reports/evaluators?days=30&format=csv")
    page = client.get("/reports/evaluators?days=30").get_data(as_text=True)
    row, = evaluators
    assert (row["evaluator"], row["evaluations"], row["mean"]) == (
        people["qa"].display_name, "3", "55.6")
    assert f'>{row["mean"]}<' in page and f'{row["95% CI low"]}–{row["95% CI high"]}' in page
    team = people["team_a"].id
    agents = _csv(client, f"/reports/teams/{team}?days=30&format=csv")
    assert [(r["agent"], r["evaluations"], r["conclusive"]) for r in agents] == [
        (people["agent_a"].display_name, "3", "no")]
    weakest = _csv(client, f"/reports/teams/{team}?days=30&table=questions&format=csv")
    assert {r["question key"]: r["points earned %"] for r in weakest} == {
        "greet": "67.0", "verify": "67.0"}  # 2 of 3 points, 4 of 6 points
    card = _csv(client, f"/scorecards/{people['agent_a'].id}?format=csv")
    assert sum(int(r["evaluations"]) for r in card) == 3 and len(card) == 12
    drift = _csv(client, "/reports/drift?format=csv")
    assert {r["evaluator"] for r in drift} == {people["qa"].display_name}
    assert len(drift) == 6 and drift[-1]["evaluations"] == "3"  # one row per month


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 10])
def test_quartile_positions_give_statistics_inclusive_quartiles(n):
    values = sorted((i * 37) % 101 + 0.5 * i for i in range(n))
    five = [values[k] + (values[k + 1] - values[k]) * share if share else values[k]
            for k, share in reports.quartile_positions(n)]
    want = ([values[0]] * 3 if n == 1 else statistics.quantiles(values, n=4, method="inclusive"))
    assert five[0] == values[0] and five[-1] == values[-1]
    assert five[1:4] == pytest.approx(want)


def test_the_evaluator_distribution_from_sql_equals_the_scores_own(session, people):
    """Constructed scores with known five numbers: an evaluator with 6, one with a single
    evaluation (all five numbers that score), and ties; peers' mean from the others' sum."""
    from decimal import Decimal

    factories.create_form(session)
    qa2 = factories.create_user(session, "qa2", roles=["qa_evaluator"])
    want = {people["qa"].id: [90.0, 10.0, 55.5, 70.0, 70.0, 33.25], qa2.id: [42.0]}
    for evaluator in (people["qa"], qa2):
        for value in want[evaluator.id]:
            item = _evaluate(session, evaluator, people["agent_a"], YES, NOW)
            item.score = Decimal(str(value))  # the constructed score, as a revision would set
    session.commit()
    rows = {d.evaluator_id: d for d in reports.evaluator_distributions(session, [])}
    assert set(rows) == set(want)
    six, one = rows[people["qa"].id], rows[qa2.id]
    ordered = sorted(want[people["qa"].id])
    assert list(six.quartiles) == pytest.approx(
        [ordered[0], *statistics.quantiles(ordered, n=4, method="inclusive"), ordered[-1]])
    assert six.summary.n == 6 and six.summary.mean == pytest.approx(statistics.fmean(ordered))
    assert six.summary.sd == pytest.approx(statistics.stdev(ordered))
    assert six.peer_mean == pytest.approx(42.0)
    assert one.quartiles == (42.0,) * 5 and one.summary.n == 1
    assert one.peer_mean == pytest.approx(statistics.fmean(ordered))
    # nothing in the period: no rows
    from scoring.evaluations.models import Evaluation

    assert reports.evaluator_distributions(session, [Evaluation.id < 0]) == []


def test_question_texts_of_a_frozen_form_version_are_read_once(session, people):
    """A published version never changes, so the reports read its question texts once per
    process; a draft's are read every time, so an edit shows at once."""
    from sqlalchemy import event

    reads = []
    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", lambda *a: reads.append(a[2]))
    draft = factories.create_form(session, publish=False)
    session.commit()
    reads.clear()
    assert reports._question_texts(session, {draft.id})["greet"] == "Greets"
    edited = {**factories.SIMPLE_FORM, "sections": [{**factories.SIMPLE_FORM["sections"][0],
              "questions": [{"key": "greet", "text": "Greets by name", "type": "yes_no",
                             "points": 1}]}]}
    assert factories.create_form(session, edited, publish=False).id == draft.id
    session.commit()
    reads.clear()
    assert reports._question_texts(session, {draft.id})["greet"] == "Greets by name"
    assert len(reads) == 1
    published = factories.create_form(session, edited)
    session.commit()
    reads.clear()
    for _ in range(3):
        assert reports._question_texts(session, {published.id}) == {"greet": "Greets by name"}
    assert len(reads) == 1
    assert reports._question_texts(session, set()) == {}
    # published in a transaction that is then undone: not kept (SQLite reuses the id)
    undone = factories.create_form(session, {**factories.SIMPLE_FORM, "name": "Undone"})
    assert reports._question_texts(session, {undone.id})["greet"] == "Greets"
    session.rollback()
    again = factories.create_form(session, {**edited, "name": "Again"})
    session.commit()
    assert reports._question_texts(session, {again.id})["greet"] == "Greets by name"
