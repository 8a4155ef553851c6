"""WTForms of the review pages; the rules are the flag services'."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import Length


class VerdictForm(FlaskForm):
    """Confirm, dismiss (with a reason) or add a missed flag; ``next`` is where to go back."""

    flag_id = HiddenField()
    verdict = HiddenField()
    reason = StringField("Why", validators=[Length(max=2000)])
    next = HiddenField()


class MissedForm(FlaskForm):
    flag_id = SelectField("A flag that should have fired", coerce=int, choices=[])
    next = HiddenField()


class PhrasesForm(FlaskForm):
    """A phrase rule's phrases, one a line, and whose words count."""

    phrases = TextAreaField("Phrases, one a line", validators=[Length(max=20_000)])
    speakers = SelectField("Said by", choices=[("customer", "the customer"),
                                               ("agent", "the agent"), ("any", "anyone")])
    note = StringField("Why the change (kept with the version)", validators=[Length(max=500)])
    expected = HiddenField()


class ButtonForm(FlaskForm):
    """A button: the CSRF token."""
