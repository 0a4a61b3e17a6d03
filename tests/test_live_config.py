"""The platform gateway from file-based dynamic configuration (LDS/CDS files written by
scripts/live-config, bootstrap envoy/dynamic/platform.yaml): pushes take effect in the running
Envoy (same process, same port), in-flight requests finish on the configuration they started
under, and a push Envoy refuses leaves the old configuration serving.

Each push is timed from the rename of the new files to Envoy's verdict
(listener_manager.lds.update_success / update_rejected moved, nothing warming); the timings are
printed (`pytest -s`)."""

from __future__ import annotations

import http.client
import itertools
import socket
import ssl
import subprocess
import time

import pytest

from harness import https_request, start_gateway, tls_context
from signet_cli import sign
from test_jws_verify import SAN_A, SAN_B, assert_forwarded, assert_refused, pem, reason, send, verify_filter

DRAIN_S = 2
PARTNER_A = {"id": "dfsp-a", "tls_names": [SAN_A], "source_cidrs": ["127.0.0.1/32"]}
PARTNER_B = {"id": "dfsp-b", "tls_names": [SAN_B], "source_cidrs": ["127.0.0.2/32"]}
# Mojaloop with its replay cache on: a refusal is 400 sig_invalid / 403 partner_inactive.
PROFILE = {"profile": {"mojaloop": {"date_window": "5m"}}, "max_body_bytes": 4096, "replay_cache": True}
SEQ = itertools.count()


def registry_entry(pki, party, status=None, public_key_pem=None):
    entry = {"id": party, "tls_names": [f"{party}.partners.signet.test"],
             "keys": [{"public_key_pem": public_key_pem or pem(pki.root / f"{party}/jws/rsa.pub")}]}
    return {**entry, "status": status} if status else entry


def params(partners: list, registry: list, **extra) -> dict:
    """Render parameters: the TLS/RBAC partners and jws_verify's registry."""
    return {"partners": partners, "filters": verify_filter({**PROFILE, "partners": registry, **extra})}


def transfer(tmp_path, party: str, key_pem: str):
    """A fresh (never sent) transfer from party, signed with key_pem."""
    n = next(SEQ)
    body = f'{{"transferId":"t-{n}","payerFsp":"{party}","amount":{{"currency":"USD","amount":"7"}}}}'.encode()
    work = tmp_path / f"sign-{n}"
    work.mkdir()
    signer = {"profile": {"mojaloop": {"source_id": party}}, "signing_key": key_pem}
    return sign(work, signer, "POST", "/transfers", [("content-type", "application/json")], body)


def rsa_key(pki, party):
    return pem(pki.root / f"{party}/jws/rsa.key")


def accepted(gw, pki, request, party="dfsp-a"):
    ip = {"dfsp-a": "127.0.0.1", "dfsp-b": "127.0.0.2"}[party]
    hits = gw.upstream.hits()
    assert_forwarded(gw, send(gw, pki, request, party=party, source_ip=ip), request[3], hits)


def refused(gw, pki, request, code, status, party="dfsp-a"):
    out = send(gw, pki, request, party=party)
    assert_refused(gw, out, code, status, gw.upstream.hits())


VMS = "wasm.envoy.wasm.runtime.v8.created"
ACTIVE_VMS = "wasm.envoy.wasm.runtime.v8.active"


def pushed(gw, label: str, **changes):
    vms = gw.counter(VMS)
    push = gw.push(**changes)
    print(f"\npush {label}: {'accepted' if push.accepted else 'REFUSED'} in {push.seconds:.3f}s, "
          f"Wasm VMs created {gw.counter(VMS) - vms}, active {gw.counter(ACTIVE_VMS)}")
    return push


@pytest.fixture
def live(pki, tmp_path):
    """A dynamic platform gateway with dfsp-a only (TLS, RBAC and jws_verify)."""
    with start_gateway(tmp_path / "gw", pki, dynamic=True, envoy_args=["--drain-time-s", str(DRAIN_S)],
                       **params([PARTNER_A], [registry_entry(pki, "dfsp-a")])) as gw:
        gw.pid = gw.proc.popen.pid
        gw.first_port = gw.port
        yield gw
        # Whatever was pushed, it was one Envoy on one port all along.
        assert gw.proc.alive() and gw.proc.popen.pid == gw.pid
        assert gw.listener_port() == gw.first_port


