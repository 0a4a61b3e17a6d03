"""The Mojaloop example (envoy/examples/mojaloop/): its four gateways in four real Envoys, each
rendered from its shipped params with only ports changed, a stand-in hub and a stand-in DFSP
backend (plain HTTP on loopback) recording what reaches them:

    dfsp-a app ─▶ dfsp-outbound ─mTLS─▶ hub-inbound ─▶ hub     POST /quotes, signed as dfsp-a
    dfsp-a app ◀─ dfsp-inbound ◀─mTLS─ hub-outbound ◀─ hub     PUT /quotes/{ID}, signed as the hub

What arrived is checked by code that is not Signet's: Python `cryptography` over the exact bytes
with the protected FSPIOP members compared to the headers, and Mojaloop's own validator
(@mojaloop/sdk-standard-components). Every refusal is counted at the stand-ins: nothing refused
reaches them.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
from dataclasses import dataclass
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from examples import EXAMPLES, start_example
from harness import https_request
from jws_check import http_request, protected, verify_independently
from test_interop_mojaloop import sdk  # noqa: F401  (fixture: Mojaloop's own validator)

ML = EXAMPLES / "mojaloop"
PKI = ML / "pki"
QUOTES = "application/vnd.interoperability.quotes+json;version=1.1"
QUOTE_ID = "7c23e80c-d078-4077-8263-2c047876fcf6"
QUOTE = {
    "quoteId": QUOTE_ID,
    "transactionId": "85feac2f-39b2-491b-817e-4a03203d4f14",
    "payer": {"partyIdInfo": {"partyIdType": "MSISDN", "partyIdentifier": "27713803912",
                              "fspId": "dfsp-a"}},
    "payee": {"partyIdInfo": {"partyIdType": "MSISDN", "partyIdentifier": "27713803913",
                              "fspId": "dfsp-b"}},
    "amountType": "SEND",
    "amount": {"currency": "USD", "amount": "100"},
    "transactionType": {"scenario": "TRANSFER", "initiator": "PAYER", "initiatorType": "CONSUMER"},
}
QUOTE_ANSWER = {
    "transferAmount": {"currency": "USD", "amount": "100"},
    "expiration": "2030-01-01T00:00:00.000Z",
    "ilpPacket": "AYIBgQAAAAAAAASwNGxldmVsb25lLmRmc3AxLm1lci45T2RTOF81MDdqUUZERmZlakgy",
    "condition": "f5sqb7tBTWPd5Y8BDFdMm9BJR_MNI4isf8p8n4D5pHA",
}
# Headers a relayed message keeps (what a sender signs and binds), not those Envoy adds.
FSPIOP_HEADERS = ("content-type", "accept", "date", "fspiop-source", "fspiop-destination",
                  "fspiop-uri", "fspiop-http-method", "fspiop-signature")


def pem(rel: str) -> bytes:
    return (PKI / rel).read_bytes()


@dataclass
class Seen:
    method: str
    path: str
    headers: list
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for n, v in self.headers if n == name), None)

    def fspiop(self) -> list:
        return [(n, v) for n, v in self.headers if n in FSPIOP_HEADERS]


class StandIn:
    """The hub's or a DFSP backend's place: records every request, answers `status` with {}
    and then runs `then(request)` in a thread (as a hub answers 202, then calls back)."""

    def __init__(self, status: int, then=None):
        self.requests: list[Seen] = []
        self.changed = threading.Condition()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_):
                pass

            def do_any(self):
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                seen = Seen(self.command, self.path,
                            [(k.lower(), v) for k, v in self.headers.items()], body)
                # Recorded before the answer leaves: a test that got the answer counts it.
                with stand_in.changed:
                    stand_in.requests.append(seen)
                    stand_in.changed.notify_all()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"{}")
                if then is not None:
                    threading.Thread(target=then, args=(seen,), daemon=True).start()

            do_GET = do_POST = do_PUT = do_any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def count(self) -> int:
        with self.changed:
            return len(self.requests)

    def wait(self, n: int, timeout: float = 10) -> Seen:
        """The n-th request (1-based), once it has arrived."""
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.requests) >= n, timeout), \
                f"{n} requests expected, {len(self.requests)} arrived"
            return self.requests[n - 1]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


class Hub:
    """The stand-in hub: answers each new quote with a PUT /quotes/{ID} callback to the quote's
    FSPIOP-Source, through the hub's outbound gateway (set `outbound_port` once it runs)."""

    def __init__(self):
        self.outbound_port = None
        self.answered: set = set()
        self.callback_status: list = []
        self.called_back = threading.Event()
        self.stand_in = StandIn(202, self.call_back)

    def call_back(self, seen: Seen) -> None:
        if seen.method != "POST" or seen.path != "/quotes":
            return
        quote_id = json.loads(seen.body)["quoteId"]
        if quote_id in self.answered:
            return  # a resend of a quote already answered (Mojaloop's idempotency)
        self.answered.add(quote_id)
        out = http_request(self.outbound_port, "PUT", f"/quotes/{quote_id}",
                           [("content-type", QUOTES),
                            ("fspiop-destination", seen.header("fspiop-source"))],
                           json.dumps(QUOTE_ANSWER).encode())
        self.callback_status.append(out.status)
        self.called_back.set()


