#!/usr/bin/env python3
"""test-anchoring: media anchoring (docs/protocol.md, "Media anchoring").

Two controllers (gc1 serves 1xxx, gc2 serves 2xxx), each relaying on its
own UDP port range ([media] in controller.ini). Softphone A 1001 calls B
2001 in both delivery modes: from the controllers' sip-tx events, the SDP
each softphone receives names the relay's address and a port of its own
controller's range, every hop in between names the previous controller's
relay, and every other line is the sending CTA's; the relay ports are held
during the call and free again as soon as it ends (the controllers still
running), with the counters in a media-stop event. With relay=false the
SDP passes unchanged end to end. Raw peers (kc_rawsip.py) whose SDP names
the test's own UDP sockets then check that packets go A → gc1 → gc2 → B
and back, and that what is not RTP is dropped. A range with no free ports
refuses the call with 503 and a Warning, and the next call works again
once ports are free. Bad [media] values stop the controller at start.
Prints TAP.
"""

import os
import random
import re
import socket
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import kc_rawsip  # noqa: E402
from kc_harness import (CONTROLLER, HOST, Harness, attrs, provision, sdp_of,  # noqa: E402
                        start_cta, start_pair, store_rows, wait_event)
from kc_rawsip import FakeCallee, RawPeer, raw_call  # noqa: E402


# --- controller.ini [media] ------------------------------------------------------

def pick_ranges(n, size=100):
    """@n adjacent even-aligned port ranges of @size: below the kernel's
    ephemeral ports, at a random place so a leftover process of an earlier
    run does not hold them."""
    base = random.randrange(20000, 32000 - n * size, 2)
    return [(base + i * size, base + (i + 1) * size - 1) for i in range(n)]


def port_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind((HOST, port))
            return True
        except OSError:
            return False


# --- SDP in events -------------------------------------------------------------------

def media_of(sdp):
    """(every c= address, the m=audio port)."""
    conns = re.findall(r"(?m)^c=IN IP[46] (\S+?)\r?$", sdp)
    m = re.search(r"(?m)^m=audio (\d+) ", sdp)
    return conns, int(m.group(1)) if m else None


def kept_lines(sdp):
    """The lines a relay must leave as they were: all but c=, the port of
    m=audio, the address of o=, a=rtcp and the key lines (the controllers'
    business)."""
    out = []
    for line in sdp.splitlines():
        if not line or line.startswith(("c=", "a=rtcp:", "a=key-mgmt:")):
            continue
        if line.startswith("o="):
            line = " ".join(line.split()[:5])
        elif line.startswith("m=audio "):
            parts = line.split()
            line = " ".join(parts[:1] + parts[2:])
        out.append(line)
    return out


def without_keys(sdp):
    return [line for line in sdp.splitlines() if not line.startswith("a=key-mgmt:")]


def sip(events, kind, peer, method=None, statuses=None):
    """sip-rx/sip-tx events with an SDP body to or from @peer: requests of
    @method, or responses with a status in @statuses."""
    out = []
    for e in events:
        a = attrs(e)
        if e.get("kind") != kind or e.get("peer") != peer or sdp_of(e) is None:
            continue
        if method and "status" not in a and a.get("method") == method:
            out.append(e)
        elif statuses and a.get("status") in statuses:
            out.append(e)
    return out


def media_start(events):
    for e in events:
        if e.get("kind") == "media-start":
            a = attrs(e)
            try:
                return a.get("relay_address"), int(a["caller_port"]), int(a["callee_port"])
            except (KeyError, ValueError):
                return None
    return None


def in_range(port, rng):
    return port is not None and rng[0] <= port <= rng[1] and port % 2 == 0


# --- scenarios --------------------------------------------------------------------------

def softphone_call(h, net, label, duration=3, during=None):
    """A 1001 calls B 2001; @during(…) runs once gc1 reports media-start.
    Returns (exit A, exit B)."""
    tap = h.tap
    b = start_cta(h, net, "2001", answer=True, duration=10, timeout=40)
    if not b.proc.wait_line(r"^registered 2001 at gc2\b", 10):
        tap.ok(False, f"{label}: B 2001 registers", b.proc.describe())
        b.proc.stop()
        return None, None
    a = start_cta(h, net, "1001", call="2001", duration=duration, timeout=30)
    if during:
        during()
    rc_a, rc_b = a.proc.wait(30), b.proc.wait(15)
    tap.ok(rc_a == 0 and rc_b == 0, f"{label}: A's call to B is answered and ends cleanly",
           f"A:\n{a.proc.describe()}\nB:\n{b.proc.describe()}")
    a.proc.stop()
    b.proc.stop()
    return rc_a, rc_b


