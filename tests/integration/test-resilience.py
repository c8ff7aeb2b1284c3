#!/usr/bin/env python3
"""test-resilience: the controllers survive kill -9 and peer restarts.

1. kill -9: five answered calls between softphones through gc1 and gc2,
   in two rounds (three at once with A hanging up, two at once with B
   hanging up); the moment the last message of the round reaches a
   softphone, SIGKILL both controllers (no grace). Then, from the stores
   as left on disk (sqlite3, read-only): every call's sealed key is in
   gc1's store under the key id and fingerprint the softphones printed,
   the LEA private key opens it to that fingerprint, and every call has
   its CDR (answered, 200) on gc1 and on gc2 (a CDR written after the 200
   to BYE is lost here). Then gc1 is killed in the middle of a call setup,
   as soon as its event log shows key-stored: the key is on disk and,
   gc1 restarted on the same store, opens to the fingerprint B printed
   (durable before it left). One more call through the restarted
   controllers proves the stores open cleanly.
2. Peer restart (--keepalive 1): a call works; gc2 stops (SIGTERM); gc1
   reports the peer down and a call to 2001 fails fast with 503 (its CDR
   already on disk when the caller has the 503); gc2 restarts on the same
   port; gc1 reports it up; a call to 2001 (a new softphone B) works.
3. A softphone registered at gc2 before the restart registers again with
   the new gc2 on its own (refresh/retry) and then takes a call.
Prints TAP. Never prints key material.
"""

import json
import os
import re
import signal
import socket
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from kc_harness import (Harness, StartError, provision, start_controller, start_cta,  # noqa: E402
                        unseal_check, wait_event)

KEY_LINE = r"^key (?:received|derived) id ([0-9a-f]{8}) .*fingerprint ((?:[0-9a-f]{4} ?){4})"


def ro_rows(path, sql, args=()):
    """Rows from a store exactly as a kill -9 left it: read-only, so the
    test itself repairs nothing (the WAL is read, not checkpointed)."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def key_of(cta):
    """(key id prefix, fingerprint) a softphone printed, or (None, None)."""
    m = cta.proc.wait_line(KEY_LINE, 0)
    return (m.group(1), m.group(2).strip()) if m else (None, None)


def start_ctls(h, net, names=("gc1", "gc2"), **kw):
    ctls = {}
    for n in names:
        ctls[n] = start_controller(h, net, n, **kw)
    return ctls


def peered(ctl, after_seq=-1, timeout=8):
    """gc1's tls-up event for gc2 (310), later than @after_seq."""
    return wait_event(ctl, lambda e: e.get("kind") == "tls-up" and e.get("peer") ==
                      "controller:gc2" and e.get("seq", 0) > after_seq, timeout)


def place_calls(h, net, pairs, label, b_hangs_up=False, on_ended=None):
    """Answered calls A → B, all at once; A hangs up after 1 s (or B does,
    with @b_hangs_up). @on_ended runs the moment the last message of every
    call has arrived (the 'ended' line of the side that did not hang up),
    before the softphones exit. Returns [(a, b)] once every softphone has
    exited (or its time is up)."""
    tap = h.tap
    calls = []
    for a_num, b_num in pairs:
        b = start_cta(h, net, b_num, answer=True, duration=1 if b_hangs_up else 20, timeout=40)
        calls.append([a_num, b])
    for a_num, b in calls:
        ctl = net.subscribers[b.number]
        tap.ok(b.proc.wait_line(rf"^registered {b.number} at {ctl}\b", 10),
               f"{label}: B {b.number} registers at {ctl}", b.proc.describe())
    out = []
    for a_num, b in calls:
        a = start_cta(h, net, a_num, call=b.number, duration=20 if b_hangs_up else 1, timeout=30)
        out.append((a, b))
    if on_ended:
        last = [(a if b_hangs_up else b) for a, b in out]
        for cta in last:
            cta.proc.wait_line(r"^ended\b", 30)
        on_ended()
    who = "B" if b_hangs_up else "A"
    for a, b in out:
        rc_a = a.proc.wait(30)
        rc_b = b.proc.wait(15)
        tap.ok(rc_a == 0 and rc_b == 0,
               f"{label}: {a.number} → {b.number} answered, {who} hung up, both exit 0",
               f"A exit {rc_a}, B exit {rc_b}\nA:\n{a.proc.describe()}\nB:\n{b.proc.describe()}")
    return out


