"""Speech to text with faster-whisper, one channel per party, merged into one call timeline.

Why per channel: contact-centre recorders usually store the agent and the customer on separate
channels of a stereo file. Transcribing each channel alone gives every word its speaker for free
and keeps overlapping speech (both talking at once) instead of losing it in a mix; a mono
recording is transcribed once and labelled ``"speaker"`` (no diarization yet).

The model is found by ``model_files`` (never downloaded), sized by ``hardware``, loaded on first
use, not at import (a CLI ``--help`` or a web request must not pay for it), and once per process
for each load-relevant combination of settings. What it says is cut into our segments by
``segmenting``.
"""

from __future__ import annotations

import dataclasses
import math
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from transcription.activity import Interval, speech_spans
from transcription.audio import SAMPLE_RATE, SILENCE_DBFS, Audio, decode
from transcription.hardware import resolve_device, resolve_threads
from transcription.model_files import TranscriberError, describe_model, resolve_model_path
from transcription.segmenting import RawSegment, split_by_track, to_segments
from transcription.settings import TranscriberSettings
from transcription.timeline import AGENT, CUSTOMER, MONO, SPEAKERS, Segment, merge

if TYPE_CHECKING:  # imported lazily at run time: faster-whisper pulls in CTranslate2 and ONNX
    from faster_whisper import WhisperModel

_WINDOW_S = 30.0  # Whisper's input window
PACK_MAX_S = 30.0
"""Channels shorter than this are packed together with other short ones (see ``transcribe_many``).

Whisper always encodes a 30 s window, so a 3 s voicemail costs what 30 s of speech costs. The
batched pipeline already fills windows from one long channel's speech; packing does the same
across the short channels of several files (measured in bench/README.md)."""
LOOP_RATIO = 2.4
"""A segment whose text compresses more than this (gzip, Whisper's own measure) is a loop: the
batched pipeline decodes greedily and never falls back, and on digit strings it can repeat one
digit to the end of the window ("5, 5, 5, ..."). Whisper's own threshold."""
NO_REPEAT_NGRAM = 3
"""What a looping channel is decoded again with: no 3-token sequence may repeat. Measured on
the 4 looping calls of 20 real ones (bench/transcribe/real.py): WER 1.10 -> 0.12 with no change
on the others; a repetition penalty of 1.1 helped less and hurt a call that did not loop."""
PACK_GAP_S = 2.0
"""Silence put between packed channels: longer than Silero VAD's padding (2 x 0.4 s) plus the
shortest silence it splits at, so no speech segment ever spans two recordings."""


