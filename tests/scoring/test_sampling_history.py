"""Sampling runs kept as history (issue 17): every run (page, API, CLI) is recorded with who,
when, the week, the seed, per rule what was drawn and what did not fit; team leads reach the
page from the menu, see their teams' rules and runs, and draw for their teams."""

from __future__ import annotations

import datetime as dt

import factories
import pytest
from sqlalchemy import select

from qm import audit
from qm.auth import tokens
from qm.errors import NotFound, PermissionDenied
from scoring.evaluations.models import Evaluation
from scoring.sampling import services as sampling
from scoring.sampling.models import SamplingRun

MONDAY = dt.datetime(2026, 11, 2, 10, tzinfo=dt.UTC)  # 2026-W45
WEEK = "2026-W45"


def _contacts(session, agent, n: int) -> None:
    for i in range(n):
        factories.create_interaction(session, agent, started_at=(
            MONDAY + dt.timedelta(days=i % 5, hours=i % 3)).isoformat())


@pytest.fixture
def rules(session, people):
    version = factories.create_form(session)
    a = sampling.save_rule(session, factories.SYSTEM, {
        "name": "Team A weekly", "per_agent": 3, "evaluator_daily_cap": 1,
        "team_id": people["team_a"].id, "form_id": version.form_id})
    b = sampling.save_rule(session, factories.SYSTEM, {
        "name": "Team B weekly", "per_agent": 2, "team_id": people["team_b"].id,
        "form_id": version.form_id})
    for agent in ("agent_a", "agent_a2", "agent_b"):
        _contacts(session, people[agent], 6)
    session.commit()
    return {"a": a, "b": b}


def test_a_run_is_kept_with_what_was_drawn_and_what_did_not_fit(session, people, rules):
    report = sampling.run_sampling(session, people["admin"], WEEK, seed=7)
    session.commit()
    run = session.get(SamplingRun, report.run_id)
    assert (run.week, run.seed, run.run_by_id, run.run_by_name) == (WEEK, 7, people["admin"].id,
                                                                     "admin")
    line_a, line_b = run.rules
    assert (line_a.rule_id, line_a.rule_name, line_a.team_id) == (
        rules["a"].id, "Team A weekly", people["team_a"].id)
    # Team A: 2 agents x 3 drawn, one evaluator (qa) with a cap of 1 a day over 5 days.
    assert (line_a.created, line_a.unassigned, line_a.agents) == (5, 1, 2)
    assert len(line_a.unassigned_interaction_ids) == 1
    assert (line_b.created, line_b.unassigned) == (2, 0)
    assert (run.created, run.unassigned) == (7, 1)
    created = session.scalars(select(Evaluation.id).order_by(Evaluation.id)).all()
    assert sorted(line_a.evaluation_ids + line_b.evaluation_ids) == list(created)
    assert set(line_b.evaluation_ids) == set(session.scalars(select(Evaluation.id).where(
        Evaluation.sampling_rule_id == rules["b"].id)))
    entries = [e for e in audit.history(session, "sampling_runs", run.id)]
    assert [e.action for e in entries] == ["sampling.run"]
    assert entries[0].after["created"] == 7


def test_a_failed_run_leaves_no_history(session, people, rules):
    with pytest.raises(NotFound):
        sampling.run_sampling(session, people["admin"], WEEK, rule_ids=[rules["a"].id, 999])
    session.rollback()
    assert session.scalars(select(SamplingRun)).all() == []


def test_a_lead_draws_only_for_their_teams_rules(session, people, rules):
    report = sampling.run_sampling(session, people["lead_a"], WEEK, seed=1)
    assert [r.rule for r in report.rules] == ["Team A weekly"]
    agents = set(session.scalars(select(Evaluation.agent_id)))
    assert agents == {people["agent_a"].id, people["agent_a2"].id}
    with pytest.raises(NotFound):  # another team's rule answers like one that does not exist
        sampling.run_sampling(session, people["lead_a"], WEEK, rule_ids=[rules["b"].id])
    with pytest.raises(PermissionDenied):
        sampling.run_sampling(session, people["qa"], WEEK)
    with pytest.raises(PermissionDenied):  # rules stay the admins'
        sampling.save_rule(session, people["lead_a"], {"name": "Mine",
                                                       "form_id": rules["a"].form_id})


