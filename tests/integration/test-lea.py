#!/usr/bin/env python3
"""test-lea: keycall-lea end to end (claim 5; FIG. 5, 510-516).

Two controllers (gc1 serves 1xxx, gc2 serves 2xxx), each with its own LI
port; the LEA lea1; A 1001 calls B 2001. A speaks a TONE_A tone file, B a
TONE_B one (the direction tells which), through the relays (the default).

1. An untapped call (the reference for 3).
2. The LEA taps 1001 (future) at gc1; A calls B. The LEA prints the call's
   key with the fingerprint both softphones printed, records the call to a
   stereo WAV whose left channel holds TONE_A and right channel TONE_B
   (Goertzel SNR over 20 ms blocks, as test-media measures), and a JSON
   record beside it (parties, key id, fingerprint, codec, suite, packets
   per direction). Datagrams that are not X3 copies and forged copies sent
   to its content port during the call are refused and counted, and the
   recording is unharmed. Its events are on the lane lea:lea1. The key
   occurs in none of its outputs. --stop-on-exit stops the tap.
3. Undetectability: the SDP each softphone received and sent in the tapped
   and the untapped call are the same once random values (ports, o= ids,
   key material) are masked, and in both calls each softphone received
   no more than the other sent, lost no more, and rejected nothing.
4. A current tap started mid-call: the LEA gets the call's key at once and
   records only from that moment (less audio than the call had), both tones.
5. A controller killed with SIGKILL and restarted: a connected LEA reconnects,
   sees that the controller kept its tap for keys only (content addresses
   do not survive a restart), asks again and records the next call; a past
   request then returns the key of every call 1001 made, each with the
   fingerprint the softphones printed.
6. Refusals and failures: a CTA's certificate used as an LEA is refused by
   the controller (no tap, no key); a controller presenting another
   controller's certificate is refused by the LEA; an unreachable controller
   gives clear lines and retries with growing back-off; SIGTERM exits 0.
7. A controller (gc1's genuine certificate, played by the test) that sends
   a key with a wrong fingerprint, a sealed key moved to another call, a
   genuine key, an unknown op, a malformed line, a 70,000-byte line and a
   closed connection: each bad one gets a clear line, the good key opens,
   the LEA reconnects and keeps running.
8. A controller whose certificate the network revoked is refused by the LEA
   (the network's crl.pem).
9. Taps while running (--commands FIFO, the window's own actions): an LEA
   started with no tap adds a future tap on 1001 at gc1; it becomes active,
   the next call's key arrives under its id and the call is recorded;
   `stop` ends it (the controller answers, the events say op=stop and
   op=stopped) and the call after gets no key; a stop for a tap gc1 does
   not hold is refused by gc1 with its reason, a stop for something that is
   no tap id and a malformed number are refused by the LEA itself.

Key bytes are never printed. Prints TAP.
"""

import array
import json
import math
import os
import re
import signal
import socket
import struct
import sys
import time
import wave

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from kc_harness import (HOST, AdminError, Harness, StartError, free_port, make_tone,  # noqa: E402
                        provision, read_events, start_controller, start_cta, start_lea, store_rows,
                        unseal_check, wait_event)

TONE_A, TONE_B = 1000, 1500
SNR_FLOOR_DB = 20.0
SKIP_S = 0.5
CALL_S = 5                 # A hangs up this long after the answer
CURRENT_CALL_S = 9         # the call a current tap joins …
CURRENT_AFTER_S = 4        # … this long after the answer
STATS_RX = re.compile(r"^media stats sent (\d+) received (\d+) rejected-replay (\d+) "
                      r"rejected-auth (\d+) rejected-malformed (\d+) lost (-?\d+)")


# --- audio analysis (as test-media measures a tone) ---------------------------------

def read_wav_channels(path):
    """(rate, channels, [samples of each channel])."""
    with wave.open(path, "rb") as w:
        ch, rate, width = w.getnchannels(), w.getframerate(), w.getsampwidth()
        data = array.array("h")
        data.frombytes(w.readframes(w.getnframes()))
    if width != 2:
        raise ValueError(f"{path}: {8 * width}-bit samples, not 16")
    if sys.byteorder != "little":
        data.byteswap()
    return rate, ch, [list(data[c::ch]) for c in range(ch)]


def goertzel_power(block, freq, rate):
    n = len(block)
    coeff = 2.0 * math.cos(2.0 * math.pi * freq / rate)
    s1 = s2 = 0.0
    for x in block:
        s1, s2 = x + coeff * s1 - s2, s1
    return 2.0 * (s1 * s1 + s2 * s2 - coeff * s1 * s2) / (n * n)


