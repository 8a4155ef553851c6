"""The scoring domain's ``qm`` commands, gathered from its capabilities (``qm.cli`` adds every
domain's ``COMMANDS``)."""

from __future__ import annotations

from scoring.calibration.cli import reliability
from scoring.complaints.cli import complaints
from scoring.forms.cli import forms
from scoring.kpis.cli import kpis
from scoring.sampling.cli import sample

COMMANDS = [forms, sample, reliability, complaints, kpis]