@dataclass
class Pair:
    hub: Hub
    app: StandIn
    hub_in: object
    hub_out: object
    dfsp_in: object
    dfsp_out: object

    def to_hub(self, party: str, method: str, path: str, headers: list, body: bytes,
               source_ip: str | None = None):
        """Straight to the hub's inbound, with that DFSP's client certificate."""
        return https_request(
            self.hub_in.port, ca=PKI / "dfsp-a/trust/hub-ca.pem", cert=PKI / party / "tls/client.crt",
            key=PKI / party / "tls/client.key", source_ip=source_ip, method=method, path=path,
            headers=headers, body=body)

    def to_dfsp(self, method: str, path: str, headers: list, body: bytes):
        """Straight to dfsp-a's inbound, with the hub's client certificate."""
        return https_request(
            self.dfsp_in.port, ca=PKI / "hub/trust/dfsp-a-ca.pem",
            cert=PKI / "hub/tls/client-for-dfsp-a.crt", key=PKI / "hub/tls/client-for-dfsp-a.key",
            method=method, path=path, headers=headers, body=body)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    with contextlib.ExitStack() as stack:
        hub, app = Hub(), StandIn(200)
        stack.callback(hub.stand_in.stop)
        stack.callback(app.stop)
        start = lambda side, **ports: stack.enter_context(start_example(  # noqa: E731
            ML / f"{side}.params.json", tmp_path_factory.mktemp(side), **ports))
        dfsp_in = start("dfsp-inbound", upstream_port=app.port)
        hub_out = start("hub-outbound", platform_port=dfsp_in.port)
        hub_in = start("hub-inbound", upstream_port=hub.stand_in.port)
        dfsp_out = start("dfsp-outbound", platform_port=hub_in.port)
        hub.outbound_port = hub_out.port
        yield Pair(hub, app, hub_in, hub_out, dfsp_in, dfsp_out)


@dataclass
class Flow:
    status: int
    quote: Seen  # what the hub received
    callback: Seen  # what dfsp-a's backend received


@pytest.fixture(scope="module")
def flow(pair):
    """dfsp-a's app asks for a quote; the hub answers with its callback."""
    hub_before, app_before = pair.hub.stand_in.count(), pair.app.count()
    # The application's own serialization (indented, unsorted): the signer sends it sorted-compact.
    out = http_request(pair.dfsp_out.port, "POST", "/quotes",
                       [("content-type", QUOTES), ("accept", QUOTES),
                        ("fspiop-destination", "dfsp-b")],
                       json.dumps(QUOTE, indent=2).encode())
    quote = pair.hub.stand_in.wait(hub_before + 1)
    callback = pair.app.wait(app_before + 1)
    assert pair.hub.called_back.wait(10), "the hub's callback got no answer"
    return Flow(out.status, quote, callback)


def assert_fspiop_signed(seen: Seen, key: bytes, alg: str, source: str, destination: str):
    """The FSPIOP-Signature over exactly the bytes received, by `key`, its protected members
    those of the request as it arrived (§3.4)."""
    value = json.loads(seen.header("fspiop-signature"))
    h, s = value["protectedHeader"], value["signature"]
    assert verify_independently(h, s, seen.body, key) == alg
    members = protected(h)
    assert members == {"alg": alg, "FSPIOP-URI": seen.path, "FSPIOP-HTTP-Method": seen.method,
                       "FSPIOP-Source": source, "FSPIOP-Destination": destination,
                       "Date": seen.header("date")}, members
    for name in ("FSPIOP-URI", "FSPIOP-HTTP-Method", "FSPIOP-Source", "FSPIOP-Destination"):
        assert seen.header(name.lower()) == members[name], name