def tone_snr(samples, rate, freq):
    """(seconds of tone, SNR in dB) where @freq sounds (20 ms blocks within
    20 dB of its loudest, the first SKIP_S skipped); (0, None) for no tone."""
    n = rate // 50
    blocks = [samples[i:i + n] for i in range(0, len(samples) - n + 1, n)]
    tone = [goertzel_power(b, freq, rate) for b in blocks]
    total = [sum(x * x for x in b) / n for b in blocks]
    if not tone or max(tone) < 1e4:
        return 0.0, None
    loud = max(tone) / 100.0
    idx = [i for i, p in enumerate(tone) if p >= loud]
    first, last = idx[0] + int(SKIP_S * 50), idx[-1] - 5
    if last - first < 25:
        return max(0, last - first) / 50.0, None
    sig = sum(tone[first:last + 1])
    noise = max(sum(total[first:last + 1]) - sig, 1e-9)
    return (last - first + 1) / 50.0, 10.0 * math.log10(max(sig, 1e-9) / noise)


def check_recording(tap, label, rec):
    """The WAV holds TONE_A on the left (caller→callee) and TONE_B on the right."""
    try:
        rate, ch, chans = read_wav_channels(rec["wav"])
    except (OSError, ValueError, wave.Error) as e:
        tap.ok(False, f"{label}: the recording is a readable WAV", str(e))
        return
    tap.ok((rate, ch) == (48000, 2), f"{label}: the recording is stereo 48 kHz",
           f"{ch} channels at {rate} Hz")
    for side, samples, freq, other in (("left (caller→callee)", chans[0], TONE_A, TONE_B),
                                       ("right (callee→caller)", chans[-1], TONE_B, TONE_A)):
        secs, snr = tone_snr(samples, rate, freq)
        _, snr_other = tone_snr(samples, rate, other)
        tap.ok(snr is not None and snr >= SNR_FLOOR_DB,
               f"{label}: {side} channel holds the {freq} Hz tone (SNR ≥ {SNR_FLOOR_DB:.0f} dB)",
               f"{secs:.1f} s of tone, SNR {snr}")
        tap.ok(snr_other is None or snr_other < 0,
               f"{label}: {side} channel does not hold the other direction's {other} Hz tone",
               f"SNR of {other} Hz: {snr_other}")
        tap.diag(f"  {label} {side}: {freq} Hz, {secs:.1f} s, SNR {snr and round(snr, 1)} dB")


# --- softphones ---------------------------------------------------------------------

def stats_of(cta):
    lines = cta.proc.find_lines(r"^media stats ")
    m = STATS_RX.match(lines[-1][1]) if lines else None
    return tuple(int(x) for x in m.groups()) if m else None


def key_id_prefix(cta):
    m = cta.proc.wait_line(r"^key (?:received|derived) id ([0-9a-f]{8})\b", 0)
    return m.group(1) if m else None


def run_call(h, net, tones, duration, label, during=None):
    """A 1001 calls B 2001 for @duration s after the answer; @during(a, b) runs
    once A has printed `answered`. Returns (a, b, ok)."""
    tap = h.tap
    b = start_cta(h, net, "2001", answer=True, duration=60, timeout=90,
                  extra=["--audio-in", tones[1], "--audio-out", "none"])
    if not b.proc.wait_line(r"^registered 2001 at gc2\b", 15):
        tap.ok(False, f"{label}: B 2001 registers", b.proc.describe())
        return None, b, False
    a = start_cta(h, net, "1001", call="2001", duration=duration, timeout=60,
                  extra=["--audio-in", tones[0], "--audio-out", "none"])
    if during is not None:
        if a.proc.wait_line(r"^answered$", 20):
            during(a, b)
    rc_a = a.proc.wait(duration + 30)
    rc_b = b.proc.wait(15)
    ok = tap.ok(rc_a == 0 and rc_b == 0 and stats_of(a) and stats_of(b),
                f"{label}: A calls B, media flows, both end cleanly",
                f"{a.proc.describe()}\n{b.proc.describe()}")
    return a, b, ok


# --- what a softphone sees (undetectability) -------------------------------------------

_MASKS = [
    (re.compile(r"(?m)^o=(\S+) \d+ \d+ "), r"o=\1 <id> <version> "),
    (re.compile(r"(?m)^m=audio \d+ "), "m=audio <port> "),
    (re.compile(r"(?m)^a=rtcp:\d+"), "a=rtcp:<port>"),
    (re.compile(r"(?m)^(a=key-mgmt:\S+) .*$"), r"\1 <key>"),
    (re.compile(r"(?m)^(a=crypto:\d+ \S+ inline:)\S+"), r"\1<key>"),
    (re.compile(r"(?m)^a=ssrc:\d+"), "a=ssrc:<ssrc>"),
    (re.compile(r"\b[0-9a-f]{16,}\b"), "<hex>"),
]


def sdps(cta):
    """The SDP bodies the softphone sent and received, in order, masked:
    [(kind, start line with its port masked, masked SDP)] (the softphones'
    own ports are the harness's random picks)."""
    out = []
    for ev in read_events(cta.events_path)[0]:
        msg = ev.get("msg") or ""
        if ev.get("kind") not in ("sip-rx", "sip-tx") or "\nv=0" not in msg:
            continue
        body = msg[msg.index("\nv=0") + 1:].replace("\r\n", "\n").strip()
        for rx, repl in _MASKS:
            body = rx.sub(repl, body)
        start = re.sub(r":\d+\b", ":<port>", msg.split("\n", 1)[0].strip())
        out.append((ev["kind"], start, body))
    return out


