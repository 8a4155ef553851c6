"""Demo calls: three short recorded calls (synthetic voices, made for the project and shipped in
the package) transcribed, measured and redacted while the demo is built, so that the evaluation
screen shows audio beside a transcript out of the box. ``scoring.demo`` then puts them in the
evaluators' queues and trains the flagging model on the demo's evaluations."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import select
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
    """Transcribe the demo calls into interactions of the demo agents (the people are made
    first, by ``qm.demo``); what the evaluators and the flagging model make of them is the
    scoring layer's part (``scoring.demo``)."""
    from qm.auth.models import User
    from qm.interactions.models import Interaction
    from qm.storage import RecordingStore
    from transcription import pipeline
    from transcription.decoding import Transcriber
    from transcription.settings import TranscriberSettings

    if session.scalar(select(Interaction.id).where(Interaction.external_id == "DEMO-CALL-1")):
        return "Demo calls: there already."
    users = set(session.scalars(select(User.username)))
    if not set(m["agent"] for m in METADATA.values()) <= users:
        return "Demo calls: skipped (the demo agents are missing)."
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    metadata = {name: {"external_id": m["external_id"], "agent": m["agent"], "source": "demo",
                       "channel": "voice", "queue": m["queue"],
                       "started_at": (now - dt.timedelta(hours=2 + i)).isoformat()}
                for i, (name, m) in enumerate(METADATA.items())}
    session.commit()
    factory = sessionmaker(bind=session.get_bind(), expire_on_commit=False)
    transcriber = Transcriber(TranscriberSettings.from_settings(settings))
    options = pipeline.Options(metadata=metadata, timezone=settings.timezone)
    store = RecordingStore(settings.recordings_dir)
    results = [pipeline.process_file(factory, CALLS / name, transcriber, options, store)
               for name in METADATA]
    session.expire_all()
    failed = [f"{Path(r.path).name}: {r.error}" for r in results if r.status == "failed"]
    audio = sum(r.duration_s for r in results)
    return (f"Demo calls: {sum(r.status == 'done' for r in results)} transcribed "
            f"({audio:.0f} s of audio)" + (f"; failed: {'; '.join(failed)}" if failed else "."))
