#!/usr/bin/env bash
# Makes the demo's recorded calls: short two-channel telephone calls (agent left, customer right),
# synthetic voices, no real person's voice or data. Run by hand, once; qm only reads the .ogg
# files this writes (they ship in the package, so `qm demo` needs no tool and no network).
#
#   apt-get update && apt-get install -y flite sox ffmpeg
#   bash transcription/data/demo_calls/make.sh
#
# flite voices, not espeak-ng: tiny.en hears flite's voices correctly on an 8 kHz line
# (see tests/data/audio/make.sh). Opus with its channels coded apart (mapping family 255) at 20 kb/s: coupled stereo at low rates folds the two channels into one, and the agent/customer split is the point of a dual-channel recording.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
rate=8000

say() {  # VOICE TEXT OUT
    flite -voice "$1" --setf duration_stretch=0.9 -t "$2" -o "$work/raw.wav"
    sox -D "$work/raw.wav" -r "$rate" -c 1 -b 16 "$3" \
        silence 1 0.01 0.1% reverse silence 1 0.01 0.1% reverse
}

# call NAME TURN...: each TURN is "a:text" (agent) or "c:text" (customer) or "p:seconds" (a pause
# on both channels); the other party's channel is silent while one speaks.
call() {
    local name=$1; shift
    local i=0
    sox -D -n -r "$rate" -c 1 -b 16 "$work/left.wav" trim 0 0.3
    cp "$work/left.wav" "$work/right.wav"
    for turn in "$@"; do
        i=$((i + 1))
        local who=${turn%%:*} text=${turn#*:}
        if [ "$who" = p ]; then
            sox -D -n -r "$rate" -c 1 -b 16 "$work/pause.wav" trim 0 "$text"
            sox -D "$work/left.wav" "$work/pause.wav" "$work/l.wav"; mv "$work/l.wav" "$work/left.wav"
            sox -D "$work/right.wav" "$work/pause.wav" "$work/r.wav"; mv "$work/r.wav" "$work/right.wav"
            continue
        fi
        local voice=awb; [ "$who" = c ] && voice=rms
        say "$voice" "$text" "$work/t$i.wav"
        sox -D -n -r "$rate" -c 1 -b 16 "$work/s$i.wav" trim 0 "$(soxi -D "$work/t$i.wav")"
        sox -D -n -r "$rate" -c 1 -b 16 "$work/gap.wav" trim 0 0.6
        if [ "$who" = a ]; then
            sox -D "$work/left.wav" "$work/t$i.wav" "$work/gap.wav" "$work/l.wav"
            sox -D "$work/right.wav" "$work/s$i.wav" "$work/gap.wav" "$work/r.wav"
        else
            sox -D "$work/left.wav" "$work/s$i.wav" "$work/gap.wav" "$work/l.wav"
            sox -D "$work/right.wav" "$work/t$i.wav" "$work/gap.wav" "$work/r.wav"
        fi
        mv "$work/l.wav" "$work/left.wav"; mv "$work/r.wav" "$work/right.wav"
    done
    sox -D -M "$work/left.wav" "$work/right.wav" -b 16 "$work/call.wav" gain -n -3
    ffmpeg -nostdin -loglevel error -y -i "$work/call.wav" -map_metadata -1 -fflags +bitexact \
        -c:a libopus -mapping_family 255 -b:a 20k "$here/$name.ogg"
}

call demo-call-1 \
  "a:Thank you for calling Acme billing, my name is Sam. Can I take your full name please?" \
  "c:Yes, it is Maria Lopez. I was charged twice for my broadband this month." \
  "a:I am sorry about that. For security, can you confirm your date of birth?" \
  "c:It is the twelfth of March, nineteen eighty five." \
  "a:Thank you. I can see the duplicate payment, and I have refunded it today." \
  "c:Great, thank you so much for your help." \
  "a:You are welcome. Is there anything else I can help you with?"

call demo-call-2 \
  "a:Acme technical support, this is Sam speaking. How can I help?" \
  "c:My internet drops every evening and I work from home." \
  "a:Let me run a line test. Please hold for a moment." \
  "p:12" \
  "a:Thank you for holding. The line test shows a fault, so I will book an engineer visit." \
  "c:Okay. You can call me back on oh seven seven oh oh nine double four one two three." \
  "a:I have booked the visit for Thursday morning."

call demo-call-3 \
  "a:Thank you for calling Acme, my name is Sam." \
  "c:I want to cancel my contract. I lost my job and I cannot pay any more." \
  "a:I am really sorry to hear that. Let me see what support we can offer you." \
  "c:My card number is four five five six, seven three two one, zero nine eight seven, six five four eight." \
  "a:There is no need to pay today. I will pause your bill for two months and send you the details."
