"""WTForms of the calibration pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from qm.auth.forms import MultiCheckboxField
from scoring.evaluations.forms import version_field


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
