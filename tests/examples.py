"""The shipped example gateways, `envoy/examples/<platform>/<side>.params.json`: rendered as
`make examples` renders them (tests/test_examples.py keeps the checked-in YAML equal to that),
with only ports and addresses changed, and run by a real Envoy from the repository root, where
their relative paths lead.

    with start_example(EXAMPLES / "mojaloop" / "hub-inbound.params.json", workdir,
                       upstream_port=hub.port) as gw:
        https_request(gw.port, ...)
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Iterator

from harness import REPO, WASM, Gateway, run, run_envoy

EXAMPLES = REPO / "envoy" / "examples"


def example_params() -> list[Path]:
    return sorted(EXAMPLES.glob("*/*.params.json"))


def checked_in_yaml(params: Path) -> Path:
    return params.with_name(params.name.removesuffix(".params.json") + ".yaml")


def render_example(params: Path, out: Path, **overrides) -> Path:
    """scripts/render on the example's params, each override a --set."""
    sets = [arg for k, v in overrides.items() for arg in ("--set", f"{k}={json.dumps(v)}")]
    run([sys.executable, str(REPO / "scripts" / "render"), "--params", str(params), *sets,
         "--out", str(out)], timeout=30)
    return out


def example_env(params: Path) -> dict:
    """The example's demo private keys ("demo_env": {VAR: file under pki_dir}), as text."""
    p = json.loads(params.read_text())
    return {var: (REPO / p["pki_dir"] / rel).read_text()
            for var, rel in p.get("demo_env", {}).items()}


@contextlib.contextmanager
def start_example(params: Path, workdir: Path, **overrides) -> Iterator[Gateway]:
    """One side of an example in Envoy: admin and listener ports from the kernel, plus the given
    overrides (upstream_port, platform_port, ...); its demo keys in the environment. The
    listener is named after the template (platform, egress)."""
    workdir.mkdir(parents=True, exist_ok=True)
    if "SIGNET_WASM" in os.environ:
        overrides.setdefault("wasm_path", str(WASM))
    config = render_example(params, workdir / "envoy.yaml", admin_port=0, listen_port=0,
                            **overrides)
    run([sys.executable, str(REPO / "scripts" / "check-config"), str(config)], timeout=30)
    listener = json.loads(params.read_text())["template"]
    with run_envoy(config, workdir, listener=listener, env=example_env(params), cwd=REPO) as gw:
        yield gw
