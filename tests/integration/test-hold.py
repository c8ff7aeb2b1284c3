#!/usr/bin/env python3
"""test-hold: hold and resume through two controllers with the media relay
(docs/protocol.md, "Hold and resume").

Two controllers (gc1 serves 1xxx, gc2 serves 2xxx), each relaying media.

Softphones: A 1001 calls B 2001 and, with --hold-after/--hold-for, holds
the call and resumes it. The re-INVITE goes A → gc1 → gc2 → B with
a=sendonly and no key line, each hop's SDP naming the previous
controller's relay port (the same ports as the call's media-start); B
answers a=recvonly. From each softphone's RTP counters (printed when the
hold state changes): B receives (almost) nothing from A while held, A
nothing from B, and after the resume both receive again; the key
fingerprint is the same before, during and after. A second call is hung
up while held: both ends end it normally (200).

Raw A (kc_rawsip.py) calls softphone B: a re-INVITE while B rings gets 500
with Retry-After (the initial INVITE is still in progress); once answered,
a re-INVITE with an a=key-mgmt line is refused 488 by gc1 (and never reaches
B), the same re-INVITE sent by 1002 over its own connection is refused
403, a well-formed hold gets 200 a=recvonly naming gc1's relay port, and
the BYE then ends the call with 200. Prints TAP.
"""

import os
import random
import re
import secrets
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from kc_harness import (HOST, Harness, attrs, provision, sdp_of, start_cta,  # noqa: E402
                        start_pair)
from kc_rawsip import (KM_KEY, ROLE_CALLER, RawPeer, key_ack, km_ack_value,  # noqa: E402
                       km_parse, new_tag, request, response, sdp_key_mgmt, strip_uri)

# A packet or two may be in flight when a hold takes effect (the held end
# stops on the re-INVITE, the holder on its 2xx); a call not held sends
# 50 a second.
IN_FLIGHT_MAX = 10
HOLD_S = 3


def audio_port(sdp):
    m = re.search(r"(?m)^m=audio (\d+) ", sdp or "")
    return int(m.group(1)) if m else None


def media_start(events, last=False):
    """(caller_port, callee_port) of the first (or @last) media-start."""
    for e in reversed(events) if last else events:
        if e.get("kind") == "media-start":
            a = attrs(e)
            return int(a["caller_port"]), int(a["callee_port"])
    return None


def invites(events, kind, peer):
    """INVITE requests (sip-rx/tx) to or from @peer with an SDP, in order."""
    return [e for e in events if e.get("kind") == kind and e.get("peer") == peer
            and attrs(e).get("method") == "INVITE" and "status" not in attrs(e)
            and sdp_of(e)]


def responses(events, kind, peer, status):
    return [e for e in events if e.get("kind") == kind and e.get("peer") == peer
            and str(attrs(e).get("status")) == str(status) and sdp_of(e)]


def hold_lines(cta, what):
    """(rtp-sent, rtp-received, fingerprint) of each '<what> rtp-sent …' line."""
    out = []
    for _, line in cta.proc.find_lines(rf"^{what} rtp-sent "):
        m = re.match(rf"^{what} rtp-sent (\d+) rtp-received (\d+) key-fingerprint (.+)$", line)
        if m:
            out.append((int(m.group(1)), int(m.group(2)), m.group(3).strip()))
    return out


def final_received(cta):
    m = re.search(r"(?m)^media stats sent (\d+) received (\d+) ", cta.proc.text())
    return (int(m.group(1)), int(m.group(2))) if m else None


# --- softphones ---------------------------------------------------------------------

