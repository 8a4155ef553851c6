"""The per-file work: hash, decode, transcribe, redact, measure, link, store, in that order.

Files come in groups (``plan``): a long file alone, short files together, so that their speech
shares Whisper's windows; only the transcription call is shared. The same ``process_group``
runs in ``qm transcribe``, its ``--workers`` processes and the Celery workers. Its contract:

* A file is known by the SHA-256 of its content: a job per hash. A file whose job is done is
  skipped, so a batch can be run again at any time and only does what is left.
* The transcript, its interaction link and the job's "done" are written in one transaction: a
  process killed at any point (even ``kill -9``) leaves either nothing or a whole transcript,
  and the next run redoes a job that was left "running".
* A file that cannot be used (missing, empty, not audio, corrupt, silent, no interaction to
  attach it to) marks its job failed with the reason in words, and the batch goes on.

Never imports Flask.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from qm.db import settings_of, utcnow
from qm.storage import RecordingStore
from transcription import flagging
from transcription import metrics as call_metrics
from transcription.audio import AudioError, content_hash, decode, probe_duration
from transcription.decoding import PACK_MAX_S, DecodedCall
from transcription.flagging import services as flag_services
from transcription.linking import LinkError, link
from transcription.model_files import TranscriberError
from transcription.models import JobStatus, TranscriptionJob
from transcription.redaction import redact_segments
from transcription.settings import redaction_rules
from transcription.store import segment_json, store_transcript


@dataclass
class FileResult:
    """One input file's outcome: a line of ``--jsonl`` and a line of the summary."""

    path: str
    status: str  # done, skipped, failed
    error: str = ""
    sha256: str = ""
    duration_s: float = 0.0
    language: str = ""
    text: str = ""
    model: str = ""
    segments: list[dict[str, Any]] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    redactions: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    interaction_id: int | None = None
    elapsed_s: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "path": self.path, "status": self.status, "error": self.error or None,
            "sha256": self.sha256, "duration_s": round(self.duration_s, 2),
            "language": self.language, "text": self.text, "model": self.model,
            "segments": [{k: s[k] for k in ("start", "end", "speaker", "text")}
                         for s in self.segments],
            "metrics": self.metrics, "redactions": self.redactions, "warnings": self.warnings,
            "interaction_id": self.interaction_id, "elapsed_s": round(self.elapsed_s, 3),
        }


@dataclass(frozen=True)
class Options:
    """What a batch was asked to do, the same for every file (and every worker)."""

    channel_speakers: tuple[str, ...] = ("agent", "customer")
    keep_raw: bool = False
    agent: str | None = None  # the agent of interactions made for files that match none
    timezone: str = "UTC"
    metadata: dict[str, dict[str, str]] = field(default_factory=dict)  # file name -> fields


def _job(session: Session, sha256: str, path: Path) -> TranscriptionJob:
    job = session.scalar(select(TranscriptionJob).where(TranscriptionJob.sha256 == sha256))
    if job is not None:
        return job
    job = TranscriptionJob(sha256=sha256, path=str(path), size_bytes=path.stat().st_size)
    session.add(job)
    try:
        session.commit()
    except IntegrityError:  # another worker registered the same content a moment ago
        session.rollback()
        job = session.scalar(select(TranscriptionJob).where(TranscriptionJob.sha256 == sha256))
        assert job is not None
    return job


def _fail(session: Session, job: TranscriptionJob | None, result: FileResult,
          reason: str) -> FileResult:
    session.rollback()
    if job is not None:
        job = session.get(TranscriptionJob, job.id)
        assert job is not None
        job.status = JobStatus.FAILED.value
        job.error = reason
        job.finished_at = utcnow()
        session.commit()
    result.status, result.error = "failed", reason
    return result


PACK_GROUP_S = 240.0
"""Short files are grouped until their declared lengths add up to this (or ``PACK_GROUP_FILES``
files): enough speech to fill a batch of 8 windows, little enough that a redelivered group (a
worker killed mid-group) redoes only a few minutes of audio."""


PACK_GROUP_FILES = 64


class Plan(list[list[Path]]):
    """The groups of a batch, in order, and ``audio_s``: their length in all, from the headers
    (a file that cannot be probed counts 0)."""

    audio_s: float = 0.0


