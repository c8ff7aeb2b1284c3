#!/usr/bin/env python3
"""test-activate: the headless softphone activates with an activation file
and its code (keycall --headless --activate FILE --code CODE,
docs/configuration.md), then registers with the profile it unlocked.

One controller gc1 (1xxx), subscriber 1001, `keycall-admin profile
activation 1001`. Proves: the right code saves the profile at --profile P
(0600) and the softphone registers with it, with the code blanked from its
command line while it runs; a wrong code exits 2 with "cannot activate" and
creates nothing; an existing --profile file is never overwritten; `--code -`
reads the code from stdin and, without --profile, saves to
$XDG_DATA_HOME/keycall/profile.keycall in a 0700 folder; --activate without
--code is a usage error. Prints TAP.
"""

import os
import re
import stat
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from kc_harness import (CTA, HOST, AdminError, Harness, Network, StartError,  # noqa: E402
                        free_port, start_controller)

RUN_TIMEOUT = 60


def keycall(h, args, code_stdin=None, xdg=None):
    env = dict(os.environ)
    env["XDG_DATA_HOME"] = xdg or h.path("xdg-unused")
    argv = [CTA, "--headless", "--listen", f"{HOST}:{free_port()}", "--timeout", "2", *args]
    return subprocess.run(argv, input=code_stdin, capture_output=True, text=True, env=env,
                          timeout=RUN_TIMEOUT, cwd=h.dir)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def describe(r):
    return f"exit {r.returncode}\nstdout: {r.stdout[-800:]}\nstderr: {r.stderr[-800:]}"


def main():
    h = Harness("activate")
    tap = h.tap
    ctl = None
    try:
        missing = h.missing_binaries(("admin", "controller", "cta"))
        if missing:
            tap.skip("headless activation", f"not built: {', '.join(missing)}")
            return
        try:
            net = Network(h)
            net.add_controller("gc1", ["1"])
            net.add_lea("lea1")
            net.add_subscriber("1001", "gc1", "Alice")
            act = h.path("1001.kcactivation")
            out = net.admin("profile", "activation", "1001", "-o", act)
        except AdminError as e:
            tap.ok(False, "provision the test network and an activation file", str(e))
            return
        m = re.search(r"(?m)^\s*Activation code: (\S+)$", out)
        if not tap.ok(m is not None, "keycall-admin prints the activation code", out):
            return
        code = m.group(1)
        try:
            ctl = start_controller(h, net, "gc1")
        except StartError as e:
            tap.ok(False, "start controller gc1", f"{e}\n{e.proc.describe()}")
            return

        # --activate without --code: a usage error before anything is read.
        r = keycall(h, ["--activate", act])
        tap.ok(r.returncode == 2 and "--activate needs --code CODE" in r.stderr,
               "--activate without --code is a usage error (exit 2)", describe(r))

        # A wrong code: exit 2 with the reason, and no profile written.
        prof = h.path("p", "1001.keycall")
        wrong = "0" * 5 + "-" + code[6:]
        r = keycall(h, ["--activate", act, "--code", wrong, "--profile", prof])
        tap.ok(r.returncode == 2 and "keycall: cannot activate: " in r.stderr
               and "code is wrong" in r.stderr and "registered" not in r.stdout,
               "a wrong code exits 2 with 'cannot activate' and does not register", describe(r))
        tap.ok(not os.path.exists(prof), "a wrong code creates no profile file")

        # The right code: saved at --profile (0600), registered with it, and
        # the code is not readable in /proc/PID/cmdline while it runs.
        argv = [CTA, "--headless", "--listen", f"{HOST}:{free_port()}", "--timeout", "3",
                "--activate", act, "--code", code, "--profile", prof]
        proc = h.start("cta-activate", argv,
                       env={**os.environ, "XDG_DATA_HOME": h.path("xdg-unused")})
        saved = proc.wait_line(r"^activated 1001: profile saved to (.*)$", 20)
        tap.ok(saved is not None and saved.group(1) == prof,
               "the right code prints 'activated 1001: profile saved to P'", proc.describe())
        reg = proc.wait_line(r"^registered 1001\b", 20)
        cmdline = b""
        try:
            with open(f"/proc/{proc.pid}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            pass
        tap.ok(reg is not None, "the activated profile registers 1001 with gc1", proc.describe())
        tap.ok(cmdline and code.encode() not in cmdline and act.encode() in cmdline,
               "the code is blanked from the running softphone's command line",
               cmdline.replace(b"\0", b" ").decode(errors="replace"))
        tap.ok(proc.wait(30) == 0, "the activated run ends normally (exit 0)", proc.describe())
        tap.ok(os.path.exists(prof) and mode(prof) == 0o600,
               "the profile is saved with mode 0600",
               oct(mode(prof)) if os.path.exists(prof) else "missing")
        with open(prof, "rb") as f:
            first = f.read()
        with open(net.profile("1001"), "rb") as f:
            exported = f.read()
        tap.ok(first == exported, "the saved profile is the one 'profile export' wrote")

        # An existing --profile file is never overwritten.
        with open(prof, "wb") as f:
            f.write(b"# not a profile, and must stay as it is\n")
        os.chmod(prof, 0o600)
        r = keycall(h, ["--activate", act, "--code", code, "--profile", prof])
        with open(prof, "rb") as f:
            after = f.read()
        tap.ok(r.returncode == 2 and "keycall: cannot activate: " in r.stderr
               and "already exists" in r.stderr and "registered" not in r.stdout,
               "activation onto an existing --profile file exits 2", describe(r))
        tap.ok(after == b"# not a profile, and must stay as it is\n",
               "the existing --profile file is left as it was")

        # --code -: one line of stdin; without --profile the profile goes to
        # $XDG_DATA_HOME/keycall/profile.keycall in a private folder.
        xdg = h.path("xdg")
        dest = os.path.join(xdg, "keycall", "profile.keycall")
        r = keycall(h, ["--activate", act, "--code", "-"], code_stdin=code.lower() + "\n",
                    xdg=xdg)
        tap.ok(r.returncode == 0
               and f"activated 1001: profile saved to {dest}\n" in r.stdout
               and re.search(r"(?m)^registered 1001\b", r.stdout) is not None,
               "--code - reads the code from stdin, saves to $XDG_DATA_HOME and registers",
               describe(r))
        tap.ok(os.path.exists(dest) and mode(dest) == 0o600
               and mode(os.path.dirname(dest)) == 0o700,
               "the default profile is 0600 in a 0700 folder",
               f"{oct(mode(dest))} in {oct(mode(os.path.dirname(dest)))}"
               if os.path.exists(dest) else "missing")

        # --code - with nothing on stdin: refused, nothing replaced.
        with open(dest, "rb") as f:
            before = f.read()
        r = keycall(h, ["--activate", act, "--code", "-"], code_stdin="", xdg=xdg)
        with open(dest, "rb") as f:
            after = f.read()
        tap.ok(r.returncode == 2 and "cannot activate: --code -: stdin held no code" in r.stderr
               and after == before,
               "--code - with an empty stdin exits 2 and leaves the profile", describe(r))
    except Exception:
        h.crashed()
    finally:
        if ctl is not None:
            ctl.stop()
        h.finish()


if __name__ == "__main__":
    main()
