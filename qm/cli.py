"""The ``qm`` command. Thin: it parses, calls a service, commits, and says what happened."""

from __future__ import annotations

import errno
import importlib
import importlib.util
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from qm import audit, cli_types, domains, migrations
from qm.auth import queries as auth_queries
from qm.auth import services
from qm.auth import tokens as token_services
from qm.auth.models import Team, User
from qm.commands import CliContext, actor_option, pass_ctx, resolve_actor
from qm.config import DOMAINS, debug_from_env
from qm.errors import QMError, SchemaNotCurrent
from qm.interactions.cli import interactions, retention
from qm.notifications.cli import notifications


class UnexpectedError(Exception):
    """A bug (or an outage) that reached the top of `qm`. Its traceback shows where, but its
    message is only the original exception's type: a message can quote stored data (an
    INSERT's parameters hold chat bodies). ``QM_DEBUG=1`` lets the original through."""


# Raised by click itself to end a command, or turned into words by click's main.
_CLICK_OWN = (click.ClickException, click.exceptions.Exit, click.Abort, EOFError)


class QMGroup(click.Group):
    """The `qm` group: what any command raises, core or domain, ends here in one place.

    A user error (``QMError``), a schema that is not current, a database that cannot be
    used (down, refused, locked) or the system refusing a file or a port (``OSError``) is one
    line on stderr, ``Error: <sentence>``, and exit status 1. Anything else still raises, as a
    bug should, but without its message (see ``UnexpectedError``). ``QM_DEBUG=1``: everything
    but the user errors raises as it is.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (QMError, SchemaNotCurrent) as exc:
            raise click.ClickException(str(exc)) from None
        except _CLICK_OWN:
            raise
        except Exception as exc:
            if debug_from_env():
                raise
            if isinstance(exc, OperationalError):  # only the driver's first line: no rows
                first = str(exc.orig).strip().splitlines()[:1] or [type(exc.orig).__name__]
                raise click.ClickException(f"The database could not be used: {first[0]}") \
                    from None
            if isinstance(exc, OSError):
                if exc.errno == errno.EPIPE:  # click's main ends quietly on a closed pipe
                    raise
                raise click.ClickException(str(exc)) from None
            raise _withheld(exc) from None


def _withheld(exc: Exception) -> UnexpectedError:
    kind = type(exc)
    what = f"{kind.__module__}.{kind.__qualname__}"
    orig = getattr(exc, "orig", None)  # a database error: say which driver error it wraps
    if isinstance(orig, BaseException):
        what += f" ({type(orig).__module__}.{type(orig).__qualname__})"
    return UnexpectedError(f"{what}; its message is withheld because it can quote stored data "
                           "(set QM_DEBUG=1 to see it).").with_traceback(exc.__traceback__)


@click.group(cls=QMGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="qm")
def main() -> None:
    """qm: quality monitoring and agent competency for contact centres.

    Settings come from environment variables: QM_DATABASE_URL (default: SQLite in
    QM_DATA_DIR, which defaults to ./instance), QM_SECRET_KEY, QM_RECORDINGS_DIR, ...
    """


# --- database ------------------------------------------------------------------------------

@main.group()
def db() -> None:
    """Create and migrate the database schema."""


@contextmanager
def _revision_errors() -> Iterator[None]:
    """Alembic's answer to a revision it cannot find or reach, as a usage error."""
    from alembic.util import CommandError

    try:
        yield
    except CommandError as exc:
        ctx = click.get_current_context()
        param = next(p for p in ctx.command.params if p.name == "revision")
        raise click.BadParameter(str(exc), ctx, param) from None


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
@pass_ctx
def db_upgrade(ctx: CliContext, revision: str) -> None:
    """Apply migrations up to REVISION (SQLite and PostgreSQL alike)."""

    before = migrations.current_revision(ctx.engine)
    with _revision_errors():
        migrations.upgrade(ctx.engine, revision)
    after = migrations.current_revision(ctx.engine)
    where = ctx.engine.url.render_as_string(hide_password=True)
    if before == after:
        click.echo(f"{where}: already at {after}.")
    else:
        click.echo(f"{where}: migrated from {before or 'empty'} to {after}.")


