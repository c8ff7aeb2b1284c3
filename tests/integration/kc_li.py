"""Law-enforcement side helpers for integration tests (docs/lawful-intercept.md).

An X1/X2 client over mutual TLS (python ssl) that collects every line the
controller sends, a UDP sink for X3 content copies and their decoder, the
LI addresses keycall-admin records in lea.ini, and an SRTP authentication
check (RFC 3711, AES_CM_128_HMAC_SHA1_80/32) so a test can prove a copy is
the call's real SRTP packet in the direction its header names.
"""

import configparser
import hashlib
import hmac
import json
import os
import socket
import ssl
import struct
import threading
import time

X3_FIXED = 10


# --- X1/X2 ----------------------------------------------------------------------

def lea_files(net_dir, lea):
    d = os.path.join(net_dir, "lea", lea)
    return os.path.join(d, "cert.pem"), os.path.join(d, "key.pem"), os.path.join(d, "cafile.pem")


def li_addresses(net_dir, lea):
    """{controller: (host, port)} from lea.ini's [controller NAME] li-address."""
    cp = configparser.ConfigParser(interpolation=None)
    cp.read(os.path.join(net_dir, "lea", lea, "lea.ini"))
    out = {}
    for section in cp.sections():
        if section.startswith("controller ") and cp.has_option(section, "li-address"):
            host, _, port = cp.get(section, "li-address").rpartition(":")
            out[section.split(" ", 1)[1]] = (host.strip("[]"), int(port))
    return out


class LiClient:
    """One TLS connection to a controller's LI port. Every received line is
    kept in .lines (dicts, or {"_raw": bytes} for a line that is not JSON);
    .closed is set once the controller closed the connection."""

    def __init__(self, host, port, cert=None, key=None, cafile=None, max_version=None,
                 timeout=10):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        if cafile:
            ctx.load_verify_locations(cafile)
        else:
            ctx.verify_mode = ssl.CERT_NONE
        if max_version is not None:
            ctx.maximum_version = max_version
        if cert:
            ctx.load_cert_chain(cert, key)
        raw = socket.create_connection((host, port), timeout=timeout)
        self.sock = ctx.wrap_socket(raw)
        self.sock.settimeout(None)
        self.version = self.sock.version()
        self.peer = self.sock.getpeercert() if cafile else None
        self.lines = []
        self.closed = False
        self.error = None
        self.cond = threading.Condition()
        self.counter = 0
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        buf = b""
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    break
                buf += data
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    try:
                        obj = json.loads(line)
                    except ValueError:
                        obj = {"_raw": line}
                    with self.cond:
                        self.lines.append(obj)
                        self.cond.notify_all()
        except (OSError, ssl.SSLError) as e:
            self.error = e
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, obj):
        self.send_raw((json.dumps(obj) + "\n").encode())

    def wait(self, pred, timeout=10, start=0):
        """The first line from index @start on that satisfies @pred, or None."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for line in self.lines[start:]:
                    if pred(line):
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    for line in self.lines[start:]:
                        if pred(line):
                            return line
                    return None
                self.cond.wait(left)

    def wait_closed(self, timeout=10):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not self.closed and time.monotonic() < deadline:
                self.cond.wait(deadline - time.monotonic())
            return self.closed

    def request(self, op, timeout=15, **members):
        """Sends one request; (answer, the lines received between request and answer)."""
        self.counter += 1
        req = members.pop("req", f"r{self.counter}")
        start = len(self.lines)
        self.send(dict(v=1, op=op, req=req, **members))
        answer = self.wait(lambda m: m.get("req") == req
                           and m.get("op") in ("ok", "error", "taps"), timeout, start)
        with self.cond:
            end = self.lines.index(answer) if answer in self.lines[start:] else len(self.lines)
            between = self.lines[start:end]
        return answer, between

    def deliveries(self, op=None, tap=None, call=None):
        with self.cond:
            return [m for m in self.lines
                    if m.get("op") in ("key", "call", "end")
                    and (op is None or m.get("op") == op)
                    and (tap is None or m.get("tap") == tap)
                    and (call is None or m.get("call") == call)]

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(5)


def lea_client(net_dir, lea, ctl, **kw):
    cert, key, cafile = lea_files(net_dir, lea)
    host, port = li_addresses(net_dir, lea)[ctl]
    return LiClient(host, port, cert, key, cafile, **kw)


# --- X3 --------------------------------------------------------------------------

def x3_decode(data):
    """dict(direction 0|1, rtcp, seq, call, packet) or None when not a copy."""
    if len(data) < X3_FIXED or data[:3] != b"KX3" or data[3] != 1 or data[4] & ~3:
        return None
    n = data[5]
    if len(data) <= X3_FIXED + n or n == 0:
        return None
    return {"direction": data[4] & 1, "rtcp": bool(data[4] & 2),
            "seq": struct.unpack("!I", data[6:10])[0],
            "call": data[X3_FIXED:X3_FIXED + n].decode("ascii", "replace"),
            "packet": data[X3_FIXED + n:]}


class ContentSink:
    """A UDP socket at a content address, keeping every datagram it gets."""

    def __init__(self, host="127.0.0.1"):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.sock.settimeout(0.2)
        self.address = "%s:%d" % self.sock.getsockname()
        self.datagrams = []
        self.lock = threading.Lock()
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                break
            with self.lock:
                self.datagrams.append(data)

    def count(self):
        with self.lock:
            return len(self.datagrams)

    def copies(self):
        with self.lock:
            return [x3_decode(d) for d in self.datagrams]

    def close(self):
        self.running = False
        self.thread.join(2)
        self.sock.close()


# --- SRTP authentication (RFC 3711) -----------------------------------------------

def _aes_cm_prf(key, iv, n):
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    enc = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()
    return enc.update(b"\0" * n) + enc.finalize()


def srtp_session_auth_key(master_key, master_salt, label):
    """The 20-byte session authentication key (label 1 for SRTP, 4 for SRTCP)."""
    salt = master_salt.ljust(14, b"\0")
    x = bytearray(salt)
    x[7] ^= label
    iv = bytes(x) + b"\0\0"
    return _aes_cm_prf(master_key, iv, 20)


def srtp_auth_ok(packet, auth_key, tag_len, roc=0):
    """RTP: HMAC-SHA1 over the packet and the ROC, truncated to @tag_len."""
    if len(packet) <= 12 + tag_len:
        return False
    body, tag = packet[:-tag_len], packet[-tag_len:]
    mac = hmac.new(auth_key, body + struct.pack("!I", roc), hashlib.sha1).digest()
    return hmac.compare_digest(mac[:tag_len], tag)


def srtcp_auth_ok(packet, auth_key, tag_len=10):
    """RTCP: HMAC-SHA1 over everything up to the tag (E flag and index included)."""
    if len(packet) <= 8 + 4 + tag_len:
        return False
    body, tag = packet[:-tag_len], packet[-tag_len:]
    mac = hmac.new(auth_key, body, hashlib.sha1).digest()
    return hmac.compare_digest(mac[:tag_len], tag)


def have_crypto():
    try:
        import cryptography.hazmat.primitives.ciphers  # noqa: F401
        return True
    except ImportError:
        return False
