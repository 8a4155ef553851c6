"""The bounded parameter types of every `qm` command, core and domains alike, in one place.

A bad value (zero where a count is needed, a number so large that a date or a process pool
would overflow, a week that does not exist, an unknown time zone, a missing file) is refused by
click before the command runs, as a usage error that names the option and exits 2 (a malformed
week exits 1, as `qm sample` always did), never as a traceback from deep inside. The domains
(scoring, transcription, ...) import these; this module imports nothing from them.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from qm.inputs import MAX_ID

# Seeds: what numpy's generators and every database integer column take.
MAX_SEED = 2**32 - 1
# Days ahead or back: 100 years, so that now +/- the period is still a date.
MAX_DAYS = 36_500
# A year of an ISO week: the week after it (where the sample's work is spread) is a date too.
MIN_YEAR, MAX_YEAR = 1900, 2999


class FiniteFloatRange(click.FloatRange):
    """A ``FloatRange`` that also refuses ``nan`` (which compares false with both bounds, so
    that a plain range lets it through) and ``inf``."""

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        result = super().convert(value, param, ctx)
        if not math.isfinite(result):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return result


class AutoOrCount(click.ParamType):
    """``auto`` (converted to None: the command decides) or a whole number in ``low..high``."""

    name = "auto|N"

    def __init__(self, low: int, high: int) -> None:
        self.low, self.high = low, high

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> int | None:
        if isinstance(value, int) and not isinstance(value, bool) \
                and self.low <= value <= self.high:
            return value
        text = str(value).strip().lower()
        if text == "auto":
            return None
        try:
            count = int(text)
        except ValueError:
            count = None
        if count is None or not self.low <= count <= self.high:
            self.fail(f"{value!r} is neither auto nor a whole number >= {self.low} and "
                      f"<= {self.high}.", param, ctx)
        return count


class _WeekError(click.BadParameter):
    """``qm sample`` has always ended with status 1 for a malformed week; it still does."""

    exit_code = 1


class WeekType(click.ParamType):
    """An ISO week, ``YYYY-Www`` (``2026-W47``; the W in either case), converted to its
    canonical spelling. Week 53 only in the years that have one."""

    name = "YYYY-Www"
    _PATTERN = re.compile(r"(\d{4})-W(\d{2})", re.ASCII | re.IGNORECASE)

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> str:
        match = self._PATTERN.fullmatch(str(value).strip())
        if not match:
            raise _WeekError(f"{value!r} is not an ISO week; write it like 2026-W47.",
                             ctx, param)
        year, week = int(match[1]), int(match[2])
        if not MIN_YEAR <= year <= MAX_YEAR:
            raise _WeekError(f"{value!r}: the year must be from {MIN_YEAR} to {MAX_YEAR}.",
                             ctx, param)
        weeks = dt.date(year, 12, 28).isocalendar()[1]  # 28 December is in the last week
        if not 1 <= week <= weeks:
            raise _WeekError(f"{value!r} is not a week of that year: {year} has weeks 01 to "
                             f"{weeks}.", ctx, param)
        return f"{year}-W{week:02d}"


class TimeZoneType(click.ParamType):
    """An IANA time zone name (``Europe/Paris``, ``UTC``), checked against the tz database."""

    name = "zone"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> str:
        text = str(value).strip()
        try:
            ZoneInfo(text)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            self.fail(f"unknown time zone {value!r}; use a name such as Europe/Paris or UTC.",
                      param, ctx)
        return text


class OutputFile(click.Path):
    """A file to write (or append to): not a folder, in a folder that exists and that this
    user may write in."""

    def __init__(self) -> None:
        super().__init__(dir_okay=False, writable=True, path_type=Path)

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        path = super().convert(value, param, ctx)
        folder = Path(path).absolute().parent
        if not folder.is_dir():
            self.fail(f"{click.format_filename(value)!r}: its folder does not exist.", param,
                      ctx)
        if not Path(path).exists() and not os.access(folder, os.W_OK):
            self.fail(f"{click.format_filename(value)!r}: its folder is not writable.", param,
                      ctx)
        return path


class AuditAnchorType(click.ParamType):
    """``SEQ:HASH`` as ``qm audit head`` prints it: converted to ``(seq, hash)``."""

    name = "SEQ:HASH"
    _PATTERN = re.compile(r"([0-9]{1,19}):([0-9a-fA-F]{64})")

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> tuple[int, str]:
        if isinstance(value, tuple):
            return value
        match = self._PATTERN.fullmatch(str(value).strip())
        if not match or not 1 <= int(match[1]) <= 2**63 - 1:
            self.fail("use SEQ:HASH as printed by `qm audit head`", param, ctx)
        return int(match[1]), match[2].lower()


# --- the types the commands use; a range here is the range its help text states ----------------

Days = click.IntRange(1, MAX_DAYS)
RowId = click.IntRange(1, MAX_ID)
Version = click.IntRange(1, MAX_ID)
Seed = click.IntRange(0, MAX_SEED)
Port = click.IntRange(0, 65_535)
Threads = click.IntRange(1, 1024)
Processes = AutoOrCount(1, 1024)
ChunkSize = click.IntRange(1, 10_000)  # 2 parameters a row: PostgreSQL binds 65,535 at most
Resamples = click.IntRange(1, 100_000)
BeamSize = click.IntRange(1, 64)
BatchSize = AutoOrCount(0, 256)
GroupFiles = click.IntRange(1, 10_000)
MinExamples = click.IntRange(10, 1_000_000)
Timeout = FiniteFloatRange(0.1, 7 * 24 * 3600)
Score = FiniteFloatRange(0, 100)
AUC = FiniteFloatRange(0.5, 1.0)
Share = FiniteFloatRange(0.0, 1.0, min_open=True)  # 0.8 is 80%; 0 is no target
Week = WeekType()
TimeZone = TimeZoneType()
AuditAnchor = AuditAnchorType()
InputFile = click.Path(exists=True, dir_okay=False, readable=True, path_type=Path)


def read_json(path: Path) -> Any:
    """The JSON document in ``path``, or a one-line error naming the file."""
    try:
        return json.loads(path.read_text("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise click.ClickException(f"{path.name} is not JSON: {exc}") from None
