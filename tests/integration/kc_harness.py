"""kc_harness: shared code of the Keycall integration tests.

Provisions networks with keycall-admin in a temporary folder, starts
controllers and softphones as real processes on 127.0.0.1 (each in its own
process group, all killed at exit even on failure), reads their stdout and
JSON-lines event logs and the stores. Prints TAP. Standard library only.
Never prints key material. The raw SIP peer is in kc_rawsip.py.
"""

import atexit
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

ADMIN = os.environ.get("KEYCALL_ADMIN")
CONTROLLER = os.environ.get("KEYCALL_CONTROLLER")
CTA = os.environ.get("KEYCALL")
UNSEAL = os.environ.get("KC_UNSEAL_CHECK")
LEA = os.environ.get("KEYCALL_LEA")
HOST = "127.0.0.1"


# --- TAP ----------------------------------------------------------------------

_REDACT = [
    (re.compile(r"(keycall )[A-Za-z0-9+/_-]{40,}={0,2}"), r"\1[redacted by the test]"),
    (re.compile(r"(inline:)[A-Za-z0-9+/]{20,}={0,2}"), r"\1[redacted by the test]"),
    (re.compile(r"\b[0-9a-fA-F]{64,}\b"), "[long hex redacted by the test]"),
]


def redact(text):
    """What the tests print goes through this: if a program under test ever
    logs a key, a failing test must not print it again."""
    for rx, repl in _REDACT:
        text = rx.sub(repl, text)
    return text


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0
        self.started = time.monotonic()

    def diag(self, text):
        for line in redact(str(text)).splitlines() or [""]:
            print("# " + line, flush=True)

    def ok(self, cond, desc, diag=None):
        self.n += 1
        desc = desc.replace("#", "")
        if cond:
            print(f"ok {self.n} - {desc}", flush=True)
        else:
            self.failed += 1
            print(f"not ok {self.n} - {desc}", flush=True)
            if diag:
                self.diag(diag)
        return bool(cond)

    def eq(self, got, want, desc):
        return self.ok(got == want, desc, f"expected {want!r}, got {got!r}")

    def skip(self, desc, reason):
        self.n += 1
        print(f"ok {self.n} - {desc.replace('#', '')} # SKIP {reason}", flush=True)

    def done(self):
        print(f"1..{self.n}", flush=True)
        self.diag(f"{self.n - self.failed}/{self.n} passed in "
                  f"{time.monotonic() - self.started:.1f} s")
        return 1 if self.failed else 0


# --- processes ------------------------------------------------------------------

_procs = []
_cleanups = []
_lock = threading.RLock()


def cleanup():
    """Stops every process the harness started (their whole process groups)."""
    with _lock:
        procs = list(_procs)
        _procs.clear()
        funcs = list(_cleanups)
        _cleanups.clear()
    for p in procs:
        p.stop(timeout=3)
    for f in reversed(funcs):
        try:
            f()
        except Exception:
            pass


def _on_signal(signum, frame):
    cleanup()
    sys.exit(128 + signum)


atexit.register(cleanup)
signal.signal(signal.SIGTERM, _on_signal)
signal.signal(signal.SIGINT, _on_signal)


def on_cleanup(func):
    with _lock:
        _cleanups.append(func)


