"""Demo interactions: twelve weeks of calls, chats and e-mails for the demo agents."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qm.auth.models import Team, User, UserRole
from qm.interactions import importing
from qm.interactions.models import Interaction
from scoring.calibration import services as cal
from scoring.calibration.models import CalibrationSession
from scoring.complaints import queries as complaint_queries
from scoring.complaints import services as complaint_services
from scoring.complaints.models import Complaint, ComplaintSource
from scoring.evaluations import services as ev
from scoring.evaluations.models import Evaluation, EvaluationStatus
from scoring.forms import services as form_services
from scoring.forms.models import ScoringForm
from scoring.kpis import services as kpi_services
from scoring.sampling import draw
from scoring.sampling import services as sampling
from scoring.sampling.models import SamplingRule
from transcription import flagging
from transcription.flagging import queries as flag_queries
from transcription.flagging import services as flag_services
from transcription.models import FlagResult, FlagVerdict, Transcript

QUEUES = {"Billing": ["billing", "refunds", "payments"],
          "Technical support": ["broadband", "mobile", "outages"]}
CHAT_LINES = [
    "Customer: Hi, my last invoice is higher than usual.\nAgent: Let me check that for you.",
    "Customer: The internet drops every evening.\nAgent: I'm sorry to hear that; let's test "
    "your line together.",
    "Customer: I want to cancel my contract.\nAgent: I can help. May I ask what prompted it?",
    "Customer: My payment failed this morning.\nAgent: Thank you for telling us. I have "
    "resent the payment link and checked your card details with you.",
]
POOR_CHAT_LINES = [
    "Customer: Hi, my last invoice is higher than usual.\nAgent: That's not my department. "
    "Call billing.",
    "Customer: The internet drops every evening.\nAgent: Nothing wrong on our side. Anything "
    "else?",
    "Customer: I want to cancel my contract.\nAgent: Whatever. You have to phone for that.",
    "Customer: My payment failed this morning.\nAgent: Not sure. Try again later I guess.",
]
"""Chats handled badly: the demo's evaluators score them low, so that the flagging model has
something to learn from the words (``seed_flagging``)."""
EMAIL_LINES = [
    "Subject: Refund request\n\nHello, I was charged twice this month. Please refund one "
    "payment.",
    "Subject: Router not working\n\nSince the update my router shows a red light.",
]


def rows(agents: list[User], now: dt.datetime, weeks: int = 12, seed: int = 42) -> list[dict]:
    """Contacts over the ``weeks`` before ``now``, in business hours, none in the future."""
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    out = []
    n = 0
    for agent in agents:
        team = agent.team.name if agent.team else "Billing"
        for week in range(weeks):
            for _ in range(rng.randint(3, 6)):
                n += 1
                day = (now - dt.timedelta(days=7 * week + rng.randint(1, 7))).date()
                hour = rng.choice([8, 9, 10, 11, 13, 14, 15, 16, 17, 19])
                start = dt.datetime(day.year, day.month, day.day, hour, rng.randint(0, 59),
                                    tzinfo=dt.UTC)
                channel = rng.choices(["voice", "chat", "email"], weights=[6, 3, 1])[0]
                body = ""
                if channel == "chat":
                    body = rng.choice(POOR_CHAT_LINES if rng.random() < 0.3 else CHAT_LINES)
                elif channel == "email":
                    body = rng.choice(EMAIL_LINES)
                out.append({
                    "external_id": f"DEMO-{n:05d}",
                    "agent": agent.username,
                    "channel": channel,
                    "queue": rng.choice(QUEUES.get(team, ["general"])),
                    "direction": rng.choices(["inbound", "outbound"], weights=[9, 1])[0],
                    "started_at": start.isoformat(),
                    "duration_s": rng.randint(90, 900) if channel != "email" else 0,
                    "customer_ref": f"CUST-{rng.randint(10000, 99999)}",
                    "body": body,
                })
        # and one chat handled badly a week ago today, so that last week always holds
        # something for the flagging model to find and targeted sampling to add to this
        # week's queues, whatever day the demo is built
        n += 1
        day = (now - dt.timedelta(days=7)).date()
        out.append({
            "external_id": f"DEMO-{n:05d}", "agent": agent.username, "channel": "chat",
            "queue": rng.choice(QUEUES.get(team, ["general"])), "direction": "inbound",
            "started_at": dt.datetime(day.year, day.month, day.day, 10, rng.randint(0, 59),
                                      tzinfo=dt.UTC).isoformat(),
            "duration_s": rng.randint(90, 900), "customer_ref": f"CUST-{rng.randint(10000, 99999)}",
            "body": rng.choice(POOR_CHAT_LINES)})
    return out


FORM_FILE = Path(__file__).parent / "data" / "iso18295_voice.json"


def seed(session: Session, actor: Any, settings: Any) -> str:
    form = form_services.import_form(session, actor, json.loads(FORM_FILE.read_text("utf-8")),
                                publish=True)
    agents = list(session.scalars(
        select(User).join(UserRole).where(UserRole.role == "agent").order_by(User.username)
    ))
    data = rows(agents, dt.datetime.now(dt.UTC))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(data[0]) if data else ["external_id"])
    writer.writeheader()
    writer.writerows(data)
    buffer.seek(0)
    report = importing.import_csv(session, actor, buffer, source="demo")
    message = (f"Interactions: {report.created} created, {report.already_imported} were there "
               f"already. Scoring form: {form.form.name}, version {form.number} "
               f"({form.status}).")
    return "\n".join([message, seed_evaluations(session, actor, settings),
                      seed_calibration(session, settings), seed_call_queue(session),
                      seed_flagging(session, actor, settings), seed_kpis(session, actor),
                      seed_complaints(session, actor, settings)])


# channel, contacts a month, typical seconds waited and handled
KPI_CHANNELS = (("voice", 4200, 26, 330), ("chat", 1500, 45, 520))


def seed_kpis(session: Session, actor: Any, months: int = 12, seed: int = 18) -> str:
    """A year of monthly KPI figures per demo team, voice and chat, through the import the
    telephony and survey exports use: one row per month (on its first day), kept cheap."""
    today = dt.datetime.now(dt.UTC).date()
    rng = random.Random(seed)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["date", "team", "queue", "channel", "offered", "answered", "abandoned",
                     "wait_seconds", "handled", "handle_seconds", "contacts", "resolved_first",
                     "csat_responses", "csat_satisfied", "csat_score_sum", "nps_promoters",
                     "nps_passives", "nps_detractors"])
    year, month = today.year, today.month
    for _ in range(months):
        for team in QUEUES:
            for channel, volume, wait, handle in KPI_CHANNELS:
                offered = int(volume * rng.uniform(0.85, 1.15))
                abandoned = int(offered * rng.uniform(0.02, 0.07))
                answered = offered - abandoned
                responses = int(answered * rng.uniform(0.04, 0.09))
                satisfied = int(responses * rng.uniform(0.72, 0.9))
                promoters = int(responses * rng.uniform(0.35, 0.55))
                detractors = int((responses - promoters) * rng.uniform(0.2, 0.5))
                writer.writerow([
                    dt.date(year, month, 1).isoformat(), team, "", channel, offered, answered,
                    abandoned, int(answered * wait * rng.uniform(0.7, 1.4)), answered,
                    int(answered * handle * rng.uniform(0.9, 1.1)), answered,
                    int(answered * rng.uniform(0.66, 0.84)), responses, satisfied,
                    int(responses * rng.uniform(3.9, 4.5)), promoters,
                    responses - promoters - detractors, detractors])
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    report = kpi_services.import_kpis(session, actor, io.BytesIO(buffer.getvalue().encode()),
                                      today=today)
    return (f"KPIs: {report.created} months of figures added, {report.already_there} were "
            f"there already, {len(report.errors)} refused.")



# --- complaints -------------------------------------------------------------------------------

# What each demo team's customers complain about: the category, how often (a weight), what
# they say, and the root causes the lead finds when resolving it (with weights).
COMPLAINT_KINDS: dict[str, list[tuple[str, int, tuple[str, ...], dict[str, int]]]] = {
    "Billing": [
        ("billing", 6, ("Charged twice for the same month.",
                        "The invoice shows a fee nobody mentioned when I signed up.",
                        "The refund promised three weeks ago has not arrived."),
         {"process": 3, "system": 3, "policy": 2, "communication": 2}),
        ("agent_conduct", 2, ("The agent was dismissive and ended the chat.",
                              "I was told it is not their department and given no number."),
         {"people": 5, "communication": 1}),
        ("delay", 2, ("Two weeks waiting for the call back about my payment plan.",),
         {"process": 3, "third_party": 1, "system": 1}),
        ("data_privacy", 1, ("My invoice went to my old address after I had changed it.",),
         {"process": 2, "people": 1, "system": 1}),
        ("service", 1, ("Nobody could tell me why my direct debit failed.",),
         {"people": 2, "communication": 2, "expectation": 1}),
        ("other", 1, ("Unhappy with the new price of the contract.",),
         {"expectation": 3, "policy": 1}),
    ],
    "Technical support": [
        ("product", 5, ("The router drops the connection every evening since the update.",
                        "Mobile data does not work abroad although the plan includes it."),
         {"product": 4, "third_party": 2, "system": 1}),
        ("service", 3, ("The engineer did not come on the agreed day.",
                        "The outage lasted three days and nobody kept me informed."),
         {"third_party": 3, "process": 2, "communication": 2}),
        ("delay", 2, ("The replacement device promised for Monday came ten days later.",),
         {"third_party": 3, "process": 1}),
        ("agent_conduct", 1, ("The agent told me to restart the router and hung up.",),
         {"people": 4, "communication": 1}),
        ("other", 1, ("The speed is not what the advert says.",),
         {"expectation": 3, "product": 1, "communication": 1}),
    ],
}
COMPLAINT_OUTCOMES = {
    "process": "Corrected the account; the step of the procedure that let it happen changed.",
    "policy": "Explained the terms; a goodwill credit given as an exception.",
    "people": "Apologised to the customer; the agent coached on the conversation.",
    "system": "Refunded what was charged in error; the billing system fault reported, fixed.",
    "communication": "Explained it again in writing; the template letter reworded.",
    "product": "Device replaced; the firmware fault is known to the supplier and fixed.",
    "third_party": "Chased the partner; done now, and a credit given for the wait.",
    "expectation": "Explained what the contract includes; no fault found, customer agreed.",
    "other": "Settled with the customer; no fault of ours found.",
}
COMPLAINT_SEVERITIES = {"low": 30, "medium": 48, "high": 18, "critical": 4}
COMPLAINT_SPIKE = ("Billing", 5, 9, "The new billing system charged me the wrong amount.")
"""The month (this many months back) the billing system changed: this many more billing
complaints, each found to be the system's fault; the root-cause trend shows the bump."""