def undetectable(tap, plain, tapped):
    """@plain, @tapped: (a, b) of an untapped and a tapped call."""
    for who, i in (("A", 0), ("B", 1)):
        s_plain, s_tapped = sdps(plain[i]), sdps(tapped[i])
        diff = [f"untapped: {p}\n  tapped: {t}" for p, t in zip(s_plain, s_tapped) if p != t]
        tap.ok(s_plain and len(s_plain) == len(s_tapped) and not diff,
               f"undetectable: the SDP {who} sent and received is the same in a tapped and an "
               f"untapped call but for random values ({len(s_plain)} SDP bodies)",
               f"{len(s_plain)} vs {len(s_tapped)} bodies\n" + "\n".join(diff[:3]))
    bad = []
    for label, (a, b) in (("untapped", plain), ("tapped", tapped)):
        sa, sb = stats_of(a), stats_of(b)
        # sent, received, rejected-replay, rejected-auth, rejected-malformed, lost
        if sa is None or sb is None:
            bad.append(f"{label}: no media stats")
            continue
        if sa[1] > sb[0] or sb[1] > sa[0]:
            bad.append(f"{label}: a softphone received more than the other sent: A {sa}, B {sb}")
        if any(sa[2:5]) or any(sb[2:5]):
            bad.append(f"{label}: a softphone rejected packets: A {sa}, B {sb}")
        if sa[0] - sb[1] > 3 or sb[0] - sa[1] > 3:
            bad.append(f"{label}: more than 3 packets missing: A {sa}, B {sb}")
    tap.ok(not bad, "undetectable: in both calls each softphone received what the other sent "
           "(none extra, none rejected, at most the last 3 in flight at hang-up)", "\n".join(bad))
    tap.diag(f"  media stats untapped A {stats_of(plain[0])} B {stats_of(plain[1])}; "
             f"tapped A {stats_of(tapped[0])} B {stats_of(tapped[1])}")


# --- the tests ---------------------------------------------------------------------------

def x3_copy(call_id, seq, packet, direction=0):
    cid = call_id.encode()
    return b"KX3\x01" + bytes([direction, len(cid)]) + struct.pack("!I", seq) + cid + packet


