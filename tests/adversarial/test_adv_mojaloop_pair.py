"""The Mojaloop example pair (envoy/examples/mojaloop/) attacked by a hostile DFSP and through a
relaying hub: the four shipped gateways in four Envoys (rendered from their params, only ports
changed), a stand-in hub and a stand-in dfsp-a backend recording what reaches them.

    dfsp-a / dfsp-b ─mTLS─▶ hub-inbound ─▶ hub (relays PUT /parties, as the account lookup does)
    dfsp-a backend ◀─ dfsp-inbound ◀─mTLS─ hub-outbound ◀─ hub

Questions: can a DFSP get the hub's inbound to accept another DFSP's identity (FSPIOP-Source
against the certificate, its case, duplicates, look-alike header names)? Can a signed message
be executed at another path or method than the one its signer protected (FSPIOP-URI,
FSPIOP-HTTP-Method)? Can a DFSP get a message to another DFSP that dfsp-a's inbound accepts
as the hub's? Judged at the stand-ins.
"""

from __future__ import annotations

import contextlib
import json
import time

import pytest

from examples import start_example
from harness import https_request
from jws_check import http_request
from test_example_mojaloop import (CALLBACK_BODY, CALLBACK_PATH, ML, PKI, QUOTE, QUOTES, StandIn,
                                   callback_headers, fspiop_sign, pem)

pytestmark = pytest.mark.timeout(120)

SETTLE = 0.3  # a wrongly forwarded request (or a relay of it) still on its way
MARK = "relayed-by-dfsp-b"
ADDRESS = {"dfsp-a": "127.0.0.1", "dfsp-b": "127.0.0.2"}  # each DFSP's source_cidrs


class RelayingHub(StandIn):
    """The hub's services: answer 200, and pass each `PUT /parties/…` on to dfsp-a through the
    hub's outbound gateway with the FSPIOP headers and body as received (the account lookup
    service relays the payee's party callback to the payer)."""

    def __init__(self):
        self.outbound_port = None
        self.relayed: list = []
        super().__init__(200, self.relay)

    def relay(self, seen) -> None:
        if seen.method != "PUT" or not seen.path.startswith("/parties/"):
            return
        keep = [(n, v) for n, v in seen.headers if n.startswith("fspiop-") or n in ("content-type", "date")]
        self.relayed.append(http_request(self.outbound_port, "PUT", seen.path, keep, seen.body).status)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    with contextlib.ExitStack() as stack:
        hub, app = RelayingHub(), StandIn(200)
        stack.callback(hub.stop)
        stack.callback(app.stop)
        start = lambda side, **ports: stack.enter_context(start_example(  # noqa: E731
            ML / f"{side}.params.json", tmp_path_factory.mktemp(side), **ports))
        dfsp_in = start("dfsp-inbound", upstream_port=app.port)
        hub_out = start("hub-outbound", platform_port=dfsp_in.port)
        hub_in = start("hub-inbound", upstream_port=hub.port)
        hub.outbound_port = hub_out.port
        yield hub, app, hub_in, dfsp_in


def to_hub(pair, party: str, method: str, path: str, headers: list, body: bytes | None):
    """Straight to the hub's inbound with `party`'s client certificate, from its address."""
    return https_request(pair[2].port, ca=PKI / "dfsp-a/trust/hub-ca.pem", cert=PKI / party / "tls/client.crt",
                         key=PKI / party / "tls/client.key", source_ip=ADDRESS[party], method=method,
                         path=path, headers=headers, body=body)


def to_dfsp(pair, method: str, path: str, headers: list, body: bytes | None):
    """Straight to dfsp-a's inbound as the hub (its client certificate): what the hub delivers."""
    return https_request(pair[3].port, ca=PKI / "hub/trust/dfsp-a-ca.pem",
                         cert=PKI / "hub/tls/client-for-dfsp-a.crt", key=PKI / "hub/tls/client-for-dfsp-a.key",
                         method=method, path=path, headers=headers, body=body)


def sources(seen) -> list[str]:
    """Every value a server could read as FSPIOP-Source: any header whose name is it up to case
    and `_` for `-` (frameworks that map both to one variable, e.g. WSGI / CGI)."""
    return [v for n, v in seen.headers if n.lower().replace("_", "-") == "fspiop-source"]


def reason(out) -> str | None:
    return dict((k.lower(), v) for k, v in out.headers).get("x-signet-reason")


QUOTE_BODY = json.dumps(QUOTE, sort_keys=True, separators=(",", ":")).encode()


