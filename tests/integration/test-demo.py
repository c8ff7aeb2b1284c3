#!/usr/bin/env python3
"""test-demo: the README's first command runs keycall-demo; this runs it the
same way (from the build tree, finding its programs beside it) and checks
what it promises: exit 0, the FIG. 3 flow, sound heard both ways, and the
LEA opening the stored key to the fingerprint both softphones printed.
Prints TAP."""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from kc_harness import Tap  # noqa: E402

DEMO = os.environ.get("KEYCALL_DEMO")


def main():
    tap = Tap()
    if not DEMO or not os.access(DEMO, os.X_OK):
        tap.ok(False, "keycall-demo is built", f"KEYCALL_DEMO={DEMO}")
        return tap.done()
    r = subprocess.run([DEMO], capture_output=True, text=True, timeout=180)
    out = r.stdout
    tap.ok(r.returncode == 0, "keycall-demo exits 0", f"exit {r.returncode}\n{r.stderr[-1500:]}")
    for step in ("316", "318", "320", "322", "324", "326", "328", "330"):
        tap.ok(re.search(rf"^\s*{step}\s", out, re.M) is not None,
               f"the printed flow has FIG. 3 step {step}")
    for who, line in (("Bob heard Alice", "Bob"), ("Alice heard Bob", "Alice")):
        m = re.search(rf"{who}:\s+([0-9.]+) s of sound", out)
        tap.ok(m is not None and float(m.group(1)) >= 1.0,
               f"{line} heard at least 1 s of sound through the encrypted call",
               m.group(0) if m else out[-1500:])
    m = re.search(r"Alice's key: K ((?:[0-9a-f]{4} ?){4}), Bob's key: K ((?:[0-9a-f]{4} ?){4})", out)
    lea = re.search(r"the LEA's private key opens it: K ((?:[0-9a-f]{4} ?){4})", out)
    tap.ok(m is not None and lea is not None
           and m.group(1).strip() == m.group(2).strip() == lea.group(1).strip(),
           "both softphones and the LEA see the same key fingerprint",
           (m.group(0) if m else "no key line") + " / " + (lea.group(0) if lea else "no LEA line"))
    tap.ok("appear in gc1/store.db: no" in out, "the key's bytes are not in the store")
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
