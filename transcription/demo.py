"""Demo calls: three short recorded calls (synthetic voices, made for the project and shipped in
the package) transcribed, measured and redacted while the demo is built, so that the evaluation
screen shows audio beside a transcript out of the box. Then flagging: a model trained on the
demo's evaluations flags the interactions that look like problems, and the demo's sampling
rule adds the flagged ones to this week's queues (targeted)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

CALLS = Path(__file__).parent / "data" / "demo_calls"
# file -> the interaction it becomes, and who scores it
METADATA = {
    "demo-call-1.ogg": {"external_id": "DEMO-CALL-1", "agent": "agent1", "queue": "billing",
                        "evaluator": "qa1"},
    "demo-call-2.ogg": {"external_id": "DEMO-CALL-2", "agent": "agent5", "queue": "outages",
                        "evaluator": "qa2"},
    "demo-call-3.ogg": {"external_id": "DEMO-CALL-3", "agent": "agent2", "queue": "billing",
                        "evaluator": "qa1"},
}


def seed(session: Session, actor: Any, settings: Any) -> str:
    from qm.auth.models import User
    from qm.storage import RecordingStore
    from scoring import evaluations
    from scoring.models import Interaction
    from transcription import pipeline
    from transcription.transcriber import Transcriber, TranscriberSettings

    if session.scalar(select(Interaction.id).where(Interaction.external_id == "DEMO-CALL-1")):
        return "Demo calls: there already."
    users = {u.username: u for u in session.scalars(select(User))}
    if not set(m["agent"] for m in METADATA.values()) <= set(users):
        return "Demo calls: skipped (the demo agents are missing)."
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    metadata = {name: {"external_id": m["external_id"], "agent": m["agent"], "source": "demo",
                       "channel": "voice", "queue": m["queue"],
                       "started_at": (now - dt.timedelta(hours=2 + i)).isoformat()}
                for i, (name, m) in enumerate(METADATA.items())}
    session.commit()
    factory = sessionmaker(bind=session.get_bind(), expire_on_commit=False)
    transcriber = Transcriber(TranscriberSettings.from_env())
    options = pipeline.Options(metadata=metadata, timezone=settings.timezone)
    store = RecordingStore(settings.recordings_dir)
    results = [pipeline.process_file(factory, CALLS / name, transcriber, options, store)
               for name in METADATA]
    session.expire_all()
    queued = 0
    for name, result in zip(METADATA, results, strict=True):
        if result.status != "done" or result.interaction_id is None:
            continue
        interaction = session.get(Interaction, result.interaction_id)
        evaluator = users.get(METADATA[name]["evaluator"])
        if interaction is not None and evaluator is not None:
            evaluations.start_evaluation(session, evaluator, interaction)
            queued += 1
    from transcription.models import Transcript

    # The demo's chats and e-mails were redacted as they were imported (scoring.demo).
    redacted = session.scalar(select(func.count(Transcript.id)).where(
        Transcript.source == "text"))
    failed = [f"{Path(r.path).name}: {r.error}" for r in results if r.status == "failed"]
    audio = sum(r.duration_s for r in results)
    calls = (f"Demo calls: {sum(r.status == 'done' for r in results)} transcribed "
             f"({audio:.0f} s of audio), {queued} in the evaluators' queues; {redacted} chats "
             "and e-mails redacted" + (f"; failed: {'; '.join(failed)}" if failed else "."))
    return "\n".join([calls, _flagging(session, actor, settings)])


def _flagging(session: Session, actor: Any, settings: Any) -> str:
    """Train on the demo's finished evaluations, flag every transcript, and let the demo's
    sampling rule add the flagged interactions of last week to this week's queues."""
    from scoring import sampling
    from scoring.models import SamplingRule
    from transcription import flagging

    try:
        trained = flagging.train(session, actor)
    except flagging.FlaggingError as exc:
        return f"Flagging: no model ({exc})"
    session.commit()
    scored, flagged = flagging.apply(session)
    rules = list(session.scalars(select(SamplingRule.id).where(
        SamplingRule.active, SamplingRule.flagged_per_agent > 0)))
    added = 0
    if rules:
        week = sampling.week_label(dt.datetime.now(dt.UTC).date() - dt.timedelta(days=7))
        report = sampling.run_sampling(session, actor, week, seed=1, rule_ids=rules,
                                       timezone=settings.timezone)
        added = sum(rule.targeted for rule in report.rules)
        session.commit()
    return (f"Flagging: a model learnt from {trained.examples} evaluations (cross-validated "
            f"ROC AUC {trained.cv_roc_auc:.2f}); {flagged} of {scored} interactions flagged "
            f"for review; {added} of them added to this week's queues (targeted).")