def check_call_stored(h, net, label, a, b, peers=("gc2",), when="after kill -9"):
    """The call's sealed key (by the softphones' key id and fingerprint) in
    gc1's store, and its CDR on gc1 and the peers; returns (key id, fp)."""
    tap = h.tap
    id_a, fp_a = key_of(a)
    id_b, fp_b = key_of(b)
    if not tap.ok(id_a and fp_a and (id_a, fp_a) == (id_b, fp_b),
                  f"{label}: {a.number} and {b.number} print the same key id and fingerprint",
                  f"A: {id_a} {fp_a}; B: {id_b} {fp_b}"):
        return None, None
    rows = ro_rows(net.store("gc1"), "SELECT lower(hex(key_id)), call_id, caller, callee "
                   "FROM sealed_keys WHERE lower(hex(key_id)) LIKE ? AND fingerprint = ?",
                   (id_a + "%", fp_a))
    if not tap.ok(len(rows) == 1 and rows[0][2:] == (a.number, b.number),
                  f"{label}: gc1's store holds the sealed key {id_a}… ({a.number} → "
                  f"{b.number}) {when}", f"rows: {rows}"):
        return None, None
    key_id, call_id = rows[0][0], rows[0][1]
    for ctl in ("gc1",) + tuple(peers):
        cdr = ro_rows(net.store(ctl), "SELECT outcome, sip_status, lower(hex(key_id)) FROM cdrs "
                      "WHERE call_id = ?", (call_id,))
        tap.ok(len(cdr) == 1 and cdr[0][0] == "answered" and cdr[0][1] == 200,
               f"{label}: {ctl}'s store holds the call's CDR (answered, 200) {when}",
               f"CDR rows for {call_id}: {cdr}")
    return key_id, fp_a


def store_sane(h, net, ctl, label):
    r = ro_rows(net.store(ctl), "PRAGMA quick_check")
    h.tap.eq(r, [("ok",)], f"{label}: {ctl}'s store passes quick_check as kill -9 left it")


def kill9(h, ctl, label):
    rc = ctl.proc.stop(timeout=5, sig=signal.SIGKILL)
    h.tap.eq(rc, -signal.SIGKILL, f"{label}: {ctl.name} was running and died of SIGKILL")


# --- 1. kill -9 ------------------------------------------------------------------

def kill_after_calls(h, net):
    """Two rounds, each ending in kill -9 the moment the last message of
    the last call has reached a softphone: A hangs up (the BYE's last hop
    is gc2 → B, so gc2 has the least time), then B hangs up (last hop
    gc1 → A)."""
    tap = h.tap
    keys = {}
    rounds = (("kill -9 after A hangs up", False,
               [("1001", "2001"), ("1002", "2002"), ("1003", "2003")]),
              ("kill -9 after B hangs up", True, [("1001", "2001"), ("1002", "2002")]))
    for label, b_hangs_up, pairs in rounds:
        try:
            ctls = start_ctls(h, net)
        except StartError as e:
            tap.ok(False, f"{label}: gc1 and gc2 start on their stores", e.proc.describe())
            return
        tap.ok(peered(ctls["gc1"]), f"{label}: gc1 peers with gc2")
        killed = {}

        def kill_both():
            # No grace: the last message of the calls has just arrived. The
            # controller that sent it first, then reap both.
            order = ("gc1", "gc2") if b_hangs_up else ("gc2", "gc1")
            for n in order:
                ctls[n].proc.send_signal(signal.SIGKILL)
            for n in order:
                killed[n] = ctls[n].proc.stop(timeout=5, sig=signal.SIGKILL)

        done = place_calls(h, net, pairs, label, b_hangs_up=b_hangs_up, on_ended=kill_both)
        for n in ctls:
            tap.eq(killed.get(n), -signal.SIGKILL,
                   f"{label}: {n} was running and died of SIGKILL")
            store_sane(h, net, n, label)
        for a, b in done:
            key_id, fp = check_call_stored(h, net, label, a, b)
            if key_id:
                keys[key_id] = fp
    files = [f for f in (net.store("gc1"), net.store("gc1") + "-wal") if os.path.exists(f)]
    rc, fps, scanned, out = unseal_check(net, "gc1", search=files)
    tap.ok(len(keys) == 5 and all(fps.get(k) == fp for k, fp in keys.items()),
           f"kill -9: the LEA private key opens each of the {len(keys)} calls' keys to the "
           "softphones' fingerprint", out)
    tap.ok(scanned and all(v == "clean" for v in scanned.values()),
           "kill -9: no key bytes in gc1's store or WAL", out)