def fspiop_sign(key_pem: bytes, method: str, path: str, headers: dict, body: bytes) -> list:
    """Headers signed here (Python `cryptography`), as another FSP's software would sign."""
    key = serialization.load_pem_private_key(key_pem, password=None)
    alg = "ES256" if isinstance(key, ec.EllipticCurvePrivateKey) else "RS256"
    headers = {"date": formatdate(usegmt=True), **headers,
               "fspiop-uri": path, "fspiop-http-method": method}
    members = {"alg": alg, "FSPIOP-URI": path, "FSPIOP-HTTP-Method": method,
               "FSPIOP-Source": headers["fspiop-source"],
               "FSPIOP-Destination": headers["fspiop-destination"], "Date": headers["date"]}
    b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()  # noqa: E731
    h = b64(json.dumps(members, separators=(",", ":")).encode())
    signing_input = f"{h}.{b64(body)}".encode()
    if alg == "ES256":
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    else:
        sig = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    value = json.dumps({"protectedHeader": h, "signature": b64(sig)})
    return list({**headers, "fspiop-signature": value}.items())


def reason(out) -> str | None:
    return dict((k.lower(), v) for k, v in out.headers).get("x-signet-reason")


def assert_refused(out, status: int, code: str, error_code: str):
    assert out.kind == "response", out
    assert (out.status, reason(out)) == (status, code), (out.status, reason(out), out.body)
    assert out.json()["errorInformation"]["errorCode"] == error_code


CALLBACK_BODY = json.dumps(QUOTE_ANSWER).encode()
CALLBACK_PATH = f"/quotes/{QUOTE_ID}"


def callback_headers(source: str) -> dict:
    return {"content-type": QUOTES, "fspiop-source": source, "fspiop-destination": "dfsp-a"}


# --- the round trip -------------------------------------------------------------------------


def test_quote_and_callback_cross_the_four_gateways_signed(pair, flow):
    assert flow.status == 202, "the hub's answer reaches the app"
    # At the hub: signed by dfsp-a (its RSA key), the body in the sorted-compact form.
    assert (flow.quote.method, flow.quote.path) == ("POST", "/quotes")
    assert flow.quote.body == json.dumps(QUOTE, sort_keys=True, separators=(",", ":")).encode()
    assert_fspiop_signed(flow.quote, pem("dfsp-a/jws/rsa.pub"), "RS256", "dfsp-a", "dfsp-b")
    # At dfsp-a's backend: the hub's callback, signed as the hub by its outbound gateway.
    assert (flow.callback.method, flow.callback.path) == ("PUT", CALLBACK_PATH)
    assert json.loads(flow.callback.body) == QUOTE_ANSWER
    assert_fspiop_signed(flow.callback, pem("hub/jws/rsa.pub"), "RS256", "hub", "dfsp-a")
    assert pair.hub.callback_status == [200]
    assert pair.hub_in.decisions("jws_verify", "ok", "dfsp-a") >= 1
    assert pair.dfsp_in.decisions("jws_verify", "ok", "hub") >= 1


def test_mojaloop_sdk_accepts_both_messages(flow, sdk):  # noqa: F811
    keys = {"dfsp-a": pem("dfsp-a/jws/rsa.pub").decode(), "hub": pem("hub/jws/rsa.pub").decode()}
    checked = sdk({"op": "validate", "keys": keys, "items": [
        {"headers": dict(seen.fspiop()), "body": seen.body.decode()}
        for seen in (flow.quote, flow.callback)]})
    assert checked == [{"ok": True}, {"ok": True}], checked


# --- refusals, counted at the stand-ins --------------------------------------------------------


def test_tampered_body_is_refused_at_the_hub(pair, flow):
    hub = pair.hub.stand_in
    before = hub.count()
    # The quote as it was signed, resent by dfsp-a: accepted (Mojaloop resends; no replay cache).
    out = pair.to_hub("dfsp-a", "POST", "/quotes", flow.quote.fspiop(), flow.quote.body)
    assert out.status == 202 and hub.count() == before + 1, out
    tampered = flow.quote.body.replace(b'"amount":"100"', b'"amount":"900"')
    assert tampered != flow.quote.body
    out = pair.to_hub("dfsp-a", "POST", "/quotes", flow.quote.fspiop(), tampered)
    assert_refused(out, 400, "sig_invalid", "3105")
    assert hub.count() == before + 1


