#!/usr/bin/env python3
"""test-direct-media: the relay preference (docs/configuration.md, "Direct
media"; docs/protocol.md, "Keycall-Media").

A softphone started with --direct-media sends "Keycall-Media: direct" on its
REGISTER and INVITE. Two controllers (gc1 serves 1xxx, gc2 serves 2xxx):

- [media] relay=allow-direct at both, caller and callee ask: neither
  anchors (media-start path=direct at each), each phone receives the other's
  own SDP address and port, and SRTP flows between them with no packet
  rejected;
- the same in delivery mode "separate", with the call held and resumed
  (the re-INVITEs pass unanchored too);
- allow-direct, only the caller asks: gc1 lets its side go, gc2 still
  anchors the callee (B and A both see gc2's relay);
- relay=true (always), both ask: the request is ignored, both anchor;
- one controller, allow-direct: 1002 asking calls 1001 asking -> direct;
  1002 not asking calls 1001 asking -> anchored (every end it serves must ask);
- a tapped call takes the same path as an untapped one: with a future tap on
  1001 (content address given) the call is still direct, the agency gets the
  key and a call record saying "media":"direct", and no content copy.
Prints TAP.
"""

import os
import random
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from kc_harness import (HOST, Harness, attrs, free_port, make_tone, provision,  # noqa: E402
                        sdp_of, start_cta, start_pair, wait_event)
from kc_li import ContentSink, lea_client  # noqa: E402

STATS_RX = re.compile(r"^media stats sent (\d+) received (\d+) rejected-replay (\d+) "
                      r"rejected-auth (\d+) rejected-malformed (\d+)")


# --- helpers ------------------------------------------------------------------------

def media_of(sdp):
    """(the c= addresses, the m=audio port) of @sdp, or None."""
    if not sdp:
        return None
    conns = re.findall(r"(?m)^c=IN IP[46] (\S+?)\r?$", sdp)
    m = re.search(r"(?m)^m=audio (\d+) ", sdp)
    return tuple(conns), int(m.group(1)) if m else None


def sdp_events(events, kind, peer, invite):
    """SDP-carrying sip-rx/sip-tx events to or from @peer: INVITEs, or the
    18x/200 answers."""
    out = []
    for e in events:
        a = attrs(e)
        if e.get("kind") != kind or e.get("peer") != peer or sdp_of(e) is None:
            continue
        if invite and "status" not in a and a.get("method") == "INVITE":
            out.append(e)
        elif not invite and a.get("status") in ("180", "183", "200"):
            out.append(e)
    return out


def paths(events):
    """The media-start paths a controller reported ("relay", "direct")."""
    return [attrs(e).get("path") for e in events if e.get("kind") == "media-start"]


def stats(cta):
    lines = cta.proc.find_lines(r"^media stats ")
    m = STATS_RX.match(lines[-1][1]) if lines else None
    return tuple(int(x) for x in m.groups()) if m else None


class Scenario:
    """Both controllers started with @relay (and port ranges of their own)."""

    def __init__(self, h, net, ranges, relay, delivery=None):
        self.h, self.net = h, net
        for ctl, rng in zip(("gc1", "gc2"), ranges):
            net.set_media(ctl, relay=relay, relay_port_min=rng[0], relay_port_max=rng[1])
        self.ctls = start_pair(h, net, f"relay={relay}", delivery=delivery)

    def stop(self):
        return {n: c.stop() for n, c in (self.ctls or {}).items()}

    def events(self, ctl):
        return self.ctls[ctl].events()