def kill_mid_setup(h, net):
    tap = h.tap
    label = "kill -9 mid setup"
    try:
        ctls = start_ctls(h, net)
    except StartError as e:
        tap.ok(False, f"{label}: gc1 and gc2 start again on the stores kill -9 left",
               e.proc.describe())
        return
    tap.ok(True, f"{label}: gc1 and gc2 start again on the stores kill -9 left")
    tap.ok(peered(ctls["gc1"]), f"{label}: gc1 peers with gc2")
    # B lets it ring: the call is still being set up when gc1 dies.
    b = start_cta(h, net, "2001", answer=True, answer_after=20, timeout=40)
    if not tap.ok(b.proc.wait_line(r"^registered 2001 at gc2\b", 10), f"{label}: B registers",
                  b.proc.describe()):
        return
    a = start_cta(h, net, "1001", call="2001", duration=1, timeout=30)
    deadline = time.monotonic() + 15
    stored = None
    while stored is None and time.monotonic() < deadline:
        with open(ctls["gc1"].events_path, "rb") as f:
            for line in f.read().decode("utf-8", "replace").splitlines():
                if '"key-stored"' in line:
                    stored = json.loads(line)
                    break
        if stored is None:
            time.sleep(0.01)
    if not tap.ok(stored, f"{label}: gc1's event log shows key-stored",
                  ctls["gc1"].proc.describe()):
        return
    kill9(h, ctls["gc1"], label)
    tap.ok(not a.proc.find_lines(r"^(answered|ended)"),
           f"{label}: gc1 died before the call was answered", a.proc.text())
    a.proc.stop()
    b.proc.stop()
    key_id, fp = stored.get("key_id"), stored.get("fp")
    store_sane(h, net, "gc1", label)
    rows = ro_rows(net.store("gc1"), "SELECT fingerprint FROM sealed_keys WHERE "
                   "lower(hex(key_id)) = ?", (str(key_id),))
    tap.ok(rows == [(fp,)], f"{label}: the key is in gc1's store as kill -9 left it",
           f"key-stored event: {key_id} {fp}; rows: {rows}")
    try:
        ctls["gc1"] = start_controller(h, net, "gc1")
    except StartError as e:
        tap.ok(False, f"{label}: gc1 restarts on its store", e.proc.describe())
        return
    tap.ok(True, f"{label}: gc1 restarts on its store")
    rc, fps, _, out = unseal_check(net, "gc1", key_id=key_id)
    tap.ok(key_id and fp and fps.get(key_id) == fp,
           f"{label}: the key stored before gc1 died is in its store and opens to its "
           "fingerprint", f"key-stored event: {key_id} {fp}\n{out}")
    fp_b = key_of(b)[1]
    if fp_b:
        tap.eq(fp_b, fp, f"{label}: … the fingerprint B printed")

    tap.ok(peered(ctls["gc1"]), f"{label}: the restarted gc1 peers with gc2")
    done = place_calls(h, net, [("1001", "2001")], f"{label}: after restart")
    for n, c in ctls.items():
        tap.eq(c.stop(), 0, f"{label}: {n} stops cleanly on SIGTERM (exit 0)")
    for a, b in done:
        check_call_stored(h, net, f"{label}: after restart", a, b, when="after SIGTERM")


# --- 2 and 3. peer restart ----------------------------------------------------------

def count_connections(port, seconds):
    """TCP connections made to @port on 127.0.0.1 within @seconds (each
    accepted and closed at once), or None if the port cannot be taken."""
    try:
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", port))
        srv.listen(16)
    except OSError:
        return None
    n = 0
    deadline = time.monotonic() + seconds
    with srv:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            srv.settimeout(left)
            try:
                conn, _ = srv.accept()
            except (socket.timeout, OSError):
                break
            n += 1
            conn.close()
    return n