@db.command("downgrade")
@click.argument("revision")
@pass_ctx
def db_downgrade(ctx: CliContext, revision: str) -> None:
    """Undo migrations down to REVISION ('base' removes every table)."""

    with _revision_errors():
        migrations.downgrade(ctx.engine, revision)
    click.echo(f"Now at {migrations.current_revision(ctx.engine) or 'base'}.")


@db.command("current")
@pass_ctx
def db_current(ctx: CliContext) -> None:
    """Show the database's revision and the one this qm needs; exit 1 if they differ."""

    current, head = migrations.current_revision(ctx.engine), migrations.head_revision()
    click.echo(f"database: {current or 'empty'}; code: {head}")
    if current != head:
        sys.exit(1)


# --- users, teams, tokens ------------------------------------------------------------------

@main.group()
def users() -> None:
    """Create and list users."""


def _read_password(from_stdin: bool, prompt: bool = True) -> str | None:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    if prompt:
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return None


@users.command("create")
@click.argument("username")
@click.option("--name", "display_name", help="Full name (default: the username).")
@click.option("--email")
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice(["admin", "qa_evaluator", "team_lead", "agent", "hr", "auditor"]),
              help="Repeat for several roles.")
@click.option("--team", help="The agent's team, by name.")
@click.option("--timezone", default="UTC", show_default=True, type=cli_types.TimeZone,
              help="The user's IANA time zone, e.g. Europe/Paris.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@actor_option
@pass_ctx
def users_create(ctx: CliContext, username: str, display_name: str | None, email: str | None,
                 roles: tuple[str, ...], team: str | None, timezone: str,
                 password_stdin: bool, actor_name: str | None) -> None:
    """Create USERNAME with one or more roles; asks for the password unless --password-stdin."""

    password = _read_password(password_stdin)
    with ctx.session() as session:
        actor = resolve_actor(session, actor_name)
        team_id = None
        if team:
            found = session.scalar(select(Team).where(Team.name == team))
            if found is None:
                raise click.ClickException(f"No team named {team!r}; create it with "
                                           "`qm teams create`.")
            team_id = found.id
        user = services.create_user(session, actor, username=username,
                                    display_name=display_name or username, email=email,
                                    roles=roles, password=password, team_id=team_id,
                                    timezone=timezone)
        session.commit()
        click.echo(f"Created user {user.username} (id {user.id}) with roles "
                   f"{', '.join(user.roles)}.")


@users.command("list")
@pass_ctx
def users_list(ctx: CliContext) -> None:
    """List every user with roles and team."""

    with ctx.session() as session:
        for user in session.scalars(select(User).order_by(User.username)):
            team = user.team.name if user.team else "-"
            state = "" if user.active else "  (deactivated)"
            click.echo(f"{user.id:>5}  {user.username:<20} {','.join(user.roles):<28} "
                       f"{team}{state}")


@users.command("set-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@actor_option
@pass_ctx
def users_set_password(ctx: CliContext, username: str, password_stdin: bool,
                       actor_name: str | None) -> None:
    """Reset USERNAME's password (their sessions end)."""

    password = _read_password(password_stdin)
    with ctx.session() as session:
        user = auth_queries.find_user(session, username)
        if user is None:
            raise click.ClickException(f"No user {username!r}.")
        services.set_password(session, resolve_actor(session, actor_name), user.id,
                              password or "")
        session.commit()
        click.echo(f"Password of {user.username} set.")


@main.group()
def teams() -> None:
    """Create and list teams."""


@teams.command("create")
@click.argument("name")
@click.option("--description", default="")
@click.option("--lead", "leads", multiple=True, help="A team lead's username; repeatable.")
@actor_option
@pass_ctx
def teams_create(ctx: CliContext, name: str, description: str, leads: tuple[str, ...],
                 actor_name: str | None) -> None:
    """Create team NAME, optionally with its leads."""

    with ctx.session() as session:
        lead_ids = []
        for lead in leads:
            user = auth_queries.find_user(session, lead)
            if user is None:
                raise click.ClickException(f"No user {lead!r}.")
            lead_ids.append(user.id)
        team = services.create_team(session, resolve_actor(session, actor_name), name=name,
                                    description=description, lead_ids=lead_ids)
        session.commit()
        click.echo(f"Created team {team.name} (id {team.id}).")


@teams.command("list")
@pass_ctx
def teams_list(ctx: CliContext) -> None:
    """List teams with their leads and number of members."""

    with ctx.session() as session:
        for team in session.scalars(select(Team).order_by(Team.name)):
            leads = ",".join(u.username for u in team.leads) or "-"
            click.echo(f"{team.id:>5}  {team.name:<30} leads: {leads:<25} "
                       f"members: {len(team.members)}")


@main.group()
def tokens() -> None:
    """Issue and revoke API tokens."""


@tokens.command("create")
@click.argument("username")
@click.option("--name", required=True, help="What will use the token (e.g. 'dialler sync').")
@click.option("--expires-days", type=cli_types.Days,
              help="Lifetime in days (default: until revoked).")
@actor_option
@pass_ctx
def tokens_create(ctx: CliContext, username: str, name: str, expires_days: int | None,
                  actor_name: str | None) -> None:
    """Issue a token for USERNAME and print it once (only its hash is kept)."""
    with ctx.session() as session:
        user = auth_queries.find_user(session, username)
        if user is None:
            raise click.ClickException(f"No user {username!r}.")
        token, plaintext = token_services.create_token(
            session, resolve_actor(session, actor_name), user.id, name=name,
            expires_days=expires_days)
        session.commit()
        click.echo(f"Token {token.id} for {user.username} ({name}); it is shown only now:",
                   err=True)
        click.echo(plaintext)


@tokens.command("revoke")
@click.argument("token_id", type=cli_types.RowId)
@actor_option
@pass_ctx
def tokens_revoke(ctx: CliContext, token_id: int, actor_name: str | None) -> None:
    """Revoke token TOKEN_ID at once."""

    with ctx.session() as session:
        token_services.revoke_token(session, resolve_actor(session, actor_name), token_id)
        session.commit()
        click.echo(f"Token {token_id} revoked.")


# --- audit ---------------------------------------------------------------------------------

@main.group("audit")
def audit_group() -> None:
    """Check the audit log's hash chain."""


@audit_group.command("verify")
@click.option("--anchor", type=cli_types.AuditAnchor,
              help="A head published earlier (see `qm audit head`); proves that nothing was cut "
                   "from the end since.")
@pass_ctx
def audit_verify(ctx: CliContext, anchor: tuple[int, str] | None) -> None:
    """Walk the whole chain; exit 1 naming the first entry that was altered or removed."""

    with ctx.session() as session:
        result = audit.verify(session, anchor)
    if result.ok:
        head = f"; head {result.head[0]}:{result.head[1]}" if result.head else ""
        click.echo(f"Audit log intact: {result.checked} entries verified{head}.")
        return
    click.echo(f"AUDIT LOG BROKEN: {result.problem} ({result.checked} entries before it "
               "verified).", err=True)
    sys.exit(1)


@audit_group.command("head")
@pass_ctx
def audit_head(ctx: CliContext) -> None:
    """Print the last entry as SEQ:HASH, to keep somewhere else as an anchor."""

    with ctx.session() as session:
        row = session.execute(select(audit.AuditEntry.seq, audit.AuditEntry.hash)
                              .order_by(audit.AuditEntry.seq.desc()).limit(1)).first()
    if row is None:
        raise click.ClickException("The audit log is empty.")
    click.echo(f"{row[0]}:{row[1]}")


# --- the evidence pack ---------------------------------------------------------------------

_Day = click.DateTime(formats=["%Y-%m-%d"])


@main.command("evidence")
@click.option("--from", "start", type=_Day, required=True, metavar="YYYY-MM-DD",
              help="The period's first day (UTC).")
@click.option("--to", "end", type=_Day, required=True, metavar="YYYY-MM-DD",
              help="The period's last day, included.")
@click.option("--team", help="One team, by name (default: the whole site).")
@click.option("--out", "out", type=cli_types.OutputFile(), required=True,
              help="The zip to write (replaced if it exists).")
@actor_option
@pass_ctx
def evidence_command(ctx: CliContext, start: Any, end: Any, team: str | None, out: Any,
                     actor_name: str | None) -> None:
    """Build the ISO 18295-1 clause-6 evidence pack for an audit: one zip with index.html and
    manifest.json listing every file (framework and skills matrix, training and coaching,
    sample sizes, forms, evaluations, calibration, complaints) with its SHA-256, and the audit
    chain's verification and head. The audit log records the build."""
    import os
    import time
    from pathlib import Path

    from qm import evidence

    partial = Path(out).with_name(Path(out).name + ".partial")
    began = time.monotonic()
    with ctx.session() as session:
        actor = resolve_actor(session, actor_name)
        scope = evidence.scope_of(session, start.date(), end.date(), team, ctx.settings)
        try:
            # Written beside the target, then moved over it: never half a pack at --out.
            built = evidence.build(session, actor, scope, str(partial),
                                   progress=lambda path: click.echo(f"  {path}", err=True))
            os.replace(partial, out)
        finally:
            partial.unlink(missing_ok=True)
        evidence.record_built(session, actor, built)
        session.commit()
    m = built.manifest
    chain = (f"audit log intact, head {m.audit['head_seq']}:{m.audit['head_hash']}"
             if m.audit["ok"] else f"AUDIT LOG BROKEN: {m.audit['problem']}")
    click.echo(f"Wrote {out}: {len(m.files)} files, {m.start} to {m.end}, {m.team}, in "
               f"{time.monotonic() - began:.1f} s; {chain}; manifest SHA-256 "
               f"{built.manifest_sha256}.")


# --- serving -------------------------------------------------------------------------------

def serve_app(app: Any, host: str, port: int, workers: int | None = None,
              threads: int | None = None, server: str | None = None) -> None:
    """Serve ``app`` with ``qm.server`` (gunicorn, one process per core; waitress where gunicorn
    cannot run); None: the defaults."""
    from qm import server as servers

    server = server or servers.available()[0]
    if server not in servers.available():
        raise click.BadParameter(f"{server} cannot run here; use "
                                 f"{' or '.join(servers.available())}.", param_hint="--server")
    servers.serve(app, host=host, port=port, workers=workers or servers.cores(),
                  threads=threads or (8 if server == "waitress" else servers.THREADS),
                  server=server,
                  echo=click.echo)


def _serve_options(fn: Any) -> Any:
    """``--workers``, ``--threads`` and ``--server``: how ``qm serve`` and ``qm demo`` serve."""
    fn = click.option("--server", type=click.Choice(["gunicorn", "waitress"]), default=None,
                      help="gunicorn (worker processes; the default where it runs: Linux, "
                           "macOS) or waitress (one process of threads; the default elsewhere)."
                      )(fn)
    fn = click.option("--threads", default=None, type=cli_types.Threads,
                      help="Threads in each process [default: 2 with gunicorn, 8 with "
                           "waitress].")(fn)
    return click.option("--workers", default=None, type=cli_types.Threads,
                        help="Worker processes (gunicorn) [default: one per core this "
                             "process may use].")(fn)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=cli_types.Port,
              help="0: any free port.")
@_serve_options
def serve(host: str, port: int, workers: int | None, threads: int | None,
          server: str | None) -> None:
    """Serve the web app and API: gunicorn with one worker process per core (threads in
    each; `kill -HUP` on the master restarts them gracefully, `kill -TERM` stops it after
    the requests in hand), or waitress where gunicorn cannot run."""
    from qm.app import create_app

    serve_app(create_app(), host, port, workers, threads, server)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=cli_types.Port,
              help="0: any free port.")