def future_tap(h, net, tones, calls):
    """Section 2; returns (a, b) of the tapped call or None."""
    tap = h.tap
    label = "future tap"
    lea = start_lea(h, net, ["gc1"], taps=["1001:future@gc1"], stop_on_exit=True)
    conn = lea.wait_connected("gc1")
    tap.ok(conn and conn.group(1) == "keycall:controller:gc1",
           f"{label}: the LEA connects to gc1 and checks its certificate (role controller, "
           "name gc1)", lea.proc.describe())
    tap_id = lea.wait_tap("future", "1001")
    if not tap.ok(tap_id and tap_id.startswith("T-"), f"{label}: gc1 answers the tap with a tap id",
                  lea.proc.describe()):
        return None
    forged = {}

    def meddle(a, b):
        m = lea.wait_key(timeout=10)
        if not m:
            return
        call_id = m.group(1)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for i in range(5):
                s.sendto(b"not an X3 copy %d" % i, lea.content)
                rtp = bytes([0x80, 111]) + struct.pack("!HII", 7 + i, 960 * i, 0x1234) \
                    + os.urandom(80)
                s.sendto(x3_copy(call_id, i, rtp), lea.content)
        forged["call"] = call_id

    a, b, ok = run_call(h, net, tones, CALL_S, label, during=meddle)
    calls.append((a, b))
    if not ok:
        return None
    keys = lea.keys()
    word, fp_a = a.fingerprint()
    _, fp_b = b.fingerprint()
    kid = key_id_prefix(a)
    mine = [(cid, k) for cid, k in keys.items() if k["key_id"].startswith(kid or "-")]
    tap.ok(len(mine) == 1, f"{label}: the LEA received the key of the call (key id {kid}…)",
           f"keys: {keys}\n{lea.proc.describe()}")
    if not mine:
        return None
    call_id, key = mine[0]
    tap.ok(key["fingerprint"] == fp_a == fp_b,
           f"{label}: the unsealed key's fingerprint is the one both softphones printed",
           f"LEA {key['fingerprint']}, A {fp_a}, B {fp_b}")
    tap.ok((key["caller"], key["callee"], key["tap"]) == ("1001", "2001", tap_id),
           f"{label}: the key record names caller 1001, callee 2001 and the tap",
           str(key))
    got = lea.wait_recorded(call_id, 20)
    rec = lea.recordings().get(call_id)
    if not tap.ok(got and rec, f"{label}: the LEA records the call", lea.proc.describe()):
        return a, b
    tap.diag(f"  {got.string}")
    tap.ok(rec["seconds"] >= CALL_S - 1.5,
           f"{label}: the recording lasts about as long as the call (≥ {CALL_S - 1.5} s)",
           str(rec))
    check_recording(tap, label, rec)
    try:
        with open(rec["record"]) as f:
            record = json.load(f)
    except (OSError, ValueError) as e:
        tap.ok(False, f"{label}: the JSON record beside the WAV reads", str(e))
        record = {}
    pk = record.get("packets", {})
    tap.ok(record.get("call") == call_id and record.get("fingerprint") == fp_a
           and record.get("key_id") == key["key_id"] and record.get("caller") == "1001"
           and record.get("callee") == "2001" and record.get("suite")
           and record.get("codec", "").startswith("opus")
           and all(pk.get(d, {}).get("rtp", 0) > 50 for d in ("caller-to-callee",
                                                                "callee-to-caller")),
           f"{label}: the JSON record names the call, parties, key id, fingerprint, codec, "
           "suite and packets each way", json.dumps(record)[:1500])
    refused = record.get("refused", {})
    tap.ok(forged.get("call") == call_id and refused.get("auth", 0) >= 5,
           f"{label}: 5 forged X3 copies for the call fail SRTP authentication and are "
           "counted (refused auth)", f"forged for {forged}, record refused {refused}")
    sa, sb = stats_of(a), stats_of(b)
    tap.ok(sa and sb and pk.get("caller-to-callee", {}).get("rtp", 0) >= sb[1] * 0.9
           and pk.get("callee-to-caller", {}).get("rtp", 0) >= sa[1] * 0.9,
           f"{label}: the LEA decrypted (nearly) every packet each softphone received",
           f"LEA {pk}, lost {record.get('lost')}; A {sa}, B {sb}")

    evs = lea.events()
    kinds = {e.get("kind") for e in evs if e.get("lane") == "lea:lea1"}
    delivered = [e for e in evs if e.get("kind") == "key-delivered" and e.get("call") == call_id]
    tap.ok({"tls-up", "tap-request", "key-delivered", "content-delivered", "media-stop"} <= kinds
           and delivered and delivered[0].get("fp") == fp_a and delivered[0].get("fig3") == 516
           and delivered[0].get("peer") == "controller:gc1",
           f"{label}: the LEA's events (lane lea:lea1) show the request, the delivery (516, "
           "with the fingerprint) and the recording", f"kinds {sorted(k for k in kinds if k)}")

    lea.proc.send_signal(signal.SIGTERM)
    rc = lea.proc.wait(15)
    lines = lea.proc.text()
    tap.ok(rc == 0 and "stopped taps at gc1" in lines,
           f"{label}: on SIGTERM the LEA stops its tap (--stop-on-exit) and exits 0",
           lea.proc.describe())
    tap.ok(re.search(r"(?m)^refused content: .*not-x3 5\b", lines),
           f"{label}: the 5 datagrams that are not X3 copies are refused and counted",
           lea.proc.describe())
    files = [lea.proc.out_path, lea.proc.err_path, lea.events_path, rec["record"]]
    status, _, found, out = unseal_check(net, "gc1", search=files)
    tap.ok(status == 0 and all(found.get(f) == "clean" for f in files),
           f"{label}: no call key occurs in the LEA's output, events or record", out)
    lea.stop()
    return a, b


def current_tap(h, net, tones, calls):
    tap = h.tap
    label = "current tap"
    state = {}

    def join(a, b):
        time.sleep(CURRENT_AFTER_S)
        state["lea"] = start_lea(h, net, ["gc1"], taps=["1001:current@gc1"])
        # A second agency process, stopped while it records.
        cut = start_lea(h, net, ["gc1"], taps=["1001:current@gc1"])
        if cut.proc.wait_line(r"^recording \S+ to ", 8):
            time.sleep(1.5)
        cut.proc.send_signal(signal.SIGTERM)
        state["cut"] = (cut, cut.proc.wait(15))

    a, b, ok = run_call(h, net, tones, CURRENT_CALL_S, label, during=join)
    calls.append((a, b))
    lea = state.get("lea")
    if not ok or lea is None:
        tap.ok(False, f"{label}: the LEA started during the call", "")
        return
    m = lea.proc.wait_line(r"^tap (\S+) current 1001 at gc1 calls (\d+)$", 10)
    tap.ok(m and m.group(2) == "1", f"{label}: gc1 answers with the one call 1001 is in",
           lea.proc.describe())
    key = lea.wait_key(timeout=5)
    _, fp_a = a.fingerprint()
    tap.ok(key and key.group(2).strip() == fp_a and key.group(3).startswith(key_id_prefix(a)),
           f"{label}: the LEA gets the call's key at once, with the softphones' fingerprint",
           f"A {fp_a}\n{lea.proc.describe()}")
    if not key:
        return
    lea.wait_recorded(key.group(1), 20)
    rec = lea.recordings().get(key.group(1))
    if not tap.ok(rec, f"{label}: the LEA records the rest of the call", lea.proc.describe()):
        return
    tap.diag(f"  recorded {rec['seconds']:.1f} s of a {CURRENT_CALL_S} s call joined after "
             f"{CURRENT_AFTER_S} s")
    tap.ok(1.0 <= rec["seconds"] <= CURRENT_CALL_S - CURRENT_AFTER_S + 1.5,
           f"{label}: only from the tap on: 1 s ≤ recording ≤ "
           f"{CURRENT_CALL_S - CURRENT_AFTER_S + 1.5} s of a {CURRENT_CALL_S} s call", str(rec))
    check_recording(tap, label, rec)
    lea.stop()
    cut, rc = state.get("cut", (None, None))
    cut_rec = cut.recordings().get(key.group(1)) if cut else None
    record, frames = {}, -1
    try:
        with open(cut_rec["record"]) as f:
            record = json.load(f)
        with wave.open(cut_rec["wav"], "rb") as w:
            frames = w.getnframes()
        size = os.path.getsize(cut_rec["wav"])
    except (TypeError, OSError, ValueError, wave.Error) as e:
        size = str(e)
    tap.ok(rc == 0 and cut_rec and cut_rec["seconds"] >= 0.5 and frames > 0
           and size == 44 + 4 * frames and record.get("outcome") == "recording stopped by the LEA",
           "SIGTERM while recording: the LEA closes the WAV (header lengths right) and the record, "
           "and exits 0", f"exit {rc}, recording {cut_rec}, {frames} frames, size {size}, "
           f"record {str(record)[:300]}\n{cut.proc.describe() if cut else ''}")


