"""`qm notifications send`: mail what the outbox holds (run it from cron every few minutes)."""

from __future__ import annotations

import sys

import click

from qm.commands import CliContext, pass_ctx
from qm.notifications import services


@click.group()
def notifications() -> None:
    """Notifications: e-mail what is due."""


@notifications.command("send")
@pass_ctx
def send(ctx: CliContext) -> None:
    """E-mail the notifications that are due: each one at once to users who chose that (the
    default), and one digest a day to users who chose the daily digest.

    Run it often (every few minutes, from cron or a timer): a notification is marked sent only
    once the SMTP server accepted it, so a run cut short sends nothing twice. A refused message
    is named on stderr and retried at the next run, the others go on; exit status 1 if any was
    refused or the server could not be used. Needs QM_SMTP_URL and QM_MAIL_FROM; without
    QM_SMTP_URL it says so and does nothing (exit status 0).
    """
    if not ctx.settings.smtp_url:
        click.echo("E-mail is not configured (QM_SMTP_URL is empty): nothing was sent; "
                   "notifications are shown in the app only.")
        return
    with ctx.session() as session:
        report = services.send_due(session, ctx.settings, after_each=session.commit)
        session.commit()
    for problem in report.problems:
        click.echo(f"refused: {problem}", err=True)
    if report.stopped:
        click.echo(f"stopped: {report.stopped}", err=True)
    click.echo(f"{report.emails} e-mail(s) sent ({report.digests} digest(s)) carrying "
               f"{report.notices} notification(s); {len(report.problems)} refused; "
               f"{report.waiting} waiting for a digest; {report.unmailable} not to be mailed.")
    if not report.ok:
        sys.exit(1)
