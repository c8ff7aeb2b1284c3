#!/usr/bin/env python3
"""test-li: lawful intercept at the controllers (claim 5; FIG. 5, 510-516).

Two controllers (gc1 serves 1xxx with --li-port, gc2 serves 2xxx with the
default LI port, SIP port + 1), two LEAs. A python ssl client holding an
LEA certificate (what keycall-admin wrote in net/lea/NAME, found through
lea.ini's [controller NAME] li-address) speaks X1/X2 to them:

- refusals: a CTA's, a controller's, a revoked LEA's and an expired LEA's
  certificate get one `refused` line; no certificate fails the handshake;
  TLS 1.2 is refused; each is in the audit log as li-refused;
- requests: unknown number, bad kind, bad content and malformed lines get
  `error` (a malformed line also closes); stop and list;
- a future tap on 1001 at gc1 (content to a UDP socket) and on 2001 at gc2
  (keys only), then 1001 calls 2001: both controllers deliver the same key
  record, which the LEA key opens (kc-unseal-check --delivery) to the
  fingerprint both softphones print; a `call` record names the codec and
  suite; X3 copies of both directions arrive, each an SRTP(C) packet that
  authenticates with the session key of the direction its header names;
  `end` follows;
- a call of an untapped number sends nothing to the content socket;
- the LEA disconnected during a tapped call gets its deliveries when it
  connects again; the content was copied meanwhile;
- a `current` tap started mid-call delivers the key before `ok` and copies
  from then on (fewer copies than packets relayed);
- after kill -9 and a restart, the future tap is still listed and `past`
  returns every key of each number, as the store holds them;
- keycall-admin audit verify passes, and names a record changed behind the
  store's back. Prints TAP.
"""

import datetime
import json
import os
import random
import re
import signal
import sqlite3
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from kc_harness import (ADMIN, HOST, UNSEAL, AdminError, Harness, StartError,  # noqa: E402
                        free_port, provision, start_controller, start_cta, start_pair, store_rows,
                        wait_event)
import kc_li  # noqa: E402
from kc_li import ContentSink, LiClient, lea_client, lea_files, li_addresses  # noqa: E402


def kc_b64(blob):
    import base64
    return base64.b64encode(blob).decode()


def audit_rows(net, ctl):
    return store_rows(net.store(ctl), "SELECT seq, actor, action, detail FROM audit ORDER BY seq")


def admin_run(net, *args):
    return subprocess.run([ADMIN, "--dir", net.dir, *args], capture_output=True, text=True,
                          timeout=60)


