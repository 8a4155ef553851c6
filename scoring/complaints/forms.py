"""WTForms of the complaint pages. The rules (what is required, what a value may be) are the
services'; these only carry the input and the CSRF token."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from scoring.complaints.models import CATEGORIES, ROOT_CAUSES, Severity

CATEGORY_CHOICES = list(CATEGORIES.items())
SEVERITY_CHOICES = [(s.value, s.value.capitalize()) for s in Severity]
ROOT_CAUSE_CHOICES = [("", "Choose the root cause"), *ROOT_CAUSES.items()]


class ComplaintForm(FlaskForm):
    customer_ref = StringField("Customer reference", validators=[Length(max=100)])
    summary = TextAreaField("What the customer complains about",
                            validators=[Length(max=10_000)])
    category = SelectField("Category", choices=CATEGORY_CHOICES)
    severity = SelectField("Severity", choices=SEVERITY_CHOICES, default="medium")
    received_at = StringField("Received (your time; empty: now)",
                              validators=[Optional(), Length(max=32)],
                              render_kw={"type": "datetime-local", "step": "60"})
    owner_id = SelectField("Owner", coerce=int, choices=[])
    interaction_ids = StringField("Interactions (their ids, comma-separated)",
                                  validators=[Length(max=2000)])
    version = HiddenField()


class ButtonForm(FlaskForm):
    """A lifecycle button (acknowledge, respond, close, reopen): the CSRF token and the version
    the page showed."""

    version = HiddenField()


class EscalateForm(FlaskForm):
    reason = TextAreaField("Why it is escalated", validators=[Length(max=10_000)])
    version = HiddenField()


class AnswerForm(FlaskForm):
    answer = TextAreaField("The escalation's answer", validators=[Length(max=10_000)])
    version = HiddenField()


class ResolveForm(FlaskForm):
    outcome = TextAreaField("Outcome: what was done for the customer",
                            validators=[Length(max=10_000)])
    root_cause = SelectField("Root cause", choices=ROOT_CAUSE_CHOICES)
    version = HiddenField()


class LinkForm(FlaskForm):
    interaction_id = StringField("Interaction id", validators=[Length(max=12)])
    version = HiddenField()


class HolidayForm(FlaskForm):
    day = DateField("Date", validators=[DataRequired()])
    name = StringField("Name", validators=[DataRequired(), Length(max=100)])