def plan(paths: Iterable[str | os.PathLike[str]], *, group_s: float = PACK_GROUP_S,
         group_files: int = PACK_GROUP_FILES) -> Plan:
    """The units of work: a file of ``PACK_MAX_S`` or longer alone, shorter files together.

    Why groups: a short file transcribed alone pays for a whole 30 s window; in a group its
    channels share windows with the others' (``Transcriber.transcribe_many``). Why fixed here,
    before any work: the words of a packed file depend on its neighbours, so the in-process
    run, ``--workers N`` and the Celery workers must all be handed the same groups to give the
    same transcripts. Lengths come from the headers (``probe_duration``); a file that cannot be
    probed goes alone, and fails there with its reason. Groups are in the order of their first
    file.
    """
    groups = Plan()
    open_group: list[Path] | None = None
    open_s = 0.0
    for raw in paths:
        path = Path(raw)
        duration = probe_duration(path) if path.is_file() else None
        groups.audio_s += duration or 0.0
        if duration is None or duration >= PACK_MAX_S:
            groups.append([path])
            continue
        if open_group is None:
            open_group, open_s = [], 0.0
            groups.append(open_group)
        open_group.append(path)
        open_s += duration
        if open_s >= group_s or len(open_group) >= group_files:
            open_group = None
    return groups


def process_file(session_factory: Callable[[], Session], path: str | os.PathLike[str],
                 transcriber: Any, options: Options = Options(),
                 store: RecordingStore | None = None) -> FileResult:
    """Do one file end to end; never raises for a bad file (the result says what went wrong)."""
    return process_group(session_factory, [path], transcriber, options, store)[0]


@dataclass
class _Ready:
    """A file whose job is claimed and whose audio decoded: waiting for its transcript.
    Its ``result.elapsed_s`` holds the time its claim took; its share of the transcription and
    its own storing are added when it is finished."""

    result: FileResult
    job_id: int
    path: Path
    audio: Any
    duration_s: float = 0.0  # the recording's length, kept when ``audio`` is let go


def process_group(session_factory: Callable[[], Session],
                  paths: Iterable[str | os.PathLike[str]], transcriber: Any,
                  options: Options = Options(), store: RecordingStore | None = None
                  ) -> list[FileResult]:
    """Do a group of files (see ``plan``) end to end, one result per path, in their order.

    Every file keeps its own job, its own failure and its own transaction: the group only
    shares the transcription call, so a corrupt file in a group fails alone and a file stored
    is stored whole. A file whose content already appeared earlier in the group is reported
    like a re-run of it (skipped) once the first is done.
    """
    results: list[FileResult] = []
    ready: list[_Ready] = []
    seen: dict[str, int] = {}  # sha256 -> job id of the first file with that content
    later: list[tuple[FileResult, int]] = []  # duplicates, settled after the group
    session = session_factory()
    try:
        for raw in paths:
            started = time.perf_counter()
            result = FileResult(path=str(Path(raw)), status="failed")
            results.append(result)
            claimed = _claim(session, Path(raw), result, seen)
            if isinstance(claimed, int):
                later.append((result, claimed))
            elif claimed is not None:
                ready.append(_Ready(result, claimed[0], Path(raw), claimed[1],
                                    claimed[1].duration_s))
            result.elapsed_s = time.perf_counter() - started
        if ready:
            try:
                heard = transcriber.transcribe_many(
                    [r.audio for r in ready], channel_speakers=options.channel_speakers)
            except TranscriberError:
                # Not these files' fault (the model is missing or will not load): leave their
                # jobs to be redone and stop the batch, rather than fail every file for it.
                session.rollback()
                for item in ready:
                    job = session.get(TranscriptionJob, item.job_id)
                    if job is not None:
                        job.status = JobStatus.PENDING.value
                session.commit()
                raise
            for item, decoded in zip(ready, heard, strict=True):
                item.audio = None  # free the samples as soon as they are not needed
                _finish(session, item, decoded, options, store)
        for result, job_id in later:
            job = session.get(TranscriptionJob, job_id)
            session.refresh(job)
            if job.status == JobStatus.DONE.value:
                result.status, result.interaction_id = "skipped", job.interaction_id
            else:
                result.error = job.error or "its first copy in this batch was not transcribed"
        return results
    finally:
        session.close()