def quote_headers(key: str, source: str, method: str = "POST", uri: str = "/quotes") -> list:
    return fspiop_sign(pem(key), method, uri, {"content-type": QUOTES, "fspiop-source": source,
                                                "fspiop-destination": "dfsp-b"}, QUOTE_BODY)


# --- the hub's inbound: another DFSP's identity ---------------------------------------------------


def spellings(signed: list) -> dict:
    """dfsp-a's connection, naming dfsp-b (or adding it) in the ways a header can be written."""
    a = [(n, v) for n, v in signed if n != "fspiop-source"]
    return {
        "other": a + [("FSPIOP-Source", "dfsp-b")],
        "other-upper-case": a + [("FSPIOP-Source", "DFSP-B")],
        "comma-list": a + [("FSPIOP-Source", "dfsp-a, dfsp-b")],
        "duplicate-own-first": a + [("FSPIOP-Source", "dfsp-a"), ("fspiop-source", "dfsp-b")],
        "duplicate-other-first": a + [("fspiop-source", "dfsp-b"), ("FSPIOP-Source", "dfsp-a")],
        "underscore-look-alike": a + [("FSPIOP-Source", "dfsp-a"), ("FSPIOP_Source", "dfsp-b")],
    }


ROUTES = {
    # name: (method, path, signed?)
    "signed-route": ("POST", "/quotes", True),
    "skip-route": ("GET", "/parties/MSISDN/27713803912", False),
    "if-present-route": ("PUT", "/parties/MSISDN/27713803912", False),
}


@pytest.mark.parametrize("route", list(ROUTES))
@pytest.mark.parametrize("spelling", ["other", "other-upper-case", "comma-list", "duplicate-own-first",
                                      "duplicate-other-first", "underscore-look-alike"])
def test_hub_inbound_never_passes_another_dfsps_identity(pair, route, spelling):
    """Rule 12: whatever the route's signature policy, what reaches the hub from dfsp-a's
    connection names dfsp-a only, however FSPIOP-Source is spelled."""
    hub = pair[0]
    method, path, signed = ROUTES[route]
    base = quote_headers("dfsp-a/jws/rsa.key", "dfsp-a") if signed else [("content-type", QUOTES),
                                                                          ("fspiop-source", "dfsp-a")]
    body = QUOTE_BODY if method != "GET" else None
    before = hub.count()
    out = to_hub(pair, "dfsp-a", method, path, spellings(base)[spelling], body)
    time.sleep(SETTLE)
    for seen in hub.requests[before:]:
        assert sources(seen) == ["dfsp-a"], (f"the hub got {sources(seen)} from dfsp-a's connection "
                                             f"({out.status}, {reason(out)})")


def test_look_alike_signet_headers_never_reach_the_hub(pair):
    """Rules 9 and 12: `x_signet_partner` is `x-signet-partner` to a CGI / WSGI upstream. The
    templates refuse every header with an underscore (`headers_with_underscores_action`); where
    an operator allows them, `gateway` strips these like the header they imitate."""
    hub = pair[0]
    before = hub.count()
    for forged in [("x_signet_partner", "hub"), ("X_Signet-Verified", "true"), ("x-signet_reason", "ok")]:
        out = to_hub(pair, "dfsp-a", "GET", "/parties/MSISDN/27713803912",
                     [("fspiop-source", "dfsp-a"), forged], None)
        assert out.status == 400, (forged, out.status, reason(out))
    time.sleep(SETTLE)
    assert hub.count() == before


@pytest.mark.parametrize("signer", ["dfsp-b", "hub"])
def test_hub_inbound_refuses_anothers_signed_message_from_dfsp_a(pair, signer):
    """dfsp-a replays a message validly signed by dfsp-b (relayed to it earlier) or by the hub
    (a callback it received): the source is not the peer."""
    hub = pair[0]
    key = {"dfsp-b": "dfsp-b/jws/ec.key", "hub": "hub/jws/rsa.key"}[signer]
    before = hub.count()
    out = to_hub(pair, "dfsp-a", "POST", "/quotes", quote_headers(key, signer), QUOTE_BODY)
    time.sleep(SETTLE)
    assert out.status in (400, 403) and hub.count() == before, (out.status, reason(out), out.body)


# --- the signed request line: FSPIOP-URI / FSPIOP-HTTP-Method against the real one ------------------


