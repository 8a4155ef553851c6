"""WTForms of the notice pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from competencies.notices.models import NoticeCategory
from competencies.notices.services import MAX_BODY, MAX_TITLE

CATEGORY_CHOICES = [(c.value, c.value.capitalize()) for c in NoticeCategory]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class DraftForm(FlaskForm):
    version = HiddenField()
    title = StringField("Title", validators=[DataRequired(), Length(max=MAX_TITLE)])
    category = SelectField("Category", choices=CATEGORY_CHOICES)
    body = TextAreaField("Text (plain text; line breaks are kept)",
                         validators=[DataRequired(), Length(max=MAX_BODY)])
    acknowledge_by = DateField("Acknowledge by (optional)", validators=[Optional()])


class AudienceForm(FlaskForm):
    """Whom a notice goes to: any union of these. The choices are set by the view."""

    version = HiddenField()
    all_agents = BooleanField("All active agents")
    team_ids = MultiCheckboxField("Teams", coerce=int, choices=[])
    profile_ids = MultiCheckboxField("Holders of competency profiles", coerce=int, choices=[])
    user_ids = SelectMultipleField("People", coerce=int, choices=[])


class ActionForm(FlaskForm):
    """A POST button (acknowledge, withdraw) with its CSRF token and the version it saw."""

    version = HiddenField()