def test_new_partner_is_served_after_a_push(live, pki, tmp_path):
    gw = live
    first = transfer(tmp_path, "dfsp-a", rsa_key(pki, "dfsp-a"))
    accepted(gw, pki, first)
    from_b = transfer(tmp_path, "dfsp-b", rsa_key(pki, "dfsp-b"))
    # dfsp-b is not a partner yet: its certificate's SAN is refused in the handshake.
    cert, key = pki.client("dfsp-b")
    out = https_request(gw.port, ca=pki.platform_ca, cert=cert, key=key, source_ip="127.0.0.2",
                        await_alert=3.0)
    assert out.kind == "alert" and out.alert == "SSLV3_ALERT_CERTIFICATE_UNKNOWN", out

    push = pushed(gw, "add dfsp-b", **params(
        [PARTNER_A, PARTNER_B], [registry_entry(pki, "dfsp-a"), registry_entry(pki, "dfsp-b")]))
    assert push.accepted
    assert push.stats["listener_manager.listener_in_place_updated"] >= 1
    accepted(gw, pki, from_b, party="dfsp-b")
    assert gw.decisions("jws_verify", "ok", "dfsp-b") == 1
    # The replay cache lives in shared data: a message accepted before the push is still a replay.
    hits = gw.upstream.hits()
    out = send(gw, pki, first)
    assert out.status != 200 and reason(out) == "replay", (out.status, reason(out))
    assert gw.upstream.hits() == hits


def test_rotated_key_takes_effect(live, pki, tmp_path):
    gw = live
    new_key = tmp_path / "dfsp-a-new.key"
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                    "-out", str(new_key)], check=True, capture_output=True, timeout=30)
    new_pub = subprocess.run(["openssl", "pkey", "-in", str(new_key), "-pubout"], check=True,
                             capture_output=True, text=True, timeout=30).stdout
    old_signed = transfer(tmp_path, "dfsp-a", rsa_key(pki, "dfsp-a"))
    new_signed = transfer(tmp_path, "dfsp-a", new_key.read_text())
    refused(gw, pki, new_signed, "sig_invalid", 400)

    push = pushed(gw, "rotate dfsp-a's key", **params(
        [PARTNER_A], [registry_entry(pki, "dfsp-a", public_key_pem=new_pub)]))
    assert push.accepted
    accepted(gw, pki, new_signed)
    refused(gw, pki, old_signed, "sig_invalid", 400)


def test_suspended_partner_is_refused_with_its_reason(live, pki, tmp_path):
    gw = live
    accepted(gw, pki, transfer(tmp_path, "dfsp-a", rsa_key(pki, "dfsp-a")))
    push = pushed(gw, "suspend dfsp-a", **params([PARTNER_A], [registry_entry(pki, "dfsp-a", "suspended")]))
    assert push.accepted
    refused(gw, pki, transfer(tmp_path, "dfsp-a", rsa_key(pki, "dfsp-a")), "partner_inactive", 403)


def test_in_flight_request_finishes_on_the_configuration_it_started_under(live, pki, tmp_path):
    """Headers and half the body, then a push suspending dfsp-a, then the rest of the body: the
    request was accepted on the old filter chain and is verified under it (200); Envoy drains
    that chain for --drain-time-s, and a new connection gets the new configuration (403
    partner_inactive)."""
    gw = live
    later = transfer(tmp_path, "dfsp-a", rsa_key(pki, "dfsp-a"))
    hits = gw.upstream.hits()
    tls, rest = half_sent(gw, pki, transfer(tmp_path, "dfsp-a", rsa_key(pki, "dfsp-a")))
    with tls:
        time.sleep(0.2)  # the headers are in, the body held by jws_verify
        push = pushed(gw, "suspend dfsp-a with a request in flight",
                      **params([PARTNER_A], [registry_entry(pki, "dfsp-a", "suspended")]))
        assert push.accepted
        assert push.seconds < DRAIN_S, "the rest of the body must come before the drain ends"
        assert gw.upstream.hits() == hits, "nothing reaches the upstream before the whole body"
        tls.sendall(rest)
        resp = http.client.HTTPResponse(tls, method="POST")
        resp.begin()
        data = resp.read()
        print(f"in-flight: {resp.status} connection={resp.getheader('connection')}")
        assert resp.status == 200, (resp.status, resp.getheader("x-signet-reason"), data)
        assert gw.upstream.hits() == hits + 1
    refused(gw, pki, later, "partner_inactive", 403)


