"""Reading a call recording into samples the speech model can use.

Contact-centre recorders write many formats (WAV from the switch, MP3 or M4A from a cloud
platform, Opus from a softphone), at telephone or wideband rates, often in stereo with the agent
on one channel and the customer on the other. PyAV (FFmpeg) reads all of them, so ``decode``
accepts anything FFmpeg can decode and returns one shape: 16 kHz float32 samples, one array per
channel. Channels are kept apart because on a dual-channel recording the channel *is* the speaker,
which is far more reliable than guessing speakers from a mixed signal.

Failures a user can cause (a wrong file, an empty upload, a silent recording) raise
``AudioError`` with a reason in words and a short ``reason`` code for programs.

Truncated recordings - an interrupted upload, a recorder that crashed, a full disk - are
*accepted* with what decodes: the part of the call that survived can still be evaluated, and
refusing it would lose evidence. Such an ``Audio`` has ``truncated=True`` and a line in
``warnings`` saying how much is missing, so a caller can show it. ``decode(path, strict=True)``
refuses them instead, for callers that would rather ask for the file again.
"""

from __future__ import annotations

import hashlib
import math
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

SAMPLE_RATE = 16_000
"""The rate Whisper models expect; everything is resampled to it."""

SILENCE_DBFS = -60.0
"""A recording whose loudest sample is below this is treated as silent.

Speech on a phone line peaks somewhere around -20 to -3 dBFS; a file whose loudest moment is
quieter than -60 dBFS has nobody on it. That is nearly always a recorder fault (a muted port, a
failed bridge), and saying so beats handing an empty transcript to an evaluator.
"""

TRUNCATION_TOLERANCE_S = 0.5
"""How far the decoded length may fall short of the length the container declares.

Encoders pad and prime (AAC adds ~45 ms, MP3 a frame), so small differences are normal.
"""

# Containers whose "duration" FFmpeg estimates from bit rate and file size rather than reads from
# a header: for them a mismatch says nothing about truncation.
_ESTIMATED_DURATION_FORMATS = frozenset({"mp3", "aac", "ac3", "eac3", "mpeg"})
_HASH_CHUNK = 1 << 20


class AudioError(ValueError):
    """A recording that cannot be used, with the reason in words.

    ``reason`` is a short code for programs: ``missing``, ``empty``, ``unreadable``,
    ``not_audio``, ``corrupt``, ``truncated``, ``no_samples`` or ``silent``.
    """

    def __init__(self, message: str, *, reason: str, path: str | os.PathLike[str] | None = None):
        super().__init__(message)
        self.reason = reason
        self.path = None if path is None else str(path)


@dataclass(frozen=True, eq=False)
class Audio:
    """Decoded samples, one float32 array per source channel, all at ``sample_rate``.

    ``eq=False``: comparing arrays element-wise is never what ``==`` on a recording should mean.
    """

    channels: list[np.ndarray]
    sample_rate: int
    duration_s: float
    source_channels: int
    source_sample_rate: int
    codec: str
    peak_dbfs: float
    truncated: bool = False
    warnings: tuple[str, ...] = ()

    @property
    def is_stereo(self) -> bool:
        return len(self.channels) == 2

    def mono(self) -> np.ndarray:
        """The channels averaged: what a single-speaker-track model hears."""
        if len(self.channels) == 1:
            return self.channels[0]
        return np.mean(np.stack(self.channels), axis=0, dtype=np.float32)


