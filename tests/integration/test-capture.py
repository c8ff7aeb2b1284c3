#!/usr/bin/env python3
"""test-capture: what a wire tapper on the loopback sees during a call.

Captures with tshark the loopback's TCP during a two-controller call and
keeps the packets of the call's own ports (both controllers' TLS ports and
both softphones' listening ports; the softphones let the kernel choose
theirs, so no other test can take them first), then checks the capture is
non-empty, is TLS 1.3 and holds no SIP in clear, and that kc-unseal-check
(the LEA side) finds none of the call key's bytes in it, raw, hex or
base64. Needs root (or capture rights) for tshark. Prints TAP.
"""

import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from kc_harness import (Harness, StartError, provision, start_controller, start_cta,  # noqa: E402
                        unseal_check, wait_event)


def tshark_count(pcap, ports, display_filter):
    argv = ["tshark", "-n", "-r", pcap]
    for p in ports:
        argv += ["-d", f"tcp.port=={p},tls"]
    if display_filter:
        argv += ["-Y", display_filter]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    return len([l for l in r.stdout.splitlines() if l.strip()]), r.stderr.strip()


# "registered N at CTL (…) as <sips:N@HOST:PORT;transport=tls>": the port the softphone took.
REGISTERED = r"^registered {} at {}\b.* as <sips:[^>]*:(\d+);transport=tls>"


def keep_call_ports(src, dst, ports):
    """Writes to @dst the packets of @src to or from one of @ports (other
    tests may run at the same time on the loopback)."""
    if not os.path.exists(src):
        return
    wanted = " || ".join(f"tcp.port == {p}" for p in ports)
    subprocess.run(["tshark", "-n", "-r", src, "-Y", wanted, "-w", dst],
                   capture_output=True, timeout=60)


def main():
    h = Harness("capture")
    tap = h.tap
    procs = []
    try:
        missing = h.missing_binaries(("admin", "controller", "cta", "unseal"))
        if missing:
            tap.skip("loopback capture of a call", f"not built: {', '.join(missing)}")
            return
        if not shutil.which("tshark"):
            tap.skip("loopback capture of a call", "tshark is not installed")
            return
        net = provision(h, [("1001", "Alice"), ("2001", "Bob")], check_configs=True)
        if net is None:
            return

        everything = h.path("lo.pcapng")
        pcap = h.path("call.pcapng")
        ports = [net.port("gc1"), net.port("gc2")]
        shark = h.start("tshark", ["tshark", "-n", "-i", "lo", "-f", "tcp", "-w", everything],
                        capture_stdout=True)
        procs.append(shark)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and "Capturing on" not in shark.stderr():
            if not shark.running():
                break
            time.sleep(0.1)
        if not tap.ok("Capturing on" in shark.stderr(), "tshark captures on lo",
                      shark.describe()):
            return

        ctls = []
        try:
            ctls.append(start_controller(h, net, "gc1", key_mode="random", delivery="signaling"))
            ctls.append(start_controller(h, net, "gc2", key_mode="random", delivery="signaling"))
        except StartError as e:
            tap.ok(False, "controllers start and print 'listening'", e.proc.describe())
            return
        procs += [c.proc for c in ctls]
        tap.ok(True, "controllers start and print 'listening'")
        wait_event(ctls[0], lambda e: e.get("kind") == "tls-up"
                   and e.get("peer") == "controller:gc2", 8)

        b = start_cta(h, net, "2001", answer=True, duration=10, timeout=40, port=0)
        procs.append(b.proc)
        reg_b = b.proc.wait_line(REGISTERED.format("2001", "gc2"), 10)
        tap.ok(reg_b, "B 2001 registers", b.proc.describe())
        a = start_cta(h, net, "1001", call="2001", duration=1, timeout=25, port=0)
        procs.append(a.proc)
        reg_a = a.proc.wait_line(REGISTERED.format("1001", "gc1"), 10)
        ports += [int(m.group(1)) for m in (reg_a, reg_b) if m]
        rc_a = a.proc.wait(30)
        b.proc.wait(10)
        tap.ok(rc_a == 0, "A's call to B completes (so the capture holds a whole call)",
               a.proc.describe())
        _, fp = a.fingerprint()
        time.sleep(0.5)          # let the last packets reach the capture
        for c in ctls:
            c.stop()
        shark.stop(timeout=10, sig=2)   # SIGINT: tshark flushes and closes the file
        procs.clear()

        keep_call_ports(everything, pcap, ports)
        size = os.path.getsize(pcap) if os.path.exists(pcap) else 0
        count, err = tshark_count(pcap, ports, None) if size else (0, "no file")
        tap.ok(size > 0 and count > 0, "the capture is non-empty",
               f"{size} bytes, {count} packets; {err}\n{shark.describe()}")
        tls, err = tshark_count(pcap, ports, "tls.record")
        tap.ok(tls > 0, "the capture holds TLS records", f"{tls} TLS records; {err}")
        hello13, err13 = tshark_count(pcap, ports, "tls.handshake.type == 2 && "
                                      "tls.handshake.extensions.supported_version == 0x0304")
        others, err = tshark_count(pcap, ports,
                                   "tls.handshake.type == 2 && !(tls.handshake.extensions."
                                   "supported_version == 0x0304)")
        tap.ok(hello13 > 0 and others == 0, "every ServerHello negotiates TLS 1.3",
               f"{hello13} TLS 1.3 ServerHellos, {others} others; {err13} {err}")
        tap.diag(f"  ({count} packets, {tls} with TLS records, {hello13} TLS 1.3 handshakes)")
        with open(pcap, "rb") as f:
            data = f.read()
        clear = [w for w in (b"SIP/2.0", b"INVITE sip", b"key-mgmt", b"REGISTER sip")
                 if w in data]
        tap.ok(not clear, "no SIP in clear on the wire", f"found {clear}")

        rc, fps, files, out = unseal_check(net, "gc1", search=[pcap])
        tap.ok(fp is not None and fp in fps.values(),
               "the LEA opens the call's sealed key (so the search below knows it)",
               f"A's fingerprint {fp}; opened {list(fps.values())}\n{out}")
        tap.ok(rc == 0 and files.get(pcap) == "clean",
               "the capture holds no byte string of the call key (raw, hex, base64)", out)
    except Exception:
        h.crashed()
    finally:
        for p in procs:
            p.stop()
        h.finish()


if __name__ == "__main__":
    main()
