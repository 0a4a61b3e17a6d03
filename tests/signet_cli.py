"""The native `signet` CLI, driven from the integration tests (signing requests, exporting the
shared vectors as gateway configurations)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from harness import REPO

CLI = REPO / "target" / "release" / "signet"
# The nearest ancestor's shared/spec (/work/shared for /work/main and /work/wt/<name> alike).
VECTORS = next((p / "shared" / "spec" / "vectors" for p in REPO.parents
                if (p / "shared" / "spec" / "vectors").is_dir()), REPO.parent / "shared" / "spec" / "vectors")


def http_file(method: str, path: str, headers: list[tuple[str, str]], body: bytes) -> bytes:
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{n}: {v}\r\n" for n, v in headers)
    return head.encode() + b"\r\n" + body


def parse_http(raw: bytes) -> tuple[str, str, list[tuple[str, str]], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = [tuple(line.split(": ", 1)) for line in lines[1:]]
    return method, path, headers, body


def sign(workdir: Path, config: dict, method: str, path: str, headers: list, body: bytes,
         env: dict | None = None):
    """Signs a request with `signet sign`; returns (method, path, headers, body) as signed."""
    cfg = workdir / "sign.json"
    msg = workdir / "request.http"
    cfg.write_text(json.dumps(config))
    msg.write_bytes(http_file(method, path, headers, body))
    out = subprocess.run(
        [str(CLI), "sign", "--config", str(cfg), str(msg)],
        capture_output=True, timeout=30, env=env, check=False,
    )
    assert out.returncode == 0, out.stderr.decode()
    return parse_http(out.stdout)


def export_vectors(outdir: Path, tls_name: str) -> list[dict]:
    """Each shared vector as (case, jws_verify configuration, request file)."""
    out = subprocess.run(
        [str(CLI), "conformance", str(VECTORS), "--export", str(outdir), "--tls-name", tls_name],
        capture_output=True, timeout=60, check=False,
    )
    assert out.returncode == 0, out.stdout.decode() + out.stderr.decode()
    cases = []
    for f in sorted(VECTORS.glob("*.json")):
        case = json.loads(f.read_text())
        cid = case["id"]
        cases.append({
            "case": case,
            "config": json.loads((outdir / f"{cid}.config.json").read_text()),
            "request": parse_http((outdir / f"{cid}.http").read_bytes()),
        })
    return cases