def content_hash(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of the file's bytes, as hex, read in 1 MiB pieces.

    Identifies a recording whatever it is named, so the same call uploaded twice is transcribed
    once, and an evaluation can prove which recording it was based on. Streamed because call
    recordings can be hundreds of megabytes.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def probe_duration(path: str | os.PathLike[str]) -> float | None:
    """The length the file's header declares, in seconds, without decoding it; None when the
    file cannot be opened or does not say. Cheap (a header read): used to plan which files to
    transcribe together, never trusted for anything a user sees."""
    try:
        with av.open(str(path), mode="r") as container:
            if not container.streams.audio:
                return None
            return _declared_duration(container, container.streams.audio[0])
    except (av.error.FFmpegError, OSError, UnicodeDecodeError, ValueError):
        return None


def decode(
    path: str | os.PathLike[str], *, sample_rate: int = SAMPLE_RATE, strict: bool = False
) -> Audio:
    """Read ``path`` into float32 samples at ``sample_rate``, one array per channel.

    Raises ``AudioError`` for a missing, empty, non-audio, corrupt or silent file. A truncated file
    is accepted with a warning (see the module docstring), unless ``strict`` is true.
    """
    path = Path(path)
    _check_file(path)
    try:
        container = av.open(str(path), mode="r")
    except av.error.FileNotFoundError as exc:  # removed between the check and the open
        raise AudioError(f"file not found: {path}", reason="missing", path=path) from exc
    except av.error.PermissionError as exc:
        raise AudioError(
            f"cannot read {path.name}: permission denied", reason="unreadable", path=path
        ) from exc
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise AudioError(
            f"not an audio file, or its header is corrupt: {path.name} ({_detail(exc)})",
            reason="not_audio",
            path=path,
        ) from exc
    with container:
        if not container.streams.audio:
            raise AudioError(
                f"not an audio file (no audio stream): {path.name}", reason="not_audio", path=path
            )
        stream = container.streams.audio[0]
        source_rate = int(stream.rate or stream.codec_context.sample_rate or 0)
        source_channels = int(stream.codec_context.channels or 0)
        codec = stream.codec_context.name
        declared_s = _declared_duration(container, stream)
        container_format = container.format.name
        samples, error = _decode_stream(container, stream, sample_rate)

    if error is not None and samples is None:
        raise AudioError(
            f"corrupt or truncated audio: {path.name} ({_detail(error)})",
            reason="corrupt",
            path=path,
        ) from error
    if samples is None or samples.shape[1] == 0:
        declared = _wav_missing_seconds(path) or declared_s or 0.0
        if declared > TRUNCATION_TOLERANCE_S:
            raise AudioError(
                f"corrupt or truncated audio: {path.name} declares {declared:.1f} s of audio "
                "but holds none",
                reason="corrupt",
                path=path,
            )
        raise AudioError(
            f"no audio samples: {path.name} has an audio stream but nothing in it",
            reason="no_samples",
            path=path,
        )

    duration_s = samples.shape[1] / sample_rate
    warnings: list[str] = []
    if error is not None:
        warnings.append(
            f"corrupt or truncated audio: decoding stopped after {duration_s:.1f} s "
            f"({_detail(error)}); the rest of the recording is lost"
        )
    missing_s = _wav_missing_seconds(path)
    if (
        missing_s is None
        and declared_s is not None
        and container_format not in _ESTIMATED_DURATION_FORMATS
    ):
        missing_s = declared_s - duration_s
    if missing_s is not None and missing_s > TRUNCATION_TOLERANCE_S and error is None:
        warnings.append(
            f"truncated: decoded {duration_s:.1f} s, about {missing_s:.1f} s of the recording "
            "its header declares is missing"
        )
    if warnings and strict:
        raise AudioError(f"{warnings[0]}: {path.name}", reason="truncated", path=path)

    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    peak_dbfs = 20 * math.log10(peak) if peak > 0 else -math.inf
    if peak_dbfs < SILENCE_DBFS:
        level = "digital silence" if peak == 0 else f"peak {peak_dbfs:.0f} dBFS"
        raise AudioError(
            f"silent recording: {path.name} ({level}, below {SILENCE_DBFS:.0f} dBFS)",
            reason="silent",
            path=path,
        )

    return Audio(
        channels=[np.ascontiguousarray(row) for row in samples],
        sample_rate=sample_rate,
        duration_s=duration_s,
        source_channels=source_channels or samples.shape[0],
        source_sample_rate=source_rate,
        codec=codec,
        peak_dbfs=peak_dbfs,
        truncated=bool(warnings),
        warnings=tuple(warnings),
    )


def _check_file(path: Path) -> None:
    """Catch what the user can fix before FFmpeg turns it into an opaque error code."""
    if not path.exists():
        raise AudioError(f"file not found: {path}", reason="missing", path=path)
    if not path.is_file():
        raise AudioError(f"not a file: {path}", reason="missing", path=path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise AudioError(f"cannot read {path}: {exc.strerror}", reason="unreadable") from exc
    if size == 0:
        raise AudioError(f"empty file (0 bytes): {path.name}", reason="empty", path=path)


def _decode_stream(
    container: av.container.InputContainer, stream: av.AudioStream, sample_rate: int
) -> tuple[np.ndarray | None, Exception | None]:
    """All samples as a (channels, n) float32 array, and the error that stopped decoding, if any.

    Planar float output keeps each channel in its own row; the resampler keeps the source layout.
    An error after some samples decoded is returned rather than raised, so the caller can keep
    the part that survived.
    """
    resampler = av.AudioResampler(format="fltp", rate=sample_rate)
    chunks: list[np.ndarray] = []
    error: Exception | None = None
    try:
        for frame in container.decode(stream):
            chunks.extend(out.to_ndarray() for out in resampler.resample(frame))
    except (av.error.FFmpegError, ValueError) as exc:
        error = exc
    try:
        chunks.extend(out.to_ndarray() for out in resampler.resample(None))
    except (av.error.FFmpegError, ValueError) as exc:
        error = error or exc
    if not chunks:
        return None, error
    width = chunks[0].shape[0]
    if any(chunk.shape[0] != width for chunk in chunks):
        # The channel count changed mid-stream: keep the part before the change.
        chunks = chunks[: next(i for i, c in enumerate(chunks) if c.shape[0] != width)]
        error = error or ValueError("the channel layout changes part way through")
    return np.concatenate(chunks, axis=1).astype(np.float32, copy=False), error


def _declared_duration(
    container: av.container.InputContainer, stream: av.AudioStream
) -> float | None:
    """The length the file says it has, in seconds, or None when it does not say."""
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def _wav_missing_seconds(path: Path) -> float | None:
    """For a RIFF/WAVE file, the seconds its data chunk declares beyond the bytes present.

    FFmpeg quietly clamps a WAV's declared size to the file size, so it never reports a cut-off
    WAV - the commonest kind of truncation, since switches write WAV. None when the file is not
    a WAV, or when the size is a placeholder (0 or 0xFFFFFFFF: a recorder streaming to a pipe).
    """
    try:
        with open(path, "rb") as handle:
            header = handle.read(12)
            if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
                return None
            byte_rate = 0
            while chunk := handle.read(8):
                if len(chunk) < 8:
                    return None
                chunk_id, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
                if chunk_id == b"fmt ":
                    fmt = handle.read(size + (size & 1))
                    if len(fmt) >= 12:
                        byte_rate = struct.unpack("<I", fmt[8:12])[0]
                elif chunk_id == b"data":
                    if size in (0, 0xFFFFFFFF) or byte_rate == 0:
                        return None
                    present = path.stat().st_size - handle.tell()
                    return max(0, size - present) / byte_rate
                else:
                    handle.seek(size + (size & 1), os.SEEK_CUR)
    except OSError:
        return None
    return None


def _detail(exc: BaseException) -> str:
    """FFmpeg's words for an error, without the errno and the repeated file name."""
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return str(text).rstrip(".")