def peer_restart(h, net):
    tap = h.tap
    label = "peer restart"
    ctls = start_ctls(h, net, keepalive=1)
    gc1 = ctls["gc1"]
    up = peered(gc1)
    tap.ok(up, f"{label}: gc1 peers with gc2 (--keepalive 1)")
    # Registered before gc2 goes away; must come back by itself.
    idle = start_cta(h, net, "2002", answer=True, timeout=100)
    tap.ok(idle.proc.wait_line(r"^registered 2002 at gc2\b", 10),
           f"{label}: 2002 registers at gc2", idle.proc.describe())
    place_calls(h, net, [("1001", "2001")], f"{label}: before")

    tap.eq(ctls["gc2"].stop(), 0, f"{label}: gc2 stops on SIGTERM (exit 0)")
    t_stop = time.monotonic()
    down = wait_event(gc1, lambda e: e.get("kind") == "tls-down" and e.get("peer") ==
                      "controller:gc2" and e.get("seq", 0) > up.get("seq", 0), 5)
    tap.ok(down, f"{label}: gc1 reports gc2 down (tls-down, 310)",
           f"{[e.get('summary') for e in gc1.events()][-10:]}")
    if down:
        tap.ok(time.monotonic() - t_stop < 4, f"{label}: … within a few keepalive intervals",
               f"{time.monotonic() - t_stop:.1f} s")
        tap.ok(re.search(r"peer gc2 down", down.get("summary", "")),
               f"{label}: … its summary says 'peer gc2 down'", down.get("summary"))

    a = start_cta(h, net, "1001", call="2001", timeout=20)
    t0 = time.monotonic()
    rc = a.proc.wait(20)
    took = time.monotonic() - t0
    m = a.proc.wait_line(r"^failed (\d{3})", 0)
    tap.ok(rc not in (0, None) and m and m.group(1) == "503",
           f"{label}: a call to 2001 while gc2 is down fails with 503", a.proc.describe())
    tap.ok(took < 5, f"{label}: … fast ({took:.1f} s, not a timeout)")
    tap.ok(re.search(r"503.*gc2", a.proc.text() + a.proc.stderr()),
           f"{label}: … and A learns that peer gc2 is unreachable", a.proc.describe())
    # The CDR is durable before the 503 goes out: no waiting here.
    cdr = ro_rows(net.store("gc1"), "SELECT outcome, sip_status, reason FROM cdrs WHERE "
                  "caller = '1001' AND callee = '2001' ORDER BY ended_at DESC LIMIT 1")
    tap.ok(cdr and cdr[0][:2] == ("failed", 503),
           f"{label}: gc1's CDR of the refused call (failed, 503) is on disk when A has the 503",
           f"latest CDR: {cdr}")

    # While gc2 stays down, gc1 tries it less and less often (every failed
    # TLS connection costs sofia-sip memory it never frees): count gc1's
    # connection attempts on gc2's port over 10 s of keepalive 1.
    attempts = count_connections(net.port("gc2"), 10)
    tap.ok(attempts is not None and 1 <= attempts <= 6,
           f"{label}: a peer that stays down is tried less and less often "
           f"({attempts} connection attempts in 10 s at --keepalive 1; every second would be 10)")

    try:
        ctls["gc2"] = start_controller(h, net, "gc2", keepalive=1)
    except StartError as e:
        tap.ok(False, f"{label}: gc2 restarts on the same port", e.proc.describe())
        return
    tap.ok(True, f"{label}: gc2 restarts on the same port")
    up2 = peered(gc1, after_seq=down.get("seq", 0) if down else up.get("seq", 0), timeout=6)
    tap.ok(up2 and "peer gc2 up" in up2.get("summary", ""),
           f"{label}: gc1 reports 'peer gc2 up' again", f"{up2}")
    place_calls(h, net, [("1001", "2001")], f"{label}: after (B restarted)")

    # 3: the CTA's own refresh (at most every 30 s) or retry finds the new gc2.
    reg = wait_event(ctls["gc2"], lambda e: e.get("kind") == "register" and
                     "2002" in str(e.get("peer", "")), 40)
    tap.ok(reg, f"{label}: 2002 registers again with the restarted gc2 by itself",
           idle.proc.describe())
    if reg:
        a = start_cta(h, net, "1001", call="2002", duration=1, timeout=25)
        rc_a, rc_b = a.proc.wait(30), idle.proc.wait(15)
        tap.ok(rc_a == 0 and rc_b == 0, f"{label}: … and takes a call (both exit 0)",
               f"A exit {rc_a}, 2002 exit {rc_b}\n{a.proc.describe()}\n{idle.proc.describe()}")
    idle.proc.stop()
    for n, c in ctls.items():
        tap.eq(c.stop(), 0, f"{label}: {n} stops cleanly on SIGTERM (exit 0)")


def main():
    h = Harness("resilience")
    tap = h.tap
    try:
        missing = h.missing_binaries(("admin", "controller", "cta", "unseal"))
        if missing:
            tap.skip("resilience", f"not built: {', '.join(missing)}")
            return
        net = provision(h, ["1001", "1002", "1003", "2001", "2002", "2003"],
                        check_configs=True)
        if net is None:
            return
        only = os.environ.get("KC_RESILIENCE_ONLY")
        if not only or only == "kill":
            kill_after_calls(h, net)
            kill_mid_setup(h, net)
        if not only or only == "peer":
            peer_restart(h, net)
    except Exception:
        h.crashed()
    finally:
        h.finish()


if __name__ == "__main__":
    main()
