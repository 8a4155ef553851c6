from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput

from qm.auth.forms import MultiCheckboxField
from qm.storage import AUDIO_TYPES
from scoring.models import Channel, Direction

CHANNELS = [(c.value, c.value.capitalize()) for c in Channel]
DIRECTIONS = [(d.value, d.value.capitalize()) for d in Direction]


class InteractionForm(FlaskForm):
    version = HiddenField()
    external_id = StringField("External id (from the phone or ticket system; empty: generated)",
                              validators=[Optional(), Length(max=100)])
    agent = SelectField("Agent", validators=[DataRequired()], choices=[])
    channel = SelectField("Channel", choices=CHANNELS)
    direction = SelectField("Direction", choices=DIRECTIONS)
    queue = StringField("Queue", validators=[Optional(), Length(max=100)])
    started_at = StringField(
        "Started at (your time zone, e.g. 2026-11-20 14:05)", validators=[DataRequired()]
    )
    duration_s = StringField("Duration (seconds or mm:ss)", validators=[Optional()])
    customer_ref = StringField("Customer reference", validators=[Optional(), Length(max=100)])
    body = TextAreaField("Text (chat transcript or e-mail)", validators=[Optional()])
    recording = FileField(
        "Recording (optional)",
        validators=[FileAllowed([ext.lstrip(".") for ext in AUDIO_TYPES], "Audio files only.")],
    )

    def values(self) -> dict[str, str | None]:
        return {
            "external_id": self.external_id.data,
            "agent": self.agent.data,
            "channel": self.channel.data,
            "direction": self.direction.data,
            "queue": self.queue.data,
            "started_at": (self.started_at.data or "").replace(" ", "T", 1),
            "duration_s": self.duration_s.data,
            "customer_ref": self.customer_ref.data,
            "body": self.body.data,
        }


class ImportForm(FlaskForm):
    file = FileField("CSV file", validators=[FileRequired(), FileAllowed(["csv", "txt"],
                                                                        "A .csv file, please.")])
    source = StringField("Source (the system the file comes from)", default="csv",
                         validators=[DataRequired(), Length(max=40)])
    timezone = StringField("Time zone of times without an offset", default="UTC",
                           validators=[DataRequired()])


def version_field() -> IntegerField:
    """The record version the page was built from: the optimistic lock of an edit."""
    return IntegerField(widget=HiddenInput(), validators=[Optional()])


class EvaluationForm(FlaskForm):
    """The fixed fields of the scoring screen; the answers are ``q-<key>`` fields of the form
    version, read by ``answers_from``."""

    version = version_field()
    comment = TextAreaField("Overall feedback to the agent", validators=[Optional()])
    action = HiddenField(default="draft")


def answers_from(form_data: Any, questions: dict[str, Any]) -> tuple[dict, dict]:
    """(answers, notes) from posted ``q-<key>`` and ``note-<key>`` fields."""
    answers: dict[str, Any] = {}
    notes: dict[str, str] = {}
    for key, question in questions.items():
        if question.type == "multi":
            values = [v for v in form_data.getlist(f"q-{key}") if v]
            if values:
                answers[key] = "n/a" if "n/a" in values else values
        else:
            value = form_data.get(f"q-{key}", "")
            if value != "":
                answers[key] = value
        note = form_data.get(f"note-{key}", "").strip()
        if note:
            notes[key] = note
    return answers, notes


class AcknowledgeForm(FlaskForm):
    comment = TextAreaField("Comment (optional)", validators=[Optional(), Length(max=2000)])


class DisputeForm(FlaskForm):
    reason = TextAreaField("What do you disagree with, and why?",
                           validators=[DataRequired(), Length(min=10, max=4000)])


class DecisionForm(FlaskForm):
    version = version_field()
    outcome = SelectField("Outcome", choices=[
        ("upheld", "Upheld: the evaluation stands"),
        ("adjusted", "Adjusted: I changed answers below")])
    comment = TextAreaField("Decision, explained to the agent", validators=[DataRequired()])


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
                        validators=[Optional()])


class CalibrationForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    form_id = SelectField("Scoring form (its published version)", coerce=int, choices=[])
    team_id = SelectField("Team", choices=[])
    mode = SelectField("Mode", choices=[
        ("blind", "Blind: nobody sees the others' scores until the session closes"),
        ("open", "Open: participants see each other's submitted scores")])
    due_on = DateField("Due", validators=[Optional()])
    interactions = TextAreaField(
        "Interactions (ids or external ids, one per line)", validators=[DataRequired()])
    participants = MultiCheckboxField("Participants", coerce=int, choices=[])
    expert_id = SelectField("Expert (gold standard; optional)", coerce=int, choices=[])


class ConsensusForm(FlaskForm):
    version = version_field()


class MinutesForm(FlaskForm):
    minutes = TextAreaField("Minutes: what the group agreed", validators=[Optional()])
