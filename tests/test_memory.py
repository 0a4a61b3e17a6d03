"""The VM's memory returns to its baseline after large bodies, through a real Envoy.

jws_verify (mojaloop, `max_body_bytes` 5 MiB) verifies 30 signed 4 MiB requests; each is held
whole in the VM (the body, the base64url signing input: ~10 MiB of the VM's heap at the peak).
Measured after a warm-up round and after the further rounds, each time at the start of a
fresh request (a bodyless GET, which the profile skips):

- `wasmcustom.signet.vm.heap_bytes`: bytes the module has allocated and not freed (its own
  counting allocator, `filters/wasm/src/memstat.rs`; Envoy has no per-VM memory stat). Between
  requests it must be back to the warm baseline: any body, signing input or message kept past
  its request would add megabytes per request.
- `wasmcustom.signet.vm.linear_memory_bytes`: the VM's linear memory. Wasm memory never
  shrinks; after the warm-up it must not grow (the allocator reuses the freed blocks).
- Envoy's resident set (`/proc/<pid>/status` VmRSS): coarse (tcmalloc keeps freed pages), so
  only a bound far below what a per-request leak would add (25 × 4 MiB = 100 MiB of bodies
  alone).
"""

from __future__ import annotations

import hashlib
import json
import time

import pytest

from signet_cli import sign
from test_jws_verify import SAN_A, pem, reason, send, verify_filter

MIB = 1024 * 1024
BODY_BYTES = 4 * MIB
WARMUP = 5
ROUNDS = 25
HEAP = "wasmcustom.signet.vm.heap_bytes"
LINEAR = "wasmcustom.signet.vm.linear_memory_bytes"
# Bookkeeping that may legitimately differ between two idle moments (stat names, a header
# map's capacity): far below one body (4 MiB).
HEAP_SLACK = 64 * 1024
RSS_SLACK = 48 * MIB


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def snapshot(gw, pki) -> dict:
    # A new stream records the gauges before it allocates anything.
    out = send(gw, pki, ("GET", "/parties/MSISDN/1", [], b""))
    assert out.status == 200, out
    time.sleep(0.05)
    return {
        "heap": gw.counter(HEAP),
        "linear": gw.counter(LINEAR),
        "rss": rss_bytes(gw.proc.popen.pid),
        "tcmalloc": int(json.loads(gw.admin("/memory"))["allocated"]),
    }


@pytest.mark.timeout(90)
def test_vm_memory_returns_to_baseline_after_4mib_bodies(pki, gateway_factory, tmp_path):
    root = pki.root
    config = {
        "profile": "mojaloop",
        "max_body_bytes": 5 * MIB,
        "partners": [{"id": "dfsp-a", "tls_names": [SAN_A], "keys": [{"public_key_pem": pem(root / "dfsp-a/jws/rsa.pub")}]}],
    }
    signer = {"profile": {"mojaloop": {"source_id": "dfsp-a", "sign_body_form": "as-is"}},
              "signing_key": pem(root / "dfsp-a/jws/rsa.key")}
    requests = []
    for i in range(3):
        pad = (b"0123456789abcdef" * (BODY_BYTES // 16))[: BODY_BYTES - 32]
        body = b'{"transferId":"t-%d","pad":"' % i + pad
        body += b"x" * (BODY_BYTES - len(body) - 2) + b'"}'
        assert len(body) == BODY_BYTES
        method, path, headers, signed_body = sign(tmp_path, signer, "POST", "/transfers", [], body)
        requests.append((method, path, headers + [("x-echo-body", "sha256")], signed_body))
    gw = gateway_factory(filters=verify_filter(config), params={"buffer_limit_bytes": 6 * MIB})
    start = snapshot(gw, pki)

    def round_of(n: int):
        for i in range(n):
            req = requests[i % len(requests)]
            out = send(gw, pki, req, timeout=20)
            assert out.status == 200, (out.status, reason(out), out.body[:200])
            echo = out.json()
            assert (echo["body_len"], echo["body_sha256"]) == (BODY_BYTES, hashlib.sha256(req[3]).hexdigest())

    t0 = time.monotonic()
    round_of(WARMUP)
    warm = snapshot(gw, pki)
    round_of(ROUNDS)
    after = snapshot(gw, pki)
    elapsed = time.monotonic() - t0
    verified = gw.decisions("jws_verify", "ok")
    print(f"\nVM memory over {WARMUP}+{ROUNDS} requests of {BODY_BYTES} bytes ({elapsed:.1f}s):")
    for name, snap in (("start", start), ("warm", warm), ("after", after)):
        print(f"  {name:5}  heap {snap['heap']:>10}  linear {snap['linear']:>10}  "
              f"rss {snap['rss']:>11}  tcmalloc {snap['tcmalloc']:>11}")
    assert verified == WARMUP + ROUNDS
    # The baseline holds: nothing of any request is kept.
    assert after["heap"] - warm["heap"] <= HEAP_SLACK, (warm, after)
    assert warm["heap"] - start["heap"] <= HEAP_SLACK, (start, warm)
    # The VM grew once for the first bodies, then reuses that memory.
    assert warm["linear"] > start["linear"] >= 0
    assert after["linear"] == warm["linear"], (warm, after)
    assert after["rss"] - warm["rss"] <= RSS_SLACK, (warm, after)
