"""The per-file task outside the CLI process: its arguments survive JSON; a real Celery worker on
the local Redis gives the same transcripts as an in-process run; ``--workers 2`` too.

The Celery test skips when Redis is not reachable, unless QM_REQUIRE_REDIS=1 (then it fails)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from qm.config import Settings
from transcription import hardware, tasks
from transcription.hardware import available_cores
from transcription.models import Transcript, TranscriptionJob
from transcription.pipeline import FileResult, Options
from transcription.settings import DEFAULT_BROKER, TranscriberSettings, TranscriptionSettings

AUDIO = Path(__file__).parents[1] / "data" / "audio"
FILES = ("mono_16k.flac", "agent_customer_8k.wav")
QM = [sys.executable, "-c", "from qm.cli import main; main()"]
SAME = ("status", "error", "sha256", "duration_s", "language", "text", "model", "segments",
        "metrics", "redactions", "warnings", "interaction_id")
"""Everything in a ``--jsonl`` line but the path (absolute when queued) and the elapsed time."""


def _copies(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "calls"
    folder.mkdir()
    for name in FILES:
        shutil.copy(AUDIO / name, folder / name)
    return [folder / name for name in FILES]


def _lines(path: Path) -> dict[str, dict]:
    return {Path(d["path"]).name: d for d in map(json.loads, path.read_text().splitlines())}


def _same(a: dict, b: dict) -> dict:
    return {k: (a[k], b[k]) for k in SAME if a[k] != b[k]}


def test_options_and_settings_round_trip_through_json():
    options = Options(channel_speakers=("customer", "agent"), keep_raw=True, agent="agent.a",
                      timezone="Europe/Paris",
                      metadata={"a.wav": {"external_id": "X-1", "queue": "sales"}})
    assert tasks.options_from_dict(json.loads(json.dumps(tasks.options_to_dict(options)))) \
        == options
    assert tasks.options_from_dict({}) == Options()
    settings = TranscriberSettings(model="/models/small.en", device="cpu", compute_type="int8",
                                   beam_size=5, vad_filter=False, batch_size=0, cpu_threads=3,
                                   language="")
    assert tasks.settings_from_dict(json.loads(json.dumps(tasks.settings_to_dict(settings)))) \
        == settings
    assert tasks.settings_from_dict({"future_field": 1}) == TranscriberSettings()
    result = FileResult(path="/x.wav", status="done", sha256="ab", duration_s=1.5, text="hi",
                        segments=[{"start": 0.0, "end": 1.0, "speaker": "speaker",
                                   "text": "hi"}], interaction_id=7, elapsed_s=0.25)
    assert tasks.result_from_json(json.loads(json.dumps(result.as_json()))).as_json() \
        == result.as_json()
    with pytest.raises(ValueError, match="beam_size"):
        tasks.settings_from_dict({"beam_size": 0})  # validated on arrival, as from the env


def test_the_result_backend_defaults_to_the_brokers_redis_database_1(monkeypatch, tmp_path):
    def site() -> TranscriptionSettings:
        return TranscriptionSettings.from_settings(Settings(data_dir=tmp_path, secret_key="t"))

    for name in ("QM_RESULT_BACKEND", "QM_BROKER_URL", "QM_TRANSCRIBE_QUEUE"):
        monkeypatch.delenv(name, raising=False)
    assert (site().broker_url, site().result_backend, site().queue) \
        == (DEFAULT_BROKER, "redis://127.0.0.1:6379/1", "qm.transcription")
    monkeypatch.setenv("QM_BROKER_URL", "redis://broker.example:6380/4")
    assert site().result_backend == "redis://broker.example:6380/1"
    monkeypatch.setenv("QM_BROKER_URL", "redis://broker.example")
    assert site().result_backend == "redis://broker.example/1"
    monkeypatch.setenv("QM_RESULT_BACKEND", "redis://results.example/3")
    assert site().result_backend == "redis://results.example/3"
    # given to Settings (as create_app does), not read from the environment
    given = Settings(data_dir=tmp_path, secret_key="t", broker_url="redis://b.example/2",
                     result_backend="", transcribe_queue="site-a", worker_cpu_threads=3)
    assert TranscriptionSettings.from_settings(given) == TranscriptionSettings(
        broker_url="redis://b.example/2", result_backend="redis://b.example/1",
        queue="site-a", worker_cpu_threads=3)
    monkeypatch.setenv("QM_WORKER_CPU_THREADS", "-1")
    with pytest.raises(ValueError, match="QM_WORKER_CPU_THREADS"):
        site()


def _redis_or_skip(url: str) -> None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except (redis.RedisError, OSError) as exc:
        if os.environ.get("QM_REQUIRE_REDIS") == "1":
            pytest.fail(f"QM_REQUIRE_REDIS=1 but Redis at {url} is not reachable: {exc}")
        pytest.skip(f"Redis at {url} is not reachable ({exc}); set QM_BROKER_URL, or "
                    "QM_REQUIRE_REDIS=1 to make this a failure")


def _stop(proc: subprocess.Popen) -> None:
    """Warm shutdown of the worker and its pool, then kill whatever is left of its group."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the pool processes, if any outlived the parent
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


