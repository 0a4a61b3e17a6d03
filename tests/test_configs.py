"""Every Envoy template, rendered with its demo parameters, passes `envoy --mode validate`
(which also loads the Wasm module and runs each filter's on_configure)."""

from __future__ import annotations

import json

import pytest

from harness import REPO, WASM, demo_env, render, validate

TEMPLATES = sorted(p.name for p in (REPO / "envoy").glob("*.yaml"))


def demo_params(template: str, pki) -> dict:
    path = REPO / "envoy" / template.replace(".yaml", ".demo.json")
    assert path.exists(), f"template {template} needs demo parameters in {path.name}"
    params = json.loads(path.read_text())
    # The demo PKI of this test run, and the module this run built.
    params.update(pki_dir=str(pki.root), wasm_path=str(WASM))
    return params


def test_there_are_templates():
    assert "platform.yaml" in TEMPLATES


@pytest.mark.parametrize("template", TEMPLATES)
def test_rendered_template_validates(template, pki, tmp_path):
    params = demo_params(template, pki)
    config = render(template, params, tmp_path / template)
    result = validate(config, env=demo_env(params, pki))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout + result.stderr


def test_validate_rejects_a_broken_filter_configuration(pki, tmp_path):
    # validate is a real check: a filter whose on_configure fails is refused.
    params = demo_params("platform.yaml", pki)
    params["filters"] = [{"root_id": "gateway", "configuration": {"strip_header_prefixes": 7}}]
    result = validate(render("platform.yaml", params, tmp_path / "bad.yaml"))
    assert result.returncode != 0
    assert "strip_header_prefixes: invalid type" in result.stdout + result.stderr


def test_shipped_configs_never_fail_open(pki, tmp_path):
    for template in TEMPLATES:
        text = render(template, demo_params(template, pki), tmp_path / template).read_text()
        assert "FAIL_OPEN" not in text
        assert text.count("envoy.filters.http.wasm") >= 1
        assert text.count('"failure_policy": "FAIL_RELOAD"') == text.count("envoy.filters.http.wasm")