REPATH = {
    # name: (method, path) the signed POST /quotes is sent to
    "as-signed": ("POST", "/quotes"),
    "other-path": ("POST", "/transfers"),
    "other-method": ("PUT", "/quotes"),
    "other-path-and-method": ("PUT", f"/transfers/{QUOTE['quoteId']}"),
    "signed-uri-as-a-suffix": ("POST", "/bulkQuotes/quotes"),
}


def only_as_signed(out, stand_in, before: int, as_signed: bool):
    """Delivered once where it was signed; elsewhere `binding_mismatch` and nothing delivered."""
    time.sleep(SETTLE)
    if as_signed:
        assert out.status == 200 and stand_in.count() == before + 1, (out.status, reason(out), out.body)
    else:
        assert (out.status, reason(out)) == (400, "binding_mismatch") and stand_in.count() == before, \
            (out.status, reason(out), out.body)


@pytest.mark.parametrize("where", list(REPATH))
def test_hub_inbound_executes_only_the_signed_request_line(pair, where):
    """dfsp-a's validly signed `POST /quotes` (FSPIOP-URI /quotes, FSPIOP-HTTP-Method POST, the
    headers equal to the protected members) sent at another path or with another method: the
    hub would act on a message its signer never protected (repudiable), so it never reaches it."""
    hub = pair[0]
    method, path = REPATH[where]
    before = hub.count()
    out = to_hub(pair, "dfsp-a", method, path, quote_headers("dfsp-a/jws/rsa.key", "dfsp-a"), QUOTE_BODY)
    only_as_signed(out, hub, before, where == "as-signed")


@pytest.mark.parametrize("where", ["as-signed", "other-path", "other-method", "empty-signed-uri"])
def test_dfsp_inbound_accepts_a_relayed_callback_only_where_it_was_signed(pair, where):
    """dfsp-b's signed `PUT /quotes/{ID}` callback, relayed by the hub (its trusted forwarder):
    accepted at the path and method dfsp-b signed, never delivered as another request
    (`PUT /transfers/{ID}` would read as a transfer fulfilment dfsp-b never signed)."""
    app = pair[1]
    uri = "" if where == "empty-signed-uri" else CALLBACK_PATH
    signed = fspiop_sign(pem("dfsp-b/jws/ec.key"), "PUT", uri, callback_headers("dfsp-b"), CALLBACK_BODY)
    method, path = {"other-path": ("PUT", f"/transfers/{QUOTE['quoteId']}"),
                    "other-method": ("POST", CALLBACK_PATH)}.get(where, ("PUT", CALLBACK_PATH))
    before = app.count()
    out = to_dfsp(pair, method, path, signed, CALLBACK_BODY)
    only_as_signed(out, app, before, where == "as-signed")


# --- a DFSP's message delivered as the hub's ------------------------------------------------------


@pytest.mark.parametrize("source", ["absent", "empty", "dfsp-b"])
def test_unsigned_party_callback_is_never_signed_as_the_hub(pair, source):
    """dfsp-b sends `PUT /parties/…` (signature optional, `if-present`) unsigned, with a party of
    its own making. The hub relays it to dfsp-a through its outbound, whose signer signs as the
    hub whatever names no other source. It must never reach dfsp-a as the hub's signed message:
    a request with a body that names no FSP is refused at the hub's inbound (the one naming
    dfsp-b may pass there and is refused by the hub's signer, which signs for no one else)."""
    hub, app = pair[0], pair[1]
    headers = [("content-type", "application/vnd.interoperability.parties+json;version=1.1"),
               ("fspiop-destination", "dfsp-a")]
    if source != "absent":
        headers.append(("fspiop-source", "" if source == "empty" else "dfsp-b"))
    body = json.dumps({"party": {"name": MARK, "partyIdInfo": {"partyIdType": "MSISDN",
                                                               "partyIdentifier": "27713803913",
                                                               "fspId": "dfsp-b"}}}).encode()
    before_app, before_hub = app.count(), hub.count()
    out = to_hub(pair, "dfsp-b", "PUT", "/parties/MSISDN/27713803913", headers, body)
    time.sleep(SETTLE + 0.5)
    for seen in app.requests[before_app:]:
        assert MARK.encode() not in seen.body or seen.header("fspiop-source") == "dfsp-b", (
            f"dfsp-b's party reached dfsp-a as {seen.header('fspiop-source')!r}'s signed message "
            f"(hub inbound said {out.status} {reason(out)})")
    if source != "dfsp-b":
        assert (out.status, reason(out)) == (400, "identity_missing") and hub.count() == before_hub, \
            (out.status, reason(out), out.body)
