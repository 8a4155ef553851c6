"""Weekly sampling: fair, stratified, reproducible, capped, never one's own contact; and the
scorecard and report numbers built on what was scored."""

from __future__ import annotations

import datetime as dt
import math
import random
import statistics

import factories
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from qm.errors import InvalidInput
from scoring.evaluations import services as ev
from scoring.evaluations.models import Evaluation
from scoring.reports import queries as reports
from scoring.sampling import draw
from scoring.sampling import services as sampling

MONDAY = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)  # 2026-W45
WEEK = "2026-W45"


def _contacts(session, agent, n: int, *, hours=(3, 9, 14, 20), channels=("voice", "chat")):
    out = []
    for i in range(n):
        start = MONDAY + dt.timedelta(days=i % 7, hours=hours[i % len(hours)], minutes=i)
        out.append(factories.create_interaction(
            session, agent, started_at=start.isoformat(),
            channel=channels[(i // len(hours)) % len(channels)]))
    return out


@pytest.fixture
def rule(session):
    version = factories.create_form(session)
    return sampling.save_rule(session, factories.SYSTEM, {
        "name": "Weekly", "per_agent": 3, "evaluator_daily_cap": 20,
        "form_id": version.form_id})


def _sampled(session) -> list[tuple[int, int, int]]:
    return sorted(session.execute(select(Evaluation.interaction_id, Evaluation.agent_id,
                                         Evaluation.evaluator_id)).all())


def test_a_week_is_sampled_per_agent_across_strata(session, people, rule):
    for agent in (people["agent_a"], people["agent_a2"], people["agent_b"]):
        _contacts(session, agent, 16)
    report = sampling.run_sampling(session, factories.SYSTEM, WEEK, seed=5)
    assert report.created == 9 and report.unassigned == 0
    tz = dt.UTC
    for agent in (people["agent_a"], people["agent_a2"], people["agent_b"]):
        chosen = session.scalars(select(Evaluation).where(Evaluation.agent_id == agent.id)).all()
        assert len(chosen) == 3
        strata = {(e.interaction.channel, draw.daypart(e.interaction.started_at, tz))
                  for e in chosen}
        assert len(strata) == 3  # 8 strata available: three picks, three different ones
        assert {e.due_on for e in chosen} <= {dt.date(2026, 11, 9) + dt.timedelta(days=i)
                                             for i in range(5)}
        assert all(e.sample_week == WEEK and e.status == "assigned" for e in chosen)


def test_the_same_seed_draws_the_same_sample_and_a_rerun_adds_nothing(app, session, people,
                                                                      rule):
    _contacts(session, people["agent_a"], 20)
    session.commit()
    first = sampling.run_sampling(session, factories.SYSTEM, WEEK, seed=11)
    drawn = _sampled(session)
    again = sampling.run_sampling(session, factories.SYSTEM, WEEK, seed=11)
    assert (first.created, again.created) == (3, 0)
    assert again.rules[0].already == 3
    session.rollback()  # forget both runs: the same seed draws the same interactions
    sampling.run_sampling(session, factories.SYSTEM, WEEK, seed=11)
    assert _sampled(session) == drawn
    session.rollback()
    seeds = set()
    for seed in range(6):
        sampling.run_sampling(session, factories.SYSTEM, WEEK, seed=seed)
        seeds.add(tuple(i for i, _a, _e in _sampled(session)))
        session.rollback()
    assert len(seeds) > 1  # and other seeds draw other samples


def test_evaluated_contacts_are_left_out_and_nobody_gets_their_own(session, people, rule):
    both = factories.create_user(session, "qa.agent", roles=["qa_evaluator", "agent"],
                                 team=people["team_a"])
    mine = _contacts(session, both, 4)
    contacts = _contacts(session, people["agent_a"], 4)
    done = ev.start_evaluation(session, people["qa"], contacts[0])
    sampling.run_sampling(session, factories.SYSTEM, WEEK)
    rows = session.scalars(select(Evaluation).where(Evaluation.id != done.id)).all()
    assert contacts[0].id not in {e.interaction_id for e in rows}
    assert all(e.evaluator_id != e.agent_id for e in rows)
    assert {e.interaction_id for e in rows if e.agent_id == both.id} <= {c.id for c in mine}
    assert all(e.evaluator_id == people["qa"].id for e in rows if e.agent_id == both.id)


def test_caps_per_evaluator_per_day_hold_and_the_rest_is_reported(session, people, rule):
    rule.per_agent, rule.evaluator_daily_cap = 5, 1
    for agent in (people["agent_a"], people["agent_a2"]):
        _contacts(session, agent, 10)
    report = sampling.run_sampling(session, factories.SYSTEM, WEEK)
    # One evaluator, 5 working days, one a day: 5 of the 10 fit.
    assert (report.created, report.unassigned) == (5, 5)
    assert "could not be assigned" in report.lines()[0]
    days = session.scalars(select(Evaluation.due_on)).all()
    assert len(days) == len(set(days)) == 5
    second = factories.create_user(session, "qa2", roles=["qa_evaluator"])
    report = sampling.run_sampling(session, factories.SYSTEM, WEEK)  # a second evaluator
    assert (report.created, report.unassigned) == (5, 0)
    assert session.scalar(select(Evaluation.id).where(
        Evaluation.evaluator_id == second.id)) is not None


def test_rules_filter_by_team_queue_and_channel(session, people, rule):
    rule.team_id, rule.channel, rule.queue = people["team_a"].id, "chat", "billing"
    _contacts(session, people["agent_a"], 8)  # voice and chat, queue billing
    _contacts(session, people["agent_b"], 8)  # team B: out
    sampling.run_sampling(session, factories.SYSTEM, WEEK)
    rows = session.scalars(select(Evaluation)).all()
    assert rows and all(e.interaction.channel == "chat" and e.agent_id == people["agent_a"].id
                        for e in rows)


def test_bad_weeks_and_rules_are_refused(session, people, rule):
    for bad in ("2026-47", "2026-W54", "W47"):
        with pytest.raises(sampling.InvalidInput):
            sampling.run_sampling(session, factories.SYSTEM, bad)
    with pytest.raises(sampling.InvalidInput, match="not valid") as info:
        sampling.save_rule(session, factories.SYSTEM, {"name": "x", "per_agent": 0,
                                                       "form_id": rule.form_id})
    assert "per_agent" in info.value.errors
    with pytest.raises(ev.PermissionDenied):
        sampling.run_sampling(session, people["qa"], WEEK)


@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(st.integers(0, 6), min_size=1, max_size=8), n=st.integers(0, 12),
       seed=st.integers(0, 1000))
def test_stratified_pick_covers_strata_before_repeating(sizes, n, seed):
    candidates = []
    for stratum, size in enumerate(sizes):
        for j in range(size):
            candidates.append(draw.Candidate(len(candidates) + 1, 1, None, str(stratum),
                                                 MONDAY + dt.timedelta(minutes=j)))
    salt = f"{seed}|{WEEK}"
    picked = draw.stratified_pick(candidates, n, salt, lambda c: c.channel)
    assert len(picked) == min(n, len(candidates))
    assert len({c.interaction_id for c in picked}) == len(picked)
    nonempty = sum(1 for s in sizes if s)
    assert len({c.channel for c in picked}) == min(len(picked), nonempty)
    shuffled = list(candidates)
    random.Random(seed).shuffle(shuffled)
    assert draw.stratified_pick(shuffled, n, salt, lambda c: c.channel) == picked
    # Keeping only each stratum's n best-ranked candidates (the streaming reservoir) first
    # draws exactly the same sample.
    reservoir = draw.Reservoir(max(n, 1), lambda _agent: salt, lambda c: c.channel)
    for c in shuffled:
        reservoir.add(c)
    kept = reservoir.by_agent().get(1, [])
    assert len(kept) <= max(n, 1) * nonempty
    assert draw.stratified_pick(kept, n, salt, lambda c: c.channel) == picked


def test_the_scorecard_numbers(session, people):
    factories.create_form(session)
    agent = people["agent_a"]
    answers = [("yes", "yes"), ("no", "yes"), ("yes", "yes"), ("yes", "yes"), ("no", "yes"),
               ("yes", "no")]
    now = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
    for i, (greet, verify) in enumerate(answers):
        contact = factories.create_interaction(session, agent)
        item = ev.start_evaluation(session, people["qa"], contact)
        ev.submit(session, people["qa"], item.id, {"greet": greet, "verify": verify},
                  now=now - dt.timedelta(days=40 * i))
    session.commit()
    card = reports.scorecard(session, agent, now=now)
    scores = [100.0, 66.67, 100.0, 100.0, 66.67, 0.0]
    assert card.summary.n == 6 and card.summary.conclusive
    assert card.summary.mean == pytest.approx(statistics.fmean(scores))
    half = 2.571 * statistics.stdev(scores) / math.sqrt(6)
    assert card.summary.low == pytest.approx(max(0, statistics.fmean(scores) - half))
    assert card.summary.high == pytest.approx(min(100, statistics.fmean(scores) + half))
    assert [m["n"] for m in card.trend] == [0, 0, 0, 0, 0, 1, 1, 1, 0, 1, 1, 1]
    assert card.trend[-1]["month"] == "2026-11"
    weakest = card.weakest[0]
    assert (weakest["key"], weakest["n"]) == ("greet", 6)
    assert weakest["percent"] == pytest.approx(4 / 6 * 100)
    assert card.critical_fails == 1
    assert "With 95% confidence" in card.summary.verdict


def test_a_scorecards_peer_mean_and_months(session, people):
    """The peers' mean is the team's other agents' counted evaluations, whether the agent has
    evaluations of their own (read with them) or none (read alone); a month is the site's."""
    factories.create_form(session)
    now = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)

    def scored(agent, greet, at):
        item = ev.start_evaluation(session, people["qa"], factories.create_interaction(
            session, agent))
        ev.submit(session, people["qa"], item.id, {"greet": greet, "verify": "yes"}, now=at)
        return item

    # agent_a: 100 late on 31 October in UTC, which is 1 November in Berlin
    scored(people["agent_a"], "yes", dt.datetime(2026, 10, 31, 23, 30, tzinfo=dt.UTC))
    for greet in ("no", "yes"):  # the peer: 66.67 and 100
        scored(people["agent_a2"], greet, now - dt.timedelta(days=3))
    scored(people["agent_b"], "no", now - dt.timedelta(days=3))  # another team: not a peer
    session.commit()
    peer = statistics.fmean([66.67, 100.0])
    utc = reports.scorecard(session, people["agent_a"], now=now)
    berlin = reports.scorecard(session, people["agent_a"], now=now, timezone="Europe/Berlin")
    assert utc.peer_mean == pytest.approx(peer) == berlin.peer_mean
    assert [m["n"] for m in utc.trend][-2:] == [1, 0]  # October in UTC
    assert [m["n"] for m in berlin.trend][-2:] == [0, 1]  # November in Berlin
    assert berlin.trend[-1]["mean"] == 100.0 and berlin.released == 1
    # an agent of the team with nothing released: every other agent of the team
    newcomer = factories.create_user(session, "agent.new", team=people["team_a"])
    session.commit()
    alone = reports.scorecard(session, newcomer, now=now)
    assert alone.released == 0 and alone.summary.n == 0
    assert alone.peer_mean == pytest.approx(statistics.fmean([100.0, 66.67, 100.0]))
    # no team, no peers
    people["agent_a"].team_id = None
    session.commit()
    assert reports.scorecard(session, people["agent_a"], now=now).peer_mean is None


def test_a_teams_scores_serve_every_agents_peer_mean_until_an_evaluation_changes(
        session, people, monkeypatch):
    """The scorecards of a team's agents share one read of the team's period (each agent's
    count and sum): the second agent's peers' mean asks nothing more; an evaluation committed
    in this process shows at once, and after ``TEAM_SCORES_TTL_S`` the team is read again."""
    from sqlalchemy import event

    factories.create_form(session)
    now = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)

    def scored(agent, greet):
        item = ev.start_evaluation(session, people["qa"], factories.create_interaction(
            session, agent))
        ev.submit(session, people["qa"], item.id, {"greet": greet, "verify": "yes"},
                  now=now - dt.timedelta(days=2))
        session.commit()

    scored(people["agent_a"], "yes")  # 100
    scored(people["agent_a2"], "no")  # 66.67
    reads = []
    engine = session.get_bind()
    listen = lambda *a: reads.append(a[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listen)
    try:
        def peers(agent):
            reads.clear()
            mean = reports.scorecard(session, agent, now=now).peer_mean
            return mean, sum("GROUP BY evaluations.agent_id" in s for s in reads)

        assert peers(people["agent_a"]) == (pytest.approx(66.67), 1)
        assert peers(people["agent_a2"]) == (pytest.approx(100.0), 0)  # the team, kept
        scored(people["agent_a2"], "yes")  # committed here: read again at once
        assert peers(people["agent_a"]) == (pytest.approx(statistics.fmean([66.67, 100])), 1)
        assert peers(people["agent_a"])[1] == 0
        monkeypatch.setattr(reports, "TEAM_SCORES_TTL_S", 0.0)
        assert peers(people["agent_a"])[1] == 1  # kept no longer than the time allowed
    finally:
        event.remove(engine, "before_cursor_execute", listen)


def test_evaluator_distributions_flag_a_lenient_evaluator(session, people):
    factories.create_form(session)
    lenient = factories.create_user(session, "qa.soft", roles=["qa_evaluator"])
    agents = [people["agent_a"], people["agent_a2"]]
    for i in range(12):
        for evaluator, answers in ((lenient, {"greet": "yes", "verify": "yes"}),
                                   (people["qa"], {"greet": "no" if i % 2 else "yes",
                                                   "verify": "yes"})):
            contact = factories.create_interaction(session, agents[i % 2])
            item = ev.start_evaluation(session, evaluator, contact)
            ev.submit(session, evaluator, item.id, answers)
    session.commit()
    rows = {r.evaluator: r for r in reports.evaluator_distributions(session, [])}
    soft, strict = rows[lenient.display_name], rows[people["qa"].display_name]
    assert soft.summary.mean == 100.0 and soft.peer_mean == pytest.approx(83.335)
    assert soft.flag == "lenient"  # 16.7 points above peers, clear of its interval
    assert strict.difference == pytest.approx(83.335 - 100.0)
    assert strict.flag == "severe"
    assert strict.quartiles[0] == pytest.approx(66.67) and strict.quartiles[-1] == 100.0


def test_qm_sample_command(runner, session, people, rule):
    _contacts(session, people["agent_a"], 6)
    session.commit()
    result = runner.invoke("sample", "--week", WEEK, "--seed", "2")
    assert result.exit_code == 0, result.output
    assert "2026-W45: 3 assignment(s) created" in result.output
    result = runner.invoke("sample", "--week", "next week")
    assert result.exit_code == 1 and "not an ISO week" in result.output
    result = runner.invoke("sample", "--week", WEEK, "--rule", "Nope")
    assert result.exit_code == 1 and "No sampling rule named 'Nope'" in result.output


def _model(session, version: str) -> None:
    """A flagging model's row: sampling reads only its version and its verdicts (the pipeline
    itself is trained and used in test_flagging.py)."""
    from transcription.models import FlaggingModel

    session.add(FlaggingModel(version=version, examples=50, report={}, payload=b"unused"))
    session.flush()


def _flag(session, interaction, version: str, probability: float,
          flagged: bool | None = None) -> None:
    from transcription.models import ReviewFlag

    session.add(ReviewFlag(interaction_id=interaction.id, model_version=version,
                           probability=probability,
                           flagged=probability >= 0.5 if flagged is None else flagged,
                           reasons=[]))
    session.flush()


def test_flagged_interactions_are_drawn_on_top_of_the_random_sample(session, people, rule):
    sampling.save_rule(session, factories.SYSTEM, {"flagged_per_agent": 2}, rule_id=rule.id)
    contacts = _contacts(session, people["agent_a"], 16)
    _contacts(session, people["agent_b"], 16)
    session.commit()
    report = sampling.run_sampling(session, factories.SYSTEM, WEEK, seed=5)
    assert report.created == 6 and report.rules[0].targeted == 0
    assert "nothing can flag yet" in report.lines()[0]
    random_a = {e.interaction_id for e in session.scalars(select(Evaluation).where(
        Evaluation.agent_id == people["agent_a"].id))}
    session.rollback()  # the same seed draws the same random sample again below

    left = [c for c in contacts if c.id not in random_a]
    _model(session, "model-1")
    _flag(session, left[0], "model-1", 0.99)  # an older model's verdict: not used
    _model(session, "model-2")
    _flag(session, left[1], "model-2", 0.97, flagged=False)  # likely, but not flagged
    _flag(session, left[2], "model-2", 0.95)
    _flag(session, left[3], "model-2", 0.60)
    _flag(session, left[4], "model-2", 0.90)
    _flag(session, left[5], "model-2", 0.40)
    random_pick = next(c for c in contacts if c.id in random_a)
    _flag(session, random_pick, "model-2", 0.99)  # drawn at random: stays a random pick
    report = sampling.run_sampling(session, factories.SYSTEM, WEEK, seed=5)
    picks = {e.interaction_id: e for e in session.scalars(select(Evaluation))}
    assert report.created == 8 and report.rules[0].targeted == 2
    assert "2 of them flagged for review, on top of the random draw" in report.lines()[0]
    assert {i for i, e in picks.items() if e.agent_id == people["agent_a"].id
            and not e.targeted} == random_a
    # the two most likely problems among the flagged that the random draw left
    assert sorted(i for i, e in picks.items() if e.targeted) == sorted([left[2].id, left[4].id])
    assert all(e.status == "assigned" and e.sample_week == WEEK for e in picks.values())
    # a re-run tops up nothing: both kinds are counted per agent (left[3] is still there)
    again = sampling.run_sampling(session, factories.SYSTEM, WEEK, seed=5)
    assert again.created == 0 and again.rules[0].already == 8
    # raised by one: one more, the next most likely
    sampling.save_rule(session, factories.SYSTEM, {"flagged_per_agent": 3}, rule_id=rule.id)
    more = sampling.run_sampling(session, factories.SYSTEM, WEEK, seed=5)
    assert more.created == 1 and session.scalar(select(Evaluation).where(
        Evaluation.interaction_id == left[3].id)).targeted


def test_named_flags_feed_the_targeted_draw_less_what_evaluators_rejected(session, people,
                                                                           rule):
    """Targeted sampling draws from the review queue's flags: a named flag in use, riskiest
    first, not where an evaluator rejected it; an older version's result does not count."""
    from transcription.flagging import services as flags
    from transcription.models import FlagResult

    sampling.save_rule(session, factories.SYSTEM, {"flagged_per_agent": 1}, rule_id=rule.id)
    contacts = _contacts(session, people["agent_a"], 16)
    session.commit()
    sampling.run_sampling(session, factories.SYSTEM, WEEK, seed=5)
    random_a = {e.interaction_id for e in session.scalars(select(Evaluation).where(
        Evaluation.agent_id == people["agent_a"].id))}
    session.rollback()
    left = [c for c in contacts if c.id not in random_a]
    flags.install_starter(session)
    silence = flags.get_flag(session, "long silence")
    old = flags.active_version(session, silence)
    session.add(FlagResult(interaction_id=left[0].id, version_id=old.id, score=0.99))
    new = flags.revise_rule(session, factories.SYSTEM, "long silence",
                            {"kind": "silence", "min_s": 20})
    for contact, score in ((left[1], 0.95), (left[2], 0.7), (left[3], 0.8)):
        session.add(FlagResult(interaction_id=contact.id, version_id=new.id, score=score))
    session.flush()
    flags.record_verdict(session, people["qa"], left[1].id, "long silence", "rejected",
                         "the customer was reading their meter")
    report = sampling.run_sampling(session, factories.SYSTEM, WEEK, seed=5)
    targeted = [e.interaction_id for e in session.scalars(select(Evaluation).where(
        Evaluation.targeted))]
    assert report.rules[0].targeted == 1 and targeted == [left[3].id]


def test_targeted_picks_come_after_every_rule_has_drawn_at_random(session, people, rule):
    """A first rule's targeted picks take no candidate and no evaluator capacity from a second
    rule's random draw."""
    sampling.save_rule(session, factories.SYSTEM, {"flagged_per_agent": 5,
                                                   "evaluator_daily_cap": 2}, rule_id=rule.id)
    second = sampling.save_rule(session, factories.SYSTEM, {
        "name": "Second", "per_agent": 3, "evaluator_daily_cap": 2, "form_id": rule.form_id})
    contacts = _contacts(session, people["agent_a"], 16)
    _model(session, "model-1")
    for contact in contacts:
        _flag(session, contact, "model-1", 0.9)
    report = sampling.run_sampling(session, factories.SYSTEM, WEEK, seed=5)
    by_rule = {r.rule: r for r in report.rules}
    # one evaluator, 5 working days, 2 a day: 10 places. The 6 random picks of both rules come
    # first; the first rule's 5 targeted ones get the 4 places left. (Drawn rule by rule, the
    # first rule would have taken 8 places and 8 candidates before the second drew at random.)
    random = session.scalars(select(Evaluation).where(Evaluation.targeted.is_(False))).all()
    assert len(random) == 6
    assert {e.sampling_rule_id for e in random} == {rule.id, second.id}
    assert by_rule["Second"].unassigned == 0 and by_rule["Second"].candidates == 16 - 3
    assert (by_rule["Weekly"].targeted, by_rule["Weekly"].unassigned) == (4, 1)


def test_a_model_that_has_not_scored_the_week_is_named(session, people, rule):
    sampling.save_rule(session, factories.SYSTEM, {"flagged_per_agent": 1}, rule_id=rule.id)
    _contacts(session, people["agent_a"], 6)
    _model(session, "model-new")  # trained, not applied yet
    report = sampling.run_sampling(session, factories.SYSTEM, WEEK, seed=5)
    assert report.rules[0].targeted == 0
    assert "has not scored this week's interactions: run qm flagging apply" in report.lines()[0]


def test_a_rule_takes_0_to_20_flagged_interactions(session, people, rule):
    for value in (-1, 21, "2"):
        with pytest.raises(InvalidInput) as caught:
            sampling.save_rule(session, factories.SYSTEM, {"flagged_per_agent": value},
                               rule_id=rule.id)
        assert "flagged_per_agent" in caught.value.errors
    saved = sampling.save_rule(session, factories.SYSTEM, {"flagged_per_agent": 4},
                               rule_id=rule.id)
    assert saved.flagged_per_agent == 4


def test_targeted_evaluations_stay_out_of_the_averages(session, people):
    """Picked as likely problems, they would drag an average down: the means, trends,
    distributions and question shares leave them out; the lists and the count of critical
    fails keep them."""
    from scoring.reports.drift import evaluator_drift

    factories.create_form(session)
    agent = people["agent_a"]
    now = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
    for i, (answers, targeted) in enumerate([({"greet": "yes", "verify": "yes"}, False)] * 5
                                            + [({"greet": "no", "verify": "no"}, True)]):
        item = ev.start_evaluation(session, people["qa"],
                                   factories.create_interaction(session, agent))
        item.targeted = targeted
        ev.submit(session, people["qa"], item.id, answers, now=now - dt.timedelta(days=i))
    session.commit()
    card = reports.scorecard(session, agent, now=now)
    assert card.summary.n == 5 and card.summary.mean == 100.0
    assert sum(m["n"] for m in card.trend) == 5
    assert all(q["percent"] == 100.0 for q in card.weakest)
    assert card.critical_fails == 1  # the targeted one failed "verify", a critical question
    assert len(card.recent) == 6 and sum(e.targeted for e in card.recent) == 1
    assert card.targeted == 1
    where = [Evaluation.agent_id == agent.id]
    assert reports.summary_of(session, where).n == 5
    assert [s.n for _u, s in reports.agent_summaries(session, where)] == [5]
    assert [d.summary.n for d in reports.evaluator_distributions(session, where)] == [5]
    drift = evaluator_drift(session, factories.SYSTEM, now=now)
    assert sum(m["n"] for row in drift for m in row.months if m.get("n")) == 5
