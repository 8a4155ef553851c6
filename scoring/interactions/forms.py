"""WTForms of the interaction pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from qm.interactions.models import CHANNELS, DIRECTIONS
from qm.storage import AUDIO_TYPES


class InteractionForm(FlaskForm):
    version = HiddenField()
    external_id = StringField("External id (from the phone or ticket system; empty: generated)",
                              validators=[Optional(), Length(max=100)])
    agent = SelectField("Agent", validators=[DataRequired()], choices=[])
    channel = SelectField("Channel", choices=CHANNELS)
    direction = SelectField("Direction", choices=DIRECTIONS)
    queue = StringField("Queue", validators=[Optional(), Length(max=100)])
    started_at = StringField(
        "Started at (your time zone, e.g. 2026-11-20 14:05)", validators=[DataRequired()]
    )
    duration_s = StringField("Duration (seconds or mm:ss)", validators=[Optional()])
    customer_ref = StringField("Customer reference", validators=[Optional(), Length(max=100)])
    body = TextAreaField("Text (chat transcript or e-mail)", validators=[Optional()])
    recording = FileField(
        "Recording (optional)",
        validators=[FileAllowed([ext.lstrip(".") for ext in AUDIO_TYPES], "Audio files only.")],
    )

    def values(self) -> dict[str, str | None]:
        return {
            "external_id": self.external_id.data,
            "agent": self.agent.data,
            "channel": self.channel.data,
            "direction": self.direction.data,
            "queue": self.queue.data,
            "started_at": (self.started_at.data or "").replace(" ", "T", 1),
            "duration_s": self.duration_s.data,
            "customer_ref": self.customer_ref.data,
            "body": self.body.data,
        }


class ImportForm(FlaskForm):
    file = FileField("CSV file", validators=[FileRequired(), FileAllowed(["csv", "txt"],
                                                                        "A .csv file, please.")])
    source = StringField("Source (the system the file comes from)", default="csv",
                         validators=[DataRequired(), Length(max=40)])
    timezone = StringField("Time zone of times without an offset", default="UTC",
                           validators=[DataRequired()])
