"""`qm kpis ...`: importing the telephony and survey systems' CSV exports."""

from __future__ import annotations

from pathlib import Path

import click

from qm import cli_types
from qm.commands import CliContext, actor_option, echo_import_report, pass_ctx, resolve_actor
from qm.timestamps import today_in
from scoring.kpis import services


@click.group()
def kpis() -> None:
    """Operational KPIs (FCR, ASA, abandonment, AHT, CSAT, NPS) from the telephony and survey
    systems' exports."""


@kpis.command("import")
@click.argument("csv_file", type=cli_types.InputFile)
@actor_option
@pass_ctx
def import_(ctx: CliContext, csv_file: Path, actor_name: str | None) -> None:
    """Import KPI figures from CSV: date (YYYY-MM-DD), team, channel, and optionally queue and
    the figures (offered, answered, abandoned, wait_seconds, handled, handle_seconds, contacts,
    resolved_first, csat_responses, csat_satisfied, csat_score_sum, nps_promoters,
    nps_passives, nps_detractors): raw counts and total seconds, not rates.

    Bad rows are listed with their line number and reason; good rows go in; importing the
    file again adds nothing, and a row with other figures for a day, team, queue and channel
    already imported corrects them. Exit status 1 when any row failed.
    """
    with ctx.session() as session:
        actor = resolve_actor(session, actor_name)
        with csv_file.open("rb") as stream:
            report = services.import_kpis(session, actor, stream,
                                          today=today_in(ctx.settings.timezone))
        session.commit()
    if report.replaced:
        click.echo(f"{report.replaced} rows corrected figures imported before.")
    echo_import_report(report, csv_file.name, "added")
