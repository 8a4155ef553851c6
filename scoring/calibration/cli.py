"""`qm reliability FILE.csv`: inter-rater agreement of a table of ratings, without a database.

The command reads and checks the file (so that a mistake is reported with its line), then hands
the table to :func:`scoring.reliability.compute`, the function the calibration pages use too.
numpy is imported only when the command runs, so that `qm --help` stays quick.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import click

from qm import cli_types

_INTEGER = re.compile(r"[+-]?\d+")


_DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _cell(text: str) -> Any:
    """An empty cell is a missing rating; a number reads as a number (so "3" and "3.0" are one
    category); anything else stays text, which nominal statistics take as it is."""
    text = text.strip()
    if not text:
        return None
    if _INTEGER.fullmatch(text):
        return int(text)
    if _DECIMAL.fullmatch(text):
        return float(text)
    return text


class _Table:
    """The parsed file: unit ids, rater names, rows of values and the line each row came from."""

    def __init__(self, path: Path) -> None:
        self.name = path.name
        self.units: list[str] = []
        self.raters: list[str] = []
        self.rows: list[list[Any]] = []
        self.lines: list[int] = []
        try:
            with path.open(newline="", encoding="utf-8-sig") as stream:
                self._read(csv.reader(stream))
        except UnicodeDecodeError as exc:
            raise click.ClickException(f"{self.name} is not UTF-8 text: {exc}") from None
        except csv.Error as exc:
            raise click.ClickException(f"{self.name}: not a readable CSV file: {exc}") from None

    def fail(self, line: int | None, message: str) -> click.ClickException:
        where = f"{self.name}:{line}" if line else self.name
        return click.ClickException(f"{where}: {message}")

    def _read(self, reader: Any) -> None:
        header = next((row for row in reader if any(cell.strip() for cell in row)), None)
        if header is None:
            raise self.fail(None, "the file is empty; expected a header row (unit, then one "
                                  "column per rater)")
        if len(header) < 2:
            raise self.fail(reader.line_num, "the header needs a unit column and at least one "
                                             "rater column")
        self.raters = [name.strip() or f"rater {i}" for i, name in enumerate(header[1:], 1)]
        first_line: dict[str, int] = {}
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            line = reader.line_num
            unit = row[0].strip()
            if not unit:
                raise self.fail(line, "the unit id (first column) is empty")
            values = row[1:]
            if len(values) != len(self.raters):
                plural = "" if len(values) == 1 else "s"
                raise self.fail(line, f"unit {unit!r} has {len(values)} value{plural} for "
                                      f"{len(self.raters)} raters")
            if unit in first_line:
                raise self.fail(line, f"unit {unit!r} appears twice (first on line "
                                      f"{first_line[unit]})")
            first_line[unit] = line
            self.units.append(unit)
            self.rows.append([_cell(value) for value in values])
            self.lines.append(line)
        if not self.rows:
            raise self.fail(None, "no units: the file has a header but no rows")

    def require(self, purpose: str, categories: list[Any] | None) -> None:
        """Check every value against what the statistic needs, before computing anything, so
        that the message can name the line."""
        for unit, row, line in zip(self.units, self.rows, self.lines, strict=True):
            for rater, value in zip(self.raters, row, strict=True):
                if value is None:
                    continue
                if categories is not None and value not in categories:
                    shown = ", ".join(str(c) for c in categories)
                    raise self.fail(line, f"unit {unit!r}, rater {rater!r}: {value!r} is not one "
                                          f"of the --categories ({shown})")
                if categories is None and purpose and isinstance(value, str):
                    raise self.fail(line, f"unit {unit!r}, rater {rater!r}: {value!r} is not a "
                                          f"number ({purpose})")


def _numbers_needed(metric: str, level: str, weights: str | None,
                    categories: list[Any] | None) -> str:
    """Why this statistic needs numbers ("" when it takes any values)."""
    if metric == "icc":
        return "ICC needs numbers"
    if metric == "alpha" and level in ("interval", "ratio"):
        return f"{level} needs numbers"
    if categories is None and metric == "alpha" and level == "ordinal":
        return "ordinal needs numbers, or --categories in their order"
    if categories is None and metric == "cohen" and weights:
        return "weighted kappa needs numbers, or --categories in their order"
    return ""


def _explicit(ctx: click.Context, name: str) -> bool:
    source = ctx.get_parameter_source(name)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


@click.command("reliability")
@click.argument("csv_file", type=cli_types.InputFile)
@click.option("--metric", required=True,
              type=click.Choice(["alpha", "fleiss", "cohen", "icc", "agreement"]),
              help="alpha: Krippendorff's alpha (any raters, gaps allowed); fleiss: Fleiss' kappa "
                   "(categories, same number of ratings per unit); cohen: Cohen's kappa (exactly "
                   "two raters); icc: intraclass correlation (numbers, no gaps); agreement: share "
                   "of agreeing pairs (not chance-corrected).")
@click.option("--level", type=click.Choice(["nominal", "ordinal", "interval", "ratio"]),
              help="alpha only: what a difference between two values means. Default: nominal.")
@click.option("--weights", type=click.Choice(["linear", "quadratic"]),
              help="cohen only: weight disagreements by distance between ordered categories.")
@click.option("--form", default="2,1", show_default=True,
              help="icc only: Shrout & Fleiss form 1,1 2,1 3,1 1,k 2,k 3,k.")
@click.option("--categories", metavar="A,B,C",
              help="The categories in their order (low to high), e.g. poor,fair,good: lets "
                   "ordinal alpha and weighted kappa use text values; any value not listed is "
                   "an error.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--no-ci", is_flag=True,
              help="Skip the bootstrap confidence interval (it is the slow part).")
@click.option("--resamples", default=1000, show_default=True, type=cli_types.Resamples,
              help="Bootstrap resamples of the units.")
@click.option("--seed", default=0, show_default=True, type=cli_types.Seed,
              help="The same seed and file give the same interval.")
@click.pass_context
def reliability(ctx: click.Context, csv_file: Path, metric: str, level: str | None,
                weights: str | None, form: str, categories: str | None, as_json: bool,
                no_ci: bool, resamples: int, seed: int) -> None:
    """How far the raters in CSV_FILE agree, with a 95% bootstrap interval over units.

    CSV_FILE has a header row, then one row per unit: the unit id in the first column, then one
    column per rater. An empty cell is a missing rating; numbers are read as numbers. Needs no
    database. Exit status 1, with the line named, when the file or the data do not fit the
    statistic (for instance every rating is the same, so chance agreement is undefined).
    """
    from scoring.calibration import reliability

    for name, applies in (("level", "alpha"), ("weights", "cohen"), ("form", "icc")):
        if metric != applies and _explicit(ctx, name):
            raise click.UsageError(f"--{name} applies to --metric {applies} only.")
    try:
        reliability.normalize_icc_form(form)
    except reliability.AgreementError:
        pass  # "2,5" is well formed; whether the file has 5 raters is checked with the data
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--form") from None
    order = [_cell(c) for c in categories.split(",")] if categories is not None else None
    if order is not None and (metric == "icc" or level in ("interval", "ratio")):
        raise click.UsageError("--categories applies to categories, not to numbers: not to icc "
                               "nor to interval or ratio alpha.")
    level = level or ("nominal" if metric == "alpha" else None)

    table = _Table(csv_file)
    table.require(_numbers_needed(metric, level or "", weights, order), order)
    try:
        result = reliability.compute(metric, table.rows, level=level, weights=weights, ci=not no_ci,
                             seed=seed, form=form, categories=order, labels=table.units,
                             raters=table.raters, n_resamples=resamples)
    except reliability.AgreementError as exc:
        line = table.lines[exc.unit] if exc.unit is not None else None
        raise table.fail(line, str(exc)) from None

    if as_json:
        payload = result.as_dict()
        payload.update(file=str(csv_file), ci_level=None if no_ci else 0.95,
                       n_resamples=None if no_ci else resamples, seed=None if no_ci else seed)
        click.echo(json.dumps(payload))
        return
    click.echo(f"{result.detail}: {result.value:.3f}")
    if result.ci_low is not None and result.ci_high is not None:
        click.echo(f"95% CI {result.ci_low:.3f} to {result.ci_high:.3f} (percentile bootstrap "
                   f"over units, {resamples} resamples, seed {seed})")
    elif not no_ci:
        click.echo("95% CI: none (one unit only, or the statistic is undefined in more than half "
                   "of the resamples)")
    click.echo(f"{result.n_units} units, {result.n_raters} raters ({csv_file.name})")
