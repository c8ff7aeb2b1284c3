#!/usr/bin/env python3
"""Counts the checks in a meson testlog.json and prints the closing line.

TAP tests count each "ok"/"not ok" line; a test whose process failed with
no failing TAP line (a crash, a timeout, a wrong plan) counts one failure
more; a non-TAP test counts as one check. Failing checks are listed last,
each with the first lines of its diagnostics, so that a log cut to its tail
still says what failed.
"""
import json
import re
import sys
from collections import defaultdict



def failing_checks(tap, limit=6, diag_lines=3, width=150):
    """The "not ok" lines of a TAP stream, each with a few diagnostic lines."""
    lines = tap.splitlines()
    shown = []
    for i, line in enumerate(lines):
        if not line.startswith("not ok"):
            continue
        if len(shown) >= limit * (1 + diag_lines):
            shown.append("(more failing checks in the test log)")
            break
        shown.append(line[:width])
        diag = [l for l in lines[i + 1:i + 1 + diag_lines] if l.startswith("#")]
        shown += ["  " + l[:width] for l in diag]
    return shown


passed = failed = 0
per_suite = defaultdict(lambda: [0, 0])
failures = []

with open(sys.argv[1]) as log:
    for line in log:
        test = json.loads(line)
        # meson 1.0 names a test "project:suite / name".
        suite = test["name"].split(" / ")[0].split(":")[-1]
        result = test.get("result", "")
        out = ""
        ok = result in ("OK", "EXPECTEDFAIL", "SKIP")
        if test.get("protocol", "") == "tap" or "1.." in (test.get("stdout") or ""):
            out = test.get("stdout") or ""
            good = len(re.findall(r"^ok\b", out, re.M))
            bad = len(re.findall(r"^not ok\b", out, re.M))
            if not ok and bad == 0:
                bad = 1
        else:
            good, bad = (1, 0) if ok else (0, 1)
        if bad:
            failures.append(f"FAILED {suite}/{test['name']}: {result}")
            failures += [f"    {d}" for d in failing_checks(out)] if good + bad > 1 else []
        passed += good
        failed += bad
        per_suite[suite][0] += good
        per_suite[suite][1] += bad

for suite in sorted(per_suite):
    p, f = per_suite[suite]
    print(f"  {suite:12} {p} passed, {f} failed")
for f in failures:
    print(f"  {f}")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed or passed == 0 else 0)