def test_wrong_fspiop_source_is_refused(pair, flow):
    hub = pair.hub.stand_in
    before = hub.count()
    # dfsp-a's app asks its gateway to speak for dfsp-b: it never signs as another FSP.
    out = http_request(pair.dfsp_out.port, "POST", "/quotes",
                       [("content-type", QUOTES), ("fspiop-source", "dfsp-b"),
                        ("fspiop-destination", "dfsp-a")], json.dumps(QUOTE).encode())
    assert (out.status, out.header("x-signet-reason")) == (500, "sign_failed"), out.body
    # dfsp-a's connection carrying a message that names dfsp-b as its source.
    headers = [(n, "dfsp-b" if n == "fspiop-source" else v) for n, v in flow.quote.fspiop()]
    out = pair.to_hub("dfsp-a", "POST", "/quotes", headers, flow.quote.body)
    assert_refused(out, 403, "peer_mismatch", "3000")
    assert hub.count() == before


def test_another_dfsps_certificate_is_refused(pair, flow):
    hub = pair.hub.stand_in
    before, denied = hub.count(), pair.hub_in.counter("partner_allowlist.rbac.denied")
    # dfsp-b's certificate from dfsp-a's address: the allowlist closes the connection.
    out = pair.to_hub("dfsp-b", "POST", "/quotes", flow.quote.fspiop(), flow.quote.body,
                      source_ip="127.0.0.1")
    assert out.kind == "closed" and out.stage == "after_handshake", out
    assert pair.hub_in.counter("partner_allowlist.rbac.denied") == denied + 1
    # From dfsp-b's own address, relaying dfsp-a's signed quote: the source is not the peer.
    out = pair.to_hub("dfsp-b", "POST", "/quotes", flow.quote.fspiop(), flow.quote.body,
                      source_ip="127.0.0.2")
    assert_refused(out, 403, "peer_mismatch", "3000")
    assert hub.count() == before


def test_callback_signed_by_a_non_hub_key_is_refused(pair, flow):
    app = pair.app
    before = app.count()
    # Over the hub's own TLS connection: with the hub's key it passes...
    signed = fspiop_sign(pem("hub/jws/rsa.key"), "PUT", CALLBACK_PATH, callback_headers("hub"),
                         CALLBACK_BODY)
    out = pair.to_dfsp("PUT", CALLBACK_PATH, signed, CALLBACK_BODY)
    assert out.status == 200 and app.count() == before + 1, (out, out.body)
    # ...with dfsp-b's (RSA, as the hub's) key, in the hub's name, it does not.
    forged = fspiop_sign(pem("dfsp-b/jws/rsa.key"), "PUT", CALLBACK_PATH, callback_headers("hub"),
                         CALLBACK_BODY)
    out = pair.to_dfsp("PUT", CALLBACK_PATH, forged, CALLBACK_BODY)
    assert_refused(out, 400, "sig_invalid", "3105")
    assert app.count() == before + 1


def test_hub_relays_the_payees_signed_callback_untouched(pair, flow):
    app = pair.app
    before = app.count()
    # dfsp-b's own callback, relayed by the hub: its outbound gateway leaves it as signed, and
    # dfsp-a accepts it because the hub is its trusted forwarder and dfsp-b's key is registered.
    relayed = fspiop_sign(pem("dfsp-b/jws/ec.key"), "PUT", CALLBACK_PATH,
                          callback_headers("dfsp-b"), CALLBACK_BODY)
    out = http_request(pair.hub_out.port, "PUT", CALLBACK_PATH, relayed, CALLBACK_BODY)
    assert out.status == 200, out.body
    seen = app.wait(before + 1)
    assert seen.header("fspiop-signature") == dict(relayed)["fspiop-signature"]
    assert_fspiop_signed(seen, pem("dfsp-b/jws/ec.pub"), "ES256", "dfsp-b", "dfsp-a")
    # A relayed callback in dfsp-b's name signed with a key dfsp-b never registered.
    forged = fspiop_sign(pem("hub/jws/ec.key"), "PUT", CALLBACK_PATH, callback_headers("dfsp-b"),
                         CALLBACK_BODY)
    out = http_request(pair.hub_out.port, "PUT", CALLBACK_PATH, forged, CALLBACK_BODY)
    assert (out.status, json.loads(out.body)["errorInformation"]["errorCode"]) == (400, "3105")
    assert app.count() == before + 1
