"""The fault matrix (tests/FAULTS.md) through a real Envoy: each row a fault, the status the
partner gets, proof that nothing unverified reached the upstream, and recovery without
restarting Envoy (same PID).

1. The Wasm VM traps: a test-only build of the module (cargo feature `test-trap`,
   filters/wasm/src/trap.rs; `make wasm-trap` into target/trap, rebuilt here if cargo says so)
   aborts on `x-signet-test-trap: 1`. The shipped configs use `failure_policy: FAIL_RELOAD`.
2. Client faults: disconnects mid-body, an over-limit body without content-length.
3. Upstream faults: an upstream that resets, answers beyond the route timeout, or is down;
   on the platform side and, through a platform gateway, on a partner's egress.

The judge is always the upstream: `FaultUpstream` records every request it received; a
request without a valid signature must never be among them.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

import pytest

from authsvc import AuthService
from harness import REPO, WASM, demo_env, https_request, start_gateway, tls_context
from signet_cli import sign
from test_token_check import claims_a, token_check_config, wait_for

TRAP_WASM = Path(os.environ.get(
    "SIGNET_TRAP_WASM", REPO / "target" / "trap" / "wasm32-wasip1" / "release" / "signet.wasm"))
TRAP_HEADER = "x-signet-test-trap"
TRAP_LOG = b"test-trap build: trapping the VM"
SAN_A = "dfsp-a.partners.signet.test"
GATEWAY = {"root_id": "gateway", "configuration": {}}
TRANSFER = b'{"transferId":"f4017","payerFsp":"dfsp-a","payeeFsp":"dfsp-b","amount":{"currency":"USD","amount":"7"}}'
LIMIT = 4096


# --- helpers --------------------------------------------------------------------------------


def reason(out) -> str | None:
    return dict((k.lower(), v) for k, v in out.headers).get("x-signet-reason")


class FaultUpstream:
    """An HTTP/1.1 upstream with a switchable fault: "ok" (200, echoes the body as JSON),
    "reset" (reads the request, then a TCP RST), "slow" (answers after delay_s), and stop() /
    start() for down / back on the same port. Records every request it read completely."""

    def __init__(self):
        self.mode = "ok"
        self.delay_s = 2.5
        self.received: list[tuple[str, str, dict, bytes]] = []
        self.port = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sock: socket.socket | None = None
        self._conns: set[socket.socket] = set()

    def start(self) -> "FaultUpstream":
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(64)
        sock.settimeout(0.2)
        self.port = sock.getsockname()[1]
        self._stop.clear()
        self._sock = sock
        threading.Thread(target=self._accept, args=(sock,), daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        with self._lock:
            conns, self._conns = list(self._conns), set()
        for c in conns:
            c.close()

    def hits(self) -> int:
        with self._lock:
            return len(self.received)

    def _accept(self, sock: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = sock.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            with self._lock:
                self._conns.add(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(5)
            request = self._read(conn)
            if request is None:
                return
            with self._lock:
                self.received.append(request)
            mode = self.mode
            if mode == "reset":
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            if mode == "slow":
                self._stop.wait(min(self.delay_s, 10))
            method, path, headers, body = request
            doc = json.dumps({"method": method, "path": path, "body_b64": base64.b64encode(body).decode(),
                              "hit": self.hits()}).encode()
            conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n"
                         + f"content-length: {len(doc)}\r\n\r\n".encode() + doc)
        except OSError:
            pass
        finally:
            with self._lock:
                self._conns.discard(conn)
            conn.close()

    @staticmethod
    def _read(conn: socket.socket):
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if "chunked" in headers.get("transfer-encoding", ""):
            while not body.endswith(b"0\r\n\r\n"):
                chunk = conn.recv(65536)
                if not chunk:
                    return None
                body += chunk
            out, rest = b"", body
            while True:
                size_line, _, rest = rest.partition(b"\r\n")
                size = int(size_line.split(b";")[0], 16)
                if size == 0:
                    break
                out, rest = out + rest[:size], rest[size + 2:]
            return method, path, headers, out
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            body += chunk
        return method, path, headers, body


def mtls_request(gw, pki, method, path, headers, body, **kw):
    cert, key = pki.client("dfsp-a")
    hdrs = [(n, v) for n, v in headers if n.lower() not in ("content-length", "host")]
    return https_request(gw.port, ca=pki.platform_ca, cert=cert, key=key, method=method, path=path,
                         headers=hdrs, body=body, **kw)


def raw_mtls(gw, pki, data: bytes, *, close_after_write: bool, timeout: float = 5.0) -> bytes:
    """Writes raw HTTP/1.1 bytes over mTLS; reads to EOF unless it closes right after writing."""
    cert, key = pki.client("dfsp-a")
    ctx = tls_context(pki.platform_ca, cert, key)
    with socket.create_connection(("127.0.0.1", gw.port), timeout=timeout) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            tls.sendall(data)
            if close_after_write:
                return b""
            out = b""
            while True:
                try:
                    chunk = tls.recv(65536)
                except (ConnectionResetError, OSError):
                    break
                if not chunk:
                    break
                out += chunk
            return out


def request_head(method, path, headers, extra: list[tuple[str, str]]) -> bytes:
    hdrs = [(n, v) for n, v in headers if n.lower() not in ("content-length", "host")]
    lines = [f"{method} {path} HTTP/1.1", "host: platform"] + [f"{n}: {v}" for n, v in hdrs + extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def wasm_stats(gw) -> dict[str, int]:
    """Envoy's own Wasm stats (`wasm.*`, not the module's `wasmcustom.*`)."""
    return {k: v for k, v in gw.stats("wasm").items() if not k.startswith("wasmcustom.")}


def reload_counts(gw) -> dict[str, int]:
    return {k: v for k, v in wasm_stats(gw).items() if "reload" in k}


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trap_wasm() -> Path:
    """The test-trap module. `make integration` builds it first (`make wasm-trap`); a direct
    pytest run gets it here (cargo is a no-op when it is up to date)."""
    if "SIGNET_TRAP_WASM" not in os.environ:
        try:
            subprocess.run(
                ["cargo", "build", "--release", "--target", "wasm32-wasip1", "-p", "signet-wasm",
                 "--features", "test-trap", "--target-dir", str(REPO / "target" / "trap")],
                cwd=REPO, check=True, capture_output=True, timeout=100, start_new_session=True)
        except (subprocess.TimeoutExpired, subprocess.CalledProcessError, FileNotFoundError) as err:
            pytest.fail(f"cannot build the test-trap module (run `make wasm-trap`): {err}")
    assert TRAP_WASM.exists(), TRAP_WASM
    return TRAP_WASM


@pytest.fixture(scope="module")
def signed(pki, tmp_path_factory):
    """dfsp-a's signed mojaloop transfer (signet CLI), and a forged one (body changed)."""
    signer = {"profile": {"mojaloop": {"source_id": "dfsp-a"}},
              "signing_key": (pki.root / "dfsp-a/jws/rsa.key").read_text()}
    good = sign(tmp_path_factory.mktemp("sign"), signer, "POST", "/transfers",
                [("content-type", "application/json"), ("fspiop-destination", "dfsp-b")], TRANSFER)
    method, path, headers, body = good
    forged = (method, path, headers, body.replace(b'"7"', b'"700"'))
    unsigned = (method, path, [(n, v) for n, v in headers if n.lower() != "fspiop-signature"], body)
    return {"good": good, "forged": forged, "unsigned": unsigned}


