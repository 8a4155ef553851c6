"""`qm complaints ...`: the overdue list, and the holidays of the working-day calendar."""

from __future__ import annotations

import json
from pathlib import Path

import click
from sqlalchemy.orm import Session

from qm import cli_types
from qm.commands import (
    CliContext,
    actor_option,
    echo_import_report,
    pass_ctx,
    resolve_actor,
)
from qm.db import utcnow
from scoring.complaints import queries, services


@click.group()
def complaints() -> None:
    """The complaint register (ISO 10002): what is overdue, and the holiday calendar."""


def _site(ctx: CliContext, session: Session) -> queries.SiteClock:
    try:
        return queries.site_clock(session, ctx.settings, utcnow())
    except ValueError as exc:  # a bad QM_COMPLAINT_* or QM_TIMEZONE: the sentence names it
        raise click.ClickException(str(exc)) from None


@complaints.command("overdue")
@click.option("--json", "as_json", is_flag=True,
              help="A JSON list of objects: the complaint, and each overdue deadline with "
                   "its due time (ISO 8601, UTC) and the hours past it.")
@actor_option
@pass_ctx
def overdue(ctx: CliContext, as_json: bool, actor_name: str | None) -> None:
    """Complaints with a step past its deadline (acknowledge, respond, resolve, answer an
    escalation), the longest overdue first. Exit status 0 either way: an empty list is an
    answer, not a failure."""
    with ctx.session() as session:
        actor = resolve_actor(session, actor_name)
        site = _site(ctx, session)
        rows = [{"id": r.complaint.id, "customer_ref": r.complaint.customer_ref,
                 "category": r.complaint.category, "severity": r.complaint.severity,
                 "status": r.complaint.status,
                 "owner": r.complaint.owner.username if r.complaint.owner else None,
                 "received_at": r.complaint.received_at.isoformat(),
                 "overdue": [{"step": d.key, "due_at": d.due_at.isoformat(),
                              "hours_overdue": round(-d.left.total_seconds() / 3600, 1)
                              if d.left is not None else None, "describe": d.describe}
                             for d in r.clock.overdue]}
                for r in queries.overdue(session, actor, site)]
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not rows:
        click.echo("No complaint is overdue.")
        return
    for row in rows:
        steps = "; ".join(f"{d['step']} {d['describe']} (due {d['due_at']})"
                          for d in row["overdue"])
        click.echo(f"#{row['id']} {row['customer_ref']} [{row['severity']}, {row['status']}, "
                   f"owner {row['owner'] or '-'}]: {steps}")


@complaints.group("holidays")
def holidays() -> None:
    """The site's holidays: the working-day deadlines skip them."""


@holidays.command("import")
@click.argument("csv_file", type=cli_types.InputFile)
@actor_option
@pass_ctx
def import_(ctx: CliContext, csv_file: Path, actor_name: str | None) -> None:
    """Import holidays from CSV: date (YYYY-MM-DD), name.

    As `qm training import` does: bad rows are listed with their line number and reason and
    write nothing; good rows are added; a date already in the calendar is skipped, so importing
    the file again adds nothing. Exit status 1 when any row failed.
    """
    with ctx.session() as session:
        actor = resolve_actor(session, actor_name)
        with csv_file.open("rb") as stream:
            report = services.import_holidays(session, actor, stream)
        session.commit()
    echo_import_report(report, csv_file.name, "added")


@holidays.command("list")
@pass_ctx
def list_(ctx: CliContext) -> None:
    """The holidays, by date."""
    with ctx.session() as session:
        found = queries.holidays(session)
        if not found:
            click.echo("No holiday yet: `qm complaints holidays import FILE.csv`.")
        for holiday in found:
            click.echo(f"{holiday.day.isoformat()}  {holiday.name}")
