"""Paths that could be read two ways, method spellings, and identity binding on skip routes —
for each profile, over HTTP/1.1 and HTTP/2 (ALPN).

Every gateway here has a `skip` rule for the prefix /health in front of the profile's defaults.
An unsigned request whose real path is a signature-required route must not reach the upstream
by any spelling: Envoy's normalisation either rewrites it (then the filter sees the real path
and refuses it unsigned) or refuses it, or the filter refuses it (`path_not_canonical`).

Rules (security.md): 11 one reading of the path; 12 identity before policy; 10 no way around.
"""

from __future__ import annotations

import pytest

from adv_profiles import NAMES, mosip_path
from adv_wire import send
from adv_verdicts import assert_no_weaker_route, assert_refused, settled_hits

H = ["h1", "h2-alpn"]


def under_health(path: str) -> bool:
    return path == "/health" or path.startswith("/health/")


def mosip_skipped(path: str) -> bool:
    return not path.startswith("/idauthentication/v1/") or path.startswith("/idauthentication/v1/internal/")

# {real}: the signature-required path without its leading "/".
GENERIC_TRICKS = [
    "/health/../{real}",
    "/health/%2e%2e/{real}",
    "/health/%2E%2E/{real}",
    "/health/.%2e/{real}",
    "/health/..%2f{real}",
    "/health%2f..%2f{real}",
    "/health/..;/{real}",
    "/health;x/../{real}",
    "/health/..\\{real}",
    "/health//../{real}",
    "/health/./../{real}",
    "/health/x/../../{real}",
    "/health/%2e%2e%2f{real}",
]


@pytest.fixture(params=NAMES)
def pg(request, pool):
    return pool.get(request.param)


@pytest.mark.parametrize("transport", H)
@pytest.mark.parametrize("trick", GENERIC_TRICKS)
def test_skip_prefix_escape_is_refused(pg, transport, trick):
    """Rule 11: an unsigned POST whose path starts with the skip prefix /health but resolves
    (dot segments, escaped dots or slashes, `;` parameters, `\\`, `//`) to the profile's
    signature-required route never reaches the upstream."""
    p, gw = pg
    m, path, headers, body = p.unsigned()
    target = trick.format(real=path.lstrip("/"))
    hits = gw.upstream.hits()
    out = send(transport, gw.port, p.pki, m, target, headers, body)
    assert_no_weaker_route(p, gw, out, hits, under_health)


@pytest.mark.parametrize("transport", H)
@pytest.mark.parametrize("trick", ["//{real}", "/{real}/", "/./{real}", "/{real};x", "/{real}%2f",
                                   "/%2f{real}"])
def test_required_route_spellings_unsigned_are_refused(pg, transport, trick):
    """Rule 11: other spellings of the required route itself, unsigned → not forwarded."""
    p, gw = pg
    m, path, headers, body = p.unsigned()
    target = trick.format(real=path.lstrip("/"))
    hits = gw.upstream.hits()
    out = send(transport, gw.port, p.pki, m, target, headers, body)
    assert_no_weaker_route(p, gw, out, hits, lambda path: False)


@pytest.mark.parametrize("transport", H)
@pytest.mark.parametrize("method", ["post", "Post", "pOST"])
def test_lower_case_method_is_not_a_skip(pg, transport, method):
    """Rules 10, 11: methods are case-sensitive; `post` is not POST, yet an upstream (many
    frameworks upper-case it) may serve it as one. A profile that skips "other methods" must
    not let an unsigned `post` with a body through to its signed route."""
    p, gw = pg
    _, path, headers, body = p.unsigned()
    hits = gw.upstream.hits()
    out = send(transport, gw.port, p.pki, method, path, headers, body)
    assert_refused(p, gw, out, hits, codec_ok=True)


# --- mosip: the partner API prefix and its path identities -------------------------------------

MOSIP_TRICKS = [
    "//idauthentication/v1/auth/{triple}",
    "/%69dauthentication/v1/auth/{triple}",
    "/idauthentication;x/v1/auth/{triple}",
    "/idauthentication/v1/internal/../auth/{triple}",
    "/idauthentication/v1/internal/%2e%2e/auth/{triple}",
    "/idauthentication/v1//auth/{triple}",
    "/idauthentication/v1/%61uth/{triple}",
    "/idauthentication/v1/auth/{triple_dot}",
    "/idauthentication%2fv1/auth/{triple}",
]


@pytest.mark.parametrize("transport", H)
@pytest.mark.parametrize("trick", MOSIP_TRICKS)
def test_mosip_partner_api_spellings_are_refused(pool, transport, trick):
    """Rule 11: the MOSIP partner API (POST /idauthentication/v1/{op}/{misp}/{partner}/{key},
    signature required; /internal/ and other prefixes skipped) spelt so that a prefix match
    would miss it. Unsigned → never forwarded."""
    p, gw = pool.get("mosip")
    m, path, headers, body = p.unsigned()
    triple = "mispLK0001/dfsp-a/apiKey0001"
    target = trick.format(triple=triple, triple_dot="mispLK0001/./dfsp-a/apiKey0001")
    hits = gw.upstream.hits()
    out = send(transport, gw.port, p.pki, m, target, headers, body)
    assert_no_weaker_route(p, gw, out, hits, mosip_skipped)


@pytest.mark.parametrize("transport", H)
@pytest.mark.parametrize("trick", ["/parties/../transfers/{id}", "/parties/%2e%2e/transfers/{id}",
                                   "/parties/..%2ftransfers/{id}", "/parties/x/../../transfers/{id}",
                                   "/parties;x/../transfers/{id}"])
