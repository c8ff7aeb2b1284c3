#!/usr/bin/env python3
"""Counts the checks in a meson testlog.json and prints the closing line.

TAP tests count each "ok"/"not ok" line; a test whose process failed with
no failing TAP line (a crash, a timeout, a wrong plan) counts one failure
more; a non-TAP test counts as one check.
"""
import json
import re
import sys
from collections import defaultdict

passed = failed = 0
per_suite = defaultdict(lambda: [0, 0])
failures = []

with open(sys.argv[1]) as log:
    for line in log:
        test = json.loads(line)
        # meson 1.0 names a test "project:suite / name".
        suite = test["name"].split(" / ")[0].split(":")[-1]
        result = test.get("result", "")
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
            failures.append(f"{suite}/{test['name']}: {result}")
        passed += good
        failed += bad
        per_suite[suite][0] += good
        per_suite[suite][1] += bad

for suite in sorted(per_suite):
    p, f = per_suite[suite]
    print(f"  {suite:12} {p} passed, {f} failed")
for f in failures:
    print(f"  FAILED {f}")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed or passed == 0 else 0)