@pytest.mark.slow
def test_a_celery_worker_gives_the_same_transcripts_as_an_in_process_run(
        runner, session, people, tmp_path):
    broker = os.environ.get("QM_BROKER_URL", DEFAULT_BROKER)
    _redis_or_skip(broker)
    files = _copies(tmp_path)
    env = {**os.environ, **runner.env, "PYTHONUNBUFFERED": "1", "QM_BROKER_URL": broker,
           "QM_TRANSCRIBE_QUEUE": f"qm-test-{uuid.uuid4().hex}"}  # parallel runs do not meet
    log = (tmp_path / "worker.log").open("w")
    # The worker's own thread count wins over the one the sender's settings carry.
    worker = subprocess.Popen([*QM, "worker", "--concurrency", "1"], stdout=log,
                              env={**env, "QM_WHISPER_CPU_THREADS": "1"},
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        queued = tmp_path / "queued.jsonl"
        run = subprocess.run([*QM, "transcribe", "--queue", *map(str, files), "--agent",
                              "agent.a", "--jsonl", str(queued)], text=True,
                             env={**env, "QM_WHISPER_CPU_THREADS": "2"},
                             capture_output=True, timeout=300)
        assert run.returncode == 0, run.stdout + run.stderr + _tail(tmp_path / "worker.log")
        assert "2 file(s): 2 transcribed, 0 skipped (done before), 0 failed" in run.stdout
        assert worker.poll() is None, _tail(tmp_path / "worker.log")
    finally:
        _stop(worker)
        log.close()
    by_worker = _lines(queued)
    assert all(Path(d["path"]).is_absolute() for d in by_worker.values())
    assert "[worker" not in json.dumps(by_worker)  # sanity: the lines are results, not logs
    # The worker says when its model is loaded, and logs each file without its words.
    worker_log = (tmp_path / "worker.log").read_text()
    assert "speech model loaded" in worker_log and "1 thread(s)" in worker_log
    for line in by_worker.values():
        assert f"{line['path']}: done" in worker_log
        assert line["text"] and line["text"] not in worker_log
        assert not any(s["text"] in worker_log for s in line["segments"] if len(s["text"]) > 8)

    assert {t.settings["cpu_threads_used"] for t in session.scalars(select(Transcript))} == {1}

    session.execute(delete(Transcript))
    session.execute(delete(TranscriptionJob))
    session.commit()
    local = tmp_path / "local.jsonl"
    result = runner.invoke("transcribe", *map(str, files), "--agent", "agent.a",
                           "--jsonl", str(local))
    assert result.exit_code == 0, result.output
    in_process = _lines(local)
    for name in FILES:
        assert by_worker[name]["status"] == "done", by_worker[name]
        assert by_worker[name]["text"] and by_worker[name]["segments"]
        assert _same(by_worker[name], in_process[name]) == {}, name
    assert session.scalar(select(func.count(Transcript.id))) == 2


@pytest.mark.slow
def test_qm_worker_runs_a_one_thread_process_per_core_by_default(runner, tmp_path):
    """``--concurrency auto``: the pool has a process per core, each loads its model with
    cores // N threads (here 1)."""
    broker = os.environ.get("QM_BROKER_URL", DEFAULT_BROKER)
    _redis_or_skip(broker)
    env = {k: v for k, v in {**os.environ, **runner.env}.items()
           if k not in ("QM_WHISPER_CPU_THREADS", "OMP_NUM_THREADS")}
    env.update(PYTHONUNBUFFERED="1", QM_BROKER_URL=broker,
               QM_TRANSCRIBE_QUEUE=f"qm-test-{uuid.uuid4().hex}")
    expected = hardware.auto_processes(TranscriberSettings.from_variables(env))
    if hardware.memory_available_mb() > 8 * 1024:  # memory is no limit here: one a core
        assert expected == available_cores()
    path = tmp_path / "worker.log"
    log = path.open("w")
    worker = subprocess.Popen([*QM, "worker"], stdout=log, env=env, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while path.read_text().count("speech model loaded") < expected:
            assert worker.poll() is None and time.monotonic() < deadline, _tail(path)
            time.sleep(0.5)
    finally:
        _stop(worker)
        log.close()
    text = path.read_text()
    assert f"concurrency: {expected} (prefork)" in text, _tail(path)
    threads = max(1, available_cores() // expected)
    assert text.count(f"{threads} thread(s)") >= expected, _tail(path)


def test_workers_2_runs_local_processes_with_the_same_results(runner, session, people,
                                                              tmp_path):
    files = _copies(tmp_path)
    pooled = tmp_path / "pooled.jsonl"
    result = runner.invoke("transcribe", "--workers", "2", *map(str, files), "--agent",
                           "agent.a", "--jsonl", str(pooled))
    assert result.exit_code == 0, result.output
    assert "2 file(s): 2 transcribed, 0 skipped (done before), 0 failed" in result.output
    by_pool = _lines(pooled)
    assert [Path(line["path"]).name for line in map(json.loads,
                                                    pooled.read_text().splitlines())] \
        == list(FILES)  # in the order given, whichever finished first
    again = runner.invoke("transcribe", "--workers", "2", *map(str, files), "--agent",
                          "agent.a")
    assert "2 skipped (done before)" in again.output

    session.execute(delete(Transcript))
    session.execute(delete(TranscriptionJob))
    session.commit()
    local = tmp_path / "local.jsonl"
    assert runner.invoke("transcribe", *map(str, files), "--agent", "agent.a",
                         "--jsonl", str(local)).exit_code == 0
    in_process = _lines(local)
    for name in FILES:
        assert by_pool[name]["status"] == "done"
        assert by_pool[name]["text"] == in_process[name]["text"], name
        assert by_pool[name]["segments"] == in_process[name]["segments"], name


def _threads_used(session) -> dict[str, int]:
    return {Path(job.path).name: t.settings["cpu_threads_used"]
            for job, t in session.execute(select(TranscriptionJob, Transcript).join(
                Transcript, Transcript.audio_sha256 == TranscriptionJob.sha256))}


@pytest.mark.skipif(available_cores() < 2 or bool(os.environ.get("OMP_NUM_THREADS")),
                    reason="auto runs one process on a single core")
def test_workers_auto_runs_a_process_a_core_for_a_big_batch_and_a_small_one_here(
        runner, session, people, tmp_path, monkeypatch):
    """The default, --workers auto: a batch of a few seconds runs in this process with every
    core as a thread; a batch with enough audio a share gets one-thread processes, one a core
    (here the share is made a second, so that two test files are enough)."""
    monkeypatch.delenv("QM_WHISPER_CPU_THREADS", raising=False)
    files = _copies(tmp_path)
    cores = available_cores()
    small = runner.invoke("transcribe", "--group-files", "1", *map(str, files), "--agent",
                          "agent.a")
    assert small.exit_code == 0, small.output
    assert _threads_used(session) == {name: cores for name in FILES}

    session.execute(delete(Transcript))
    session.execute(delete(TranscriptionJob))
    session.commit()
    monkeypatch.setattr(hardware, "AUDIO_PER_PROCESS_S", 1.0)
    big = runner.invoke("transcribe", "--group-files", "1", *map(str, files), "--agent",
                        "agent.a")
    assert big.exit_code == 0, big.output
    assert "2 file(s): 2 transcribed" in big.output
    assert _threads_used(session) == {name: max(1, cores // 2) for name in FILES}


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_killing_qm_transcribe_ends_its_worker_processes_and_a_rerun_finishes(
        runner, session, people, tmp_path):
    """kill -9 of ``qm transcribe`` leaves no pool process waiting for work with its model
    loaded; the next run does what is left, with no duplicate."""
    files = _copies(tmp_path)
    env = {**os.environ, **runner.env}
    command = [*QM, "transcribe", "--workers", "2", "--group-files", "1", *map(str, files),
               "--agent", "agent.a"]
    parent = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(children := [c for c in _children(parent.pid)
                           if "spawn_main" in Path(f"/proc/{c}/cmdline").read_text()]) < 2:
        assert parent.poll() is None and time.monotonic() < deadline, "no pool started"
        time.sleep(0.05)
    parent.kill()
    parent.wait(timeout=10)
    deadline = time.monotonic() + 15
    while any(map(_alive, children)):
        assert time.monotonic() < deadline, f"pool processes outlived qm transcribe: {children}"
        time.sleep(0.2)
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "2 file(s)" in again.stdout and "0 failed" in again.stdout
    session.expire_all()
    assert session.scalar(select(func.count(Transcript.id))) == 2
    assert {job.status for job in session.scalars(select(TranscriptionJob))} == {"done"}


def test_workers_and_concurrency_take_auto_or_a_count(runner):
    for args in (["transcribe", "--workers", "0", "x.wav"],
                 ["transcribe", "--workers", "two", "x.wav"],
                 ["worker", "--concurrency", "-1"]):
        result = runner.invoke(*args)
        assert result.exit_code == 2, (args, result.output)
        assert "is neither auto nor a whole number >= 1" in result.output


def test_auto_processes_one_a_core_within_the_batch_the_memory_and_the_device(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    cores = available_cores()
    one_thread = TranscriberSettings(device="cpu", cpu_threads=1)
    plenty = {"available_mb": 1e6}
    assert hardware.auto_processes(one_thread, **plenty) == cores
    assert hardware.auto_processes(TranscriberSettings(device="cpu", cpu_threads=2),
                                      **plenty) == max(1, cores // 2)
    assert hardware.auto_processes(one_thread, units=1, **plenty) == 1
    assert hardware.auto_processes(one_thread, units=cores, audio_s=1e6, **plenty) == cores
    # a share of at least AUDIO_PER_PROCESS_S of audio each
    assert hardware.auto_processes(one_thread, audio_s=119, **plenty) == 1
    assert hardware.auto_processes(one_thread, audio_s=240, **plenty) == min(cores, 2)
    # each process holds a copy of the model: half the memory available is the limit
    assert hardware.auto_processes(one_thread, available_mb=500) == 1
    assert hardware.auto_processes(one_thread, available_mb=2 * 386 * 2 + 10) \
        == min(cores, 2)
    # a GPU is kept busy by batching in one process; a model not found loads (and fails) there
    assert hardware.auto_processes(TranscriberSettings(device="cuda"), **plenty) == 1
    assert hardware.auto_processes(TranscriberSettings(device="cpu", model="/no/model"),
                                      **plenty) == 1
    # OMP_NUM_THREADS sets the threads of each process when QM_WHISPER_CPU_THREADS does not
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert hardware.auto_processes(TranscriberSettings(device="cpu"), **plenty) \
        == max(1, cores // 2)


def test_qm_worker_asks_a_child_process_about_the_gpu(monkeypatch, tmp_path):
    """Before its prefork pool forks, ``qm worker`` must not initialise CUDA itself: the
    question goes to a child process. No GPU here, so the child is a stand-in Python that
    answers as CTranslate2 would on a machine with one GPU, or as a broken one."""
    settings = TranscriberSettings(cpu_threads=1)
    plenty = {"available_mb": 1e6}
    gpu = tmp_path / "python-with-a-gpu"
    gpu.write_text("#!/bin/sh\necho 1\n")
    gpu.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(gpu))
    assert hardware.resolve_device("auto", isolated=True) == "cuda"
    assert hardware.auto_processes(settings, forks=True, **plenty) == 1
    broken = tmp_path / "python-that-fails"
    broken.write_text("#!/bin/sh\necho 'ImportError: ctranslate2' >&2\nexit 1\n")
    broken.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(broken))
    assert hardware.resolve_device("auto", isolated=True) == "cpu"
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-such-python"))
    assert hardware.resolve_device("auto", isolated=True) == "cpu"
    assert hardware.resolve_device("cuda", isolated=True) == "cuda"  # no question asked


def _tail(path: Path, lines: int = 40) -> str:
    return "\n--- worker log ---\n" + "\n".join(path.read_text().splitlines()[-lines:])


def test_queue_with_no_worker_gives_up_after_the_timeout(runner, session, people, tmp_path,
                                                         monkeypatch):
    broker = os.environ.get("QM_BROKER_URL", DEFAULT_BROKER)
    _redis_or_skip(broker)
    queue = f"qm-test-{uuid.uuid4().hex}"  # a queue no worker listens to
    monkeypatch.setenv("QM_TRANSCRIBE_QUEUE", queue)
    monkeypatch.setenv("QM_BROKER_URL", broker)
    files = _copies(tmp_path)
    result = runner.invoke("transcribe", "--queue", "--timeout", "1", "--agent", "agent.a",
                           *map(str, files))
    assert result.exit_code == 1
    assert "No result for" in result.output and "is a worker running" in result.output
    import redis

    redis.Redis.from_url(broker).delete(queue)  # leave nothing queued behind
