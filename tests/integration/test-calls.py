#!/usr/bin/env python3
"""test-calls: FIG. 3 end to end with real processes on 127.0.0.1.

Two controllers (gc1 serves 1xxx, gc2 serves 2xxx) and two softphones
(A 1001 at gc1 calls B 2001 at gc2), then one controller serving both ends
(1001 calls 1002 at gc1); key modes random and derived; delivery in the
call's own messages ("signaling") and, when built, in separate MESSAGEs.
For each call: both softphones print the same key fingerprint, the
controllers' event logs show FIG. 3 in order (310 before 316, then 316 <
318 < 320 < 322 < 324 < 326 < 328, the key stored before it is sent), the
store holds the key only sealed, the LEA private key opens it to the same
fingerprint, and no log, output or store file holds the key's bytes; the
key travels in the INVITEs' SDP or in MESSAGEs as the delivery mode says;
B's controller names the key's creator (gc1) in Keycall-Key-Origin on its
320, and a Keycall-Key-Origin forged by a raw caller never reaches B.
Then busy (486), declined (603) and ring-timeout (480) calls with their
CDRs, and another LEA's key opening nothing. Prints TAP.
"""

import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from kc_harness import (UNSEAL, Harness, Network, StartError, provision, read_events,  # noqa: E402
                        start_controller, start_cta, store_rows, unseal_check, wait_event)
from kc_rawsip import (RawPeer, derive_call_key, fingerprint,  # noqa: E402
                       raw_call, read_profile_secret)

SEALED_KEY_COLUMNS = {"key_id", "call_id", "caller", "callee", "controller", "created_at",
                      "enc", "sealed", "fingerprint"}


def first(events, pred):
    for ev in events:
        if pred(ev):
            return ev
    return None


def where(ev):
    return f"{ev.get('proc')}#{ev.get('seq')} {ev.get('kind')} {ev.get('summary', '')}"


def before(a, b):
    """a happened before b: by seq within one process, else by timestamp."""
    if a.get("proc") == b.get("proc"):
        return a.get("seq", 0) < b.get("seq", 0)
    return a.get("ts_us", 0) <= b.get("ts_us", 0)


