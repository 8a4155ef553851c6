"""`qm report digest --lead USER`: what needs a team lead, for their teams only."""

from __future__ import annotations

import json

import factories
import pytest
from click.testing import CliRunner

from qm.cli import main
from qm.digest import Week


@pytest.fixture
def disputes(session, people):
    """Two disputes on team A's agents, one on team B's."""
    factories.create_form(session)
    for agent in (people["agent_a"], people["agent_a2"], people["agent_b"]):
        interaction = factories.create_interaction(session, agent)
        factories.create_dispute(session, people["qa"], interaction)
    session.commit()


def test_a_leads_digest_lists_their_teams_disputes_and_nothing_of_another_team(
        runner, people, disputes):
    result = runner.invoke("report", "digest", "--lead", "lead.a", "--week", "2026-W48",
                           "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["week"] == "2026-W48" and body["from"] == "2026-11-23"
    items = {i["title"]: i for i in body["items"]}
    assert items["Disputes to review"]["value"] == 2  # team A's two, not team B's
    assert not items["Disputes to review"]["overdue"]
    other = json.loads(runner.invoke("report", "digest", "--lead", "lead.b", "--json").output)
    assert {i["title"]: i["value"] for i in other["items"]}["Disputes to review"] == 1


def test_the_text_digest_and_an_empty_one(runner, people, disputes):
    text = runner.invoke("report", "digest", "--lead", "lead.a", "--week", "2026-W48").output
    assert text.startswith("Weekly digest for lead.a, 2026-W48 (2026-11-23 to 2026-11-29)")
    assert "* Disputes to review: 2" in text
    assert "Evaluations to acknowledge" not in text  # a card asking for nothing is left out
    quiet = runner.invoke("report", "digest", "--lead", "hr").output
    assert "Nothing needs your attention." in quiet


def test_a_bad_week_or_lead_is_refused_in_words(runner, people):
    bad = CliRunner().invoke(main, ["report", "digest", "--lead", "lead.a", "--week", "48"],
                             env=runner.env)
    assert bad.exit_code == 2 and "ISO week such as 2026-W48" in bad.output
    nobody = CliRunner().invoke(main, ["report", "digest", "--lead", "nobody"], env=runner.env)
    assert nobody.exit_code == 1 and "No active user 'nobody'" in nobody.output


def test_weeks_are_iso_weeks():
    assert Week.parse("2026-W01").start.isoformat() == "2025-12-29"
    assert str(Week.parse("2026-W53")) == "2026-W53"
    with pytest.raises(ValueError, match="2026-W48"):
        Week.parse("2025-W53")  # 2025 has 52 ISO weeks


def test_the_week_adds_its_critical_failures_and_late_evaluations_of_the_leads_teams(
        runner, session, people, disputes):
    """The fixture's three evaluations failed a critical question (verify: no) this week, two
    in team A; one more of team A's is assigned and three days past its due day."""
    import datetime as dt

    from scoring.evaluations import services as ev

    late = ev.start_evaluation(session, people["qa"],
                               factories.create_interaction(session, people["agent_a"]))
    late.due_on = dt.date.today() - dt.timedelta(days=3)
    session.commit()
    body = json.loads(runner.invoke("report", "digest", "--lead", "lead.a", "--json").output)
    items = {i["title"]: i for i in body["items"]}
    fails = items["Critical failures this week"]
    assert fails["value"] == 2
    named = " ".join(fails["detail"])
    assert people["agent_a"].display_name in named and people["agent_b"].display_name not in named
    assert "Test form" in named
    assert items["Your teams' evaluations past their due day"]["value"] == 1
    assert items["Your teams' evaluations past their due day"]["overdue"]
    other = {i["title"]: i["value"] for i in json.loads(runner.invoke(
        "report", "digest", "--lead", "lead.b", "--json").output)["items"]}
    assert other["Critical failures this week"] == 1
    assert "Your teams' evaluations past their due day" not in other  # none late: left out
    # a week without any: nothing said about critical failures
    quiet = runner.invoke("report", "digest", "--lead", "lead.a", "--week", "2026-W01").output
    assert "Critical failures" not in quiet
