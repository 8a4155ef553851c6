"""Write the real-speech test calls of this folder, each with its truth (see README.md).

Usage::

    python tests/data/speech/make.py [OUT_DIR] [--speech DIR]

OUT_DIR defaults to this folder; ``--speech`` to ``../shared/speech/fsdd-dev`` (the FSDD
recordings). The calls are put together by ``bench/transcribe/realcalls.py`` from the scripts
below and written as 8 kHz 16-bit FLAC (lossless, so a decoded sample is the built one) with
``NAME.truth.json``. The same scripts, seeds and recordings give the same truth and samples;
tests/transcription/test_realcalls_truth.py checks that. Needs numpy and PyAV (qm's own
dependencies), nothing else.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import av
import numpy as np

HERE = Path(__file__).resolve().parent
REALCALLS = HERE.parents[2] / "bench" / "transcribe" / "realcalls.py"


def load_realcalls() -> ModuleType:
    """bench/ is not a package: load the builder by path (registered first, for dataclasses)."""
    name = "qm_bench_realcalls"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REALCALLS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


rc = load_realcalls()
Say, Pause, Hold, Overlap = rc.Say, rc.Pause, rc.Hold, rc.Overlap
A, C, S = rc.AGENT, rc.CUSTOMER, rc.SPEAKER

CARD = "4929 5726 1830 1178"
"""Luhn-valid, made up for these tests (not the number in tests/data/audio)."""


def stereo_card() -> list[object]:
    """Agent (george) and customer (lucas): short answers, a card number in 4 groups, a 12 s
    hold and a 1 s overlap."""
    return [
        Pause(0.6),
        Say(A, "5 | 1 2", "george", group_gap_s=0.7, label="agent, two spans"),
        Pause(1.4),
        Say(C, "2", "lucas", label="short answer"),
        Pause(0.8),
        Say(A, "3 0 4", "george", gap_s=0.12, label="agent's three digits"),
        Pause(2.5),
        Say(C, "4 1", "lucas", gap_s=0.3, label="short answer"),
        Pause(0.6),
        Say(A, "8", "george"),
        Pause(1.0),
        Say(C, " | ".join(" ".join(g) for g in CARD.split()), "lucas", gap_s=0.14,
            group_gap_s=(0.7, 0.95, 0.6), label="card"),
        Pause(1.1),
        Say(A, "1 9", "george", gap_s=0.2),
        Hold(12.0),
        Say(A, "6", "george"),
        Pause(0.35),
        Say(C, "5 3 8 2", "lucas", gap_s=0.18, label="four digits"),
        Overlap(1.0, Say(A, "7 7", "george", gap_s=0.1, label="overlap")),
        Pause(1.6),
        Say(C, "9", "lucas", label="short answer"),
        Pause(0.9),
        Say(A, "3 3", "george", gap_s=0.45),
        Pause(0.8),
    ]


def stereo_phone() -> list[object]:
    """Agent (yweweler) and customer (jackson): an 11-digit phone number in 3 groups, the
    agent's one digit after it, an 11 s silence that is not a hold, no overlap."""
    return [
        Pause(0.8),
        Say(A, "2 0 1", "yweweler", gap_s=0.16),
        Pause(1.2),
        Say(C, "0 7 7 0 0 | 9 0 0 | 1 2 3", "jackson", gap_s=0.15,
            group_gap_s=(1.1, 1.3), label="phone"),
        Pause(1.8),
        Say(A, "5", "yweweler", label="agent's one digit"),
        Pause(1.7),
        Say(C, "6", "jackson", label="short answer"),
        Pause(11.0),
        Say(A, "4 4", "yweweler", gap_s=0.3),
        Pause(0.9),
        Say(C, "1 | 8", "jackson", group_gap_s=0.6, label="short answer"),
        Pause(2.2),
        Say(A, "9", "yweweler"),
        Pause(0.7),
    ]


def mono_pauses() -> list[object]:
    """One channel, five voices, utterances of 1-3 digits with pauses of 0.6-4 s."""
    return [
        Pause(0.5),
        Say(S, "3", "nicolas"),
        Pause(1.2),
        Say(S, "7 1", "george", gap_s=0.2),
        Pause(0.6),
        Say(S, "8", "jackson"),
        Pause(2.7),
        Say(S, "4 0 9", "yweweler", gap_s=0.15),
        Pause(4.0),
        Say(S, "2", "lucas"),
        Pause(0.8),
        Say(S, "6 5", "nicolas", gap_s=0.4),
        Pause(3.3),
        Say(S, "1", "george"),
        Pause(1.9),
        Say(S, "0 2", "jackson", gap_s=0.25),
        Pause(0.7),
        Say(S, "5", "yweweler"),
        Pause(3.6),
        Say(S, "9 9 4", "lucas", gap_s=0.15),
        Pause(1.4),
        Say(S, "7", "nicolas"),
        Pause(2.4),
        Say(S, "8 3", "george", gap_s=0.3),
        Pause(1.0),
    ]


CALLS = {"stereo_card": (stereo_card, 15), "stereo_phone": (stereo_phone, 16),
         "mono_pauses": (mono_pauses, 17)}
"""name: (script, seed)."""


def write_flac(path: Path, channels: list[np.ndarray], rate: int) -> None:
    """16-bit FLAC at the call's rate, through PyAV (FFmpeg's encoder, highest compression)."""
    layout = "stereo" if len(channels) == 2 else "mono"
    interleaved = np.stack(channels, axis=1).reshape(1, -1)
    with av.open(str(path), mode="w", format="flac") as container:
        stream = container.add_stream("flac", rate=rate, layout=layout)
        stream.format = "s16"
        stream.codec_context.options = {"compression_level": "12"}
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(interleaved), format="s16",
                                           layout=layout)
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, nargs="?", default=HERE)
    parser.add_argument("--speech", type=Path, default=rc.FSDD,
                        help="the FSDD recordings, {digit}_{speaker}_{take}.wav "
                             "(default: %(default)s)")
    parser.add_argument("--quiet", action="store_true", help="no summary")
    args = parser.parse_args(argv)
    if not args.speech.is_dir():
        parser.error(f"no recordings in {args.speech}: pass --speech DIR")
    args.out.mkdir(parents=True, exist_ok=True)
    for name, (script, seed) in CALLS.items():
        call = rc.build(script(), seed=seed, speech=args.speech, name=name)
        flac = args.out / f"{name}.flac"
        write_flac(flac, call.channels, call.rate)
        (args.out / f"{name}.truth.json").write_text(rc.truth_json(call.truth))
        if not args.quiet:
            print(rc.summary(call.truth))
            print(f"  -> {flac} ({flac.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
