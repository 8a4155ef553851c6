"""What scoring answers when a lower layer asks (``qm.signals``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from qm.signals import Verdict, evaluator_verdicts
from scoring.evaluations import services as ev


@evaluator_verdicts.connect
def verdicts(_sender: Any = None, *, session: Session) -> list[Verdict]:
    """Flagging learns from what evaluators found (``evaluations.verdicts``)."""
    return ev.verdicts(session)
