from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, EqualTo, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from qm.auth.permissions import GRANTABLE, ROLE_LABELS

# New passwords are checked by one rule, services.check_password_policy, for the web, the API and
# the CLI alike: its refusal shows beside the field (qm.web.show_errors). The forms only ask that
# a password be given.


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class LoginForm(FlaskForm):
    username = StringField("Username or e-mail", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    remember = BooleanField("Keep me logged in on this computer")


class PasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired()])
    new_password = PasswordField("New password", validators=[DataRequired()])
    confirm = PasswordField(
        "Repeat the new password",
        validators=[DataRequired(), EqualTo("new_password", message="The two do not match.")],
    )


class ProfileForm(FlaskForm):
    timezone = StringField("Time zone (e.g. Europe/Paris)", validators=[DataRequired()])


class TokenForm(FlaskForm):
    name = StringField("What will use it", validators=[DataRequired(), Length(max=100)])
    expires_days = IntegerField(
        "Expires after (days, empty for never)", validators=[Optional(), NumberRange(1, 3650)]
    )


class ResetPasswordForm(FlaskForm):
    new_password = PasswordField("New password", validators=[DataRequired()])


class UserForm(FlaskForm):
    version = HiddenField()
    username = StringField("Username", validators=[DataRequired(), Length(min=2, max=80)])
    display_name = StringField("Full name", validators=[DataRequired(), Length(max=120)])
    email = StringField("E-mail", validators=[Optional(), Length(max=254)])
    roles = MultiCheckboxField(
        "Roles", choices=[(r.value, label) for r, label in ROLE_LABELS.items()],
        validators=[DataRequired(message="Choose at least one role.")],
    )
    grants = MultiCheckboxField("Extra permissions", choices=[(g, g) for g in GRANTABLE])
    team_id = SelectField("Team (for agents)", coerce=str, choices=[])
    timezone = StringField("Time zone", default="UTC", validators=[DataRequired()])
    active = BooleanField("Active", default=True)
    password = PasswordField("Initial password", validators=[Optional()])


class NewUserForm(UserForm):
    password = PasswordField(
        "Initial password",
        validators=[DataRequired("Set an initial password; the user changes it later.")],
    )


class TeamForm(FlaskForm):
    version = HiddenField()
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=500)])
    lead_ids = MultiCheckboxField("Team leads", coerce=int, choices=[])
    active = BooleanField("Active", default=True)


class ConfirmForm(FlaskForm):
    """An empty form: a POST button with its CSRF token."""
