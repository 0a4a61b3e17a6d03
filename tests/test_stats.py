"""Stats and audit through a real Envoy (docs/stats.md): the templates' `stats_tags` turn
Signet's stat names into Prometheus labels, and every deciding filter leaves one audit record in
the JSON access log — or none, with `audit: false`."""

from __future__ import annotations

import json
import time

import pytest

from harness import start_gateway
from test_jws_verify import GATEWAY, mojaloop, reason, send, with_header  # noqa: F401 (fixture)

SIGNET_FAMILIES = {"signet_decisions", "signet_requests", "signet_local_reply",
                   "signet_registry_fetch_ok", "signet_registry_fetch_failed",
                   "signet_registry_negative", "signet_registry_wait",
                   "signet_vm_heap_bytes", "signet_vm_linear_memory_bytes"}


def rid(tag: str) -> str:
    return f"{tag}-{time.monotonic_ns()}"


@pytest.fixture(scope="module")
def gw(mojaloop, pki, tmp_path_factory):  # noqa: F811
    filters = [GATEWAY, {"root_id": "jws_verify", "configuration": mojaloop[0]}]
    with start_gateway(tmp_path_factory.mktemp("stats"), pki, filters=filters) as g:
        yield g


def test_prometheus_sees_labels_not_names(gw, mojaloop, pki):  # noqa: F811
    signed = mojaloop[1]
    assert send(gw, pki, signed).status == 200
    bad = with_header(signed, "fspiop-signature", None)
    assert reason(send(gw, pki, bad)) == "sig_missing"
    samples = gw.prometheus()
    signet = [(n, l, v) for n, l, v in samples if n.startswith("signet_")]
    # Partner ids, reasons and filters are labels: no family name carries them.
    assert {n for n, _, _ in signet} <= SIGNET_FAMILIES, sorted({n for n, _, _ in signet})

    def value(**labels) -> float:
        found = [v for n, l, v in signet if n == "signet_decisions" and l == labels]
        assert len(found) == 1, (labels, [l for n, l, _ in signet if n == "signet_decisions"])
        return found[0]

    common = {"signet_filter": "jws_verify", "signet_profile": "mojaloop"}
    assert value(**common, signet_partner="dfsp-a", signet_reason="ok") >= 1
    # No signature: the refusal counts for the partner the client certificate names.
    assert value(**common, signet_partner="dfsp-a", signet_reason="sig_missing") >= 1
    # Every configured partner shows before it sends anything.
    assert value(**common, signet_partner="dfsp-b", signet_reason="ok") == 0
    assert [v for n, l, v in signet if n == "signet_requests"
            and l == {"signet_filter": "gateway"}][0] >= 2
    # The same counters by their full names, as /stats shows them.
    assert gw.decisions("jws_verify", "ok", "dfsp-a", "mojaloop") >= 1


def test_audit_records_of_jws_verify_in_the_json_access_log(gw, mojaloop, pki):  # noqa: F811
    ok_id, bad_id = rid("ok"), rid("bad")
    assert send(gw, pki, with_header(mojaloop[1], "x-request-id", ok_id)).status == 200
    tampered = with_header(mojaloop[1], "x-request-id", bad_id)
    tampered = (*tampered[:3], tampered[3].replace(b"100", b"900"))
    assert reason(send(gw, pki, tampered)) == "sig_invalid"

    entry = gw.access_log(ok_id)
    assert (entry["method"], entry["status"]) == ("POST", 200)
    assert entry["signet_partner"] == "dfsp-a" and entry["signet_signature"] == "verified"
    record = entry["audit"]["jws_verify"]
    assert set(entry["audit"]) == {"jws_verify"}, entry["audit"]  # the gateway refused nothing
    assert {k: record[k] for k in ("filter", "profile", "decision", "reason", "status", "partner",
                                   "method", "route", "alg")} == {
        "filter": "jws_verify", "profile": "mojaloop", "decision": "allow", "reason": "ok",
        "status": None, "partner": "dfsp-a", "method": "POST", "route": "/transfers", "alg": "RS256"}
    assert isinstance(record["ts_ms"], int) and record["ts_ms"] > 1_600_000_000_000

    record = gw.access_log(bad_id)["audit"]["jws_verify"]
    assert (record["decision"], record["reason"], record["status"]) == ("deny", "sig_invalid", 400)
    assert record["partner"] == "dfsp-a" and "alg" not in record


def test_audit_off_writes_no_filter_state(mojaloop, pki, tmp_path):  # noqa: F811
    config = {**mojaloop[0], "audit": False}
    filters = [{"root_id": "gateway", "configuration": {"audit": False}},
               {"root_id": "jws_verify", "configuration": config}]
    with start_gateway(tmp_path, pki, filters=filters) as g:
        request_id = rid("off")
        tampered = with_header(mojaloop[1], "x-request-id", request_id)
        tampered = (*tampered[:3], tampered[3].replace(b"100", b"900"))
        assert reason(send(g, pki, tampered)) == "sig_invalid"
        entry = g.access_log(request_id)
        assert entry["audit"] == {} and entry["signet_signature"] == "rejected"
        # Stats do not depend on it.
        assert g.decisions("jws_verify", "sig_invalid", "dfsp-a") == 1


def test_jws_sign_audit_record(pki, tmp_path):
    root = pki.root
    signer = {"profile": {"mojaloop": {"source_id": "dfsp-a"}},
              "signing_key": (root / "dfsp-a/jws/rsa.key").read_text()}
    with start_gateway(tmp_path, pki, filters=[GATEWAY, {"root_id": "jws_sign", "configuration": signer}]) as g:
        request_id = rid("sign")
        body = b'{"transferId":"1"}'
        request = ("POST", "/transfers", [("content-type", "application/json"),
                                          ("fspiop-source", "dfsp-a"), ("fspiop-destination", "hub"),
                                          ("x-request-id", request_id),
                                          ("date", "Thu, 01 Jan 2026 00:00:00 GMT")], body)
        out = send(g, pki, request)
        assert out.status == 200, (out.status, out.body)
        seen = {n.lower(): v for n, v in out.json()["headers"]}
        assert "fspiop-signature" in seen
        record = g.access_log(request_id)["audit"]["jws_sign"]
        assert (record["filter"], record["profile"], record["decision"], record["reason"]) == (
            "jws_sign", "mojaloop", "allow", "ok")
        assert record["alg"] == "RS256" and record["route"] == "/transfers"
        assert g.decisions("jws_sign", "ok", profile="mojaloop") == 1
        # The access log line itself is one JSON object; the private key is nowhere in the log.
        assert "PRIVATE KEY" not in g.log()
        line = next(l for l in g.log().splitlines() if request_id in l and l.startswith("{"))
        assert json.loads(line)["request_id"] == request_id