BAD_KEY = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n"
INVALID = {
    # case: (jws_verify settings added, dfsp-b's registered key, what the log must name)
    "unknown_field": ({"max_body_byte": 4096}, None, "max_body_byte"),  # a typo of max_body_bytes
    "wrong_type": ({"profile": {"mojaloop": {"date_window": 300}}}, None, "profile.mojaloop.date_window"),
    "bad_key": ({}, BAD_KEY, '.keys[0].public_key_pem: partner "dfsp-b"'),  # truncated SPKI
}


def half_sent(gw, pki, request):
    """A TLS connection from dfsp-a that has sent the headers and half the body of request."""
    method, path, headers, body = request
    cert, key = pki.client("dfsp-a")
    raw = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
    tls = tls_context(pki.platform_ca, cert, key).wrap_socket(raw, server_hostname="127.0.0.1")
    head = f"{method} {path} HTTP/1.1\r\nhost: platform\r\ncontent-length: {len(body)}\r\n"
    head += "".join(f"{n}: {v}\r\n" for n, v in headers if n.lower() not in ("content-length", "host"))
    tls.sendall(head.encode() + b"\r\n" + body[: len(body) // 2])
    return tls, body[len(body) // 2:]


def test_in_flight_request_is_cut_when_it_outlives_the_drain(live, pki, tmp_path):
    """The bound of the promise above: the old chain's connections are closed --drain-time-s
    after the push; a request still unfinished then never gets an answer (and never reaches the
    upstream). Set the drain time above the slowest request (and its body_timeout)."""
    gw = live
    hits = gw.upstream.hits()
    tls, rest = half_sent(gw, pki, transfer(tmp_path, "dfsp-a", rsa_key(pki, "dfsp-a")))
    with tls:
        time.sleep(0.2)
        assert pushed(gw, "suspend dfsp-a, request outliving the drain",
                      **params([PARTNER_A], [registry_entry(pki, "dfsp-a", "suspended")])).accepted
        time.sleep(DRAIN_S + 1.5)
        with pytest.raises((ConnectionError, ssl.SSLError, http.client.HTTPException, OSError)):
            tls.sendall(rest)
            resp = http.client.HTTPResponse(tls, method="POST")
            resp.begin()
            pytest.fail(f"answered after the drain: {resp.status}")
    assert gw.upstream.hits() == hits


def test_replay_cache_survives_a_push_that_resizes_it(live, pki, tmp_path):
    gw = live
    first = transfer(tmp_path, "dfsp-a", rsa_key(pki, "dfsp-a"))
    accepted(gw, pki, first)
    # The new size is a new table; the old one is still consulted (read only).
    assert gw.push(**params(
        [PARTNER_A], [registry_entry(pki, "dfsp-a")], replay_cache_entries=50_000)).accepted
    hits = gw.upstream.hits()
    out = send(gw, pki, first)
    assert gw.upstream.hits() == hits, "a replay reached the upstream"
    assert reason(out) == "replay", (out.status, reason(out))


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_signet_configuration_is_refused_and_the_old_one_keeps_serving(live, pki, tmp_path, case):
    extra, b_key, field = INVALID[case]
    gw = live
    good = gw.params
    before = gw.counter("listener_manager.lds.update_rejected")
    log_before = len(gw.log())
    push = pushed(gw, f"invalid jws_verify ({case})", **params(
        [PARTNER_A, PARTNER_B],
        [registry_entry(pki, "dfsp-a"), registry_entry(pki, "dfsp-b", public_key_pem=b_key)], **extra))
    assert not push.accepted
    assert gw.counter("listener_manager.lds.update_rejected") == before + 1
    assert gw.params is good
    log = gw.log()[log_before:]
    assert field in log, log[-3000:]
    assert "lds: listener 'platform' config rejected: Unable to create Wasm plugin signet.jws_verify" in log
    # The old listener serves: dfsp-a verified, dfsp-b (only in the refused push) not a partner.
    accepted(gw, pki, transfer(tmp_path, "dfsp-a", rsa_key(pki, "dfsp-a")))
    cert, key = pki.client("dfsp-b")
    out = https_request(gw.port, ca=pki.platform_ca, cert=cert, key=key, source_ip="127.0.0.2",
                        await_alert=3.0)
    assert out.kind == "alert", out
    # And the next good push is taken.
    assert pushed(gw, "good after refused", **params(
        [PARTNER_A], [registry_entry(pki, "dfsp-a", "suspended")])).accepted
    refused(gw, pki, transfer(tmp_path, "dfsp-a", rsa_key(pki, "dfsp-a")), "partner_inactive", 403)