def call(h, net, tones, caller, callee, caller_direct, callee_direct, label, hold=False):
    """@caller calls @callee (tone files in, nothing out); returns (a, b) or None.
    @hold: the caller holds the call and resumes it (re-INVITEs)."""
    tap = h.tap
    b = start_cta(h, net, callee, answer=True, duration=30, timeout=60,
                  extra=["--audio-in", tones[1], "--audio-out", "none"]
                  + (["--direct-media"] if callee_direct else []))
    if not b.proc.wait_line(rf"^registered {callee} at ", 15):
        tap.ok(False, f"{label}: {callee} registers", b.proc.describe())
        b.proc.stop()
        return None
    a = start_cta(h, net, caller, call=callee, duration=4 if hold else 2, timeout=40,
                  extra=["--audio-in", tones[0], "--audio-out", "none"]
                  + (["--direct-media"] if caller_direct else [])
                  + (["--hold-after", "1", "--hold-for", "1"] if hold else []))
    rc_a, rc_b = a.proc.wait(45), b.proc.wait(20)
    sa, sb = stats(a), stats(b)
    tap.ok(rc_a == 0 and rc_b == 0 and sa and sb and sa[1] > 0 and sb[1] > 0
           and sa[3] == 0 and sb[3] == 0,
           f"{label}: the call is answered, SRTP flows both ways (none rejected), both end "
           "cleanly", f"stats A {sa} B {sb}\nA:\n{a.proc.describe()}\nB:\n{b.proc.describe()}")
    if hold:
        tap.ok(a.proc.find_lines(r"^held ") and a.proc.find_lines(r"^resumed "),
               f"{label}: the caller holds and resumes the call", a.proc.describe())
    a.proc.stop()
    b.proc.stop()
    return a, b


# --- scenarios -------------------------------------------------------------------------

def two_controllers(h, net, tones, ranges, relay, caller_direct, callee_direct, label,
                    want_gc1, want_gc2, delivery=None, hold=False):
    """1001 (gc1) calls 2001 (gc2); checks each controller's media-start path
    and where each phone's SDP points. Returns gc1's and gc2's events."""
    tap = h.tap
    sc = Scenario(h, net, ranges, relay, delivery)
    if sc.ctls is None:
        return None
    try:
        if call(h, net, tones, "1001", "2001", caller_direct, callee_direct, label,
                hold) is None:
            return None
        for ctl in ("gc1", "gc2"):
            wait_event(sc.ctls[ctl], lambda e: e.get("kind") == "call-state"
                       and attrs(e).get("state") == "ended", 10)
        g1, g2 = sc.events("gc1"), sc.events("gc2")
    finally:
        sc.stop()

    tap.eq((paths(g1), paths(g2)), ([want_gc1], [want_gc2]),
           f"{label}: gc1 reports media {want_gc1}, gc2 media {want_gc2}")
    reg = [e for e in g2 if e.get("kind") == "register" and e.get("peer") == "cta:2001"]
    tap.ok(reg and (attrs(reg[-1]).get("media") == "direct") == callee_direct,
           f"{label}: gc2's register event {'records' if callee_direct else 'has no'} "
           "direct-media request of 2001", str([attrs(e) for e in reg]))

    a_offer = sdp_events(g1, "sip-rx", "cta:1001", True)
    b_offer = sdp_events(g2, "sip-tx", "cta:2001", True)
    b_answer = sdp_events(g2, "sip-rx", "cta:2001", False)
    a_answer = sdp_events(g1, "sip-tx", "cta:1001", False)
    if not tap.ok(a_offer and b_offer and b_answer and a_answer,
                  f"{label}: the offer's and answer's SDPs are in the event logs",
                  f"{len(a_offer)} {len(b_offer)} {len(b_answer)} {len(a_answer)}"):
        return g1, g2
    a_own, b_own = media_of(sdp_of(a_offer[0])), media_of(sdp_of(b_answer[-1]))
    b_sees, a_sees = media_of(sdp_of(b_offer[0])), media_of(sdp_of(a_answer[-1]))
    direct = want_gc1 == want_gc2 == "direct"
    if direct:
        tap.ok(b_sees == a_own and a_sees == b_own,
               f"{label}: each phone receives the other's own address and port",
               f"A sent {a_own}, B got {b_sees}; B sent {b_own}, A got {a_sees}")
    else:
        tap.ok(b_sees != a_own and a_sees != b_own
               and all(c == HOST for c in b_sees[0] + a_sees[0]),
               f"{label}: each phone receives a relay's port, not the other's",
               f"A sent {a_own}, B got {b_sees}; B sent {b_own}, A got {a_sees}")
    return g1, g2


