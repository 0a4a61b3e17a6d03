"""Wire-level clients for the adversarial suite, over the platform gateway's mTLS listener:

- raw HTTP/1.1: the test writes the exact bytes (conflicting lengths, chunk extensions,
  trailers, pipelining, absolute-form targets, lower-case methods) in one or many TCP writes;
- HTTP/2 with the PyPI `h2` package, negotiated by ALPN (`h2`) or by prior knowledge (no ALPN:
  Envoy's AUTO codec recognises the connection preface); headers, DATA split in many frames,
  trailers, RST_STREAM mid-body, and streams that never end.

Every socket operation is bounded by a timeout; a timeout is reported (kind "timeout"),
never waited out.
"""

from __future__ import annotations

import json
import socket
import ssl
import time
from dataclasses import dataclass, field

import h2.config
import h2.connection
import h2.events
import h2.exceptions

from harness import tls_context

TRANSPORTS = ["h1", "h2-alpn", "h2-prior"]


@dataclass
class Reply:
    """One response (or what happened instead of one)."""

    kind: str  # "response" | "reset" (RST_STREAM / GOAWAY) | "closed" | "timeout"
    status: int | None = None
    headers: list = field(default_factory=list)  # [(lower-case name, value)]
    body: bytes = b""
    trailers: list = field(default_factory=list)
    detail: str = ""
    elapsed: float = 0.0

    def header(self, name: str) -> str | None:
        return next((v for n, v in self.headers if n == name.lower()), None)

    @property
    def reason(self) -> str | None:
        return self.header("x-signet-reason")

    def json(self) -> dict:
        return json.loads(self.body)

    def __repr__(self) -> str:  # short, for assertion messages
        return (f"Reply({self.kind}, status={self.status}, reason={self.reason}, "
                f"body={self.body[:300]!r}, detail={self.detail!r})")


def connect(port: int, pki, party: str = "dfsp-a", alpn: list | None = None, timeout: float = 5.0,
            source_ip: str | None = None) -> socket.socket:
    """A TLS connection with `party`'s client certificate; pki=None: plain TCP (an egress
    listener on loopback)."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                   source_address=(source_ip, 0) if source_ip else None)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if pki is None:
        return raw
    cert, key = pki.client(party)
    ctx = tls_context(pki.platform_ca, cert, key)
    if alpn:
        ctx.set_alpn_protocols(alpn)
    try:
        return ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    except BaseException:
        raw.close()
        raise


# --- HTTP/1.1 ----------------------------------------------------------------------------------


def h1_bytes(method: str, target: str, headers: list, body: bytes | None = None, *,
             chunks: list | None = None, trailers: list | None = None, chunk_ext: str = "",
             content_length: bool = True, host: str = "localhost") -> bytes:
    """A request exactly as written: header names keep their case, nothing is deduplicated.
    chunks: a chunked body (Transfer-Encoding: chunked is added unless given), each chunk with
    `chunk_ext` after its size, then the trailer section. Otherwise `body` with a
    Content-Length (unless content_length=False or one is among the headers)."""
    hdrs = list(headers)
    names = {n.lower() for n, _ in hdrs}
    if "host" not in names:
        hdrs.insert(0, ("Host", host))
    out = b""
    if chunks is not None:
        if "transfer-encoding" not in names:
            hdrs.append(("Transfer-Encoding", "chunked"))
        for c in chunks:
            out += f"{len(c):x}{chunk_ext}\r\n".encode() + c + b"\r\n"
        out += f"0{chunk_ext}\r\n".encode()
        out += b"".join(f"{n}: {v}\r\n".encode() for n, v in (trailers or []))
        out += b"\r\n"
    elif body is not None:
        if content_length and "content-length" not in names:
            hdrs.append(("Content-Length", str(len(body))))
        out = body
    head = f"{method} {target} HTTP/1.1\r\n".encode()
    head += b"".join(n.encode() + b": " + (v if isinstance(v, bytes) else v.encode()) + b"\r\n"
                     for n, v in hdrs)
    return head + b"\r\n" + out


def _parse_one(buf: bytes, head_only: bool, eof: bool):
    """(Reply, rest) for the first complete response in buf, or None when incomplete."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = buf[:end].decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    status = int(parts[1])
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append((name.strip().lower(), value.strip()))
    rest = buf[end + 4:]
    h = dict(headers)
    if head_only or status in (204, 304) or 100 <= status < 200:
        return Reply("response", status, headers), rest
    if "chunked" in h.get("transfer-encoding", "").lower():
        body, pos = b"", 0
        while True:
            nl = rest.find(b"\r\n", pos)
            if nl < 0:
                return None
            size = int(rest[pos:nl].split(b";")[0].strip() or b"0", 16)
            if size == 0:
                tend = rest.find(b"\r\n\r\n", nl)
                if rest[nl:nl + 4] == b"\r\n\r\n":
                    tend = nl
                if tend < 0:
                    return None
                return Reply("response", status, headers, body), rest[tend + 4:]
            if len(rest) < nl + 2 + size + 2:
                return None
            body += rest[nl + 2:nl + 2 + size]
            pos = nl + 2 + size + 2
    if "content-length" in h:
        n = int(h["content-length"])
        if len(rest) < n:
            return None
        return Reply("response", status, headers, rest[:n]), rest[n:]
    if not eof:
        return None
    return Reply("response", status, headers, rest), b""


