"""WTForms of the training pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from competencies.training.models import CourseKind

KINDS = [(k.value, k.value.capitalize()) for k in CourseKind]


class RecordsImportForm(FlaskForm):
    file = FileField("CSV file", validators=[FileRequired(), FileAllowed(["csv", "txt"],
                                                                        "A .csv file, please.")])


class CourseForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    kind = SelectField("Kind", choices=KINDS)
    refresh_months = IntegerField("Refresher every (months; empty: taken once)",
                                  validators=[Optional(), NumberRange(1, 120)])
    competencies = SelectMultipleField("Competencies it develops", choices=[])
    description = TextAreaField("Description", validators=[Length(max=4000)])
    active = BooleanField("Active", default=True)
    version = HiddenField()


class SessionForm(FlaskForm):
    course_id = SelectField("Course", coerce=int, choices=[])
    held_on = DateField("Held on", validators=[DataRequired()])
    trainer = StringField("Trainer", validators=[Length(max=120)])
    location = StringField("Location", validators=[Length(max=120)])
    capacity = IntegerField("Places (empty: no limit)", validators=[Optional(),
                                                                   NumberRange(1, 500)])
    notes = TextAreaField("Notes", validators=[Length(max=2000)])
    version = HiddenField()


class EnrolForm(FlaskForm):
    user_ids = SelectMultipleField("People", coerce=int, choices=[])
    team_id = SelectField("or a whole team", coerce=int, choices=[])


class RecordForm(FlaskForm):
    user_id = SelectField("Person", coerce=int, choices=[])
    course_id = SelectField("Course", coerce=int, choices=[])
    completed_on = DateField("Completed on", validators=[DataRequired()])
    result = StringField("Result", validators=[Length(max=40)])
    expires_on = DateField("Expires on (a certificate's expiry, if any)",
                           validators=[Optional()])
    certificate = StringField("Certificate reference", validators=[Length(max=200)])


class ActionForm(FlaskForm):
    """A button that posts (cancel, unenrol) or a form whose fields are read by name
    (attendance): the CSRF token alone."""
