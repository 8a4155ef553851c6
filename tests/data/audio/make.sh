#!/usr/bin/env bash
# Regenerates the test recordings in this folder. Run it by hand, once; the tests never run it,
# and nothing in qm needs these tools at run time (they only make the fixtures).
#
#   apt-get update && apt-get install -y flite sox ffmpeg
#   bash tests/data/audio/make.sh
#
# Why synthetic speech: the files must be small, free of any real customer's voice or data, and
# reproducible from this script alone (it writes the same bytes every run).
# Why flite and not espeak-ng: the bundled tiny.en model misheard espeak-ng's formant voices on
# the 8 kHz phone line too often to test anything ("broadband" came out as "clockmen", "Acme
# billing" as "our committee meeting"); flite's diphone/clustergen voices are heard correctly.
#
# Made with flite 2.2, SoX 14.4.2 and ffmpeg 5.1 (Debian 12). The spoken texts are also in
# README.md; the tests look for words from them, so change both together.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

AGENT_1="Thank you for calling Acme billing, my name is Sam. How can I help you today?"
CUSTOMER_1="Hello, I was charged twice for my broadband this month."
AGENT_2="Let me check that for you."
MONO="I would like to cancel my contract and speak to a manager please."
CARD="My card number is four five five six, seven three two one, zero nine eight seven, six five four eight."

# say VOICE TEXT OUT RATE: one utterance, mono, at RATE Hz, 16-bit, no dither (repeatable bytes),
# spoken 15% faster than flite's default (shorter files, still heard right), with the leading and
# trailing silence trimmed so that the timeline below is exact.
say() {
    flite -voice "$1" --setf duration_stretch=0.85 -t "$2" -o "$work/raw.wav"
    sox -D "$work/raw.wav" -r "$4" -c 1 -b 16 "$3" \
        silence 1 0.01 0.1% reverse silence 1 0.01 0.1% reverse
}

# silence SECONDS OUT RATE
silence() {
    sox -D -n -r "$3" -c 1 -b 16 "$2" trim 0 "$1"
}

seconds() { soxi -D "$1"; }

# 1. agent_customer_8k.wav: a two-sided telephone call, agent on the left channel and customer on
#    the right, each side silent while the other speaks (as a dual-channel call recorder stores
#    it), the agent in a Scottish male voice (awb) and the customer in an American one (rms),
#    8 kHz 16-bit PCM stereo (8 kHz sampling itself limits the band to 4 kHz, as G.711 does).
#    No extra 300-3400 Hz band-pass: with one, Silero VAD scored these synthetic voices at only
#    0.4-0.5 speech probability (threshold 0.5) and dropped the agent's short second turn.
rate=8000
say awb "$AGENT_1" "$work/a1.wav" "$rate"
say rms "$CUSTOMER_1" "$work/c1.wav" "$rate"
say awb "$AGENT_2" "$work/a2.wav" "$rate"
gap=0.5
a1="$(seconds "$work/a1.wav")"
c1="$(seconds "$work/c1.wav")"
a2="$(seconds "$work/a2.wav")"
silence 0.25 "$work/lead.wav" "$rate"
silence "$gap" "$work/gap.wav" "$rate"
silence "$c1" "$work/c1_sil.wav" "$rate"
silence "$a1" "$work/a1_sil.wav" "$rate"
silence "$a2" "$work/a2_sil.wav" "$rate"
# left:  lead | agent 1 | gap | (customer speaks)  | gap | agent 2 | tail
# right: lead | (agent) | gap | customer 1         | gap | (agent) | tail
sox -D "$work/lead.wav" "$work/a1.wav" "$work/gap.wav" "$work/c1_sil.wav" "$work/gap.wav" \
    "$work/a2.wav" "$work/lead.wav" "$work/left.wav"
sox -D "$work/lead.wav" "$work/a1_sil.wav" "$work/gap.wav" "$work/c1.wav" "$work/gap.wav" \
    "$work/a2_sil.wav" "$work/lead.wav" "$work/right.wav"
sox -D -M "$work/left.wav" "$work/right.wav" -r "$rate" -b 16 -e signed-integer \
    "$here/agent_customer_8k.wav" gain -n -3

# 2. mono_16k.flac: one sentence, 16 kHz mono FLAC.
say rms "$MONO" "$work/mono.wav" 16000
sox -D "$work/mono.wav" -C 8 "$here/mono_16k.flac" gain -n -3

# 3. customer_card.mp3: a card number read out as spoken digits (a Luhn-valid test number,
#    4556 7321 0987 6548, not a real card), for the redaction end-to-end test. 16 kHz mono MP3.
say kal16 "$CARD" "$work/card.wav" 16000
sox -D "$work/card.wav" "$work/card_n.wav" gain -n -3
ffmpeg -nostdin -loglevel error -y -i "$work/card_n.wav" -map_metadata -1 -fflags +bitexact \
    -codec:a libmp3lame -b:a 32k "$here/customer_card.mp3"

# 4. The error cases.
silence 2 "$here/silence.wav" 8000                       # digital silence: all samples zero
: > "$here/empty.wav"                                    # 0 bytes
printf 'This is a text file with a .wav name; it holds no audio at all.\n' > "$here/not_audio.wav"
# A valid WAV header whose data chunk promises the whole sentence, cut after 0.5 s of samples,
# as an interrupted upload or a full disk leaves it.
head -c $((44 + 16000 * 2 / 2)) "$work/mono.wav" > "$here/truncated.wav"

ls -l "$here"
du -sh "$here"