@click.option("--no-serve", is_flag=True, help="Only build the demo data, do not serve.")
@_serve_options
@pass_ctx
def demo(ctx: CliContext, host: str, port: int, no_serve: bool, workers: int | None,
         threads: int | None, server: str | None) -> None:
    """Build a demo site (schema, users, teams, interactions) and serve it.

    Safe to run again: what exists already is left as it is.
    """
    from qm import demo as demo_mod

    logins = demo_mod.build(ctx.settings, ctx.engine, echo=click.echo)
    click.echo(f"\nDemo logins (password for all: {demo_mod.DEMO_PASSWORD}):")
    for username, role in logins:
        click.echo(f"  {username:<10} {role}")
    if no_serve:
        return
    from qm import server as servers

    if (server or servers.available()[0]) == "gunicorn":
        # Serve from a fresh process, as ``qm serve`` (the same process id): building the demo
        # ran the speech model and the flagging here, and a worker forked from this process
        # would inherit their thread pools half-made (onnxruntime's hangs a worker's exit
        # until the master kills it, 30 s after ``kill -TERM``).
        sys.stdout.flush()
        sys.stderr.flush()
        # -P: the installed qm, not a ./qm of the working directory (python -c puts it first)
        args = [sys.executable, "-P", "-c", "from qm.cli import main; main(prog_name='qm')",
                "serve", "--host", host, "--port", str(port)]
        for name, value in (("--workers", workers), ("--threads", threads),
                            ("--server", server)):
            if value:
                args += [name, str(value)]
        # the same environment, so the same settings (qm.config reads them from it alone)
        os.execv(sys.executable, args)  # noqa: S606 - qm itself, no shell
    from qm.app import create_app

    serve_app(create_app({"data_dir": ctx.settings.data_dir,
                          "database_url": ctx.settings.database_url}), host, port, workers,
              threads, server)


