#!/usr/bin/env python3
"""test-negative: what the controllers refuse, with the status codes of
docs/protocol.md ("Signaling").

An independent SIP peer (Python's ssl module, certificates of the network,
kc_rawsip.py) tries: a certificate from another network's CA, no client
certificate, a softphone certificate posing as a peer controller, a
controller that is nobody's peer, a controller certificate registering,
From spoofing, unknown numbers (404), an unregistered callee (480), a
suspended subscriber and revoked certificates (403, also revoked while the
controller runs), malformed SIP and SDP, an oversized message (413), an
INVITE without 100rel (421), a MESSAGE in signaling mode (405), a caller
imposing its own key (488), key acknowledgments with a wrong MAC (in B's
180 and in A's PRACK: 488), a callee answering without one (488, BYE) and
acknowledgments that never come (504). After each, the controller must
still answer OPTIONS and a fresh REGISTER; at the end a whole call between
raw peers and one between softphones must still work, and a softphone must
refuse INVITEs from anyone but its own controller. Also the command-line
contract (exit 2 on bad options, 1 when it cannot listen, no core dumps).
Prints TAP.
"""

import json
import os
import re
import secrets
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from kc_harness import (CONTROLLER, CTA, HOST, AdminError, Harness, Network,  # noqa: E402
                        StartError, read_events, start_controller, start_cta, unseal_check,
                        wait_event)
from kc_rawsip import (Closed, FakeCallee, RawPeer, fingerprint,  # noqa: E402
                       km_key_value, new_tag, raw_call, request, sdp_offer,
                       tls_attempt)


class Ctx:
    pass


def alive(c, ctl, number):
    """The controller still answers OPTIONS and a fresh REGISTER."""
    port = c.net.port(ctl)
    try:
        peer = RawPeer(c.h, c.net.ca(), c.net.cert(number), c.net.key(number), number)
        conn = peer.connect(port)
        o = peer.options(conn, port)
        r = peer.register(conn, port)
        conn.close()
        ok = o is not None and o.status == 200 and r is not None and r.status == 200
        why = f"OPTIONS: {o and o.brief()}; REGISTER: {r and r.brief()}"
    except Exception as e:
        ok, why = False, f"{type(e).__name__}: {e}"
    alive_proc = c.ctls[ctl].proc.running()
    return c.h.tap.ok(ok and alive_proc, f"  … {ctl} still answers OPTIONS and REGISTER",
                      f"{why}; process running: {alive_proc}\n"
                      + ("" if alive_proc else c.ctls[ctl].proc.describe()))


def expect_status(tap, m, code, desc):
    return tap.ok(m is not None and m.status == code, desc,
                  f"expected {code}, got {m.brief() if m is not None else 'no final response'}")


def status_of(m):
    return m.status if m is not None else None


def raw(c, number, listen=False):
    return RawPeer(c.h, c.net.ca(), c.net.cert(number), c.net.key(number), number,
                   c.net.domain, listen=listen)


def send_invite(c, peer, conn, port, callee, from_user=None, body=None, headers=(),
                extra_raw=b""):
    call_id = secrets.token_hex(8) + "@" + HOST
    msg = request("INVITE", f"sips:{callee}@{c.net.domain}",
                  from_uri=f"sips:{from_user or peer.number}@{c.net.domain}",
                  to_uri=f"sips:{callee}@{c.net.domain}", call_id=call_id, cseq=1,
                  via_port=conn.local_port, from_tag=new_tag(),
                  contact=f"sips:{peer.number}@{HOST}:{conn.local_port};transport=tls",
                  headers=["Supported: 100rel", *headers],
                  body=body if body is not None else sdp_offer())
    conn.send(msg + extra_raw)
    return peer.final_response(call_id, "INVITE", 10, conn)


def ack_failed_events(ctl):
    return [e for e in ctl.events() if e.get("kind") == "key-ack-failed"]