def relayed_call(h, net, delivery, ranges):
    """Relay on in both controllers: SDPs point at the relays, hop by hop."""
    tap = h.tap
    label = f"relay on, {delivery}"
    r1, r2 = ranges
    net.set_media("gc1", relay_port_min=r1[0], relay_port_max=r1[1])
    net.set_media("gc2", relay_port_min=r2[0], relay_port_max=r2[1])
    ctls = start_pair(h, net, delivery=delivery)
    if ctls is None:
        return
    held = {}

    def during():
        # Held from the offer on: the port cannot be bound by anyone else.
        ev = wait_event(ctls["gc2"], lambda e: e.get("kind") == "media-start", 10)
        ms = media_start([ev]) if ev else None
        if ms:
            held["port"] = ms[2]
            held["free"] = port_free(ms[2])

    try:
        softphone_call(h, net, label, during=during)
        tap.ok(held.get("free") is False,
               f"{label}: gc2's relay holds its callee-side port during the call",
               f"media-start seen: {held}")
        ended = {}
        for n, c in ctls.items():
            ended[n] = wait_event(c, lambda e: e.get("kind") == "call-state"
                                  and attrs(e).get("state") == "ended", 10)
        ev = {n: c.events() for n, c in ctls.items()}
        starts = {n: media_start(ev[n]) for n in ctls}
        ports = [p for s in starts.values() if s for p in (s[1], s[1] + 1, s[2], s[2] + 1)]
        busy = [p for p in ports if not port_free(p)]
        tap.ok(all(ended.values()) and len(ports) == 8 and not busy,
               f"{label}: both relays' 8 ports are free once the call ended "
               "(controllers still running)",
               f"ended: {list(ended)}; media-start {starts}; still bound: {busy}")
    finally:
        status = {n: c.stop() for n, c in ctls.items()}
    tap.ok(all(s == 0 for s in status.values()), f"{label}: controllers stop cleanly",
           str(status))

    g1, g2 = ev["gc1"], ev["gc2"]
    s1, s2 = starts["gc1"], starts["gc2"]
    tap.ok(s1 and s2 and s1[0] == HOST and s2[0] == HOST
           and all(in_range(p, r1) for p in s1[1:]) and all(in_range(p, r2) for p in s2[1:]),
           f"{label}: each controller reports media-start with ports of its own range",
           f"gc1 {s1} in {r1}; gc2 {s2} in {r2}")
    if not (s1 and s2):
        return

    # The chain of offers: A → gc1 → gc2 → B.
    a_offer = sip(g1, "sip-rx", "cta:1001", method="INVITE")
    hop_offer = sip(g1, "sip-tx", "controller:gc2", method="INVITE")
    b_offer = sip(g2, "sip-tx", "cta:2001", method="INVITE")
    if not tap.ok(a_offer and hop_offer and b_offer,
                  f"{label}: the offer's three SDPs are in the event logs",
                  f"A→gc1 {len(a_offer)}, gc1→gc2 {len(hop_offer)}, gc2→B {len(b_offer)}"):
        return
    a_sdp, hop_sdp, b_sdp = sdp_of(a_offer[0]), sdp_of(hop_offer[0]), sdp_of(b_offer[0])
    conns, port = media_of(b_sdp)
    tap.ok(conns and all(c == HOST for c in conns) and port == s2[2],
           f"{label}: B receives c={HOST} and gc2's callee-side relay port (range {r2})",
           f"c= {conns}, port {port}, gc2 callee side {s2[2]}\n{b_sdp}")
    conns, port = media_of(hop_sdp)
    tap.ok(conns and all(c == HOST for c in conns) and port == s1[2],
           f"{label}: gc2 receives gc1's callee-side relay port (range {r1})",
           f"c= {conns}, port {port}, gc1 callee side {s1[2]}")
    a_conns, a_port = media_of(a_sdp)
    tap.ok(a_port not in (s1[1], s1[2], s2[1], s2[2]),
           f"{label}: A's own offer names A's port, not a relay's", f"A's port {a_port}")
    tap.eq(kept_lines(b_sdp), kept_lines(a_sdp),
           f"{label}: every other line of A's offer reaches B as A wrote it")

    # The chain of answers: B → gc2 → gc1 → A (183/180 and 200 with SDP).
    b_answers = sip(g2, "sip-rx", "cta:2001", statuses=("180", "183", "200"))
    a_answers = sip(g1, "sip-tx", "cta:1001", statuses=("180", "183", "200"))
    hop_answers = sip(g2, "sip-tx", "controller:gc1", statuses=("180", "183", "200"))
    if not tap.ok(b_answers and a_answers and hop_answers,
                  f"{label}: the answers' SDPs are in the event logs",
                  f"B→gc2 {len(b_answers)}, gc2→gc1 {len(hop_answers)}, "
                  f"gc1→A {len(a_answers)}"):
        return
    bad = []
    for e in a_answers:
        conns, port = media_of(sdp_of(e))
        if not conns or any(c != HOST for c in conns) or port != s1[1]:
            bad.append(f"{attrs(e).get('status')}: c= {conns} port {port}")
    tap.ok(not bad, f"{label}: every SDP A receives ({len(a_answers)}) names c={HOST} and "
           f"gc1's caller-side relay port {s1[1]} (range {r1})", "\n".join(bad))
    bad = []
    for e in hop_answers:
        conns, port = media_of(sdp_of(e))
        if not conns or any(c != HOST for c in conns) or port != s2[1]:
            bad.append(f"{attrs(e).get('status')}: c= {conns} port {port}")
    tap.ok(not bad, f"{label}: gc1 receives gc2's caller-side relay port {s2[1]} (range {r2})",
           "\n".join(bad))
    b_sdp = sdp_of(b_answers[-1])
    tap.eq(kept_lines(sdp_of(a_answers[-1])), kept_lines(b_sdp),
           f"{label}: every other line of B's answer reaches A as B wrote it")

    stops = {n: [e for e in ev[n] if e.get("kind") == "media-stop"] for n in ctls}
    counters = ("caller_packets_in", "caller_packets_out", "callee_packets_in",
                "callee_packets_out", "caller_dropped", "callee_dropped")
    tap.ok(all(len(s) == 1 and all(re.fullmatch(r"\d+", str(attrs(s[0]).get(k, "")))
                                   for k in counters) for s in stops.values()),
           f"{label}: each controller reports one media-stop with the relay's counters",
           f"{ {n: [attrs(e) for e in s] for n, s in stops.items()} }")
    for n, s in stops.items():
        if s:
            tap.diag(f"{label}: {n} {s[0].get('summary')}")
    # A 3 s call: at least one media-stats report (every 2 s) from each
    # controller while it was up, counting no more than the final one.
    bad = []
    for n in ctls:
        stats = [e for e in ev[n] if e.get("kind") == "media-stats"]
        final = attrs(stops[n][0]) if stops[n] else {}
        if not stats:
            bad.append(f"{n}: none")
        for e in stats:
            a = attrs(e)
            if not all(re.fullmatch(r"\d+", str(a.get(k, ""))) for k in counters) \
                    or any(int(a[k]) > int(final.get(k, -1)) for k in counters):
                bad.append(f"{n}: {a} vs final {final}")
    tap.ok(not bad, f"{label}: each controller reports the relay's counters (media-stats) "
           "during the call, never above the final ones", "\n".join(bad))
    ended = [e for e in ev["gc1"] if e.get("kind") == "call-state"
             and attrs(e).get("state") == "ended"]
    tap.ok(ended and "caller_packets_in" in attrs(ended[0]),
           f"{label}: gc1's call-state 'ended' event carries the counters too",
           f"{ended and attrs(ended[0])}")


