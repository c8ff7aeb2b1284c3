#!/usr/bin/env python3
"""test-media: a call's audio end to end, and what a wire tapper sees of it.

Two controllers (gc1 serves 1xxx, gc2 serves 2xxx); A 1001 calls B 2001.

Sound devices (JACK, through PortAudio), once with the controllers' media
relay (the default) and once with `[media] relay=false`: a 1000 Hz tone
(a GStreamer JACK client) feeds A's capture port and B's playback port is
recorded, a 1500 Hz tone feeds B and A's playback is recorded, in the same
call (two recorders per playback port, so a recorder's own glitch is told
from the softphone's). Each recording must carry its tone with an SNR of at
least SNR_FLOOR_DB (tone power against everything else, Goertzel over 20 ms
blocks, the first 0.5 s of the tone skipped) and at most MAX_GAPS 20 ms
gaps (a 2-core CI machine under load can starve a process for a period;
the softphone then grows its playout cushion, so a second gap is a bug). With the
relay, each softphone sends to its own controller's relay port (in the
range the test configures, and the port the controller reports), and the
relays' counters show the call went through them; without, each sends to
the other softphone's port.

The wire (relay off, PCMU, AES_CM_128_HMAC_SHA1_80, tone files as input):
tshark captures the loopback; every UDP packet between the two softphones'
media ports must be SRTP or SRTCP, A's payloads must look random (byte
entropy) and hold no 16-byte run of their own plaintext; GStreamer's
srtpdec, given the per-direction SRTP keys that the LEA derives from the
sealed call key (kc-unseal-check --srtp-suite), must decrypt each
direction to its tone, and the other direction's key or a key with one bit
changed must decrypt nothing.

After each call both softphones' `media stats` must show packets received,
no authentication rejections and at least one RTCP report received (RTCP
goes out every 5 s and at the end, so calls last CALL_S = 6 s).
Key bytes are never printed. Prints TAP.

Note on srtpdec (GStreamer 1.22, and master as of writing): when the
buffer it gets is not writable, gst_srtp_dec_decode_buffer decrypts a copy
and the chain function pushes the original, still encrypted, buffer (with
GStreamer-CRITICAL refcount warnings). Buffers from pcapparse are such, so
`filesrc ! pcapparse ! srtpdec` authenticates the packets but outputs their
ciphertext. The test therefore writes each captured datagram to a file and
feeds them with multifilesrc, whose buffers are fresh.
"""

import array
import math
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import time
import wave

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from kc_harness import (UNSEAL, Harness, make_tone, provision, start_cta, start_pair,  # noqa: E402
                        wait_event)

SNR_FLOOR_DB = 20.0        # tone power vs everything else in the recording
SKIP_S = 0.5               # of the recorded tone, before measuring
ENTROPY_FLOOR = 7.9        # bits per byte of A's SRTP payloads
SUITE = "AES_CM_128_HMAC_SHA1_80"
TAG_LEN = 10               # its authentication tag
RELAY_RANGES = {"gc1": (41000, 41099), "gc2": (42000, 42099)}
TONE_A, TONE_B = 1000, 1500
CALL_S = 6                 # A hangs up this long after the answer

GST = shutil.which("gst-launch-1.0")
MEDIA_RX = re.compile(r"^media started SRTP (\S+), ([^/]+)/(\d+), ([0-9.]+):(\d+) → "
                      r"([0-9.]+):(\d+), audio in (.*), out (.*)$")
MAX_GAPS = 1
STATS_RX = re.compile(r"^media stats sent (\d+) received (\d+) rejected-replay (\d+) "
                      r"rejected-auth (\d+) rejected-malformed (\d+) lost (-?\d+) "
                      r"jitter-ms (-?[0-9.]+) rtt-ms (-?[0-9.]+) rtcp-sent (\d+) "
                      r"rtcp-received (\d+) playback-underruns (\d+) playback-skipped (\d+)$")
STATS_KEYS = ("sent", "received", "rejected-replay", "rejected-auth", "rejected-malformed",
              "lost", "jitter-ms", "rtt-ms", "rtcp-sent", "rtcp-received", "playback-underruns",
              "playback-skipped")


# --- audio analysis ------------------------------------------------------------

def read_wav(path):
    """(rate, samples of the first channel as a list of ints) of a 16-bit WAV."""
    with wave.open(path, "rb") as w:
        if w.getsampwidth() != 2:
            raise ValueError(f"{path}: {8 * w.getsampwidth()}-bit samples, not 16")
        ch, rate = w.getnchannels(), w.getframerate()
        data = array.array("h")
        data.frombytes(w.readframes(w.getnframes()))
    if sys.byteorder != "little":
        data.byteswap()
    return rate, list(data[::ch]) if ch > 1 else list(data)


