"""Each request-signing profile as the adversarial suite drives it: the platform gateway's filter
chain (the configurations of tests/test_jws_verify_profiles.py, both partners active, plus a
`skip` rule for the prefix /health), a correctly signed request, the signature header, and the
status the profile answers each reason code with (reply.rs / security.md rule 9).

OCEN runs as its tests run it (test_ocen_flow.py): token_check in front (the bearer token's
`participantId` names the partner, bound to the certificate), then jws_verify with
`bind_originator`; its signatures are jose4j-style detached `b64:false` JWS.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from signet_cli import sign
from test_jws_verify import SAN_A, SAN_B, pem
from test_jws_verify_profiles import MOSIP_PATH, PROFILES, now_ms_z, padded
from test_ocen_registry import ocen_signature
from test_token_check import provider

GATEWAY = {"root_id": "gateway", "configuration": {}}
SKIP_PREFIX = "/health"
OCEN_PATH = "/v4.0.0alpha/loanApplications/createLoanRequest"
SIG_HEADER = {"mojaloop": "fspiop-signature", "mosip": "signature", "ocen": "x-jws-signature",
              "spar": "signature", "generic": "x-jws-signature"}
NAMES = ["mojaloop", "mosip", "ocen", "spar", "generic"]


def status_for(profile: str, reason: str) -> int:
    """The HTTP status `profile` answers a request-path rejection `reason` with."""
    if profile == "generic":
        if reason in ("sig_missing", "alg_not_allowed", "key_unknown", "binding_mismatch", "sig_invalid",
                      "cert_invalid", "cert_not_registered", "stale", "replay", "token_missing",
                      "token_invalid", "token_expired"):
            return 401
        return {"body_timeout": 408, "body_too_large": 413, "content_encoding": 415, "peer_mismatch": 403,
                "partner_inactive": 403, "keys_unavailable": 503, "replay_cache_full": 503,
                "internal": 500, "sign_failed": 500}.get(reason, 400)
    if profile == "mojaloop":
        return {"peer_mismatch": 403, "partner_inactive": 403, "keys_unavailable": 503,
                "replay_cache_full": 503, "internal": 500, "sign_failed": 500, "body_timeout": 408,
                "token_missing": 401, "token_invalid": 401, "token_expired": 401}.get(reason, 400)
    if profile == "ocen":
        return {"sig_invalid": 401, "alg_not_allowed": 401, "token_missing": 401, "token_invalid": 401,
                "token_expired": 401, "peer_mismatch": 403, "partner_inactive": 403,
                "body_too_large": 413, "keys_unavailable": 503, "replay_cache_full": 503,
                "internal": 500, "sign_failed": 500, "body_timeout": 408}.get(reason, 400)
    if profile == "mosip":
        return 413 if reason == "body_too_large" else 200
    if profile == "spar":
        return {"keys_unavailable": 503, "replay_cache_full": 503, "internal": 500, "sign_failed": 500,
                "body_too_large": 413}.get(reason, 200)
    raise ValueError(profile)


class AdvProfile:
    def __init__(self, name: str, pki, workdir: Path, auth=None):
        self.name, self.pki, self.workdir, self.auth = name, pki, workdir, auth
        self.sig_header = SIG_HEADER[name]
        self._n = 0

    # --- the gateway ---------------------------------------------------------------------------

    def verify_config(self, **extra) -> dict:
        if self.name == "ocen":
            cfg = {"profile": {"ocen": {"bind_originator": True}}, "partners": [
                {"id": "dfsp-a", "registry_status": "APPROVED", "keys": [{"public_key_pem": "@pki:dfsp-a/jws/rsa.pub"}]},
                {"id": "dfsp-b", "registry_status": "APPROVED", "keys": [{"public_key_pem": "@pki:dfsp-b/jws/rsa.pub"}]}]}
        else:
            cfg = copy.deepcopy(PROFILES[self.name].verify(self.pki))
            for partner in cfg["partners"]:  # both partners active (binding cases name dfsp-b)
                partner.pop("status", None)
        cfg["route_policy"] = [{"path_prefix": SKIP_PREFIX, "policy": "skip"}] + cfg.get("route_policy", [])
        cfg.update(extra)
        return cfg

    def filters(self, **verify_extra) -> list:
        chain = [GATEWAY]
        if self.name == "ocen":
            chain.append({"root_id": "token_check", "configuration": {
                "providers": [provider(self.auth, claim_to_partner="participantId", required_scopes=[], audiences=[])],
                "partners": [{"id": "dfsp-a", "tls_names": [SAN_A]}, {"id": "dfsp-b", "tls_names": [SAN_B]}],
                "error_format": "ocen"}})
        chain.append({"root_id": "jws_verify", "configuration": self.verify_config(**verify_extra)})
        return chain

    def params(self) -> dict:
        return {"clusters": [self.auth.cluster()]} if self.auth else {}

    # --- requests ------------------------------------------------------------------------------

    def path(self, party: str = "dfsp-a") -> str:
        """The profile's signature-required route."""
        if self.name == "ocen":
            return OCEN_PATH
        return PROFILES[self.name].method_path(party)[1]

    def body(self, party: str = "dfsp-a", size: int = 600) -> bytes:
        if self.name == "ocen":
            return padded({"metadata": {"version": "4.0.0", "originatorParticipantId": party,
                                        "requestId": "r-1", "timestamp": now_ms_z()},
                           "loanApplications": []}, size)
        return PROFILES[self.name].body(party, size)

    def signed(self, party: str = "dfsp-a", body: bytes | None = None, method: str = "POST",
               path: str | None = None) -> tuple[str, str, list, bytes]:
        """(method, path, headers, body) correctly signed by `party` (content-length excluded)."""
        body = self.body(party) if body is None else body
        path = path or self.path(party)
        if self.name == "ocen":
            headers = [("content-type", "application/json"),
                       ("authorization", f"Bearer {self.token(party)}"),
                       ("x-jws-signature", ocen_signature(self.pki.root / party / "jws" / "rsa.key", body))]
            return method, path, headers, body
        p = PROFILES[self.name]
        self._n += 1
        work = self.workdir / f"sign-{self._n}"
        work.mkdir(parents=True, exist_ok=True)
        m, pth, headers, b = sign(work, p.signer(self.pki, party, party), method, path, p.headers, body)
        headers = [(n, v) for n, v in headers if n.lower() not in ("content-length", "host")]
        return m, pth, headers, b

    def unsigned(self, party: str = "dfsp-a", body: bytes | None = None, method: str = "POST",
                 path: str | None = None) -> tuple[str, str, list, bytes]:
        """The same request without its signature header (identity headers and token kept)."""
        m, pth, headers, b = self.signed(party, body, method, path)
        return m, pth, [(n, v) for n, v in headers if n.lower() != self.sig_header], b

    def forged_signature(self, headers: list) -> list:
        """headers with the signature replaced by one of another key over the same input."""
        out = []
        for n, v in headers:
            if n.lower() == self.sig_header:
                v = forge(self.name, v)
            out.append((n, v))
        return out

    def token(self, party: str = "dfsp-a") -> str:
        return self.auth.token({"participantId": party})

    def status(self, reason: str) -> int:
        return status_for(self.name, reason)


def forge(profile: str, value: str) -> str:
    """A signature value of the right shape whose signature bytes are wrong (last char flipped)."""
    if profile == "mojaloop":
        doc = json.loads(value)
        s = doc["signature"]
        doc["signature"] = s[:-2] + ("AA" if not s.endswith("AA") else "BA")
        return json.dumps(doc, separators=(",", ":"))
    head, sep, sig = value.rpartition(".")
    return head + sep + sig[:-2] + ("AA" if not sig.endswith("AA") else "BA")


def mosip_path(party: str, misp: str = "mispLK0001", key: str = "apiKey0001") -> str:
    return f"/idauthentication/v1/auth/{misp}/{party}/{key}"


__all__ = ["AdvProfile", "NAMES", "SKIP_PREFIX", "status_for", "forge", "mosip_path", "MOSIP_PATH",
           "now_ms_z", "pem"]