def mojaloop_verify(pki, tls_names: bool = True) -> dict:
    partner = {"id": "dfsp-a", "keys": [{"public_key_pem": (pki.root / "dfsp-a/jws/rsa.pub").read_text()}]}
    if tls_names:
        partner["tls_names"] = [SAN_A]
    return {"root_id": "jws_verify", "configuration": {
        "profile": "mojaloop", "max_body_bytes": LIMIT, "partners": [partner]}}


def assert_only_verified(upstream_requests, good) -> None:
    """Every request the upstream ever read is the signed one, byte for byte."""
    for method, path, headers, body in upstream_requests:
        assert headers.get("fspiop-signature") == dict((n.lower(), v) for n, v in good[2])["fspiop-signature"]
        assert body == good[3], body


# --- 1. the Wasm VM traps -------------------------------------------------------------------


@pytest.fixture(scope="module")
def auth():
    svc = AuthService().start()
    yield svc
    svc.stop()


def test_vm_trap_is_503_then_reloaded_with_state_and_no_bypass(trap_wasm, auth, pki, signed, tmp_path):
    """The whole shipped chain (gateway, token_check, jws_verify) on the trap build:
    trap → 503, nothing at the upstream; right after, unsigned / forged / token-less requests
    are refused (never 200); the next valid request is served once the VM is reloaded (same
    Envoy PID), with token_check's JWKS fetched again; Envoy counts the reloads."""
    filters = [GATEWAY, {"root_id": "token_check", "configuration": token_check_config(auth)},
               mojaloop_verify(pki, tls_names=False)]
    with start_gateway(tmp_path, pki, filters=filters,
                       params={"wasm_path": str(trap_wasm), "clusters": [auth.cluster()]}) as gw:
        pid = gw.proc.popen.pid
        token = auth.token(claims_a())
        auth_hdr = [("authorization", f"Bearer {token}")]

        def send(req, extra=(), **kw):
            m, p, h, b = req
            return mtls_request(gw, pki, m, p, list(h) + auth_hdr + list(extra), b, **kw)

        assert wait_for(lambda: send(signed["good"]).status == 200), gw.log()[-3000:]
        hits, jwks = gw.upstream.hits(), auth.jwks_hits
        assert reload_counts(gw) == {} or set(reload_counts(gw).values()) == {0}
        created = gw.counter("wasm.envoy.wasm.runtime.v8.created")
        print("wasm stats before:", {k: v for k, v in wasm_stats(gw).items() if "runtime" in k or "vm_count" in k})

        for round_ in range(2):
            t0 = time.monotonic()
            out = send(signed["good"], [(TRAP_HEADER, "1")])
            assert out.kind in ("response", "closed"), out
            if out.kind == "response":
                assert out.status == 503, (out.status, out.body)
            assert gw.upstream.hits() == hits, "the trapping request reached the upstream"
            # Right after the crash: nothing unverified passes, whatever state the VM is in
            # (reload backoff: 503; reloaded but no JWKS yet: 503 keys_unavailable; else the
            # refusal of the filter that decides).
            after = []
            for name, req, extra in (("unsigned", signed["unsigned"], ()),
                                     ("forged", signed["forged"], ()),
                                     ("no-token", signed["good"], ())):
                if name == "no-token":
                    m, p, h, b = req
                    o = mtls_request(gw, pki, m, p, h, b)
                else:
                    o = send(req, extra)
                after.append((name, o.status, reason(o)))
                assert o.status != 200, (name, o.status, o.body)
            assert gw.upstream.hits() == hits, after
            # The next valid request is served once the VM is back (and the keys refetched).
            assert wait_for(lambda: send(signed["good"]).status == 200, timeout=15), gw.log()[-4000:]
            recovered = time.monotonic() - t0
            hits += 1
            assert gw.upstream.hits() == hits
            assert auth.jwks_hits > jwks, "token_check's JWKS cache was not refetched after the reload"
            jwks = auth.jwks_hits
            # jws_verify still verifies after the reload.
            o = send(signed["forged"])
            assert o.status != 200 and reason(o) in ("sig_invalid", "sig_malformed"), (o.status, reason(o))
            assert gw.upstream.hits() == hits
            print(f"round {round_}: trap {out.kind} {out.status}; right after {after}; "
                  f"recovered in {recovered:.2f}s; reloads {reload_counts(gw)}")

        assert gw.proc.alive() and gw.proc.popen.pid == pid, "Envoy was restarted"
        counts = reload_counts(gw)
        print("wasm stats:", wasm_stats(gw))
        # Each of the three plugins on the shared VM reloads (its own VM now), once per trap.
        for root_id in ("gateway", "token_check", "jws_verify"):
            assert counts[f"wasm.signet.{root_id}.vm_reload_success"] == 2, counts
            assert counts[f"wasm.signet.{root_id}.vm_reload_failure"] == 0, counts
        # A new V8 VM per trap (measured: created 6 -> 8, active stays 3).
        assert gw.counter("wasm.envoy.wasm.runtime.v8.created") >= created + 2
        log = gw.log()
        assert TRAP_LOG.decode() in log and "unreachable" in log.lower()