def goertzel_power(block, freq, rate):
    """Power of the @freq sinusoid in @block (A²/2 for amplitude A); exact
    when the block holds a whole number of its periods, as ours do."""
    n = len(block)
    coeff = 2.0 * math.cos(2.0 * math.pi * freq / rate)
    s1 = s2 = 0.0
    for x in block:
        s1, s2 = x + coeff * s1 - s2, s1
    mag2 = s1 * s1 + s2 * s2 - coeff * s1 * s2
    return 2.0 * mag2 / (n * n)


def tone_analysis(samples, rate, freq):
    """Finds where @freq sounds (20 ms blocks within 20 dB of its loudest),
    skips the first SKIP_S and last 0.1 s of that, and measures there:
    dict(seconds, snr_db, dropouts, gaps, slips, level_dbfs) or None when
    there is no tone at all; times are seconds into the measured part."""
    n = rate // 50
    blocks = [samples[i:i + n] for i in range(0, len(samples) - n + 1, n)]
    tone = [goertzel_power(b, freq, rate) for b in blocks]
    total = [sum(x * x for x in b) / n for b in blocks]
    if not tone or max(tone) < 1e4:            # below -65 dBFS: nothing there
        return None
    loud = max(tone) / 100.0
    idx = [i for i, p in enumerate(tone) if p >= loud]
    first, last = idx[0] + int(SKIP_S * 50), idx[-1] - 5
    if last - first < 25:
        return dict(seconds=max(0, last - first) / 50.0, snr_db=None, dropouts=None,
                    gaps=[], slips=[], level_dbfs=None)
    t = tone[first:last + 1]
    a = total[first:last + 1]
    sig = sum(t)
    noise = max(sum(a) - sig, 1e-9)
    med = sorted(t)[len(t) // 2]
    gaps = [i / 50.0 for i, p in enumerate(t) if p < med / 4.0]   # blocks 6 dB below median
    return dict(seconds=len(t) / 50.0, snr_db=10.0 * math.log10(max(sig, 1e-9) / noise),
                dropouts=len(gaps), gaps=gaps,
                slips=phase_slips(samples[first * n:(last + 1) * n], rate, freq),
                level_dbfs=10.0 * math.log10(max(sig / len(t), 1e-9) * 2 / 32768.0 ** 2))


def phase_slips(samples, rate, freq):
    """[(seconds into @samples, degrees)] where the tone's phase, measured
    over 10 ms windows against a fixed reference, jumps by more than 20°:
    samples dropped or repeated (a whole 20 ms frame of these tones is
    invisible here, a slip of a few samples is not)."""
    m = rate // 100
    w = 2.0 * math.pi * freq / rate
    slips, prev = [], None
    for j in range(0, len(samples) - m + 1, m):
        c = s = 0.0
        for i in range(m):
            x = samples[j + i]
            c += x * math.cos(w * (j + i))
            s += x * math.sin(w * (j + i))
        if math.hypot(c, s) * 2 / m < 1000:     # no tone in this window
            prev = None
            continue
        ph = math.degrees(math.atan2(s, c))
        if prev is not None:
            d = (ph - prev + 180.0) % 360.0 - 180.0
            if abs(d) > 20.0:
                slips.append((round(j / rate, 2), round(d)))
        prev = ph
    return slips


def describe_tone(r):
    if r is None:
        return "no tone recorded"
    if r["snr_db"] is None:
        return f"tone only {r['seconds']:.1f} s long"
    slips = ", ".join(f"{d:+d}° at {t:.2f} s" for t, d in r["slips"][:5]) or "none"
    gaps = " (at " + ", ".join(f"{t:.2f} s" for t in r["gaps"][:5]) + ")" if r["gaps"] else ""
    return (f"{r['seconds']:.1f} s measured, SNR {r['snr_db']:.1f} dB, level "
            f"{r['level_dbfs']:.1f} dBFS, {r['dropouts']} of {int(r['seconds'] * 50)} 20 ms "
            f"blocks 6 dB down{gaps}, phase slips {slips}")


def ulaw_decode(data):
    """G.711 µ-law bytes to 16-bit samples (ITU-T G.711)."""
    out = []
    for b in data:
        b = ~b & 0xFF
        t = (((b & 0x0F) << 3) + 0x84) << ((b & 0x70) >> 4)
        out.append(0x84 - t if b & 0x80 else t - 0x84)
    return out


def entropy(data):
    if not data:
        return 0.0
    counts = [0] * 256
    for b in data:
        counts[b] += 1
    n = len(data)
    return -sum(c / n * math.log2(c / n) for c in counts if c)


# --- pcap ---------------------------------------------------------------------

def read_pcap_udp(path):
    """[(time, src_port, dst_port, udp payload)] of the IPv4 UDP packets of a
    classic pcap file (Ethernet, Linux cooked or raw IP link types)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return []
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        raise ValueError(f"{path} is not a classic pcap file (magic {magic.hex()})")
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    linktype = struct.unpack(end + "I", data[20:24])[0]
    out = []
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack(end + "IIII", data[off:off + 16])
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if linktype == 1:            # Ethernet
            if len(pkt) < 14 or pkt[12:14] != b"\x08\x00":
                continue
            ip = pkt[14:]
        elif linktype == 113:        # Linux cooked
            if len(pkt) < 16 or pkt[14:16] != b"\x08\x00":
                continue
            ip = pkt[16:]
        elif linktype in (101, 228):  # raw IPv4
            ip = pkt
        else:
            raise ValueError(f"{path}: link type {linktype} not handled")
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        ihl = (ip[0] & 0x0F) * 4
        udp = ip[ihl:]
        if len(udp) < 8:
            continue
        sport, dport, ulen = struct.unpack("!HHH", udp[:6])
        out.append((sec + frac / (1e9 if nano else 1e6), sport, dport, udp[8:ulen]))
    return out


def rtp_payload(pkt):
    """The encrypted payload of an SRTP packet (header and tag removed)."""
    cc = pkt[0] & 0x0F
    off = 12 + 4 * cc
    if pkt[0] & 0x10 and len(pkt) >= off + 4:
        off += 4 + 4 * struct.unpack("!H", pkt[off + 2:off + 4])[0]
    return pkt[off:len(pkt) - TAG_LEN]


def srtp_shape(pkt, rtcp, when):
    """Why @pkt is not SRTP (or SRTCP), or None when it is."""
    if len(pkt) < 12 or pkt[0] >> 6 != 2:
        return f"not RTP version 2 ({len(pkt)} bytes, first byte {pkt[:1].hex()})"
    if not rtcp:
        pt = pkt[1] & 0x7F
        if not (pt == 0 or 96 <= pt <= 127):
            return f"RTP payload type {pt}, not PCMU (0) or a dynamic one (telephone-event)"
        if len(pkt) < 12 + TAG_LEN + 1:
            return f"{len(pkt)} bytes: no room for a payload and an 80-bit tag"
        return None
    if not 200 <= pkt[1] <= 204:
        return f"RTCP packet type {pkt[1]}"
    if len(pkt) < 8 + 4 + TAG_LEN:
        return f"{len(pkt)} bytes: no room for the SRTCP index and tag"
    if not pkt[len(pkt) - TAG_LEN - 4] & 0x80:
        return "SRTCP E flag clear (not encrypted)"
    if pkt[1] == 200 and len(pkt) >= 16:
        # a plain sender report starts with the NTP time of its sending
        ntp = struct.unpack("!I", pkt[8:12])[0]
        if abs(ntp - (when + 2208988800)) < 3600:
            return "sender report with the NTP time in clear"
    return None


# --- processes ----------------------------------------------------------------

def run(argv, timeout=60):
    # JACK's tools must not start a server of their own when there is none
    env = dict(os.environ, JACK_NO_START_SERVER="1")
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True,
                          timeout=timeout, env=env)


def jack_ports():
    """{port name: set of properties} from jack_lsp -p, or None when no JACK server."""
    r = run(["jack_lsp", "-p"], timeout=10)
    if r.returncode != 0:
        return None
    ports, name = {}, None
    for line in r.stdout.splitlines():
        if line.startswith("\t") or line.startswith(" "):
            m = re.search(r"properties:\s*(.*)", line)
            if m and name:
                ports[name] = {p.strip() for p in m.group(1).split(",") if p.strip()}
        elif line.strip():
            name = line.strip()
            ports[name] = set()
    return ports


def client_ports(client, direction, timeout=5):
    """The @direction ("input" or "output") ports of JACK @client."""
    deadline = time.monotonic() + timeout
    while True:
        ports = jack_ports() or {}
        found = sorted(p for p, props in ports.items()
                       if p.startswith(client + ":") and direction in props)
        if found or time.monotonic() >= deadline:
            return found
        time.sleep(0.1)


def jack_connect(src, dst):
    r = run(["jack_connect", src, dst], timeout=10)
    return r.returncode == 0, (r.stdout + r.stderr).strip()


def stats_of(proc):
    lines = proc.find_lines(r"^media stats ")
    if not lines:
        return None
    m = STATS_RX.match(lines[-1][1])
    if not m:
        return {"unparsed": lines[-1][1]}
    return {k: float(v) if "." in v else int(v) for k, v in zip(STATS_KEYS, m.groups())}


def media_of(proc, timeout):
    m = proc.wait_line(MEDIA_RX.pattern, timeout)
    if not m:
        return None
    return dict(suite=m.group(1), codec=m.group(2), rate=int(m.group(3)),
                local=(m.group(4), int(m.group(5))), remote=(m.group(6), int(m.group(7))),
                audio_in=m.group(8), audio_out=m.group(9))


def set_media(net, ctl, relay):
    """The controller's [media] group: relay on or off, and a port range of
    its own so the test can tell whose relay a softphone sends to."""
    lo, hi = RELAY_RANGES[ctl]
    net.set_media(ctl, relay="true" if relay else "false", relay_port_min=lo, relay_port_max=hi)


def check_stats(tap, label, a, b):
    sa, sb = stats_of(a.proc), stats_of(b.proc)
    ok = all(s and "received" in s for s in (sa, sb))
    tap.ok(ok and sa["received"] > 0 and sb["received"] > 0
           and sa["rejected-auth"] == 0 and sb["rejected-auth"] == 0,
           f"{label}: media stats: both sides received packets, none rejected-auth",
           f"A: {sa}\nB: {sb}")
    tap.ok(ok and sa["rtcp-received"] >= 1 and sb["rtcp-received"] >= 1,
           f"{label}: media stats: both sides received RTCP (rtcp-received ≥ 1)",
           f"A: {sa}\nB: {sb}")
    if ok:
        tap.diag(f"  A {a.proc.find_lines('^media stats')[-1][1]}")
        tap.diag(f"  B {b.proc.find_lines('^media stats')[-1][1]}")


def attr_int(ev, key):
    """An event attribute as a number (events carry attributes as strings)."""
    try:
        return int((ev.get("attrs") or {}).get(key))
    except (TypeError, ValueError):
        return None


def check_addresses(tap, label, relay, ma, mb, ctls):
    if relay:
        ports = {}
        for name, leg in (("gc1", "caller_port"), ("gc2", "callee_port")):
            ev = wait_event(ctls[name], lambda e: e.get("kind") == "media-start"
                            and attr_int(e, leg) is not None, 2)
            ports[name] = attr_int(ev, leg) if ev else None
        lo1, hi1 = RELAY_RANGES["gc1"]
        lo2, hi2 = RELAY_RANGES["gc2"]
        ok = (lo1 <= ma["remote"][1] <= hi1 and lo2 <= mb["remote"][1] <= hi2
              and ma["remote"] != mb["local"] and mb["remote"] != ma["local"])
        tap.ok(ok, f"{label}: A sends to gc1's relay ({lo1}-{hi1}), B to gc2's ({lo2}-{hi2}), "
               "not to each other", f"A {ma['local']} → {ma['remote']}, "
               f"B {mb['local']} → {mb['remote']}")
        tap.ok(ports["gc1"] == ma["remote"][1] and ports["gc2"] == mb["remote"][1],
               f"{label}: those are the relay ports the controllers report (media-start events)",
               f"gc1 caller_port {ports['gc1']}, A sends to {ma['remote'][1]}; "
               f"gc2 callee_port {ports['gc2']}, B sends to {mb['remote'][1]}")
    else:
        tap.ok(ma["remote"] == mb["local"] and mb["remote"] == ma["local"],
               f"{label}: A and B send straight to each other's media port",
               f"A {ma['local']} → {ma['remote']}, B {mb['local']} → {mb['remote']}")


def check_relay_counters(tap, label, ctls, recv_a, recv_b):
    """Both relays forwarded the call each way, dropping nothing, and at
    least as many packets as each softphone received went out of each relay
    toward it. (Not "as many as each sent": the relay's ports are released
    on the BYE, and the last few hundred ms of a softphone's stream can
    arrive after that.)"""
    got, bad = [], []
    for name in ("gc1", "gc2"):
        ev = wait_event(ctls[name], lambda e: e.get("kind") == "media-stop"
                        and attr_int(e, "caller_packets_in") is not None, 5)
        if not ev:
            bad.append(f"{name}: no media-stop event")
            continue
        c_in, e_in = attr_int(ev, "caller_packets_in"), attr_int(ev, "callee_packets_in")
        c_out, e_out = attr_int(ev, "caller_packets_out"), attr_int(ev, "callee_packets_out")
        drops = (attr_int(ev, "caller_dropped") or 0) + (attr_int(ev, "callee_dropped") or 0)
        got.append(f"{name}: {ev.get('summary')}")
        if not (e_out == c_in and c_out == e_in and drops == 0
                and c_out >= recv_a and e_out >= recv_b):
            bad.append(f"{name}: toward A (caller side out) {c_out}, toward B (callee side out) "
                       f"{e_out}; A received {recv_a} RTP, B {recv_b}; in {c_in}/{e_in}, "
                       f"dropped {drops}")
    tap.ok(not bad, f"{label}: what A and B received went through both relays, each way, none "
           "dropped", "\n".join(bad + got))
    for g in got:
        tap.diag("  " + g)


# --- the JACK call -------------------------------------------------------------

def jack_call(h, net, ctls, relay):
    tap = h.tap
    label = f"JACK, relay {'on' if relay else 'off'}"
    tag = "relay" if relay else "direct"
    # Two recorders on each playback port: JACK hands both the same samples,
    # so a fault of the softphone shows in both, one of a recorder in one.
    recs = (1, 2)
    names = {k: f"kc-{k}-{tag}" for k in ("toneA", "toneB")}
    names.update({f"rec{w}{k}": f"kc-rec{w}{k}-{tag}" for w in "AB" for k in recs})
    wav = {f"{w}{k}": h.path(f"rec-{w}{k}-{tag}.wav") for w in "AB" for k in recs}
    procs = []
    try:
        for who, freq in (("A", TONE_A), ("B", TONE_B)):
            procs.append(h.start(f"tone{who}", [
                GST, "-q", "audiotestsrc", f"freq={freq}", "volume=0.5", "is-live=true", "!",
                "audio/x-raw,channels=1", "!", "audioconvert", "!",
                "jackaudiosink", f"client-name={names['tone' + who]}", "connect=0"]))
            for k in recs:
                procs.append(h.start(f"rec{who}{k}", [
                    GST, "-q", "-e", "jackaudiosrc", f"client-name={names[f'rec{who}{k}']}",
                    "connect=0", "!", "audio/x-raw,channels=1", "!", "audioconvert", "!",
                    "audio/x-raw,format=S16LE", "!", "wavenc", "!", "filesink",
                    f"location={wav[f'{who}{k}']}"]))
        need = {names[n]: "output" if n.startswith("tone") else "input" for n in names}
        missing = [c for c, d in need.items() if not client_ports(c, d, timeout=8)]
        if not tap.ok(not missing, f"{label}: tone generators and recorders are JACK clients",
                      f"no ports for {missing}\n" + "\n".join(p.describe() for p in procs)):
            return

        audio = ["--audio-in", "default", "--audio-out", "default"]
        b = start_cta(h, net, "2001", answer=True, duration=30, timeout=45, extra=audio)
        procs.append(b.proc)
        if not tap.ok(b.proc.wait_line(r"^registered 2001 at gc2\b", 10),
                      f"{label}: B 2001 registers", b.proc.describe()):
            return
        a = start_cta(h, net, "1001", call="2001", duration=CALL_S, timeout=40, extra=audio)
        procs.append(a.proc)
        ma, mb = media_of(a.proc, 20), media_of(b.proc, 20)
        ja = a.proc.wait_line(r"^jack client (\S+)$", 3)
        jb = b.proc.wait_line(r"^jack client (\S+)$", 3)
        ok = ma and mb and ja and jb and ja.group(1) != jb.group(1)
        if not tap.ok(ok, f"{label}: A and B print 'media started' and their own 'jack client'",
                      f"{a.proc.describe()}\n{b.proc.describe()}"):
            return
        tap.diag(f"  A: {a.proc.find_lines('^media started')[0][1]}")
        tap.diag(f"  B: {b.proc.find_lines('^media started')[0][1]}")

        # tone X → X's capture; X's playback → X's recorders
        wiring, errors = [], []
        for who, client in (("A", ja.group(1)), ("B", jb.group(1))):
            ins, outs = client_ports(client, "input"), client_ports(client, "output")
            src = client_ports(names["tone" + who], "output")
            dsts = [client_ports(names[f"rec{who}{k}"], "input")[0] for k in recs]
            if not ins or not outs:
                errors.append(f"{who}'s client {client} has inputs {ins}, outputs {outs}")
            for p in ins:
                okc, err = jack_connect(src[0], p)
                wiring.append(f"{src[0]} → {p}") if okc else errors.append(err)
            for p in outs:
                for dst in dsts:
                    okc, err = jack_connect(p, dst)
                    wiring.append(f"{p} → {dst}") if okc else errors.append(err)
        tap.ok(not errors, f"{label}: tones connected to the softphones' capture ports, their "
               "playback ports to the recorders", "\n".join(errors) + f"\nports: {jack_ports()}")
        tap.diag("  " + "; ".join(wiring))

        rc_a, rc_b = a.proc.wait(CALL_S + 20), b.proc.wait(15)
        tap.ok(rc_a == 0 and rc_b == 0, f"{label}: the call lasts and both sides exit 0",
               f"{a.proc.describe()}\n{b.proc.describe()}")
        for p in procs:
            if p.name.startswith("rec"):
                p.stop(timeout=10, sig=signal.SIGINT)   # -e: EOS, the WAV is finalized
        for p in procs:
            p.stop()

        check_addresses(tap, label, relay, ma, mb, ctls)
        sa, sb = stats_of(a.proc), stats_of(b.proc)
        if relay and sa and sb and "received" in sa and "received" in sb:
            check_relay_counters(tap, label, ctls, sa["received"], sb["received"])
        for who, hears, freq in (("B", "A", TONE_A), ("A", "B", TONE_B)):
            results = []
            for k in recs:
                try:
                    rate, samples = read_wav(wav[f"{who}{k}"])
                    r = tone_analysis(samples, rate, freq)
                    results.append((r, f"recorder {k}: {describe_tone(r)}"))
                except (OSError, EOFError, ValueError, wave.Error) as e:
                    results.append((None, f"recorder {k}: {wav[f'{who}{k}']}: {e}"))
            # the better recording: what the softphone played is at least that good
            usable = [x for x in results if x[0] is not None and x[0]["snr_db"] is not None]
            r = min(usable, key=lambda x: (x[0]["dropouts"], -x[0]["snr_db"]))[0] \
                if usable else None
            why = "; ".join(w for _, w in results)
            good = r is not None
            tap.ok(good and r["snr_db"] >= SNR_FLOOR_DB,
                   f"{label}: {hears}→{who}: {freq} Hz heard at {who} with SNR ≥ "
                   f"{SNR_FLOOR_DB:.0f} dB",
                   f"{why}\n{a.proc.describe()}\n{b.proc.describe()}")
            tap.ok(good and r["dropouts"] <= MAX_GAPS,
                   f"{label}: {hears}→{who}: the tone has at most {MAX_GAPS} gap (20 ms block "
                   "6 dB below the median)", why)
            tap.diag(f"  {hears}→{who} {freq} Hz: {why}")
        check_stats(tap, label, a, b)
    finally:
        for p in procs:
            p.stop()


# --- the wire ------------------------------------------------------------------

def srtp_keys(net, key_prefix):
    """{direction: hex key‖salt} of the key whose id starts with @key_prefix,
    as the LEA derives them; and what went wrong, if anything."""
    r = run([UNSEAL, "--store", net.store("gc1"), "--lea-key", net.seal_key(),
             "--srtp-suite", SUITE])
    keys = {}
    for line in r.stdout.splitlines():
        m = re.match(r"^srtp ([0-9a-f]{32}) call (\S+) (caller-to-callee|callee-to-caller) "
                     r"([0-9a-f]+)$", line)
        if m and key_prefix and m.group(1).startswith(key_prefix):
            keys[m.group(3)] = m.group(4)
    lines = [l for l in r.stdout.splitlines() if not l.startswith("srtp ")]
    return keys, f"exit {r.returncode}; " + "\n".join(lines)[-600:] + r.stderr[-400:]


def srtp_decode(h, packets, ssrc, key_hex, name):
    """Runs GStreamer's srtpdec over @packets (captured SRTP datagrams, one
    file each: multifilesrc makes a fresh, writable buffer of each; see the
    note at the top) with @key_hex; returns (the RTP payloads of the packets
    it let through, joined; how many it let through; a description that
    does not show the key)."""
    src, out = h.path(name + "-in"), h.path(name + "-out")
    os.makedirs(src, exist_ok=True)
    os.makedirs(out, exist_ok=True)
    for i, p in enumerate(packets):
        with open(os.path.join(src, f"{i:05d}.srtp"), "wb") as f:
            f.write(p)
    caps = (f"caps=application/x-srtp,ssrc=(uint){ssrc},srtp-key=(buffer){key_hex},"
            "srtp-cipher=(string)aes-128-icm,srtp-auth=(string)hmac-sha1-80,"
            "srtcp-cipher=(string)aes-128-icm,srtcp-auth=(string)hmac-sha1-80,roc=(uint)0")
    argv = [GST, "-q", "multifilesrc", f"location={src}/%05d.srtp", "index=0",
            f"stop-index={len(packets) - 1}", caps, "!", "srtpdec", "!",
            "multifilesink", f"location={out}/%05d.rtp"]
    r = run(argv, timeout=30)
    payload, bad, n = b"", 0, 0
    for f in sorted(os.listdir(out)):
        n += 1
        with open(os.path.join(out, f), "rb") as fh:
            pkt = fh.read()
        if len(pkt) < 12 or pkt[0] >> 6 != 2 or struct.unpack("!I", pkt[8:12])[0] != ssrc:
            bad += 1
            continue
        cc = pkt[0] & 0x0F
        payload += pkt[12 + 4 * cc:]
    text = (f"multifilesrc ({len(packets)} packets) ! application/x-srtp,ssrc={ssrc},"
            f"srtp-key=[key],… ! srtpdec: exit {r.returncode}, {len(os.listdir(out))} packets "
            f"out, {bad} of them not RTP of SSRC {ssrc}; "
            f"{(r.stdout + r.stderr).replace(key_hex, '[key]')[-600:]}")
    return payload, n, text


def flip_bit(key_hex):
    b = bytearray(bytes.fromhex(key_hex))
    b[0] ^= 0x01
    return b.hex()


def wire_call(h, net, ctls):
    tap = h.tap
    label = "wire"
    if not shutil.which("tshark"):
        tap.skip(f"{label}: loopback capture of a call's media", "tshark is not installed")
        return
    procs = []
    try:
        tone_a, tone_b = make_tone(h, TONE_A, CALL_S + 3), make_tone(h, TONE_B, CALL_S + 3)
        pcap = h.path("media.pcap")
        shark = h.start("tshark", ["tshark", "-n", "-i", "lo", "-f", "udp", "-F", "pcap",
                                   "-w", pcap])
        procs.append(shark)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and "Capturing on" not in shark.stderr():
            if not shark.running():
                break
            time.sleep(0.1)
        if not tap.ok("Capturing on" in shark.stderr(), f"{label}: tshark captures UDP on lo",
                      shark.describe()):
            return

        common = ["--codecs", "PCMU", "--suites", SUITE]
        b = start_cta(h, net, "2001", answer=True, duration=30, timeout=45,
                      extra=common + ["--audio-in", tone_b, "--audio-out", "none"])
        procs.append(b.proc)
        if not tap.ok(b.proc.wait_line(r"^registered 2001 at gc2\b", 10),
                      f"{label}: B 2001 registers", b.proc.describe()):
            return
        a = start_cta(h, net, "1001", call="2001", duration=CALL_S, timeout=40,
                      extra=common + ["--audio-in", tone_a, "--audio-out", "none"])
        procs.append(a.proc)
        rc_a, rc_b = a.proc.wait(CALL_S + 20), b.proc.wait(15)
        ma, mb = media_of(a.proc, 0), media_of(b.proc, 0)
        tap.ok(rc_a == 0 and rc_b == 0 and ma and mb
               and (ma["suite"], ma["codec"], mb["suite"], mb["codec"])
               == (SUITE, "PCMU", SUITE, "PCMU"),
               f"{label}: the call runs SRTP {SUITE}, PCMU/8000 on both sides and ends cleanly",
               f"{a.proc.describe()}\n{b.proc.describe()}")
        if not (ma and mb):
            return
        tap.diag(f"  A: {a.proc.find_lines('^media started')[0][1]}")
        check_addresses(tap, label, False, ma, mb, ctls)
        time.sleep(0.5)
        shark.stop(timeout=10, sig=signal.SIGINT)

        pa, pb = ma["local"][1], mb["local"][1]
        a_ports, b_ports = {pa, pa + 1}, {pb, pb + 1}
        try:
            packets = read_pcap_udp(pcap)
        except (OSError, ValueError) as e:
            tap.ok(False, f"{label}: the capture can be read", str(e))
            return
        between = [p for p in packets if (p[1] in a_ports and p[2] in b_ports)
                   or (p[1] in b_ports and p[2] in a_ports)]
        a2b = [p for p in between if (p[1], p[2]) == (pa, pb)]
        b2a = [p for p in between if (p[1], p[2]) == (pb, pa)]
        rtcp = [p for p in between if p[1] % 2 == 1]
        tap.ok(len(a2b) >= 100 and len(b2a) >= 100,
               f"{label}: the capture holds the call's media both ways (≥ 100 RTP packets each)",
               f"{len(packets)} UDP packets; A→B {len(a2b)}, B→A {len(b2a)}, RTCP {len(rtcp)}")
        tap.diag(f"  {len(between)} UDP packets between A {pa}/{pa + 1} and B {pb}/{pb + 1}: "
                 f"A→B RTP {len(a2b)}, B→A RTP {len(b2a)}, RTCP {len(rtcp)}")
        bad = []
        for t, sp, dp, payload in between:
            why = srtp_shape(payload, sp % 2 == 1, t)
            if why:
                bad.append(f"{sp}→{dp} ({len(payload)} bytes): {why}")
        tap.ok(between and not bad and rtcp,
               f"{label}: every UDP packet between the media ports is SRTP or SRTCP "
               f"({len(between)} packets, {len(rtcp)} SRTCP)",
               f"{len(bad)} are not:\n" + "\n".join(bad[:10]) if bad else "no RTCP packets")
        if not a2b or not b2a:
            return
        ssrc_a = struct.unpack("!I", a2b[0][3][8:12])[0]
        ssrc_b = struct.unpack("!I", b2a[0][3][8:12])[0]

        key_line = a.proc.wait_line(r"^key (?:received|derived) id ([0-9a-f]{8})\b", 0)
        keys, why = srtp_keys(net, key_line.group(1) if key_line else None)
        if not tap.ok(set(keys) == {"caller-to-callee", "callee-to-caller"},
                      f"{label}: the LEA opens the call's sealed key and derives both "
                      f"directions' {SUITE} keys (kc-unseal-check --srtp-suite)",
                      f"A's key id {key_line and key_line.group(1)}; {why}"):
            return
        c2c, c2r = keys["caller-to-callee"], keys["callee-to-caller"]

        a_pkts, b_pkts = [p[3] for p in a2b], [p[3] for p in b2a]
        plain_a, n_a, desc_a = srtp_decode(h, a_pkts, ssrc_a, c2c, "a2b")
        plain_b, n_b, desc_b = srtp_decode(h, b_pkts, ssrc_b, c2r, "b2a")
        for who, plain, n_out, desc, n_in in (("A→B", plain_a, n_a, desc_a, len(a2b)),
                                              ("B→A", plain_b, n_b, desc_b, len(b2a))):
            tap.ok(n_out == n_in, f"{label}: srtpdec with the LEA's key authenticates every "
                   f"one of {who}'s {n_in} RTP packets", desc)
        for who, plain, desc, freq in (("A→B", plain_a, desc_a, TONE_A),
                                       ("B→A", plain_b, desc_b, TONE_B)):
            r = tone_analysis(ulaw_decode(plain), 8000, freq) if plain else None
            tap.ok(r is not None and r["snr_db"] is not None and r["snr_db"] >= SNR_FLOOR_DB,
                   f"{label}: srtpdec with the LEA's key decrypts {who} to {freq} Hz "
                   f"(SNR ≥ {SNR_FLOOR_DB:.0f} dB)", f"{describe_tone(r)}; {desc}")
            tap.diag(f"  srtpdec {who}: {describe_tone(r)}")

        enc = b"".join(rtp_payload(p[3]) for p in a2b)
        h_enc, h_plain = entropy(enc), entropy(plain_a)
        windows = {plain_a[i:i + 16] for i in range(0, max(0, len(plain_a) - 15))}
        leaked = sum(1 for p in a2b for i in range(len(rtp_payload(p[3])) - 15)
                     if rtp_payload(p[3])[i:i + 16] in windows)
        tap.ok(h_enc >= ENTROPY_FLOOR and h_plain < ENTROPY_FLOOR - 1 and not leaked,
               f"{label}: A's payloads look random ({h_enc:.2f} bits/byte ≥ {ENTROPY_FLOOR}) "
               f"unlike their plaintext ({h_plain:.2f}), and hold no 16 bytes of it",
               f"{len(enc)} encrypted payload bytes, {len(plain_a)} plaintext bytes, "
               f"{leaked} plaintext runs found")

        _, other, desc_o = srtp_decode(h, a_pkts, ssrc_a, c2r, "a2b-other-key")
        _, wrong, desc_w = srtp_decode(h, a_pkts, ssrc_a, flip_bit(c2c), "a2b-wrong-key")
        tap.ok(plain_a and not other,
               f"{label}: the callee-to-caller key decrypts none of A's packets (a key per "
               "direction)", desc_o)
        tap.ok(plain_a and not wrong,
               f"{label}: the caller-to-callee key with one bit changed decrypts none of them",
               desc_w)
        check_stats(tap, label, a, b)
    finally:
        for p in procs:
            p.stop()


# --- main ---------------------------------------------------------------------

def start_media_pair(h, net, relay):
    label = f"relay {'on' if relay else 'off'}"
    for ctl in ("gc1", "gc2"):
        set_media(net, ctl, relay)
    ctls = start_pair(h, net, label, key_mode="random", delivery="signaling")
    if ctls is not None:
        h.tap.ok(True, f"{label}: controllers start")
    return ctls


def main():
    h = Harness("media")
    tap = h.tap
    try:
        missing = h.missing_binaries(("admin", "controller", "cta", "unseal"))
        if missing:
            tap.skip("media calls", f"not built: {', '.join(missing)}")
            return
        if not GST:
            tap.skip("media calls", "gst-launch-1.0 is not installed")
            return
        absent = [e for e in ("audiotestsrc", "audioconvert", "wavenc", "multifilesrc",
                              "multifilesink", "srtpdec")
                  if run(["gst-inspect-1.0", "--exists", e]).returncode != 0]
        if absent:
            tap.skip("media calls", f"GStreamer elements missing: {', '.join(absent)}")
            return
        jack = bool(os.environ.get("JACK_DEFAULT_SERVER")) and shutil.which("jack_lsp") \
            and shutil.which("jack_connect") and jack_ports() is not None \
            and all(run(["gst-inspect-1.0", "--exists", e]).returncode == 0
                    for e in ("jackaudiosrc", "jackaudiosink"))
        net = provision(h, [("1001", "Alice"), ("2001", "Bob")], check_configs=True)
        if net is None:
            return

        for relay in (True, False):
            if not jack:
                tap.skip(f"JACK call, relay {'on' if relay else 'off'}",
                         "no JACK server (run under scripts/with-test-env)")
                if relay:
                    continue
            ctls = start_media_pair(h, net, relay)
            if ctls is None:
                continue
            try:
                if jack:
                    jack_call(h, net, ctls, relay)
                if not relay:
                    wire_call(h, net, ctls)
            finally:
                for c in ctls.values():
                    c.stop()
    except Exception:
        h.crashed()
    finally:
        h.finish()


if __name__ == "__main__":
    main()
