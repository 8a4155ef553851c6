"""`qm sample`: run the weekly sampling."""

from __future__ import annotations

import click
from sqlalchemy import select

from qm import cli_types
from qm.commands import CliContext, actor_option, pass_ctx, resolve_actor
from scoring.sampling import services as sampling
from scoring.sampling.models import SamplingRule


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