def test_mojaloop_if_present_prefix_escape_is_refused(pool, transport, trick):
    """Rule 11: PUT /parties/... is if-present (unsigned passes); PUT /transfers/{id} is
    required. An unsigned PUT to /parties/../transfers/{id} (and escaped forms) never reaches
    the upstream."""
    p, gw = pool.get("mojaloop")
    body = b'{"transferState":"COMMITTED","completedTimestamp":"2026-12-04T20:00:00.000Z","pad":"xxxx"}'
    tid = "b51ec534-ee48-4575-b6a9-ead2955b8069"
    _, _, headers, _ = p.unsigned(method="PUT", path=f"/transfers/{tid}", body=body)
    hits = gw.upstream.hits()
    out = send(transport, gw.port, p.pki, "PUT", trick.format(id=tid), headers, body)
    assert_no_weaker_route(p, gw, out, hits, lambda path: path.startswith("/parties"))


# --- identity before policy (rule 12) -----------------------------------------------------------


def ml_headers(source: str, extra=()) -> list:
    return [("content-type", "application/json"), ("accept", "application/json"),
            ("fspiop-source", source), ("fspiop-destination", "dfsp-a"),
            ("date", "Fri, 04 Dec 2026 20:00:00 GMT"), *extra]


@pytest.mark.parametrize("transport", H)
@pytest.mark.parametrize("method,path,body", [
    ("DELETE", "/participants/x", None),
    ("GET", "/parties/MSISDN/1", None),
    ("PUT", "/parties/MSISDN/1", b'{"party":{"partyIdInfo":{"partyIdType":"MSISDN","partyIdentifier":"1","fspId":"dfsp-b"}}}'),
])
def test_mojaloop_source_bound_on_skip_routes(pool, transport, method, path, body):
    """Rule 12: dfsp-a's certificate with `FSPIOP-Source: dfsp-b`, on a skip (DELETE/GET) or
    if-present unsigned (PUT /parties) route → 403 peer_mismatch; the upstream sees nothing."""
    p, gw = pool.get("mojaloop")
    hits = gw.upstream.hits()
    out = send(transport, gw.port, p.pki, method, path, ml_headers("dfsp-b"), body)
    assert_refused(p, gw, out, hits, reasons={"peer_mismatch"})


def test_mojaloop_skip_route_own_source_passes(pool):
    """Rule 12, the counterpart: dfsp-a naming itself on the same skip route reaches the upstream."""
    p, gw = pool.get("mojaloop")
    hits = gw.upstream.hits()
    out = send("h1", gw.port, p.pki, "GET", "/parties/MSISDN/1", ml_headers("dfsp-a"))
    assert out.status == 200 and gw.upstream.hits() == hits + 1, out


@pytest.mark.parametrize("transport", H)
@pytest.mark.parametrize("path", ["/parties/MSISDN/1", "/transfers"])
def test_mojaloop_duplicated_source_header(pool, transport, path):
    """Rule 12: FSPIOP-Source twice (dfsp-a, then dfsp-b; h1 also with differing case): the
    upstream never sees dfsp-b as a source of dfsp-a's connection — refused, or forwarded with
    dfsp-a as the only value. On /transfers the request is also correctly signed as dfsp-a."""
    p, gw = pool.get("mojaloop")
    if path == "/transfers":
        m, _, headers, body = p.signed()
    else:
        m, headers, body = "GET", ml_headers("dfsp-a"), None
    dup = ("FSPIOP-SOURCE", "dfsp-b") if transport == "h1" else ("fspiop-source", "dfsp-b")
    hits = gw.upstream.hits()
    out = send(transport, gw.port, p.pki, m, path, headers + [dup], body)
    if out.kind == "response" and out.status == 200 and out.reason is None:
        doc = out.json()
        sources = [v for n, v in doc["headers"] if n.lower() == "fspiop-source"]
        assert sources == ["dfsp-a"], f"upstream saw FSPIOP-Source {sources}"
    else:
        assert_refused(p, gw, out, hits, codec_ok=True)


@pytest.mark.parametrize("transport", H)
@pytest.mark.parametrize("method,path", [
    ("GET", mosip_path("dfsp-b")),
    ("POST", "/idauthentication/v1/internal/auth/mispLK0001/dfsp-b/apiKey0001"),
])
def test_mosip_path_partner_bound_on_skip_routes(pool, transport, method, path):
    """Rule 12: dfsp-a's certificate, a path naming partner dfsp-b, on a route the profile
    skips (a GET, /internal/) → refused peer_mismatch (IDA's 200
    envelope); the upstream sees nothing."""
    p, gw = pool.get("mosip")
    hits = gw.upstream.hits()
    body = p.body() if method == "POST" else None
    headers = [("content-type", "application/json"), ("authorization", "partner-token")]
    out = send(transport, gw.port, p.pki, method, path, headers, body)
    assert_refused(p, gw, out, hits, reasons={"peer_mismatch"})


def test_mosip_signed_for_dfsp_b_path_by_dfsp_a_is_refused(pool):
    """Rule 12: a request correctly signed with dfsp-a's key for a path naming dfsp-b."""
    p, gw = pool.get("mosip")
    m, path, headers, body = p.signed(path=mosip_path("dfsp-b"))
    hits = gw.upstream.hits()
    out = send("h1", gw.port, p.pki, m, path, headers, body)
    assert_refused(p, gw, out, hits)
    assert settled_hits(gw, hits) == 0
