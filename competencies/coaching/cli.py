"""`qm coaching ...`: whether coaching worked, session by session."""

from __future__ import annotations

import json

import click
from sqlalchemy import select

from competencies.coaching import effect, queries
from qm.auth.models import Team
from qm.commands import CliContext, pass_ctx, resolve_actor


@click.group()
def coaching() -> None:
    """Coaching sessions and whether they worked."""


@coaching.command("effectiveness")
@click.option("--team", "team_name", metavar="NAME", help="Only sessions of this team's agents.")
@click.option("--days", type=click.IntRange(1, 365), default=effect.WINDOW_DAYS,
              show_default=True, help="Days before and after a session whose scores count.")
@click.option("--json", "as_json", is_flag=True, help="A JSON object: sessions, per coach, "
                                                     "per team.")
@pass_ctx
def effectiveness(ctx: CliContext, team_name: str | None, days: int, as_json: bool) -> None:
    """Per held session: the agent's scores on its focus before and after it, the change with
    its 95% interval and the verdict; then the share of sessions followed by improvement per
    coach and per team."""
    with ctx.session() as session:
        team_id = None
        if team_name is not None:
            team_id = session.scalar(select(Team.id).where(Team.name == team_name))
            if team_id is None:
                raise click.ClickException(f"No team named {team_name!r}; `qm teams list` "
                                           "shows them.")
        found = queries.effectiveness(session, resolve_actor(session, None), team_id=team_id,
                                      days=days)
        rows = [{"session_id": item.id, "agent": item.agent.username,
                 "coach": item.coach.username if item.coach else None,
                 "held_on": item.held_on.isoformat(), "n_before": e.n_before,
                 "n_after": e.n_after, "mean_before": e.mean_before,
                 "mean_after": e.mean_after, "difference": e.difference,
                 "ci_low": e.ci_low, "ci_high": e.ci_high, "verdict": e.verdict,
                 "reason": e.reason} for item, e in found.sessions]
    shares = {kind: {name: {"n": s.n, "improved": s.improved, "share": s.share,
                            "reason": s.reason} for name, s in group.items()}
              for kind, group in (("by_coach", found.by_coach), ("by_team", found.by_team))}
    if as_json:
        click.echo(json.dumps({"days": days, "sessions": rows, **shares}, indent=2,
                              ensure_ascii=False))
        return
    if not rows:
        click.echo("No held coaching session.")
        return
    for row in rows:
        change = ("-" if row["difference"] is None else f"{row['difference']:+.1f}"
                  + ("" if row["ci_low"] is None
                     else f" ({row['ci_low']:+.1f} to {row['ci_high']:+.1f})"))
        click.echo(f"#{row['session_id']} {row['held_on']} {row['agent']}: "
                   f"n {row['n_before']} -> {row['n_after']}, change {change}: "
                   f"{row['verdict']}")
    for kind, group in shares.items():
        for name, s in group.items():
            share = (f"{100 * s['share']:.0f}% of {s['n']}" if s["share"] is not None
                     else s["reason"])
            click.echo(f"{kind.replace('_', ' ')} {name}: {share}")
