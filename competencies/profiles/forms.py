"""WTForms of the skills pages: recording an assessment, a role profile and its holders."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional
from wtforms.widgets import HiddenInput

from competencies.profiles.models import AssessmentMethod, ProfileKind

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


KINDS = [(k.value, k.value.capitalize()) for k in ProfileKind]
LEVEL_PREFIX = "level-"


class ProfileForm(FlaskForm):
    """A role, queue or client profile: its kind, its name, and (fields ``level-<code>``, one
    per competency of the framework, built by the page) the level each competency requires.
    What a profile may hold is checked by the service, which says it in words."""

    kind = SelectField("Kind", choices=KINDS, validate_choice=False)
    name = StringField("Name", validators=[Length(max=120)])
    # The version the editor loaded: a save over a profile changed since is refused (409).
    version = IntegerField(widget=HiddenInput(), validators=[Optional()])

    @staticmethod
    def requirements(formdata: Any) -> dict[str, Any]:
        """Per competency code, the level chosen ("" is "not required" and left out). A value
        that is not a number is passed on as it came, for the service to refuse in words."""
        out: dict[str, Any] = {}
        for key, value in formdata.items():
            if not key.startswith(LEVEL_PREFIX) or not value.strip():
                continue
            text = value.strip()
            try:
                out[key[len(LEVEL_PREFIX):]] = int(text)
            except ValueError:  # "--1", "²": the service refuses it in words
                out[key[len(LEVEL_PREFIX):]] = text
        return out


def _team_or_none(value: Any) -> int | None:
    return int(value) if value not in (None, "", "None") else None


class MembersForm(FlaskForm):
    """Who gets the profile: people chosen one by one, or everyone active in a team."""

    user_ids = SelectMultipleField("People", coerce=int, choices=[], validate_choice=False)
    team_id = SelectField("Or everyone active in a team", coerce=_team_or_none, choices=[],
                          validate_choice=False)


class ButtonForm(FlaskForm):
    """A button's POST (taking a profile from its holder): the CSRF token only."""