def check_events(tap, label, logs, same, key_mode):
    """FIG. 3 order from the controllers' event logs; returns gc1's key-stored event."""
    all_events = []
    for name, path in logs.items():
        events, errors = read_events(path)
        tap.ok(events and not errors, f"{label}: {name}'s event log is JSON lines, format 1",
               f"{len(events)} events; bad lines: {errors[:3]}")
        seqs = [e.get("seq") for e in events]
        tap.ok(all(isinstance(s, int) for s in seqs) and seqs == sorted(set(seqs)),
               f"{label}: {name}'s event sequence numbers increase", f"seq: {seqs[:40]}")
        all_events += events
    gc1 = read_events(logs["gc1"])[0]

    chain = [316, 320, 322, 326, 328] if same else [316, 318, 320, 322, 324, 326, 328]
    firsts = {}
    for n in chain + [310]:
        cands = [e for e in all_events if e.get("fig3") == n and isinstance(e.get("ts_us"), int)]
        if cands:
            firsts[n] = min(cands, key=lambda e: (e["ts_us"], e.get("seq", 0)))
    missing = [n for n in chain if n not in firsts]
    tap.ok(not missing, f"{label}: events for every FIG. 3 step {chain}",
           f"no event with fig3 {missing}")
    bad = []
    for a, b in zip(chain, chain[1:]):
        if a in firsts and b in firsts and not before(firsts[a], firsts[b]):
            bad.append(f"{a} ({where(firsts[a])}, {firsts[a]['ts_us']}) not before "
                       f"{b} ({where(firsts[b])}, {firsts[b]['ts_us']})")
    tap.ok(not missing and not bad, f"{label}: FIG. 3 steps in order {' < '.join(map(str, chain))}",
           "\n".join(bad) or f"missing {missing}")
    if same:
        tap.ok(not any(e.get("fig3") in (318, 324) for e in gc1),
               f"{label}: same-controller call has no 318/324 (no peer hop)")
    else:
        p310 = first(gc1, lambda e: e.get("fig3") == 310 and e.get("kind") == "tls-up")
        tap.ok(p310 is not None and 316 in firsts and before(p310, firsts[316]),
               f"{label}: gc1 peered with gc2 (310) before the INVITE (316)",
               f"310: {p310 and where(p310)}; 316: {firsts.get(316) and where(firsts[316])}")

    created_kind = "key-derived" if key_mode == "derived" else "key-created"
    created = first(gc1, lambda e: e.get("kind") == created_kind)
    sealed = first(gc1, lambda e: e.get("kind") == "key-sealed")
    stored = first(gc1, lambda e: e.get("kind") == "key-stored")
    sent_step = 320 if same else 318
    sent = first(gc1, lambda e: e.get("kind") == "key-sent" and e.get("fig3") == sent_step)
    ok = all((created, sealed, stored, sent)) and \
        created.get("seq", 0) < sealed.get("seq", 0) < stored.get("seq", 0) < sent.get("seq", 0)
    tap.ok(ok, f"{label}: gc1 {created_kind} < key-sealed < key-stored < key-sent {sent_step}",
           f"{created_kind}: {created and where(created)}; key-sealed: {sealed and where(sealed)}; "
           f"key-stored: {stored and where(stored)}; key-sent {sent_step}: {sent and where(sent)}")
    acks = [e for e in all_events if e.get("kind") == "key-ack"]
    ack_steps = sorted({e.get("fig3") for e in acks})
    tap.ok(322 in ack_steps and 328 in ack_steps,
           f"{label}: both acknowledgments verified (key-ack 322 and 328)",
           f"key-ack events at fig3 {ack_steps}")
    failed = [where(e) for e in all_events if e.get("kind") in ("key-ack-failed", "error")]
    tap.ok(not failed, f"{label}: no key-ack-failed or error events", "\n".join(failed))
    return stored, gc1


def key_origins(events, method):
    """The Keycall-Key-Origin values of each @method request in a CTA's
    received messages (its sip-rx events), one list per request."""
    found = []
    for ev in events:
        msg = str(ev.get("msg") or "")
        if ev.get("kind") == "sip-rx" and msg.startswith(method + " "):
            head = msg.split("\r\n\r\n", 1)[0]
            found.append(re.findall(r"(?im)^Keycall-Key-Origin[ \t]*:[ \t]*(.*?)[ \t]*$",
                                    head.replace("\r", "")))
    return found


def check_origin(tap, label, b, delivery, same):
    """320 names the controller that created K: gc1, the caller's, whether
    gc2 delivers it (two controllers) or gc1 itself (one)."""
    events, _ = read_events(b.events_path)
    invites = key_origins(events, "INVITE")
    tap.ok(invites and all(v == ["controller:gc1"] for v in invites),
           f"{label}: B's INVITE (320) says Keycall-Key-Origin: controller:gc1"
           + ("" if same else ", delivered by gc2"), f"{invites}")
    if delivery == "separate":
        messages = key_origins(events, "MESSAGE")
        tap.ok(messages and all(v == ["controller:gc1"] for v in messages),
               f"{label}: B's key MESSAGE (320) says Keycall-Key-Origin: controller:gc1",
               f"{messages}")
    # The key line ends in "origin NAME" once keycall prints it.
    words = re.findall(r"(?m)^key (?:received|derived)\b.* origin (\S+)$", b.proc.text())
    if words:
        tap.ok(words == ["gc1"], f"{label}: B prints 'key received … origin gc1'",
               b.proc.text())