# --- reports ------------------------------------------------------------------------------

@main.group()
def report() -> None:
    """Reports from the shell: a team lead's weekly digest."""


@report.command("digest")
@click.option("--lead", "lead_name", required=True, metavar="USERNAME",
              help="The team lead (or any user) whose digest this is: their permissions and "
                   "teams decide what it holds.")
@click.option("--week", default=None, metavar="YYYY-Www",
              help="The ISO week, such as 2026-W48 (default: this week in the lead's zone).")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of text.")
@pass_ctx
def report_digest(ctx: CliContext, lead_name: str, week: str | None, as_json: bool) -> None:
    """What needs a team lead's attention, for their teams: disputes to decide (overdue
    marked), evaluations waiting for release, coaching actions overdue, refreshers overdue and
    due, notices not acknowledged, complaints overdue... the home page's cards that ask for
    something, plus what each domain adds for the week. Print it, or mail it from cron:
    `qm report digest --lead anna | mail -s "QM digest" anna@example.com`."""
    import json

    from qm import digest
    from qm.app import create_app

    try:
        wanted = digest.Week.parse(week) if week else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--week") from None
    app = create_app({"data_dir": ctx.settings.data_dir,
                      "database_url": ctx.settings.database_url})
    with ctx.session() as session:
        lead = resolve_actor(session, lead_name)
        result = digest.build(app, session, lead, wanted)
    app.extensions["qm"]["engine"].dispose()
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2, ensure_ascii=False, default=str))
    else:
        click.echo(result.as_text(), nl=False)


main.add_command(interactions)
main.add_command(retention)
main.add_command(notifications)


def _add_domain_commands() -> None:
    domains.load()  # their receivers: a chat imported from the shell is redacted too
    for name in DOMAINS:
        if importlib.util.find_spec(f"{name}.cli") is not None:
            module = importlib.import_module(f"{name}.cli")
            for command in getattr(module, "COMMANDS", ()):
                main.add_command(command)


_add_domain_commands()
