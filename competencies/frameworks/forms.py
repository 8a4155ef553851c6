"""WTForms of the framework pages: the draft editor, the JSON import, publishing.

The editor works without JavaScript: its buttons "Add a competency", "Remove" and "Update the
levels" post the form back and the page comes again with the change, nothing saved. What a
framework may hold is checked once, by the services (``definition.framework_from_dict``); these
forms only carry the fields.
"""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import HiddenInput

from competencies.frameworks import definition as defs

GROUP_CHOICES = [(code, f"{code} {title.split(':')[0]}") for code, title in defs.GROUPS.items()]


class CompetencyRow(Form):
    """One competency of the editor; ``indicators`` holds the behaviour of levels 1, 2, ..."""

    code = StringField("Code")
    name = StringField("Name")
    group = SelectField("Group", choices=GROUP_CHOICES, validate_choice=False)
    client = StringField("Client (6.3.4 only)")
    description = TextAreaField("Description")
    indicators = FieldList(TextAreaField("Indicator"))

    def indicator_levels(self) -> list[tuple[int, Any]]:
        """(level, field) of each indicator, level 1 first."""
        return list(enumerate(self.indicators, start=1))

    def is_blank(self) -> bool:
        texts = [self.code.data, self.name.data, self.client.data, self.description.data,
                 *(entry.data for entry in self.indicators)]
        return not any((text or "").strip() for text in texts)


class FrameworkEditForm(FlaskForm):
    """The latest version of a framework as fields: the scale's level names and a row per
    competency. ``name`` and ``description`` are asked for a new framework only."""

    name = StringField("Name", validators=[Optional(), Length(max=120)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=2000)])
    scale = FieldList(StringField("Level"))
    competencies = FieldList(FormField(CompetencyRow))
    # The version the editor started from: a save over a version someone changed since is
    # refused (409), the editor's input kept.
    base_number = IntegerField(widget=HiddenInput(), validators=[Optional()])
    base_version = IntegerField(widget=HiddenInput(), validators=[Optional()])

    def levels(self) -> list[str]:
        """The level names, blank ones at the top of the scale dropped (that removes a level)."""
        names = [(entry.data or "").strip() for entry in self.scale]
        while names and not names[-1]:
            names.pop()
        return names

    def definition(self) -> dict[str, Any]:
        """The framework in the import's JSON shape, blank rows left out, the competencies
        grouped as clause 6.3 groups them (in the order of the groups, then of the rows)."""
        groups: dict[str, list[dict[str, Any]]] = {code: [] for code in defs.GROUPS}
        for row in self.competencies:
            if row.form.is_blank():
                continue
            item: dict[str, Any] = {"code": (row.form.code.data or "").strip(),
                                    "name": row.form.name.data or "",
                                    "description": row.form.description.data or "",
                                    "client": row.form.client.data or "",
                                    "indicators": {str(level): entry.data for level, entry
                                                   in row.form.indicator_levels()
                                                   if (entry.data or "").strip()}}
            groups.setdefault(row.form.group.data or "", []).append(item)
        return {"name": self.name.data or "", "description": self.description.data or "",
                "scale": self.levels(),
                "groups": [{"code": code, "competencies": items}
                           for code, items in groups.items() if items]}


def editor_data(definition: dict[str, Any]) -> dict[str, Any]:
    """The editor's fields for a stored definition (``definition.to_dict``'s shape)."""
    top = len(definition["scale"]) - 1
    rows = [{"code": item["code"], "name": item["name"], "group": group["code"],
             "client": item.get("client", ""), "description": item.get("description", ""),
             "indicators": [item.get("indicators", {}).get(str(level), "")
                            for level in range(1, top + 1)]}
            for group in definition["groups"] for item in group["competencies"]]
    return {"scale": list(definition["scale"]), "competencies": rows}


class FrameworkImportForm(FlaskForm):
    file = FileField("JSON file (the export format)",
                     validators=[FileRequired("Choose a JSON file."),
                                 FileAllowed(["json", "txt"], "A .json file, please.")])
    publish = BooleanField("Publish at once (freezes the version)")


class PublishForm(FlaskForm):
    """Publish the draft the user looked at, not one that someone saved since."""

    number = IntegerField(validators=[InputRequired()])
    version = IntegerField(validators=[InputRequired()])

