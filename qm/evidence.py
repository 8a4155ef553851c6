"""The evidence pack (ISO 18295-1 clause 6): one zip an auditor is handed, holding what they ask
for (the competency framework and matrix, training and coaching records, the monitoring sample,
the scoring forms and evaluations, calibration, complaints, the audit chain's state), with an
``index.html`` that links every file and a ``manifest.json`` that a script can check.

The core names no domain: each domain adds its files through sections registered here. A
section is a function ``(session, actor, scope) -> iterable of EvidenceFile``, registered with
``@section(order)`` in a module named ``evidence`` of a domain or of one of its capabilities
(``scoring/evidence.py``, ``scoring/kpis/evidence.py``); ``load()`` imports them by name, as
``qm.domains`` does the receivers, so the pack is the same from a page and from the shell.

Built entry by entry: each file is streamed into the zip (``ZipFile.open(name, "w")``) from rows
a query yields, while its SHA-256 and row count are taken, so a year of 500 agents never sits
in memory as a whole. No Flask here: the page and ``qm evidence`` both call ``build``.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import html
import importlib
import importlib.util
import io
import json
import pkgutil
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qm import audit, pdf
from qm.auth.models import Team, User, UserRole, team_leads
from qm.auth.permissions import require, scope_clause
from qm.config import DOMAINS, Settings
from qm.db import utcnow
from qm.errors import InvalidInput
from qm.spreadsheets import safe_csv_cell

PERMISSION = "evidence.build"
INDEX = "index.html"
INDEX_PDF = "index.pdf"
MANIFEST = "manifest.json"


# --- what a section gets and gives --------------------------------------------------------------

@dataclass(frozen=True)
class Scope:
    """What the pack covers: the days ``start`` to ``end`` (both included, UTC), and one team
    or the whole site."""

    start: dt.date
    end: dt.date
    team_id: int | None = None
    team_name: str = ""
    settings: Settings = field(default_factory=Settings, compare=False, repr=False)
    """The site's settings (its time zone, the complaint deadlines), as the app or the
    command has them."""

    @property
    def start_at(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time.min, tzinfo=dt.UTC)

    @property
    def end_before(self) -> dt.datetime:
        """The first instant after the period: times are kept in ``[start_at, end_before)``."""
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)

    def covers(self, at: dt.datetime | dt.date | None) -> bool:
        if at is None:
            return False
        if isinstance(at, dt.datetime):
            return self.start_at <= at < self.end_before
        return self.start <= at <= self.end


@dataclass
class EvidenceFile:
    """One file of the pack. ``rows``: a CSV, header first (each cell made safe to open in a
    spreadsheet); or ``chunks``: the bytes of any other file (JSON, HTML). Either is an
    iterator, consumed once while the entry is written."""

    path: str
    title: str
    description: str
    rows: Iterable[Sequence[Any]] | None = None
    chunks: Iterable[bytes] | None = None


Section = Callable[[Session, Any, Scope], Iterable[EvidenceFile]]

_SECTIONS: list[tuple[int, str, Section]] = []


def section(order: int) -> Callable[[Section], Section]:
    """Register a section; ``order`` places its files in the pack (core 0-99, scoring 100-199,
    competencies 200-299). Registering the same function twice keeps one."""

    def register(fn: Section) -> Section:
        name = f"{fn.__module__}.{fn.__qualname__}"
        if all(existing != name for _, existing, _fn in _SECTIONS):
            _SECTIONS.append((order, name, fn))
            _SECTIONS.sort(key=lambda item: (item[0], item[1]))
        return fn

    return register


def load() -> list[str]:
    """Import every ``evidence`` module of the domains and their capabilities (once: Python
    keeps the modules), lowest layer first; the names of the sections registered."""
    for domain in DOMAINS:
        if importlib.util.find_spec(domain) is None:
            continue
        package = importlib.import_module(domain)
        names = [f"{domain}.evidence"] + [
            f"{domain}.{info.name}.evidence"
            for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name)
            if info.ispkg]
        for name in names:
            if importlib.util.find_spec(name) is not None:
                importlib.import_module(name)
    return [name for _, name, _fn in _SECTIONS]


# --- the period and the team, as typed -----------------------------------------------------------

def scope_of(session: Session, start: dt.date | None, end: dt.date | None,
             team: str | None = None, settings: Settings | None = None) -> Scope:
    """The pack's scope from what a person typed: both days, the first not after the last;
    a team by its exact name (empty: the whole site)."""
    errors = {}
    if start is None:
        errors["start"] = "the first day, YYYY-MM-DD"
    if end is None:
        errors["end"] = "the last day, YYYY-MM-DD"
    if errors:
        raise InvalidInput("The period needs a first and a last day (YYYY-MM-DD).", errors)
    assert start is not None and end is not None
    if start > end:
        raise InvalidInput(f"The period starts on {start.isoformat()}, after its last day "
                           f"{end.isoformat()}: give the earlier day first.",
                           {"start": "after the last day"})
    settings = settings or Settings()
    if not (team or "").strip():
        return Scope(start, end, settings=settings)
    found = session.scalar(select(Team).where(Team.name == team.strip()))  # type: ignore[union-attr]
    if found is None:
        raise InvalidInput(f"No team named {team.strip()!r}.",  # type: ignore[union-attr]
                           {"team": "no such team"})
    return Scope(start, end, found.id, found.name, settings)


# --- building -----------------------------------------------------------------------------------

@dataclass
class Entry:
    path: str
    title: str
    description: str
    section: str
    kind: str  # csv, json, html, ...
    rows: int | None
    bytes: int
    sha256: str


@dataclass
class Manifest:
    start: str
    end: str
    team: str
    built_by: str
    built_at: str
    seconds: float
    audit: dict[str, Any]
    files: list[Entry] = field(default_factory=list)

    def to_json(self) -> bytes:
        data = asdict(self)
        return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


@dataclass(frozen=True)
class Built:
    manifest: Manifest
    manifest_sha256: str


class _Hashing(io.RawIOBase):
    """A write-only stream that passes bytes on and keeps their SHA-256 and count."""

    def __init__(self, target: IO[bytes]) -> None:
        self.target, self.sha, self.size = target, hashlib.sha256(), 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        data = bytes(data)
        self.sha.update(data)
        self.size += len(data)
        self.target.write(data)
        return len(data)


def _cell(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    return safe_csv_cell(value)


def _write(zf: zipfile.ZipFile, item: EvidenceFile, section_name: str) -> Entry:
    info = zipfile.ZipInfo(item.path, date_time=time.gmtime()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    rows: int | None = None
    with zf.open(info, "w", force_zip64=True) as raw:
        out = _Hashing(raw)
        if item.rows is not None:
            text = io.TextIOWrapper(io.BufferedWriter(out, 1 << 16), encoding="utf-8",
                                    newline="")
            writer = csv.writer(text)
            rows = -1  # the header is no row
            for row in item.rows:
                writer.writerow([_cell(v) for v in row])
                rows += 1
            text.flush()
            text.detach().flush()
            rows = max(rows, 0)
        else:
            for chunk in item.chunks or ():
                out.write(chunk)
    kind = item.path.rsplit(".", 1)[-1].lower()
    return Entry(item.path, item.title, item.description, section_name, kind, rows, out.size,
                 out.sha.hexdigest())


def build(session: Session, actor: Any, scope: Scope, target: IO[bytes] | str,
          *, progress: Callable[[str], None] | None = None) -> Built:
    """Write the pack for ``scope`` into ``target`` (a path or a binary file open for
    writing) and return its manifest; needs ``evidence.build``. Writes nothing to the database:
    the caller records the build (``record_built``) once the file is where it goes."""
    require(actor, PERMISSION)
    load()
    began = time.monotonic()
    built_by = audit.actor_identity(actor)[1]
    built_at = utcnow()
    seen: set[str] = set()
    entries: list[Entry] = []
    with zipfile.ZipFile(target, mode="w", compression=zipfile.ZIP_DEFLATED,
                         allowZip64=True) as zf:
        for _order, name, fn in list(_SECTIONS):
            for item in fn(session, actor, scope):
                if item.path in seen or item.path in (INDEX, INDEX_PDF, MANIFEST):
                    raise ValueError(f"two evidence files named {item.path!r} ({name})")
                seen.add(item.path)
                if progress is not None:
                    progress(item.path)
                entries.append(_write(zf, item, name.rsplit(".", 1)[0]))
        # Last, so that it states the chain as it stands after every query above.
        checked = audit.verify(session)
        head = audit.head(session)
        state = {"ok": checked.ok, "checked": checked.checked, "problem": checked.problem,
                 "head_seq": head[0] if head else None, "head_hash": head[1] if head else None}
        manifest = Manifest(scope.start.isoformat(), scope.end.isoformat(),
                            scope.team_name or "all teams", built_by,
                            built_at.isoformat(timespec="seconds"),
                            round(time.monotonic() - began, 2), state, entries)
        body = manifest.to_json()
        zf.writestr(MANIFEST, body)
        digest = hashlib.sha256(body).hexdigest()
        zf.writestr(INDEX, index_html(manifest, digest))
        zf.writestr(INDEX_PDF, index_pdf(manifest, digest))
    return Built(manifest, hashlib.sha256(body).hexdigest())


def record_built(session: Session, actor: Any, built: Built) -> audit.AuditEntry:
    """The audit entry of a pack handed out: with the manifest's SHA-256, an auditor can later
    prove which pack they were given (its manifest holds every file's SHA-256)."""
    m = built.manifest
    entry = audit.record(session, actor, "evidence.built", entity_type="evidence_pack",
                         entity_id=built.manifest_sha256,
                         after={"start": m.start, "end": m.end, "team": m.team,
                                "files": len(m.files), "seconds": m.seconds,
                                "manifest_sha256": built.manifest_sha256})
    session.flush()
    return entry


def _chain_text(state: dict[str, Any]) -> str:
    if state["ok"]:
        return (f"Audit log intact: {state['checked']} entries verified; head "
                f"{state['head_seq']}:{state['head_hash'] or ''}.")
    return (f"AUDIT LOG BROKEN: {state['problem']} ({state['checked']} entries before it "
            "verified).")


def index_pdf(manifest: Manifest, manifest_sha256: str) -> bytes:
    """The front page as a PDF to print and file (``qm.pdf``: no browser): the same facts as
    ``index.html``, each file with its title, what it holds, its rows, bytes and SHA-256."""
    blocks = [
        pdf.Block("title", "Evidence pack (ISO 18295-1 clause 6)"),
        pdf.Block("text", f"Period: {manifest.start} to {manifest.end} (both included, UTC "
                          "days)."),
        pdf.Block("text", f"Team: {manifest.team}."),
        pdf.Block("text", f"Built by {manifest.built_by}, {manifest.built_at} UTC, in "
                          f"{manifest.seconds} s."),
        pdf.Block("text", f"Manifest: {MANIFEST}, SHA-256 (the audit log's evidence.built "
                          "entry names it):"),
        pdf.Block("mono", manifest_sha256),
        pdf.Block("heading", "Audit chain"),
        pdf.Block("text", _chain_text(manifest.audit)),
        pdf.Block("heading", f"Files ({len(manifest.files)})"),
    ]
    for f in manifest.files:
        size = f"{f.bytes:,} bytes" + ("" if f.rows is None else f", {f.rows:,} rows")
        blocks += [pdf.Block("heading", f.path), pdf.Block("text", f"{f.title} ({size})."),
                   pdf.Block("small", f.description), pdf.Block("mono", f"SHA-256 {f.sha256}")]
    return pdf.document(f"Evidence pack {manifest.start} to {manifest.end}", blocks)


def index_html(manifest: Manifest, manifest_sha256: str) -> str:
    """The pack's front page: self-contained (one inline style, no script, no external
    asset), so it opens from the unzipped folder on any machine."""
    e = html.escape
    chain = (f"<p class={'ok' if manifest.audit['ok'] else 'bad'}>"
             f"{e(_chain_text(manifest.audit))}</p>")
    rows = "\n".join(
        f"<tr><td><a href=\"{e(f.path)}\">{e(f.path)}</a></td><td>{e(f.title)}</td>"
        f"<td>{e(f.description)}</td><td class=n>{'' if f.rows is None else f.rows}</td>"
        f"<td class=n>{f.bytes}</td><td><code>{f.sha256}</code></td></tr>"
        for f in manifest.files)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Evidence pack {e(manifest.start)} to {e(manifest.end)}</title>
<style>
body{{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}}
table{{border-collapse:collapse;width:100%}}td,th{{border:1px solid #ccc;padding:4px 6px;
vertical-align:top;text-align:left}}th{{background:#eee}}.n{{text-align:right}}
code{{font-size:11px;word-break:break-all}}.ok{{color:#0a6b2d}}.bad{{color:#a00;font-weight:bold}}
</style></head><body>
<h1>Evidence pack (ISO 18295-1 clause 6)</h1>
<dl>
<dt>Period</dt><dd>{e(manifest.start)} to {e(manifest.end)} (both included, UTC days)</dd>
<dt>Team</dt><dd>{e(manifest.team)}</dd>
<dt>Built by</dt><dd>{e(manifest.built_by)}, {e(manifest.built_at)} UTC,
in {manifest.seconds} s</dd>
<dt>Manifest</dt><dd><a href="{MANIFEST}">{MANIFEST}</a>, SHA-256
<code>{manifest_sha256}</code> (the audit log's <code>evidence.built</code> entry names it)</dd>
<dt>To print</dt><dd><a href="{INDEX_PDF}">{INDEX_PDF}</a>: this page as a PDF</dd>
</dl>
<h2>Audit chain</h2>
{chain}
<h2>Files</h2>
<table><thead><tr><th>File</th><th>Title</th><th>What it holds</th><th>Rows</th>
<th>Bytes</th><th>SHA-256</th></tr></thead>
<tbody>
{rows}
</tbody></table>
</body></html>
"""


# --- the core's own sections --------------------------------------------------------------------

def usernames(session: Session) -> dict[int, str]:
    """id -> username of every user: the ids the sections' rows hold, named once (a few
    thousand at most: cheaper than a join per row)."""
    return dict(session.execute(select(User.id, User.username)).all())


def team_names(session: Session) -> dict[int, str]:
    return dict(session.execute(select(Team.id, Team.name)).all())


@section(0)
def people(session: Session, actor: Any, scope: Scope) -> Iterator[EvidenceFile]:
    """Who is who: the users (with roles and team) and the teams, so that a name in any
    other file can be checked; with a team, that team's members and its leads."""

    def users() -> Iterator[Sequence[Any]]:
        yield ["user_id", "username", "name", "team", "roles", "active", "created_at"]
        roles: dict[int, list[str]] = {}
        for uid, role in session.execute(select(UserRole.user_id, UserRole.role)):
            roles.setdefault(uid, []).append(role)
        stmt = (select(User.id, User.username, User.display_name, Team.name, User.active,
                       User.created_at, User.team_id)
                .outerjoin(Team, Team.id == User.team_id)
                .where(scope_clause(actor, "user.view", User.id, User.team_id))
                .order_by(User.username).execution_options(yield_per=1000))
        if scope.team_id is not None:
            leads = select(team_leads.c.user_id).where(team_leads.c.team_id == scope.team_id)
            stmt = stmt.where((User.team_id == scope.team_id) | User.id.in_(leads))
        for uid, username, name, team, active, created, _team_id in session.execute(stmt):
            yield [uid, username, name, team or "", " ".join(sorted(roles.get(uid, []))),
                   active, created]

    def teams() -> Iterator[Sequence[Any]]:
        yield ["team_id", "team", "description", "active", "leads", "members"]
        stmt = select(Team).order_by(Team.name)
        if scope.team_id is not None:
            stmt = stmt.where(Team.id == scope.team_id)
        for team in session.scalars(stmt):
            yield [team.id, team.name, team.description, team.active,
                   " ".join(sorted(u.username for u in team.leads)), len(team.members)]

    yield EvidenceFile("people/users.csv", "Users",
                       "Every user (the team's members and leads with --team): roles, team, "
                       "whether active. Other files name people by username.", rows=users())
    yield EvidenceFile("people/teams.csv", "Teams", "Teams with their leads and head count.",
                       rows=teams())


def check_scope_team(row_team_id: int | None, scope: Scope) -> bool:
    """Whether a row of ``row_team_id`` belongs in a pack for ``scope``."""
    return scope.team_id is None or row_team_id == scope.team_id