class Proc:
    """A process in its own process group; stdout lines are collected with
    their arrival time, stderr goes to a file."""

    def __init__(self, name, argv, workdir, env=None, capture_stdout=True):
        self.name = name
        self.argv = [str(a) for a in argv]
        self.out_path = os.path.join(workdir, name + ".stdout")
        self.err_path = os.path.join(workdir, name + ".stderr")
        self.lines = []
        self.cond = threading.Condition()
        self.eof = False
        err = open(self.err_path, "wb")
        full_env = dict(os.environ)
        full_env.setdefault("G_MESSAGES_DEBUG", "")
        if env:
            full_env.update(env)
        self.p = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE if capture_stdout else err,
                                  stderr=err, start_new_session=True, env=full_env,
                                  cwd=workdir)
        err.close()
        with _lock:
            _procs.append(self)
        if capture_stdout:
            self.reader = threading.Thread(target=self._read, daemon=True)
            self.reader.start()
        else:
            self.eof = True

    def _read(self):
        with open(self.out_path, "wb") as out:
            for raw in self.p.stdout:
                out.write(raw)
                out.flush()
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                with self.cond:
                    self.lines.append((time.time(), line))
                    self.cond.notify_all()
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    @property
    def pid(self):
        return self.p.pid

    def text(self):
        with self.cond:
            return "\n".join(line for _, line in self.lines)

    def stderr(self):
        try:
            with open(self.err_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def wait_line(self, pattern, timeout, start=0):
        """The first match of @pattern in a stdout line (from line @start on),
        waiting up to @timeout seconds; None if the process ends or time runs out."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.cond:
            i = start
            while True:
                while i < len(self.lines):
                    m = rx.search(self.lines[i][1])
                    if m:
                        return m
                    i += 1
                left = deadline - time.monotonic()
                if left <= 0 or self.eof:
                    return None
                self.cond.wait(min(left, 0.2))

    def find_lines(self, pattern):
        rx = re.compile(pattern)
        with self.cond:
            return [(t, l) for t, l in self.lines if rx.search(l)]

    def wait(self, timeout):
        try:
            return self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def running(self):
        return self.p.poll() is None

    def send_signal(self, sig):
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, sig)
            except ProcessLookupError:
                pass

    def _group_alive(self):
        try:
            os.killpg(self.p.pid, 0)
            return True
        except (ProcessLookupError, PermissionError):
            return False

    def stop(self, timeout=5, sig=signal.SIGTERM):
        """@sig (SIGTERM) to the group, then SIGKILL; returns the leader's exit
        status once the whole group is gone (tshark's dumpcap, for one, may
        still be closing its file when tshark has exited)."""
        deadline = time.monotonic() + timeout
        if self.p.poll() is None:
            self.send_signal(sig)
            try:
                self.p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.send_signal(signal.SIGKILL)
                self.p.wait(timeout=5)
        while self._group_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        if self._group_alive():
            try:
                os.killpg(self.p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        with _lock:
            if self in _procs:
                _procs.remove(self)
        return self.p.returncode

    def describe(self):
        return (f"command: {' '.join(self.argv)}\nexit status: {self.p.poll()}\n"
                f"stdout:\n{self.text()}\nstderr (last 2000 chars):\n{self.stderr()[-2000:]}")


_given_ports = set()


def _ephemeral_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = (int(x) for x in f.read().split())
            return low, high
    except (OSError, ValueError):
        return 32768, 60999


def free_port():
    """A TCP port free right now on 127.0.0.1, for a server started a moment later.

    Taken below the kernel's ephemeral range: a port from that range (what
    bind to port 0 gives) can become the source port of any process's
    outgoing connection before our server binds it, which tests running side
    by side made happen. Random, so that tests running at once seldom try
    the same one; never the same twice in one test."""
    low, _ = _ephemeral_range()
    first, last = 20000, max(20000 + 1000, low - 1)
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randint(first, last)
        if port in _given_ports:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((HOST, port))
            except OSError:
                continue
        _given_ports.add(port)
        return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


# --- working folder and network ---------------------------------------------------

class Harness:
    def __init__(self, name):
        self.tap = Tap()
        self.dir = tempfile.mkdtemp(prefix=f"keycall-{name}.")
        os.chmod(self.dir, 0o700)
        keep = os.environ.get("KC_KEEP_TMP")
        if keep:
            self.tap.diag(f"keeping {self.dir}")
        else:
            on_cleanup(lambda: shutil.rmtree(self.dir, ignore_errors=True))
        self.counter = 0

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def unique(self, stem):
        self.counter += 1
        return f"{stem}-{self.counter}"

    def missing_binaries(self, need=("admin", "controller", "cta")):
        names = {"admin": ADMIN, "controller": CONTROLLER, "cta": CTA, "unseal": UNSEAL,
                 "lea": LEA}
        return [n for n in need if not names[n] or not os.access(names[n], os.X_OK)]

    def elapsed(self):
        return time.monotonic() - self.tap.started

    def start(self, name, argv, env=None, capture_stdout=True):
        return Proc(self.unique(name), argv, self.dir, env=env, capture_stdout=capture_stdout)

    def crashed(self):
        """Records an exception of the test script itself as a failure."""
        import traceback
        self.tap.ok(False, "the test script ran to its end", traceback.format_exc())

    def finish(self):
        cleanup()
        sys.exit(self.tap.done())


class AdminError(Exception):
    pass


class Network:
    """A network folder provisioned with keycall-admin."""

    def __init__(self, h, name="Test Net", folder="net"):
        self.h = h
        self.dir = h.path(folder)
        self.controllers = {}     # name -> dict(port, prefixes)
        self.subscribers = {}     # number -> controller
        self.lea = None           # the first LEA: the one controllers seal keys to
        self.leas = []
        self.domain = "keycall.test"
        self.admin("init", "--name", name)

    def admin(self, *args):
        r = subprocess.run([ADMIN, "--dir", self.dir, *args], capture_output=True,
                           text=True, timeout=60)
        if r.returncode != 0:
            raise AdminError(f"keycall-admin {' '.join(args)}: exit {r.returncode}: "
                             f"{r.stderr.strip()}")
        return r.stdout

    def add_controller(self, name, prefixes, li_port=None):
        """@li_port: None leaves the LI port to keycall-admin (SIP port + 1),
        "free" takes a free port, a number that one (--li-port); every
        lea.ini then names it ([controller NAME] li-address)."""
        port = free_port()
        args = ["controller", "add", name, "--host", HOST, "--port", str(port)]
        for p in prefixes:
            args += ["--prefix", p]
        if li_port is not None:
            args += ["--li-port", str(free_port() if li_port == "free" else li_port)]
        self.admin(*args)
        self.controllers[name] = {"port": port, "prefixes": list(prefixes)}
        return port

    def add_lea(self, name="lea1"):
        """keycall-admin lea add: NET/lea/NAME/ with lea.ini, cert.pem, key.pem,
        cafile.pem (TLS) and seal.key/seal.pub (HPKE). Controllers seal to the
        first LEA added, so net.lea stays the first."""
        self.admin("lea", "add", name)
        self.leas.append(name)
        if self.lea is None:
            self.lea = name

    def add_subscriber(self, number, controller, name=None):
        self.admin("subscriber", "add", number, "--name", name or f"User {number}",
                   "--controller", controller)
        self.admin("profile", "export", number)
        self.subscribers[number] = controller

    def set_media(self, ctl, **values):
        """Replaces the [media] group of @ctl's controller.ini with @values
        (keys with '_' as '-'); none removes the group."""
        path = self.ini(ctl)
        with open(path) as f:
            text = f.read()
        text = re.sub(r"(?ms)^\[media\]\n.*?(?=^\[|\Z)", "", text).rstrip("\n") + "\n"
        if values:
            text += "\n[media]\n" + "".join(f"{k.replace('_', '-')}={v}\n"
                                            for k, v in values.items())
        with open(path, "w") as f:
            f.write(text)

    # paths
    def ini(self, ctl):
        return os.path.join(self.dir, "controllers", ctl, "controller.ini")

    def store(self, ctl):
        return os.path.join(self.dir, "controllers", ctl, "store.db")

    def ctl_file(self, ctl, f):
        return os.path.join(self.dir, "controllers", ctl, f)

    def profile(self, number):
        return os.path.join(self.dir, "subscribers", number, number + ".keycall")

    def cert(self, number):
        return os.path.join(self.dir, "subscribers", number, "cert.pem")

    def key(self, number):
        return os.path.join(self.dir, "subscribers", number, "key.pem")

    def ca(self):
        return os.path.join(self.dir, "ca", "ca.pem")

    def seal_key(self):
        return os.path.join(self.dir, "lea", self.lea, "seal.key")

    def seal_pub(self):
        return os.path.join(self.dir, "lea", self.lea, "seal.pub")

    def port(self, ctl):
        return self.controllers[ctl]["port"]

    def lea_dir(self, name=None):
        return os.path.join(self.dir, "lea", name or self.lea)

    def lea_ini(self, name=None):
        return os.path.join(self.lea_dir(name), "lea.ini")

    def lea_cert(self, name=None):
        return os.path.join(self.lea_dir(name), "cert.pem")

    def lea_key(self, name=None):
        return os.path.join(self.lea_dir(name), "key.pem")

    def crl(self):
        return os.path.join(self.dir, "crl.pem")

    def li_port(self, ctl):
        """The controller's lawful-intercept port: [lawful-intercept] listen
        in its controller.ini, else the SIP port + 1 (the default)."""
        with open(self.ini(ctl)) as f:
            text = f.read()
        m = re.search(r"(?ms)^\[lawful-intercept\]\n(?:(?!^\[).)*?^listen\s*=\s*\S+:(\d+)\s*$",
                      text)
        return int(m.group(1)) if m else self.port(ctl) + 1

    def check_configs(self, tap):
        """keycall-admin keeps lea-public-key and one [peer NAME] group per other
        controller in every controller.ini; a test network relies on that, so a
        missing entry is a failure (of keycall-admin), not something to patch."""
        missing = []
        for ctl in self.controllers:
            with open(self.ini(ctl)) as f:
                text = f.read()
            if self.lea and not re.search(r"(?m)^lea-public-key\s*=", text):
                missing.append(f"{ctl}: lea-public-key")
            for peer in self.controllers:
                if peer != ctl and not re.search(rf"(?m)^\[peer {re.escape(peer)}\]", text):
                    missing.append(f"{ctl}: [peer {peer}]")
        return tap.ok(not missing, "keycall-admin wrote every controller's peers and LEA key",
                      "missing: " + ", ".join(missing))


# --- controllers and softphones ------------------------------------------------------

class Controller:
    def __init__(self, h, net, name, proc, events, listen):
        self.h, self.net, self.name, self.proc = h, net, name, proc
        self.events_path = events
        self.listen = listen

    def events(self):
        return read_events(self.events_path)[0]

    def stop(self):
        return self.proc.stop(timeout=10)


class StartError(Exception):
    def __init__(self, message, proc):
        super().__init__(message)
        self.proc = proc


def start_controller(h, net, name, key_mode=None, delivery=None, ack_timeout=2,
                     ring_timeout=None, keepalive=1, extra=(), wait=15):
    events = h.path(h.unique(f"{name}-events") + ".jsonl")
    argv = [CONTROLLER, "--headless", "--config", net.ini(name), "--events", events,
            "--keepalive", str(keepalive)]
    if key_mode:
        argv += ["--key-mode", key_mode]
    if delivery:
        argv += ["--delivery", delivery]
    if ack_timeout is not None:
        argv += ["--ack-timeout", str(ack_timeout)]
    if ring_timeout is not None:
        argv += ["--ring-timeout", str(ring_timeout)]
    argv += list(extra)
    proc = h.start(name, argv)
    m = proc.wait_line(r"^listening (sips:\S+)", wait)
    if not m:
        proc.wait(1)
        raise StartError(f"controller {name} did not print 'listening sips:HOST:PORT' within "
                         f"{wait} s", proc)
    return Controller(h, net, name, proc, events, m.group(1))


def start_pair(h, net, label="", **kw):
    """gc1 and gc2 started with start_controller(**kw), and gc1 peered with
    gc2 (its tls-up; a failed check when that does not come within 8 s).
    None, after a failed check ("LABEL: controllers start"), when either
    does not start; what did start is stopped then."""
    prefix = f"{label}: " if label else ""
    ctls = {}
    try:
        for ctl in ("gc1", "gc2"):
            ctls[ctl] = start_controller(h, net, ctl, **kw)
    except StartError as e:
        h.tap.ok(False, f"{prefix}controllers start", e.proc.describe())
        for c in ctls.values():
            c.stop()
        return None
    if not wait_event(ctls["gc1"], lambda e: e.get("kind") == "tls-up"
                      and e.get("peer") == "controller:gc2", 8):
        h.tap.ok(False, f"{prefix}gc1 peers with gc2", str(ctls["gc1"].events()[:10]))
    return ctls


class Cta:
    def __init__(self, proc, number, port, events):
        self.proc, self.number, self.port, self.events_path = proc, number, port, events

    def fingerprint(self):
        """(word, fingerprint) from 'key received|derived … fingerprint XXXX XXXX XXXX XXXX'."""
        lines = self.proc.find_lines(r"^key (received|derived)\b")
        if not lines:
            return None, None
        m = re.search(r"^key (received|derived)\b.*fingerprint ((?:[0-9a-f]{4} ?){4})",
                      lines[0][1])
        if not m:
            return lines[0][1].split()[1], None
        return m.group(1), m.group(2).strip()


def start_cta(h, net, number, call=None, answer=False, duration=1, timeout=30,
              answer_after=None, reject=None, extra=(), port=None):
    # port=0: the softphone lets the kernel choose (see Cta.listen_port()).
    port = free_port() if port is None else port
    events = h.path(h.unique(f"cta-{number}-events") + ".jsonl")
    listen = f"{HOST}:{port}" if port else HOST
    argv = [CTA, "--headless", "--profile", net.profile(number), "--listen", listen,
            "--events", events, "--timeout", str(timeout)]
    if call:
        argv += ["--call", call, "--duration", str(duration)]
    if answer:
        argv += ["--answer", "--duration", str(duration)]
    if answer_after is not None:
        argv += ["--answer-after", str(answer_after)]
    if reject is not None:
        argv += ["--reject", str(reject)]
    argv += list(extra)
    return Cta(h.start(f"cta-{number}", argv), number, port, events)


def read_events(path):
    """(events, errors): the JSON objects of an event log, and the lines that
    are not JSON objects of format version 1."""
    events, errors = [], []
    try:
        with open(path, "rb") as f:
            data = f.read().decode("utf-8", "replace")
    except OSError:
        return [], []
    for line in data.splitlines():
        if not line.strip():
            continue
        try:
            ev = json.loads(line)
            if not isinstance(ev, dict) or ev.get("v") != 1:
                errors.append(line[:200])
                continue
            events.append(ev)
        except ValueError:
            errors.append(line[:200])
    return events, errors


def provision(h, subscribers, controllers=("gc1", "gc2"), leas=("lea1",), li_ports=None,
              check_configs=False):
    """The tests' usual network: controller gcN serves the numbers that start
    with N; @subscribers are numbers or (number, name) pairs, each at the
    controller of its first digit; @li_ports maps a controller to its
    add_controller li_port. Reports one TAP check (and, with @check_configs,
    check_configs's); returns the Network, or None when something failed."""
    try:
        net = Network(h)
        for ctl in controllers:
            net.add_controller(ctl, [ctl[2:]], li_port=(li_ports or {}).get(ctl))
        for lea in leas:
            net.add_lea(lea)
        for sub in subscribers:
            number, name = (sub, None) if isinstance(sub, str) else sub
            net.add_subscriber(number, f"gc{number[0]}", name)
    except AdminError as e:
        h.tap.ok(False, "provision the test network with keycall-admin", str(e))
        return None
    h.tap.ok(True, "provision the test network with keycall-admin")
    if check_configs and not net.check_configs(h.tap):
        return None
    return net


# --- events -------------------------------------------------------------------------

def attrs(ev):
    return ev.get("attrs") or {}


def sdp_of(ev):
    """The SDP body of a sip-rx/sip-tx event's message, or None."""
    head, sep, body = str(ev.get("msg") or "").partition("\r\n\r\n")
    return body if sep and body.strip() else None


def wait_event(ctl, pred, timeout):
    deadline = time.monotonic() + timeout
    while True:
        for ev in ctl.events():
            if pred(ev):
                return ev
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.2)


