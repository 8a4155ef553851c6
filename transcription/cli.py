"""`qm transcribe`: recorded calls to redacted, measured, speaker-labelled transcripts.

Every setting comes from the command's ``qm.config.Settings`` (``ctx.settings``), through
``transcription.settings``; the pipeline, the workers and flagging are handed them. The domain's
modules that load numpy, audio decoders or the database models are imported by the commands
that need them, so that ``qm --help`` stays quick.
"""

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

from qm import cli_types
from qm.commands import CliContext, actor_option, pass_ctx, resolve_actor
from qm.config import Settings
from qm.db import make_session_factory
from qm.storage import RecordingStore
from transcription.hardware import auto_processes, threads_per_process
from transcription.model_files import TranscriberError
from transcription.settings import (
    TranscriberSettings,
    TranscriptionSettings,
    flag_score_below,
)


@click.command("transcribe")
@click.argument("paths", nargs=-1, required=True)
@click.option("--jsonl", "jsonl_path", type=cli_types.OutputFile(),
              help="Also write one JSON line per input file (path, status, error, duration_s, "
                   "language, text, model, segments, metrics).")
@click.option("--metadata", "metadata_path",
              type=cli_types.InputFile,
              help="A CSV with a 'file' column and the interaction's columns (external_id, "
                   "agent, channel, started_at, queue, direction, customer_ref, source).")
@click.option("--agent", help="The agent (username) of interactions made for files that match "
                              "no interaction and have no metadata.")