def softphone_hold(h, net, ctls):
    tap = h.tap
    label = "softphones"
    b = start_cta(h, net, "2001", answer=True, duration=30, timeout=40)
    if not b.proc.wait_line(r"^registered 2001 at gc2\b", 10):
        tap.ok(False, f"{label}: B 2001 registers", b.proc.describe())
        b.proc.stop()
        return
    a = start_cta(h, net, "1001", call="2001", duration=9, timeout=30,
                  extra=["--hold-after", "2", "--hold-for", str(HOLD_S)])
    rc_a, rc_b = a.proc.wait(30), b.proc.wait(15)
    tap.ok(rc_a == 0 and rc_b == 0 and re.search(r"(?m)^ended 200\b", a.proc.text())
           and re.search(r"(?m)^ended 200\b", b.proc.text()),
           f"{label}: the call with a hold and a resume is answered and ends normally",
           f"A:\n{a.proc.describe()}\nB:\n{b.proc.describe()}")
    a.proc.stop()
    b.proc.stop()

    a_held, a_resumed = hold_lines(a, "held"), hold_lines(a, "resumed")
    b_held, b_resumed = hold_lines(b, "remote held"), hold_lines(b, "remote resumed")
    if not tap.ok(len(a_held) == 1 and len(a_resumed) == 1 and len(b_held) == 1
                  and len(b_resumed) == 1,
                  f"{label}: A reports held then resumed, B remote held then remote resumed",
                  f"A:\n{a.proc.text()}\nB:\n{b.proc.text()}"):
        return
    b_during = b_resumed[0][1] - b_held[0][1]
    a_during = a_resumed[0][1] - a_held[0][1]
    tap.diag(f"{label}: while held B received {b_during} and A {a_during} RTP packets")
    tap.ok(0 <= b_during <= IN_FLIGHT_MAX,
           f"{label}: B receives no audio from A while held ({HOLD_S} s)",
           f"B received {b_during} RTP packets between 'remote held' and 'remote resumed'")
    tap.ok(0 <= a_during <= IN_FLIGHT_MAX,
           f"{label}: A receives no audio from B while it holds",
           f"A received {a_during} RTP packets between 'held' and 'resumed'")
    a_end, b_end = final_received(a), final_received(b)
    tap.ok(a_end and b_end and b_end[1] - b_resumed[0][1] > 25
           and a_end[1] - a_resumed[0][1] > 25,
           f"{label}: after the resume audio flows both ways again",
           f"A end {a_end} resumed {a_resumed}; B end {b_end} resumed {b_resumed}")
    tap.ok(b_held[0][1] > 25 and a_held[0][1] > 25,
           f"{label}: audio flowed both ways before the hold", f"A {a_held}, B {b_held}")
    fps = {x[2] for x in a_held + a_resumed + b_held + b_resumed}
    word, fp = a.fingerprint()
    tap.ok(len(fps) == 1 and fp is not None and fps == {fp},
           f"{label}: the call key is the same before, during and after the hold (fingerprint)",
           f"fingerprints {fps}, key received {fp}")

    # The re-INVITEs and their answers as the controllers logged them.
    g1, g2 = ctls["gc1"].events(), ctls["gc2"].events()
    s1, s2 = media_start(g1), media_start(g2)
    from_a = invites(g1, "sip-rx", "cta:1001")
    to_b = invites(g2, "sip-tx", "cta:2001")
    hop = invites(g1, "sip-tx", "controller:gc2")
    if not tap.ok(len(from_a) == 3 and len(to_b) == 3 and len(hop) == 3 and s1 and s2,
                  f"{label}: the hold and the resume re-INVITE go A → gc1 → gc2 → B",
                  f"INVITEs A→gc1 {len(from_a)}, gc1→gc2 {len(hop)}, gc2→B {len(to_b)}; "
                  f"media-start {s1} {s2}"):
        return
    hold_b, resume_b = sdp_of(to_b[1]), sdp_of(to_b[2])
    tap.ok("a=sendonly" in hold_b and "a=sendrecv" in resume_b
           and audio_port(hold_b) == s2[1] and audio_port(resume_b) == s2[1]
           and audio_port(sdp_of(hop[1])) == s1[1],
           f"{label}: B gets a=sendonly then a=sendrecv, each naming gc2's relay port "
           "of the call, gc2 gc1's",
           f"hold:\n{hold_b}\nresume:\n{resume_b}\nmedia-start gc1 {s1}, gc2 {s2}")
    reinvite_sdps = [sdp_of(e) for e in from_a[1:] + hop[1:] + to_b[1:]]
    tap.ok(all("a=key-mgmt" not in s and "a=crypto" not in s for s in reinvite_sdps),
           f"{label}: no re-INVITE carries a key line", "\n".join(reinvite_sdps))
    b_ok = responses(g2, "sip-rx", "cta:2001", 200)
    a_ok = responses(g1, "sip-tx", "cta:1001", 200)
    tap.ok(len(b_ok) == 3 and "a=recvonly" in sdp_of(b_ok[1])
           and "a=sendrecv" in sdp_of(b_ok[2]) and len(a_ok) == 3
           and "a=recvonly" in sdp_of(a_ok[1]) and audio_port(sdp_of(a_ok[1])) == s1[0],
           f"{label}: B answers a=recvonly to the hold, a=sendrecv to the resume; A gets "
           "them naming gc1's caller-side relay port",
           f"B 200s {[sdp_of(e) for e in b_ok]}\nA 200s {[sdp_of(e) for e in a_ok]}")