def direct_call(h, net):
    """relay=false: the SDP passes unchanged, end to end."""
    tap = h.tap
    label = "relay off"
    net.set_media("gc1", relay="false")
    net.set_media("gc2", relay="false")
    ctls = start_pair(h, net)
    if ctls is None:
        return
    try:
        softphone_call(h, net, label, duration=1)
    finally:
        for c in ctls.values():
            c.stop()
    g1, g2 = ctls["gc1"].events(), ctls["gc2"].events()
    tap.ok(not any(e.get("kind") in ("media-start", "media-stop") for e in g1 + g2),
           f"{label}: no media-start or media-stop events")
    a_offer = sip(g1, "sip-rx", "cta:1001", method="INVITE")
    b_offer = sip(g2, "sip-tx", "cta:2001", method="INVITE")
    b_answers = sip(g2, "sip-rx", "cta:2001", statuses=("180", "183", "200"))
    a_answers = sip(g1, "sip-tx", "cta:1001", statuses=("180", "183", "200"))
    if not tap.ok(a_offer and b_offer and b_answers and a_answers,
                  f"{label}: the SDPs are in the event logs"):
        return
    tap.eq(without_keys(sdp_of(b_offer[0])), without_keys(sdp_of(a_offer[0])),
           f"{label}: B receives A's offer unchanged (but for the key line)")
    tap.eq(without_keys(sdp_of(a_answers[-1])), without_keys(sdp_of(b_answers[-1])),
           f"{label}: A receives B's answer unchanged (but for the key line)")


