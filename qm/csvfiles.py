"""Reading an import's CSV the same way everywhere (interactions, training records, holidays):
UTF-8 with or without a BOM, a header matched by column name in any case, rows numbered by their
line in the file, a row the reader cannot parse reported as where the import stopped, and what
an import of rows that go in one by one reports (``ImportReport``)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import BinaryIO, NamedTuple

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError

from qm.errors import InvalidInput


def reader(stream: BinaryIO | io.TextIOBase) -> csv.DictReader:
    text = (io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
            if not isinstance(stream, io.TextIOBase) else stream)
    # strict: a stray quote is an error on its line, not a field that swallows the rest.
    return csv.DictReader(text, strict=True)


def header(rows: csv.DictReader, required: Iterable[str], optional: Iterable[str], *,
           aliases: Mapping[str, str] | None = None) -> tuple[dict[str, str], list[str]]:
    """The file's column names mapped to ours (any case; spaces as underscores; ``aliases``),
    and a warning per column that is not ours. A header without a required column is refused
    as a whole: ``InvalidInput`` naming what is missing, nothing read."""
    required, optional = tuple(required), tuple(optional)
    try:
        names = rows.fieldnames
    except (UnicodeDecodeError, csv.Error):
        raise InvalidInput("The file is not UTF-8 text; save it as CSV (UTF-8).") from None
    if not names:
        raise InvalidInput("The file is empty: it needs a header row with at least "
                           f"{', '.join(required)}.")
    mapping: dict[str, str] = {}
    warnings = []
    for name in names:
        key = (name or "").strip().lower().replace(" ", "_")
        key = (aliases or {}).get(key, key)
        if key in required + optional and key not in mapping.values():
            mapping[name] = key
        else:
            warnings.append(f"column {name!r} is not one qm knows; it was ignored")
    missing = [c for c in required if c not in mapping.values()]
    if missing:
        raise InvalidInput(f"The header lacks the column(s) {', '.join(missing)}; nothing was "
                           f"imported. Columns: {', '.join(required)} (required), "
                           f"{', '.join(optional)} (optional).")
    return mapping, warnings


@dataclass(frozen=True)
class Row:
    line: int
    values: dict[str, str]  # our column names -> the cells
    extra_cells: bool  # more cells than the header has columns


class RowError(NamedTuple):
    """A row an import refused: its line in the file and why, in words."""

    line: int
    reason: str


@dataclass
class ImportReport:
    """An import whose good rows go in and whose bad ones are reported by line."""

    rows: int = 0
    created: int = 0
    already_there: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class Unreadable:
    line: int
    reason: str


def numbered(rows: csv.DictReader, mapping: Mapping[str, str]) -> Iterator[Row | Unreadable]:
    """Each row with the line it starts on; after a row the reader cannot parse (a broken
    quote, bad encoding), one ``Unreadable`` that says what follows was not read, and no more
    (rather than pretend the file ended there)."""
    while True:
        line = rows.line_num + 1
        try:
            row = next(rows)
        except StopIteration:
            return
        except (csv.Error, UnicodeDecodeError) as exc:
            yield Unreadable(line, f"unreadable row ({exc}); this line and every line after it "
                                   "were not imported: fix the file and import it again (what "
                                   "was imported is skipped)")
            return
        yield Row(line, {mapping[k]: v for k, v in row.items() if k in mapping},
                  None in row)


def refusal(exc: DBAPIError) -> str:
    """Why the database refused a row, in words and without its values (a row's text is
    personal data; the database's own message may quote it)."""
    if isinstance(exc, IntegrityError):
        return "the database refused this row: it breaks one of its rules (a duplicate or a " \
               "missing reference); nothing of it was imported"
    if isinstance(exc, DataError):
        return "the database refused this row: a value is out of the range it can store; " \
               "nothing of it was imported"
    return f"the database refused this row ({type(exc.orig).__name__}); nothing of it was " \
           "imported"
