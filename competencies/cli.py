"""The competencies domain's ``qm`` commands, gathered from its capabilities."""

from __future__ import annotations

from competencies.coaching.cli import coaching
from competencies.frameworks.cli import competencies
from competencies.training.cli import training

COMMANDS = [competencies, training, coaching]