def test_a_lead_opens_sampling_from_the_menu_and_sees_their_teams(client, auth, session,
                                                                  people, rules):
    sampling.run_sampling(session, people["admin"], WEEK, seed=3, rule_ids=[rules["b"].id])
    session.commit()
    auth.login("lead.a")
    home = client.get("/evaluations").get_data(as_text=True)
    assert 'href="/sampling">Sampling</a>' in home
    page = client.get("/sampling")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Team A weekly" in html and "Team B weekly" not in html
    assert "Create assignments" in html and "Add rule" not in html
    assert 'id="no-runs"' in html  # team B's run is not theirs
    assert client.get(f"/sampling/rules/{rules['b'].id}").status_code == 404
    assert client.get(f"/sampling/rules/{rules['a'].id}").status_code == 200
    response = client.post_form("/sampling/run", {"week": WEEK, "seed": "4"}, page="/sampling")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    # qa already has team B's two on two of the five days, at team A's cap of one a day.
    assert "3 assignment(s) created for 2026-W45" in html
    mine = session.scalars(select(SamplingRun).where(
        SamplingRun.run_by_id == people["lead_a"].id)).one()
    assert f'href="/sampling/runs/{mine.id}"' in html
    detail = client.get(f"/sampling/runs/{mine.id}").get_data(as_text=True)
    assert "Team A weekly" in detail and "3 did not fit" in detail
    evaluation_id = mine.rules[0].evaluation_ids[0]
    assert f'href="/evaluations/{evaluation_id}"' in detail
    other = session.scalars(select(SamplingRun).where(
        SamplingRun.run_by_id == people["admin"].id)).one()
    assert client.get(f"/sampling/runs/{other.id}").status_code == 404
    auth.logout()
    auth.login("agent.a")
    assert 'href="/sampling"' not in client.get("/evaluations").get_data(as_text=True)
    assert client.get("/sampling").status_code == 403


def test_the_history_is_newest_first_and_paged(client, auth, session, people, rules):
    for seed in range(21):
        sampling.run_sampling(session, factories.SYSTEM, "2026-W40", seed=seed)
    session.commit()
    auth.login("auditor")
    first = client.get("/sampling").get_data(as_text=True)
    assert first.count('href="/sampling/runs/') == 20
    assert first.index("<td>2026-W40</td><td class=\"text-end\">20</td>") < \
        first.index("<td>2026-W40</td><td class=\"text-end\">19</td>")
    assert 'id="older-runs"' in first
    second = client.get("/sampling?page=2").get_data(as_text=True)
    assert second.count('href="/sampling/runs/') == 1
    assert '<td class="text-end">0</td><td class="text-end">0</td>' in second  # seed 0
    assert "Create assignments" not in second


def test_the_cli_and_the_api_record_their_runs(client, session, people, rules, runner):
    result = runner.invoke("sample", "--week", WEEK, "--seed", "9")
    assert result.exit_code == 0, result.output
    _token, plaintext = tokens.create_token(session, factories.SYSTEM, people["lead_a"].id,
                                            name="t")
    session.commit()
    headers = {"Authorization": f"Bearer {plaintext}"}
    posted = client.post("/api/v1/sampling/runs", headers=headers, json={"week": "2026-W46"})
    assert posted.status_code == 201
    listing = client.get("/api/v1/sampling/runs", headers=headers)
    assert listing.status_code == 200
    runs = listing.get_json()
    assert [r["week"] for r in runs] == ["2026-W46", WEEK]
    assert runs[0]["id"] == posted.get_json()["run_id"] and runs[0]["run_by_name"] == "lead.a"
    # The CLI's run drew for both teams; the lead reads only team A's line of it.
    assert [line["rule_name"] for line in runs[1]["rules"]] == ["Team A weekly"]
    assert runs[1]["seed"] == 9 and runs[1]["rules"][0]["unassigned"] == 1
