"""Sizing to the machine: the device, the threads of a model, how many transcribing processes.

``OMP_NUM_THREADS`` is not a qm setting but OpenMP's, which CTranslate2 itself obeys; a site (or
a container runtime) sets it to bound a process's threads, so the sizing here respects it. It is
read in one place, ``omp_threads``; every ``QM_*`` value comes in through the settings passed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from transcription.model_files import TranscriberError, resolve_model_path
from transcription.settings import TranscriberSettings

AUDIO_PER_PROCESS_S = 120.0
"""``auto`` starts another process only for each 2 minutes of audio in the batch. A process
costs about 1.3 s to start and load tiny.en, and one thread transcribes 2 minutes of calls
in about 3.4 s (35.8x realtime; bench/README.md): with a smaller share, the start would cost
about as much as the work."""
PROCESS_BASE_MB = 200.0
"""Resident memory (MiB) of a transcribing process besides its model. Measured: a one-thread
process with tiny.en (74 MiB on disk) peaked at 276 MiB; the estimate per process is this plus
2.5 times the model's size on disk, which over-estimates tiny.en's (386 MiB) on purpose."""


def available_cores() -> int:
    """The CPUs this process may run on (its affinity, which a container's cpuset limits)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def omp_threads() -> int:
    """``OMP_NUM_THREADS`` as a count; 0 when it is unset, empty or not a number.

    The one place qm reads it. Where it is set and qm is not told a thread count, qm passes 0 to
    CTranslate2, which then takes its threads from this variable itself."""
    try:
        return max(0, int(os.environ.get("OMP_NUM_THREADS", "").strip() or 0))
    except ValueError:
        return 0


def resolve_device(device: str, *, isolated: bool = False) -> str:
    """"cuda" or "cpu" for a setting. ``isolated``: ask in a child process, for a parent that
    forks afterwards (``qm worker``'s prefork pool): CUDA initialised before a fork cannot be
    used in the forked children."""
    if device != "auto":
        return device
    if isolated:
        try:
            count = subprocess.run(
                [sys.executable, "-c",
                 "import ctranslate2; print(ctranslate2.get_cuda_device_count())"],
                capture_output=True, text=True, timeout=120, check=False).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            count = ""
        return "cuda" if count.isdigit() and int(count) > 0 else "cpu"
    import ctranslate2  # heavy: only when a model is about to be loaded

    return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"


def resolve_threads(settings: TranscriberSettings) -> int:
    """The threads a model is loaded with: the setting; else 0 where ``OMP_NUM_THREADS`` is set
    (CTranslate2 reads it itself); else every core this process may use."""
    if settings.cpu_threads or omp_threads():
        return settings.cpu_threads
    return available_cores()


def threads_per_process(settings: TranscriberSettings, processes: int, *,
                        defer_to_omp: bool = False) -> int:
    """The threads each of ``processes`` transcribing processes on this machine gets: the
    setting (``QM_WHISPER_CPU_THREADS``) when there is one; else, with ``defer_to_omp``, 0
    where ``OMP_NUM_THREADS`` is set (each process's CTranslate2 reads it); else an equal share
    of the cores, so that N models side by side do not each start a thread per core."""
    if settings.cpu_threads:
        return settings.cpu_threads
    if defer_to_omp and omp_threads():
        return 0
    return max(1, available_cores() // max(1, processes))


def auto_processes(settings: TranscriberSettings, *, units: int | None = None,
                   audio_s: float | None = None, available_mb: float | None = None,
                   forks: bool = False) -> int:
    """How many transcribing processes ``auto`` runs on this machine (``qm transcribe
    --workers auto``, ``qm worker --concurrency auto``).

    On a CPU, one process per core, each with one thread (or ``cores // threads`` when
    ``QM_WHISPER_CPU_THREADS`` or ``OMP_NUM_THREADS`` sets the threads): measured on 2 cores,
    two one-thread processes ran 1.73x as fast as one, and one process with two threads no
    faster than with one, because CTranslate2 splits each small decoding step between its
    threads badly. Never more than
    ``units`` (the groups of a batch), one per ``AUDIO_PER_PROCESS_S`` of ``audio_s``, or what
    half of the memory available holds (``available_mb``, default: ``memory_available_mb``;
    each process loads its own copy of the model). On a GPU: one, which
    batching keeps busy. A model that cannot be found gives 1, and its error comes from the
    load, where it is reported. ``forks``: the caller forks afterwards (see
    ``resolve_device``).
    """
    try:
        device = resolve_device(settings.device, isolated=forks)
        model_mb = sum(f.stat().st_size for f in resolve_model_path(settings.model).iterdir()
                       if f.is_file()) / 2**20
    except (TranscriberError, OSError):
        return 1
    if device != "cpu":
        return 1
    threads = settings.cpu_threads or omp_threads() or 1
    count = max(1, available_cores() // threads)
    if units is not None:
        count = min(count, max(1, units))
    if audio_s is not None:
        count = min(count, max(1, int(audio_s // AUDIO_PER_PROCESS_S)))
    if available_mb is None:
        available_mb = memory_available_mb()
    if available_mb is not None:
        count = min(count, max(1, int(available_mb / 2 // (PROCESS_BASE_MB + 2.5 * model_mb))))
    return count


def memory_available_mb() -> float | None:
    """The memory this process could still use, in MiB: the machine's ``MemAvailable``, or
    less where a container's memory limit (cgroup v2) leaves less; None when neither says."""
    found: list[float] = []
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    found.append(int(line.split()[1]) / 1024)
    except (OSError, ValueError, IndexError):
        pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit != "max":
            used = int(Path("/sys/fs/cgroup/memory.current").read_text().strip())
            found.append(max(0, int(limit) - used) / 2**20)
    except (OSError, ValueError):
        pass
    return min(found) if found else None
