"""`qm interactions ...`"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from qm import cli_types
from qm.cli import CliContext, actor_option, pass_ctx, resolve_actor
from qm.interactions import services as interaction_services
from scoring.reliability_cli import reliability


@click.group()
def interactions() -> None:
    """Import interactions (calls, chats, e-mails)."""


@interactions.command("import")
@click.argument("csv_file", type=cli_types.InputFile)
@click.option("--source", default="csv", show_default=True,
              help="The system the file comes from; with each row's external_id it is the key "
                   "that makes a re-import skip what is there already. A 'source' column wins.")
@click.option("--timezone", default="UTC", show_default=True, type=cli_types.TimeZone,
              help="Time zone (IANA name, e.g. Europe/Paris) of started_at values that carry "
                   "no offset.")
@click.option("--chunk-size", default=1000, show_default=True, type=cli_types.ChunkSize,
              help="Rows per transaction.")
@actor_option
@pass_ctx
def import_(ctx: CliContext, csv_file: Path, source: str, timezone: str, chunk_size: int,
            actor_name: str | None) -> None:
    """Import CSV_FILE: columns external_id, agent, channel, started_at (required) and source,
    queue, direction, duration_s, customer_ref, recording, body (optional).

    Bad rows are listed with their line number and reason; good rows are imported; a re-run
    imports nothing twice. Recording paths are read relative to the CSV's folder. Exit status 1
    when any row failed.
    """
    from qm.storage import RecordingStore

    with ctx.session() as session:
        actor = resolve_actor(session, actor_name)

        def progress(report: interaction_services.ImportReport) -> None:
            session.commit()
            click.echo(f"  ... {report.rows} rows read, {report.created} imported", err=True)

        with csv_file.open("rb") as stream:
            report = interaction_services.import_csv(
                session, actor, stream, source=source, timezone=timezone,
                store=RecordingStore(ctx.settings.recordings_dir),
                base_dir=csv_file.resolve().parent, chunk_size=chunk_size, on_chunk=progress,
            )
        session.commit()
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    for error in report.errors:
        ident = f" [{error.external_id}]" if error.external_id else ""
        click.echo(f"{csv_file.name}:{error.line}{ident}: {error.reason}", err=True)
    click.echo(f"{report.rows} rows: {report.created} imported, {report.already_imported} "
               f"already imported, {len(report.errors)} failed.")
    if report.errors:
        sys.exit(1)


@click.group()
def forms() -> None:
    """Scoring forms: import, publish and export versions as JSON."""


def _form_named(session: Any, name: str) -> Any:
    from sqlalchemy import select

    from scoring.models import ScoringForm

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
    import json

    from scoring import services

    try:
        data = json.loads(json_file.read_text("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise click.ClickException(f"{json_file.name} is not JSON: {exc}") from None
    with ctx.session() as session:
        version = services.import_form(session, resolve_actor(session, actor_name), data,
                                       publish=publish)
        session.commit()
        click.echo(f"{version.form.name}: version {version.number} ({version.status}).")


@forms.command("publish")
@click.argument("name")
@actor_option
@pass_ctx
def forms_publish(ctx: CliContext, name: str, actor_name: str | None) -> None:
    """Publish the draft of form NAME; the version it replaces is retired."""
    from scoring import services

    with ctx.session() as session:
        form = _form_named(session, name)
        version = services.publish_form(session, resolve_actor(session, actor_name), form.id)
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

    from scoring import services

    with ctx.session() as session:
        form = _form_named(session, name)
        data = services.export_form(services.form_version(session, form.id, number))
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


@forms.command("list")
@pass_ctx
def forms_list(ctx: CliContext) -> None:
    """List forms with their versions."""
    from sqlalchemy import select

    from scoring.models import ScoringForm

    with ctx.session() as session:
        for form in session.scalars(select(ScoringForm).order_by(ScoringForm.name)):
            versions = ", ".join(f"v{v.number} {v.status}" for v in form.versions)
            click.echo(f"{form.id:>5}  {form.name}  [{versions}]")


@click.command("sample")
@click.option("--week", required=True, type=cli_types.Week,
              help="The ISO week whose interactions are sampled, e.g. 2026-W47. The work is "
                   "spread over the working days of the week after.")
@click.option("--seed", default=0, show_default=True, type=cli_types.Seed,
              help="The same seed (and data) draws the same sample.")
@click.option("--rule", "rule_names", multiple=True, metavar="NAME",
              help="Only this sampling rule (repeatable). Default: every active rule.")
@actor_option
@pass_ctx
def sample(ctx: CliContext, week: str, seed: int, rule_names: tuple[str, ...],
           actor_name: str | None) -> None:
    """Create the week's evaluation assignments from the sampling rules.

    Per rule and agent: the rule's number of interactions, spread across channels and times of
    day, none already evaluated; each to the least-loaded QA evaluator who is not the agent,
    within the rule's daily cap. A second run tops up only what is missing.
    """
    from sqlalchemy import select

    from scoring import sampling
    from scoring.models import SamplingRule

    with ctx.session() as session:
        rule_ids = []
        for name in rule_names:
            rule = session.scalar(select(SamplingRule).where(SamplingRule.name == name))
            if rule is None:
                raise click.ClickException(f"No sampling rule named {name!r}.")
            rule_ids.append(rule.id)
        report = sampling.run_sampling(session, resolve_actor(session, actor_name), week,
                                       seed=seed, rule_ids=rule_ids or None,
                                       timezone=ctx.settings.timezone)
        session.commit()
        for line in report.lines():
            click.echo(line)
        click.echo(f"{report.week}: {report.created} assignment(s) created, "
                   f"{report.unassigned} could not be assigned (seed {report.seed}).")
        if not report.rules:
            click.echo("No active sampling rules: add one on the Sampling page or through "
                       "/api/v1/sampling-rules.")


@click.group()
def retention() -> None:
    """Recording retention: delete call audio past its retention period."""


@retention.command("apply")
@click.option("--days", type=cli_types.Days, default=None,
              help="Keep recordings of contacts younger than this many days (default: "
                   "QM_RETENTION_DAYS, else 365).")
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
@actor_option
@pass_ctx
def retention_apply(ctx: CliContext, days: int | None, dry_run: bool,
                    actor_name: str | None) -> None:
    """Delete the audio of interactions older than the retention period, unless on legal hold.

    Transcripts and evaluations stay; each deletion is audited. Run it daily (cron, a systemd
    timer or a Celery beat).
    """
    from qm.interactions.retention import apply_retention
    from qm.storage import RecordingStore

    if days is None:
        raw = os.environ.get("QM_RETENTION_DAYS") or "365"
        try:
            days = cli_types.Days.convert(raw, None, None)
        except click.BadParameter as exc:
            raise click.ClickException(f"QM_RETENTION_DAYS: {exc.message}") from None
    store = RecordingStore(ctx.settings.recordings_dir)
    with ctx.session() as session:
        report = apply_retention(session, resolve_actor(session, actor_name), store, days,
                                 dry_run=dry_run)
        if dry_run:
            session.rollback()
            click.echo(f"Dry run: {report.deleted} recording(s) would be deleted, "
                       f"{report.held} kept on legal hold.")
            return
        session.commit()
        report.remove_files(store)
        click.echo(report.line())


COMMANDS = [interactions, forms, sample, reliability, retention]
