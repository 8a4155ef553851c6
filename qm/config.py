"""Settings, read from environment variables so that one code base serves a laptop and a cluster.

Every setting has a default that works on one machine with SQLite; a large site overrides them
with ``QM_*`` variables (or passes a mapping to ``create_app``).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

# In layer order, lowest first (see "How the code is laid out" in the README): the demo builds
# each domain's part in this order, so a layer finds what the ones below it made.
DOMAINS = ("transcription", "scoring", "competencies")


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:  # a typo in deployment must not pass silently
        raise ValueError(f"{name} must be an integer, got {raw!r}") from exc


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _env_prefixed(prefix: str, *, but: tuple[str, ...] = ()) -> dict[str, str]:
    """Every variable whose name starts with ``prefix`` (except ``but``), as written."""
    return {name: value for name, value in sorted(os.environ.items())
            if name.startswith(prefix) and name not in but}


def debug_from_env() -> bool:
    """``QM_DEBUG=1``: let an unexpected error's own message and traceback through (the ``qm``
    command withholds them otherwise). Read on its own, since the error it reports may be a bad
    setting that stops ``Settings`` from being built."""
    return os.environ.get("QM_DEBUG") == "1"


@dataclass
class Settings:
    data_dir: Path = field(default_factory=lambda: Path(os.environ.get("QM_DATA_DIR", "instance")))
    database_url: str = ""
    secret_key: str = ""
    # Cookies are marked Secure when the site says it is served over HTTPS (QM_SECURE_COOKIES=1).
    secure_cookies: bool = field(default_factory=lambda: _env_bool("QM_SECURE_COOKIES", False))
    max_upload_mb: int = field(default_factory=lambda: _env_int("QM_MAX_UPLOAD_MB", 200))
    login_rate_limit: str = field(
        default_factory=lambda: os.environ.get("QM_LOGIN_RATE_LIMIT", "10 per minute")
    )
    login_address_rate_limit: str = field(
        default_factory=lambda: os.environ.get("QM_LOGIN_ADDRESS_RATE_LIMIT", "50 per minute")
    )
    # Reverse proxies in front of qm whose X-Forwarded-* headers are trusted (0: none).
    proxy_hops: int = field(default_factory=lambda: _env_int("QM_PROXY_HOPS", 0))
    rate_limit_storage: str = field(
        default_factory=lambda: os.environ.get("QM_RATE_LIMIT_STORAGE", "memory://")
    )
    # The speech model (QM_WHISPER_MODEL): "" for the bundled tiny.en, a model directory, or a
    # model already in the local Hugging Face cache. The other QM_WHISPER_* are in ``whisper``.
    whisper_model: str = field(default_factory=lambda: os.environ.get("QM_WHISPER_MODEL", ""))
    recordings_dir: Path | None = None
    # The site's time zone: where a sampling week and a report's month begin and end.
    timezone: str = field(default_factory=lambda: os.environ.get("QM_TIMEZONE", "UTC"))
    # Evaluations reach the agent at submission ("immediate") or when a lead releases them
    # ("review"); the agent may dispute within a window, a limited number of times.
    release_mode: str = field(
        default_factory=lambda: os.environ.get("QM_RELEASE_MODE", "immediate"))
    dispute_window_days: int = field(
        default_factory=lambda: _env_int("QM_DISPUTE_WINDOW_DAYS", 14))
    max_disputes: int = field(default_factory=lambda: _env_int("QM_MAX_DISPUTES", 2))
    # Calendar days a reviewer has to decide a dispute (QM_DISPUTE_REVIEW_DAYS): the disputes
    # list marks an open one older than this as overdue.
    dispute_review_days: int = field(
        default_factory=lambda: _env_int("QM_DISPUTE_REVIEW_DAYS", 5))
    # Points of deviation (from peers, or from a calibration's consensus) that raise a drift
    # alert on an evaluator.
    drift_threshold: int = field(default_factory=lambda: _env_int("QM_DRIFT_THRESHOLD", 5))
    page_size: int = field(default_factory=lambda: _env_int("QM_PAGE_SIZE", 50))
    # Days a call recording is kept (`qm retention apply`); checked by the command, which says
    # what is wrong with a bad value. Empty: 365.
    retention_days: str = field(default_factory=lambda: os.environ.get("QM_RETENTION_DAYS", ""))
    # --- transcription's (transcription.settings builds its settings objects from these) ---
    # Those kept as written are parsed by transcription, which names the variable of a bad
    # value where it is used (as QM_RETENTION_DAYS is by its command).
    # How the speech model runs: the QM_WHISPER_* variables other than QM_WHISPER_MODEL, by
    # name (QM_WHISPER_DEVICE, _COMPUTE_TYPE, _BEAM_SIZE, _BATCH_SIZE, _VAD, _CPU_THREADS,
    # _LANGUAGE).
    whisper: dict[str, str] = field(
        default_factory=lambda: _env_prefixed("QM_WHISPER_", but=("QM_WHISPER_MODEL",)))
    # Keep a transcript's words before redaction as well (QM_KEEP_RAW_TRANSCRIPTS=1); shown
    # only to those with transcript.read_raw.
    keep_raw_transcripts: bool = field(
        default_factory=lambda: _env_bool("QM_KEEP_RAW_TRANSCRIPTS", False))
    # For flagging, an evaluation under this score found a problem (QM_FLAG_SCORE_BELOW, as
    # written; a number is taken too). Empty: 80.
    flag_score_below: str = field(
        default_factory=lambda: os.environ.get("QM_FLAG_SCORE_BELOW", ""))
    # The complaint register's clock, as written (a number is taken too), parsed by
    # scoring.complaints, which names the variable of a bad value: hours to acknowledge
    # (QM_COMPLAINT_ACK_HOURS; empty: 24), working days to respond
    # (QM_COMPLAINT_RESPONSE_DAYS; empty: 5), working days to resolve
    # (QM_COMPLAINT_RESOLVE_WORKING_DAYS; empty: 15) and hours to answer an escalation
    # (QM_COMPLAINT_ESCALATION_HOURS; empty: 48).
    complaint_ack_hours: str = field(
        default_factory=lambda: os.environ.get("QM_COMPLAINT_ACK_HOURS", ""))
    complaint_response_days: str = field(
        default_factory=lambda: os.environ.get("QM_COMPLAINT_RESPONSE_DAYS", ""))
    complaint_resolve_working_days: str = field(
        default_factory=lambda: os.environ.get("QM_COMPLAINT_RESOLVE_WORKING_DAYS", ""))
    complaint_escalation_hours: str = field(
        default_factory=lambda: os.environ.get("QM_COMPLAINT_ESCALATION_HOURS", ""))
    # Operational KPI targets (QM_KPI_TARGETS), JSON as written, parsed by scoring.kpis, which
    # names the variable of a bad value; empty: FCR at least 70%, ASA at most 30 s on voice and
    # under 60 s on chat, abandonment under 5%.
    kpi_targets: str = field(default_factory=lambda: os.environ.get("QM_KPI_TARGETS", ""))
    # Redaction of spoken numbers in calls, as written (a number is taken too): the longest
    # pause inside one, in seconds (QM_REDACT_NUMBER_GAP_S; empty: 1.5), and how many digits
    # make a run redacted whatever it is (QM_REDACT_MIN_DIGITS, at least 5; empty: 6).
    redact_number_gap_s: str = field(
        default_factory=lambda: os.environ.get("QM_REDACT_NUMBER_GAP_S", ""))
    redact_min_digits: str = field(
        default_factory=lambda: os.environ.get("QM_REDACT_MIN_DIGITS", ""))
    # The Celery broker, result backend and queue of `qm transcribe --queue` and `qm worker`
    # (QM_BROKER_URL, QM_RESULT_BACKEND, QM_TRANSCRIBE_QUEUE); empty: transcription's defaults.
    broker_url: str = field(default_factory=lambda: os.environ.get("QM_BROKER_URL", ""))
    result_backend: str = field(default_factory=lambda: os.environ.get("QM_RESULT_BACKEND", ""))
    transcribe_queue: str = field(
        default_factory=lambda: os.environ.get("QM_TRANSCRIBE_QUEUE", ""))
    # Threads each pool process of `qm worker` gives its model (QM_WORKER_CPU_THREADS, as
    # written; a number is taken too). Empty or 0: the worker decides (QM_WHISPER_CPU_THREADS,
    # else OMP_NUM_THREADS, else cores // processes).
    worker_cpu_threads: str = field(
        default_factory=lambda: os.environ.get("QM_WORKER_CPU_THREADS", ""))
    # E-mail of notifications (`qm notifications send`): the SMTP server, as written
    # (QM_SMTP_URL: smtp://user:pass@host:587?starttls=1, smtps://host, smtp://host:25; parsed
    # by qm.notifications.mail, which names the variable of a bad value; empty: no e-mail), the
    # sender's address (QM_MAIL_FROM), and the site's address that e-mailed links start with
    # (QM_SITE_URL, e.g. https://qm.example.com).
    smtp_url: str = field(default_factory=lambda: os.environ.get("QM_SMTP_URL", ""))
    mail_from: str = field(default_factory=lambda: os.environ.get("QM_MAIL_FROM", ""))
    site_url: str = field(default_factory=lambda: os.environ.get("QM_SITE_URL", ""))

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir)
        if self.release_mode not in ("immediate", "review"):
            raise ValueError(f"QM_RELEASE_MODE must be 'immediate' or 'review', "
                             f"got {self.release_mode!r}")
        if not self.database_url:
            self.database_url = os.environ.get("QM_DATABASE_URL") or (
                f"sqlite:///{(self.data_dir / 'qm.sqlite3').resolve()}"
            )
        if self.recordings_dir is None:
            env = os.environ.get("QM_RECORDINGS_DIR")
            self.recordings_dir = Path(env) if env else self.data_dir / "recordings"
        if not self.secret_key:
            self.secret_key = os.environ.get("QM_SECRET_KEY") or self._stored_secret_key()

    def _stored_secret_key(self) -> str:
        """A per-installation key kept in the data directory, so sessions survive restarts."""
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