def forged_origin(h, net):
    """A raw caller's own Keycall-Key-Origin is not passed on: B hears only
    what its controller verified (gc1's certificate, via gc2)."""
    tap = h.tap
    label = "forged origin"
    ctls, b = {}, None
    try:
        try:
            ctls["gc1"] = start_controller(h, net, "gc1")
            ctls["gc2"] = start_controller(h, net, "gc2")
        except StartError as e:
            tap.ok(False, f"{label}: controllers start", e.proc.describe())
            return
        wait_event(ctls["gc1"], lambda e: e.get("kind") == "tls-up"
                   and e.get("peer") == "controller:gc2", 8)
        b = start_cta(h, net, "2001", answer=True, duration=10, timeout=30)
        if not tap.ok(b.proc.wait_line(r"^registered 2001 at gc2\b", 10),
                      f"{label}: B 2001 registers at gc2", b.proc.describe()):
            return
        a = RawPeer(h, net.ca(), net.cert("1001"), net.key("1001"), "1001", net.domain,
                    listen=True)
        conn = a.connect(net.port("gc1"))
        a.register(conn, net.port("gc1"))
        r = raw_call(a, conn, net.port("gc1"), "2001", timeout=20, hangup_after=0.5,
                     headers=["Keycall-Key-Origin: controller:mallory"])
        tap.ok(r.final is not None and r.final.status == 200,
               f"{label}: the raw call with a forged Keycall-Key-Origin is answered",
               r.summary())
        b.proc.wait(10)
        events, _ = read_events(b.events_path)
        invites = key_origins(events, "INVITE")
        tap.ok(invites and all(v == ["controller:gc1"] for v in invites),
               f"{label}: B's INVITE names gc1 only, not the caller's 'mallory'",
               f"{invites}")
        tap.ok(not any("mallory" in str(e.get("msg") or "") + str(e.get("summary") or "")
                       for e in events) and "mallory" not in b.proc.text(),
               f"{label}: 'mallory' is in none of B's messages or output", b.proc.text())
    finally:
        if b is not None:
            b.proc.stop()
        for c in ctls.values():
            c.stop()


def check_delivery(tap, label, logs, delivery):
    """Where K travels: in the INVITEs' SDP ("signaling") or in MESSAGEs'
    Keycall-Key-Mgmt header ("separate"), never both. Read from the
    controllers' sip-tx events, whose messages are redacted to
    "keycall [KEY id … key <fingerprint>]"."""
    requests = []
    for path in logs.values():
        requests += [e for e in read_events(path)[0] if e.get("kind") == "sip-tx"
                     and "status" not in (e.get("attrs") or {})]

    def method(e):
        return (e.get("attrs") or {}).get("method")
    in_invite = [e for e in requests if method(e) == "INVITE"
                 and re.search(r"a=key-mgmt:keycall \[KEY id", str(e.get("msg", "")))]
    in_message = [e for e in requests if method(e) == "MESSAGE"
                  and re.search(r"Keycall-Key-Mgmt: keycall \[KEY id", str(e.get("msg", "")))]
    if delivery == "signaling":
        tap.ok(in_invite and not in_message,
               f"{label}: the key rides in the INVITEs' SDP (a=key-mgmt), in no MESSAGE",
               f"{len(in_invite)} INVITEs and {len(in_message)} MESSAGEs carry a KEY")
    else:
        tap.ok(in_message and not in_invite,
               f"{label}: the key rides in MESSAGEs (Keycall-Key-Mgmt), in no INVITE",
               f"{len(in_invite)} INVITEs and {len(in_message)} MESSAGEs carry a KEY")