# --- keycall-lea ----------------------------------------------------------------

class Lea:
    """A running keycall-lea and what it printed (see docs/lawful-intercept.md,
    keycall-lea: one stable line per fact)."""

    KEY_RX = re.compile(r"^key (\S+) fingerprint ((?:[0-9a-f]{4} ?){4}) id ([0-9a-f]{32}) "
                        r"caller (\S+) callee (\S+) tap (\S+) at (\S+)$")
    REC_RX = re.compile(r"^recorded (\S+): (\d+) packets, ([0-9.]+) s of audio, (.+)$")
    TAP_RX = re.compile(r"^tap (\S+) (future|current|past) (\S+) at (\S+) (.*)$")

    def __init__(self, proc, name, events, record_dir):
        self.proc, self.name, self.events_path, self.record_dir = proc, name, events, record_dir
        self.content = None

    def events(self):
        return read_events(self.events_path)[0] if self.events_path else []

    def wait_content(self, timeout=10):
        m = self.proc.wait_line(r"^content on (\S+):(\d+)$", timeout)
        if m:
            self.content = (m.group(1), int(m.group(2)))
        return self.content

    def wait_connected(self, ctl, timeout=15):
        return self.proc.wait_line(rf"^connected {re.escape(ctl)} \(certificate (\S+), "
                                   r"serial (\S+)\)$", timeout)

    def wait_tap(self, kind, number, timeout=15):
        """The tap id of the `tap ID KIND NUMBER at CTL …` line, or None."""
        m = self.proc.wait_line(rf"^tap (\S+) {kind} {re.escape(number)} at ", timeout)
        return m.group(1) if m else None

    def keys(self):
        """{Call-ID: dict(fingerprint, key_id, caller, callee, tap, controller)}."""
        out = {}
        for _, line in self.proc.find_lines(r"^key "):
            m = self.KEY_RX.match(line)
            if m:
                out.setdefault(m.group(1), dict(fingerprint=m.group(2).strip(), key_id=m.group(3),
                                                caller=m.group(4), callee=m.group(5),
                                                tap=m.group(6), controller=m.group(7)))
        return out

    def wait_key(self, call_id=None, timeout=15):
        pat = rf"^key {re.escape(call_id)} fingerprint " if call_id else r"^key \S+ fingerprint "
        m = self.proc.wait_line(pat, timeout)
        return self.KEY_RX.match(m.string) if m else None

    def recordings(self):
        """{Call-ID: dict(packets, seconds, wav, record)} of `recorded` lines."""
        out = {}
        for _, line in self.proc.find_lines(r"^recorded "):
            m = self.REC_RX.match(line)
            if m:
                wav = m.group(4)
                out[m.group(1)] = dict(packets=int(m.group(2)), seconds=float(m.group(3)),
                                       wav=wav, record=os.path.splitext(wav)[0] + ".json")
        return out

    def wait_recorded(self, call_id, timeout=20):
        return self.proc.wait_line(rf"^recorded {re.escape(call_id)}: ", timeout)

    def stop(self):
        return self.proc.stop(timeout=15)