def restart_and_past(h, net, ctls, tones, calls):
    tap = h.tap
    label = "kill -9"
    lea = start_lea(h, net, ["gc1"], taps=["1001:future@gc1"])
    tap_id = lea.wait_tap("future", "1001")
    if not tap.ok(tap_id, f"{label}: an LEA holds a future tap at gc1", lea.proc.describe()):
        return
    ctls["gc1"].proc.send_signal(signal.SIGKILL)
    ctls["gc1"].proc.wait(10)
    gone = lea.proc.wait_line(r"^disconnected gc1: ", 15)
    try:
        ctls["gc1"] = start_controller(h, net, "gc1")
    except StartError as e:
        tap.ok(False, f"{label}: gc1 restarts", e.proc.describe())
        return
    back = lea.proc.wait_line(r"^tap (\S+) future 1001 at gc1 calls 0$", 40,
                              start=len(lea.proc.find_lines("")))
    tap.ok(gone and back and back.group(1) != tap_id
           and len(lea.proc.find_lines(r"^connected gc1 ")) == 2,
           f"{label}: the LEA sees gc1 go, reconnects when it is back and asks again for its "
           "tap (the restarted controller kept the old one for keys only)", lea.proc.describe())
    tap.diag(f"  tap {tap_id} before the restart, {back and back.group(1)} after")
    a, b, ok = run_call(h, net, tones, CALL_S, f"{label}: a call after the restart")
    calls.append((a, b))
    key = lea.wait_key(timeout=5)
    _, fp_a = a.fingerprint() if a else (None, None)
    got = key and lea.wait_recorded(key.group(1), 20)
    rec = lea.recordings().get(key.group(1)) if key else None
    tap.ok(ok and key and key.group(2).strip() == fp_a and got and rec
           and rec["seconds"] >= CALL_S - 1.5
           and len(lea.proc.find_lines(rf"^key {re.escape(key.group(1))} fingerprint ")) == 1,
           f"{label}: the LEA records the next call through the new tap, the key once "
           "(the old tap's duplicate delivery is merged)", lea.proc.describe())
    if rec:
        check_recording(tap, f"{label}: call after the restart", rec)
    lea.stop()

    label = "past keys"
    want = {}
    for a, b in calls:
        if a is not None:
            _, fp = a.fingerprint()
            if fp and key_id_prefix(a):
                want[key_id_prefix(a)] = fp
    past = start_lea(h, net, ["gc1"], past=["1001@gc1"], content=None)
    m = past.proc.wait_line(r"^tap \S+ past 1001 at gc1 calls (\d+)$", 20)
    got = {k["key_id"][:8]: k["fingerprint"] for k in past.keys().values()}
    tap.ok(m and int(m.group(1)) == len(want) == len(got) and got == want and len(want) >= 4,
           f"{label}: after kill -9 and restart, a past request returns every key of 1001's "
           f"{len(want)} calls, each opening to the fingerprint the softphones printed",
           f"want {want}\ngot {got}\n{past.proc.describe()}")
    tap.ok(past.proc.wait(15) == 0 and past.proc.find_lines(r"^exiting$"),
           f"{label}: with only past requests, the LEA leaves by itself once they are answered",
           past.proc.describe())
    past.stop()

    unknown = start_lea(h, net, ["gc1"], past=["1009@gc1"], content=None)
    rc = unknown.proc.wait(20)
    tap.ok(rc == 0 and unknown.proc.find_lines(r"^error gc1 r\d+: .*1009")
           and not unknown.proc.find_lines(r"^(tap|key) "),
           f"{label}: a number gc1 does not serve gets the controller's error line, no keys",
           unknown.proc.describe())
    unknown.stop()


