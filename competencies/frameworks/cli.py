"""`qm competencies ...`: import, export and list competency frameworks."""

from __future__ import annotations

import json
from pathlib import Path

import click

from competencies.frameworks import queries, services
from qm import cli_types
from qm.commands import CliContext, actor_option, pass_ctx, resolve_actor


@click.group()
def competencies() -> None:
    """Competency frameworks (ISO 18295-1 6.3): import, export and list them as JSON."""


@competencies.command("import")
@click.argument("json_file", type=cli_types.InputFile)
@click.option("--publish", is_flag=True, help="Publish the version at once (freezes it).")
@actor_option
@pass_ctx
def import_(ctx: CliContext, json_file: Path, publish: bool, actor_name: str | None) -> None:
    """Import a framework from JSON: a new framework, or a new draft of the one of the same name.

    Importing the same content twice changes nothing; a published version is never changed.
    """
    data = cli_types.read_json(json_file)
    with ctx.session() as session:
        version = services.import_framework(session, resolve_actor(session, actor_name), data,
                                            publish=publish)
        session.commit()
        count = len(queries.parsed(version).competencies)
        click.echo(f"{version.framework.name}: version {version.number} ({version.status}), "
                   f"{count} competencies.")


@competencies.command("export")
@click.argument("name", required=False)
@click.option("--number", type=cli_types.Version, default=None,
              help="The version (default: the published one, else the newest).")
@pass_ctx
def export(ctx: CliContext, name: str | None, number: int | None) -> None:
    """Print framework NAME (or the only one) as JSON, ready for `qm competencies import`."""
    with ctx.session() as session:
        if name is None:
            found = queries.frameworks(session)
            if len(found) != 1:
                raise click.ClickException(
                    "Name the framework to export: " + (", ".join(repr(f.name) for f in found)
                                                        or "there is none yet") + ".")
            framework = found[0]
        else:
            framework = queries.framework_named(session, name)
        version = queries.version_of(framework, number)
        click.echo(json.dumps(services.export_framework(version), indent=2, ensure_ascii=False))


@competencies.command("list")
@pass_ctx
def list_(ctx: CliContext) -> None:
    """The frameworks, each with its versions and their status."""
    with ctx.session() as session:
        found = queries.frameworks(session)
        if not found:
            click.echo("No competency framework yet: `qm competencies import FILE.json`.")
        for framework in found:
            versions = ", ".join(f"v{v.number} {v.status}" for v in framework.versions)
            click.echo(f"{framework.name}: {versions}")
