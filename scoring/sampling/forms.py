"""WTForms of the sampling pages."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from qm.interactions.models import CHANNELS
from scoring.evaluations.forms import version_field


class SamplingRuleForm(FlaskForm):
    version = version_field()
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    team_id = SelectField("Team", choices=[], coerce=str)
    queue = StringField("Queue (empty: any)", validators=[Optional(), Length(max=100)])
    channel = SelectField("Channel", choices=[("", "Any"), *CHANNELS])
    per_agent = IntegerField("Interactions per agent per week", default=2,
                             validators=[NumberRange(1, 20)])
    flagged_per_agent = IntegerField(
        "Flagged for review, per agent per week, on top", default=0,
        validators=[Optional(), NumberRange(0, 20)],
        description="0: none. The agent's interactions that the flagging model rates most "
                    "likely to have a problem, after the random draw. Their evaluations are "
                    "marked targeted and left out of the averages, which stay random.")
    evaluator_daily_cap = IntegerField("At most per evaluator per day", default=20,
                                       validators=[NumberRange(1, 500)])
    form_id = SelectField("Scoring form", choices=[], coerce=int)
    active = BooleanField("Active", default=True)

    def values(self) -> dict[str, Any]:
        return {"name": self.name.data, "team_id": int(self.team_id.data) if self.team_id.data
                else None, "queue": self.queue.data or "", "channel": self.channel.data or "",
                "per_agent": self.per_agent.data,
                "flagged_per_agent": self.flagged_per_agent.data or 0, "evaluator_daily_cap":
                self.evaluator_daily_cap.data, "form_id": self.form_id.data,
                "active": self.active.data}


class SampleRunForm(FlaskForm):
    week = StringField("ISO week (e.g. 2026-W47)", validators=[DataRequired(), Length(max=8)])
    seed = IntegerField("Seed (the same seed draws the same sample)", default=0,
                        validators=[Optional(), NumberRange(0, 2**32 - 1)])