def forwarding(h, net, ranges):
    """Raw peers whose SDP names the test's sockets: packets cross both relays."""
    tap = h.tap
    label = "forwarding"
    r1, r2 = ranges
    net.set_media("gc1", relay_port_min=r1[0], relay_port_max=r1[1])
    net.set_media("gc2", relay_port_min=r2[0], relay_port_max=r2[1])
    sock_a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock_b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock_a.bind((HOST, 0))
    sock_b.bind((HOST, 0))
    port_b = sock_b.getsockname()[1]
    # FakeCallee answers with port 41000: make it name B's socket instead.
    plain_offer = kc_rawsip.sdp_offer
    kc_rawsip.sdp_offer = lambda port=40000, **kw: plain_offer(
        port_b if port == 41000 else port, **kw)
    ctls = start_pair(h, net)
    if ctls is None:
        return
    result = {}
    try:
        b = FakeCallee(h, net, "2001", net.port("gc2"))
        if not tap.ok(b.reg is not None and b.reg.status == 200,
                      f"{label}: raw B 2001 registers at gc2", b.reg and b.reg.brief()):
            return
        b.serve("answer", timeout=20, answer_after=0.5)
        a = RawPeer(h, net.ca(), net.cert("1001"), net.key("1001"), "1001", net.domain,
                    listen=True)
        conn = a.connect(net.port("gc1"))
        a.register(conn, net.port("gc1"))
        t = threading.Thread(target=lambda: result.update(r=raw_call(
            a, conn, net.port("gc1"), "2001", timeout=20, hangup_after=4,
            body=plain_offer(sock_a.getsockname()[1]))), daemon=True)
        t.start()
        answered = wait_event(ctls["gc1"], lambda e: e.get("kind") == "call-state"
                              and attrs(e).get("state") == "answered", 15)
        s1, s2 = media_start(ctls["gc1"].events()), media_start(ctls["gc2"].events())
        if not tap.ok(answered and s1 and s2, f"{label}: the raw call is answered",
                      f"media-start gc1 {s1}, gc2 {s2}"):
            t.join(25)
            return
        got = {}
        for name, src, dst, to_port, want_from in (
                ("A → gc1 → gc2 → B", sock_a, sock_b, s1[1], s2[2]),
                ("B → gc2 → gc1 → A", sock_b, sock_a, s2[2], s1[1])):
            sent = [bytes([0x80, 111]) + i.to_bytes(2, "big") + os.urandom(8) + b"rtp"
                    for i in range(5)]
            for p in sent:
                src.sendto(p, (HOST, to_port))
            dst.settimeout(2)
            recv, sources = [], set()
            try:
                while len(recv) < len(sent):
                    data, addr = dst.recvfrom(2048)
                    recv.append(data)
                    sources.add(addr)
            except socket.timeout:
                pass
            tap.ok(sorted(recv) == sorted(sent) and sources == {(HOST, want_from)},
                   f"{label}: 5 RTP packets {name}, byte for byte, from the relay's port",
                   f"received {len(recv)} of {len(sent)}, from {sources}, "
                   f"expected from port {want_from}")
            got[name] = len(recv)
        sock_a.sendto(b"not rtp at all", (HOST, s1[1]))
        sock_b.settimeout(0.5)
        try:
            stray = sock_b.recvfrom(2048)[0]
        except socket.timeout:
            stray = None
        tap.ok(stray is None, f"{label}: a packet that is not RTP goes nowhere", repr(stray))
        t.join(25)
        b.join(10)
        r = result.get("r")
        tap.ok(r is not None and r.final is not None and r.final.status == 200
               and r.bye_status == 200, f"{label}: the raw call ends with BYE 200",
               r.summary() if r else "raw_call did not return")
        if r and r.final is not None:
            bodies = [m.body.decode() for m in r.provisional + [r.final] if m.body]
            seen = [media_of(x) for x in bodies]
            tap.ok(seen and all(c and all(x == HOST for x in c) and p == s1[1]
                                for c, p in seen),
                   f"{label}: raw A receives only SDPs naming gc1's relay port {s1[1]}",
                   str(seen))
        conns, port = media_of(b.invite.body.decode()) if b.invite else ([], None)
        tap.ok(conns and all(c == HOST for c in conns) and port == s2[2],
               f"{label}: raw B's INVITE names gc2's relay port {s2[2]}", f"{conns} {port}")
    finally:
        kc_rawsip.sdp_offer = plain_offer
        for c in ctls.values():
            c.stop()
        sock_a.close()
        sock_b.close()
    stop = [e for e in ctls["gc1"].events() if e.get("kind") == "media-stop"]
    a = attrs(stop[0]) if stop else {}
    tap.ok(stop and int(a.get("caller_packets_in", 0)) >= 6
           and int(a.get("callee_packets_out", 0)) >= 5
           and int(a.get("caller_packets_out", 0)) >= 5 and int(a.get("caller_dropped", 0)) >= 1,
           f"{label}: gc1's media-stop counts the packets each way and the dropped one", str(a))


