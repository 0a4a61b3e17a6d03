"""scripts/check-config refuses Envoy configurations whose Signet filters would hang (no
`allow_on_headers_stop_iteration`), fail open, expose a private key, or let local replies out
unsigned; and scripts/render writes host_env_keys for every filter of the shared VM."""

from __future__ import annotations

import copy
import importlib.machinery
import importlib.util
import json
import subprocess
import sys

import pytest

from harness import REPO, WASM

_loader = importlib.machinery.SourceFileLoader("render", str(REPO / "scripts" / "render"))
_spec = importlib.util.spec_from_loader("render", _loader)
render = importlib.util.module_from_spec(_spec)
_loader.exec_module(render)

SIGNER = {"root_id": "jws_sign", "configuration": {
    "profile": "generic", "direction": "response", "sign_responses": True,
    "signing_key_env": "SIGNET_KEY"}}
VERIFIER = {"root_id": "jws_verify", "configuration": {"profile": "generic"}}


def chain(*filters) -> list:
    return render.derive_filters(list(filters), str(WASM))


# What every shipped connection manager sets (security.md rule 11).
PATH_SETTINGS = {"normalize_path": True, "merge_slashes": True,
                 "path_with_escaped_slashes_action": "REJECT_REQUEST"}


def check(tmp_path, http_filters: list, name="envoy.yaml",
          hcm: dict | None = None) -> subprocess.CompletedProcess:
    """Runs the shipped checker on a YAML document holding this filter chain (in a connection
    manager with `hcm`'s settings, by default the path settings)."""
    import yaml

    settings = PATH_SETTINGS if hcm is None else hcm
    doc = {"static_resources": {"listeners": [{"filter_chains": [{"filters": [{
        "name": "envoy.filters.network.http_connection_manager",
        "typed_config": {**settings, "http_filters": http_filters}}]}]}]}}
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc))
    return subprocess.run([sys.executable, str(REPO / "scripts" / "check-config"), str(path)],
                          capture_output=True, text=True, timeout=30, check=False)


def plugin(http_filters: list, i: int) -> dict:
    return http_filters[i]["typed_config"]["config"]


def test_rendered_chain_passes(tmp_path):
    out = check(tmp_path, chain({"root_id": "gateway"}, SIGNER, VERIFIER))
    assert out.returncode == 0, out.stderr


def test_env_keys_go_to_every_filter_of_the_vm():
    filters = chain({"root_id": "gateway", "env": ["EXTRA_VAR"]}, SIGNER, VERIFIER)
    for i in range(3):
        assert plugin(filters, i)["vm_config"]["environment_variables"] == {
            "host_env_keys": ["EXTRA_VAR", "SIGNET_KEY"]}
    assert "environment_variables" not in plugin(chain(VERIFIER), 0)["vm_config"]
    with pytest.raises(render.RenderError, match="not a variable name"):
        chain({"root_id": "gateway", "env": ["BAD-NAME"]})


@pytest.mark.parametrize("root_id", ["jws_sign", "jws_verify"])
def test_missing_header_after_body_flag_is_refused(tmp_path, root_id):
    filters = chain({"root_id": "gateway"}, SIGNER, VERIFIER)
    index = 1 if root_id == "jws_sign" else 2
    del plugin(filters, index)["allow_on_headers_stop_iteration"]
    out = check(tmp_path, filters)
    assert out.returncode == 1
    assert "allow_on_headers_stop_iteration: true is missing" in out.stderr
    assert root_id in out.stderr
    plugin(filters, index)["allow_on_headers_stop_iteration"] = False
    assert check(tmp_path, filters).returncode == 1


def test_gateway_filter_does_not_need_the_flag(tmp_path):
    filters = chain({"root_id": "gateway"})
    del plugin(filters, 0)["allow_on_headers_stop_iteration"]
    assert check(tmp_path, filters).returncode == 0


def test_fail_open_is_refused(tmp_path):
    filters = chain({"root_id": "gateway"}, VERIFIER)
    plugin(filters, 0)["failure_policy"] = "FAIL_OPEN"
    out = check(tmp_path, filters)
    assert out.returncode == 1 and "FAIL_OPEN" in out.stderr


def test_key_variable_must_come_from_the_host_environment(tmp_path):
    filters = chain(SIGNER)
    envs = plugin(filters, 0)["vm_config"]["environment_variables"]
    inline = copy.deepcopy(filters)
    plugin(inline, 0)["vm_config"]["environment_variables"] = {
        "key_values": {"SIGNET_KEY": "-----BEGIN PRIVATE KEY-----..."}}
    out = check(tmp_path, inline)
    assert out.returncode == 1 and "key_values" in out.stderr
    envs["host_env_keys"] = ["OTHER"]
    out = check(tmp_path, filters)
    assert out.returncode == 1 and "not in vm_config.environment_variables" in out.stderr


def test_inline_private_key_is_a_warning(tmp_path, pki):
    signer = {"root_id": "jws_sign", "configuration": {
        "profile": "generic", "signing_key": (pki.root / "dfsp-a/jws/ec.key").read_text()}}
    out = check(tmp_path, chain(signer))
    assert out.returncode == 0 and "inline signing_key (demo only)" in out.stderr


def test_response_signer_after_the_verifier_is_refused(tmp_path):
    out = check(tmp_path, chain({"root_id": "gateway"}, VERIFIER, SIGNER))
    assert out.returncode == 1
    assert "whose local replies would leave unsigned" in out.stderr
    # A request signer after a response verifier (the egress) is fine.
    egress = [VERIFIER | {"configuration": {"profile": "generic", "direction": "response"}},
              {"root_id": "jws_sign", "configuration": {"profile": "generic",
                                                        "signing_key_env": "K"}}]
    assert check(tmp_path, chain(*egress)).returncode == 0


@pytest.mark.parametrize("field", sorted(PATH_SETTINGS))
def test_connection_manager_without_path_normalisation_is_refused(tmp_path, field):
    filters = chain({"root_id": "gateway"}, VERIFIER)
    missing = {k: v for k, v in PATH_SETTINGS.items() if k != field}
    out = check(tmp_path, filters, hcm=missing)
    assert out.returncode == 1
    assert f"{field}: {json.dumps(PATH_SETTINGS[field]).strip(chr(34))} is missing" in out.stderr
    assert out.stderr.count("is missing") == 1
    weaker = {"normalize_path": False, "merge_slashes": False,
              "path_with_escaped_slashes_action": "UNESCAPE_AND_FORWARD"}
    out = check(tmp_path, filters, hcm=missing | {field: weaker[field]})
    assert out.returncode == 1 and f"{field}:" in out.stderr
    # A connection manager without a Signet filter is not ours to judge.
    assert check(tmp_path, [{"name": "envoy.filters.http.router"}], hcm={}).returncode == 0


def test_every_shipped_template_passes(pki, tmp_path):
    from harness import render as render_template

    for template in sorted(p.name for p in (REPO / "envoy").glob("*.yaml")):
        params = json.loads((REPO / "envoy" / template.replace(".yaml", ".demo.json")).read_text())
        params.update(pki_dir=str(pki.root), wasm_path=str(WASM))
        # harness.render runs check-config on its output and raises on a finding.
        render_template(template, params, tmp_path / template)