def _claim(session: Session, path: Path, result: FileResult, seen: dict[str, int]
           ) -> tuple[int, Any] | int | None:
    """Hash the file, find or make its job, mark it running and decode the audio.

    Returns (job id, audio) for a file to transcribe; the job id of an earlier file of the
    group with the same content; or None when the file is settled here (skipped as done
    before, or failed with its reason in ``result``).
    """
    try:
        result.sha256 = content_hash(path)
    except OSError as exc:
        reason = "file not found" if isinstance(exc, FileNotFoundError) else str(exc)
        _fail(session, None, result, reason)
        return None
    job = _job(session, result.sha256, path)
    if job.status == JobStatus.DONE.value:
        result.status, result.interaction_id = "skipped", job.interaction_id
        return None
    if result.sha256 in seen:
        return seen[result.sha256]
    seen[result.sha256] = job.id
    job.status = JobStatus.RUNNING.value
    job.attempts += 1
    job.started_at = utcnow()
    job.worker = f"{socket.gethostname()}:{os.getpid()}"
    job.path = str(path)
    session.commit()
    try:
        audio = decode(path)
    except AudioError as exc:
        _fail(session, job, result, str(exc))
        return None
    return job.id, audio


def _finish(session: Session, item: _Ready, decoded: DecodedCall, options: Options,
            store: RecordingStore | None) -> None:
    """Redact, measure, link and store one file's transcript, and mark its job done: one
    transaction, so a kill leaves the whole transcript or none of it."""
    result, path = item.result, item.path
    started, before = time.perf_counter(), result.elapsed_s + decoded.elapsed_s
    try:
        # the site's rules (QM_REDACT_*): the settings this session's command or worker runs with
        redacted, counts = redact_segments(decoded.segments,
                                           rules=redaction_rules(settings_of(session)))
        measured = call_metrics.measure(decoded.segments, decoded.duration_s,
                                        activity=decoded.activity)
        try:
            interaction = link(session, path, store, metadata=options.metadata,
                               agent=options.agent, timezone=options.timezone,
                               duration_s=item.duration_s)
        except LinkError as exc:
            _fail(session, session.get(TranscriptionJob, item.job_id), result, str(exc))
            return
        segments = [segment_json(s) for s in redacted]
        text = " ".join(s["text"] for s in segments if s["text"])
        stored = store_transcript(session, interaction.id, {
            "audio_sha256": result.sha256, "source": "audio",
            "language": decoded.language, "duration_s": decoded.duration_s,
            "model": decoded.model, "settings": decoded.settings, "text": text,
            "raw_text": decoded.text if options.keep_raw else None, "segments": segments,
            "metrics": measured.as_dict(), "redactions": counts,
            "warnings": list(decoded.warnings),
            "processing_s": round(before + time.perf_counter() - started, 3)})
        flagging.flag(session, stored)  # with the current model, if one was trained
        flag_services.check_stored(session, stored)  # and the named flags in use
        job = session.get(TranscriptionJob, item.job_id)
        assert job is not None
        job.status = JobStatus.DONE.value
        job.error = ""
        job.interaction_id = interaction.id
        job.finished_at = utcnow()
        session.flush()
        session.commit()  # the transcript and "done" together, or neither
        result.status = "done"
        result.duration_s = decoded.duration_s
        result.language = decoded.language
        result.text = text
        result.model = decoded.model
        result.segments = segments
        result.metrics = stored.metrics
        result.redactions = counts
        result.warnings = list(decoded.warnings)
        result.interaction_id = interaction.id
    finally:
        result.elapsed_s = before + time.perf_counter() - started


@dataclass
class BatchSummary:
    files: int = 0
    done: int = 0
    skipped: int = 0
    failed: int = 0
    audio_s: float = 0.0
    busy_s: float = 0.0
    wall_s: float = 0.0

    def add(self, result: FileResult) -> None:
        self.files += 1
        setattr(self, result.status, getattr(self, result.status) + 1)
        if result.status == "done":
            self.audio_s += result.duration_s
            self.busy_s += result.elapsed_s

    @property
    def realtime_factor(self) -> float | None:
        return self.audio_s / self.wall_s if self.wall_s > 0 and self.audio_s else None

    def line(self) -> str:
        rtf = self.realtime_factor
        return (f"{self.files} file(s): {self.done} transcribed, {self.skipped} skipped (done "
                f"before), {self.failed} failed; {self.audio_s / 3600:.2f} h of audio in "
                f"{self.wall_s:.1f} s" + (f", {rtf:.1f}x realtime" if rtf else ""))
