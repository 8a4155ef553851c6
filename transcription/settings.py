"""Transcription's settings, built from ``qm.config.Settings`` (the one reader of ``QM_*``).

Two objects, because they travel differently:

* ``TranscriberSettings``: how the speech model runs (``QM_WHISPER_*``). Frozen and hashable
  (it keys the loaded-model cache) and sent as JSON with every queued task, so that a worker
  transcribes as the sender asked.
* ``TranscriptionSettings``: the rest of the domain's settings (keeping raw text, flagging's
  score, the Celery queue, a worker's threads, the redaction rules), with transcription's
  defaults applied.

Both are built from a ``qm.config.Settings`` (``from_settings``) and passed down: the ``qm``
commands build them from the command's settings, a worker from the settings it was started
with; and what runs when the core saves something reads the settings the session carries
(``qm.db.settings_of``). Values
that ``qm.config.Settings`` keeps as written are parsed here, and a bad one is a ``ValueError``
that names its variable. Nothing here reads the environment.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from qm.config import Settings
from transcription.redaction import SHORTEST_NUMBER, RedactionRules

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
AUTO_BATCH = 8
"""The batched pipeline's batch size where "auto" uses it: 8 windows, faster-whisper's own
example, and about what a group of short files fills (``pipeline.PACK_GROUP_S``)."""
DEFAULT_BROKER = "redis://127.0.0.1:6379/0"
DEFAULT_QUEUE = "qm.transcription"


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


def _as_text(value: object) -> str:
    """A setting as written: ``qm.config.Settings`` reads strings, a caller may give numbers."""
    return "" if value is None else str(value).strip()


def flag_score_below(settings: Settings) -> float:
    """``QM_FLAG_SCORE_BELOW``: for flagging, an evaluation under this score found a problem;
    80 when it is not set."""
    raw = _as_text(settings.flag_score_below)
    if not raw:
        return 80.0
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not 0 <= value <= 100:  # NaN too
        raise ValueError(f"QM_FLAG_SCORE_BELOW must be a score from 0 to 100, got {raw!r}")
    return value


def redaction_rules(settings: Settings) -> RedactionRules:
    """``QM_REDACT_NUMBER_GAP_S`` (seconds, >= 0; 1.5 when not set) and ``QM_REDACT_MIN_DIGITS``
    (a whole number >= 5; 6 when not set): what makes a digit run a number to redact."""
    values: dict[str, Any] = {}
    raw = _as_text(settings.redact_number_gap_s)
    if raw:
        try:
            gap = float(raw)
        except ValueError:
            gap = math.nan
        if not (math.isfinite(gap) and gap >= 0):  # NaN and infinity too
            raise ValueError(f"QM_REDACT_NUMBER_GAP_S must be a number of seconds >= 0, "
                             f"got {raw!r}")
        values["number_gap_s"] = gap
    raw = _as_text(settings.redact_min_digits)
    if raw:
        values["min_digits"] = _parse_int("QM_REDACT_MIN_DIGITS", raw, SHORTEST_NUMBER)
    return RedactionRules(**values)


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
    beam 5 and was about 30% faster. ``batch_size`` "auto" (None) is the batched pipeline for
    every channel, on a CPU as on a GPU: VAD chunks decoded together, each on its own and
    greedily. On the real test calls (tests/data/speech) it heard every digit, where the
    sequential decoder missed 2.5% of them, at the same speed on 2 cores; and it never samples,
    so the same file gives the same words in every process. The sequential decoder (0) falls
    back to sampling at higher temperatures when a window fails its checks (often on digit
    strings), and CTranslate2 seeds that sampler once per thread (a per-file
    ``ctranslate2.set_random_seed`` does not reach it once a thread has sampled: tried), so
    two processes may hear one file differently; it stays a setting for comparison.
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
    """0: OMP_NUM_THREADS when set, else every CPU this process may use
    (``hardware.resolve_threads``). CTranslate2's own default is 4 threads, which on a 2-core
    worker oversubscribes and measured ~30% slower."""
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
        return AUTO_BATCH, AUTO_BATCH

    @classmethod
    def from_settings(cls, settings: Settings) -> TranscriberSettings:
        """The site's speech settings: ``whisper_model`` and the other ``QM_WHISPER_*`` values
        that ``qm.config.Settings`` read (``whisper``)."""
        return cls.from_variables({**settings.whisper, "QM_WHISPER_MODEL": settings.whisper_model})

    @classmethod
    def from_variables(cls, variables: Mapping[str, str]) -> TranscriberSettings:
        """Settings from ``QM_WHISPER_*`` values by variable name; a missing or empty value keeps
        the default (but an empty ``QM_WHISPER_LANGUAGE`` means "detect the language").

        A malformed value raises ``ValueError`` naming the variable: a typo in a deployment must
        stop the worker at start-up, not quietly transcribe with other settings.
        """
        values: dict[str, Any] = {}

        def raw(name: str) -> str | None:
            value = variables.get(name)
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
        if (value := variables.get("QM_WHISPER_LANGUAGE")) is not None:
            values["language"] = value.strip().lower()
        return cls(**values)


@dataclass(frozen=True)
class TranscriptionSettings:
    """The domain's settings besides the speech model's, with its defaults applied."""

    keep_raw: bool = False
    """Keep a transcript's words before redaction too (``QM_KEEP_RAW_TRANSCRIPTS``)."""
    flag_score_below: float = 80.0
    """For flagging, an evaluation under this score found a problem (``QM_FLAG_SCORE_BELOW``)."""
    broker_url: str = DEFAULT_BROKER
    result_backend: str = ""
    """``QM_RESULT_BACKEND``; "" gives the broker's Redis with database 1 (results apart from
    the queue, so flushing one does not lose the other), any other broker itself."""
    queue: str = DEFAULT_QUEUE
    """``QM_TRANSCRIBE_QUEUE``: a name of its own lets two sites or two test runs share a Redis."""
    worker_cpu_threads: int = 0
    """``QM_WORKER_CPU_THREADS``: the threads of each ``qm worker`` pool process; 0: the worker
    decides (``hardware.threads_per_process``)."""
    redaction: RedactionRules = field(default_factory=RedactionRules)
    """What makes a digit run a number to redact (``QM_REDACT_NUMBER_GAP_S``,
    ``QM_REDACT_MIN_DIGITS``; ``redaction_rules``)."""

    def __post_init__(self) -> None:
        if not self.result_backend:
            backend = self.broker_url
            if backend.startswith(("redis://", "rediss://")):
                backend = re.sub(r"(/\d+)?(\?.*)?$", lambda m: "/1" + (m.group(2) or ""),
                                 backend, count=1)
            object.__setattr__(self, "result_backend", backend)

    @classmethod
    def from_settings(cls, settings: Settings) -> TranscriptionSettings:
        """The domain's settings; ``ValueError`` naming the variable of a malformed value."""
        threads = _as_text(settings.worker_cpu_threads)
        return cls(keep_raw=settings.keep_raw_transcripts,
                   flag_score_below=flag_score_below(settings),
                   broker_url=settings.broker_url or DEFAULT_BROKER,
                   result_backend=settings.result_backend,
                   queue=settings.transcribe_queue or DEFAULT_QUEUE,
                   worker_cpu_threads=(_parse_int("QM_WORKER_CPU_THREADS", threads, 0)
                                       if threads else 0),
                   redaction=redaction_rules(settings))

