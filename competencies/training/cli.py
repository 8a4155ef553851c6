"""`qm training ...`: courses, the import of completions, and whose refreshers are due."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from competencies.training import queries, services
from competencies.training.due import DUE_SOON_DAYS
from competencies.training.models import Course
from qm import cli_types
from qm.commands import (
    CliContext,
    actor_option,
    echo_import_report,
    pass_ctx,
    resolve_actor,
)
from qm.timestamps import today_in

Day = click.DateTime(formats=["%Y-%m-%d"])


@click.group()
def training() -> None:
    """Training records (ISO 18295-1 6.4): courses, completions and refreshers due."""


@training.command("import")
@click.argument("csv_file", type=cli_types.InputFile)
@actor_option
@pass_ctx
def import_(ctx: CliContext, csv_file: Path, actor_name: str | None) -> None:
    """Import completions from CSV: username, course, completed_on (YYYY-MM-DD), and optionally
    result, expires_on, certificate.

    Bad rows are listed with their line number and reason; good rows are recorded; importing
    the file again records nothing twice. Exit status 1 when any row failed.
    """
    with ctx.session() as session:
        actor = resolve_actor(session, actor_name)
        with csv_file.open("rb") as stream:
            report = services.import_records(session, actor, stream,
                                             today=today_in(ctx.settings.timezone))
        session.commit()
    echo_import_report(report, csv_file.name, "recorded")


@training.command("due")
@click.option("--as-of", "as_of", type=Day, default=None, metavar="YYYY-MM-DD",
              help="The day to judge from (default: today, in the site's time zone).")
@click.option("--team", "team_name", metavar="NAME", help="Only the members of this team.")
@click.option("--soon-days", type=click.IntRange(0, cli_types.MAX_DAYS), default=DUE_SOON_DAYS,
              show_default=True, help="A refresher due within this many days is listed.")
@click.option("--json", "as_json", is_flag=True, help="A JSON list of objects, dates ISO.")
@pass_ctx
def due_(ctx: CliContext, as_of: dt.datetime | None, team_name: str | None, soon_days: int,
         as_json: bool) -> None:
    """Refreshers due soon or overdue: overdue first, then by due date."""
    day = as_of.date() if as_of is not None else today_in(ctx.settings.timezone)
    with ctx.session() as session:
        team_id = None
        if team_name is not None:
            team = queries.team_named(session, team_name)
            if team is None:
                raise click.ClickException(f"No team named {team_name!r}; `qm teams list` "
                                           "shows them.")
            team_id = team.id
        rows = queries.due_list(session, as_of=day, team_id=team_id, soon_days=soon_days)
    if as_json:
        click.echo(json.dumps([row.as_dict() for row in rows], indent=2, ensure_ascii=False))
        return
    if not rows:
        click.echo(f"No refresher is due or overdue as of {day.isoformat()}.")
        return
    table = [("STATUS", "DUE ON", "USER", "NAME", "TEAM", "COURSE", "COMPLETED")]
    table += [(r.status, r.due_on.isoformat(), r.username, r.display_name, r.team or "-",
               r.course, r.completed_on.isoformat()) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        click.echo("  ".join(cells).rstrip())


@training.group("courses")
def courses() -> None:
    """Courses: what completions are recorded against."""


@courses.command("add")
@click.argument("name")
@click.option("--kind", required=True, type=click.Choice(services.KINDS, case_sensitive=False),
              help="What the course is for.")
@click.option("--refresh-months", type=click.IntRange(1, services.MAX_REFRESH_MONTHS),
              default=None, help="Months before a completion must be refreshed (default: "
                                 "taken once).")
@click.option("--competency", "codes", multiple=True, metavar="CODE",
              help="A competency code the course develops (repeatable).")
@click.option("--description", default="", help="A line about the course.")
@actor_option
@pass_ctx
def courses_add(ctx: CliContext, name: str, kind: str, refresh_months: int | None,
                codes: tuple[str, ...], description: str, actor_name: str | None) -> None:
    """Add course NAME."""
    with ctx.session() as session:
        course = services.save_course(
            session, resolve_actor(session, actor_name),
            {"name": name, "kind": kind, "refresh_months": refresh_months,
             "competencies": list(codes), "description": description})
        session.commit()
        click.echo(f"Course {course.name!r} added ({_describe(course)}).")


@courses.command("list")
@pass_ctx
def courses_list(ctx: CliContext) -> None:
    """The courses, each with its kind, refresher interval and competencies."""
    with ctx.session() as session:
        found = queries.courses(session)
        if not found:
            click.echo("No course yet: `qm training courses add NAME --kind KIND`.")
        for course in found:
            click.echo(f"{course.name}: {_describe(course)}")


def _describe(course: Course) -> str:
    parts = [course.kind, f"refresh every {course.refresh_months} months"
             if course.refresh_months else "taken once"]
    if course.competencies:
        parts.append("competencies " + ", ".join(course.competencies))
    if not course.active:
        parts.append("inactive")
    return "; ".join(parts)