def test_request_held_when_the_vm_traps_is_never_released(trap_wasm, pki, signed, tmp_path):
    """A forged request whose body jws_verify is still holding (headers + half the body) when
    another request traps the VM: the rest of its body arrives at a filter whose VM is gone.
    Envoy fails that stream closed (FAIL_RELOAD is not fail-open): 503 or a reset, never the
    upstream; a valid request afterwards is served by the reloaded VM."""
    with start_gateway(tmp_path, pki, filters=[GATEWAY, mojaloop_verify(pki)],
                       params={"wasm_path": str(trap_wasm)}) as gw:
        m, p, h, b = signed["forged"]
        gm, gp, gh, gb = signed["good"]
        assert mtls_request(gw, pki, gm, gp, gh, gb).status == 200
        hits = gw.upstream.hits()
        cert, key = pki.client("dfsp-a")
        ctx = tls_context(pki.platform_ca, cert, key)
        head = request_head(m, p, h, [("content-length", str(len(b))), ("connection", "close")])
        with socket.create_connection(("127.0.0.1", gw.port), timeout=5) as raw, \
                ctx.wrap_socket(raw, server_hostname="127.0.0.1") as held:
            held.sendall(head + b[: len(b) // 2])
            time.sleep(0.3)  # the held request is in jws_verify now
            trap = mtls_request(gw, pki, gm, gp, list(gh) + [(TRAP_HEADER, "1")], gb)
            assert trap.kind == "closed" or trap.status == 503, trap
            reply = b""
            try:
                held.sendall(b[len(b) // 2:])
                while chunk := held.recv(65536):
                    reply += chunk
            except OSError:
                pass  # reset: also never forwarded
        status = reply.split(b" ", 2)[1] if reply.startswith(b"HTTP/1.1 ") else b"(reset/closed)"
        assert status != b"200", reply[:300]
        time.sleep(0.3)
        assert gw.upstream.hits() == hits, "the request held across the crash reached the upstream"
        assert wait_for(lambda: mtls_request(gw, pki, gm, gp, gh, gb).status == 200, timeout=10)
        assert gw.upstream.hits() == hits + 1
        print("held across the trap:", status, reply[:120])


def test_vm_trap_in_jws_verify_alone(trap_wasm, pki, signed, tmp_path):
    """The trap in jws_verify (no gateway in front): 503, upstream untouched, an unsigned
    request right after refused, the valid one served again without a restart."""
    with start_gateway(tmp_path, pki, filters=[mojaloop_verify(pki)],
                       params={"wasm_path": str(trap_wasm)}) as gw:
        pid = gw.proc.popen.pid
        m, p, h, b = signed["good"]
        assert mtls_request(gw, pki, m, p, h, b).status == 200
        hits = gw.upstream.hits()
        out = mtls_request(gw, pki, m, p, list(h) + [(TRAP_HEADER, "1")], b)
        assert out.kind == "closed" or out.status == 503, out
        o = mtls_request(gw, pki, *signed["unsigned"])
        assert o.status != 200, (o.status, o.body)
        assert gw.upstream.hits() == hits
        assert wait_for(lambda: mtls_request(gw, pki, m, p, h, b).status == 200, timeout=10)
        assert gw.upstream.hits() == hits + 1 and gw.proc.popen.pid == pid
        print("jws_verify alone: trap", out.kind, out.status, "after", o.status, reason(o),
              "reloads", reload_counts(gw))


def test_shipped_module_ignores_the_trap_header(trap_wasm, pki, signed, tmp_path):
    """The shipped build has no trap: the header is stripped like every x-signet-* header and
    the request is verified as usual; no reload ever happens."""
    assert TRAP_LOG not in WASM.read_bytes(), "the shipped module carries the test trap"
    assert TRAP_LOG in trap_wasm.read_bytes()
    with start_gateway(tmp_path, pki, filters=[GATEWAY, mojaloop_verify(pki)]) as gw:
        m, p, h, b = signed["good"]
        hits = gw.upstream.hits()
        out = mtls_request(gw, pki, m, p, list(h) + [(TRAP_HEADER, "1")], b)
        assert out.status == 200, (out.status, out.body)
        seen = {n.lower() for n, _ in out.json()["headers"]}
        assert TRAP_HEADER not in seen
        um, up, uh, ub = signed["unsigned"]
        o = mtls_request(gw, pki, um, up, list(uh) + [(TRAP_HEADER, "1")], ub)
        assert (o.status, reason(o)) == (400, "sig_missing"), (o.status, o.body)
        assert gw.upstream.hits() == hits + 1
        assert sum(reload_counts(gw).values()) == 0, reload_counts(gw)
        assert "unreachable" not in gw.log().lower()


# --- 2. client faults -------------------------------------------------------------------------
# Already covered (tests/FAULTS.md): one reset / closed connection mid-body per profile and
# transport reaches nothing (tests/adversarial/test_adv_streams.py::test_reset_mid_body_reaches_nothing);
# a stalled body gets body_timeout (tests/adversarial/test_adv_timeout.py); a content-length over
# max_body_bytes gets the profile's body_too_large (test_jws_verify.py::test_mojaloop_body_limit,
# test_jws_verify_profiles.py); over the Envoy buffer limit 413 (test_two_gateways.py).


@pytest.fixture(scope="module")
def shipped(pki, tmp_path_factory):
    """gateway + jws_verify (mojaloop, max_body_bytes 4096) on the shipped module."""
    with start_gateway(tmp_path_factory.mktemp("faults"), pki, filters=[GATEWAY, mojaloop_verify(pki)]) as gw:
        yield gw


def test_many_mid_body_disconnects_then_the_gateway_still_serves(shipped, pki, signed):
    """20 signed requests cut after half the body (connection closed) in a row: none reaches
    the upstream, and the gateway answers the next complete request at once (no held request
    or waiter left behind blocks it)."""
    gw = shipped
    m, p, h, b = signed["good"]
    head = request_head(m, p, h, [("content-length", str(len(b)))])
    hits = gw.upstream.hits()
    t0 = time.monotonic()
    for _ in range(20):
        raw_mtls(gw, pki, head + b[: len(b) // 2], close_after_write=True)
    time.sleep(0.5)
    assert gw.upstream.hits() == hits, "a request cut mid-body reached the upstream"
    out = mtls_request(gw, pki, m, p, h, b)
    assert out.status == 200 and gw.upstream.hits() == hits + 1, (out.status, out.body)
    assert base64.b64decode(out.json()["body_b64"]) == b
    print(f"20 disconnects + 1 valid in {time.monotonic() - t0:.2f}s")


def test_chunked_body_over_the_limit_is_refused_mid_stream(shipped, pki, signed):
    """No content-length (chunked), so the limit can only be seen while the body arrives:
    mojaloop's body_too_large (400, errorCode 3104) after max_body_bytes, nothing upstream;
    the gateway serves the next request."""
    gw = shipped
    m, p, h, _ = signed["good"]
    head = request_head(m, p, h, [("transfer-encoding", "chunked"), ("connection", "close")])
    chunk = b"x" * 1024
    body = b"".join(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" for _ in range(6)) + b"0\r\n\r\n"
    hits = gw.upstream.hits()
    reply = raw_mtls(gw, pki, head + body, close_after_write=False)
    status_line, _, rest = reply.partition(b"\r\n")
    assert status_line.split(b" ")[1] == b"400", reply[:300]
    assert b"x-signet-reason: body_too_large" in rest.lower() and b"3104" in rest, reply[:600]
    assert gw.upstream.hits() == hits
    out = mtls_request(gw, pki, *signed["good"])
    assert out.status == 200 and gw.upstream.hits() == hits + 1


# --- 3. upstream faults -----------------------------------------------------------------------

ROUTE_TIMEOUT_S = 1


def route_timeout(seconds: float):
    """patch=: the platform route's timeout (Envoy's default is 15 s)."""
    def patch(doc):
        for listener in doc["static_resources"]["listeners"]:
            for chain in listener["filter_chains"]:
                for f in chain["filters"]:
                    rc = f.get("typed_config", {}).get("route_config")
                    for vh in (rc or {}).get("virtual_hosts", []):
                        for r in vh["routes"]:
                            r["route"]["timeout"] = f"{seconds}s"
    return patch


@pytest.fixture
def faulty(pki, tmp_path):
    up = FaultUpstream().start()
    try:
        with start_gateway(tmp_path, pki, filters=[GATEWAY, mojaloop_verify(pki)],
                           params={"upstream_port": up.port}, patch=route_timeout(ROUTE_TIMEOUT_S)) as gw:
            yield gw, up
    finally:
        up.stop()


def test_upstream_reset_slow_and_down_give_envoy_errors_then_recover(faulty, pki, signed):
    """The partner gets Envoy's own 503 (reset, down) / 504 (beyond the route timeout), never a
    forwarded response and never a Signet verdict turned around; an unsigned request during
    each fault is still refused by jws_verify before any upstream is tried; once the upstream is
    back, the same Envoy serves the valid request."""
    gw, up = faulty
    pid = gw.proc.popen.pid
    m, p, h, b = signed["good"]
    assert mtls_request(gw, pki, m, p, h, b).status == 200
    rows = []
    for fault, expect in (("reset", 503), ("slow", 504), ("down", 503)):
        if fault == "down":
            up.stop()
        else:
            up.mode = fault
        t0 = time.monotonic()
        out = mtls_request(gw, pki, m, p, h, b)
        took = time.monotonic() - t0
        assert out.status == expect, (fault, out.status, out.body)
        assert reason(out) is None and b"transferId" not in out.body, out.body
        if fault == "slow":
            assert ROUTE_TIMEOUT_S * 0.8 <= took < ROUTE_TIMEOUT_S + 1.5, took
        before = up.hits()
        o = mtls_request(gw, pki, *signed["unsigned"])
        assert (o.status, reason(o)) == (400, "sig_missing"), (o.status, o.body)
        o = mtls_request(gw, pki, *signed["forged"])
        assert o.status == 400 and reason(o) in ("sig_invalid", "sig_malformed"), (o.status, o.body)
        assert up.hits() == before
        rows.append((fault, out.status, out.body[:60], round(took, 2)))
        up.mode = "ok"
        if fault == "down":
            up.start()  # same port
        back = wait_for(lambda: mtls_request(gw, pki, m, p, h, b).status == 200, timeout=5)
        assert back, f"no recovery after {fault}"
    assert gw.proc.popen.pid == pid and gw.proc.alive()
    assert_only_verified(up.received, signed["good"])
    print("upstream faults:", rows, "upstream read", up.hits(), "requests, all signed")


# --- 3b. the egress: a slow / resetting platform ----------------------------------------------


def test_egress_slow_or_resetting_platform_is_a_clear_error_then_recovers(pki, tmp_path):
    """dfsp-a's egress (jws_sign requests, jws_verify responses; envoy/egress.demo.json) in front
    of the shipped generic platform gateway (envoy/profiles/generic.json) whose upstream is a
    FaultUpstream. Reset upstream: the platform's 503, signed by the platform, verified by the
    egress. Platform slower than the egress route timeout: the egress's own 504. Then back: 200
    with a verified platform signature."""
    egress_params = json.loads((REPO / "envoy" / "egress.demo.json").read_text())
    platform_params = json.loads((REPO / "envoy" / "profiles" / "generic.json").read_text())
    up = FaultUpstream().start()
    try:
        with start_gateway(tmp_path / "platform", pki, filters=platform_params["filters"],
                           partners=platform_params["partners"], params={"upstream_port": up.port},
                           env=demo_env(platform_params, pki)) as platform, \
             start_gateway(tmp_path / "egress", pki, filters=egress_params["filters"],
                           partners=egress_params["partners"], template="egress.yaml", listener="egress", with_upstream=False,
                           env=demo_env(egress_params, pki),
                           params={"platform_host": "127.0.0.1", "platform_port": platform.port,
                                   "platform_sni": "localhost", "partner": "dfsp-a"},
                           patch=route_timeout(ROUTE_TIMEOUT_S)) as egress:
            pid = egress.proc.popen.pid

            def call():
                import http.client
                c = http.client.HTTPConnection("127.0.0.1", egress.port, timeout=8)
                try:
                    c.request("POST", "/transfers", body=TRANSFER, headers={"content-type": "application/json"})
                    r = c.getresponse()
                    return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
                finally:
                    c.close()

            assert wait_for(lambda: call()[0] == 200, timeout=5)
            stat = "wasmcustom.signet.jws_verify."
            rows = []
            for fault in ("reset", "slow"):
                up.mode = fault
                verified, local = egress.decisions("jws_verify", "ok"), egress.counter(stat + "local_reply")
                t0 = time.monotonic()
                status, headers, body = call()
                took = time.monotonic() - t0
                rows.append((fault, status, headers.get("x-signet-reason"), body[:90], round(took, 2)))
                assert "x-signet-reason" not in headers, rows
                if fault == "reset":
                    # The platform's router answers 503; its jws_sign signs that reply and the
                    # egress verifies it like any platform answer.
                    assert status == 503 and egress.decisions("jws_verify", "ok") == verified + 1, rows
                    assert b"upstream connect error or disconnect/reset" in body, rows
                else:
                    # The egress's own router gives up after its route timeout: its 504 is the
                    # egress's word, not an unsigned platform answer (was 502 sig_missing).
                    assert status == 504 and took < ROUTE_TIMEOUT_S + 1.5, rows
                    assert egress.counter(stat + "local_reply") == local + 1, rows
                    assert egress.decisions("jws_verify", "ok") == verified, rows
                up.mode = "ok"
                assert wait_for(lambda: call()[0] == 200, timeout=5), f"no recovery after {fault}"
            # The platform gateway itself gone (connection refused): the egress's own 503.
            platform.proc.stop()
            local = egress.counter(stat + "local_reply")
            status, headers, body = call()
            rows.append(("platform down", status, headers.get("x-signet-reason"), body[:60]))
            assert status == 503 and "x-signet-reason" not in headers, rows
            assert egress.counter(stat + "local_reply") == local + 1, rows
            assert egress.proc.popen.pid == pid and egress.proc.alive()
            print("egress faults:", rows)
    finally:
        up.stop()
