#!/usr/bin/env python3
"""test-demo: the README's first command runs keycall-demo; this runs it the
same way (from the build tree, finding its programs beside it) and checks
what it promises: exit 0, the FIG. 3 flow, sound heard both ways, and the
LEA opening the stored key to the fingerprint both softphones printed.
Prints TAP."""

import os
import re
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from kc_harness import Tap  # noqa: E402

DEMO = os.environ.get("KEYCALL_DEMO")


def main():
    tap = Tap()
    if not DEMO or not os.access(DEMO, os.X_OK):
        tap.ok(False, "keycall-demo is built", f"KEYCALL_DEMO={DEMO}")
        return tap.done()
    # Without the window: what a machine with no display runs (the tests
    # run under Xvfb, so say it).
    r = subprocess.run([DEMO, "--no-window"], capture_output=True, text=True, timeout=180)
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
    # FIG. 5: lea1 tapped Alice before the call, opened the delivered key and
    # recorded the call from gc1's relay copies.
    opened = re.search(r"lea1 opened it: K ((?:[0-9a-f]{4} ?){4})", out)
    rec = re.search(r"(\d+) packets, ([0-9.]+) s of audio, (\S+\.wav)", out)
    tap.ok(m is not None and opened is not None and opened.group(1).strip() == m.group(1).strip(),
           "the LEA's tap delivered the call's key: the same fingerprint as the softphones'",
           (opened.group(0) if opened else "no LEA key line") + "\n" + out[-1500:])
    tap.ok(rec is not None and int(rec.group(1)) > 100 and float(rec.group(2)) >= 1.0,
           "the LEA recorded the call from the relay's copies", rec.group(0) if rec else out[-1500:])
    window_demo(tap)
    step_demo(tap)
    return tap.done()


def window_demo(tap):
    """With a display, the controller window draws the call live and the
    demo ends when a person closes it (here: SIGTERM, as closing does)."""
    if not os.environ.get("DISPLAY"):
        tap.skip("the demo with its controller window", "no DISPLAY")
        return
    p = subprocess.Popen([DEMO, "--keep"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, start_new_session=True)
    lines, pid, net = [], None, None
    deadline = time.monotonic() + 120
    try:
        for line in p.stdout:
            lines.append(line)
            m = re.search(r"controller window \(keycall-flow, pid (\d+)\)", line)
            if m:
                pid = int(m.group(1))
            m = re.search(r"Network folder: (\S+)", line)
            if m:
                net = m.group(1)
            if "close it to finish" in line or time.monotonic() > deadline:
                break
        tap.ok(pid is not None, "with a display the demo opens the controller window",
               "".join(lines)[-1500:])
        alive = pid is not None and os.path.exists(f"/proc/{pid}")
        tap.ok(alive and "close it to finish" in "".join(lines),
               "after the call the window stays open until it is closed", "".join(lines)[-1500:])
        # The window subscribed to both controllers: its own stderr says
        # nothing went wrong, and the controllers served a client.
        if pid is not None:
            os.kill(pid, 15)
        rest, err = p.communicate(timeout=30)
        lines.append(rest)
        tap.ok(p.returncode == 0, "closing the window ends the demo, exit 0",
               f"exit {p.returncode}\n{err[-1500:]}")
        window_err = ""
        if net:
            try:
                with open(os.path.join(net, "logs", "controller-window.err")) as f:
                    window_err = f.read()
            except OSError as e:
                window_err = f"(no log: {e})"
        tap.ok("CRITICAL" not in window_err and "WARNING" not in window_err,
               "the controller window ran without warnings", window_err[-1500:])
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        kill_group(p)
        if net:
            subprocess.run(["rm", "-rf", os.path.dirname(net)])


def kill_group(p):
    """A demo that failed or was killed may leave its controllers and
    softphones behind: they share its process group."""
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def drain(sock):
    try:
        while sock.recv(65536):
            pass
    except OSError:
        pass


def step_demo(tap):
    """--step: gc1 holds each message it sends until the window's Next; the
    test plays the teacher by writing Next to gc1's window socket."""
    r = subprocess.run([DEMO, "--step", "--no-window"], capture_output=True, text=True,
                       timeout=60)
    tap.ok(r.returncode == 2 and "--step needs the controller window" in r.stderr,
           "--step without the window is refused", f"exit {r.returncode}\n{r.stderr[-500:]}")
    if not os.environ.get("DISPLAY"):
        tap.skip("the demo in step mode", "no DISPLAY")
        return
    import socket
    p = subprocess.Popen([DEMO, "--step", "--keep"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, start_new_session=True)
    net, sock = None, None
    try:
        for line in p.stdout:
            m = re.search(r"Network folder: (\S+)", line)
            if m:
                net = m.group(1)
            if "controller window (keycall-flow" in line:
                break
        events = os.path.join(net, "logs", "gc1.events") if net else ""
        deadline = time.monotonic() + 30
        held = ""
        while time.monotonic() < deadline and '"step-hold"' not in held:
            time.sleep(0.2)
            try:
                with open(events) as f:
                    held = f.read()
            except OSError:
                pass
        time.sleep(2)   # nothing moves on while nobody presses Next
        with open(events) as f:
            text = f.read()
        tap.ok('"step-hold"' in text and '"step-release"' not in text,
               "gc1 holds its first message and releases nothing without Next", text[-800:])
        sock = socket.socket(socket.AF_UNIX)
        sock.connect(os.path.join(net, "logs", "gc1.window"))
        # The socket streams events too: read them, as a window does, or be
        # dropped as a slow client.
        threading.Thread(target=drain, args=(sock,), daemon=True).start()
        out = []
        reader = threading.Thread(target=lambda: out.extend(p.stdout), daemon=True)
        reader.start()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and "close it to finish" not in "".join(out):
            try:
                sock.send(b'{"v":1,"op":"next"}\n')
            except OSError as e:   # gc1 gone: the demo failed, its output says why
                out.append(f"(gc1's window socket: {e})\n")
                time.sleep(2)
                break
            time.sleep(0.5)
        text = "".join(out)
        tap.ok("close it to finish" in text and re.search(r"released: 330 200 OK", text),
               "pressing Next step by step completes the call (the flow shows held and released messages)",
               text[-3000:])
        tap.ok("Bob heard Alice" in text, "the call in step mode has its media", text[-800:])
    finally:
        if sock is not None:
            sock.close()
        subprocess.run(["pkill", "-TERM", "-f", f"keycall-flow.*{net}"] if net else ["true"])
        try:
            p.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
        kill_group(p)
        tap.ok(p.returncode == 0, "closing the window ends the step demo, exit 0",
               f"exit {p.returncode}")
        if net:
            subprocess.run(["rm", "-rf", os.path.dirname(net)])


if __name__ == "__main__":
    sys.exit(main())
