"""WTForms of the calibration pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    Form,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from qm.auth.forms import MultiCheckboxField
from qm.interactions.models import CHANNELS
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
        "Or type them: ids or external ids, one per line", validators=[Optional()])
    participants = MultiCheckboxField("Participants", coerce=int, choices=[])
    expert_id = SelectField("Expert (gold standard; optional)", coerce=int, choices=[])


class PickerForm(Form):
    """The interaction picker's search on the new-session page (names ``find-...``). A plain
    form: it writes nothing, so it reads the query string as well as the posted page, whose
    own form carries the CSRF token."""

    q = StringField("Search", validators=[Optional(), Length(max=200)])
    team = SelectField("Team", choices=[])
    queue = StringField("Queue", validators=[Optional(), Length(max=100)])
    channel = SelectField("Channel", choices=[("", "Any"), *CHANNELS])
    date_from = DateField("From", validators=[Optional()])
    date_to = DateField("To", validators=[Optional()])
    flagged = BooleanField("Flagged for review")
    evaluated = SelectField("Evaluated", choices=[
        ("", "Either"), ("no", "Not yet evaluated"), ("yes", "Evaluated")])


class ConsensusForm(FlaskForm):
    version = version_field()


class MinutesForm(FlaskForm):
    minutes = TextAreaField("Minutes: what the group agreed", validators=[Optional()])