def scenario(h, net, label, key_mode, delivery, same):
    tap = h.tap
    callee = "1002" if same else "2001"
    ctls = {}
    procs = []
    try:
        try:
            ctls["gc1"] = start_controller(h, net, "gc1", key_mode=key_mode, delivery=delivery)
            if not same:
                ctls["gc2"] = start_controller(h, net, "gc2", key_mode=key_mode,
                                               delivery=delivery)
        except StartError as e:
            e.proc.wait(2)
            err = e.proc.stderr()
            if delivery == "separate" and e.proc.p.returncode in (1, 2) and "separate" in err:
                tap.skip(f"{label}: call", "controller refuses --delivery separate: "
                         + err.strip().splitlines()[-1][:150])
                return
            tap.ok(False, f"{label}: controllers start and print 'listening'", e.proc.describe())
            return
        tap.ok(True, f"{label}: controllers start and print 'listening'")
        if not same:
            ev = wait_event(ctls["gc1"], lambda e: e.get("kind") == "tls-up"
                            and e.get("peer") == "controller:gc2", 8)
            tap.ok(ev is not None, f"{label}: gc1 reports peering with gc2 (310)",
                   f"events: {[where(e) for e in ctls['gc1'].events()][:20]}")

        b = start_cta(h, net, callee, answer=True, duration=10, timeout=45)
        procs.append(b)
        ctl_b = net.subscribers[callee]
        m = b.proc.wait_line(rf"^registered {callee} at {ctl_b}\b", 10)
        if not tap.ok(m, f"{label}: B {callee} prints 'registered {callee} at {ctl_b}'",
                      b.proc.describe()):
            return
        a = start_cta(h, net, "1001", call=callee, duration=1, timeout=25)
        procs.append(a)
        tap.ok(a.proc.wait_line(r"^registered 1001 at gc1\b", 10),
               f"{label}: A 1001 prints 'registered 1001 at gc1'", a.proc.describe())
        rc_a = a.proc.wait(30)
        rc_b = b.proc.wait(15)
        tap.ok(rc_a == 0, f"{label}: A's call is answered, lasts, hangs up cleanly (exit 0)",
               a.proc.describe())
        tap.ok(rc_b == 0, f"{label}: B answers one call and exits 0", b.proc.describe())

        word_a, fp_a = a.fingerprint()
        word_b, fp_b = b.fingerprint()
        want_a = "derived" if key_mode == "derived" else "received"
        tap.eq(word_a, want_a, f"{label}: A prints 'key {want_a} … fingerprint'")
        tap.eq(word_b, "received", f"{label}: B prints 'key received … fingerprint'")
        tap.ok(fp_a and fp_a == fp_b, f"{label}: A and B print the same key fingerprint",
               f"A: {fp_a}, B: {fp_b}")
        seq = ["calling", "key (received|derived)", "key acknowledged", "ringing", "answered",
               "ended"]
        pos, bad = 0, None
        lines = [l for _, l in a.proc.lines]
        for word in seq:
            idx = next((i for i in range(pos, len(lines)) if re.match(word, lines[i])), None)
            if idx is None:
                bad = word
                break
            pos = idx + 1
        tap.ok(bad is None, f"{label}: A's states in order: {', '.join(seq)}",
               f"missing or out of order: {bad}\n{a.proc.text()}")
        a_events, a_errors = read_events(a.events_path)
        tap.ok(a_events and not a_errors
               and all(e.get("lane") == "cta:1001" for e in a_events),
               f"{label}: A's --events log is JSON lines on lane cta:1001",
               f"{len(a_events)} events, bad lines {a_errors[:2]}, lanes "
               f"{sorted({str(e.get('lane')) for e in a_events})}")
        b_lines = [l for _, l in b.proc.lines]
        tap.ok(any(l.startswith("incoming call from 1001") for l in b_lines),
               f"{label}: B prints 'incoming call from 1001'", b.proc.text())
        check_origin(tap, label, b, delivery, same)
    finally:
        for p in procs:
            p.proc.stop()
        statuses = {n: c.stop() for n, c in ctls.items()}
    if not ctls or len(ctls) != (1 if same else 2):
        return
    tap.ok(all(s == 0 for s in statuses.values()),
           f"{label}: controllers shut down cleanly on SIGTERM (exit 0)", f"{statuses}")

    logs = {n: c.events_path for n, c in ctls.items()}
    stored, gc1_events = check_events(tap, label, logs, same, key_mode)
    check_delivery(tap, label, logs, delivery)
    key_id = stored.get("key_id") if stored else None
    if not tap.ok(key_id and re.fullmatch(r"[0-9a-f]{32}", key_id),
                  f"{label}: key-stored event names the key id", f"{stored}"):
        return
    if stored.get("fp") is not None:
        tap.eq(stored.get("fp"), fp_a, f"{label}: key-stored event fingerprint matches A's")

    rows = store_rows(net.store("gc1"),
                      "SELECT call_id, caller, callee, length(enc), length(sealed), fingerprint "
                      "FROM sealed_keys WHERE hex(key_id) = ?", (key_id.upper(),))
    tap.ok(len(rows) == 1, f"{label}: gc1's store holds the call's key record", f"rows: {rows}")
    if rows:
        call_id, caller, callee_row, enc_len, sealed_len, fp_row = rows[0]
        tap.ok((caller, callee_row) == ("1001", callee),
               f"{label}: key record names caller 1001 and callee {callee}",
               f"{caller} -> {callee_row}")
        tap.ok((enc_len, sealed_len) == (32, 48),
               f"{label}: key stored only sealed (HPKE enc 32 + sealed 48 bytes)",
               f"enc {enc_len}, sealed {sealed_len}")
        tap.eq(fp_row, fp_a, f"{label}: stored fingerprint is the softphones'")
        cols = {r[1] for r in store_rows(net.store("gc1"), "PRAGMA table_info(sealed_keys)")}
        tap.eq(cols, SEALED_KEY_COLUMNS, f"{label}: sealed_keys has no column for a plain key")
        cdr = store_rows(net.store("gc1"), "SELECT outcome, sip_status FROM cdrs WHERE call_id = ?",
                         (call_id,))
        tap.ok(cdr and cdr[0][0] == "answered",
               f"{label}: gc1 wrote a CDR with outcome 'answered' for A's Call-ID",
               f"cdr rows for {call_id}: {cdr}")

        if key_mode == "derived":
            nonce = None
            for ev in gc1_events:
                m = re.search(r"\[DERIVE id [0-9a-f]{8} nonce ([0-9a-f]{32})\]",
                              str(ev.get("msg", "")) + str(ev.get("summary", "")))
                if m:
                    nonce = bytes.fromhex(m.group(1))
                    break
            secret = read_profile_secret(net.profile("1001"))
            if tap.ok(nonce is not None, f"{label}: gc1's 326 event shows the DERIVE nonce"):
                k = derive_call_key(secret, bytes.fromhex(key_id), nonce, call_id)
                tap.eq(fingerprint(k), fp_a,
                       f"{label}: key = HKDF(nonce, 1001's secret, key id, Call-ID) (claim 3)")
                del k

    search = [net.store("gc1"), net.store("gc1") + "-wal"] + list(logs.values())
    for p in procs:
        search += [p.proc.out_path, p.proc.err_path, p.events_path]
    for c in ctls.values():
        search += [c.proc.out_path, c.proc.err_path]
    search = [f for f in search if os.path.exists(f)]
    rc, fps, files, out = unseal_check(net, "gc1", key_id=key_id, search=search)
    tap.eq(fps.get(key_id), fp_a, f"{label}: LEA private key opens the sealed key to the "
           "softphones' fingerprint")
    dirty = {f: how for f, how in files.items() if how != "clean"}
    tap.ok(rc == 0 and len(files) == len(search) and not dirty,
           f"{label}: key bytes in none of {len(search)} files (store, WAL, event logs, "
           "stdout/stderr)", out)