def exhausted(h, net, rng):
    """No free relay port: 503 with a Warning; free ports: calls work again."""
    tap = h.tap
    label = "no free ports"
    net.set_media("gc1", relay_port_min=rng[0], relay_port_max=rng[0] + 3)
    net.set_media("gc2", relay="false")
    squat = []
    for p in range(rng[0], rng[0] + 4):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind((HOST, p))
        except OSError:
            pass
        squat.append(s)
    ctls = start_pair(h, net)
    if ctls is None:
        return
    try:
        b = start_cta(h, net, "2001", answer=True, duration=5, timeout=25)
        b.proc.wait_line(r"^registered 2001 at gc2\b", 10)
        a = start_cta(h, net, "1001", call="2001", duration=1, timeout=20)
        rc = a.proc.wait(25)
        m = a.proc.wait_line(r"^failed (\d{3})", 0)
        tap.ok(rc not in (0, None) and m and m.group(1) == "503",
               f"{label}: A's call fails with 503", a.proc.describe())
        refusal = [e for e in ctls["gc1"].events() if e.get("kind") == "sip-tx"
                   and e.get("peer") == "cta:1001" and attrs(e).get("status") == "503"]
        msg = str(refusal[0].get("msg")) if refusal else ""
        tap.ok(re.search(r"(?m)^Warning: 399 \S+ \".*widen the relay port range", msg),
               f"{label}: the 503 carries a Warning saying to widen the relay port range", msg)
        cdr = store_rows(net.store("gc1"), "SELECT outcome, sip_status, reason FROM cdrs "
                         "ORDER BY ended_at DESC LIMIT 1")
        tap.ok(cdr and cdr[0][:2] == ("failed", 503) and "relay" in (cdr[0][2] or ""),
               f"{label}: gc1's CDR says failed, 503, and why", str(cdr))
        for s in squat:
            s.close()
        squat = []
        a = start_cta(h, net, "1001", call="2001", duration=1, timeout=20)
        rc = a.proc.wait(25)
        tap.ok(rc == 0, f"{label}: once ports are free again the next call works",
               a.proc.describe())
        b.proc.stop()
    finally:
        for s in squat:
            s.close()
        for c in ctls.values():
            c.stop()


def bad_config(h, net):
    """[media] values that stop the controller at start, naming the key."""
    tap = h.tap
    for values, code, what in (
            (dict(relay_port_min=50000, relay_port_max=50002), 2,
             r"\[media\] relay-port-max: .*too small"),
            (dict(relay="perhaps"), 2, r"\[media\] relay: 'perhaps'"),
            (dict(relay_address="192.0.2.1"), 1,
             r"\[media\] relay-address: cannot use 192\.0\.2\.1")):
        net.set_media("gc1", **values)
        r = subprocess.run([CONTROLLER, "--headless", "--config", net.ini("gc1")],
                           capture_output=True, text=True, timeout=20)
        tap.ok(r.returncode == code and re.search(what, r.stderr),
               f"bad config: {values} → exit {code}, naming the key",
               f"exit {r.returncode}\n{r.stderr[-600:]}")
    net.set_media("gc1")


def main():
    h = Harness("anchoring")
    tap = h.tap
    try:
        missing = h.missing_binaries(("admin", "controller", "cta"))
        if missing:
            tap.skip("media anchoring", f"not built: {', '.join(missing)}")
            return
        net = provision(h, ["1001", "2001"])
        if net is None:
            return

        ranges = pick_ranges(3)
        for delivery in ("signaling", "separate"):
            relayed_call(h, net, delivery, ranges[:2])
        direct_call(h, net)
        forwarding(h, net, ranges[:2])
        exhausted(h, net, ranges[2])
        bad_config(h, net)
    except Exception:
        h.crashed()
    finally:
        h.finish()


if __name__ == "__main__":
    main()
