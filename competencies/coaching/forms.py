"""WTForms of the coaching pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from competencies.coaching.models import CoachingKind

KINDS = [(k.value, k.value.replace("_", " ").replace("one to one", "1:1").capitalize())
         for k in CoachingKind]


class SessionForm(FlaskForm):
    agent_id = SelectField("Agent", coerce=int, choices=[])
    kind = SelectField("Kind", choices=KINDS)
    planned_on = DateField("Planned for", validators=[DataRequired()])
    focus_questions = StringField("Focus questions (their keys, comma-separated)",
                                  validators=[Length(max=2000)])
    focus_competencies = StringField("Focus competencies (codes, comma-separated)",
                                     validators=[Length(max=2000)])
    notes = TextAreaField("Notes", validators=[Length(max=10_000)])
    source = HiddenField(default="ad_hoc")
    evaluation_ids = HiddenField()
    version = HiddenField()


class HoldForm(FlaskForm):
    held_on = DateField("Held on", validators=[DataRequired()])
    version = HiddenField()


class ActionForm(FlaskForm):
    text = StringField("Action", validators=[DataRequired(), Length(max=1000)])
    owner_id = SelectField("Owner", coerce=int, choices=[])
    due_on = DateField("Due on", validators=[DataRequired()])


class AcknowledgeForm(FlaskForm):
    comment = TextAreaField("Your comment (optional)", validators=[Optional(),
                                                                 Length(max=10_000)])


class ButtonForm(FlaskForm):
    """A button that posts (cancel, done): the CSRF token and the version seen."""

    version = HiddenField()
