from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField
from wtforms.validators import DataRequired, InputRequired, NumberRange

from qm.inputs import MAX_ID

EMAIL_CHOICES = [
    ("immediate", "Each notification at once, in its own e-mail"),
    ("digest", "One e-mail a day with everything since the last one"),
    ("none", "No e-mail: in qm only"),
]


class ActionForm(FlaskForm):
    """A button that only posts (mark all read): the CSRF token is its one field."""


class OpenForm(FlaskForm):
    notification_id = IntegerField(validators=[InputRequired(), NumberRange(1, MAX_ID)])


class SettingsForm(FlaskForm):
    email = RadioField("E-mail me", choices=EMAIL_CHOICES, validators=[DataRequired()])
