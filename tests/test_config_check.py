"""`signet config check` gives Envoy's verdict: on a rendered bootstrap it refuses exactly what
`envoy --mode validate` refuses (the filter's on_configure), naming the same field with the
same message, and passes what Envoy loads."""

from __future__ import annotations

import json
import re
import subprocess

from harness import REPO, WASM, demo_env, render, validate
from signet_cli import CLI


def demo(pki, profile: str = "mojaloop") -> dict:
    params = json.loads((REPO / "envoy" / "platform.demo.json").read_text())
    params.update(json.loads((REPO / "envoy" / "profiles" / f"{profile}.json").read_text()))
    params.update(pki_dir=str(pki.root), wasm_path=str(WASM))
    return params


def config_check(path, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([str(CLI), "config", "check", str(path)], capture_output=True,
                          text=True, timeout=30, env=env)


def envoy_error(log: str) -> str:
    """`field: message` of Envoy's log line for a refused filter configuration."""
    m = re.search(r'bad configuration: (.*)', log)
    assert m, log[-3000:]
    return m.group(1).strip()


def test_a_shipped_bootstrap_passes_both(pki, tmp_path):
    params = demo(pki)
    config = render("platform.yaml", params, tmp_path / "ok.yaml")
    assert validate(config, env=demo_env(params, pki)).returncode == 0
    result = config_check(config)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.split("\n")[:2] == ["ok signet.gateway", "ok signet.jws_verify"]


def refused_by_both(pki, tmp_path, params, field: str) -> tuple[str, list[str]]:
    """Envoy's `field: message` for the rendered params, and the CLI's lines for them."""
    config = render("platform.yaml", params, tmp_path / "bad.yaml")
    envoy = validate(config, env=demo_env(params, pki))
    assert envoy.returncode != 0
    said = envoy_error(envoy.stdout + envoy.stderr)
    assert said.startswith(f"{field}: "), said
    result = config_check(config)
    assert result.returncode == 1, result.stdout + result.stderr
    return said, result.stdout.splitlines()


def test_a_bad_setting_is_refused_by_both_naming_the_same_field(pki, tmp_path):
    params = demo(pki)
    verify = next(f for f in params["filters"] if f["root_id"] == "jws_verify")
    verify["configuration"]["profile"]["mojaloop"]["date_window"] = "soon"
    said, lines = refused_by_both(pki, tmp_path, params, "profile.mojaloop.date_window")
    assert f"error signet.jws_verify: {said}" in lines, lines
    assert "ok signet.gateway" in lines


def test_a_bad_registry_is_refused_by_both_naming_the_same_field(pki, tmp_path):
    params = demo(pki)
    params["partners"][1]["keys"][0]["public_key_pem"] = "not a key"
    said, lines = refused_by_both(pki, tmp_path, params, "partners[1].keys[0].public_key_pem")
    assert f"error signet.gateway: partner registry (vm_config.configuration): {said}" in lines, lines


def test_one_filter_configuration_with_its_registry(tmp_path):
    cfg = tmp_path / "verify.json"
    cfg.write_text(json.dumps({"profile": "generic", "min_rsa_bits": 512}))
    result = subprocess.run([str(CLI), "config", "check", str(cfg), "--root-id", "jws_verify"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert result.stdout.startswith("error jws_verify: min_rsa_bits: "), result.stdout
    reg = tmp_path / "registry.json"
    reg.write_text(json.dumps({"partners": [{"id": "a"}]}))
    cfg.write_text(json.dumps({"profile": "generic"}))
    result = subprocess.run([str(CLI), "config", "check", str(cfg), "--root-id", "jws_verify",
                             "--registry", str(reg)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == "ok jws_verify\n"