def outcomes(h, net):
    """Calls that do not complete: the callee's status reaches the caller,
    a callee that never answers meets --ring-timeout, and each call gets a
    CDR with the outcome."""
    tap = h.tap
    try:
        ctl = start_controller(h, net, "gc1", ring_timeout=2)
    except StartError as e:
        tap.ok(False, "outcomes: gc1 starts with --ring-timeout 2", e.proc.describe())
        return
    try:
        for what, b_args, codes, outcome in (
                ("busy", dict(reject=486), ("486",), "busy"),
                ("declined", dict(reject=603), ("603",), "declined"),
                ("no answer", dict(answer_after=10), ("480",), "no-answer")):
            b = start_cta(h, net, "1002", answer=True, duration=5, timeout=20, **b_args)
            if not b.proc.wait_line(r"^registered 1002 at gc1\b", 10):
                tap.ok(False, f"outcomes: B 1002 registers ({what})", b.proc.describe())
                b.proc.stop()
                continue
            a = start_cta(h, net, "1001", call="1002", duration=1, timeout=20)
            t0 = time.monotonic()
            t0_wall = time.time()
            rc = a.proc.wait(25)
            took = time.monotonic() - t0
            m = a.proc.wait_line(r"^failed (\d{3})", 0)
            tap.ok(rc not in (0, None) and m and m.group(1) in codes,
                   f"outcomes: {what}: A prints 'failed {'/'.join(codes)}' and exits non-zero",
                   a.proc.describe())
            if what == "no answer":
                tap.ok(took < 12, "outcomes: the ring-timeout (2 s) ends the call, "
                       "not A's own timeout", f"took {took:.1f} s")
            tap.ok(a.proc.stderr().strip() != "", f"outcomes: {what}: A says why on stderr",
                   a.proc.describe())
            a.proc.stop()
            b.proc.stop()
            deadline = time.monotonic() + 3
            while True:     # the CDR is written once the call is over: poll briefly
                cdrs = store_rows(net.store("gc1"),
                                  "SELECT outcome, sip_status, reason FROM cdrs WHERE caller = "
                                  "'1001' AND callee = '1002' AND ended_at >= ? "
                                  "ORDER BY ended_at DESC LIMIT 1", (int(t0_wall * 1e6),))
                if cdrs or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            tap.ok(cdrs and cdrs[0][0] == outcome and str(cdrs[0][1]) in codes,
                   f"outcomes: {what}: gc1's CDR says {outcome} with the status",
                   f"latest CDR 1001 → 1002: {cdrs}")
    finally:
        ctl.stop()