def refusals(h, net):
    tap = h.tap
    # A CTA's certificate (role cta) presented as an LEA's.
    cta = start_lea(h, net, ["gc1"], taps=["1001:future@gc1"], cert=net.cert("1001"),
                    key=net.key("1001"))
    m = cta.proc.wait_line(r"^refused by gc1: (.+)$", 15)
    again = cta.proc.wait_line(r"^disconnected gc1: .*; retrying in 2 s$", 15)
    tap.ok(m and not cta.proc.find_lines(r"^(tap|key) "),
           "refusal: a CTA certificate used as an LEA is refused by the controller; no tap, "
           "no key", cta.proc.describe())
    tap.ok(again, "refusal: the refused LEA asks again less and less often (1 s, then 2 s)",
           cta.proc.describe())
    if m:
        tap.diag(f"  {m.string}")
    tap.ok(cta.stop() == 0, "refusal: the refused LEA keeps running (retrying) and exits 0 on "
           "SIGTERM", cta.proc.describe())

    # gc1's LI port under the name gc2: the LEA refuses the certificate.
    wrong = start_lea(h, net, [f"gc2={HOST}:{net.li_port('gc1')}"], taps=["2001:future@gc2"])
    m = wrong.proc.wait_line(r"^disconnected gc2: .*certificate of keycall:controller:gc1, "
                             r"not that of controller gc2", 15)
    tap.ok(m and not wrong.proc.find_lines(r"^(connected|tap) "),
           "refusal: the LEA refuses a controller presenting another controller's certificate "
           "and sends no request", wrong.proc.describe())
    wrong.stop()

    # Nobody listens.
    port = free_port()
    down = start_lea(h, net, [f"gc9={HOST}:{port}"], taps=["1001:future@gc9"])
    first = down.proc.wait_line(r"^disconnected gc9: cannot connect to gc9 \(127\.0\.0\.1:"
                                rf"{port}\): .*; retrying in 1 s$", 10)
    second = down.proc.wait_line(r"^disconnected gc9: .*; retrying in 2 s$", 10)
    rc = down.stop()
    tap.ok(first and second and rc == 0,
           "failure: an unreachable controller gives a clear line and retries with growing "
           "back-off (1 s, 2 s); SIGTERM exits 0", down.proc.describe())


class FakeController:
    """A TLS server holding gc1's own certificate (so the LEA accepts it)
    that answers like a controller and then sends what a controller must
    not: @script(conn_index, send, read_line) runs per connection."""

    def __init__(self, h, net, script):
        import ssl
        import threading
        self.port = free_port()
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        self.ctx.load_cert_chain(net.ctl_file("gc1", "cert.pem"), net.ctl_file("gc1", "key.pem"))
        self.ctx.verify_mode = ssl.CERT_REQUIRED
        self.ctx.load_verify_locations(net.ca())
        self.sock = socket.create_server((HOST, self.port))
        self.sock.settimeout(1)
        self.script, self.log, self.stop_flag = script, [], False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        n = 0
        while not self.stop_flag:
            try:
                raw, _ = self.sock.accept()
            except OSError:
                continue
            try:
                with self.ctx.wrap_socket(raw, server_side=True) as tls:
                    tls.settimeout(10)
                    f = tls.makefile("rb")

                    def send(obj):
                        data = obj if isinstance(obj, bytes) else (json.dumps(obj) + "\n").encode()
                        tls.sendall(data)

                    def read():
                        line = f.readline()
                        self.log.append(line[:200])
                        return json.loads(line) if line else None

                    self.script(n, send, read)
                    time.sleep(0.5)
                    tls.unwrap()             # close_notify: a clean end
            except Exception as e:     # the LEA closing on us is expected
                self.log.append(f"connection {n}: {e!r}".encode())
            n += 1

    def close(self):
        self.stop_flag = True
        self.thread.join(5)
        self.sock.close()


