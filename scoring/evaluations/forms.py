"""WTForms of the evaluation pages: the scoring screen, acknowledgement, disputes."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    IntegerField,
    RadioField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import HiddenInput


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
    """A reviewer's decision. The outcome has no default: the answers stay editable on the
    same page, so a preselected "upheld" would be one click from deciding what nobody chose."""

    version = version_field()
    outcome = RadioField("Outcome", choices=[
        ("upheld", "Upheld: the evaluation stands"),
        ("adjusted", "Adjusted: I changed answers above")],
        invalid_choice_message="Choose an outcome, upheld or adjusted.")
    comment = TextAreaField("Decision, explained to the agent", validators=[
        DataRequired(message="Explain the decision to the agent.")])