def start_lea(h, net, controllers, taps=(), past=(), content="127.0.0.1:0", record_dir=None,
              name=None, events=True, timeout=None, cert=None, key=None, stop_on_exit=False,
              extra=(), wait=10):
    """Starts keycall-lea with NET/lea/NAME/lea.ini (the first LEA by default)
    against @controllers (names; their LI ports from net.li_port), asking
    @taps ("1001:future", "1001:current@gc1", …) and @past ("1001",
    "1001:FROM:UNTIL"). @content None: keys only. @cert/@key: present
    another certificate (a refusal test). Waits for `content on …` when
    there is content; returns a Lea."""
    name = name or net.lea
    ev = h.path(h.unique(f"lea-{name}-events") + ".jsonl") if events else None
    if record_dir is None and content is not None:
        record_dir = h.path(h.unique(f"lea-{name}-records"))
    argv = [LEA, "--config", net.lea_ini(name)]
    for ctl in controllers:
        # "NAME=HOST:PORT" is passed as it is (a test pointing at a wrong port).
        argv += ["--controller", ctl if "=" in ctl else f"{ctl}={HOST}:{net.li_port(ctl)}"]
    if content is not None:
        argv += ["--content", content, "--record-dir", record_dir]
    for t in taps:
        argv += ["--tap", t]
    for p in past:
        argv += ["--past", p]
    if ev:
        argv += ["--events", ev]
    if timeout is not None:
        argv += ["--timeout", str(timeout)]
    if cert:
        argv += ["--cert", cert, "--key", key]
    if stop_on_exit:
        argv += ["--stop-on-exit"]
    argv += list(extra)
    lea = Lea(h.start(f"lea-{name}", argv), name, ev, record_dir)
    if content is not None and taps and not lea.wait_content(wait):
        lea.proc.wait(1)
        raise StartError(f"keycall-lea {name} did not print 'content on HOST:PORT' within "
                         f"{wait} s", lea.proc)
    return lea


