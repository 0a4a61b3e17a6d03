"""One partner registry for the whole gateway, through a real Envoy: the render parameters'
`partners` / `policies` are the TLS allowlist (SAN matchers, RBAC) AND the registry every Signet
filter reads from the shared VM configuration (docs/registry.md). A suspension or a key rotation
is one edit there; a bad registry, or a registry both in the VM and inline, is refused at load
with the field named; with two workers every worker's VM has it before its first request."""

from __future__ import annotations

import copy

import pytest
import yaml

from authsvc import AuthService
from harness import WASM, GatewayStartError, render, start_gateway, validate
from signet_cli import sign
from test_token_check import (AUD, GATEWAY, SAN_A, SAN_B, call, claims_a, header, provider,
                              send_signed, wait_for)
from test_workers import WORKERS, exact_balance, expect, on_all, pinned

TRANSFER = b'{"transferId":"r1","payerFsp":"dfsp-a","payeeFsp":"dfsp-b","amount":{"currency":"USD","amount":"1"}}'


def registry(pki, b_status="active", a_key="dfsp-a/jws/rsa.pub") -> dict:
    """Render parameters: each partner once, with its TLS identity, source range, key, policy."""
    return {
        "partners": [
            {"id": "dfsp-a", "tls_names": [SAN_A], "source_cidrs": ["127.0.0.1/32"], "policy": "fsp",
             "keys": [{"public_key_pem": (pki.root / a_key).read_text()}]},
            {"id": "dfsp-b", "tls_names": [SAN_B], "source_cidrs": ["127.0.0.2/32"], "policy": "fsp",
             "status": b_status, "keys": [{"public_key_pem": (pki.root / "dfsp-b/jws/rsa.pub").read_text()}]},
        ],
        "policies": [{"id": "fsp", "routes": [{"path_prefix": "/transfers"}, {"path_prefix": "/quotes"}]}],
    }


def filters(svc: AuthService) -> list:
    """token_check decides /quotes, jws_verify /transfers (token_check skips it): neither
    filter configuration names a partner."""
    token = {"providers": [provider(svc)], "forward_partner_header": "x-signet-partner",
             "route_policy": [{"path_prefix": "/transfers", "policy": "skip"}]}
    return [GATEWAY, {"root_id": "token_check", "configuration": token},
            {"root_id": "jws_verify", "configuration": {"profile": {"mojaloop": {"source_binding": "peer"}}}}]


def signed_transfer(pki, work, fsp: str, key: str) -> tuple:
    cfg = {"profile": {"mojaloop": {"source_id": fsp}}, "signing_key": (pki.root / key).read_text()}
    d = work / f"{fsp}-{key.replace('/', '-')}"
    d.mkdir()
    return sign(d, cfg, "POST", "/transfers",
                [("content-type", "application/json"), ("fspiop-destination", "hub")], TRANSFER)


@pytest.fixture(scope="module")
def auth():
    svc = AuthService().start()
    yield svc
    svc.stop()


def gateway(tmp, pki, svc, params, **kw):
    return start_gateway(tmp, pki, filters=filters(svc), partners=params["partners"],
                         params={"clusters": [svc.cluster()], "policies": params["policies"]}, **kw)


def quote(gw, pki, token, party="dfsp-a"):
    """A GET: token_check decides it, jws_verify (mojaloop) lets unsigned GETs through."""
    return call(gw, pki, token, party=party, method="GET", path="/quotes", body=None)


def token_b(svc):
    return svc.token({"client_id": "dfsp-b", "aud": AUD, "scope": "transfers quotes"})


def test_the_registry_is_written_once_in_the_rendered_config(auth, pki, tmp_path):
    params = {"wasm_path": "/m.wasm", "pki_dir": str(pki.root), "admin_port": 0, "listen_address": "127.0.0.1",
              "listen_port": 0, "upstream_host": "127.0.0.1", "upstream_port": 1,
              "filters": filters(auth), "clusters": [auth.cluster()], **registry(pki)}
    text = render("platform.yaml", params, tmp_path / "envoy.yaml").read_text()
    assert text.count("BEGIN PUBLIC KEY") == 2, "each partner's key once"
    assert text.count("&signet_vm") == 1 and text.count("*signet_vm") == 2
    doc = yaml.safe_load(text)
    chain = doc["static_resources"]["listeners"][0]["filter_chains"][0]
    sans = chain["transport_socket"]["typed_config"]["common_tls_context"]["validation_context"][
        "match_typed_subject_alt_names"]
    assert [m["matcher"]["exact"] for m in sans] == [SAN_A, SAN_B]
    assert set(chain["filters"][0]["typed_config"]["rules"]["policies"]) == {"partner-dfsp-a", "partner-dfsp-b"}