@dataclass(frozen=True)
class DecodedCall:
    """What the speech model heard in one recording, before redaction (the stored, redacted
    form is ``models.Transcript``): a single timeline of segments, each with its speaker.

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
    activity: dict[str, tuple[Interval, ...]] | None = None
    """When each speaker's channel has speech (``activity.speech_spans``), by speaker; a dead
    channel's speaker has none. What call metrics are measured from. None: not measured (a
    timeline built by hand), and metrics fall back to the segments."""
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
    """Turns ``Audio`` into a ``DecodedCall``. Cheap to create; the model loads on first use.

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
            device = resolve_device(self.settings.device)
            compute_type = self.settings.compute_type
            if compute_type == "auto":
                compute_type = "int8" if device == "cpu" else "float16"
            key = _LoadKey(str(path), device, compute_type, resolve_threads(self.settings))
            with _MODELS_LOCK:
                model = _MODELS.get(key)
                if model is None:
                    model = _load_model(key)
                    _MODELS[key] = model
            self._model, self._key = model, key
        return self._model

    def transcribe(
        self, audio: Audio, *, channel_speakers: Sequence[str] = (AGENT, CUSTOMER)
    ) -> DecodedCall:
        """Transcribe every channel and merge them into one timeline.

        ``channel_speakers`` names the speaker on each channel, in channel order: a site whose
        recorder puts the customer on the left passes ``("customer", "agent")``. A mono file is
        labelled ``"speaker"`` (or the single name given), and so is a stereo file whose two
        channels carry the same signal, which is transcribed once rather than twice.
        """
        return self.transcribe_many([audio], channel_speakers=channel_speakers)[0]

    def transcribe_many(
        self, audios: Sequence[Audio], *, channel_speakers: Sequence[str] = (AGENT, CUSTOMER)
    ) -> list[DecodedCall]:
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
        loops = [0] * len(audios)  # channels decoded again because they looped
        assert self._key is not None
        long_batch, short_batch = self.settings.decoders(self._key.device)
        activity: list[dict[str, tuple[Interval, ...]]] = [
            {speaker: () for speaker, _ in tracks} for tracks in plans]
        for index, (audio, tracks) in enumerate(zip(audios, plans, strict=True)):
            for number, (speaker, samples) in enumerate(tracks):
                if _peak_dbfs(samples) < SILENCE_DBFS:
                    continue  # a dead channel: nothing to hear, nothing to hallucinate
                started = time.perf_counter()
                activity[index][speaker] = tuple(speech_spans(samples))
                elapsed[index] += time.perf_counter() - started
                if self.settings.vad_filter and len(samples) < PACK_MAX_S * SAMPLE_RATE:
                    packed.append((index, number))
                    continue
                started = time.perf_counter()
                segments, detected, looped = self._transcribe_track(
                    model, samples, speaker, audio.duration_s, long_batch,
                    activity[index][speaker])
                loops[index] += looped
                elapsed[index] += time.perf_counter() - started
                found[index][number] = segments
                languages[index] = languages[index] or detected
        packed_with = dict.fromkeys(range(len(audios)), 0)
        if packed:
            started = time.perf_counter()
            tracks = [plans[i][n][1] for i, n in packed]
            pieces, detected, looped = self._transcribe_packed(model, tracks, short_batch)
            spent = time.perf_counter() - started
            total = sum(len(t) for t in tracks)
            for (index, number), samples, raws in zip(packed, tracks, pieces, strict=True):
                speaker = plans[index][number][0]
                for raw in raws:
                    found[index][number].extend(
                        to_segments(raw, speaker, audios[index].duration_s,
                                    activity[index][speaker]))
                elapsed[index] += spent * len(samples) / total
                languages[index] = languages[index] or detected
                packed_with[index] = len(packed) - 1
                loops[index] += looped
        return [
            DecodedCall(
                segments=tuple(merge(*found[index])),
                language=languages[index] or "en",
                duration_s=audio.duration_s,
                model=self.model_name,
                settings={**self.settings_record(), "packed_with": packed_with[index],
                          "loops_decoded_again": loops[index]},
                warnings=audio.warnings,
                elapsed_s=elapsed[index],
                activity=activity[index],
            )
            for index, audio in enumerate(audios)
        ]

    def transcribe_path(
        self, path: str | os.PathLike[str], *, channel_speakers: Sequence[str] = (AGENT, CUSTOMER)
    ) -> DecodedCall:
        """Decode and transcribe a file; ``AudioError`` for a file that cannot be used."""
        return self.transcribe(decode(path), channel_speakers=channel_speakers)

    def _transcribe_track(
        self, model: WhisperModel, samples: np.ndarray, speaker: str, duration_s: float,
        batch_size: int, activity: Sequence[Interval] = (),
    ) -> tuple[list[Segment], str, int]:
        found, language, looped = self._decode(model, samples, batch_size)
        track: list[Segment] = []
        for raw in found:
            track.extend(to_segments(raw, speaker, duration_s, activity))
        return track, language, looped

    def _transcribe_packed(
        self, model: WhisperModel, tracks: Sequence[np.ndarray], batch_size: int
    ) -> tuple[list[list[RawSegment]], str, int]:
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
        found, language, looped = self._decode(model, np.concatenate(parts), batch_size)
        out: list[list[RawSegment]] = [[] for _ in tracks]
        for raw in found:
            for number, piece in split_by_track(raw, starts):
                out[number].append(piece)
        return out, language, looped

    def _decode(self, model: WhisperModel, samples: np.ndarray, batch_size: int
                ) -> tuple[list[Any], str, int]:
        """faster-whisper's segments of one signal, its language, and 1 when it looped and was
        decoded again (``LOOP_RATIO``), else 0; ``batch_size`` 0 is the sequential decoder,
        which has its own fallback."""
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
            pipeline = BatchedInferencePipeline(model)
            found, info = pipeline.transcribe(
                samples, batch_size=batch_size, without_timestamps=False, **options
            )
            found = list(found)
            if any(_looped(raw) for raw in found):
                again, _info = pipeline.transcribe(
                    samples, batch_size=batch_size, without_timestamps=False,
                    no_repeat_ngram_size=NO_REPEAT_NGRAM, **options)
                return list(again), info.language, 1
            return found, info.language, 0
        found, info = model.transcribe(samples, **options)
        return list(found), info.language, 0

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


def _looped(raw: Any) -> bool:
    """Whether a raw segment repeats itself (its text compresses over ``LOOP_RATIO``)."""
    ratio = getattr(raw, "compression_ratio", None)
    return ratio is not None and ratio > LOOP_RATIO


def _same_signal(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.max(np.abs(a - b), initial=0.0) < 1e-4)


def _peak_dbfs(samples: np.ndarray) -> float:
    peak = float(np.max(np.abs(samples), initial=0.0))
    return 20 * math.log10(peak) if peak > 0 else -math.inf