def hostile_controller(h, net):
    """Bad deliveries and lines from a controller with a genuine certificate."""
    tap = h.tap
    label = "bad controller"
    rows = store_rows(net.store("gc1"), "SELECT key_id, call_id, caller, callee, enc, sealed, "
                      "fingerprint FROM sealed_keys ORDER BY created_at LIMIT 2")
    if len(rows) < 2:
        tap.ok(False, f"{label}: two sealed keys in gc1's store to replay", str(len(rows)))
        return
    import base64

    def key_msg(row, **over):
        m = {"v": 1, "op": "key", "tap": "T-fake", "call": row[1], "key_id": row[0].hex(),
             "caller": row[2], "callee": row[3], "created": "2026-11-28T16:00:00.000000Z",
             "controller": "gc1", "fingerprint": row[6],
             "enc": base64.b64encode(row[4]).decode(), "sealed": base64.b64encode(row[5]).decode()}
        m.update(over)
        return m

    def script(n, send, read):
        if n >= 2:
            read()
            return                              # then close, cleanly
        lst = read()
        send({"v": 1, "op": "taps", "req": lst["req"], "taps": []})
        req = read()
        send({"v": 1, "op": "ok", "req": req["req"], "tap": "T-fake", "calls": 0})
        if n == 0:
            send(key_msg(rows[0], fingerprint="0000 0000 0000 0000"))
            send(key_msg(rows[0], call="moved-" + rows[0][1]))
            send(key_msg(rows[1]))
            send({"v": 1, "op": "bogus", "what": "an op from the future"})
            send(b"{not json at all\n")
        else:
            send(b"a" * 70000)

    fake = FakeController(h, net, script)
    lea = start_lea(h, net, [f"gc1={HOST}:{fake.port}"], taps=["1001:future@gc1"])
    try:
        wrong_fp = lea.proc.wait_line(rf"^key {re.escape(rows[0][1])} refused: .*announced", 15)
        moved = lea.proc.wait_line(rf"^key moved-{re.escape(rows[0][1])} refused: .*does not "
                                   r"open", 5)
        good = lea.wait_key(rows[1][1], 5)
        tap.ok(wrong_fp and moved and good and good.group(2).strip() == rows[1][6],
               f"{label}: a key whose fingerprint does not match, and a sealed key moved to "
               "another call, are refused with a clear line; a genuine one opens",
               lea.proc.describe())
        m1 = lea.proc.wait_line(r"^disconnected gc1: gc1 sent a line that is not a message: ", 10)
        m2 = lea.proc.wait_line(r"^disconnected gc1: gc1 sent a line longer than 65536 bytes", 15)
        m3 = lea.proc.wait_line(r"^disconnected gc1: gc1 closed the connection", 15)
        tap.ok(m1 and m2 and m3 and lea.proc.running(),
               f"{label}: a malformed line, an endless line and a closed connection each end "
               "the connection with a clear line; the LEA reconnects and lives on",
               f"{lea.proc.describe()}\nfake saw: {fake.log[-6:]}")
        tap.ok(lea.stop() == 0, f"{label}: the LEA exits 0 on SIGTERM", lea.proc.describe())
    finally:
        fake.close()


def revoked_controller(h, net):
    """Last: revokes gc2's certificate in the network's CRL."""
    tap = h.tap
    try:
        net.admin("revoke-cert", "--controller", "gc2")
    except AdminError as e:
        tap.ok(False, "revoke gc2's certificate", str(e))
        return
    lea = start_lea(h, net, ["gc2"], taps=["2001:future@gc2"])
    m = lea.proc.wait_line(r"^disconnected gc2: TLS with gc2 .*not valid in this network: .*revoked",
                           15)
    tap.ok(m and not lea.proc.find_lines(r"^(connected|tap) "),
           "refusal: the LEA refuses a controller whose certificate the network's CRL revokes",
           lea.proc.describe())
    lea.stop()


