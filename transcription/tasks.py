"""The per-file task outside the ``qm transcribe`` process: in Celery workers or a local pool.

Why the same ``pipeline.process_file`` and nothing else: it is idempotent per file content and
transactional per file, so a task delivered twice (a worker killed mid-file, ``acks_late``), or
the same file in two workers at once, still leaves one transcript; results are the in-process
ones because the code that makes them is the in-process code.

What travels is JSON only (a path, ``Options``, ``TranscriberSettings``): a worker on another
machine needs no pickled objects, only the same PostgreSQL (``QM_DATABASE_URL``), the same
recording storage (``QM_RECORDINGS_DIR``) and the audio mounted at the same absolute path as on
the machine that enqueued it.

The queue's settings (``QM_BROKER_URL``, ``QM_RESULT_BACKEND``, ``QM_TRANSCRIBE_QUEUE``) come
in a ``TranscriptionSettings``; a worker process is given the ``qm.config.Settings`` it runs
with (``init_worker``), and builds them from the environment only when it was given none.

Never imports Flask; Celery is imported only when the app is first built.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from qm import domains
from qm.config import Settings
from qm.db import make_engine, make_session_factory
from qm.storage import RecordingStore
from transcription.decoding import Transcriber
from transcription.model_files import TranscriberError
from transcription.pipeline import FileResult, Options, process_group
from transcription.settings import TranscriberSettings, TranscriptionSettings

if TYPE_CHECKING:
    from celery import Celery
    from sqlalchemy.orm import Session

TASK_NAME = "qm.transcription.transcribe_file"
GROUP_TASK_NAME = "qm.transcription.transcribe_files"

log = logging.getLogger(__name__)


# -- JSON round trips -----------------------------------------------------------------------

def options_to_dict(options: Options) -> dict[str, Any]:
    return {"channel_speakers": list(options.channel_speakers), "keep_raw": options.keep_raw,
            "agent": options.agent, "timezone": options.timezone,
            "metadata": {name: dict(row) for name, row in options.metadata.items()}}


def options_from_dict(data: Mapping[str, Any]) -> Options:
    """The inverse of ``options_to_dict``; a key left out keeps the default, so an older client
    that does not send a newer field still works."""
    known = {f.name for f in dataclasses.fields(Options)}
    values = {k: v for k, v in data.items() if k in known}
    if "channel_speakers" in values:
        values["channel_speakers"] = tuple(values["channel_speakers"])
    if "metadata" in values:
        values["metadata"] = {str(n): {str(k): str(v) for k, v in row.items()}
                              for n, row in (values["metadata"] or {}).items()}
    return Options(**values)


def settings_to_dict(settings: TranscriberSettings) -> dict[str, Any]:
    return dataclasses.asdict(settings)


def settings_from_dict(data: Mapping[str, Any]) -> TranscriberSettings:
    known = {f.name for f in dataclasses.fields(TranscriberSettings)}
    return TranscriberSettings(**{k: v for k, v in data.items() if k in known})


def result_from_json(data: Mapping[str, Any]) -> FileResult:
    """A ``FileResult`` back from ``as_json()``: what the CLI needs for its lines and summary."""
    known = {f.name for f in dataclasses.fields(FileResult)}
    values = {k: v for k, v in data.items() if k in known}
    values["error"] = values.get("error") or ""
    return FileResult(**values)


# -- one process's resources ----------------------------------------------------------------

@dataclass
class WorkerState:
    """What a worker process builds once and keeps: the settings it runs with, the database
    engine, the recording store and one ``Transcriber`` per settings (the model itself is
    cached by ``decoding``)."""

    pid: int
    settings: Settings
    session_factory: Callable[[], Session]
    store: RecordingStore
    cpu_threads: int = 0
    transcribers: dict[TranscriberSettings, Transcriber] = field(default_factory=dict)

    def transcriber(self, settings: TranscriberSettings) -> Transcriber:
        """The transcriber for a task's settings. Threads are this machine's business, not
        the sender's: a worker's own thread count replaces the one the task carries, so a
        client on a bigger machine cannot oversubscribe this one (and the model loaded at
        start-up is the one the tasks use)."""
        if self.cpu_threads:
            settings = dataclasses.replace(settings, cpu_threads=self.cpu_threads)
        found = self.transcribers.get(settings)
        if found is None:
            found = self.transcribers[settings] = Transcriber(settings)
        return found


_STATE: WorkerState | None = None


def init_worker(settings: Settings | None = None, cpu_threads: int | None = None
                ) -> WorkerState:
    """Build this process's state (again after a fork: an engine must not cross one).

    ``settings``: what ``qm worker`` or ``qm transcribe --workers`` runs with; without them
    ``qm.config.Settings`` reads the environment, as any qm process does. ``cpu_threads``: the
    threads of this process's model (0: as each task's settings say); by default the settings'
    ``worker_cpu_threads``.
    """
    global _STATE
    settings = settings if settings is not None else Settings()
    if cpu_threads is None:
        cpu_threads = TranscriptionSettings.from_settings(settings).worker_cpu_threads
    domains.load()  # what the layers above do when something is saved, here as everywhere
    factory = make_session_factory(make_engine(settings.database_url), settings)
    _STATE = WorkerState(pid=os.getpid(), settings=settings, session_factory=factory,
                         store=RecordingStore(settings.recordings_dir), cpu_threads=cpu_threads)
    return _STATE


def init_local_worker(settings: Settings, cpu_threads: int, parent_pid: int) -> WorkerState:
    """``init_worker`` for a process of ``qm transcribe --workers``, which also ends the
    process when ``qm transcribe`` is gone (killed with -9, say): a pool process outlives its
    parent and would wait for work forever, holding its model. A file it was working on is
    left as a kill leaves it: not done, and done by the next run."""

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="qm-parent-watch", daemon=True).start()
    return init_worker(settings, cpu_threads)


def worker_state() -> WorkerState:
    """This process's state; built again in a forked child, with the settings it inherited."""
    if _STATE is None:
        return init_worker()
    if _STATE.pid != os.getpid():
        return init_worker(_STATE.settings, _STATE.cpu_threads)
    return _STATE


