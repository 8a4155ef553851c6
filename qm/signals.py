"""Signals by which a lower layer hears what the layers above it need to react to, without
importing them (blinker, as Flask ships it). A receiver runs in the sender's transaction."""

from __future__ import annotations

from typing import Any, NamedTuple

from blinker import Namespace

_signals = Namespace()

interaction_text_changed = _signals.signal("interaction-text-changed")
"""An interaction's body or channel was saved (created, corrected or imported). Sent with the
interaction as sender and ``session`` and ``new`` (just created, so nothing to look up)."""

evaluator_verdicts = _signals.signal("evaluator-verdicts")
"""Asked by flagging, which learns from evaluators but sits below the layer that keeps their
evaluations: each receiver returns a list of ``Verdict`` (``session`` is passed)."""

flag_confirmed = _signals.signal("flag-confirmed")
"""An evaluator confirmed a flag that opens a complaint (``opens_complaint``) on an interaction.
Sent with ``session``, ``actor``, ``interaction_id`` and ``flag_name``; a receiver returns what
it opened (the complaint register answers with the complaint), in the sender's transaction."""


class Verdict(NamedTuple):
    """What an evaluator found about one interaction: its score (0-100) and whether it failed
    a critical question."""

    interaction_id: int
    score: float
    critical_fail: bool


def gather(signal: Any, **kwargs: Any) -> list[Any]:
    """Every receiver's answer to ``signal``, one list (Indico's ``values_from_signal``)."""
    return [item for _receiver, items in signal.send(**kwargs) for item in (items or [])]