def main():
    h = Harness("calls")
    tap = h.tap
    try:
        missing = h.missing_binaries(("admin", "controller", "cta", "unseal"))
        if missing:
            tap.skip("signaling calls", f"not built: {', '.join(missing)}")
            return
        net = provision(h, [("1001", "Alice"), ("1002", "Carol"), ("2001", "Bob")],
                        check_configs=True)
        if net is None:
            return

        only = os.environ.get("KC_CALLS_ONLY")   # e.g. "random-signaling" while debugging
        for same in (False, True):
            for key_mode in ("random", "derived"):
                for delivery in ("signaling", "separate"):
                    label = (f"{'gc1 only' if same else 'gc1+gc2'} {key_mode}/{delivery}")
                    if only and only not in label.replace("/", "-"):
                        continue
                    if h.elapsed() > 100:
                        tap.skip(label, "over the test's time budget (earlier calls hung)")
                        continue
                    scenario(h, net, label, key_mode, delivery, same)

        outcomes(h, net)
        forged_origin(h, net)

        # only the network's LEA key opens the store's keys
        other = Network(h, name="Other Net", folder="other")
        other.add_lea("lea9")
        r = subprocess.run([UNSEAL, "--store", net.store("gc1"), "--lea-key", other.seal_key()],
                           capture_output=True, text=True, timeout=60)
        tap.ok(r.returncode == 1 and "unopened" in r.stdout
               and "fingerprint" not in r.stdout,
               "another LEA's private key opens none of gc1's sealed keys",
               f"exit {r.returncode}\n{r.stdout[-800:]}{r.stderr[-400:]}")
    except Exception:
        h.crashed()
    finally:
        h.finish()


if __name__ == "__main__":
    main()