def expired_lea_cert(h, net, name):
    """An LEA certificate the network CA signed, expired yesterday; (cert, key)
    or None without python cryptography."""
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        return None
    with open(os.path.join(net.dir, "ca", "ca.key"), "rb") as f:
        ca_key = serialization.load_pem_private_key(f.read(), None)
    with open(net.ca(), "rb") as f:
        ca = x509.load_pem_x509_certificate(f.read())
    key = ec.generate_private_key(ec.SECP256R1())
    serial = random.getrandbits(120) | (1 << 120)
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(now - datetime.timedelta(days=3))
            .not_valid_after(now - datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.UniformResourceIdentifier(f"keycall:lea:{name}"),
                x509.UniformResourceIdentifier(f"keycall:serial:{serial:X}")]), False)
            .sign(ca_key, hashes.SHA256()))
    cpath, kpath = h.path(f"{name}-cert.pem"), h.path(f"{name}-key.pem")
    with open(cpath, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(kpath, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return cpath, kpath


# --- refusals -------------------------------------------------------------------

def try_refused(h, net, ctl, label, cert=None, key=None, max_version=None):
    """Connects with @cert; returns (lines received, handshake error)."""
    host, port = li_addresses(net.dir, "lea1")[ctl]
    try:
        c = LiClient(host, port, cert, key, lea_files(net.dir, "lea1")[2],
                     max_version=max_version)
    except (OSError, ssl.SSLError) as e:
        return [], e
    closed = c.wait_closed(10)
    lines = list(c.lines)
    c.close()
    return lines if closed else lines + [{"_still_open": True}], None


def refusals(h, net):
    tap = h.tap
    sub = os.path.join(net.dir, "subscribers", "1001")
    gc2 = os.path.join(net.dir, "controllers", "gc2")
    cases = [("a CTA certificate", os.path.join(sub, "cert.pem"), os.path.join(sub, "key.pem"),
              None, "cta:1001", "role cta"),
             ("a controller certificate", os.path.join(gc2, "cert.pem"),
              os.path.join(gc2, "key.pem"), None, "controller:gc2", "role controller"),
             ("TLS 1.2", *lea_files(net.dir, "lea1")[:2], ssl.TLSVersion.TLSv1_2, "lea:lea1",
              "TLS 1.3")]
    for label, cert, key, maxv, actor, why in cases:
        lines, err = try_refused(h, net, "gc1", label, cert, key, maxv)
        tap.ok(err is None and len(lines) == 1 and lines[0].get("op") == "refused"
               and lines[0].get("v") == 1 and why in lines[0].get("reason", ""),
               f"refusal: {label} gets one refused line and the connection closes",
               f"lines {lines}, handshake error {err}")
    # No certificate: the TLS layer itself refuses (the server requires one);
    # python sees the alert on its first read, or in the handshake.
    lines, err = try_refused(h, net, "gc1", "no certificate")
    tap.ok(lines == [], "refusal: no certificate gets no line, only a closed connection",
           f"lines {lines}, handshake error {err}")

    # A revoked LEA certificate (keycall-admin revoke-cert; the controller
    # re-reads the CRL it is given).
    cert2, key2, _ = lea_files(net.dir, "lea2")
    c = lea_client(net.dir, "lea2", "gc1")
    answer, _ = c.request("list")
    c.close()
    tap.ok(answer and answer.get("op") == "taps", "lea2's certificate is accepted while valid",
           str(c.lines))
    try:
        net.admin("revoke-cert", "--lea", "lea2")
        net.admin("crl", "update")
    except AdminError as e:
        tap.ok(False, "keycall-admin revoke-cert --lea lea2", str(e))
    lines, err = try_refused(h, net, "gc1", "revoked", cert2, key2)
    tap.ok(len(lines) == 1 and lines[0].get("op") == "refused"
           and "revoked" in lines[0].get("reason", ""),
           "refusal: a revoked LEA certificate gets refused (certificate revoked)",
           f"{lines} {err}")

    expired = expired_lea_cert(h, net, "lea9")
    if expired is None:
        tap.skip("refusal: an expired LEA certificate", "python cryptography missing")
    else:
        lines, err = try_refused(h, net, "gc1", "expired", *expired)
        tap.ok(len(lines) == 1 and lines[0].get("op") == "refused"
               and "expired" in lines[0].get("reason", ""),
               "refusal: an expired LEA certificate gets refused (certificate has expired)",
               f"{lines} {err}")

    rows = audit_rows(net, "gc1")
    refused = {(r[1], ) for r in rows if r[2] == "li-refused"}
    want = {("cta:1001",), ("controller:gc2",), ("lea:lea1",), ("unknown",), ("lea:lea2",)}
    if expired:
        want.add(("lea:lea9",))
    tap.ok(want <= refused, "every refusal is audited as li-refused with the peer's identity",
           f"audited {sorted(refused)}, want {sorted(want)}")
    no_cert = [r for r in rows if r[2] == "li-refused" and r[1] == "unknown"]
    tap.ok(no_cert and "certificate" in no_cert[0][3],
           "the refusal of no certificate says why", str(no_cert))


# --- requests ------------------------------------------------------------------

def requests(h, net, c1):
    tap = h.tap
    bad = [({"number": "1009", "kind": "future"}, "No subscriber 1009 at gc1"),
           ({"number": "2001", "kind": "future"}, "No subscriber 2001 at gc1"),
           ({"number": "1001", "kind": "sometimes"}, "kind"),
           ({"number": "1001", "kind": "future", "content": "example.org:5"}, "content"),
           ({"number": "1001", "kind": "future", "until": "tomorrow"}, "until"),
           ({"kind": "future"}, "number")]
    for members, part in bad:
        a, _ = c1.request("tap", **members)
        tap.ok(a and a.get("op") == "error" and part in a.get("reason", ""),
               f"request error: tap {members} is answered with an error naming {part}", str(a))
    a, _ = c1.request("frobnicate")
    tap.ok(a and a.get("op") == "error" and "Unknown op" in a.get("reason", ""),
           "request error: an unknown op is answered with an error", str(a))
    a, _ = c1.request("stop", tap="T-nonesuch")
    tap.ok(a and a.get("op") == "error", "request error: stopping an unknown tap", str(a))

    # stop and list
    a, _ = c1.request("tap", number="1002", kind="future")
    tid = a.get("tap") if a else None
    tap.ok(a and a.get("op") == "ok" and str(tid).startswith("T-") and a.get("calls") == 0,
           "a future tap is answered ok with its id and calls 0", str(a))
    lst, _ = c1.request("list")
    tap.ok(lst and any(t.get("tap") == tid and t.get("kind") == "future"
                       and t.get("number") == "1002" for t in lst.get("taps", [])),
           "list shows the tap", str(lst))
    a, _ = c1.request("stop", tap=tid)
    lst, _ = c1.request("list")
    tap.ok(a and a.get("op") == "ok" and lst
           and not any(t.get("tap") == tid for t in lst.get("taps", [])),
           "stop ends the tap; list no longer shows it", f"{a} {lst}")
    rows = store_rows(net.store("gc1"), "SELECT stopped_at FROM taps WHERE tap_id = ?", (tid,))
    tap.ok(rows and rows[0][0] > 0, "the store marks the tap stopped", str(rows))

    # A malformed line gets an error and closes that connection.
    c = lea_client(net.dir, "lea1", "gc1")
    c.send_raw(b'{"v":1,"op":"tap",,}\n')
    closed = c.wait_closed(10)
    tap.ok(closed and len(c.lines) == 1 and c.lines[0].get("op") == "error",
           "a malformed line gets an error and the connection closes", str(c.lines))
    c.close()
    c = lea_client(net.dir, "lea1", "gc1")
    c.send_raw(b'{"v":1,"op":"list","req":"x","pad":"' + b"a" * 70000 + b'"}\n')
    closed = c.wait_closed(10)
    tap.ok(closed and c.lines and c.lines[0].get("op") == "error"
           and "longer" in c.lines[0].get("reason", ""),
           "a line over 64 KiB gets an error and the connection closes", str(c.lines)[:300])
    c.close()


# --- calls -----------------------------------------------------------------------

def call(h, net, caller, callee, duration=3, during=None, label=""):
    b = start_cta(h, net, callee, answer=True, duration=duration + 10, timeout=60)
    if not b.proc.wait_line(rf"^registered {callee} at ", 10):
        h.tap.ok(False, f"{label}: {callee} registers", b.proc.describe())
        b.proc.stop()
        return None, None
    a = start_cta(h, net, caller, call=callee, duration=duration, timeout=40)
    if during:
        during(a, b)
    rc_a, rc_b = a.proc.wait(45), b.proc.wait(20)
    h.tap.ok(rc_a == 0 and rc_b == 0, f"{label}: {caller} calls {callee}, answered, ends cleanly",
             f"A:\n{a.proc.describe()}\nB:\n{b.proc.describe()}")
    a.proc.stop()
    b.proc.stop()
    return a, b


def unseal(h, deliveries, net, suite=None):
    """{key_id: fingerprint}, {(key_id, direction): key||salt bytes} from the
    deliveries, opened with the LEA key."""
    path = h.path(h.unique("deliveries") + ".jsonl")
    with open(path, "w") as f:
        for d in deliveries:
            f.write(json.dumps(d) + "\n")
    argv = [UNSEAL, "--delivery", path, "--lea-key", net.seal_key()]
    if suite:
        argv += ["--srtp-suite", suite]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    fps, keys = {}, {}
    for line in r.stdout.splitlines():
        m = re.match(r"^key ([0-9a-f]{32}) call \S+ fingerprint ((?:[0-9a-f]{4} ?){4})", line)
        if m:
            fps[m.group(1)] = m.group(2).strip()
        m = re.match(r"^srtp ([0-9a-f]{32}) call \S+ (\S+) ([0-9a-f]+)$", line)
        if m:
            keys[(m.group(1), m.group(2))] = bytes.fromhex(m.group(3))
    return r.returncode, fps, keys, r.stdout + r.stderr


def check_srtp(h, label, copies, keys, key_id, suite):
    tap = h.tap
    if not kc_li.have_crypto():
        tap.skip(f"{label}: X3 copies authenticate as the call's SRTP", "no python cryptography")
        return
    tag = {"AES_CM_128_HMAC_SHA1_80": 10, "AES_CM_128_HMAC_SHA1_32": 4}.get(suite)
    if tag is None:
        tap.skip(f"{label}: X3 copies authenticate as the call's SRTP", f"suite {suite} is AEAD")
        return
    auth = {}
    for d, name in ((0, "caller-to-callee"), (1, "callee-to-caller")):
        ks = keys.get((key_id, name))
        if ks is None or len(ks) != 30:
            tap.ok(False, f"{label}: kc-unseal-check derives the {name} SRTP key", str(keys))
            return
        auth[d] = (kc_li.srtp_session_auth_key(ks[:16], ks[16:], 1),
                   kc_li.srtp_session_auth_key(ks[:16], ks[16:], 4))
    good = wrong_dir = bad = 0
    for c in copies:
        if c["rtcp"]:
            ok = kc_li.srtcp_auth_ok(c["packet"], auth[c["direction"]][1])
            other = kc_li.srtcp_auth_ok(c["packet"], auth[1 - c["direction"]][1])
        else:
            ok = kc_li.srtp_auth_ok(c["packet"], auth[c["direction"]][0], tag)
            other = kc_li.srtp_auth_ok(c["packet"], auth[1 - c["direction"]][0], tag)
        good += ok
        wrong_dir += other
        bad += not ok
    tap.ok(copies and bad == 0 and wrong_dir == 0,
           f"{label}: every X3 copy authenticates with the SRTP key of the direction it names "
           "(and not with the other)", f"{good} good, {bad} bad, {wrong_dir} match the other "
           f"direction, of {len(copies)}")


def tapped_call(h, net, ctls, c1, c2):
    """Future taps at both controllers; returns (call id, key id, S1) for later."""
    tap = h.tap
    s1 = ContentSink()
    a1, _ = c1.request("tap", number="1001", kind="future", content=s1.address)
    a2, _ = c2.request("tap", number="2001", kind="future")
    tap.ok(a1 and a1.get("op") == "ok" and a2 and a2.get("op") == "ok",
           "future taps on 1001 at gc1 (with content) and 2001 at gc2 (keys only)", f"{a1} {a2}")
    t1, t2 = a1.get("tap"), a2.get("tap")
    rows = store_rows(net.store("gc1"), "SELECT number, kind, lea FROM taps WHERE tap_id = ?",
                      (t1,))
    tap.ok(rows == [("1001", "future", "lea1")], "the tap is in gc1's store", str(rows))

    a, b = call(h, net, "1001", "2001", duration=4, label="tapped call")
    if a is None:
        return None
    end1 = c1.wait(lambda m: m.get("op") == "end" and m.get("tap") == t1, 15)
    keys1 = c1.deliveries("key", t1)
    keys2 = c2.deliveries("key", t2)
    tap.ok(len(keys1) == 1 and len(keys2) == 1, "each controller delivers one key record",
           f"gc1 {keys1} gc2 {keys2}")
    if not keys1 or not keys2:
        return None
    k1, k2 = keys1[0], keys2[0]
    call_id, key_id = k1.get("call"), k1.get("key_id")
    fa, fb = a.fingerprint()[1], b.fingerprint()[1]
    fields = ("v", "op", "tap", "call", "key_id", "caller", "callee", "created", "controller",
              "fingerprint", "enc", "sealed")
    tap.ok(all(f in k1 for f in fields) and k1["caller"] == "1001" and k1["callee"] == "2001"
           and k1["controller"] == "gc1" and k2["controller"] == "gc2",
           "the key record carries every field, parties and the storing controller", str(k1))
    tap.ok(k2.get("call") == call_id and k2.get("key_id") == key_id
           and k2.get("fingerprint") == k1.get("fingerprint"),
           "gc2, serving the callee, stored and delivers the same key (id, Call-ID, fingerprint)",
           f"{k1.get('key_id')} {k2.get('key_id')}")
    rc, fps, _, out = unseal(h, [k1, k2], net)
    tap.ok(rc == 0 and fps.get(key_id) == fa == fb == k1.get("fingerprint"),
           "the LEA key opens the delivered sealed key to the fingerprint both softphones print",
           f"rc {rc} opened {fps} A {fa} B {fb} delivered {k1.get('fingerprint')}\n{out}")
    stored = store_rows(net.store("gc1"), "SELECT enc, sealed FROM sealed_keys WHERE call_id = ?",
                        (call_id,))
    tap.ok(len(stored) == 1 and kc_b64(stored[0][0]) == k1["enc"]
           and kc_b64(stored[0][1]) == k1["sealed"],
           "the delivered enc and sealed are the record gc1 stored", str(len(stored)))

    rec = c1.wait(lambda m: m.get("op") == "call" and m.get("tap") == t1, 5)
    tap.ok(rec and rec.get("call") == call_id and rec.get("codec") and rec.get("clock", 0) > 0
           and isinstance(rec.get("payload"), int) and rec.get("suite"),
           "a call record names codec, payload, clock and suite", str(rec))
    order = [m.get("op") for m in c1.deliveries(tap=t1, call=call_id)]
    tap.ok(order == ["key", "call", "end"] and end1 and end1.get("outcome") == "answered",
           "deliveries come in order key, call, end (answered)", f"{order} {end1}")

    time.sleep(0.5)
    copies = [c for c in s1.copies() if c]
    mine = [c for c in copies if c["call"] == call_id]
    dirs = {c["direction"] for c in mine if not c["rtcp"]}
    tap.ok(len(copies) == s1.count() and len(mine) == len(copies) and dirs == {0, 1},
           "X3: every datagram at the content address is a copy of the call, RTP both ways",
           f"{s1.count()} datagrams, {len(copies)} copies, {len(mine)} of {call_id}, "
           f"directions {dirs}")
    seqs = sorted(c["seq"] for c in mine)
    tap.ok(seqs == list(range(len(seqs))), "X3 sequence numbers count the tap's copies from 0",
           f"{seqs[:5]}…{seqs[-5:]} of {len(seqs)}")
    _, _, srtp_keys, _ = unseal(h, [k1], net, rec.get("suite") if rec else None)
    check_srtp(h, "tapped call", mine, srtp_keys, key_id, rec.get("suite") if rec else None)
    ended = [r for r in audit_rows(net, "gc1") if r[2] == "content-ended" and call_id in r[3]]
    m = re.search(r"packets=(\d+)", ended[0][3]) if ended else None
    tap.ok(m and int(m.group(1)) == len(mine),
           "the audit log's content-ended counts the copies the LEA received",
           f"{ended} vs {len(mine)}")
    return {"t1": t1, "call": call_id, "key": key_id, "sink": s1}


def untapped_call(h, net, state, c1):
    tap = h.tap
    before = state["sink"].count()
    n_before = len(c1.deliveries())
    call(h, net, "1002", "2001", duration=2, label="untapped call")
    time.sleep(1)
    tap.ok(state["sink"].count() == before and len(c1.deliveries()) == n_before,
           "a call of an untapped number sends nothing to the content address and no record",
           f"{state['sink'].count() - before} datagrams, "
           f"{len(c1.deliveries()) - n_before} deliveries")


def reconnect(h, net, state, c1):
    """The LEA is away during a tapped call; the deliveries wait for it."""
    tap = h.tap
    c1.close()
    before = state["sink"].count()
    call(h, net, "1001", "2001", duration=2, label="call while the LEA is away")
    time.sleep(0.5)
    tap.ok(state["sink"].count() > before, "content is copied while the LEA is not connected",
           f"{state['sink'].count() - before} datagrams")
    c = lea_client(net.dir, "lea1", "gc1")
    end = c.wait(lambda m: m.get("op") == "end" and m.get("tap") == state["t1"], 10)
    ops = [m.get("op") for m in c.deliveries(tap=state["t1"])]
    tap.ok(end and ops == ["key", "call", "end"],
           "on reconnecting, the LEA gets the key, call and end it missed", str(ops))
    lst, _ = c.request("list")
    tap.ok(lst and any(t.get("tap") == state["t1"] for t in lst.get("taps", [])),
           "the future tap survived the reconnection", str(lst))
    state["call3"] = c.deliveries("key", state["t1"])[0]["call"] if ops else None
    return c


def current_tap(h, net, ctls, c1):
    tap = h.tap
    s2 = ContentSink()
    result = {}

    def during(a, b):
        ev = wait_event(ctls["gc1"], lambda e: e.get("kind") == "call-state"
                        and (e.get("attrs") or {}).get("state") == "answered"
                        and "1002" in e.get("summary", ""), 15)
        if not ev:
            return
        time.sleep(1.5)   # media has flowed a while
        result["answer"], result["between"] = c1.request("tap", number="1002", kind="current",
                                                         content=s2.address)

    call(h, net, "1002", "2001", duration=5, during=during, label="current tap")
    ans, between = result.get("answer"), result.get("between", [])
    tap.ok(ans and ans.get("op") == "ok" and ans.get("calls") == 1,
           "a current tap mid-call is answered ok with calls 1", str(ans))
    if not ans or ans.get("op") != "ok":
        return
    t = ans["tap"]
    keys = [m for m in between if m.get("op") == "key" and m.get("tap") == t]
    tap.ok(len(keys) == 1 and keys[0].get("caller") == "1002",
           "its key record comes before the ok", str(between)[:400])
    end = c1.wait(lambda m: m.get("op") == "end" and m.get("tap") == t, 15)
    tap.ok(end is not None and c1.wait(lambda m: m.get("op") == "call" and m.get("tap") == t, 1),
           "then the call record and, at the end, the end record", str(c1.deliveries(tap=t)))
    rc, fps, _, _ = unseal(h, keys, net)
    tap.ok(rc == 0 and keys and fps.get(keys[0]["key_id"]) == keys[0]["fingerprint"],
           "the current tap's key opens to its fingerprint", str(fps))
    time.sleep(0.5)
    copies = [c for c in s2.copies() if c]
    stop = wait_event(ctls["gc1"], lambda e: e.get("kind") == "media-stop"
                      and keys and e.get("call") == keys[0]["call"], 5)
    a = (stop or {}).get("attrs") or {}
    relayed = int(a.get("caller_packets_in", 0)) + int(a.get("callee_packets_in", 0))
    tap.ok(copies and sorted(c["seq"] for c in copies) == list(range(len(copies)))
           and {c["direction"] for c in copies} == {0, 1} and len(copies) < relayed,
           "content is copied from the tap on: both ways, fewer copies than packets relayed",
           f"{len(copies)} copies, {relayed} relayed")
    lst, _ = c1.request("list")
    tap.ok(lst and not any(x.get("tap") == t for x in lst.get("taps", [])),
           "the current tap ends with the call it covered", str(lst))
    s2.close()


def restart_and_past(h, net, ctls, state):
    tap = h.tap
    ctl = ctls["gc1"]
    rc = ctl.proc.stop(timeout=5, sig=signal.SIGKILL)
    tap.eq(rc, -signal.SIGKILL, "gc1 died of SIGKILL")
    try:
        ctls["gc1"] = start_controller(h, net, "gc1")
    except StartError as e:
        tap.ok(False, "gc1 restarts on the same store", e.proc.describe())
        return
    c = lea_client(net.dir, "lea1", "gc1")
    lst, _ = c.request("list")
    tap.ok(lst and [x.get("tap") for x in lst.get("taps", [])] == [state["t1"]],
           "after kill -9 the future tap on 1001 is still active", str(lst))
    for number in ("1001", "1002"):
        ans, between = c.request("tap", number=number, kind="past")
        got = {m["key_id"] for m in between if m.get("op") == "key"}
        want = {r[0] for r in store_rows(net.store("gc1"), "SELECT lower(hex(key_id)) FROM "
                                         "sealed_keys WHERE caller = ? OR callee = ?",
                                         (number, number))}
        tap.ok(ans and ans.get("op") == "ok" and ans.get("calls") == len(got) and got == want
               and len(want) >= 2,
               f"past keys of {number} after the restart: every key the store holds for it",
               f"{ans} got {sorted(got)} want {sorted(want)}")
        if number == "1001":
            tap.ok({state["key"]} <= got, "they include the tapped call's key", str(got))
            rc, fps, _, out = unseal(h, [m for m in between if m.get("op") == "key"], net)
            tap.ok(rc == 0 and len(fps) == len(got), "the LEA key opens every past key", out)
    c.close()


def separate_mode(h, net, ctls):
    """Delivery mode "separate": the callee's controller gets the key in a
    MESSAGE before the INVITE and its offer; it still stores the key and
    copies the content of a tapped callee."""
    tap = h.tap
    for c in ctls.values():
        c.stop()
    pair = start_pair(h, net, "separate mode", delivery="separate")
    if pair is None:
        return
    ctls.update(pair)
    s3 = ContentSink()
    c = lea_client(net.dir, "lea1", "gc2")
    ans, _ = c.request("tap", number="2001", kind="future", content=s3.address)
    tid = ans.get("tap") if ans else None
    a, b = call(h, net, "1001", "2001", duration=3, label="separate mode")
    end = c.wait(lambda m: m.get("op") == "end" and m.get("tap") == tid, 15)
    keys = c.deliveries("key", tid)
    rec = c.wait(lambda m: m.get("op") == "call" and m.get("tap") == tid, 1)
    rc, fps, srtp, _ = unseal(h, keys, net, rec.get("suite") if rec else None)
    fb = b.fingerprint()[1] if b else None
    tap.ok(end and len(keys) == 1 and rc == 0 and fps.get(keys[0]["key_id"]) == fb,
           "separate mode: gc2 delivers the callee's key, which opens to B's fingerprint",
           f"{c.deliveries(tap=tid)} {fps} B {fb}")
    time.sleep(0.5)
    copies = [x for x in s3.copies() if x]
    tap.ok(copies and {x["direction"] for x in copies if not x["rtcp"]} == {0, 1},
           "separate mode: gc2's relay copies both directions of the tapped callee's call",
           f"{len(copies)} copies")
    if keys:
        check_srtp(h, "separate mode", copies, srtp, keys[0]["key_id"],
                   rec.get("suite") if rec else None)
    c.request("stop", tap=tid)
    c.close()
    s3.close()


def audit_verify(h, net, ctls):
    tap = h.tap
    rows = audit_rows(net, "gc1")
    actions = {r[2] for r in rows}
    want = {"li-connect", "li-refused", "tap-request", "tap-answer", "tap-stop", "key-delivered",
            "content-started", "content-ended"}
    tap.ok(want <= actions, "the audit log holds every kind of LI action",
           f"missing {sorted(want - actions)}")
    r = admin_run(net, "audit", "verify", "--controller", "gc1")
    tap.ok(r.returncode == 0 and f"audit log of gc1: {len(rows)} records, chain intact"
           in r.stdout, "keycall-admin audit verify: the chain is intact",
           f"exit {r.returncode}: {r.stdout} {r.stderr}")
    for c in ctls.values():
        c.stop()
    victim = next(r[0] for r in rows if r[2] == "key-delivered")
    con = sqlite3.connect(net.store("gc1"))
    try:
        con.execute("DROP TRIGGER audit_no_update")
        con.execute("UPDATE audit SET detail = detail || ' ' WHERE seq = ?", (victim,))
        con.commit()
    finally:
        con.close()
    r = admin_run(net, "audit", "verify", "--store", net.store("gc1"))
    tap.ok(r.returncode == 1 and f"record {victim}" in r.stderr,
           f"keycall-admin audit verify names the altered record {victim}",
           f"exit {r.returncode}: {r.stdout} {r.stderr}")


def main():
    h = Harness("li")
    tap = h.tap
    ctls = {}
    try:
        missing = h.missing_binaries(("admin", "controller", "cta", "unseal"))
        if missing:
            tap.skip("lawful intercept", f"not built: {', '.join(missing)}")
            return
        li_port = free_port()
        net = provision(h, [("1001", "Alice"), ("1002", "Carol"), ("2001", "Bob")],
                        leas=("lea1", "lea2"), li_ports={"gc1": li_port})
        if net is None:
            return
        addrs = li_addresses(net.dir, "lea2")
        tap.ok(addrs == {"gc1": (HOST, li_port), "gc2": (HOST, net.controllers["gc2"]["port"] + 1)},
               "lea.ini names each controller's LI address (--li-port, else SIP port + 1)",
               str(addrs))
        base = random.randrange(20000, 31000, 2)
        net.set_media("gc1", relay_port_min=base, relay_port_max=base + 99)
        net.set_media("gc2", relay_port_min=base + 100, relay_port_max=base + 199)
        pair = start_pair(h, net)
        if pair is None:
            return
        ctls.update(pair)

        refusals(h, net)
        c1 = lea_client(net.dir, "lea1", "gc1")
        c2 = lea_client(net.dir, "lea1", "gc2")
        tap.ok(c1.version == "TLSv1.3" and "keycall:controller:gc1" in str(c1.peer),
               "the LI port speaks TLS 1.3 with the controller's own certificate",
               f"{c1.version} {c1.peer}")
        requests(h, net, c1)
        state = tapped_call(h, net, ctls, c1, c2)
        if state:
            untapped_call(h, net, state, c1)
            c1 = reconnect(h, net, state, c1)
            current_tap(h, net, ctls, c1)
            c1.close()
            c2.close()
            restart_and_past(h, net, ctls, state)
            state["sink"].close()
            separate_mode(h, net, ctls)
        audit_verify(h, net, ctls)
    except Exception:
        h.crashed()
    finally:
        for c in ctls.values():
            c.stop()
        h.finish()


if __name__ == "__main__":
    main()
