"""WTForms of the form pages: the builder, import, publish."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField
from wtforms import BooleanField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional
from wtforms.widgets import HiddenInput


class FormDefinitionForm(FlaskForm):
    """The form builder: a name, a description and the sections as JSON.

    The JSON lives in a textarea so that the page works without JavaScript; the builder script
    edits that same textarea through a structured editor.
    """

    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=2000)])
    definition = TextAreaField("Sections and questions (JSON)", validators=[DataRequired()])
    # The version the editor started from: a save over a draft someone changed since is
    # refused (409) with the editor's content kept.
    base_number = IntegerField(widget=HiddenInput(), validators=[Optional()])
    base_version = IntegerField(widget=HiddenInput(), validators=[Optional()])


class FormImportForm(FlaskForm):
    file = FileField("JSON file (the export format)",
                     validators=[FileAllowed(["json", "txt"], "A .json file, please.")])
    text = TextAreaField("Or paste the JSON", validators=[Optional()])
    publish = BooleanField("Publish now: new evaluations use this version at once")


class PublishForm(FlaskForm):
    """Publish the draft the user looked at, not one that someone saved since."""

    number = IntegerField(validators=[InputRequired()])
    version = IntegerField(validators=[InputRequired()])