def h1_exchange(port: int, pki, writes: list, *, party: str = "dfsp-a", expect: int = 1,
                gap: float = 0.0, timeout: float = 5.0, head: bool = False,
                close_after_writes: bool = False, source_ip: str | None = None) -> list[Reply]:
    """Writes each item of `writes` (bytes) to one TLS connection (`gap` seconds apart), then
    reads up to `expect` responses. Returns them; a last entry of kind closed/timeout says the
    connection ended or went quiet before `expect` responses. close_after_writes: close
    without reading (an abandoned request)."""
    start = time.monotonic()
    sock = connect(port, pki, party, alpn=["http/1.1"], timeout=timeout, source_ip=source_ip)
    replies: list[Reply] = []
    try:
        for i, w in enumerate(writes):
            try:
                sock.sendall(w)
            except OSError as err:  # the server may answer and close before we finish
                replies.append(Reply("closed", detail=f"write {i}: {err!r}"))
                break
            if gap and i < len(writes) - 1:
                time.sleep(gap)
        if close_after_writes:
            return []
        buf, eof = b"", False
        deadline = time.monotonic() + timeout
        while len([r for r in replies if r.kind == "response"]) < expect:
            parsed = _parse_one(buf, head, eof)
            if parsed is not None:
                reply, buf = parsed
                reply.elapsed = time.monotonic() - start
                replies = [r for r in replies if r.kind == "response"] + [reply]
                continue
            if eof:
                replies.append(Reply("closed", detail="EOF", elapsed=time.monotonic() - start))
                break
            left = deadline - time.monotonic()
            if left <= 0:
                replies.append(Reply("timeout", detail=f"no complete response in {timeout}s",
                                     elapsed=time.monotonic() - start))
                break
            sock.settimeout(left)
            try:
                data = sock.recv(65536)
            except (TimeoutError, socket.timeout):
                continue
            except (ssl.SSLError, OSError) as err:
                data = b""
                replies.append(Reply("closed", detail=repr(err)))
            if not data:
                eof = True
            buf += data
        return replies
    finally:
        sock.close()


def h1_one(port: int, pki, request: bytes, **kw) -> Reply:
    out = h1_exchange(port, pki, [request], **kw)
    responses = [r for r in out if r.kind == "response"]
    return responses[0] if responses else (out[-1] if out else Reply("closed"))


# --- HTTP/2 ------------------------------------------------------------------------------------


def _flush(sock, conn) -> None:
    data = conn.data_to_send()
    if data:
        sock.sendall(data)


def h2_exchange(port: int, pki, method: str, path: str, headers: list, *, data: list | None = None,
                trailers: list | None = None, party: str = "dfsp-a", alpn: bool = True,
                gap: float = 0.0, end_stream: bool = True, reset_after_data: bool = False,
                timeout: float = 5.0, authority: str = "localhost", scheme: str = "https",
                source_ip: str | None = None) -> Reply:
    """One request on a fresh HTTP/2 connection. data: the DATA frames' payloads in order (each
    its own frame, `gap` seconds apart); trailers: a trailing HEADERS frame with END_STREAM.
    end_stream=False: the stream is never ended (a stalled body); reset_after_data: RST_STREAM
    (CANCEL) after the data, then the connection is closed without reading. Header names are
    sent as given (no validation or normalisation by the client)."""
    start = time.monotonic()
    sock = connect(port, pki, party, alpn=["h2"] if alpn and pki is not None else None, timeout=timeout,
                   source_ip=source_ip)
    try:
        if alpn and pki is not None and sock.selected_alpn_protocol() != "h2":
            raise AssertionError(f"ALPN h2 not negotiated: {sock.selected_alpn_protocol()!r}")
        config = h2.config.H2Configuration(
            client_side=True, header_encoding="utf-8", validate_outbound_headers=False,
            normalize_outbound_headers=False, validate_inbound_headers=False)
        conn = h2.connection.H2Connection(config=config)
        conn.initiate_connection()
        _flush(sock, conn)
        sid = conn.get_next_available_stream_id()
        frames = list(data or [])
        pseudo = [(":method", method), (":scheme", scheme), (":authority", authority), (":path", path)]
        only_headers = not frames and trailers is None
        write_error = None
        try:
            conn.send_headers(sid, pseudo + list(headers), end_stream=only_headers and end_stream)
            _flush(sock, conn)
            for i, chunk in enumerate(frames):
                if gap:
                    time.sleep(gap)
                last = i == len(frames) - 1
                conn.send_data(sid, chunk, end_stream=last and trailers is None and end_stream)
                _flush(sock, conn)
            if trailers is not None:
                if gap:
                    time.sleep(gap)
                conn.send_headers(sid, list(trailers), end_stream=end_stream)
                _flush(sock, conn)
            if reset_after_data:
                conn.reset_stream(sid, error_code=8)  # CANCEL
                _flush(sock, conn)
                return Reply("reset", detail="client reset", elapsed=time.monotonic() - start)
        except (OSError, h2.exceptions.ProtocolError) as err:
            write_error = repr(err)  # the server answered (and maybe closed) first: read it
        return _h2_read(sock, conn, sid, start, timeout, write_error)
    finally:
        sock.close()