def main():
    h = Harness("negative")
    tap = h.tap
    c = Ctx()
    c.h = h
    c.ctls = {}
    try:
        missing = h.missing_binaries(("admin", "controller"))
        if missing:
            tap.skip("refusals", f"not built: {', '.join(missing)}")
            return
        try:
            net = Network(h)
            net.add_controller("gc1", ["1"])
            net.add_controller("gc2", ["2"])
            net.add_lea("lea1")
            for n, ctl in (("1001", "gc1"), ("1002", "gc1"), ("1003", "gc1"), ("1004", "gc1"),
                           ("1005", "gc1"),
                           ("2001", "gc2")):
                net.add_subscriber(n, ctl)
            net.admin("subscriber", "suspend", "1003")
            subs = json.loads(net.admin("subscriber", "list", "--json"))
            serial_1004 = next(s["cert_serial"] for s in subs if s["number"] == "1004")
            net.admin("revoke-cert", serial_1004)
            other = Network(h, name="Other Net", folder="other")
            other.add_controller("gc1", ["1"])
            other.add_subscriber("1001", "gc1")
        except (AdminError, StopIteration, ValueError) as e:
            tap.ok(False, "provision the test networks", str(e))
            return
        tap.ok(True, "provision the test networks (1003 suspended, 1004's certificate revoked)")
        if not net.check_configs(tap):
            return
        c.net = net
        try:
            # gc3 has a valid controller certificate but is nobody's peer
            net.add_controller("gc3", ["3"])
            for ctl in ("gc1", "gc2"):
                with open(net.ini(ctl)) as f:
                    text = f.read()
                text = re.sub(r"(?ms)^\[peer gc3\]\n.*?(?=^\[|\Z)", "", text)
                with open(net.ini(ctl), "w") as f:
                    f.write(text)
        except AdminError as e:
            tap.ok(False, "add controller gc3 (no one's peer)", str(e))
            return

        # --- the command line contract ------------------------------------------
        for args, what, words in (
                (["--key-mode", "bogus"], "an unknown --key-mode", "key-mode"),
                (["--delivery", "bogus"], "an unknown --delivery", "delivery"),
                (["--ack-timeout", "soon"], "a malformed --ack-timeout", "ack-timeout")):
            r = subprocess.run([CONTROLLER, "--headless", "--config", net.ini("gc1"), *args],
                               capture_output=True, text=True, timeout=20)
            lines = r.stderr.strip().splitlines()
            tap.ok(r.returncode == 2 and len(lines) == 1 and words in lines[0],
                   f"controller with {what}: exit 2, one line naming {words}",
                   f"exit {r.returncode}; stderr: {r.stderr[-500:]}")
        missing_ini = h.path("no-such", "controller.ini")
        r = subprocess.run([CONTROLLER, "--headless", "--config", missing_ini],
                           capture_output=True, text=True, timeout=20)
        tap.ok(r.returncode == 2 and missing_ini in r.stderr,
               "controller with a missing config: exit 2, naming the file",
               f"exit {r.returncode}; stderr: {r.stderr[-500:]}")
        env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
        r = subprocess.run([CONTROLLER, "--config", net.ini("gc1")], capture_output=True,
                           text=True, timeout=20, env=env)
        tap.ok(r.returncode == 2 and "--headless" in r.stderr,
               "controller without --headless and without a display: exit 2, saying --headless",
               f"exit {r.returncode}; stderr: {r.stderr[-500:]}")
        # keycall links GTK and libadwaita: their exit-time destructors once
        # turned every exit status into an abort (134).
        for args, what, words in (
                (["--headless"], "no --profile", "--profile"),
                (["--headless", "--profile", net.profile("1001"), "--nonsense"],
                 "an unknown option", "nonsense"),
                (["--headless", "--profile", net.profile("1001"), "tel:1002"],
                 "a stray argument", "tel:1002")):
            r = subprocess.run([CTA, *args], capture_output=True, text=True, timeout=20)
            tap.ok(r.returncode == 2 and words in r.stderr,
                   f"keycall with {what}: exit 2, naming {words}",
                   f"exit {r.returncode}; stderr: {r.stderr[-500:]}")

        # --- gc2 alone: a softphone certificate posing as controller gc1 ---------
        try:
            c.ctls["gc2"] = start_controller(h, net, "gc2", key_mode="random", ack_timeout=2)
        except StartError as e:
            tap.ok(False, "gc2 starts and prints 'listening'", e.proc.describe())
            return
        p2 = net.port("gc2")
        with open(f"/proc/{c.ctls['gc2'].proc.pid}/limits") as f:
            core = [l for l in f if l.startswith("Max core file size")]
        tap.ok(core and core[0].split()[4:6] == ["0", "0"],
               "the controller refuses core dumps (RLIMIT_CORE 0)", f"{core}")
        dup = h.start("gc2-again", [CONTROLLER, "--headless", "--config", net.ini("gc2"),
                                    "--events", h.path("dup-events.jsonl")])
        rc = dup.wait(15)
        tap.ok(rc == 1 and not dup.find_lines("^listening"),
               "a second controller on the same port exits 1 (cannot listen)", dup.describe())
        dup.stop()
        p = raw(c, "2001")
        conn = p.connect(p2)
        t0 = time.monotonic()
        r = send_invite(c, p, conn, p2, "1001")
        tap.ok(status_of(r) == 503 and time.monotonic() - t0 < 5,
               "a call to 1001 while peer gc1 is down fails fast with 503",
               f"got {r and r.brief()} after {time.monotonic() - t0:.1f} s")
        conn.close()
        fake = raw(c, "1001")
        conn = fake.connect(p2)
        o = fake.options(conn, p2, from_user="gc1")
        expect_status(tap, o, 200, "OPTIONS from 1001's certificate with From gc1 → 200 "
                      "(CTAs may send OPTIONS)")
        time.sleep(1.5)
        up = [e for e in c.ctls["gc2"].events()
              if e.get("fig3") == 310 and e.get("kind") == "tls-up"
              and "gc1" in str(e.get("peer"))]
        tap.ok(not up, "… and gc2 does not take it for peer gc1 (gc1 is not running)",
               f"events: {up[:3]}")
        b = FakeCallee(h, net, "2001", p2)
        expect_status(tap, b.reg, 200, "raw B 2001 registers at gc2 with its listening Contact")
        b.serve("answer", timeout=6)
        forged_key = km_key_value(secrets.token_bytes(16), secrets.token_bytes(32))
        r = send_invite(c, fake, conn, p2, "2001", from_user="gc1",
                        body=sdp_offer(key_mgmt=forged_key),
                        headers=[f"P-Asserted-Identity: <sips:1001@{net.domain}>",
                                 f"Keycall-Call: {secrets.token_hex(8)}@{HOST}"])
        expect_status(tap, r, 403, "INVITE with a key (a 318) from a softphone certificate → 403")
        r = send_invite(c, fake, conn, p2, "2001",
                        body=sdp_offer(key_mgmt=forged_key),
                        headers=[f"P-Asserted-Identity: <sips:1001@{net.domain}>",
                                 f"Keycall-Call: {secrets.token_hex(8)}@{HOST}"])
        tap.ok(r is not None and r.status in (403, 404),
               "the same with From 1001 (not gc2's subscriber; a softphone cannot bring a key) "
               "→ 403 or 404 (as REGISTER: 'No subscriber')",
               f"got {r and r.brief()}")
        b.join(8)
        tap.ok(b.invite is None, "… and B never receives either",
               f"B got {b.invite and b.invite.start}")
        conn.close()
        alive(c, "gc2", "2001")

        # --- both controllers --------------------------------------------------
        try:
            c.ctls["gc1"] = start_controller(h, net, "gc1", key_mode="random", ack_timeout=2)
        except StartError as e:
            tap.ok(False, "gc1 starts and prints 'listening'", e.proc.describe())
            return
        p1 = net.port("gc1")
        ev = wait_event(c.ctls["gc1"], lambda e: e.get("kind") == "tls-up"
                        and e.get("peer") == "controller:gc2", 8)
        tap.ok(ev is not None, "gc1 and gc2 peer (310)")
        ev = wait_event(c.ctls["gc2"], lambda e: e.get("kind") == "tls-up"
                        and e.get("peer") == "controller:gc1", 8)
        tap.ok(ev is not None, "gc2 finds gc1 up once it starts (keepalive retries)")

        # TLS identity
        kind, why = tls_attempt(p1, net.ca(), other.cert("1001"), other.key("1001"),
                                payload=b"OPTIONS sips:x SIP/2.0\r\n\r\n")
        tap.eq(kind, "refused", "a certificate from another network's CA is refused in TLS")
        tap.diag(f"  ({why if isinstance(why, str) else why[:80]})")
        alive(c, "gc1", "1001")
        kind, why = tls_attempt(p1, net.ca(), payload=b"OPTIONS sips:x SIP/2.0\r\n\r\n")
        tap.eq(kind, "refused", "a connection without a client certificate is refused")
        alive(c, "gc1", "1001")
        options = request("OPTIONS", f"sips:{HOST}:{p1}", from_uri=f"sips:1001@{net.domain}",
                          to_uri=f"sips:{HOST}:{p1}", call_id=secrets.token_hex(8), cseq=1,
                          via_port=5061, from_tag=new_tag())
        kind, why = tls_attempt(p1, net.ca(), net.cert("1001"), net.key("1001"),
                                payload=options, tls12=True)
        tap.eq(kind, "refused", "a client offering only TLS 1.2 is refused, valid certificate "
               "or not")
        tap.diag(f"  ({why if isinstance(why, str) else why[:60]})")
        kind, why = tls_attempt(p1, net.ca(), net.cert("1001"), net.key("1001"), payload=options)
        tap.ok(kind == "answer" and why.startswith(b"SIP/2.0 200"),
               "… while the same OPTIONS over TLS 1.3 gets 200 (control)", f"{kind}: {why!r:.80}")

        # a controller certificate that is no one's peer
        gc3 = RawPeer(h, net.ca(), net.ctl_file("gc3", "cert.pem"), net.ctl_file("gc3", "key.pem"),
                      "gc3", net.domain)
        conn = gc3.connect(p1)
        r = send_invite(c, gc3, conn, p1, "1001", from_user="1001",
                        body=sdp_offer(key_mgmt=km_key_value(secrets.token_bytes(16),
                                                             secrets.token_bytes(32))),
                        headers=[f"P-Asserted-Identity: <sips:3001@{net.domain}>",
                                 f"Keycall-Call: {secrets.token_hex(8)}@{HOST}"])
        expect_status(tap, r, 403, "INVITE with a key from controller gc3, no one's peer → 403")
        tap.diag(f"  ({r and r.brief()})")
        conn.close()
        alive(c, "gc1", "1001")

        # controller certificate registering
        ctl_peer = RawPeer(h, net.ca(), net.ctl_file("gc2", "cert.pem"),
                           net.ctl_file("gc2", "key.pem"), "1001", net.domain)
        conn = ctl_peer.connect(p1)
        r = ctl_peer.register(conn, p1)
        expect_status(tap, r, 403, "REGISTER from a controller certificate → 403")
        tap.diag(f"  ({r and r.brief()})")
        conn.close()
        alive(c, "gc1", "1001")

        # identity checks on REGISTER and INVITE
        a = raw(c, "1001")
        conn = a.connect(p1)
        r = a.register(conn, p1, to_user="1002")
        expect_status(tap, r, 403, "REGISTER To 1002 with 1001's certificate → 403")
        r = a.register(conn, p1)
        expect_status(tap, r, 200, "REGISTER 1001 with 1001's certificate → 200")
        r = send_invite(c, a, conn, p1, "2001", from_user="1002")
        expect_status(tap, r, 403, "INVITE From 1002 with 1001's certificate → 403")
        tap.diag(f"  ({r and r.brief()})")
        r = send_invite(c, a, conn, p1, "1999")
        expect_status(tap, r, 404, "INVITE to 1999 (gc1's prefix, no subscriber) → 404")
        r = send_invite(c, a, conn, p1, "9999")
        expect_status(tap, r, 404, "INVITE to 9999 (no controller serves it) → 404")
        r = send_invite(c, a, conn, p1, "1002")
        expect_status(tap, r, 480, "INVITE to 1002 (exists, not registered) → 480")
        conn.close()
        alive(c, "gc1", "1001")

        for number, what in (("1003", "suspended subscriber"),
                             ("1004", "revoked certificate")):
            p = raw(c, number)
            try:
                conn = p.connect(p1)
                r = p.register(conn, p1)
                expect_status(tap, r, 403, f"REGISTER by a {what} ({number}) → 403")
                tap.diag(f"  ({r and r.brief()})")
                r = send_invite(c, p, conn, p1, "2001")
                expect_status(tap, r, 403, f"INVITE by a {what} ({number}) → 403")
                conn.close()
            except (OSError, Closed) as e:
                if number == "1004":
                    tap.ok(True, f"a {what} ({number}) is refused at TLS ({e})")
                else:
                    tap.ok(False, f"a {what} ({number}) gets 403", str(e))
            alive(c, "gc1", "1001")

        # a certificate revoked while the controller runs (crl.pem is re-read)
        p5 = raw(c, "1005")
        conn = p5.connect(p1)
        expect_status(tap, p5.register(conn, p1), 200, "1005 registers before its revocation")
        conn.close()
        subs = json.loads(net.admin("subscriber", "list", "--json"))
        net.admin("revoke-cert", next(s["cert_serial"] for s in subs if s["number"] == "1005"))
        deadline = time.monotonic() + 5
        r, why = None, ""
        while time.monotonic() < deadline:
            try:
                conn = p5.connect(p1)
                r = p5.register(conn, p1)
                conn.close()
                if r is not None and r.status == 403:
                    break
            except (OSError, Closed) as e:
                why = f"refused at TLS: {e}"
                break
            time.sleep(0.5)
        tap.ok((r is not None and r.status == 403) or why,
               "… and gets 403 once revoke-cert updates the CRL, without a restart",
               f"last answer {r and r.brief()} {why}")
        tap.diag(f"  ({r.brief() if r else why})")
        alive(c, "gc1", "1001")

        # malformed SIP and SDP, oversized messages
        b = FakeCallee(h, net, "2001", p2)
        b.serve("answer", timeout=15)
        a = raw(c, "1001")
        conn = a.connect(p1)
        conn.send(b"THIS IS NOT SIP AT ALL\r\n\r\n")
        m = a.expect(lambda m: True, 2, conn) if not conn.closed else None
        tap.ok(m is None or (m.is_response and m.status == 400),
               "garbage bytes get a 400 or nothing", f"got {m and m.brief()}")
        tap.diag(f"  (answer to garbage: {m.brief() if m else 'none'}; closed: {conn.closed})")
        alive(c, "gc1", "1001")
        conn = a.connect(p1)
        conn.send(b"INVITE sips:2001@keycall.test SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:1;"
                  b"branch=z9hG4bKx1\r\nFrom: <sips:1001@keycall.test>;tag=1\r\nTo: "
                  b"<sips:2001@keycall.test>\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n")
        try:
            m = a.expect(lambda m: m.is_response, 3, conn)
        except Closed:
            m = None
        tap.ok(m is None or m.status == 400, "INVITE without Call-ID gets a 400 or nothing",
               f"got {m and m.brief()}")
        tap.diag(f"  (answer without Call-ID: {m.brief() if m else 'none'}; closed: {conn.closed})")
        alive(c, "gc1", "1001")
        conn = a.connect(p1)
        r = send_invite(c, a, conn, p1, "2001", body=b"this is not SDP\r\nat all\r\n")
        expect_status(tap, r, 488, "INVITE with malformed SDP → 488 with the parser's reason")
        tap.diag(f"  ({r and r.brief()})")
        # An m= line on which Debian's sofia-sip 1.12.11 sdp_parse() would
        # allocate forever: screened, refused, and the controller lives on.
        r = send_invite(c, a, conn, p1, "2001", body=sdp_offer() + b"m=video 1 X 3//1\r\n")
        expect_status(tap, r, 488, "INVITE with an SDP line that hangs sofia's parser → 488")
        tap.diag(f"  ({r and r.brief()})")
        alive(c, "gc1", "1001")
        conn = a.connect(p1)
        r = send_invite(c, a, conn, p1, "2001",
                        body=sdp_offer(key_mgmt="keycall AQEAAQ==") + b"a=key-mgmt:keycall x\r\n")
        expect_status(tap, r, 488, "INVITE with a malformed and doubled key-mgmt line → 488")
        tap.diag(f"  ({r and r.brief()})")
        alive(c, "gc1", "1001")
        conn = a.connect(p1)
        try:
            r = send_invite(c, a, conn, p1, "2001", body=sdp_offer() + b"a=x:" + b"y" * 200000
                            + b"\r\n")
        except (OSError, Closed):
            r = None
        expect_status(tap, r, 413, "a 200 KB INVITE gets 413 (messages over 64 KiB)")
        tap.diag(f"  (answer to the 200 KB INVITE: {r.brief() if r else 'none'}; "
                 f"connection closed: {conn.closed})")
        alive(c, "gc1", "1001")
        time.sleep(0.5)
        tap.ok(b.invite is None, "none of the malformed INVITEs reached B",
               f"B got {b.invite and b.invite.start}")
        b.join(1)

        # an INVITE without Supported: 100rel cannot carry the key exchange
        conn = a.connect(p1)
        call_id = secrets.token_hex(8) + "@" + HOST
        conn.send(request("INVITE", f"sips:2001@{net.domain}", from_uri=f"sips:1001@{net.domain}",
                          to_uri=f"sips:2001@{net.domain}", call_id=call_id, cseq=1,
                          via_port=conn.local_port, from_tag=new_tag(), body=sdp_offer(),
                          contact=f"sips:1001@{HOST}:{conn.local_port};transport=tls"))
        r = a.final_response(call_id, "INVITE", 10, conn)
        tap.ok(r is not None and r.status == 421 and "100rel" in (r.get("require") or ""),
               "INVITE without Supported: 100rel → 421 with Require: 100rel",
               f"got {r and r.brief()}, Require {r and r.get('require')}")
        # MESSAGE belongs to delivery mode separate only
        call_id = secrets.token_hex(8) + "@" + HOST
        conn.send(request("MESSAGE", f"sips:2001@{net.domain}", from_uri=f"sips:1001@{net.domain}",
                          to_uri=f"sips:2001@{net.domain}", call_id=call_id, cseq=1,
                          via_port=conn.local_port, from_tag=new_tag(),
                          headers=[f"Keycall-Call: {call_id}"]))
        r = a.final_response(call_id, "MESSAGE", 10, conn)
        expect_status(tap, r, 405, "MESSAGE to a controller in delivery mode signaling → 405")
        conn.close()
        alive(c, "gc1", "1001")

        # a caller imposing its own key
        b = FakeCallee(h, net, "2001", p2)
        b.serve("answer", timeout=15)
        a = raw(c, "1001", listen=True)
        conn = a.connect(p1)
        a.register(conn, p1)
        imposed = secrets.token_bytes(32)
        res = raw_call(a, conn, p1, "2001", sdp_km=km_key_value(secrets.token_bytes(16), imposed),
                       timeout=15)
        b.join(15)
        reached = b.km is not None and "key" in b.km
        tap.ok(not reached or b.km["key"] != imposed,
               "a key the caller puts in its INVITE never reaches B", res.summary())
        expect_status(tap, res.final, 488, "… the INVITE is refused with 488 (316: no key)")
        tap.diag(f"  (caller got {res.final and res.final.brief()})")
        alive(c, "gc1", "1001")

        # a busy callee's status is relayed
        b = FakeCallee(h, net, "2001", p2)
        b.serve("reject", timeout=10)
        res = raw_call(a, conn, p1, "2001", timeout=10)
        b.join(10)
        expect_status(tap, res.final, 486, "B answers 486: the caller gets 486")

        # the caller cancels while B rings
        b = FakeCallee(h, net, "2001", p2)
        b.serve("answer", timeout=12, answer_after=8)
        res = raw_call(a, conn, p1, "2001", timeout=12, cancel=True)
        b.join(12)
        tap.ok(res.cancel_sent and res.cancel_response is not None
               and res.cancel_response.status == 200 and status_of(res.final) == 487,
               "A cancels after acknowledging the key: CANCEL 200, INVITE 487",
               f"{res.summary()}; CANCEL answer "
               f"{res.cancel_response and res.cancel_response.brief()}")
        tap.ok(b.cancelled, "… and the CANCEL reaches B", f"B: cancelled {b.cancelled}")

        # forged acknowledgments
        b = FakeCallee(h, net, "2001", p2)
        b.serve("forge", timeout=15)
        res = raw_call(a, conn, p1, "2001", timeout=15)
        b.join(15)
        tap.ok(b.invite is not None and b.km is not None and "key" in b.km,
               "B receives the INVITE with the key (320)",
               f"B: {b.log}; invite {b.invite and b.invite.start}")
        if b.km is not None and "key" in b.km:
            # the LEA-side search tool must find a key where there is one
            probe = h.path("probe-key.bin")
            with open(os.open(probe, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as f:
                f.write(b"xx" + b.km["key"] + b"yy")
            rc, fps, files, out = unseal_check(net, "gc1", search=[probe])
            tap.ok(rc == 3 and files.get(probe) == "raw",
                   "kc-unseal-check opens gc1's store and finds a key where one is (control)",
                   out)
            os.unlink(probe)
        expect_status(tap, res.final, 488, "B's 180 with a wrong MAC → 488 to the caller")
        tap.ok(b.cancelled or b.bye, "… and the controller ends B's leg (CANCEL or BYE)",
               f"B: cancelled {b.cancelled}, bye {b.bye}")
        tap.ok(ack_failed_events(c.ctls["gc2"]), "… and gc2 reports key-ack-failed")
        alive(c, "gc2", "2001")
        alive(c, "gc1", "1001")

        b = FakeCallee(h, net, "2001", p2)
        b.serve("answer", timeout=15, answer_after=3)
        before = len(ack_failed_events(c.ctls["gc1"]))
        res = raw_call(a, conn, p1, "2001", ack="forge", timeout=15)
        b.join(15)
        tap.ok(1 in res.km_types, "A receives the key in a reliable provisional (326)",
               res.summary())
        tap.ok(res.prack_responses and res.prack_responses[0].status == 488,
               "A's PRACK with a wrong MAC is itself answered 488", res.summary())
        expect_status(tap, res.final, 488, "… and the call fails with 488 to A")
        tap.ok(b.cancelled or b.bye, "… and the controller ends B's leg",
               f"B: cancelled {b.cancelled}, bye {b.bye}")
        tap.ok(len(ack_failed_events(c.ctls["gc1"])) > before, "… and gc1 reports key-ack-failed")
        alive(c, "gc1", "1001")

        # a callee that answers without ever acknowledging the key
        b = FakeCallee(h, net, "2001", p2)
        b.serve("answer-noack", timeout=15)
        res = raw_call(a, conn, p1, "2001", timeout=15)
        b.join(15)
        expect_status(tap, res.final, 488, "B answers 200 without acknowledging the key → 488")
        tap.ok(b.bye, "… and the controller sends B a BYE", f"B: bye {b.bye}, acked {b.acked}")
        alive(c, "gc1", "1001")

        # acknowledgments that never come
        b = FakeCallee(h, net, "2001", p2)
        b.serve("silent", timeout=15)
        t0 = time.monotonic()
        res = raw_call(a, conn, p1, "2001", timeout=15)
        took = time.monotonic() - t0
        b.join(15)
        tap.ok(res.final is not None and res.final.status == 504 and took < 10,
               "B never acknowledges: the call fails with 504 after ack-timeout (+2 s at gc1)",
               f"{res.summary()}; took {took:.1f} s")
        tap.ok(b.cancelled or b.bye, "… and the controller ends B's leg",
               f"B: cancelled {b.cancelled}")
        b = FakeCallee(h, net, "2001", p2)
        b.serve("answer", timeout=15, answer_after=5)
        t0 = time.monotonic()
        res = raw_call(a, conn, p1, "2001", ack="none", timeout=15)
        took = time.monotonic() - t0
        b.join(15)
        tap.ok(res.final is not None and res.final.status == 504 and took < 10,
               "A never acknowledges: the call fails with 504 after ack-timeout",
               f"{res.summary()}; took {took:.1f} s")
        tap.ok(b.cancelled or b.bye, "… and the controller ends B's leg",
               f"B: cancelled {b.cancelled}, bye {b.bye}")
        alive(c, "gc1", "1001")

        # and a normal call still works end to end between raw peers
        b = FakeCallee(h, net, "2001", p2)
        b.serve("answer", timeout=20, answer_after=1)
        res = raw_call(a, conn, p1, "2001", timeout=20)
        b.join(20)
        expect_status(tap, res.final, 200, "afterwards a raw call 1001 → 2001 is answered (200)")
        tap.ok(res.prack_responses and res.prack_responses[0].status == 200,
               "… A's PRACK with the right acknowledgment gets 200", res.summary())
        tap.eq(res.bye_status, 200, "… and hangs up with BYE 200")
        fp_b = None
        if b.km and "key" in b.km:
            fp_b = fingerprint(b.km["key"])
        tap.ok(res.fingerprint and res.fingerprint == fp_b,
               "… both raw ends hold the same key (fingerprints)",
               f"A {res.fingerprint}, B {fp_b}")
        try:
            b.peer.register(b.conn, p2, expires=0)     # leave 2001 to the softphone
            a.register(conn, p1, expires=0)
        except (OSError, Closed):
            pass
        conn.close()

        # a real softphone call as the last word, when the softphone is built
        if h.missing_binaries(("cta",)):
            tap.skip("a softphone call after all this", "keycall not built")
        else:
            bb = start_cta(h, net, "2001", answer=True, duration=10, timeout=40)
            bb.proc.wait_line(r"^registered 2001", 10)
            # The softphone accepts connections from its own controller only:
            # another controller's or a softphone's certificate must not get
            # a key to it (spec: TPTAG_TLS_VERIFY_SUBJECTS).
            for who, cert, key in (
                    ("controller gc1 (not 2001's controller)", net.ctl_file("gc1", "cert.pem"),
                     net.ctl_file("gc1", "key.pem")),
                    ("softphone 1001", net.cert("1001"), net.key("1001"))):
                intruder = RawPeer(h, net.ca(), cert, key, "1001", net.domain)
                answer = None
                how = "answered nothing"
                try:
                    iconn = intruder.connect(bb.port)
                    answer = send_invite(c, intruder, iconn, bb.port, "2001",
                                         body=sdp_offer(key_mgmt=km_key_value(
                                             secrets.token_bytes(16), secrets.token_bytes(32))),
                                         headers=[f"Keycall-Call: {secrets.token_hex(8)}@{HOST}"])
                    iconn.close()
                except (OSError, Closed) as e:
                    how = f"refused: {e}"
                took_call = bb.proc.wait_line(r"^(incoming call|key received)", 1)
                tap.ok((answer is None or answer.status >= 300) and not took_call,
                       f"softphone 2001 takes no INVITE with a key from {who}",
                       f"answer {answer and answer.brief()}; B printed "
                       f"{took_call and took_call.group(0)}")
                tap.diag(f"  ({answer.brief() if answer else how})")
            aa = start_cta(h, net, "1001", call="2001", duration=1, timeout=25)
            rc = aa.proc.wait(30)
            bb.proc.wait(10)
            tap.ok(rc == 0, "a softphone call 1001 → 2001 completes afterwards",
                   aa.proc.describe())
            aa.proc.stop()
            bb.proc.stop()

        for name, ctl in c.ctls.items():
            tap.ok(ctl.proc.running(), f"{name} is still running after all of it",
                   ctl.proc.describe())
            events, errors = read_events(ctl.events_path)
            tap.ok(not errors, f"{name}'s event log stays valid JSON lines", f"{errors[:3]}")
    except Exception:
        h.crashed()
    finally:
        h.finish()


if __name__ == "__main__":
    main()