def hangup_while_held(h, net):
    tap = h.tap
    label = "hangup while held"
    b = start_cta(h, net, "2001", answer=True, duration=30, timeout=40)
    if not b.proc.wait_line(r"^registered 2001 at gc2\b", 10):
        tap.ok(False, f"{label}: B 2001 registers", b.proc.describe())
        b.proc.stop()
        return
    a = start_cta(h, net, "1001", call="2001", duration=4, timeout=30,
                  extra=["--hold-after", "1"])
    rc_a, rc_b = a.proc.wait(30), b.proc.wait(15)
    tap.ok(rc_a == 0 and rc_b == 0 and hold_lines(a, "held") and hold_lines(b, "remote held")
           and re.search(r"(?m)^ended 200 local hangup", a.proc.text())
           and re.search(r"(?m)^ended 200 remote hangup", b.proc.text()),
           f"{label}: A hangs up a held call; both ends end it normally",
           f"A:\n{a.proc.describe()}\nB:\n{b.proc.describe()}")
    a.proc.stop()
    b.proc.stop()


# --- raw caller -------------------------------------------------------------------

def hold_sdp(port=40000, direction="sendonly", key_mgmt=None):
    lines = ["v=0", f"o=- 1 2 IN IP4 {HOST}", "s=keycall-test", f"c=IN IP4 {HOST}", "t=0 0"]
    if key_mgmt:
        lines.append(f"a=key-mgmt:{key_mgmt}")
    lines += [f"m=audio {port} RTP/SAVP 111", "a=rtpmap:111 opus/48000/2", f"a={direction}"]
    return ("\r\n".join(lines) + "\r\n").encode()


class RawDialog:
    """Raw A's side of one call: INVITE, key acknowledgment, ACK."""

    def __init__(self, peer, conn, callee):
        self.peer, self.conn = peer, conn
        self.call_id = secrets.token_hex(10) + "@" + HOST
        self.tag = new_tag()
        self.to_tag = None
        self.cseq = 1
        self.target = f"sips:{callee}@{peer.domain}"
        self.common = dict(from_uri=f"sips:{peer.number}@{peer.domain}",
                           to_uri=f"sips:{callee}@{peer.domain}", call_id=self.call_id,
                           via_port=conn.local_port, from_tag=self.tag)
        self.contact = f"sips:{peer.number}@{HOST}:{conn.local_port};transport=tls"
        self.final = None
        self.ringing_response = None

    def request(self, method, body=b"", conn=None, cseq=None, headers=()):
        if cseq is None:
            self.cseq += 1
            cseq = self.cseq
        (conn or self.conn).send(request(method, self.target, cseq=cseq, to_tag=self.to_tag,
                                         contact=self.contact if method == "INVITE" else None,
                                         body=body, headers=list(headers), **self.common))
        return cseq

    def response(self, method, cseq, timeout=10, conn=None):
        def pred(m):
            return (m.is_response and m.get("call-id") == self.call_id
                    and m.cseq_method() == method and m.get("cseq", "").split()[0] == str(cseq)
                    and m.status >= 200)
        return self.peer.expect(pred, timeout, conn or self.conn)

    def call(self, on_ringing=None, timeout=20):
        self.conn.send(request("INVITE", self.target, cseq=1, contact=self.contact,
                               headers=["Supported: 100rel"], body=hold_sdp(40000, "sendrecv"),
                               **self.common))
        deadline = time.monotonic() + timeout
        pracked = set()
        while time.monotonic() < deadline:
            m = self.peer.expect(lambda m: m.is_response and m.get("call-id") == self.call_id
                                 and m.cseq_method() == "INVITE",
                                 max(0.0, deadline - time.monotonic()), self.conn)
            if m is None:
                return None
            self.to_tag = m.tag("to") or self.to_tag
            if m.status >= 200:
                self.final = m
                if m.status < 300:
                    self.target = strip_uri(m.get("contact")) or self.target
                self.conn.send(request("ACK", self.target, cseq=1, to_tag=self.to_tag,
                                       **self.common))
                return m
            rseq = m.get("rseq")
            if m.status == 180 and on_ringing and self.ringing_response is None:
                self.ringing_response = on_ringing(self)
            if "100rel" not in (m.get("require") or "") or not rseq or rseq in pracked:
                continue
            extra = []
            value = sdp_key_mgmt(m.body) or m.get("keycall-key-mgmt")
            km = km_parse(value) if value else None
            if km and km["type"] == KM_KEY:
                mac = key_ack(km["key"], km["key_id"], self.call_id, ROLE_CALLER)
                extra.append("Keycall-Key-Mgmt: " + km_ack_value(km["key_id"], ROLE_CALLER, mac))
            km = None
            pracked.add(rseq)
            self.cseq += 1
            self.conn.send(request("PRACK", strip_uri(m.get("contact")) or self.target,
                                   cseq=self.cseq, to_tag=self.to_tag,
                                   headers=[f"RAck: {rseq} 1 INVITE", *extra], **self.common))
        return None


