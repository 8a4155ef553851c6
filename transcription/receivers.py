"""What transcription does when the core saves something (``qm.signals``)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from qm.interactions.models import Interaction
from qm.signals import interaction_text_changed
from transcription import texts


@interaction_text_changed.connect
def redact_text(interaction: Interaction, *, session: Session, new: bool) -> None:
    """A chat's or e-mail's redacted transcript follows its text, in the same transaction."""
    texts.sync_text(session, interaction, new=new)
