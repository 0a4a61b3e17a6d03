"""The short form of `make soak` (scripts/soak): 20 000 requests, about 10 % attacks, through the
full provider chain (mTLS, RBAC, gateway, jws_sign, token_check, jws_verify with replay cache)
over HTTP/1.1 and HTTP/2; the judge is the upstream. The script itself asserts 0 wrongly accepted,
0 wrongly rejected, 0 VM reloads; here its exit status and last line are checked, and its JSON
figures. The RSS growth bound is not checked at this count: its baseline is the 100 000th
request (`SOAK_RSS_MIN_REQUESTS`); `make soak` runs the million."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from harness import REPO

REQUESTS = 20_000


@pytest.mark.timeout(300)
def test_short_soak_has_no_wrong_verdict(tmp_path, pki):
    out = tmp_path / "soak.json"
    env = {**os.environ, "SOAK_REQUESTS": str(REQUESTS), "SIGNET_TEST_PKI": str(pki.root)}
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "soak"), "--workdir", str(tmp_path / "w"),
                           "--json", str(out)], env=env, capture_output=True, text=True, timeout=280,
                          start_new_session=True)
    print(proc.stdout[-3000:], proc.stderr[-3000:])
    last = proc.stdout.strip().splitlines()[-1]
    assert proc.returncode == 0 and last.startswith("soak PASS:"), last
    figures = json.loads(out.read_text())
    assert figures["requests"] == REQUESTS
    assert (figures["wrongly_accepted"], figures["wrongly_rejected"], figures["vm_reloads"]) == (0, 0, 0)
    # Every kind of attack was sent and refused; each valid request reached the judge once.
    assert set(figures["attacks_by_kind"]) == set(ATTACK_KINDS), figures["attacks_by_kind"]
    assert figures["judge"]["valid"] == figures["valid"] and figures["judge"]["attacks"] == 0
    assert figures["signatures_checked"] > 0


ATTACK_KINDS = [
    "alg_hs256", "body_too_large", "cl_te_smuggle", "content_encoding", "dot_segment_policy",
    "dot_segment_skip", "duplicate_signature", "escaped_slash", "method_override", "other_key",
    "replay", "sig_in_trailer", "sig_missing", "stale_iat", "tampered_body", "token_expired",
    "token_missing", "token_of_other_partner", "token_wrong_aud", "unknown_kid", "wrong_source",
]
