"""Generate the transcription benchmark's speech corpus, with its reference texts.

Usage::

    python bench/transcribe/make_corpus.py OUT_DIR [--seed 7]

Writes, into OUT_DIR (generated at bench time, never committed; same bytes for the same seed):

* ``calls/call-NN.wav``: two-party telephone calls, 8 kHz 16-bit stereo, agent on the left and
  customer on the right, each channel silent while the other party speaks (as a dual-channel
  recorder stores them), pauses of 0.5-3 s between turns and, in some calls, a hold of 10-20 s.
  Plus ``calls/voicemail-NN.wav``: 2-5 s clips with only the customer channel carrying speech.
* ``clips/clip-NN.wav``: 0.5-2 s utterances ("yes", "no thanks"), 8 kHz mono: the short-file
  case, where every file pays for at least one 30 s Whisper window.
* ``references.json``: ``{"calls": {file: {"agent", "customer", "whole"}}, "clips": {file:
  {"whole"}}}``; ``whole`` is the turns' text in time order.

Voices are flite's (awb, slt for agents; rms, kal16 for customers): tiny.en hears them correctly
on an 8 kHz line, where espeak-ng's were misheard (see tests/data/audio/make.sh). Numbers are
written as digits in the texts ("4 7 2 9") and spoken digit by digit by flite.
Needs flite and sox on PATH; nothing is downloaded.

``--smoke`` (what CI runs, see bench/README.md) needs neither: it writes one call of about 8 s
(``calls/call-01.wav``: digits read by two real speakers, one per channel, with a 1 s hold) and
one clip of a single digit (``clips/clip-01.wav``), cut from the real recordings of spoken
digits in ``../shared/speech/fsdd-dev`` (the Free Spoken Digit Dataset, Jakobovski et al.,
CC BY-SA 4.0; ``--speech DIR`` to read them from elsewhere), with the same references.json.
The calls are put together by the same code as the full corpus's.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np

RATE = 8000
ROOT = Path(__file__).resolve().parents[2]
FSDD = ROOT.parent / "shared" / "speech" / "fsdd-dev"  # {digit}_{speaker}_{take}.wav, 8 kHz mono
AGENT_VOICES = ("awb", "slt")
CUSTOMER_VOICES = ("rms", "kal16")

GREETINGS = [
    "Thank you for calling Acme billing, my name is Sam. How can I help you today?",
    "Good morning, you are through to Acme broadband support, this is Priya speaking.",
    "Hello, thanks for holding. You are speaking to Tom in the accounts team.",
    "Good afternoon, Acme customer services, my name is Laura. What can I do for you?",
    "Thanks for calling, this is David from the cancellations team. How can I help?",
    "Hello and welcome to Acme mobile. My name is Chris, who am I speaking with today?",
]
AGENT_ID = [
    "Before I go any further, can I take your full name and the first line of your address?",
    "For security, can you confirm your date of birth for me please?",
    "Can you give me the account number? It is on the top right of your bill.",
    "Thank you. Can you also confirm the postcode on the account?",
    "I just need to ask a couple of security questions before I can discuss the account.",
    "Could you tell me the last 4 digits of the phone number on the account?",
    "Thanks, that all matches. I can see your account now.",
    "Can you confirm the email address we have on file for you?",
]
AGENT_BODY = [
    "I can see two payments were taken on the same day this month.",
    "It looks like the direct debit was collected twice by mistake.",
    "I will raise a refund for the duplicate payment today.",
    "The refund should reach your bank within 3 to 5 working days.",
    "Your current package is the fibre 100 plan at 35 pounds a month.",
    "There is a known fault in your area and our engineers are working on it.",
    "Let me run a line test from here, it will only take a moment.",
    "The test shows the line is fine up to the exchange.",
    "Can you try turning the router off at the wall for 30 seconds?",
    "I can book an engineer visit for Thursday between 8 and 1.",
    "Your contract ends on the 14th of next month, so there is no early exit fee.",
    "If you leave now there would be an early termination charge of 60 pounds.",
    "I can offer you a discount of 10 pounds a month for the next 12 months.",
    "I understand this has been frustrating, and I am sorry for the trouble.",
    "I have added a note to the account so that anyone you speak to can see this.",
    "Your reference number for this call is 5 8 3 1 7 2.",
    "I will send a confirmation email once this call ends.",
    "The late payment fee has been removed from your bill.",
    "Your next bill will be lower because of the credit I have applied.",
    "I can move your payment date to the 28th of each month if that helps.",
    "The upgrade would give you faster speeds and unlimited calls.",
    "I can see the roaming charges came from three days abroad last month.",
    "I have put the cancellation through and your service will stop on the 30th.",
    "You will receive a returns bag for the router within a week.",
    "Is there anything else I can help you with today?",
    "I will transfer you to the technical team, please stay on the line.",
    "The payment plan would split the balance into 4 monthly payments.",
    "Your balance at the moment is 82 pounds and 40 pence.",
    "I have updated the address on your account.",
    "The speed you are getting is within the range we promised.",
    "We can send a new SIM card to your home address free of charge.",
    "I can see you have been a customer with us for 6 years.",
    "I have escalated the complaint to my team leader.",
    "You should hear back from the complaints team within 2 working days.",
]
HOLDS = [
    "Let me check that for you, can I put you on hold for a moment?",
    "Bear with me while I look into this, I will just place you on a short hold.",
    "I need to speak to a colleague, please hold the line.",
]
AFTER_HOLD = [
    "Thank you for holding, sorry for the wait.",
    "Thanks for waiting, I have the answer now.",
    "Sorry to keep you, thank you for your patience.",
]
CLOSINGS = [
    "Thank you for calling Acme, have a lovely day.",
    "Thanks for your patience today, goodbye.",
    "You are welcome, take care and have a good evening.",
    "Thanks for calling, enjoy the rest of your day.",
]
CUSTOMER_ISSUE = [
    "Hello, I was charged twice for my broadband this month.",
    "Hi, my internet keeps dropping out every evening.",
    "I would like to cancel my contract please.",
    "I have been overcharged on my last bill and I want to know why.",
    "My broadband has been really slow for about a week now.",
    "I want to change my payment date because I get paid at the end of the month.",
    "I moved house last week and I need to update my address.",
    "I got a bill for roaming charges but I turned roaming off.",
    "My router has a red light on it and nothing is working.",
    "I was promised a discount when I signed up and it is not on my bill.",
    "I want to make a complaint about the engineer who did not turn up.",
    "I lost my phone and I need a new SIM card.",
]
CUSTOMER_ID = [
    "Yes, it is Maria Lopez, 12 Station Road.",
    "My date of birth is the 3rd of March 1985.",
    "The account number is 4 7 2 9 1 8 6.",
    "The postcode is L S 6 2 A B.",
    "The last 4 digits are 0 7 7 3.",
    "Sure, it is John Smith, 48 Park Avenue.",
    "It is maria dot lopez at example dot com.",
    "Yes, my name is Peter Brown and I live at 7 Mill Lane.",
]
CUSTOMER_BODY = [
    "Okay, that makes sense.",
    "I have already tried turning it off and on again.",
    "That is the third time this has happened this year.",
    "How long will the refund take?",
    "Can you put that in writing for me please?",
    "I have been waiting on the phone for over 20 minutes.",
    "That is fine, Thursday morning works for me.",
    "I do not want to pay an early exit fee.",
    "Is there anything cheaper you can offer me?",
    "I am not happy about this at all.",
    "Right, so what happens next?",
    "I work from home so I really need the internet to work.",
    "Okay, the router is back on now.",
    "The light is still flashing orange.",
    "Yes, that would be great, thank you.",
    "No, I think that is everything.",
    "Can I speak to a manager please?",
    "I just want it sorted out.",
    "Will that affect my credit rating?",
    "Fine, I will take the discount then.",
    "Could you send me the reference number by text?",
    "I paid the bill on the 2nd, it should be on there.",
    "That sounds good, let us do that.",
    "I have never been abroad with this phone.",
    "Okay, I will wait for the email.",
]
CUSTOMER_THANKS = [
    "Thank you very much for your help.",
    "Thanks, goodbye.",
    "Great, thanks for sorting that out.",
    "Cheers, bye.",
]
VOICEMAILS = [
    "Hi, it is Maria, please call me back about my bill.",
    "Hello, this is John, I am returning your call.",
    "Please call me back when you can, thanks.",
    "Hi, I need help with my broadband, call me back.",
]
CLIPS = [
    "Yes.", "No thanks.", "Hello?", "Goodbye.", "Thank you.", "Okay.", "Hi there.",
    "Yes please.", "That is right.", "Not really.", "Sorry?", "Bye now.", "Of course.",
    "Hold on.", "Speaking.", "Correct.", "No.", "Sure.", "Thanks a lot.", "I see.",
    "Go ahead.", "One moment.", "Perfect.", "Call me back.", "That is fine.", "Wrong number.",
    "Who is this?", "All right.", "Yes, go on.", "Cancel it.", "Good morning.", "Not now.",
    "Is that all?", "Great.", "Lovely.", "Pardon?",
]


def synth(voice: str, text: str, work: Path) -> np.ndarray:
    """One utterance, 8 kHz mono int16, leading and trailing silence trimmed."""
    raw, out = work / "raw.wav", work / "utt.wav"
    subprocess.run(["flite", "-voice", voice, "--setf", "duration_stretch=0.9", "-t", text,
                    "-o", str(raw)], check=True)
    subprocess.run(["sox", "-D", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(out),
                    "silence", "1", "0.01", "0.1%", "reverse", "silence", "1", "0.01", "0.1%",
                    "reverse"], check=True)
    with wave.open(str(out), "rb") as w:
        data = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    peak = max(1, int(np.max(np.abs(data.astype(np.int32)))))
    return (data.astype(np.float32) * (0.7 * 32767 / peak)).astype(np.int16)  # about -3 dBFS


def zeros(seconds: float) -> np.ndarray:
    return np.zeros(int(round(seconds * RATE)), dtype=np.int16)


def write_wav(path: Path, channels: list[np.ndarray]) -> None:
    frames = np.stack(channels, axis=1) if len(channels) > 1 else channels[0]
    with wave.open(str(path), "wb") as w:
        w.setnchannels(len(channels))
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(np.ascontiguousarray(frames).tobytes())


def recorded(speech: Path, speaker: str, text: str, rng: random.Random) -> np.ndarray:
    """``text`` ("4 7 2"), each digit a real recording of ``speaker`` (a random take of it),
    0.15 s apart; 8 kHz mono int16, as ``synth`` returns."""
    parts: list[np.ndarray] = []
    for digit in text.split():
        takes = sorted(speech.glob(f"{digit}_{speaker}_*.wav"))
        if not takes:
            raise SystemExit(f"no recording of {digit!r} by {speaker!r} in {speech}")
        with wave.open(str(rng.choice(takes)), "rb") as w:
            if (w.getframerate(), w.getnchannels(), w.getsampwidth()) != (RATE, 1, 2):
                raise SystemExit(f"{speech}: expected {RATE} Hz 16-bit mono recordings")
            parts += [np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16), zeros(0.15)]
    return np.concatenate(parts[:-1])


def assemble_call(turns: list[tuple[str, str]], say: Callable[[str, str], np.ndarray],
                  rng: random.Random, gaps: tuple[float, float] = (0.5, 3.0)) -> tuple[
        list[np.ndarray], list[np.ndarray], dict[str, list[str]], list[str]]:
    """(left, right, what each party said, the turns' text in time order) of one call: each
    turn on its speaker's channel, the other channel silent meanwhile, a pause of ``gaps``
    seconds (0.5-3) after each turn, and a hold ("p", seconds) silent on both."""
    left, right = [zeros(0.3)], [zeros(0.3)]
    said: dict[str, list[str]] = {"a": [], "c": []}
    whole: list[str] = []
    for who, text in turns:
        if who == "p":
            left.append(zeros(float(text)))
            right.append(zeros(float(text)))
            continue
        utt = say(who, text)
        silent = np.zeros_like(utt)
        gap = zeros(rng.uniform(*gaps))
        left += [utt if who == "a" else silent, gap]
        right += [silent if who == "a" else utt, gap]
        said[who].append(text)
        whole.append(text)
    return left, right, said, whole


def smoke_corpus(out: Path, speech: Path, seed: int) -> int:
    """Two short files from real recordings: what CI's smoke run transcribes (a few seconds)."""
    if not speech.is_dir():
        raise SystemExit(f"--smoke reads real recordings of digits from {speech}, which is "
                         "missing: pass --speech DIR (the FSDD recordings, "
                         "{digit}_{speaker}_{take}.wav)")
    rng = random.Random(seed)
    calls_dir, clips_dir = out / "calls", out / "clips"
    calls_dir.mkdir(parents=True, exist_ok=True)
    clips_dir.mkdir(parents=True, exist_ok=True)
    voices = {"a": "george", "c": "jackson"}
    turns = [("a", "4 7 2"), ("c", "9 1 5"), ("p", "1.00"), ("a", "3 8"), ("c", "6")]
    left, right, said, whole = assemble_call(
        turns, lambda who, text: recorded(speech, voices[who], text, rng), rng, gaps=(0.3, 0.6))
    write_wav(calls_dir / "call-01.wav", [np.concatenate(left), np.concatenate(right)])
    call_s = sum(len(x) for x in left) / RATE
    clip = np.concatenate([zeros(0.1), recorded(speech, "lucas", "5", rng), zeros(0.1)])
    write_wav(clips_dir / "clip-01.wav", [clip])
    refs = {"calls": {"call-01.wav": {"agent": " ".join(said["a"]),
                                      "customer": " ".join(said["c"]),
                                      "whole": " ".join(whole)}},
            "clips": {"clip-01.wav": {"whole": "5"}}}
    (out / "references.json").write_text(json.dumps(refs, indent=1) + "\n")
    print(f"smoke corpus: 1 call file, {call_s:.1f} s; 1 clip, {len(clip) / RATE:.1f} s "
          f"(real recordings from {speech}) -> {out}")
    return 0


def call_script(rng: random.Random, hold: bool, body_turns: int) -> list[tuple[str, str]]:
    """Turns of one call: ("a"|"c", text) or ("p", seconds) for a hold."""
    turns: list[tuple[str, str]] = [("a", rng.choice(GREETINGS)),
                                    ("c", rng.choice(CUSTOMER_ISSUE))]
    ids = rng.sample(range(len(AGENT_ID)), rng.randint(1, 2))
    for i in ids:
        turns += [("a", AGENT_ID[i]), ("c", rng.choice(CUSTOMER_ID))]
    bodies_a = rng.sample(AGENT_BODY, body_turns)
    bodies_c = rng.sample(CUSTOMER_BODY, body_turns)
    hold_at = rng.randrange(body_turns) if hold else -1
    for i in range(body_turns):
        if i == hold_at:
            turns += [("a", rng.choice(HOLDS)), ("p", f"{rng.uniform(10, 20):.2f}"),
                      ("a", rng.choice(AFTER_HOLD))]
        turns += [("a", bodies_a[i]), ("c", bodies_c[i])]
    turns += [("a", "Is there anything else I can help you with today?"),
              ("c", rng.choice(CUSTOMER_THANKS)), ("a", rng.choice(CLOSINGS))]
    return turns


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--calls", type=int, default=15)
    parser.add_argument("--clips", type=int, default=32)
    parser.add_argument("--smoke", action="store_true",
                        help="CI's smoke corpus: 1 call of about 8 s and 1 clip, cut from real "
                             "recordings of digits (no flite, no sox)")
    parser.add_argument("--speech", type=Path, default=FSDD,
                        help="with --smoke: the recordings of digits (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.smoke:
        return smoke_corpus(args.out, args.speech, args.seed)
    rng = random.Random(args.seed)
    calls_dir, clips_dir = args.out / "calls", args.out / "clips"
    calls_dir.mkdir(parents=True, exist_ok=True)
    clips_dir.mkdir(parents=True, exist_ok=True)
    refs: dict[str, dict[str, dict[str, str]]] = {"calls": {}, "clips": {}}
    total = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for n in range(1, args.calls + 1):
            agent_voice = AGENT_VOICES[n % 2]
            customer_voice = CUSTOMER_VOICES[(n // 2) % 2]
            turns = call_script(rng, hold=n % 4 == 0, body_turns=rng.randint(0, 3))

            def say(who: str, text: str, agent: str = agent_voice,
                    customer: str = customer_voice) -> np.ndarray:
                return synth(agent if who == "a" else customer, text, work)

            left, right, said, whole = assemble_call(turns, say, rng)
            name = f"call-{n:02d}.wav"
            write_wav(calls_dir / name, [np.concatenate(left), np.concatenate(right)])
            total += sum(len(x) for x in left) / RATE
            refs["calls"][name] = {"agent": " ".join(said["a"]),
                                   "customer": " ".join(said["c"]), "whole": " ".join(whole)}
        for n, text in enumerate(VOICEMAILS, start=1):
            utt = synth(CUSTOMER_VOICES[n % 2], text, work)
            right = np.concatenate([zeros(0.2), utt, zeros(0.3)])
            name = f"voicemail-{n:02d}.wav"
            write_wav(calls_dir / name, [np.zeros_like(right), right])
            total += len(right) / RATE
            refs["calls"][name] = {"agent": "", "customer": text, "whole": text}
        clip_total = 0.0
        for n in range(1, args.clips + 1):
            text = CLIPS[(n - 1) % len(CLIPS)]
            voice = (AGENT_VOICES + CUSTOMER_VOICES)[n % 4]
            # A text and voice come back every len(CLIPS) clips: a few ms more of leading
            # silence each round makes every file's bytes unique (qm skips a file whose
            # content it has seen, so repeats would not be transcribed twice).
            lead = 0.1 + 0.005 * ((n - 1) // len(CLIPS))
            clip = np.concatenate([zeros(lead), synth(voice, text, work), zeros(0.1)])
            name = f"clip-{n:02d}.wav"
            write_wav(clips_dir / name, [clip])
            clip_total += len(clip) / RATE
            refs["clips"][name] = {"whole": text}
    (args.out / "references.json").write_text(json.dumps(refs, indent=1) + "\n")
    print(f"{len(refs['calls'])} call files, {total / 60:.1f} min; "
          f"{len(refs['clips'])} clips, {clip_total:.1f} s -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
