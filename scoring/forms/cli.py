"""`qm forms ...`: import, publish, export and list scoring forms."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from sqlalchemy import select

from qm import cli_types
from qm.commands import CliContext, actor_option, pass_ctx, resolve_actor
from scoring.forms import services as form_services
from scoring.forms.models import ScoringForm


@click.group()
def forms() -> None:
    """Scoring forms: import, publish and export versions as JSON."""


def _form_named(session: Any, name: str) -> Any:
    form = session.scalar(select(ScoringForm).where(ScoringForm.name == name))
    if form is None:
        raise click.ClickException(f"No form named {name!r}; `qm forms list` shows them.")
    return form


@forms.command("import")
@click.argument("json_file", type=cli_types.InputFile)
@click.option("--publish", is_flag=True, help="Publish the version at once (freezes it).")
@actor_option
@pass_ctx
def forms_import(ctx: CliContext, json_file: Path, publish: bool, actor_name: str | None) -> None:
    """Import a form from JSON: a new form, or a new draft of the form of the same name.

    Importing the same content twice changes nothing; a published version is never changed.
    """
    data = cli_types.read_json(json_file)
    with ctx.session() as session:
        version = form_services.import_form(session, resolve_actor(session, actor_name), data,
                                       publish=publish)
        session.commit()
        click.echo(f"{version.form.name}: version {version.number} ({version.status}).")


@forms.command("publish")
@click.argument("name")
@actor_option
@pass_ctx
def forms_publish(ctx: CliContext, name: str, actor_name: str | None) -> None:
    """Publish the draft of form NAME; the version it replaces is retired."""

    with ctx.session() as session:
        form = _form_named(session, name)
        version = form_services.publish_form(session, resolve_actor(session, actor_name), form.id)
        session.commit()
        click.echo(f"{form.name}: version {version.number} published.")


@forms.command("export")
@click.argument("name")
@click.option("--version", "number", type=cli_types.Version,
              help="Version number (default: the published).")
@pass_ctx
def forms_export(ctx: CliContext, name: str, number: int | None) -> None:
    """Print form NAME as JSON (the format `qm forms import` reads)."""
    import json


    with ctx.session() as session:
        form = _form_named(session, name)
        data = form_services.export_form(form_services.form_version(session, form.id, number))
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


@forms.command("list")
@pass_ctx
def forms_list(ctx: CliContext) -> None:
    """List forms with their versions."""
    with ctx.session() as session:
        for form in session.scalars(select(ScoringForm).order_by(ScoringForm.name)):
            versions = ", ".join(f"v{v.number} {v.status}" for v in form.versions)
            click.echo(f"{form.id:>5}  {form.name}  [{versions}]")
