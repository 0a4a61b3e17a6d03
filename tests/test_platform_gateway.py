"""The platform gateway through a real Envoy: mTLS, partner SAN pinning, IP allowlist, and the
Signet module on the request path."""

from __future__ import annotations

import pytest

from harness import GatewayStartError, https_request

REQUESTS_STAT = "wasmcustom.signet.gateway.requests"
TLS_VERSIONS = ["1.2", "1.3"]


def partner_request(gw, pki, party="dfsp-a", **kwargs):
    cert, key = pki.client(party)
    return https_request(gw.port, ca=pki.platform_ca, cert=cert, key=key, **kwargs)


def upstream_headers(outcome) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {}
    for name, value in outcome.json()["headers"]:
        seen.setdefault(name, []).append(value)
    return seen


# --- a registered partner is served ----------------------------------------------------------


@pytest.mark.parametrize("tls_version", TLS_VERSIONS)
def test_partner_with_valid_cert_reaches_upstream(gateway, pki, tls_version):
    hits = gateway.upstream.hits()
    out = partner_request(
        gateway, pki, tls_version=tls_version, method="POST", path="/transfers?x=1",
        headers={"content-type": "application/json"}, body=b'{"amount":"10"}',
    )
    assert out.kind == "response" and out.status == 200, out
    echo = out.json()
    assert (echo["method"], echo["path"], echo["body"]) == ("POST", "/transfers?x=1", '{"amount":"10"}')
    assert gateway.upstream.hits() == hits + 1


# --- TLS refusals: each with its own alert and its own Envoy stat ----------------------------

REFUSALS = {
    # case: (certificate, alert under TLS 1.2, alert under TLS 1.3, listener ssl stat)
    "no_client_cert": (
        None, "SSLV3_ALERT_HANDSHAKE_FAILURE", "TLSV13_ALERT_CERTIFICATE_REQUIRED",
        "fail_verify_no_cert",
    ),
    "foreign_ca": ("foreign", "TLSV1_ALERT_UNKNOWN_CA", "TLSV1_ALERT_UNKNOWN_CA", "fail_verify_error"),
    "expired": (
        "expired", "SSLV3_ALERT_CERTIFICATE_EXPIRED", "SSLV3_ALERT_CERTIFICATE_EXPIRED",
        "fail_verify_error",
    ),
    "unregistered_san": (
        "unregistered", "SSLV3_ALERT_CERTIFICATE_UNKNOWN", "SSLV3_ALERT_CERTIFICATE_UNKNOWN",
        "fail_verify_san",
    ),
}


@pytest.mark.parametrize("tls_version", TLS_VERSIONS)
@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_handshake_refused(gateway, pki, case, tls_version):
    which, alert12, alert13, stat = REFUSALS[case]
    cert, key = getattr(pki, which) if which else (None, None)
    stat_name = f"listener.platform.ssl.{stat}"
    before, hits = gateway.counter(stat_name), gateway.upstream.hits()
    out = https_request(
        gateway.port, ca=pki.platform_ca, cert=cert, key=key, tls_version=tls_version,
        await_alert=3.0,
    )
    assert out.kind == "alert", out
    assert out.alert == (alert12 if tls_version == "1.2" else alert13), out
    # TLS 1.2 fails inside the handshake; TLS 1.3 right after the client's Finished.
    assert out.stage == ("handshake" if tls_version == "1.2" else "after_handshake"), out
    assert gateway.counter(stat_name) == before + 1
    assert gateway.upstream.hits() == hits


# --- IP allowlist (RBAC network filter) -------------------------------------------------------


def test_partner_b_served_from_its_own_address(gateway, pki):
    out = partner_request(gateway, pki, "dfsp-b", source_ip="127.0.0.2")
    assert out.kind == "response" and out.status == 200, out


@pytest.mark.parametrize(
    "party,source_ip",
    [
        ("dfsp-a", "127.0.0.3"),  # an address no partner is allowed from
        ("dfsp-a", "127.0.0.2"),  # partner B's address with partner A's certificate
        ("dfsp-b", "127.0.0.1"),  # and the other way round
    ],
)
def test_connection_closed_outside_partner_allowlist(gateway, pki, party, source_ip):
    denied, hits = gateway.counter("partner_allowlist.rbac.denied"), gateway.upstream.hits()
    out = partner_request(gateway, pki, party, source_ip=source_ip)
    # The handshake succeeds (the certificate is good); RBAC then closes without a response.
    assert out.kind == "closed" and out.stage == "after_handshake", out
    assert gateway.counter("partner_allowlist.rbac.denied") == denied + 1
    assert gateway.upstream.hits() == hits


# --- the Signet module is loaded and on the path ---------------------------------------------


def test_module_counts_requests(gateway, pki):
    before = gateway.counter(REQUESTS_STAT)
    for _ in range(3):
        assert partner_request(gateway, pki).status == 200
    assert gateway.counter(REQUESTS_STAT) == before + 3


FORGED = [
    ("x-signet-partner", "dfsp-b"),
    ("X-Signet-Policy", "admin"),
    ("x-signet-partner", "second-copy"),
    ("x-not-signet", "kept"),
]


def test_module_strips_forged_signet_headers(gateway, pki):
    out = partner_request(gateway, pki, headers=FORGED)
    assert out.status == 200, out
    seen = upstream_headers(out)
    assert not [name for name in seen if name.startswith("x-signet-")], seen
    assert seen.get("x-not-signet") == ["kept"]


def test_without_the_module_forged_headers_would_pass(gateway_factory, pki):
    # Control for the test above: the same request through a chain without Signet filters
    # reaches the upstream with the forged header, so the stripping is the module's doing.
    bare = gateway_factory(filters=[])
    out = partner_request(bare, pki, headers=FORGED)
    assert out.status == 200, out
    assert upstream_headers(out).get("x-signet-partner") == ["dfsp-b", "second-copy"]
    assert bare.stats("wasmcustom") == {}


def test_extra_strip_prefixes_from_configuration(gateway_factory, pki):
    gw = gateway_factory(
        filters=[{"root_id": "gateway", "configuration": {"strip_header_prefixes": ["x-internal-"]}}]
    )
    out = partner_request(gw, pki, headers=[("x-internal-role", "root"), ("x-signet-a", "1")])
    seen = upstream_headers(out)
    assert "x-internal-role" not in seen and "x-signet-a" not in seen, seen


@pytest.mark.parametrize(
    "filters,message",
    [
        ([{"root_id": "no_such_filter"}], 'unknown root_id "no_such_filter"'),
        (
            [{"root_id": "gateway", "configuration": {"strip_header_prefixes": [""]}}],
            "strip_header_prefixes[0]: empty prefix",
        ),
        (
            [{"root_id": "gateway", "configuration": {"strip_prefixes": []}}],
            "strip_prefixes: unknown field `strip_prefixes`",
        ),
    ],
)
def test_bad_filter_configuration_stops_envoy(gateway_factory, filters, message):
    with pytest.raises(GatewayStartError) as failed:
        gateway_factory(filters=filters)
    assert message in failed.value.log


def test_header_with_underscore_is_refused_before_any_filter(gateway, pki):
    # `fspiop_source` beside `FSPIOP-Source` would read as the same header to a server that maps
    # '_' to '-' (CGI, WSGI): the templates refuse every such header (400), nothing reaches the
    # upstream.
    before = gateway.upstream.hits()
    out = partner_request(gateway, pki, headers=[("x_signet_partner", "dfsp-b")])
    assert out.status == 400, out
    assert gateway.upstream.hits() == before
    assert partner_request(gateway, pki, headers=[("x-signet-ok", "1")]).status == 200
