"""The module as an artifact (make dist): the OCI image scripts/oci-image builds, and Envoy
loading the module by `code.remote` (http_uri + sha256) from a local HTTP server, as an operator
serving dist/signet.wasm would; a wrong checksum is refused and nothing passes."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.server
import io
import json
import subprocess
import tarfile
import threading
from pathlib import Path
from typing import Iterator

import pytest

from harness import REPO, WASM, https_request, start_gateway


@contextlib.contextmanager
def module_server(body: bytes) -> Iterator[tuple[int, list[str]]]:
    """Serves `body` at /signet.wasm on a loopback port; yields (port, paths requested)."""
    requested: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            requested.append(self.path)
            if self.path != "/signet.wasm":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("content-type", "application/wasm")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], requested
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def remote_params(port: int, sha256: str) -> dict:
    return {
        "wasm_path": None,
        "wasm_remote": {"uri": f"http://127.0.0.1:{port}/signet.wasm", "sha256": sha256,
                        "cluster": "module_server"},
        "clusters": [{"name": "module_server", "host": "127.0.0.1", "port": port}],
    }


def partner_get(gw, pki):
    cert, key = pki.client("dfsp-a")
    return https_request(gw.port, ca=pki.platform_ca, cert=cert, key=key, path="/dist")


def test_module_loaded_by_code_remote_with_its_checksum(pki, tmp_path):
    module = WASM.read_bytes()
    with module_server(module) as (port, requested):
        params = remote_params(port, hashlib.sha256(module).hexdigest())
        with start_gateway(tmp_path, pki, params=params) as gw:
            out = partner_get(gw, pki)
            assert out.status == 200, out
            assert gw.upstream.hits() == 1
            # The gateway filter ran: the module came from the server, not a file.
            assert gw.counter("wasmcustom.signet.gateway.requests") == 1
            assert "/signet.wasm" in requested


def test_module_with_a_wrong_checksum_is_refused(pki, tmp_path):
    module = WASM.read_bytes()
    wrong = hashlib.sha256(module + b"tampered").hexdigest()
    with module_server(module) as (port, requested):
        with start_gateway(tmp_path, pki, params=remote_params(port, wrong)) as gw:
            out = partner_get(gw, pki)
            # Envoy refetches a few times, then keeps the filter closed: 503, nothing passes.
            assert out.status == 503 and gw.upstream.hits() == 0, out
            assert "Plugin configured to fail closed failed to load" in gw.proc.log()
        assert len(requested) > 1 and set(requested) == {"/signet.wasm"}


def test_render_refuses_a_remote_module_without_its_checksum(tmp_path):
    params = {"wasm_remote": {"uri": "http://127.0.0.1:1/signet.wasm", "cluster": "m"},
              "clusters": [{"name": "m", "host": "127.0.0.1", "port": 1}],
              "filters": [{"root_id": "gateway", "configuration": {}}]}
    (tmp_path / "p.json").write_text(json.dumps(params))
    out = subprocess.run([str(REPO / "scripts" / "render"), str(REPO / "envoy" / "platform.yaml"),
                          "--params", str(tmp_path / "p.json"), "--out", str(tmp_path / "e.yaml")],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode != 0
    assert "wasm_remote.sha256" in out.stderr


def build_image(out: Path) -> Path:
    subprocess.run([str(REPO / "scripts" / "oci-image"), str(WASM), str(out), "1.0"],
                   check=True, capture_output=True, timeout=120)
    return out


def blob(layout: Path, digest: str) -> bytes:
    algo, _, hexd = digest.partition(":")
    data = (layout / "blobs" / algo / hexd).read_bytes()
    assert hashlib.sha256(data).hexdigest() == hexd
    return data


def test_oci_image_is_the_compat_wasm_variant_and_reproducible(tmp_path):
    a = build_image(tmp_path / "a")
    b = build_image(tmp_path / "b")
    files = lambda root: {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert files(a) == files(b), "two images of the same module differ"

    index = json.loads((a / "index.json").read_text())
    (entry,) = index["manifests"]
    assert entry["annotations"]["org.opencontainers.image.ref.name"] == "1.0"
    manifest = json.loads(blob(a, entry["digest"]))
    assert manifest["annotations"]["module.wasm.image/variant"] == "compat"
    (layer,) = manifest["layers"]  # Istio's compat variant: exactly one layer
    assert layer["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip"
    config = json.loads(blob(a, manifest["config"]["digest"]))
    assert (config["os"], config["architecture"]) == ("wasip1", "wasm")
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob(a, layer["digest"])))) as tar:
        (member,) = tar.getmembers()
        assert member.name == "plugin.wasm" and member.isfile()
        assert tar.extractfile(member).read() == WASM.read_bytes()