def one_controller(h, net, tones, ranges):
    """1002 and 1001 both at gc1: direct only when both ask."""
    tap = h.tap
    sc = Scenario(h, net, ranges, "allow-direct")
    if sc.ctls is None:
        return
    try:
        call(h, net, tones, "1002", "1001", True, True, "one controller, both ask")
        wait_event(sc.ctls["gc1"], lambda e: e.get("kind") == "call-state"
                   and attrs(e).get("state") == "ended", 10)
        first = paths(sc.events("gc1"))
        call(h, net, tones, "1002", "1001", False, True, "one controller, only the callee asks")
        wait_event(sc.ctls["gc1"], lambda e: e.get("kind") == "media-start"
                   and attrs(e).get("path") == "relay", 10)
        second = paths(sc.events("gc1"))[len(first):]
    finally:
        sc.stop()
    tap.eq((first, second), (["direct"], ["relay"]),
           "one controller: direct when caller and callee ask, anchored when only one does")


def tapped(h, net, tones, ranges, untapped):
    """The same call as the untapped direct one, with a future tap on 1001."""
    tap = h.tap
    sc = Scenario(h, net, ranges, "allow-direct")
    if sc.ctls is None:
        return
    sink = ContentSink()
    lea = None
    try:
        lea = lea_client(net.dir, "lea1", "gc1")
        ok, _ = lea.request("tap", number="1001", kind="future", content=sink.address)
        if not tap.ok(ok and ok.get("op") == "ok", "tapped: a future tap on 1001 at gc1",
                      str(ok)):
            return
        tap_id = ok.get("tap")
        ab = call(h, net, tones, "1001", "2001", True, True, "tapped, both ask")
        end = lea.wait(lambda m: m.get("op") == "end" and m.get("tap") == tap_id, 15)
        g1 = sc.events("gc1")
        time.sleep(0.5)
    finally:
        if lea is not None:
            lea.close()
        sc.stop()
        sink.close()
    if ab is None:
        return
    tap.eq(paths(g1), paths(untapped),
           "tapped: gc1 takes the same media path as for the untapped call (direct)")
    a_got = media_of(sdp_of(sdp_events(g1, "sip-tx", "cta:1001", False)[-1]))
    a_got_before = media_of(sdp_of(sdp_events(untapped, "sip-tx", "cta:1001", False)[-1]))
    tap.ok(a_got and a_got_before and a_got[0] == a_got_before[0]
           and a_got[1] not in range(ranges[0][0], ranges[1][1] + 1),
           "tapped: A's answer names B's own address as without the tap, no relay port",
           f"tapped {a_got}, untapped {a_got_before}")
    keys = lea.deliveries("key", tap_id)
    rec = lea.deliveries("call", tap_id)
    fp = ab[0].fingerprint()[1]
    tap.ok(len(keys) == 1 and keys[0].get("fingerprint") == fp,
           "tapped: the agency gets the call's key (the fingerprint A printed)",
           f"{keys} A {fp}")
    tap.ok(len(rec) == 1 and rec[0].get("media") == "direct" and end is not None,
           "tapped: the call record says media direct, and the end follows", f"{rec} {end}")
    tap.eq(sink.count(), 0, "tapped: no content copy (the media never passed gc1)")


def main():
    h = Harness("direct-media")
    tap = h.tap
    try:
        missing = h.missing_binaries(("admin", "controller", "cta"))
        if missing:
            tap.skip("direct media", f"not built: {', '.join(missing)}")
            return
        net = provision(h, [("1001", "Alice"), ("1002", "Carol"), ("2001", "Bob")],
                        li_ports={"gc1": free_port()})
        if net is None:
            return
        base = random.randrange(20000, 31000, 2)
        ranges = [(base, base + 99), (base + 100, base + 199)]
        tones = (make_tone(h, 440, 20), make_tone(h, 1000, 20))

        both = two_controllers(h, net, tones, ranges, "allow-direct", True, True,
                               "allow-direct, both ask", "direct", "direct")
        two_controllers(h, net, tones, ranges, "allow-direct", True, False,
                        "allow-direct, only the caller asks", "direct", "relay")
        two_controllers(h, net, tones, ranges, "allow-direct", True, True,
                        "allow-direct, both ask, delivery separate, hold and resume",
                        "direct", "direct", delivery="separate", hold=True)
        two_controllers(h, net, tones, ranges, "true", True, True,
                        "relay=true, both ask", "relay", "relay")
        one_controller(h, net, tones, ranges)
        if both:
            tapped(h, net, tones, ranges, both[0])
    except Exception:
        h.crashed()
    finally:
        h.finish()


if __name__ == "__main__":
    main()
