#!/usr/bin/env python3
"""test-interop: the controller against SIP tools it was not written with.

- sipsak 0.9.8 (GnuTLS): over TLS directly it sends no client certificate
  (its --tls-client-cert is parsed but never loaded), so the controller must
  refuse it; through stunnel4 holding 1001's certificate it sends OPTIONS
  (200), REGISTER 1001 (200) and REGISTER 1002 (403). Its own messages say
  "Via: SIP/2.0/TCP", which sofia drops on a TLS connection, so it sends
  ours (-f FILE --no-via).
- sipp (Debian's, built without TLS) through stunnel4 holding 1001's
  certificate: OPTIONS (200), REGISTER 1001 (200), REGISTER 1002 (403, the
  certificate is 1001's), and an INVITE to 2001 that never acknowledges the
  key: the controller must end it cleanly within its ack-timeout (2 s) with
  504, end B's leg, and write a CDR with outcome "failed". B is a raw
  callee (kc_harness.FakeCallee) that acknowledges correctly.
Prints TAP; a missing tool is a SKIP with the reason.
"""

import os
import re
import secrets
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from kc_harness import (HOST, Harness, StartError, free_port, provision,  # noqa: E402
                        start_controller, store_rows, wait_event, wait_port)
from kc_rawsip import FakeCallee  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def start_stunnel(h, net, number, target_port):
    """stunnel4 in client mode: plain TCP on a local port, TLS 1.3 with
    @number's certificate toward the controller. Returns (proc, port)."""
    port = free_port()
    conf = h.path(h.unique("stunnel") + ".conf")
    with open(conf, "w") as f:
        f.write(f"""foreground = yes
pid =
debug = 4
[sip]
client = yes
accept = {HOST}:{port}
connect = {HOST}:{target_port}
cert = {net.cert(number)}
key = {net.key(number)}
CAfile = {net.ca()}
verifyChain = yes
sslVersionMin = TLSv1.3
""")
    binary = shutil.which("stunnel4") or shutil.which("stunnel")
    proc = h.start("stunnel", [binary, conf])
    if not wait_port(port, 10):
        return proc, None
    return proc, port


def sipp(h, scenario, target_port, service, timeout=20):
    """Runs sipp once over TCP; returns (exit status, stdout tail)."""
    local = free_port()
    argv = ["sipp", "-sf", scenario, "-t", "t1", "-m", "1", "-nostdin", "-timeout",
            f"{timeout}s", "-timeout_error", "-i", HOST, "-p", str(local), "-s", service,
            f"{HOST}:{target_port}"]
    proc = h.start("sipp", argv)
    rc = proc.wait(timeout + 10)
    if rc is None:
        proc.stop()
    text = proc.text()
    # the last statistics screen: the lines with the message counts
    tail = "\n".join(l for l in text.splitlines()[-40:] if l.strip())
    return rc, tail, proc


def sipsak(h, args, timeout=15):
    argv = ["sipsak", "-vv", *args]
    proc = h.start("sipsak", argv)
    rc = proc.wait(timeout)
    if rc is None:
        proc.stop()
    return rc, proc.text() + proc.stderr(), proc


