"""WTForms of the skills pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from competencies.profiles.models import AssessmentMethod

METHODS = [(m.value, m.value.replace("_", " ").capitalize()) for m in AssessmentMethod]


class AssessmentForm(FlaskForm):
    competency_code = SelectField("Competency", choices=[], validators=[DataRequired()])
    level = SelectField("Level", coerce=int, choices=[], validators=[InputRequired()])
    assessed_on = DateField("Assessed on", validators=[DataRequired()])
    method = SelectField("Method", choices=METHODS)
    evidence = TextAreaField("Evidence (a link or a note)", validators=[Length(max=2000)])
    suggested_level = IntegerField(validators=[Optional()])
    override_reason = StringField("Why another level than QA evidence suggests",
                                  validators=[Length(max=2000)])
