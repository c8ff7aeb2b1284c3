#!/usr/bin/env python3
"""test-soak: a controller gives back everything a call held once it is over.

One controller (gc1) serves both ends. Before any call, its first
"sip stats" debug line says how many live calls, sofia-sip client and
server transactions and dialogs it has at rest. Then calls go through it,
one after the other: answered and hung up by the caller, answered and hung
up by the callee, refused by the callee after ringing (486), and answered
again; one more rings until the
caller gives up (CANCEL), one until gc1's ring timeout cancels it. Each of them makes the downstream INVITE continue on a tagged copy
of its transaction (reliable provisional responses, RFC 3262), the path
that once left two client transactions and their messages behind per call
until shutdown. Once the softphones are gone, the counts must come back to
exactly what they were at rest: no call, transaction or dialog is kept.
The wait for it is bounded by SIP's own timers (a transaction lingers up to
64*T1 after its final response), not measured.
Prints TAP.
"""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from kc_harness import (Harness, StartError, provision, start_controller, start_cta)  # noqa: E402

STATS = (r"sip stats: (\d+) calls, (\d+) client transactions, (\d+) server transactions, "
         r"(\d+) dialogs")
# 64*T1 (32 s) after the last final response, plus slack for a loaded machine.
SETTLE_S = 90


def stats_lines(ctl):
    """Every "sip stats" line so far, as tuples of ints, from the stderr log."""
    return [tuple(int(g) for g in m.groups()) for m in re.finditer(STATS, ctl.proc.stderr())]


def wait_stats(ctl, want, after, timeout):
    """A stats line past the first @after ones equal to @want within
    @timeout s, else None."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if want in stats_lines(ctl)[after:]:
            return want
        if not ctl.proc.running():
            return None
        time.sleep(0.5)
    return None


def call(h, net, tap, label, callee_args, caller_args):
    b = start_cta(h, net, "1002", timeout=30, **callee_args)
    if not tap.ok(b.proc.wait_line(r"^registered 1002 at gc1\b", 10),
                  f"{label}: B 1002 registers", b.proc.describe()):
        return False
    a = start_cta(h, net, "1001", call="1002", **{"timeout": 25, **caller_args})
    rc_a = a.proc.wait(35)
    rc_b = b.proc.wait(15)
    a.proc.stop()
    b.proc.stop()
    a_text = a.proc.text()
    return a_text, rc_a, rc_b, a, b


def main():
    h = Harness("soak")
    tap = h.tap
    try:
        missing = h.missing_binaries(("admin", "controller", "cta"))
        if missing:
            tap.skip("soak", f"not built: {', '.join(missing)}")
            return
        net = provision(h, [("1001", "Alice"), ("1002", "Carol")], controllers=("gc1",))
        if net is None:
            return
        # The stats line is a debug message of the controller's log domain.
        os.environ["G_MESSAGES_DEBUG"] = "keycall-controller"
        try:
            ctl = start_controller(h, net, "gc1", ack_timeout=5, ring_timeout=6)
        except StartError as e:
            tap.ok(False, "gc1 starts", e.proc.describe())
            return
        first = stats_lines(ctl)
        if not tap.ok(first, "gc1 logs its calls, transactions and dialogs at rest",
                      ctl.proc.stderr()[-2000:]):
            return
        rest = first[0]
        seen = len(first)
        tap.eq(rest[0], 0, "no call at rest")

        runs = [
            ("answered, A hangs up", dict(answer=True, duration=5), dict(duration=1),
             r"^answered", True),
            ("answered, B hangs up", dict(answer=True, duration=1), dict(duration=5),
             r"^answered", True),
            ("B refuses after ringing (486)", dict(answer=True, reject=486), dict(),
             r"^failed 486", False),
            ("A gives up while it rings (CANCEL)", dict(answer=True, answer_after=20),
             dict(timeout=3), r"^failed|timed out", False),
            ("no answer: gc1 cancels (ring timeout)", dict(answer=True, answer_after=20),
             dict(), r"^failed 480", False),
            ("answered again", dict(answer=True, duration=5), dict(duration=1),
             r"^answered", True),
        ]
        for label, b_args, a_args, want, ok_exit in runs:
            got = call(h, net, tap, label, b_args, a_args)
            if not got:
                return
            a_text, rc_a, rc_b, a, b = got
            tap.ok(re.search(want, a_text, re.M), f"{label}: A prints /{want}/", a.proc.describe())
            if ok_exit:
                tap.ok(rc_a == 0 and rc_b == 0, f"{label}: both softphones exit 0",
                       f"A: {rc_a}, B: {rc_b}\n{a.proc.describe()}\n{b.proc.describe()}")

        during = stats_lines(ctl)[seen:]
        tap.ok(during and max(s[1] for s in during) > rest[1]
               and max(s[2] for s in during) > rest[2],
               "the calls did use client and server transactions (the counts moved)",
               f"at rest {rest}, highest {during}")
        back = wait_stats(ctl, rest, seen, SETTLE_S)
        tap.ok(back is not None,
               f"after the calls gc1 is back to {rest[0]} calls, {rest[1]} client and "
               f"{rest[2]} server transactions, {rest[3]} dialogs",
               f"at rest {rest}; since: {stats_lines(ctl)[-6:]}")
        tap.diag(f"stats lines: {stats_lines(ctl)}")
        ctl.stop()
    except Exception:
        h.crashed()
    finally:
        h.finish()


if __name__ == "__main__":
    main()