def raw_caller(h, net, ctls):
    tap = h.tap
    label = "raw caller"
    b = start_cta(h, net, "2001", answer=True, answer_after=2, duration=30, timeout=40)
    if not b.proc.wait_line(r"^registered 2001 at gc2\b", 10):
        tap.ok(False, f"{label}: B 2001 registers", b.proc.describe())
        b.proc.stop()
        return
    try:
        a = RawPeer(h, net.ca(), net.cert("1001"), net.key("1001"), "1001", net.domain)
        conn = a.connect(net.port("gc1"))
        reg = a.register(conn, net.port("gc1"))
        if not tap.ok(reg is not None and reg.status == 200, f"{label}: raw A 1001 registers",
                      reg and reg.brief()):
            return
        d = RawDialog(a, conn, "2001")

        def early_reinvite(dlg):
            cseq = dlg.request("INVITE", hold_sdp())
            return dlg.response("INVITE", cseq, 10)

        final = d.call(on_ringing=early_reinvite)
        early = d.ringing_response
        tap.ok(early is not None and early.status == 500 and early.get("retry-after"),
               f"{label}: a re-INVITE while the call is being set up gets 500 with Retry-After",
               early.brief() if early else "no answer")
        if not tap.ok(final is not None and final.status == 200, f"{label}: B answers",
                      final.brief() if final else b.proc.describe()):
            return
        b_invites_before = len(invites(ctls["gc2"].events(), "sip-tx", "cta:2001"))

        km = "keycall AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA"
        cseq = d.request("INVITE", hold_sdp(key_mgmt=km))
        r = d.response("INVITE", cseq)
        tap.ok(r is not None and r.status == 488,
               f"{label}: a re-INVITE carrying a key line is refused 488",
               r.brief() if r else "no answer")
        time.sleep(0.5)
        tap.eq(len(invites(ctls["gc2"].events(), "sip-tx", "cta:2001")), b_invites_before,
               f"{label}: the re-INVITE with a key never reaches B")

        stranger = RawPeer(h, net.ca(), net.cert("1002"), net.key("1002"), "1002", net.domain)
        sconn = stranger.connect(net.port("gc1"))
        d.cseq += 1
        sconn.send(request("INVITE", d.target, cseq=d.cseq, to_tag=d.to_tag,
                           contact=f"sips:1002@{HOST}:{sconn.local_port};transport=tls",
                           body=hold_sdp(), **dict(d.common, via_port=sconn.local_port)))
        s = stranger.expect(lambda m: m.is_response and m.get("call-id") == d.call_id
                            and m.status >= 200, 10, sconn)
        tap.ok(s is not None and s.status == 403,
               f"{label}: a re-INVITE of A's call sent by 1002 is refused 403",
               s.brief() if s else "no answer")

        cseq = d.request("INVITE", hold_sdp())
        r = d.response("INVITE", cseq)
        s1 = media_start(ctls["gc1"].events(), last=True)
        body = r.body.decode() if r is not None else ""
        tap.ok(r is not None and r.status == 200 and "a=recvonly" in body and s1
               and audio_port(body) == s1[0] and "a=key-mgmt" not in body,
               f"{label}: A's hold gets 200 a=recvonly naming gc1's relay port, no key",
               f"{r.brief() if r else 'no answer'}\n{body}\nmedia-start {s1}")
        if r is not None and r.status == 200:
            conn.send(request("ACK", d.target, cseq=cseq, cseq_method="ACK", to_tag=d.to_tag,
                              **d.common))
        tap.ok(b.proc.wait_line(r"^remote held rtp-sent", 5) is not None,
               f"{label}: B reports the call held by its peer", b.proc.text())

        cseq = d.request("BYE")
        r = d.response("BYE", cseq)
        tap.ok(r is not None and r.status == 200, f"{label}: BYE of the held call gets 200",
               r.brief() if r else "no answer")
        rc = b.proc.wait(15)
        tap.ok(rc == 0 and re.search(r"(?m)^ended 200 remote hangup", b.proc.text()),
               f"{label}: B ends the held call normally", b.proc.describe())
    finally:
        b.proc.stop()