def test_a_suspended_partner_is_refused_by_token_check_and_jws_verify(auth, pki, tmp_path):
    signed = signed_transfer(pki, tmp_path, "dfsp-b", "dfsp-b/jws/rsa.key")
    with gateway(tmp_path / "active", pki, auth, registry(pki)) as gw:
        assert wait_for(lambda: quote(gw, pki, token_b(auth), "dfsp-b").status == 200)
        out = send_signed(gw, pki, None, signed, party="dfsp-b")
        assert out.status == 200, (out.status, header(out, "x-signet-reason"), out.body)
        assert "registry loaded from the VM configuration, 2 partner(s)" in gw.log()
    with gateway(tmp_path / "suspended", pki, auth, registry(pki, b_status="SUSPENDED")) as gw:
        assert wait_for(lambda: quote(gw, pki, auth.token(claims_a())).status == 200)
        hits = gw.upstream.hits()
        out = quote(gw, pki, token_b(auth), "dfsp-b")
        assert (out.status, header(out, "x-signet-reason")) == (403, "partner_inactive"), out.body
        out = send_signed(gw, pki, None, signed, party="dfsp-b")
        assert (out.status, header(out, "x-signet-reason")) == (403, "partner_inactive"), out.body
        assert gw.upstream.hits() == hits
        assert gw.decisions("jws_verify", "partner_inactive") >= 1


def test_a_rotated_key_is_one_edit(auth, pki, tmp_path):
    old = signed_transfer(pki, tmp_path, "dfsp-a", "dfsp-a/jws/rsa.key")
    new = signed_transfer(pki, tmp_path, "dfsp-a", "dfsp-a/jws/ec.key")
    with gateway(tmp_path / "rotated", pki, auth, registry(pki, a_key="dfsp-a/jws/ec.pub")) as gw:
        assert wait_for(lambda: quote(gw, pki, auth.token(claims_a())).status == 200)
        out = send_signed(gw, pki, None, new)
        assert out.status == 200, (out.status, header(out, "x-signet-reason"), out.body)
        hits = gw.upstream.hits()
        out = send_signed(gw, pki, None, old)
        assert out.status >= 400 and header(out, "x-signet-reason"), out.body
        assert gw.upstream.hits() == hits


def test_a_bad_registry_fails_at_load_naming_the_field(auth, pki, tmp_path):
    params = registry(pki)
    params["partners"][1]["status"] = "sleepy"
    with pytest.raises(GatewayStartError) as err:
        with gateway(tmp_path, pki, auth, params):
            pass
    assert "partner registry (vm_config.configuration)" in err.value.log
    assert "partners[1].status: unknown status" in err.value.log


def test_registry_in_the_vm_and_inline_is_refused_by_envoy(auth, pki, tmp_path):
    params = {"wasm_path": str(WASM), "pki_dir": str(pki.root), "admin_port": 0,
              "listen_address": "127.0.0.1", "listen_port": 0, "upstream_host": "127.0.0.1",
              "upstream_port": 1, "filters": filters(auth), "clusters": [auth.cluster()], **registry(pki)}
    config = render("platform.yaml", params, tmp_path / "envoy.yaml")
    assert validate(config).returncode == 0
    doc = yaml.safe_load(config.read_text())
    hcm = doc["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][1]["typed_config"]
    verify = hcm["http_filters"][2]["typed_config"]["config"]
    verify["vm_config"] = copy.deepcopy(verify["vm_config"])
    verify["configuration"]["value"] = '{"profile":"mojaloop","partners":[]}'
    both = tmp_path / "both.yaml"
    both.write_text(yaml.safe_dump(doc, sort_keys=False))
    result = validate(both)
    assert result.returncode != 0
    log = result.stdout + result.stderr
    assert "partners: the partner registry is in the VM configuration" in log, log[-3000:]


def test_every_worker_has_the_registry_before_its_first_request(auth, pki, tmp_path):
    """on_vm_start runs in each worker's VM before its on_configure (proxy-wasm-cpp-host
    WasmBase::start, then configure): with two workers, the first requests on each worker's
    connections see the suspension (token_check) and the keys (jws_verify)."""
    method, path, headers, body = signed_transfer(pki, tmp_path, "dfsp-a", "dfsp-a/jws/rsa.key")
    headers = [(n, v) for n, v in headers if n.lower() not in ("content-length", "host")]
    with gateway(tmp_path / "gw", pki, auth, registry(pki, b_status="suspended"), concurrency=WORKERS,
                 patch=exact_balance) as gw:
        with pinned(gw, pki, "dfsp-b", "127.0.0.2", per_worker=1) as conns:
            b = [("authorization", f"Bearer {token_b(auth)}")]
            expect(on_all(conns, lambda c: c.request("GET", "/quotes", b)), 403, "partner_inactive")
        with pinned(gw, pki, "dfsp-a", "127.0.0.1", per_worker=2) as conns:
            expect(on_all(conns, lambda c: c.request(method, path, headers, body)), 200, None)
        # The main thread's canary VM and one VM per worker each loaded it.
        assert gw.log().count("registry loaded from the VM configuration") >= 1 + WORKERS
