"""`qm transcribe`: recorded calls to redacted, measured, speaker-labelled transcripts."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from qm.cli import CliContext, pass_ctx


@click.command("transcribe")
@click.argument("paths", nargs=-1, required=True)
@click.option("--jsonl", "jsonl_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write one JSON line per input file (path, status, error, duration_s, "
                   "language, text, model, segments, metrics).")
@click.option("--metadata", "metadata_path",
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A CSV with a 'file' column and the interaction's columns (external_id, "
                   "agent, channel, started_at, queue, direction, customer_ref, source).")
@click.option("--agent", help="The agent (username) of interactions made for files that match "
                              "no interaction and have no metadata.")
@click.option("--model", help="A model directory or a locally cached model name "
                              "(default: QM_WHISPER_MODEL, else the bundled tiny.en).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), help="Default: auto.")
@click.option("--compute-type", help="CTranslate2 compute type (default: int8 on CPU).")
@click.option("--beam-size", type=int, help="Default 1 (measured: as accurate as 5 here).")
@click.option("--batch-size", type=int, help="Windows decoded together; 0: not batched.")
@click.option("--vad/--no-vad", default=None, help="Skip non-speech (default: on).")
@click.option("--channels", default="agent,customer", show_default=True,
              help="Speaker of each channel of a stereo recording, in channel order.")
@pass_ctx
def transcribe(ctx: CliContext, paths: tuple[str, ...], jsonl_path: Path | None,
               metadata_path: Path | None, agent: str | None, model: str | None,
               device: str | None, compute_type: str | None, beam_size: int | None,
               batch_size: int | None, vad: bool | None, channels: str) -> None:
    """Transcribe audio files and folders (wav, mp3, m4a, ogg/opus, flac, ...).

    Each file is linked to its interaction (metadata CSV, a sidecar FILE.json, or the
    interaction whose external id is the file name; with --agent, a new one), transcribed per
    channel with the local model, redacted, measured and stored. Files already done (same
    content) are skipped, so a batch can be run again after an interruption. A file that cannot
    be used is reported with its reason and the rest goes on; the exit status is 1 if any
    failed.
    """
    from transcription import pipeline
    from transcription.transcriber import Transcriber, TranscriberSettings

    try:
        settings = TranscriberSettings.from_env()
        overrides = {k: v for k, v in {"model": model, "device": device,
                                       "compute_type": compute_type, "beam_size": beam_size,
                                       "batch_size": batch_size, "vad_filter": vad}.items()
                     if v is not None}
        settings = dataclasses.replace(settings, **overrides)
        speakers = tuple(s.strip() for s in channels.split(",") if s.strip())
        metadata = pipeline.read_metadata(metadata_path) if metadata_path else {}
    except (ValueError, pipeline.LinkError) as exc:
        raise click.ClickException(str(exc)) from None
    options = pipeline.Options(channel_speakers=speakers, agent=agent, metadata=metadata,
                               keep_raw=_env_flag("QM_KEEP_RAW_TRANSCRIPTS"),
                               timezone=ctx.settings.timezone)
    files = list(pipeline.audio_files(paths))
    if not files:
        raise click.ClickException("No audio files found in the paths given.")
    with ctx.session():  # checks the schema once, before any work
        pass
    from qm.db import make_session_factory
    from qm.storage import RecordingStore

    factory = make_session_factory(ctx.engine)
    store = RecordingStore(ctx.settings.recordings_dir)
    transcriber = Transcriber(settings)
    summary = pipeline.BatchSummary()
    started = time.perf_counter()
    out = jsonl_path.open("a", encoding="utf-8") if jsonl_path else None
    try:
        with _progress(files) as bar, _model_errors():
            for number, path in enumerate(bar, start=1):
                result = pipeline.process_file(factory, path, transcriber, options, store)
                summary.add(result)
                if out is not None:
                    out.write(json.dumps(result.as_json(), ensure_ascii=False) + "\n")
                    out.flush()
                if not sys.stdout.isatty() or result.status == "failed":
                    click.echo(_line(number, len(files), result),
                               err=result.status == "failed")
    finally:
        if out is not None:
            out.close()
    summary.wall_s = time.perf_counter() - started
    click.echo(summary.line())
    if summary.failed:
        sys.exit(1)


@contextmanager
def _model_errors() -> Iterator[None]:
    from transcription.transcriber import TranscriberError

    try:
        yield
    except TranscriberError as exc:
        raise click.ClickException(f"The speech model cannot be used: {exc}") from None


def _progress(files: list[Path]) -> Any:
    if sys.stdout.isatty():
        return click.progressbar(files, label="Transcribing", show_pos=True,
                                 item_show_func=lambda p: p.name if p else "")
    return _Plain(files)


class _Plain:
    """Iterates without a bar: a log gets one line per file instead (see ``_line``)."""

    def __init__(self, files: list[Path]) -> None:
        self.files = files

    def __enter__(self) -> list[Path]:
        return self.files

    def __exit__(self, *exc: object) -> None:
        return None

    def __iter__(self) -> Any:
        return iter(self.files)


def _line(number: int, total: int, result: Any) -> str:
    head = f"[{number}/{total}] {result.path}: {result.status}"
    if result.status == "failed":
        return f"{head}: {result.error}"
    if result.status == "done":
        return (f"{head} ({result.duration_s:.1f} s of audio in {result.elapsed_s:.1f} s, "
                f"interaction {result.interaction_id})")
    return head


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


COMMANDS = [transcribe]