@click.option("--model", help="A model directory or a locally cached model name "
                              "(default: QM_WHISPER_MODEL, else the bundled tiny.en).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), help="Default: auto.")
@click.option("--compute-type", help="CTranslate2 compute type (default: int8 on CPU).")
@click.option("--beam-size", type=cli_types.BeamSize,
              help="Default 1 (measured: as accurate as 5 here).")
@click.option("--batch-size", type=cli_types.BatchSize,
              help="Windows decoded together, 0 to 256; 0: the sequential decoder; "
                   "auto (default): batched (8), which never samples, so a file "
                   "gives the same words in every run.")
@click.option("--vad/--no-vad", default=None, help="Skip non-speech (default: on).")
@click.option("--channels", default="agent,customer", show_default=True,
              help="Speaker of each channel of a stereo recording, in channel order.")
@click.option("--queue", "use_queue", is_flag=True,
              help="Send the files to the Celery workers (`qm worker`, QM_BROKER_URL) "
                   "instead of transcribing here: a task per file, short files in groups. "
                   "Paths are sent absolute: workers on other "
                   "machines must see the audio at the same path (shared storage mounted at "
                   "the same place) and share QM_DATABASE_URL and QM_RECORDINGS_DIR.")
@click.option("--wait/--no-wait", default=True, show_default=True,
              help="With --queue: wait for the results (same output as a local run), or just "
                   "enqueue and print each task id and path.")
@click.option("--timeout", type=cli_types.Timeout, default=None,
              help="With --queue: give up waiting for a file's result after this many "
                   "seconds, a week at most (default: wait as long as it takes). The tasks "
                   "stay queued; a later run of the same files collects what was done.")
@click.option("--workers", default="auto", show_default=True, type=cli_types.Processes,
              help="Transcribe in N local processes (1 to 1024). Each loads its own model and uses "
                   "cores // N threads (unless QM_WHISPER_CPU_THREADS is set). auto: on a "
                   "CPU, one one-thread process per core, one per 2 minutes of audio at "
                   "most (a small batch runs in this process); on a GPU, this process.")
@click.option("--group-files", type=cli_types.GroupFiles, default=64, show_default=True,
              help="Files under 30 s are transcribed in groups of up to this many (and about "
                   "4 minutes of audio), their speech packed into shared 30 s windows: many "
                   "times faster than one window per file. 1: each file on its own.")
@pass_ctx
def transcribe(ctx: CliContext, paths: tuple[str, ...], jsonl_path: Path | None,
               metadata_path: Path | None, agent: str | None, model: str | None,
               device: str | None, compute_type: str | None, beam_size: int | None,
               batch_size: int | None, vad: bool | None, channels: str, use_queue: bool,
               wait: bool, timeout: float | None, workers: int | None,
               group_files: int) -> None:
    """Transcribe audio files and folders (wav, mp3, m4a, ogg/opus, flac, ...).

    Each file is linked to its interaction (metadata CSV, a sidecar FILE.json, or the
    interaction whose external id is the file name; with --agent, a new one), transcribed per
    channel with the local model, redacted, measured and stored. Files already done (same
    content) are skipped, so a batch can be run again after an interruption. A file that cannot
    be used is reported with its reason and the rest goes on; the exit status is 1 if any
    failed.
    """
    from transcription import linking, pipeline
    from transcription.decoding import Transcriber

    try:
        site = TranscriptionSettings.from_settings(ctx.settings)
        settings = TranscriberSettings.from_settings(ctx.settings)
        if _given("batch_size"):  # "auto" (None) too: it overrides QM_WHISPER_BATCH_SIZE
            settings = dataclasses.replace(settings, batch_size=batch_size)
        overrides = {k: v for k, v in {"model": model, "device": device,
                                       "compute_type": compute_type, "beam_size": beam_size,
                                       "vad_filter": vad}.items()
                     if v is not None}
        settings = dataclasses.replace(settings, **overrides)
        speakers = tuple(s.strip() for s in channels.split(",") if s.strip())
        metadata = linking.read_metadata(metadata_path) if metadata_path else {}
    except (ValueError, linking.LinkError) as exc:
        raise click.ClickException(str(exc)) from None
    options = pipeline.Options(channel_speakers=speakers, agent=agent, metadata=metadata,
                               keep_raw=site.keep_raw,
                               timezone=ctx.settings.timezone)
    files = list(linking.audio_files(paths))
    if not files:
        raise click.ClickException("No audio files found in the paths given.")
    if use_queue and workers is not None and workers > 1:
        raise click.ClickException("--workers runs local processes; with --queue, start more "
                                   "`qm worker`s instead.")
    if use_queue:
        groups = pipeline.plan([path.absolute() for path in files], group_files=group_files)
        _run_queued(groups, options, settings, site, jsonl_path, wait, timeout)
        return
    with ctx.session():  # checks the schema once, before any work
        pass
    groups = pipeline.plan(files, group_files=group_files)
    if workers is None:
        workers = auto_processes(settings, units=len(groups), audio_s=groups.audio_s)
    if workers > 1:
        _run_pool(groups, options, settings, jsonl_path, workers, ctx.settings)
        return
    factory = make_session_factory(ctx.engine, ctx.settings)
    store = RecordingStore(ctx.settings.recordings_dir)
    transcriber = Transcriber(settings)

    def results() -> Iterator[Any]:
        for group in groups:
            yield from pipeline.process_group(factory, group, transcriber, options, store)

    _report(len(files), results(), jsonl_path)


def _given(name: str) -> bool:
    """Whether the option ``name`` was given (on the command line or by a default map)."""
    source = click.get_current_context().get_parameter_source(name)
    return source is not None and source.name != "DEFAULT"


def _report(total: int, results: Iterator[Any], jsonl_path: Path | None) -> None:
    """Lines, ``--jsonl`` and the summary, the same whichever way the files were processed;
    ``results`` yields one ``FileResult`` per file, group by group (``pipeline.plan``): short
    files come when their group is done, so not always in the order they were named."""
    from transcription import pipeline

    summary = pipeline.BatchSummary()
    started = time.perf_counter()
    out = jsonl_path.open("a", encoding="utf-8") if jsonl_path else None
    try:
        with _progress(total) as bar, _model_errors():
            for number, result in enumerate(results, start=1):
                bar.update(1, Path(result.path))
                summary.add(result)
                if out is not None:
                    out.write(json.dumps(result.as_json(), ensure_ascii=False) + "\n")
                    out.flush()
                if not sys.stdout.isatty() or result.status == "failed":
                    click.echo(_line(number, total, result), err=result.status == "failed")
    finally:
        if out is not None:
            out.close()
    summary.wall_s = time.perf_counter() - started
    click.echo(summary.line())
    if summary.failed:
        sys.exit(1)


def _run_pool(groups: list[list[Path]], options: Any, settings: TranscriberSettings,
              jsonl_path: Path | None, workers: int, site_settings: Settings) -> None:
    """``--workers N``: N spawned processes, each with its own engine and model (spawn, not
    fork: CTranslate2's threads and a live engine do not survive a fork). Each is handed this
    command's ``qm.config.Settings`` (pickled), so it reads nothing from its environment."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from transcription import tasks

    # not set by the user: share the cores, do not oversubscribe
    settings = dataclasses.replace(settings,
                                   cpu_threads=threads_per_process(settings, workers))
    opts, conf = tasks.options_to_dict(options), tasks.settings_to_dict(settings)
    pool = ProcessPoolExecutor(max_workers=min(workers, len(groups)),
                               mp_context=multiprocessing.get_context("spawn"),
                               initializer=tasks.init_local_worker,
                               initargs=(site_settings, settings.cpu_threads, os.getpid()))
    try:
        futures = [pool.submit(tasks.transcribe_files, [str(p) for p in group], opts, conf)
                   for group in groups]
        results = (tasks.result_from_json(line) for f in futures for line in f.result())
        _report(sum(map(len, groups)), results, jsonl_path)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _run_queued(groups: list[list[Path]], options: Any, settings: TranscriberSettings,
                site: TranscriptionSettings, jsonl_path: Path | None, wait: bool,
                timeout: float | None = None) -> None:
    from transcription import tasks

    try:
        pending = tasks.enqueue([[str(p) for p in group] for group in groups], options,
                                settings, site)
    except Exception as exc:  # kombu raises its own and OSError subclasses; say which broker
        raise click.ClickException(
            f"Could not enqueue on {site.broker_url}: {exc}") from None
    if not wait:
        for group, task in zip(groups, pending, strict=True):
            for path in group:
                click.echo(f"{task.id} {path}")
        click.echo(f"{sum(map(len, groups))} file(s) queued on {site.queue} in "
                   f"{len(pending)} task(s).")
        return

    def results() -> Iterator[Any]:
        from celery.exceptions import TimeoutError as ResultTimeout

        for group, task in zip(groups, pending, strict=True):
            where = str(group[0]) if len(group) == 1 else f"{group[0]} and {len(group) - 1} more"
            try:
                value = task.get(timeout=timeout, propagate=False)
            except ResultTimeout:
                raise click.ClickException(
                    f"No result for {where} within {timeout:g} s on {site.queue}: is a "
                    "worker running (qm worker) on the same broker? The tasks stay queued; "
                    "run the same files again later to collect them.") from None
            if task.failed():
                _worker_failed(where, value)
            task.forget()
            for line in value:
                yield tasks.result_from_json(line)

    _report(sum(map(len, groups)), results(), jsonl_path)


def _worker_failed(path: Path | str, exc: Any) -> None:
    """A task that raised: the model would not load in the worker (the batch stops, as it
    does in-process), or a fault in the worker that the message names."""
    if isinstance(exc, TranscriberError) or type(exc).__name__ == "TranscriberError":
        raise TranscriberError(str(exc))
    raise click.ClickException(f"A worker failed on {path}: {type(exc).__name__}: {exc}")


@click.command("redact-texts")
@click.option("--keep-raw/--no-keep-raw", default=None,
              help="Keep the text before redaction (default: QM_KEEP_RAW_TRANSCRIPTS).")
@pass_ctx
def redact_texts(ctx: CliContext, keep_raw: bool | None) -> None:
    """Backfill: chats and e-mails without a transcript yet, split into messages by speaker,
    redacted like calls, counted, stored. Texts are redacted when they are created, corrected
    or imported; this is for those made before that (or by a direct database load). Each
    interaction is committed on its own, so a re-run (or a run after an interruption) does
    only what is left."""
    from qm.interactions.models import Interaction
    from transcription import texts

    keep = ctx.settings.keep_raw_transcripts if keep_raw is None else keep_raw
    done = tags = 0
    with ctx.session() as session:
        for interaction_id in texts.pending(session):
            interaction = session.get(Interaction, interaction_id)
            stored = texts.process_text(session, interaction, keep_raw=keep)
            session.commit()
            if stored is not None:
                done += 1
                tags += sum(stored.redactions.values())
    click.echo(f"{done} text interaction(s) redacted and stored ({tags} redaction(s)).")


@click.command("worker")
@click.option("--concurrency", default="auto", show_default=True, type=cli_types.Processes,
              help="Pool processes, 1 to 1024; each loads its own model and gets cores // N "
                   "threads. auto: one per core on a CPU (as many as half the memory holds), "
                   "one on a GPU.")
@click.option("--loglevel", default="INFO", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
@pass_ctx
def worker(ctx: CliContext, concurrency: int | None, loglevel: str) -> None:
    """Run a Celery worker that transcribes the files `qm transcribe --queue` sends.

    It reads QM_BROKER_URL (default redis://127.0.0.1:6379/0), QM_RESULT_BACKEND,
    QM_TRANSCRIBE_QUEUE, QM_DATABASE_URL, QM_RECORDINGS_DIR and QM_WHISPER_* like the rest of
    qm. Start as many as the machines allow, on any machine that sees the same database, the
    same recording storage and the audio at the same absolute paths. A worker killed mid-file
    has its file redelivered to another; redoing a file is harmless.
    """
    from transcription import tasks

    try:
        site = TranscriptionSettings.from_settings(ctx.settings)
        speech = TranscriberSettings.from_settings(ctx.settings)
    except ValueError as exc:  # a malformed setting (it names its variable): stop before work
        raise click.ClickException(str(exc)) from None
    with ctx.session():  # a worker on an old schema would fail every file: stop now instead
        pass
    if concurrency is None:
        concurrency = auto_processes(speech, forks=True)
    # Each pool process's threads: QM_WORKER_CPU_THREADS, else QM_WHISPER_CPU_THREADS, else
    # none of ours where OMP_NUM_THREADS is set, else a share of the cores. They reach the
    # forked pool processes in memory (tasks.run_worker), not through the environment.
    threads = site.worker_cpu_threads or threads_per_process(speech, concurrency,
                                                             defer_to_omp=True)
    ctx.engine.dispose()  # the pool forks: no connection may cross into the children
    tasks.run_worker(ctx.settings, concurrency=concurrency, loglevel=loglevel.upper(),
                     cpu_threads=threads)


@contextmanager
def _model_errors() -> Iterator[None]:
    try:
        yield
    except TranscriberError as exc:
        raise click.ClickException(f"The speech model cannot be used: {exc}") from None


def _progress(total: int) -> Any:
    if sys.stdout.isatty():
        return click.progressbar(length=total, label="Transcribing", show_pos=True,
                                 item_show_func=lambda p: p.name if p else "")
    return _Plain()


class _Plain:
    """No bar: a log gets one line per file instead (see ``_line``)."""

    def __enter__(self) -> _Plain:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, steps: int, item: Any = None) -> None:
        return None


def _line(number: int, total: int, result: Any) -> str:
    head = f"[{number}/{total}] {result.path}: {result.status}"
    if result.status == "failed":
        return f"{head}: {result.error}"
    if result.status == "done":
        return (f"{head} ({result.duration_s:.1f} s of audio in {result.elapsed_s:.1f} s, "
                f"interaction {result.interaction_id})")
    return head


@click.group("flagging")
def flagging_group() -> None:
    """Named flags (rules and text classifiers) and the model learnt from evaluators'
    verdicts: what puts an interaction in the review queue, and how often it is right."""


@flagging_group.command("train")
@actor_option
@click.option("--flag", "flag_name", metavar="NAME", default=None,
              help="Train this named text classifier (complaint, escalation request, ...) on "
                   "--labels and on evaluators' verdicts. Without it: the 'found a problem' "
                   "model, learnt from evaluation scores.")
@click.option("--labels", type=cli_types.InputFile, default=None,
              help="With --flag: a CSV of labelled texts, columns text,label (1: the flag "
                   "applies, 0: it does not). A file with a bad row is refused whole.")
@click.option("--verdicts/--no-verdicts", default=True, show_default=True,
              help="With --flag: learn from evaluators' confirmed, rejected and missed flags "
                   "too.")
@click.option("--folds", type=click.IntRange(2, 20), default=5, show_default=True,
              help="With --flag: cross-validation folds for the measures and the threshold.")
@click.option("--target-precision", type=cli_types.Share, default=None,
              help="With --flag: from now on choose the threshold for at least this precision "
                   "(0.8 is 80%; the default target).")
@click.option("--target-recall", type=cli_types.Share, default=None,
              help="With --flag: from now on choose the threshold for at least this recall "
                   "instead.")
@click.option("--activate", "activate_it", is_flag=True,
              help="With --flag: put the new version in use at once (else: qm flagging "
                   "activate, after reading its measures).")
@click.option("--score-below", type=cli_types.Score, default=None,
              help="An evaluation under this score found a problem (default: "
                   "QM_FLAG_SCORE_BELOW, else 80); a critical fail always does.")
@click.option("--min-examples", type=cli_types.MinExamples, default=40, show_default=True,
              help="Refuse to train on fewer finished evaluations with a transcript.")
@click.option("--min-auc", type=cli_types.AUC, default=0.6, show_default=True,
              help="Refuse a model whose cross-validated ROC AUC is lower (0.5 is chance).")
@click.option("--apply/--no-apply", "then_apply", default=True, show_default=True,
              help="Then score every transcript with the new model.")
@pass_ctx
def flagging_train(ctx: CliContext, flag_name: str | None, labels: Path | None,
                   verdicts: bool, folds: int, target_precision: float | None,
                   target_recall: float | None, activate_it: bool, score_below: float | None,
                   min_examples: int, min_auc: float, then_apply: bool,
                   actor_name: str | None) -> None:
    """Train a flag and report its cross-validated precision, recall, F1 and ROC AUC.

    With --flag NAME: fit a new version of that text classifier on --labels and the
    evaluators' verdicts, its threshold chosen for the flag's target precision; stored with
    the SHA-256 of its bytes, and put in use only with --activate (or `qm flagging activate`).

    Without --flag: train the 'found a problem' model on every finished evaluation
    (transcript and metrics in, the evaluator's verdict out) and make it the current one."""
    from transcription import flagging

    if flag_name is not None:
        if target_precision is not None and target_recall is not None:
            raise click.UsageError("Give --target-precision or --target-recall, not both: a "
                                   "threshold trades one for the other.")
        _train_named(ctx, flag_name, labels, verdicts, folds, activate_it, actor_name,
                     target_precision, target_recall)
        return
    if labels is not None or target_precision is not None or target_recall is not None:
        raise click.UsageError("--labels and the targets train a named flag: give --flag NAME "
                               "too.")
    with ctx.session() as session:
        actor = resolve_actor(session, actor_name)
        try:
            below = flag_score_below(ctx.settings) if score_below is None else score_below
            report = flagging.train(session, actor, below=below,
                                    min_examples=min_examples, min_auc=min_auc)
        except (flagging.FlaggingError, ValueError) as exc:
            raise click.ClickException(str(exc)) from None
        session.commit()
        for line in report.lines():
            click.echo(line)
        if then_apply:
            scored, flagged = flagging.apply(session)
            click.echo(f"{scored} interaction(s) scored, {flagged} flagged for review.")


def _read_labels(path: Path) -> tuple[list[str], list[int]]:
    from transcription.flagging import services

    with path.open("rb") as handle:
        return services.read_labels(handle)


def _train_named(ctx: CliContext, name: str, labels: Path | None, verdicts: bool, folds: int,
                 activate_it: bool, actor_name: str | None, target_precision: float | None,
                 target_recall: float | None) -> None:
    from transcription.flagging import services

    texts, ys = _read_labels(labels) if labels is not None else ([], [])
    with ctx.session() as session:
        actor = resolve_actor(session, actor_name)
        if target_precision is not None or target_recall is not None:
            services.set_target(session, actor, name, precision=target_precision,
                                recall=target_recall)
        version = services.train_classifier(
            session, actor, name, texts=texts, labels=ys, use_verdicts=verdicts, folds=folds,
            source=labels.name if labels is not None else "", activate_it=activate_it)
        session.commit()
        flag = version.flag
        report = version.report
        click.echo(f"{flag.name} version {version.number}: {version.note}")
        click.echo(f"cross-validated over {report['folds']} folds, flagging from "
                   f"{version.threshold:.3f} ({report['choice']['target']}"
                   f"{'' if report['choice']['met'] else ', not reached'}): precision "
                   f"{report['precision']:.3f}, recall {report['recall']:.3f}, F1 "
                   f"{report['f1']:.3f}, ROC AUC {report['roc_auc']:.3f}, "
                   f"{report['support']} positive of {report['examples']}")
        if flag.active_number == version.number:
            click.echo(f"version {version.number} is in use.")
        else:
            click.echo(f"not in use: `qm flagging activate --flag '{flag.name}' --version "
                       f"{version.number}` puts it in use.")


@flagging_group.command("evaluate")
@click.option("--flag", "flag_name", metavar="NAME", required=True, help="The flag to measure.")
@click.option("--labels", type=cli_types.InputFile, required=True,
              help="A CSV of labelled texts, columns text,label (1/0).")
@click.option("--folds", type=click.IntRange(2, 20), default=None,
              help="Cross-validate the pipeline `train` fits, over K folds. Without it: the "
                   "flag's active version on the file as it is.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_ctx
def flagging_evaluate(ctx: CliContext, flag_name: str, labels: Path, folds: int | None,
                      as_json: bool) -> None:
    """Measure a flag on labelled texts: precision, recall and F1 of the positive class, the
    support (positive texts) and the ROC AUC."""
    from transcription.flagging import services

    texts, ys = _read_labels(labels)
    with ctx.session() as session:
        measured = services.evaluate(session, flag_name, texts, ys, folds=folds)
    if as_json:
        click.echo(json.dumps(measured, sort_keys=False))
        return
    auc = measured["roc_auc"]
    click.echo(f"{measured['flag']}: precision {measured['precision']:.3f}, recall "
               f"{measured['recall']:.3f}, F1 {measured['f1']:.3f}, support "
               f"{measured['support']}, ROC AUC {'-' if auc is None else f'{auc:.3f}'}"
               f" ({'cross-validated' if folds else 'the active version'})")


@flagging_group.command("flags")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@pass_ctx
def flagging_flags(ctx: CliContext, as_json: bool) -> None:
    """The named flags: kind, the version in use, how it measured, what it looks for."""
    from transcription.flagging import queries

    with ctx.session() as session:
        rows = queries.overview(session)
    if as_json:
        click.echo(json.dumps(rows))
        return
    if not rows:
        click.echo("No flags yet: `qm flagging install` adds the starter set.")
    for row in rows:
        use = f"v{row['active']}" if row["active"] else "off"
        click.echo(f"{row['name']} [{row['kind']}, {use}, {row['versions']} version(s), "
                   f"{row['fired']} fired, {row['open']} to review]: {row['description']}")
        if row["measures"]:
            click.echo(f"    {row['measures']}")


@flagging_group.command("install")
@actor_option
@pass_ctx
def flagging_install(ctx: CliContext, actor_name: str | None) -> None:
    """Add the starter flags a site has not got yet: the rules (in use at once) and the text
    classifiers (trained with `qm flagging train --flag NAME --labels FILE`)."""
    from transcription.flagging import services

    with ctx.session() as session:
        made = services.install_starter(session, resolve_actor(session, actor_name))
        session.commit()
        click.echo(f"{len(made)} flag(s) added"
                   f"{': ' + ', '.join(f.name for f in made) if made else ''}.")


@flagging_group.command("activate")
@actor_option
@click.option("--flag", "flag_name", metavar="NAME", required=True)
@click.option("--version", "number", type=cli_types.Version, required=True)
@pass_ctx
def flagging_activate(ctx: CliContext, flag_name: str, number: int,
                      actor_name: str | None) -> None:
    """Put a version of a flag in use (audited). The results and verdicts of the version it
    replaces are kept; `qm flagging check --since DATE` re-scores a period with it."""
    from transcription.flagging import services

    with ctx.session() as session:
        version = services.activate(session, resolve_actor(session, actor_name), flag_name,
                                    number)
        session.commit()
        click.echo(f"'{version.flag.name}' now uses version {version.number}.")


@flagging_group.command("deactivate")
@actor_option
@click.option("--flag", "flag_name", metavar="NAME", required=True)
@pass_ctx
def flagging_deactivate(ctx: CliContext, flag_name: str, actor_name: str | None) -> None:
    """Stop a flag (audited); what it found stays."""
    from transcription.flagging import services

    with ctx.session() as session:
        flag = services.deactivate(session, resolve_actor(session, actor_name), flag_name)
        session.commit()
        click.echo(f"'{flag.name}' is off.")


@flagging_group.command("check")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Interactions that started on or after this day (UTC).")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Interactions that started before this day (UTC).")
@click.option("--flag", "flag_name", metavar="NAME", default=None,
              help="Only this flag (its active version, or --version).")
@click.option("--version", "number", type=cli_types.Version, default=None,
              help="With --flag: re-score with this version, in use or not (to compare).")
@pass_ctx
def flagging_check(ctx: CliContext, since: Any, until: Any, flag_name: str | None,
                   number: int | None) -> None:
    """Run the flags in use on stored transcripts (after an activation, or for a period
    stored before a flag existed). Results are kept per version: re-scoring with a new
    version keeps the old version's. Commits every 200; a re-run redoes the same."""
    import datetime as dt

    from transcription.flagging import services

    with ctx.session() as session:
        versions = None
        if flag_name is not None:
            flag = services.get_flag(session, flag_name)
            version = (services.get_version(session, flag, number) if number is not None
                       else services.active_version(session, flag))
            if version is None:
                raise click.ClickException(f"'{flag.name}' has no version in use; give "
                                           "--version.")
            versions = [version]
        elif number is not None:
            raise click.UsageError("--version needs --flag.")

        def progress(checked: int, fired: int) -> None:
            session.commit()
            click.echo(f"{checked} transcript(s) checked, {fired} result(s) fired", err=True)

        checked, fired = services.check_period(
            session, since=since.replace(tzinfo=dt.UTC) if since else None,
            until=until.replace(tzinfo=dt.UTC) if until else None, versions=versions,
            on_chunk=progress)
        session.commit()
    click.echo(f"{checked} transcript(s) checked, {fired} result(s) fired.")


@flagging_group.command("apply")
@pass_ctx
def flagging_apply(ctx: CliContext) -> None:
    """Score the transcripts the current model has not scored yet (after a training, or for
    interactions stored before it); a re-run does only what is left."""
    from transcription import flagging

    with ctx.session() as session:
        try:
            scored, flagged = flagging.apply(session)
        except flagging.FlaggingError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"{scored} interaction(s) scored, {flagged} flagged for review.")


COMMANDS = [flagging_group, redact_texts, transcribe, worker]