def runtime_taps(h, net, tones, calls):
    """Section 9."""
    tap = h.tap
    label = "tap added while running"
    fifo = h.path(h.unique("lea-commands"))
    os.mkfifo(fifo, 0o600)
    lea = start_lea(h, net, ["gc1"], extra=["--commands", fifo])
    if not tap.ok(lea.wait_content(10), f"{label}: keycall-lea starts with no tap",
                  lea.proc.describe()):
        lea.stop()
        return
    # keycall-lea holds the FIFO open read-write: this open does not block.
    cmd = open(fifo, "w", buffering=1)
    try:
        tap.ok(lea.proc.wait_line(r"^connected gc1 ", 2) is None,
               f"{label}: with nothing asked, no connection is made", lea.proc.describe())
        cmd.write("tap 1001:future@gc1\n")
        conn = lea.wait_connected("gc1")
        tap_id = lea.wait_tap("future", "1001")
        if not tap.ok(conn and tap_id and tap_id.startswith("T-"),
                      f"{label}: the request connects to gc1 and gc1 answers with a tap id",
                      lea.proc.describe()):
            return
        a, b, ok = run_call(h, net, tones, 3, f"{label} (call 1)")
        calls.append((a, b))
        if not ok:
            return
        kid = key_id_prefix(a)
        mine = [(cid, k) for cid, k in lea.keys().items() if k["key_id"].startswith(kid or "-")]
        tap.ok(len(mine) == 1 and mine[0][1]["tap"] == tap_id
               and mine[0][1]["fingerprint"] == a.fingerprint()[1],
               f"{label}: the next call's key arrives under the new tap, with the fingerprint "
               "A printed", f"{mine}\n{lea.proc.describe()}")
        if mine:
            tap.ok(lea.wait_recorded(mine[0][0], 20),
                   f"{label}: the call is recorded", lea.proc.describe())

        n = len(lea.proc.lines)
        cmd.write(f"stop {tap_id}@gc1\n")
        sent = lea.proc.wait_line(rf"^stop (r\d+) tap {re.escape(tap_id)} at gc1$", 10, start=n)
        done = lea.proc.wait_line(rf"^stopped tap {re.escape(tap_id)} at gc1$", 10, start=n)
        tap.ok(sent and done, f"{label}: stop is sent and gc1 answers it", lea.proc.describe())
        evs = [e.get("attrs") or {} for e in lea.events() if e.get("kind") == "tap-request"
               and (e.get("attrs") or {}).get("tap") == tap_id]
        ops = {e.get("op") for e in evs}
        tap.ok({"ok", "stop", "stopped"} <= ops
               and any(e.get("op") == "stopped" and e.get("number") == "1001" for e in evs),
               f"{label}: the events show the stop sent and answered (op=stop, op=stopped)",
               str(evs))
        again = [e for e in evs if e.get("op") == "stopped"]
        n = len(lea.proc.lines)
        cmd.write(f"stop {tap_id}@gc1\n")
        tap.ok(lea.proc.wait_line(r"^command refused: .*no longer active", 10, start=n)
               and len(again) == 1,
               f"{label}: stopping it again is refused by the LEA (no longer active)",
               lea.proc.describe())

        a2, b2, ok = run_call(h, net, tones, 2, f"{label} (call 2, after the stop)")
        calls.append((a2, b2))
        if ok:
            kid2 = key_id_prefix(a2)
            got = [k for k in lea.keys().values() if k["key_id"].startswith(kid2 or "-")]
            tap.ok(kid2 and not got,
                   f"{label}: after the stop, the next call's key is not delivered",
                   f"{got}\n{lea.proc.describe()}")

        n = len(lea.proc.lines)
        cmd.write("stop T-00000000000000000000000000000000@gc1\n")
        m = lea.proc.wait_line(r"^error gc1 r\d+: (.+)$", 10, start=n)
        tap.ok(m and "T-00000000000000000000000000000000" in m.group(1)
               and lea.proc.running(),
               f"{label}: a stop for a tap gc1 does not hold is refused by gc1 with its reason",
               lea.proc.describe())
        if m:
            tap.diag(f"  {m.group(0)}")
        n = len(lea.proc.lines)
        cmd.write("stop nonsense@gc1\n")
        cmd.write("tap 10a1@gc1\n")
        cmd.write("tap 1001@gc9\n")
        r1 = lea.proc.wait_line(r"^command refused: No tap or request “nonsense”", 10, start=n)
        r2 = lea.proc.wait_line(r"^command refused: “10a1” is not a valid subscriber number",
                                10, start=n)
        r3 = lea.proc.wait_line(r"^command refused: No controller “gc9” in this run", 10,
                                start=n)
        tap.ok(r1 and r2 and r3 and lea.proc.running(),
               f"{label}: a stop naming no tap, a bad number and an unknown controller are "
               "refused by the LEA with a clear line", lea.proc.describe())
        rows = store_rows(net.store("gc1"), "SELECT actor, action, detail FROM audit "
                          "WHERE action = 'tap-stop' ORDER BY seq")
        tap.ok(any(r[0] == "lea:lea1" and tap_id in r[2] for r in rows),
               f"{label}: gc1's audit log records the stop (tap-stop, actor lea:lea1)",
               str(rows[-5:]))
    finally:
        cmd.close()
        rc = lea.stop()
        tap.ok(rc == 0, f"{label}: keycall-lea exits 0 on SIGTERM", lea.proc.describe())


def main():
    h = Harness("lea")
    tap = h.tap
    ctls = {}
    try:
        missing = h.missing_binaries(("admin", "controller", "cta", "unseal", "lea"))
        if missing:
            tap.skip("lawful intercept end to end", f"not built: {', '.join(missing)}")
            return
        net = provision(h, [("1001", "Alice"), ("2001", "Bob")],
                        li_ports={"gc1": "free", "gc2": "free"}, check_configs=True)
        if net is None:
            return
        try:
            tones = (make_tone(h, TONE_A, 30), make_tone(h, TONE_B, 30))
        except (RuntimeError, OSError) as e:
            tap.ok(False, "make the tone files", str(e))
            return
        try:
            for ctl in ("gc1", "gc2"):
                ctls[ctl] = start_controller(h, net, ctl)
        except StartError as e:
            tap.ok(False, "controllers start", e.proc.describe())
            return
        wait_event(ctls["gc1"], lambda e: e.get("kind") == "tls-up"
                   and e.get("peer") == "controller:gc2", 8)

        calls = []
        plain_a, plain_b, ok = run_call(h, net, tones, CALL_S, "untapped call")
        calls.append((plain_a, plain_b))
        tapped = future_tap(h, net, tones, calls)
        if ok and tapped:
            undetectable(tap, (plain_a, plain_b), tapped)
        current_tap(h, net, tones, calls)
        runtime_taps(h, net, tones, calls)
        restart_and_past(h, net, ctls, tones, calls)
        refusals(h, net)
        hostile_controller(h, net)
        revoked_controller(h, net)
    except Exception:
        h.crashed()
    finally:
        for c in ctls.values():
            c.stop()
        h.finish()


if __name__ == "__main__":
    main()
