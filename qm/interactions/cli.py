"""`qm interactions import` and `qm retention apply`: the core's commands for the shared record."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from qm import cli_types
from qm.commands import CliContext, actor_option, pass_ctx, resolve_actor
from qm.interactions import importing


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

        def progress(report: importing.ImportReport) -> None:
            session.commit()
            click.echo(f"  ... {report.rows} rows read, {report.created} imported", err=True)

        with csv_file.open("rb") as stream:
            report = importing.import_csv(
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
        raw = ctx.settings.retention_days or "365"
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