def warm_up() -> None:
    """Load the model this worker's settings name now, so the first file does not wait for it.

    A model that will not load (or a malformed ``QM_WHISPER_*``) is logged, not raised:
    raising here would kill the pool process and Celery would restart it forever; the tasks
    themselves then fail with the reason.
    """
    state = worker_state()
    try:
        transcriber = state.transcriber(TranscriberSettings.from_settings(state.settings))
        transcriber.load()
    except (TranscriberError, ValueError) as exc:
        log.error("the speech model could not be loaded at start-up: %s", exc)
        return
    record = transcriber.settings_record()
    log.info("speech model loaded: %s on %s, %s, %s thread(s); ready for files",
             transcriber.model_name, record.get("device_used"),
             record.get("compute_type_used"), record.get("cpu_threads_used"))


def transcribe_file(path: str, options: dict[str, Any], settings: dict[str, Any]
                    ) -> dict[str, Any]:
    """One file, in this process, with this process's cached resources (kept for tasks
    queued by an older ``qm transcribe``)."""
    return transcribe_files([path], options, settings)[0]


def transcribe_files(paths: list[str], options: dict[str, Any], settings: dict[str, Any]
                     ) -> list[dict[str, Any]]:
    """The task body: one group of ``pipeline.plan`` (a long file, or short files packed
    together), a JSON result per file in the order of ``paths``."""
    state = worker_state()
    transcriber = state.transcriber(settings_from_dict(settings))
    results = process_group(state.session_factory, paths, transcriber,
                            options_from_dict(options), state.store)
    for result in results:  # the worker's log: what happened, never what was said
        log.info("%s: %s%s", result.path, result.status,
                 f" ({result.error})" if result.error else
                 f" ({result.duration_s:.1f} s of audio in {result.elapsed_s:.1f} s)")
    return [result.as_json() for result in results]


# -- Celery -----------------------------------------------------------------------------------

@lru_cache(maxsize=4)
def celery_app(site: TranscriptionSettings) -> Celery:
    """The Celery app on ``site``'s broker, result backend and queue, built on first use.

    ``acks_late`` with ``task_reject_on_worker_lost``: a message is acknowledged only when its
    file is finished, so a worker killed mid-file has its task redelivered; the pipeline makes
    the redo harmless. Prefetch 1: a worker holds no file it is not working on, so a long call
    does not leave others waiting behind it while another worker idles.
    """
    from celery import Celery

    app = Celery("qm", broker=site.broker_url, backend=site.result_backend)
    app.conf.update(
        task_serializer="json", result_serializer="json", accept_content=["json"],
        result_accept_content=["json"],
        task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
        task_default_queue=site.queue, task_track_started=True,
        result_expires=24 * 3600, broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )
    app.task(name=TASK_NAME)(transcribe_file)
    app.task(name=GROUP_TASK_NAME)(transcribe_files)
    return app


def enqueue(groups: list[list[str]], options: Options, speech: TranscriberSettings,
            site: TranscriptionSettings) -> list[Any]:
    """One task per group of ``pipeline.plan`` on ``site``'s queue; their ``AsyncResult``s in
    the same order. ``speech`` travels with each task."""
    app = celery_app(site)
    opts, conf = options_to_dict(options), settings_to_dict(speech)
    return [app.send_task(GROUP_TASK_NAME, args=[group, opts, conf], queue=site.queue)
            for group in groups]


def _quiet_results() -> None:
    """Celery logs every task's return value at INFO ("Task ... succeeded in 3.2s: {...}"):
    here that is a whole transcript, in a log that has no retention and no permission check.
    Its success lines are turned off; failures are still logged, and ``transcribe_files`` logs
    a line per file without the words."""
    logging.getLogger("celery.app.trace").setLevel(logging.WARNING)


def run_worker(settings: Settings, *, concurrency: int = 1, loglevel: str = "INFO",
               cpu_threads: int = 0) -> None:
    """Run a Celery worker in this process (prefork pool of ``concurrency`` processes).

    Each pool process is forked from this one and builds its state from ``settings`` and
    ``cpu_threads`` (the threads of its model) as it starts: they reach it in memory, through
    the fork, so nothing is handed down in environment variables.
    """
    from celery.signals import worker_process_init

    site = TranscriptionSettings.from_settings(settings)
    _quiet_results()
    app = celery_app(site)

    @worker_process_init.connect(weak=False)
    def _warm(**_: Any) -> None:
        _quiet_results()
        init_worker(settings, cpu_threads)
        warm_up()

    app.worker_main(["worker", "--pool=prefork", f"--concurrency={concurrency}",
                     f"--loglevel={loglevel}", "--queues", site.queue,
                     # unique per process: several workers on one machine are several nodes
                     f"--hostname=qm-{os.getpid()}@%h",
                     "--without-gossip", "--without-mingle"])