# --- audio files ---------------------------------------------------------------

def make_tone(h, freq, seconds):
    """A 48 kHz mono 16-bit WAV of a @freq Hz sine at half scale (sox, else
    gst-launch-1.0); its path."""
    path = h.path(f"tone-{freq}.wav")
    if shutil.which("sox"):
        argv = ["sox", "-n", "-r", "48000", "-c", "1", "-b", "16", path, "synth", str(seconds),
                "sine", str(freq), "vol", "0.5"]
    else:
        argv = ["gst-launch-1.0", "-q", "audiotestsrc", f"freq={freq}", "volume=0.5",
                "samplesperbuffer=960", f"num-buffers={50 * seconds}", "!",
                "audio/x-raw,format=S16LE,rate=48000,channels=1", "!", "wavenc", "!",
                "filesink", f"location={path}"]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"{argv[0]} could not write {path}: {r.stderr.strip()}")
    return path


# --- store and LEA ------------------------------------------------------------

def store_rows(path, sql, args=()):
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def unseal_check(net, ctl, key_id=None, call_id=None, search=()):
    """Runs kc-unseal-check; (exit status, {key_id: fingerprint}, {file: 'clean'|how}, output)."""
    argv = [UNSEAL, "--store", net.store(ctl), "--lea-key", net.seal_key()]
    if key_id:
        argv += ["--key-id", key_id]
    if call_id:
        argv += ["--call-id", call_id]
    for f in search:
        argv += ["--search-file", f]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    fps, files = {}, {}
    for line in r.stdout.splitlines():
        m = re.match(r"^key ([0-9a-f]{32}) call (\S+) fingerprint ((?:[0-9a-f]{4} ?){4})", line)
        if m:
            fps[m.group(1)] = m.group(3).strip()
        m = re.match(r"^clean (.+) \(\d+ bytes\)$", line)
        if m:
            files[m.group(1)] = "clean"
        m = re.match(r"^found (\S+) in (.+) \(\d+ bytes\)$", line)
        if m:
            files[m.group(2)] = m.group(1)
    return r.returncode, fps, files, (r.stdout + r.stderr).strip()