def _office_time(rng: random.Random, calendar: Any, day: dt.date, first: int = 8,
                 last: int = 17) -> dt.datetime:
    """A time in office hours of the site's ``day``, in UTC."""
    local = dt.datetime.combine(day, dt.time(rng.randint(first, last), rng.randint(0, 59)),
                                tzinfo=calendar.tz)
    return local.astimezone(dt.UTC)


def _complaint_plan(rng: random.Random, calendar: Any, received: dt.datetime, *,
                    escalate: bool) -> list[tuple[str, dt.datetime]]:
    """When each step of a complaint received at ``received`` is done, in order: mostly in
    time, sometimes late (a late step pushes the next ones on); nothing cut at now yet."""
    day = calendar.local_day(received)
    steps = []
    ack = received + dt.timedelta(hours=rng.uniform(28, 60) if rng.random() < 0.1
                                  else rng.uniform(0.3, 20))
    steps.append(("acknowledge", ack))
    respond_day = rng.randint(6, 9) if rng.random() < 0.12 else rng.randint(1, 5)
    respond = max(_office_time(rng, calendar, calendar.add_working_days(day, respond_day)),
                  ack + dt.timedelta(minutes=rng.randint(30, 240)))
    steps.append(("respond", respond))
    last = respond
    if escalate:
        escalated = respond + dt.timedelta(hours=rng.uniform(1, 30))
        answered = escalated + dt.timedelta(hours=rng.uniform(52, 90) if rng.random() < 0.3
                                            else rng.uniform(3, 40))
        steps += [("escalate", escalated), ("answer", answered)]
        last = answered
    resolve_day = (rng.randint(16, 24) if rng.random() < 0.15
                   else round(rng.triangular(2, 15, 8)))
    resolved = max(_office_time(rng, calendar, calendar.add_working_days(day, resolve_day)),
                   last + dt.timedelta(hours=rng.uniform(2, 26)))
    steps.append(("resolve", resolved))
    closed = _office_time(rng, calendar, calendar.add_working_days(
        calendar.local_day(resolved), rng.randint(1, 5)))
    steps.append(("close", max(closed, resolved + dt.timedelta(hours=1))))
    return steps


