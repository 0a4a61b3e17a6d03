"""The per-profile platform gateways of envoy/profiles/: each renders, passes
`envoy --mode validate` (which loads the module and runs every filter's configuration check),
and never fails open."""

from __future__ import annotations

import json

import pytest

from harness import REPO, WASM, demo_env, render, validate

PROFILES = sorted(p.stem for p in (REPO / "envoy" / "profiles").glob("*.json"))


def test_every_profile_has_a_gateway():
    assert PROFILES == ["generic", "mojaloop", "mosip", "ocen", "spar"]


@pytest.mark.parametrize("profile", PROFILES)
def test_profile_gateway_validates(profile, pki, tmp_path):
    params = json.loads((REPO / "envoy" / "platform.demo.json").read_text())
    params.update(json.loads((REPO / "envoy" / "profiles" / f"{profile}.json").read_text()))
    params.update(pki_dir=str(pki.root), wasm_path=str(WASM))
    config = render("platform.yaml", params, tmp_path / f"{profile}.yaml")
    text = config.read_text()
    assert "@pki:" not in text, "every PKI reference is inlined"
    # "profile": "<name>" (its defaults) or "profile": {"<name>": {...}} (its own settings).
    assert (f'\\"profile\\":\\"{profile}\\"' in text
            or f'\\"profile\\":{{\\"{profile}\\":' in text)
    assert "FAIL_OPEN" not in text
    assert text.count('"failure_policy": "FAIL_RELOAD"') == text.count("envoy.filters.http.wasm")
    result = validate(config, env=demo_env(params, pki))
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_missing_pki_file_is_a_render_error(pki, tmp_path):
    params = json.loads((REPO / "envoy" / "platform.demo.json").read_text())
    params.update(pki_dir=str(pki.root), wasm_path=str(WASM), filters=[
        {"root_id": "jws_verify", "configuration": {"profile": "generic", "partners": [
            {"id": "x", "keys": [{"public_key_pem": "@pki:nobody/jws/rsa.pub"}]}]}}])
    with pytest.raises(Exception) as err:
        render("platform.yaml", params, tmp_path / "bad.yaml")
    assert "filters[0].configuration.partners[0].keys[0].public_key_pem" in str(err.value)
