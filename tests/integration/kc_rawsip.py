"""kc_rawsip: an independent SIP-over-TLS peer for the integration tests.

Python's ssl module with certificates of the network, a minimal SIP parser
and builder, Keycall's key constructions (docs/protocol.md) written again
from the spec, a raw callee (FakeCallee) and a raw caller (raw_call). It
stands in for a softphone or a controller where the tests need to forge,
omit or malform something. Keys stay in memory; nothing here prints one.
"""

import base64
import hashlib
import hmac
import queue
import re
import secrets
import socket
import ssl
import threading
import time

from kc_harness import HOST, on_cleanup


# --- key constructions (docs/protocol.md), for raw peers ----------------------------

def hkdf(salt, ikm, info, length):
    prk = hmac.new(salt or b"\0" * 32, ikm, hashlib.sha256).digest()
    out, block = b"", b""
    for i in range(1, -(-length // 32) + 1):
        block = hmac.new(prk, block + info + bytes([i]), hashlib.sha256).digest()
        out += block
    return out[:length]


def field(b):
    return len(b).to_bytes(2, "big") + b


def fingerprint(key):
    h = hashlib.sha256(key).hexdigest()
    return " ".join(h[i:i + 4] for i in range(0, 16, 4))


def key_ack(key, key_id, call_id, role):
    mac_key = hkdf(b"", key, b"keycall key-ack v1", 32)
    data = (field(b"keycall key-ack v1") + field(key_id) + field(call_id.encode())
            + field(bytes([role])))
    return hmac.new(mac_key, data, hashlib.sha256).digest()[:16]


def derive_call_key(secret, key_id, nonce, call_id):
    info = field(b"keycall call-key derive v1") + field(key_id) + field(call_id.encode())
    return hkdf(nonce, secret, info, 32)


ROLE_CALLER, ROLE_CALLEE = 0, 1
KM_KEY, KM_ACK, KM_DERIVE = 1, 2, 3


def km_parse(value):
    """Parses 'keycall <base64>' into a dict; holds a key in 'key' (never print it)."""
    m = re.match(r"^(?:a=)?(?:key-mgmt:)?keycall (\S+)$", value.strip())
    if not m:
        return None
    try:
        p = base64.b64decode(m.group(1), validate=True)
    except ValueError:
        return None
    if len(p) < 18 or p[0] != 1:
        return None
    d = {"type": p[1], "key_id": p[2:18]}
    if p[1] == KM_KEY and len(p) == 51 and p[18] == 32:
        d["key"] = p[19:51]
    elif p[1] == KM_ACK and len(p) == 35:
        d["role"], d["mac"] = p[18], p[19:35]
    elif p[1] == KM_DERIVE and len(p) == 34:
        d["nonce"] = p[18:34]
    else:
        return None
    return d


def km_ack_value(key_id, role, mac):
    return "keycall " + base64.b64encode(bytes([1, KM_ACK]) + key_id + bytes([role]) + mac).decode()


def km_key_value(key_id, key):
    return "keycall " + base64.b64encode(bytes([1, KM_KEY]) + key_id + bytes([32]) + key).decode()


def sdp_key_mgmt(body):
    for line in body.decode("utf-8", "replace").splitlines():
        if line.startswith("a=key-mgmt:keycall "):
            return line[len("a=key-mgmt:"):].strip()
    return None


def read_profile_secret(path):
    with open(path) as f:
        for line in f:
            if line.startswith("signaling-secret="):
                return base64.b64decode(line.split("=", 1)[1].strip())
    return None


# --- raw SIP over TLS -----------------------------------------------------------------

COMPACT = {"i": "call-id", "f": "from", "t": "to", "v": "via", "l": "content-length",
           "c": "content-type", "m": "contact", "k": "supported", "s": "subject",
           "e": "content-encoding", "o": "event", "r": "refer-to"}


class SipMsg:
    def __init__(self, raw):
        self.raw = raw
        head, _, self.body = raw.partition(b"\r\n\r\n")
        lines = head.decode("utf-8", "replace").split("\r\n")
        self.start = lines[0]
        self.headers = []
        for line in lines[1:]:
            if line[:1] in (" ", "\t") and self.headers:
                n, v = self.headers[-1]
                self.headers[-1] = (n, v + " " + line.strip())
                continue
            name, _, value = line.partition(":")
            name = name.strip().lower()
            self.headers.append((COMPACT.get(name, name), value.strip()))
        parts = self.start.split(" ", 2)
        self.is_response = parts[0].startswith("SIP/")
        if self.is_response:
            self.status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
            self.reason = parts[2] if len(parts) > 2 else ""
            self.method = None
        else:
            self.status = None
            self.method = parts[0]
            self.uri = parts[1] if len(parts) > 1 else ""

    def get(self, name, default=None):
        name = name.lower()
        for n, v in self.headers:
            if n == name:
                return v
        return default

    def all(self, name):
        name = name.lower()
        return [v for n, v in self.headers if n == name]

    def cseq_method(self):
        c = self.get("cseq", "")
        return c.split()[-1] if c else None

    def tag(self, header):
        m = re.search(r";\s*tag=([^;>\s]+)", self.get(header, ""))
        return m.group(1) if m else None

    def brief(self):
        warn = self.get("warning")
        return self.start + (f" (Warning: {warn})" if warn else "")


class Closed(Exception):
    pass


def _with_retry(make, *args):
    """A context load now and then failed with NO_CERTIFICATE_OR_CRL_FOUND
    on a good file (a stale OpenSSL error after failed handshakes in the
    same thread, it seems): try once more."""
    try:
        return make(*args)
    except ssl.SSLError:
        time.sleep(0.05)
        return make(*args)


def client_context(ca, cert=None, key=None):
    return _with_retry(_make_client_context, ca, cert, key)


def server_context(ca, cert, key):
    return _with_retry(_make_server_context, ca, cert, key)


def _make_client_context(ca, cert=None, key=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(ca)
    if cert:
        ctx.load_cert_chain(cert, key)
    return ctx


def _make_server_context(ca, cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(ca)
    ctx.load_cert_chain(cert, key)
    return ctx


class SipConn:
    """One TLS connection carrying SIP; a reader thread parses messages into
    the owner's queue as (conn, msg), and (conn, None) when it closes."""

    def __init__(self, sock, q, auto_options=True):
        self.sock = sock
        self.q = q
        self.closed = False
        self.stopping = False
        self.close_reason = None
        self.auto_options = auto_options
        self.local_port = sock.getsockname()[1]
        self.wlock = threading.Lock()
        self.peer_cert = sock.getpeercert()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        buf = b""
        self.sock.settimeout(0.05)
        try:
            while True:
                # One lock around every SSL call: OpenSSL does not allow one
                # SSL object to read and write from two threads at once.
                with self.wlock:
                    if self.stopping:
                        break
                    try:
                        data = self.sock.recv(65536)
                    except (socket.timeout, ssl.SSLWantReadError):
                        data = None
                if data is None:
                    time.sleep(0.005)
                    continue
                if not data:
                    break
                buf += data
                while True:
                    buf = buf.lstrip(b"\r\n")
                    end = buf.find(b"\r\n\r\n")
                    if end < 0:
                        break
                    m = re.search(rb"(?im)^(?:content-length|l)\s*:\s*(\d+)", buf[:end])
                    clen = int(m.group(1)) if m else 0
                    if len(buf) < end + 4 + clen:
                        break
                    msg = SipMsg(buf[:end + 4 + clen])
                    buf = buf[end + 4 + clen:]
                    if self.auto_options and not msg.is_response and msg.method == "OPTIONS":
                        self.send(response(msg, 200, "OK"))
                        continue
                    self.q.put((self, msg))
        except (OSError, ssl.SSLError) as e:
            self.close_reason = f"{type(e).__name__}: {e}"
        self.closed = True
        self.q.put((self, None))

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        with self.wlock:
            view = memoryview(data)
            deadline = time.monotonic() + 10
            while view:
                try:
                    n = self.sock.send(view)
                    view = view[n:]
                except (socket.timeout, ssl.SSLWantWriteError, ssl.SSLWantReadError):
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.005)

    def close(self):
        # Under the lock, and the reader stops first: OpenSSL keeps the fd
        # number, so a reader still in SSL_read after close() would read
        # from whatever socket gets that number next (a new connection's
        # handshake), which showed up as bad record MACs.
        with self.wlock:
            self.stopping = True
            try:
                self.sock.close()
            except OSError:
                pass


def new_branch():
    return "z9hG4bK" + secrets.token_hex(8)


def new_tag():
    return secrets.token_hex(6)


def request(method, uri, *, from_uri, to_uri, call_id, cseq, via_port, from_tag,
            to_tag=None, contact=None, headers=(), body=b"", content_type=None,
            branch=None, cseq_method=None, via_transport="TLS"):
    if isinstance(body, str):
        body = body.encode()
    lines = [f"{method} {uri} SIP/2.0",
             f"Via: SIP/2.0/{via_transport} {HOST}:{via_port};"
             f"branch={branch or new_branch()};rport",
             "Max-Forwards: 70",
             f"From: <{from_uri}>;tag={from_tag}",
             f"To: <{to_uri}>" + (f";tag={to_tag}" if to_tag else ""),
             f"Call-ID: {call_id}",
             f"CSeq: {cseq} {cseq_method or method}"]
    if contact:
        lines.append(f"Contact: <{contact}>")
    lines += list(headers)
    if body:
        lines.append(f"Content-Type: {content_type or 'application/sdp'}")
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def response(req, status, reason, *, to_tag=None, headers=(), body=b"", contact=None,
             content_type="application/sdp"):
    if isinstance(body, str):
        body = body.encode()
    lines = [f"SIP/2.0 {status} {reason}"]
    for v in req.all("via"):
        lines.append(f"Via: {v}")
    lines.append(f"From: {req.get('from')}")
    to = req.get("to", "")
    if to_tag and ";tag=" not in to:
        to += f";tag={to_tag}"
    lines.append(f"To: {to}")
    lines.append(f"Call-ID: {req.get('call-id')}")
    lines.append(f"CSeq: {req.get('cseq')}")
    if contact:
        lines.append(f"Contact: <{contact}>")
    lines += list(headers)
    if body:
        lines.append(f"Content-Type: {content_type}")
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def sdp_offer(port=40000, key_mgmt=None, session="keycall-test"):
    lines = ["v=0", f"o=- {secrets.randbelow(10**9)} 1 IN IP4 {HOST}", f"s={session}",
             f"c=IN IP4 {HOST}", "t=0 0"]
    if key_mgmt:
        lines.append(f"a=key-mgmt:{key_mgmt}")
    lines += [f"m=audio {port} RTP/SAVP 111", "a=rtpmap:111 opus/48000/2", "a=sendrecv"]
    return ("\r\n".join(lines) + "\r\n").encode()


class RawPeer:
    """An independent SIP-over-TLS peer built on Python's ssl module: connects
    to controllers with a certificate, optionally listens for the
    controller's own connections (a callee's Contact), and queues every
    message it receives."""

    def __init__(self, h, ca, cert=None, key=None, number=None, domain="keycall.test",
                 listen=False):
        self.h, self.ca, self.cert, self.key = h, ca, cert, key
        self.number, self.domain = number, domain
        self.q = queue.Queue()
        self.conns = []
        self.backlog = []
        self.listen_port = None
        self.server = None
        if listen:
            self._listen()
        on_cleanup(self.close)

    def _listen(self):
        ctx = server_context(self.ca, self.cert, self.key)
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((HOST, 0))
        srv.listen(8)
        self.server = srv
        self.listen_port = srv.getsockname()[1]
        self.accept_errors = []

        def loop():
            while True:
                try:
                    s, _ = srv.accept()
                except OSError:
                    return
                try:
                    s.settimeout(10)
                    t = ctx.wrap_socket(s, server_side=True)
                    t.settimeout(None)
                    self.conns.append(SipConn(t, self.q))
                except (OSError, ssl.SSLError) as e:
                    self.accept_errors.append(str(e))
                    s.close()

        threading.Thread(target=loop, daemon=True).start()

    def contact(self):
        return f"sips:{self.number}@{HOST}:{self.listen_port};transport=tls"

    def connect(self, port, timeout=5):
        """A TLS connection to a controller; raises ssl.SSLError/OSError on failure."""
        ctx = client_context(self.ca, self.cert, self.key)
        s = socket.create_connection((HOST, port), timeout=timeout)
        try:
            t = ctx.wrap_socket(s)
        except Exception:
            s.close()
            raise
        t.settimeout(None)
        c = SipConn(t, self.q)
        self.conns.append(c)
        return c

    def expect(self, pred, timeout, conn=None):
        """The first queued message for which pred(msg) holds (earlier
        non-matching ones stay in the backlog); None on timeout. Raises
        Closed if @conn closes first."""
        deadline = time.monotonic() + timeout
        if conn is not None and conn.closed:
            for i, (c, m) in enumerate(self.backlog):
                if c is conn and m is not None and pred(m):
                    del self.backlog[i]
                    self.last_conn = c
                    return m
            raise Closed(conn.close_reason or "connection closed")
        for i, (c, m) in enumerate(self.backlog):
            if m is not None and pred(m) and (conn is None or c is conn):
                del self.backlog[i]
                self.last_conn = c
                return m
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                c, m = self.q.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            if m is None:
                if conn is not None and c is conn:
                    raise Closed(c.close_reason or "connection closed")
                continue
            if pred(m) and (conn is None or c is conn):
                self.last_conn = c
                return m
            self.backlog.append((c, m))

    def final_response(self, call_id, method, timeout, conn=None):
        """The final response (>= 200) to @method in @call_id; provisional ones are
        kept in self.provisional."""
        self.provisional = getattr(self, "provisional", [])

        def pred(m):
            return (m.is_response and m.get("call-id") == call_id
                    and m.cseq_method() == method)
        deadline = time.monotonic() + timeout
        while True:
            m = self.expect(pred, max(0.0, deadline - time.monotonic()), conn)
            if m is None or m.status >= 200:
                return m
            self.provisional.append(m)

    def register(self, conn, port, number=None, expires=600, contact=None, to_user=None):
        number = number or self.number
        call_id = secrets.token_hex(8) + "@" + HOST
        req = request("REGISTER", f"sips:{HOST}:{port};transport=tls",
                      from_uri=f"sips:{number}@{self.domain}",
                      to_uri=f"sips:{to_user or number}@{self.domain}",
                      call_id=call_id, cseq=1, via_port=conn.local_port, from_tag=new_tag(),
                      contact=contact or (self.contact() if self.listen_port else
                                          f"sips:{number}@{HOST}:{conn.local_port};transport=tls"),
                      headers=[f"Expires: {expires}"])
        conn.send(req)
        return self.final_response(call_id, "REGISTER", 10, conn)

    def options(self, conn, port, from_user=None, timeout=5):
        call_id = secrets.token_hex(8) + "@" + HOST
        fu = from_user or self.number or "test"
        conn.send(request("OPTIONS", f"sips:{HOST}:{port};transport=tls",
                          from_uri=f"sips:{fu}@{self.domain}", to_uri=f"sips:{HOST}:{port}",
                          call_id=call_id, cseq=1, via_port=conn.local_port, from_tag=new_tag()))
        return self.final_response(call_id, "OPTIONS", timeout, conn)

    def close(self):
        if self.server:
            try:
                self.server.close()
            except OSError:
                pass
        for c in self.conns:
            c.close()


def tls_attempt(port, ca, cert=None, key=None, payload=None, timeout=5, tls12=False):
    """Connects, optionally sends @payload, reads; returns ('refused', why) when
    the handshake or the first read fails, ('answer', bytes) when the server
    answered, or ('silent', b'') when it neither answered nor closed."""
    ctx = client_context(ca, cert, key)
    if tls12:       # a client that offers TLS 1.2 only
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    try:
        s = socket.create_connection((HOST, port), timeout=timeout)
    except OSError as e:
        return "refused", f"connect: {e}"
    try:
        t = ctx.wrap_socket(s)
        if payload:
            t.sendall(payload)
        data = t.recv(65536)
        if not data:
            return "refused", "closed by the server after the handshake"
        return "answer", data
    except socket.timeout:
        return "silent", b""
    except (ssl.SSLError, OSError) as e:
        return "refused", f"{type(e).__name__}: {e}"
    finally:
        s.close()


# --- raw caller and callee (independent implementations of the CTA's side) ----

def strip_uri(value):
    m = re.search(r"<([^>]+)>", value or "")
    return m.group(1) if m else (value or "").split(";")[0].strip()


class FakeCallee:
    """Callee B as a raw peer: registers with a listening Contact and serves
    one incoming INVITE in a thread. behaviour: 'answer' (correct ACK, then
    200 after @answer_after s), 'forge' (180 whose ACK has a wrong MAC),
    'silent' (no 180 at all), 'reject' (486), 'answer-noack' (200 at once,
    never acknowledging the key). Keeps the received key private."""

    def __init__(self, h, net, number, ctl_port):
        self.number = number
        self.peer = RawPeer(h, net.ca(), net.cert(number), net.key(number), number,
                            net.domain, listen=True)
        self.conn = self.peer.connect(ctl_port)
        self.reg = self.peer.register(self.conn, ctl_port)
        self.log = []
        self.invite = None
        self.km = None            # parsed payload of the INVITE (may hold 'key')
        self.keycall_call = None
        self.cancelled = self.bye = self.acked = False
        self.prack = None
        self.thread = None

    def serve(self, behaviour, timeout=20, answer_after=1.0):
        self.thread = threading.Thread(target=self._serve, args=(behaviour, timeout, answer_after),
                                       daemon=True)
        self.thread.start()

    def join(self, timeout=30):
        if self.thread:
            self.thread.join(timeout)

    def _serve(self, behaviour, timeout, answer_after):
        p = self.peer
        deadline = time.monotonic() + timeout
        inv = p.expect(lambda m: not m.is_response and m.method == "INVITE", timeout)
        if inv is None:
            self.log.append("no INVITE arrived")
            return
        conn = p.last_conn
        self.invite = inv
        value = sdp_key_mgmt(inv.body)
        self.km = km_parse(value) if value else None
        self.keycall_call = inv.get("keycall-call")
        cid = self.keycall_call or inv.get("call-id")
        tag = new_tag()
        contact = self.peer.contact()
        conn.send(response(inv, 100, "Trying"))
        if behaviour == "reject":
            conn.send(response(inv, 486, "Busy Here", to_tag=tag))
        elif behaviour == "answer-noack":
            conn.send(response(inv, 200, "OK", to_tag=tag, contact=contact,
                               body=sdp_offer(41000)))
        elif behaviour != "silent":
            ack = None
            if self.km and "key" in self.km:
                mac = key_ack(self.km["key"], self.km["key_id"], cid, ROLE_CALLEE)
                if behaviour == "forge":
                    mac = bytes([mac[0] ^ 0xFF]) + mac[1:]
                ack = km_ack_value(self.km["key_id"], ROLE_CALLEE, mac)
            else:
                self.log.append("INVITE carried no KEY")
            conn.send(response(inv, 180, "Ringing", to_tag=tag, contact=contact,
                               headers=["Require: 100rel", "RSeq: 1"],
                               body=sdp_offer(41000, key_mgmt=ack)))
        answer_at = None
        inv_cid = inv.get("call-id")
        while time.monotonic() < deadline:
            if answer_at and time.monotonic() >= answer_at:
                conn.send(response(inv, 200, "OK", to_tag=tag, contact=contact,
                                   body=sdp_offer(41000)))
                answer_at = None
            m = p.expect(lambda m: not m.is_response and m.get("call-id") == inv_cid, 0.2)
            if m is None:
                continue
            c = p.last_conn
            if m.method == "PRACK":
                self.prack = m
                c.send(response(m, 200, "OK", to_tag=tag))
                if behaviour == "answer":
                    answer_at = time.monotonic() + answer_after
            elif m.method == "ACK":
                self.acked = True
            elif m.method == "CANCEL":
                self.cancelled = True
                c.send(response(m, 200, "OK", to_tag=tag))
                conn.send(response(inv, 487, "Request Terminated", to_tag=tag))
            elif m.method == "BYE":
                self.bye = True
                c.send(response(m, 200, "OK", to_tag=tag))
                return
            else:
                c.send(response(m, 200, "OK", to_tag=tag))
            if self.acked and (self.cancelled or behaviour == "reject"):
                return


class RawCallResult:
    def __init__(self):
        self.final = None          # final response to the INVITE
        self.provisional = []
        self.prack_responses = []
        self.km_types = []         # types of key payloads received (1 KEY, 3 DERIVE)
        self.fingerprint = None
        self.bye_status = None
        self.call_id = None
        self.cancel_sent = False
        self.cancel_response = None

    def summary(self):
        return (f"final: {self.final.brief() if self.final else None}; provisional: "
                f"{[m.brief() for m in self.provisional]}; PRACK answers: "
                f"{[m.brief() for m in self.prack_responses]}; key payload types "
                f"{self.km_types}; BYE: {self.bye_status}")


def raw_call(peer, conn, ctl_port, callee, ack="good", timeout=20, sdp_km=None, body=None,
             hangup_after=0.5, from_user=None, headers=(), cancel=False):
    """Caller A as a raw peer: INVITE @callee through the controller on @conn.
    ack: 'good' (PRACK with the right caller ACK), 'forge' (wrong MAC), 'none'
    (never PRACK the key-bearing 183). Returns a RawCallResult."""
    r = RawCallResult()
    number = peer.number
    r.call_id = call_id = secrets.token_hex(10) + "@" + HOST
    tag = new_tag()
    branch = new_branch()
    contact = (peer.contact() if peer.listen_port else
               f"sips:{number}@{HOST}:{conn.local_port};transport=tls")
    ruri = f"sips:{callee}@{peer.domain}"
    common = dict(from_uri=f"sips:{from_user or number}@{peer.domain}",
                  to_uri=f"sips:{callee}@{peer.domain}", call_id=call_id,
                  via_port=conn.local_port, from_tag=tag)
    conn.send(request("INVITE", ruri, cseq=1, branch=branch, contact=contact,
                      headers=["Supported: 100rel", *headers],
                      body=body if body is not None else sdp_offer(40000, key_mgmt=sdp_km),
                      **common))
    cseq = 1
    deadline = time.monotonic() + timeout
    to_tag = None
    key = None
    pracked = set()
    while time.monotonic() < deadline:
        m = peer.expect(lambda m: m.is_response and m.get("call-id") == call_id,
                        max(0.0, deadline - time.monotonic()), conn)
        if m is None:
            break
        meth = m.cseq_method()
        if meth == "PRACK":
            r.prack_responses.append(m)
            if cancel and m.status == 200 and not r.cancel_sent:
                # CANCEL once the key is acknowledged: while B rings
                r.cancel_sent = True
                conn.send(request("CANCEL", ruri, cseq=1, branch=branch, **common))
            continue
        if meth == "CANCEL":
            r.cancel_response = m
            continue
        if meth != "INVITE":
            continue
        if m.status < 200:
            r.provisional.append(m)
            to_tag = m.tag("to") or to_tag
            rseq = m.get("rseq")
            if "100rel" in (m.get("require") or "") and rseq and rseq not in pracked:
                value = sdp_key_mgmt(m.body) or m.get("keycall-key-mgmt")
                km = km_parse(value) if value else None
                extra = []
                if km:
                    r.km_types.append(km["type"])
                    if km["type"] == KM_KEY:
                        key = km["key"]
                    elif km["type"] == KM_DERIVE:
                        secret = getattr(peer, "signaling_secret", None)
                        if secret:
                            key = derive_call_key(secret, km["key_id"], km["nonce"], call_id)
                    if key is not None:
                        r.fingerprint = fingerprint(key)
                        mac = key_ack(key, km["key_id"], call_id, ROLE_CALLER)
                        if ack == "forge":
                            mac = bytes([mac[0] ^ 0xFF]) + mac[1:]
                        extra.append("Keycall-Key-Mgmt: " + km_ack_value(km["key_id"],
                                                                         ROLE_CALLER, mac))
                    if ack == "none":
                        continue
                pracked.add(rseq)
                cseq += 1
                conn.send(request("PRACK", strip_uri(m.get("contact")) or ruri, cseq=cseq,
                                  to_tag=to_tag, headers=[f"RAck: {rseq} 1 INVITE", *extra],
                                  **common))
            continue
        r.final = m
        to_tag = m.tag("to") or to_tag
        if m.status < 300:
            target = strip_uri(m.get("contact")) or ruri
            conn.send(request("ACK", target, cseq=1, to_tag=to_tag, **common))
            time.sleep(hangup_after)
            cseq += 1
            conn.send(request("BYE", target, cseq=cseq, to_tag=to_tag, **common))
            b = peer.final_response(call_id, "BYE", 10, conn)
            r.bye_status = b.status if b else None
        else:
            conn.send(request("ACK", ruri, cseq=1, to_tag=to_tag, branch=branch, **common))
        break
    key = None
    return r