def _h2_read(sock, conn, sid, start, timeout, write_error) -> Reply:
    reply = Reply("timeout", detail=write_error or "")
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            reply.kind = "timeout" if reply.status is None else "response"
            reply.detail += f" no end of stream within {timeout}s"
            break
        sock.settimeout(left)
        try:
            data = sock.recv(65536)
        except (TimeoutError, socket.timeout):
            continue
        except (ssl.SSLError, OSError) as err:
            reply.kind = "closed" if reply.status is None else "response"
            reply.detail += f" {err!r}"
            break
        if not data:
            reply.kind = "closed" if reply.status is None else "response"
            reply.detail += " EOF"
            break
        try:
            events = conn.receive_data(data)
        except h2.exceptions.ProtocolError as err:
            reply.kind = "closed" if reply.status is None else "response"
            reply.detail += f" protocol error {err!r}"
            break
        done = False
        for ev in events:
            if isinstance(ev, h2.events.ResponseReceived) and ev.stream_id == sid:
                hdrs = [(n.lower(), v) for n, v in ev.headers]
                status = next(int(v) for n, v in hdrs if n == ":status")
                reply.status, reply.kind = status, "response"
                reply.headers = [(n, v) for n, v in hdrs if not n.startswith(":")]
            elif isinstance(ev, h2.events.DataReceived) and ev.stream_id == sid:
                reply.body += ev.data
                conn.acknowledge_received_data(ev.flow_controlled_length, sid)
            elif isinstance(ev, h2.events.TrailersReceived) and ev.stream_id == sid:
                reply.trailers = [(n.lower(), v) for n, v in ev.headers]
            elif isinstance(ev, h2.events.StreamEnded) and ev.stream_id == sid:
                done = True
            elif isinstance(ev, h2.events.StreamReset) and ev.stream_id == sid:
                if reply.status is None:
                    reply.kind = "reset"
                reply.detail += f" RST_STREAM {ev.error_code!r}"
                done = True
            elif isinstance(ev, h2.events.ConnectionTerminated):
                if reply.status is None:
                    reply.kind = "reset"
                reply.detail += f" GOAWAY {ev.error_code!r}"
                done = True
        try:
            _flush(sock, conn)
        except OSError:
            pass
        if done:
            break
    reply.elapsed = time.monotonic() - start
    return reply


# --- one call for every transport --------------------------------------------------------------


def send(transport: str, port: int, pki, method: str, path: str, headers: list,
         body: bytes | None = None, *, frames: list | None = None, trailers: list | None = None,
         gap: float = 0.0, party: str = "dfsp-a", timeout: float = 5.0,
         source_ip: str | None = None) -> Reply:
    """The same request over `transport` (h1 | h2-alpn | h2-prior).

    frames: the body as many pieces (h2: one DATA frame each; h1: one chunk each of a chunked
    body when trailers are given, else one TCP write each under a Content-Length). trailers: h2
    trailing HEADERS; h1: the chunked trailer section (the body is then chunked)."""
    if frames is None and body:
        frames = [body]
    body_bytes = b"".join(frames or [])
    if transport == "h1":
        if trailers is not None:
            raw = h1_bytes(method, path, headers, chunks=frames or [], trailers=trailers)
            return h1_one(port, pki, raw, party=party, timeout=timeout, source_ip=source_ip,
                          head=method == "HEAD")
        want_body = bool(frames) or method.upper() in ("POST", "PUT", "PATCH")
        raw = h1_bytes(method, path, headers, body_bytes if want_body else None)
        if frames and len(frames) > 1:
            head_len = len(raw) - len(body_bytes)
            writes = [raw[:head_len]] + list(frames)
            out = h1_exchange(port, pki, writes, party=party, gap=gap, timeout=timeout,
                              source_ip=source_ip, head=method == "HEAD")
            responses = [r for r in out if r.kind == "response"]
            return responses[0] if responses else (out[-1] if out else Reply("closed"))
        return h1_one(port, pki, raw, party=party, timeout=timeout, source_ip=source_ip,
                      head=method == "HEAD")
    if transport in ("h2-alpn", "h2-prior"):
        hdrs = [(n.lower(), v) for n, v in headers]
        return h2_exchange(port, pki, method, path, hdrs, data=frames, trailers=trailers,
                           party=party, alpn=transport == "h2-alpn", gap=gap, timeout=timeout,
                           source_ip=source_ip)
    raise ValueError(transport)


def split(body: bytes, n: int) -> list[bytes]:
    """body in pieces of at most n bytes (at least one piece)."""
    return [body[i:i + n] for i in range(0, len(body), n)] or [b""]