def sipsak_message(h, method, user):
    """A request for sipsak -f: its own Via says TLS, as the connection is."""
    path = h.path(h.unique(f"sipsak-{method}") + ".sip")
    to = f"sips:{user}@keycall.test" if method == "REGISTER" else "sips:keycall.test"
    with open(path, "w") as f:
        f.write(f"{method} sips:keycall.test SIP/2.0\r\n"
                f"Via: SIP/2.0/TLS {HOST}:5061;branch=z9hG4bK{secrets.token_hex(8)};rport\r\n"
                f"From: <sips:{user}@keycall.test>;tag={secrets.token_hex(4)}\r\n"
                f"To: <{to}>\r\n"
                f"Call-ID: {secrets.token_hex(8)}@{HOST}\r\n"
                f"CSeq: 1 {method}\r\n"
                f"Contact: <sips:{user}@{HOST}:{free_port()};transport=tls>\r\n"
                "Expires: 600\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
    return path


def register_scenario(h, expect):
    with open(os.path.join(HERE, "sipp-register.xml")) as f:
        text = f.read().replace("[expect]", str(expect))
    path = h.path(f"sipp-register-{expect}.xml")
    with open(path, "w") as f:
        f.write(text)
    return path


def main():
    h = Harness("interop")
    tap = h.tap
    try:
        missing = h.missing_binaries(("admin", "controller"))
        if missing:
            tap.skip("interop", f"not built: {', '.join(missing)}")
            return
        have = {t: shutil.which(t) is not None for t in ("sipsak", "sipp")}
        have["stunnel"] = bool(shutil.which("stunnel4") or shutil.which("stunnel"))
        net = provision(h, ["1001", "1002", "2001"], check_configs=True)
        if net is None:
            return
        try:
            gc1 = start_controller(h, net, "gc1", key_mode="random", ack_timeout=2)
            gc2 = start_controller(h, net, "gc2", key_mode="random", ack_timeout=2)
        except StartError as e:
            tap.ok(False, "controllers start and print 'listening'", e.proc.describe())
            return
        tap.ok(True, "controllers start and print 'listening'")
        p1 = net.port("gc1")
        tun = None
        if have["stunnel"]:
            stunnel, tun = start_stunnel(h, net, "1001", p1)
            tap.ok(tun is not None, "stunnel4 listens for 1001's plain TCP side",
                   stunnel.describe())

        # --- sipsak ---------------------------------------------------------
        if not have["sipsak"]:
            tap.skip("sipsak", "sipsak is not installed")
        else:
            rc, out, _ = sipsak(h, ["-s", f"sip:1001@{HOST}:{p1}", "--transport=tls",
                                    "--tls-ca-cert", net.ca(), "--tls-client-cert",
                                    net.cert("1001")])
            tap.ok(rc != 0 and "200 OK" not in out,
                   "sipsak over TLS without a client certificate is refused",
                   f"exit {rc}\n{out[-1500:]}")
            if tun:
                # sipsak writes "Via: SIP/2.0/TCP" for its TCP side and sofia
                # drops a request whose Via transport is not the connection's
                # (TLS), so sipsak sends our own messages (-f, --no-via).
                for method, user, want in (("OPTIONS", "1001", 0), ("REGISTER", "1001", 0),
                                           ("REGISTER", "1002", 1)):
                    f = sipsak_message(h, method, user)
                    rc, out, _ = sipsak(h, ["--no-via", "-f", f, "-s",
                                            f"sip:{user}@{HOST}:{tun}", "--transport=tcp"])
                    code = "200" if want == 0 else "403"
                    finals = re.findall(r"(?m)^\s*SIP/2.0 (\d{3})", out)
                    tap.ok(rc == want and finals and finals[-1] == code,
                           f"sipsak {method} {user} through stunnel (1001's cert) → {code}",
                           f"exit {rc}\n{out[-1500:]}")
            else:
                tap.skip("sipsak through stunnel", "stunnel4 is not installed or did not start")

        # --- sipp -----------------------------------------------------------
        if not have["sipp"] or not tun:
            tap.skip("sipp scenarios", "sipp or stunnel4 is not installed"
                     if not have["sipp"] or not have["stunnel"] else "stunnel did not start")
            return
        rc, tail, _ = sipp(h, os.path.join(HERE, "sipp-options.xml"), tun, "1001")
        tap.eq(rc, 0, "sipp OPTIONS through stunnel → 200")
        if rc != 0:
            tap.diag(tail)
        rc, tail, _ = sipp(h, register_scenario(h, 200), tun, "1001")
        tap.eq(rc, 0, "sipp REGISTER 1001 with 1001's certificate → 200")
        if rc != 0:
            tap.diag(tail)
        rc, tail, _ = sipp(h, register_scenario(h, 403), tun, "1002")
        tap.eq(rc, 0, "sipp REGISTER 1002 with 1001's certificate → 403")
        if rc != 0:
            tap.diag(tail)

        wait_event(gc1, lambda e: e.get("kind") == "tls-up"
                   and e.get("peer") == "controller:gc2", 8)
        b = FakeCallee(h, net, "2001", net.port("gc2"))
        tap.ok(b.reg is not None and b.reg.status == 200, "raw B 2001 registers at gc2",
               f"{b.reg and b.reg.brief()}")
        b.serve("answer", timeout=20, answer_after=5)
        t0 = time.monotonic()
        rc, tail, _ = sipp(h, os.path.join(HERE, "sipp-invite-noack.xml"), tun, "2001",
                           timeout=20)
        took = time.monotonic() - t0
        b.join(10)
        tap.eq(rc, 0, "sipp INVITE 2001 gets the key in a 183, never acknowledges it, "
               "and the call ends with 504")
        if rc != 0:
            tap.diag(tail)
        tap.ok(1.5 <= took < 10, "… after the ack-timeout (2 s), not before, not much later",
               f"took {took:.1f} s")
        tap.ok(b.invite is not None and (b.cancelled or b.bye),
               "… and the controller ends B's leg (CANCEL or BYE)",
               f"B got INVITE: {b.invite is not None}; cancelled {b.cancelled}, bye {b.bye}; "
               f"log {b.log}")
        failed = [e for e in gc1.events() if e.get("kind") == "key-ack-failed"]
        tap.ok(failed, "… and gc1 reports key-ack-failed")
        time.sleep(0.5)
        cdrs = store_rows(net.store("gc1"),
                          "SELECT outcome, sip_status, reason FROM cdrs WHERE caller = '1001' "
                          "AND callee = '2001'")
        tap.ok(any(r[0] == "failed" and r[2] and re.search(r"(?i)ack", r[2]) for r in cdrs),
               "… and gc1's CDR says failed, naming the missing acknowledgment", f"{cdrs}")
        tap.ok(gc1.proc.running() and gc2.proc.running(), "both controllers still run")
    except Exception:
        h.crashed()
    finally:
        h.finish()


if __name__ == "__main__":
    main()