def seed_complaints(session: Session, actor: Any, settings: Any,
                    now: dt.datetime | None = None, seed: int = 29) -> str:
    """A year of complaints about the demo teams' contacts, each taken through the register by
    its team's lead (an escalation answered by the administrator) with the services real use
    calls, so that each step is audited: most steps in time, some late, a few still open (two
    stuck past their deadlines, the newest not yet due), a bump of billing-system complaints
    one month. A complaint is linked to a contact of the team's agent a few days before it
    came in: one of the demo's contacts when there is one, else one imported for it (the
    demo's other contacts go back twelve weeks only)."""
    if session.scalar(select(Complaint.id).where(
            Complaint.source == ComplaintSource.MANUAL.value).limit(1)) is not None:
        return "Complaints: already there."
    now = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    site = complaint_queries.site_clock(session, settings, now)
    calendar = site.calendar
    rng = random.Random(seed)  # noqa: S311 - demo data
    teams = []
    for team in session.scalars(select(Team).where(Team.name.in_(list(COMPLAINT_KINDS)))
                                .order_by(Team.name)):
        agents = list(session.scalars(
            select(User).join(UserRole).where(UserRole.role == "agent", User.active,
                                              User.team_id == team.id)
            .order_by(User.username)))
        if team.leads and agents:
            teams.append((team, team.leads[0], agents))
    if not teams:
        return "Complaints: skipped (the demo teams are missing)."
    answerer = session.scalar(select(User).where(User.username == "admin"))

    # When they came in: each of the last twelve months of the site, up to an hour ago.
    today = calendar.local_day(now)
    received: list[tuple[dt.datetime, bool]] = []
    year, month = today.year, today.month
    for back in range(12):
        first = dt.date(year, month, 1)
        length = (dt.date(year + month // 12, month % 12 + 1, 1) - first).days
        days = length if back else today.day  # this month: its days so far
        extra = COMPLAINT_SPIKE[2] if back == COMPLAINT_SPIKE[1] else 0
        for n in range(round(rng.randint(4, 8) * days / length) + extra):
            day = first + dt.timedelta(days=rng.randrange(days))
            if not calendar.is_working_day(day) and rng.random() < 0.7:
                day = calendar.next_working_day(day)  # mostly on working days
            at = _office_time(rng, calendar, day, 7, 19)
            if at <= now - dt.timedelta(hours=1):
                received.append((at, n < extra))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    # and the newest two: this morning's (not acknowledged yet) and one from two days ago
    received += [(now - dt.timedelta(minutes=rng.randint(90, 240)), False),
                 (now - dt.timedelta(days=2, minutes=rng.randint(0, 360)), False)]
    received.sort()

    # Who handles each, what it is about, how far it got.
    plans = []
    for at, spike in received:
        spiked = [t for t in teams if spike and t[0].name == COMPLAINT_SPIKE[0]]
        team, lead, agents = spiked[0] if spiked else rng.choices(
            teams, weights=[3 if t[0].name == "Billing" else 2 for t in teams])[0]
        spike = bool(spiked)
        kinds = COMPLAINT_KINDS[team.name]
        category, _w, says, causes = (kinds[0] if spike else
                                      rng.choices(kinds, weights=[k[1] for k in kinds])[0])
        severity = rng.choices(list(COMPLAINT_SEVERITIES),
                               weights=list(COMPLAINT_SEVERITIES.values()))[0]
        escalate = (severity == "critical" and rng.random() < 0.6) or (
            severity == "high" and rng.random() < 0.25)
        plans.append({
            "received": at, "team": team, "lead": lead, "agent": rng.choice(agents),
            "category": category, "severity": severity, "escalate": escalate,
            "summary": COMPLAINT_SPIKE[3] if spike else rng.choice(says),
            "root_cause": "system" if spike else rng.choices(list(causes),
                                                             weights=list(causes.values()))[0],
            "stop": None})
    # Two stuck past their resolution deadline: one waiting on its escalation's answer, one
    # answered but never resolved; and the newest two still at their start.
    stuck = [p for p in plans if dt.timedelta(days=30) < now - p["received"]
             < dt.timedelta(days=120)]
    for plan, stop in zip(rng.sample(stuck, min(2, len(stuck))), ("answer", "resolve"),
                          strict=False):
        plan["stop"] = stop
        if stop == "answer" and not plan["escalate"]:
            plan["escalate"], plan["severity"] = True, "high"
    plans[-1]["stop"], plans[-2]["stop"] = "acknowledge", "respond"

    # The contact each is about: the agent's latest one in the week before, else a call
    # imported for it (its customer is the complaint's).
    contacts: dict[int, list[Interaction]] = {}
    for interaction in session.scalars(select(Interaction).where(
            Interaction.agent_id.in_([p["agent"].id for p in plans]))
            .order_by(Interaction.started_at)):
        contacts.setdefault(interaction.agent_id, []).append(interaction)
    used: set[int] = set()
    new_rows = []
    for n, plan in enumerate(plans, 1):
        at = plan["received"]
        found = [i for i in contacts.get(plan["agent"].id, [])
                 if at - dt.timedelta(days=7) <= i.started_at <= at - dt.timedelta(minutes=30)
                 and i.id not in used]
        if found:
            plan["interaction"] = found[-1]
            used.add(found[-1].id)
            continue
        plan["external_id"] = f"DEMO-CMP-{n:04d}"
        started = at - dt.timedelta(hours=rng.uniform(1, 96))
        new_rows.append({
            "external_id": plan["external_id"], "agent": plan["agent"].username,
            "channel": "voice", "queue": rng.choice(QUEUES[plan["team"].name]),
            "direction": "inbound", "started_at": started.isoformat(),
            "duration_s": rng.randint(240, 1200),
            "customer_ref": f"CUST-{rng.randint(10000, 99999)}", "body": ""})
    if new_rows:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(new_rows[0]))
        writer.writeheader()
        writer.writerows(new_rows)
        buffer.seek(0)
        importing.import_csv(session, actor, buffer, source="demo")
        imported = {i.external_id: i for i in session.scalars(select(Interaction).where(
            Interaction.source == "demo",
            Interaction.external_id.in_([r["external_id"] for r in new_rows])))}
        for plan in plans:
            if "external_id" in plan:
                plan["interaction"] = imported[plan["external_id"]]

    # Through the register, step by step, as the leads did it.
    for plan in plans:
        lead, interaction = plan["lead"], plan["interaction"]
        item = complaint_services.open_complaint(session, lead, {
            "customer_ref": interaction.customer_ref or f"CUST-{interaction.id}",
            "summary": plan["summary"], "category": plan["category"],
            "severity": plan["severity"], "received_at": plan["received"],
            "interaction_ids": [interaction.id]}, now=plan["received"])
        for step, at in _complaint_plan(rng, calendar, plan["received"],
                                        escalate=plan["escalate"]):
            at = at.replace(second=0, microsecond=0)  # steps are at least minutes apart
            if step == plan["stop"] or at > now:
                break
            if step == "acknowledge":
                complaint_services.acknowledge(session, lead, item.id, at=at, now=now)
            elif step == "respond":
                complaint_services.respond(session, lead, item.id, at=at, now=now)
            elif step == "escalate":
                complaint_services.escalate(
                    session, lead, item.id, at=at, now=now,
                    reason="The customer asks for compensation beyond what a lead may give.")
            elif step == "answer":
                complaint_services.answer_escalation(
                    session, answerer or lead, item.id, at=at, now=now,
                    answer="Approved: a credit of one month's fee, and a written apology.")
            elif step == "resolve":
                complaint_services.resolve(session, lead, item.id, at=at, now=now,
                                           outcome=COMPLAINT_OUTCOMES[plan["root_cause"]],
                                           root_cause=plan["root_cause"])
            elif step == "close":
                complaint_services.close(session, lead, item.id, at=at, now=now)
    session.flush()
    open_ = list(session.scalars(select(Complaint).where(
        Complaint.source == ComplaintSource.MANUAL.value, Complaint.resolved_at.is_(None))))
    overdue = sum(site.of(item).is_overdue for item in open_)
    escalated = session.scalar(select(func.count(Complaint.id)).where(
        Complaint.source == ComplaintSource.MANUAL.value, Complaint.escalated_at.is_not(None)))
    return (f"Complaints: {len(plans)} over 12 months ({len(open_)} open, {overdue} overdue, "
            f"{escalated} escalated).")

# Who scores each of the demo calls that transcription.demo transcribed (by external id).
CALL_EVALUATORS = {"DEMO-CALL-1": "qa1", "DEMO-CALL-2": "qa2", "DEMO-CALL-3": "qa1"}


def seed_call_queue(session: Session) -> str:
    """The demo calls (transcribed by ``transcription.demo``, a layer below) into the
    evaluators' queues, and a count of the chats and e-mails redacted as they were imported."""
    users = {u.username: u for u in session.scalars(select(User))}
    queued = 0
    for external_id, evaluator_name in CALL_EVALUATORS.items():
        interaction = session.scalar(select(Interaction).where(
            Interaction.source == "demo", Interaction.external_id == external_id))
        evaluator = users.get(evaluator_name)
        if interaction is None or evaluator is None or session.scalar(
                select(Evaluation.id).where(Evaluation.interaction_id == interaction.id)):
            continue
        ev.start_evaluation(session, evaluator, interaction,
                            form_id=sampling.rule_form_for(session, interaction))
        queued += 1
    redacted = session.scalar(select(func.count(Transcript.id)).where(
        Transcript.source == "text"))
    return (f"Demo calls: {queued} in the evaluators' queues; {redacted} chats and e-mails "
            "redacted.")


def seed_flagging(session: Session, actor: Any, settings: Any) -> str:
    """Train on the demo's finished evaluations, flag every transcript, and let the demo's
    sampling rule add the flagged interactions of last week to this week's queues."""
    named = seed_named_flags(session, actor)
    try:
        trained = flagging.train(session, actor)
    except flagging.FlaggingError as exc:
        return f"Flagging: no model ({exc})\n{named}"
    session.commit()
    scored, flagged = flagging.apply(session)
    rules = list(session.scalars(select(SamplingRule.id).where(
        SamplingRule.active, SamplingRule.flagged_per_agent > 0)))
    added = 0
    if rules:
        week = draw.week_label(dt.datetime.now(dt.UTC).date() - dt.timedelta(days=7))
        report = sampling.run_sampling(session, actor, week, seed=1, rule_ids=rules,
                                       timezone=settings.timezone)
        added = sum(rule.targeted for rule in report.rules)
        session.commit()
    return (f"Flagging: a model learnt from {trained.examples} evaluations (cross-validated "
            f"ROC AUC {trained.cv_roc_auc:.2f}); {flagged} of {scored} interactions flagged "
            f"for review; {added} of them added to this week's queues (targeted).\n{named}")


DEMO_READING = {
    "complaint": ("charged twice",),
    "cancellation or churn intent": ("cancel my contract",),
    "escalation request": ("manager", "supervisor"),
}
"""What the demo's evaluator finds when they read a flagged contact: the flag is right when the
customer said one of these, wrong otherwise (the demo's texts are few and known)."""
DEMO_JUDGED = 6  # distinct flagged texts the demo's evaluator reads per flag


def seed_named_flags(session: Session, actor: Any) -> str:
    """The named flags as a site would start them: the starter rules in use; each text
    classifier trained on the shipped (made-up) labelled set and put in use; every demo
    transcript checked; the demo's evaluator reading a few of each classifier's flags (and a
    confirmed complaint opening a complaint); a second version learnt from those verdicts
    too, put in use, and the transcripts checked again. What fired, per flag and version."""
    flag_services.install_starter(session, actor)
    if session.scalar(select(func.count(FlagVerdict.id))):
        return "Named flags: already set up."
    first = {}
    for name in flag_services.CLASSIFIERS:
        texts, labels = flag_services.shipped_labels(name)
        first[name] = flag_services.train_classifier(
            session, actor, name, texts=texts, labels=labels,
            source="the shipped labelled set", activate_it=True)
    session.commit()
    flag_services.check_period(session, on_chunk=lambda *_: session.commit())
    session.commit()
    evaluator = session.scalar(select(User).where(User.username == "qa1"))
    judged: dict[str, list[str]] = {}
    for name, version in first.items():
        seen: set[str] = set()
        said = judged.setdefault(name, [])
        for result in session.scalars(select(FlagResult).where(
                FlagResult.version_id == version.id).order_by(FlagResult.id)):
            transcript = session.scalar(select(Transcript).where(
                Transcript.interaction_id == result.interaction_id))
            words = flag_services.view_of(transcript).said_by("customer").lower()
            if words in seen or len(seen) >= DEMO_JUDGED:
                continue
            seen.add(words)
            right = any(phrase in words for phrase in DEMO_READING[name])
            flag_services.record_verdict(
                session, evaluator or actor, result.interaction_id, name,
                "confirmed" if right else "rejected",
                "" if right else f"Read the contact: the customer raises no {name}.")
            said.append("right" if right else "wrong")
    session.commit()
    for name in flag_services.CLASSIFIERS:
        texts, labels = flag_services.shipped_labels(name)
        flag_services.train_classifier(session, actor, name, texts=texts, labels=labels,
                                       source="the shipped labelled set", activate_it=True)
    session.commit()
    checked, _fired = flag_services.check_period(session, on_chunk=lambda *_: session.commit())
    session.commit()
    fired_first = dict(session.execute(
        select(FlagResult.version_id, func.count(FlagResult.id))
        .where(FlagResult.version_id.in_([v.id for v in first.values()]))
        .group_by(FlagResult.version_id)).all())
    lines = [f"Named flags: {checked} transcripts checked."]
    for row in flag_queries.overview(session):
        if row["kind"] == "classifier":
            said = judged.get(row["name"], [])
            lines.append(
                f"  {row['name']}: version 1 (the shipped set) fired on "
                f"{fired_first.get(first[row['name']].id, 0)}; the demo's evaluator read "
                f"{len(said)} ({said.count('right')} right); version {row['active']}, learnt "
                f"from those verdicts too, fires on {row['fired']}.")
        elif row["fired"]:
            lines.append(f"  {row['name']}: fired on {row['fired']}.")
    return "\n".join(lines)


def demo_answers(definition: dict, rng: random.Random, skill: float) -> dict[str, Any]:
    """Answers an evaluator might give an agent of the given skill (0..1)."""
    answers: dict[str, Any] = {}
    for section in definition["sections"]:
        for q in section["questions"]:
            kind, qtype = q.get("kind", "normal"), q.get("type", "yes_no")
            if q.get("allow_na") and rng.random() < 0.15:
                answers[q["key"]] = "n/a"
            elif qtype == "yes_no":
                good = rng.random() < (0.98 if q.get("critical") else skill)
                if kind == "bonus":
                    good = rng.random() < skill / 4
                elif kind == "penalty":
                    good = rng.random() < (1 - skill) / 4
                answers[q["key"]] = "yes" if good else "no"
            elif qtype == "scale":
                low, high = q.get("scale_min", 1), q.get("scale_max", 5)
                answers[q["key"]] = str(max(low, min(high, round(low + (high - low) *
                                                              rng.gauss(skill, 0.2)))))
            elif qtype == "single":
                options = q["options"]
                best = max(options, key=lambda o: o.get("points", 0))
                answers[q["key"]] = (best if rng.random() < skill
                                     else rng.choice(options))["value"]
            elif qtype == "multi":
                answers[q["key"]] = [q["options"][0]["value"]]
    return answers


def _chat_skill(body: str | None, skill: float) -> float:
    """How well a written contact went: badly in a poor chat; well in the others and in
    e-mails (a written answer leaves time to check); calls as the agent's skill. Written
    contacts are what the demo's flagging model reads, so their scores follow their words,
    not chance: with chance scores its cross-validated ROC AUC was 0.5 on some days' samples
    and no model was trained."""
    if body in POOR_CHAT_LINES:
        return skill * 0.4
    if body:
        return max(0.95, min(0.98, skill + 0.1))
    return skill


def seed_evaluations(session: Session, actor: Any, settings: Any,
                     now: dt.datetime | None = None) -> str:
    """A sampling rule, eleven past weeks sampled and scored, this week's queue left open,
    a few acknowledgements and disputes: enough history for scorecards and reports."""
    if session.scalar(select(SamplingRule.id).limit(1)) is not None:
        return "Evaluations: there already."
    now = now or dt.datetime.now(dt.UTC)
    form = session.scalar(select(ScoringForm).where(
        ScoringForm.name == json.loads(FORM_FILE.read_text("utf-8"))["name"]))
    # One flagged interaction per agent on top, once there is a flagging model to flag them:
    # seed_flagging trains it on these evaluations and tops up this week's queue.
    rule = sampling.save_rule(session, actor, {"name": "Weekly, every team", "per_agent": 2,
                                               "flagged_per_agent": 1,
                                               "evaluator_daily_cap": 10, "form_id": form.id})
    people = {u.username: u for u in session.scalars(select(User))}
    policy = ev.Policy.from_settings(settings)
    rng = random.Random(7)  # noqa: S311 - demo data
    skill = {u: 0.6 + 0.35 * rng.random() for u in people}
    today = now.date()
    created = submitted = 0
    for weeks_back in range(11, 0, -1):
        week = draw.week_label(today - dt.timedelta(days=7 * weeks_back))
        report = sampling.run_sampling(session, actor, week, seed=1, rule_ids=[rule.id],
                                       timezone=settings.timezone)
        created += report.created
        if weeks_back == 1:
            break  # last week's sample is this week's queue
        for evaluation_id in report.created_ids:
            item = session.get(Evaluation, evaluation_id)
            at = dt.datetime.combine(item.due_on, dt.time(10 + rng.randint(0, 6)),
                                     tzinfo=dt.UTC)
            if at >= now:
                continue
            evaluator = people_by_id(session, item.evaluator_id)
            answers = demo_answers(item.form_version.definition, rng,
                                    _chat_skill(item.interaction.body,
                                                skill[item.agent.username]))
            ev.submit(session, evaluator, item.id, answers, policy=policy, now=at,
                               comment="Thank you for this call. See the notes per question.")
            submitted += 1
            agent = item.agent
            roll = rng.random()
            if item.status == EvaluationStatus.RELEASED.value and roll < 0.5:
                ev.acknowledge(session, agent, item.id, policy=policy,
                                        now=at + dt.timedelta(days=1))
            elif item.status == EvaluationStatus.RELEASED.value and roll < 0.56:
                ev.dispute(session, agent, item.id, "I did verify the customer's "
                                    "identity before the account change; listen at 1:10.",
                                    policy=policy, now=at + dt.timedelta(days=1))
    return (f"Evaluations: rule {rule.name!r}; {created} assigned over 11 weeks, {submitted} "
            "submitted; last week's sample is in the evaluators' queues.")


def people_by_id(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    assert user is not None
    return user


def seed_calibration(session: Session, settings: Any) -> str:
    """A closed calibration session with its record, and an open blind one in progress."""

    if session.scalar(select(CalibrationSession.id).limit(1)) is not None:
        return "Calibration: there already."
    people = {u.username: u for u in session.scalars(select(User))}
    billing = session.scalar(select(Team).where(Team.name == "Billing"))
    if billing is None or not {"qa1", "qa2", "lead1"} <= set(people):
        return "Calibration: skipped (the demo people are missing)."
    contacts = list(session.scalars(select(Interaction.id).where(
        Interaction.team_id == billing.id, Interaction.channel == "voice")
        .order_by(Interaction.started_at.desc()).limit(5)))
    lead, scorers = people["lead1"], [people["qa1"], people["qa2"], people["lead1"]]
    rng = random.Random(11)  # noqa: S311 - demo data
    closed = cal.create_session(
        session, lead, title="October calibration: Billing", form_id=None,
        interaction_ids=contacts[:3], participant_ids=[u.id for u in scorers],
        expert_id=lead.id, team_id=billing.id)
    definition = closed.form_version.definition
    for item in closed.items:
        for user, skill in zip(scorers, (0.9, 0.7, 0.85), strict=True):
            cal.save_score(session, user, item.id, demo_answers(definition, rng, skill),
                                   submit=True)
    cal.close_session(session, lead, closed.id)
    first = closed.items[0]
    expert = next(s for s in first.scores if s.evaluator_id == lead.id)
    cal.record_consensus(session, lead, first.id, expert.answers,
                                 {"empathy": "Acknowledging the frustration counts as empathy "
                                             "only when the agent names it."})
    cal.save_minutes(session, lead, closed.id,
                             "Agreed: the disclosure must be read in full; paraphrase fails it.")
    open_ = cal.create_session(
        session, lead, title="November calibration: Billing (blind)", form_id=None,
        interaction_ids=contacts[3:5], participant_ids=[u.id for u in scorers],
        team_id=billing.id, due_on=dt.date.today() + dt.timedelta(days=7))
    for item in open_.items:
        cal.save_score(session, people["qa1"], item.id,
                               demo_answers(definition, rng, 0.9), submit=True)
    return ("Calibration: one closed session with its record, one blind session waiting for "
            "qa2 and lead1.")