def raw_glare(h, net, ctls):
    """B holds; raw A, before answering B's re-INVITE, sends its own: gc1
    has B's in progress the other way and answers A 491 (glare). A then
    accepts B's hold with a=recvonly and B reports the call held."""
    tap = h.tap
    label = "glare"
    b = start_cta(h, net, "2001", answer=True, duration=30, timeout=40,
                  extra=["--hold-after", "1"])
    if not b.proc.wait_line(r"^registered 2001 at gc2\b", 10):
        tap.ok(False, f"{label}: B 2001 registers", b.proc.describe())
        b.proc.stop()
        return
    try:
        a = RawPeer(h, net.ca(), net.cert("1001"), net.key("1001"), "1001", net.domain,
                    listen=True)
        conn = a.connect(net.port("gc1"))
        a.register(conn, net.port("gc1"), contact=a.contact())
        d = RawDialog(a, conn, "2001")
        d.contact = a.contact()
        final = d.call()
        if not tap.ok(final is not None and final.status == 200, f"{label}: B answers",
                      final.brief() if final else b.proc.describe()):
            return
        theirs = a.expect(lambda m: not m.is_response and m.method == "INVITE"
                          and m.get("call-id") == d.call_id, 10)
        if not tap.ok(theirs is not None and b"a=sendonly" in theirs.body
                      and b"a=key-mgmt" not in theirs.body,
                      f"{label}: B's hold reaches A as a re-INVITE with a=sendonly, no key",
                      theirs.raw.decode("utf-8", "replace") if theirs else b.proc.text()):
            return
        their_conn = a.last_conn
        cseq = d.request("INVITE", hold_sdp())
        r = d.response("INVITE", cseq)
        tap.ok(r is not None and r.status == 491,
               f"{label}: A's re-INVITE while B's is in progress gets 491 Request Pending",
               r.brief() if r else "no answer")
        if r is not None:
            conn.send(request("ACK", d.target, cseq=cseq, cseq_method="ACK", to_tag=d.to_tag,
                              **d.common))
        their_conn.send(response(theirs, 200, "OK", contact=a.contact(),
                                 body=hold_sdp(direction="recvonly")))
        held = b.proc.wait_line(r"^held rtp-sent", 10)
        tap.ok(held is not None and not b.proc.find_lines(r"^hold failed"),
               f"{label}: B's hold then succeeds", b.proc.text())
        cseq = d.request("BYE")
        r = d.response("BYE", cseq)
        tap.ok(r is not None and r.status == 200 and b.proc.wait(15) == 0,
               f"{label}: the held call ends with BYE 200", b.proc.describe())
    finally:
        b.proc.stop()


def main():
    h = Harness("hold")
    tap = h.tap
    try:
        missing = h.missing_binaries(("admin", "controller", "cta"))
        if missing:
            tap.skip("hold and resume", f"not built: {', '.join(missing)}")
            return
        net = provision(h, [("1001", "Alice"), ("1002", "Mallory"), ("2001", "Bob")])
        if net is None:
            return
        base = random.randrange(20000, 31000, 2)
        net.set_media("gc1", relay_port_min=base, relay_port_max=base + 99)
        net.set_media("gc2", relay_port_min=base + 100, relay_port_max=base + 199)
        ctls = start_pair(h, net)
        if ctls is None:
            return
        try:
            softphone_hold(h, net, ctls)
            hangup_while_held(h, net)
            raw_caller(h, net, ctls)
            raw_glare(h, net, ctls)
        finally:
            status = {n: c.stop() for n, c in ctls.items()}
        tap.ok(all(s == 0 for s in status.values()), "controllers stop cleanly", str(status))
    except Exception:
        h.crashed()
    finally:
        h.finish()


if __name__ == "__main__":
    main()
