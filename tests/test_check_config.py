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
    "profile": {"generic": {"sign_responses": True}}, "direction": "response",
    "signing_key_env": "SIGNET_KEY"}}
VERIFIER = {"root_id": "jws_verify", "configuration": {"profile": "generic"}}


def chain(*filters) -> list:
    return render.derive_filters(list(filters), str(WASM))


# What every shipped connection manager sets (security.md rule 11).
PATH_SETTINGS = {"normalize_path": True, "merge_slashes": True,
                 "path_with_escaped_slashes_action": "REJECT_REQUEST"}


def check(tmp_path, http_filters: list, name="envoy.yaml", clusters: list | None = None,
          hcm: dict | None = None) -> subprocess.CompletedProcess:
    """Runs the shipped checker on a YAML document holding this filter chain (and clusters), in
    a connection manager with `hcm`'s settings (by default the path settings)."""
    import yaml

    settings = PATH_SETTINGS if hcm is None else hcm
    doc = {"static_resources": {"listeners": [{"filter_chains": [{"filters": [{
        "name": "envoy.filters.network.http_connection_manager",
        "typed_config": {**settings, "http_filters": http_filters}}]}]}]}}
    if clusters is not None:
        doc["static_resources"]["clusters"] = clusters
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc))
    return subprocess.run([sys.executable, str(REPO / "scripts" / "check-config"), str(path)],
                          capture_output=True, text=True, timeout=30, check=False)


def plugin(http_filters: list, i: int) -> dict:
    return http_filters[i]["typed_config"]["config"]


REGISTRY = json.dumps({"partners": [{"id": "a", "tls_names": ["a.example"]}]})


def test_registry_in_the_vm_and_inline_is_refused(tmp_path):
    filters = render.derive_filters([VERIFIER, {"root_id": "gateway"}], str(WASM), registry=REGISTRY)
    assert check(tmp_path, filters).returncode == 0
    inline = copy.deepcopy(filters)
    plugin(inline, 0)["configuration"]["value"] = json.dumps(
        {"profile": "generic", "partners": []})
    r = check(tmp_path, inline)
    assert r.returncode == 1 and "partners is in the filter configuration" in r.stderr, r.stderr
    other = copy.deepcopy(filters)
    plugin(other, 1)["vm_config"]["configuration"]["value"] = json.dumps({"partners": []})
    r = check(tmp_path, other)
    assert r.returncode == 1 and "vm_config differs" in r.stderr, r.stderr
    bad = copy.deepcopy(filters)
    for i in (0, 1):
        plugin(bad, i)["vm_config"]["configuration"]["value"] = "[1]"
    r = check(tmp_path, bad)
    assert r.returncode == 1 and "must be a JSON object" in r.stderr, r.stderr


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


def test_ocen_verifier_after_a_token_check_without_claims_is_refused(tmp_path):
    token = {"root_id": "token_check", "configuration": {"providers": [], "claims_in_filter_state": False}}
    ocen = {"root_id": "jws_verify", "configuration": {"profile": {"ocen": {}}}}
    out = check(tmp_path, chain({"root_id": "gateway"}, token, ocen))
    assert out.returncode == 1 and "claims_in_filter_state: false" in out.stderr, out.stderr
    token["configuration"]["claims_in_filter_state"] = True
    assert check(tmp_path, chain({"root_id": "gateway"}, token, ocen)).returncode == 0


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


# --- rule 5: callouts authenticate their server (security.md rule 13) --------------------------

CALLERS = {
    "token_check jwks_cluster": {"root_id": "token_check", "configuration": {
        "providers": [{"name": "p", "issuer": "https://auth", "jwks_uri": "https://auth/certs",
                       "jwks_cluster": "auth"}],
        "partners": [{"id": "dfsp-a", "tls_names": ["dfsp-a.partners.signet.test"]}]}},
    "token_fetch cluster": {"root_id": "token_fetch", "host_env_keys": ["SECRET"], "configuration": {
        "cluster": "auth", "token_uri": "https://auth/token", "client_id": "a",
        "client_secret_env": "SECRET"}},
    "jws_verify profile.ocen.registry.cluster": {"root_id": "jws_verify", "configuration": {
        "profile": {"ocen": {"registry": {"url": "https://registry/service", "cluster": "auth"}}}}},
}
TLS = {"ca": "/ca.pem", "san": "DNS:auth.example"}


def auth_cluster(**entry) -> dict:
    return render.extra_clusters({"clusters": [{"name": "auth", "host": "127.0.0.1", "port": 8443,
                                                **entry}]}, set())[0]


def validation(cluster: dict) -> dict:
    return cluster["transport_socket"]["typed_config"]["common_tls_context"]["validation_context"]


@pytest.mark.parametrize("caller", sorted(CALLERS))
def test_callout_cluster_pinned_or_on_loopback_passes(tmp_path, caller):
    filters = chain(CALLERS[caller])
    assert check(tmp_path, filters, clusters=[auth_cluster(tls=TLS)]).returncode == 0
    assert check(tmp_path, filters, clusters=[auth_cluster()]).returncode == 0
    ipv6 = auth_cluster(host="::1")
    assert check(tmp_path, filters, clusters=[ipv6]).returncode == 0


@pytest.mark.parametrize("caller", sorted(CALLERS))
def test_callout_cluster_without_ca_or_san_is_refused(tmp_path, caller):
    filters, setting = chain(CALLERS[caller]), caller.split()[1]
    no_ca = auth_cluster(tls=TLS)
    del validation(no_ca)["trusted_ca"]
    out = check(tmp_path, filters, clusters=[no_ca])
    assert out.returncode == 1 and "cluster auth: no CA" in out.stderr, out.stderr
    assert setting in out.stderr
    no_san = auth_cluster(tls=TLS)
    del validation(no_san)["match_typed_subject_alt_names"]
    out = check(tmp_path, filters, clusters=[no_san])
    assert out.returncode == 1 and "cluster auth: no SAN match" in out.stderr, out.stderr
    # Neither: the TLS context of the old renderer (SNI only) verified nothing.
    bare = auth_cluster(tls=TLS)
    bare["transport_socket"]["typed_config"] = {
        "@type": bare["transport_socket"]["typed_config"]["@type"], "sni": "auth.example"}
    out = check(tmp_path, filters, clusters=[bare])
    assert out.returncode == 1 and "no CA" in out.stderr and "no SAN match" in out.stderr


@pytest.mark.parametrize("matcher", [{"exact": ""}, {"safe_regex": {"regex": ".*"}}, {}])
def test_san_matcher_must_name_something(tmp_path, matcher):
    cluster = auth_cluster(tls=TLS)
    validation(cluster)["match_typed_subject_alt_names"] = [{"san_type": "DNS", "matcher": matcher}]
    out = check(tmp_path, chain(CALLERS["token_fetch cluster"]), clusters=[cluster])
    assert out.returncode == 1 and "no SAN match" in out.stderr


def test_accept_untrusted_is_refused(tmp_path):
    cluster = auth_cluster(tls=TLS)
    validation(cluster)["trust_chain_verification"] = "ACCEPT_UNTRUSTED"
    out = check(tmp_path, chain(CALLERS["token_fetch cluster"]), clusters=[cluster])
    assert out.returncode == 1 and "ACCEPT_UNTRUSTED" in out.stderr


@pytest.mark.parametrize("host", ["10.0.0.5", "192.168.1.1", "0.0.0.0", "2001:db8::1"])
def test_plain_http_callout_to_another_host_is_refused(tmp_path, host):
    cluster = auth_cluster()
    address = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]
    address["socket_address"]["address"] = host
    out = check(tmp_path, chain(CALLERS["jws_verify profile.ocen.registry.cluster"]), clusters=[cluster])
    assert out.returncode == 1
    assert f"cluster auth is plain HTTP to {host}: without TLS only a loopback" in out.stderr
    # One remote endpoint among loopback ones is enough to refuse.
    loop = auth_cluster()
    loop["load_assignment"]["endpoints"][0]["lb_endpoints"].append(
        {"endpoint": {"address": {"socket_address": {"address": host, "port_value": 1}}}})
    assert check(tmp_path, chain(CALLERS["jws_verify profile.ocen.registry.cluster"]), clusters=[loop]).returncode == 1


def test_callout_cluster_must_be_defined_here_and_single_socketed(tmp_path):
    filters = chain(CALLERS["token_check jwks_cluster"])
    out = check(tmp_path, filters, clusters=[])
    assert out.returncode == 1 and "cluster auth is not a static cluster of this file" in out.stderr
    out = check(tmp_path, filters)
    assert out.returncode == 1 and "not a static cluster" in out.stderr
    matches = auth_cluster(tls=TLS)
    matches["transport_socket_matches"] = [{"name": "plain", "match": {},
                                            "transport_socket": {"name": "envoy.transport_sockets.raw_buffer"}}]
    out = check(tmp_path, filters, clusters=[matches])
    assert out.returncode == 1 and "transport_socket_matches" in out.stderr


def test_jwt_authn_keys_are_checked_when_token_check_trusts_them(tmp_path):
    jwt_authn = {"name": "envoy.filters.http.jwt_authn", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
        "providers": {"p": {"issuer": "https://auth", "remote_jwks": {
            "http_uri": {"uri": "https://auth/certs", "cluster": "auth", "timeout": "2s"}}}}}}
    trusting = {"root_id": "token_check", "configuration": {
        "providers": [{"name": "p", "issuer": "https://auth", "jwks": {"keys": []}}],
        "trust_jwt_authn": {"payload_in_metadata": "jwt_payload"},
        "partners": [{"id": "dfsp-a", "tls_names": ["dfsp-a.partners.signet.test"]}]}}
    remote = auth_cluster(host="10.0.0.5", tls=TLS)
    del validation(remote)["match_typed_subject_alt_names"]
    out = check(tmp_path, [jwt_authn, *chain(trusting)], clusters=[remote])
    assert out.returncode == 1 and "jwt_authn provider p: cluster auth: no SAN match" in out.stderr
    assert check(tmp_path, [jwt_authn, *chain(trusting)], clusters=[auth_cluster(tls=TLS)]).returncode == 0


def test_shipped_callout_configs_pass(pki, tmp_path):
    """Every envoy/ parameter file with callout clusters renders into a config check-config
    accepts (harness.render runs it); the examples' are tests/test_examples.py's."""
    from harness import render as render_template

    base = json.loads((REPO / "envoy" / "platform.demo.json").read_text())
    for overlay in sorted((REPO / "envoy" / "profiles").glob("*.json")):
        params = {**base, **json.loads(overlay.read_text()), "pki_dir": str(pki.root), "wasm_path": str(WASM)}
        render_template("platform.yaml", params, tmp_path / f"{overlay.stem}.yaml")


def test_token_fetch_routes_only_to_authenticated_clusters(tmp_path):
    """The bearer token token_fetch attaches goes to the routed cluster: the same rule."""
    import yaml

    fetch = chain(CALLERS["token_fetch cluster"])
    platform = auth_cluster(tls=TLS)
    platform["name"] = "platform"
    remote = auth_cluster()
    remote["name"] = "platform"
    remote["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"][
        "socket_address"]["address"] = "10.0.0.7"

    def doc(cluster, route=None):
        hcm = {**PATH_SETTINGS, "http_filters": fetch, "route_config": {"virtual_hosts": [{"name": "p", "domains": ["*"],
               "routes": [{"match": {"prefix": "/"}, "route": route or {"cluster": "platform"}}]}]}}
        return {"static_resources": {"clusters": [auth_cluster(), cluster], "listeners": [{"filter_chains": [
            {"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}]}]}]}}

    def run(d):
        path = tmp_path / "egress.yaml"
        path.write_text(yaml.safe_dump(d))
        return subprocess.run([sys.executable, str(REPO / "scripts" / "check-config"), str(path)],
                              capture_output=True, text=True, timeout=30, check=False)

    assert run(doc(platform)).returncode == 0
    out = run(doc(remote))
    assert out.returncode == 1 and "route of a chain with token_fetch" in out.stderr
    assert "cluster platform is plain HTTP to 10.0.0.7" in out.stderr
    weighted = {"weighted_clusters": {"clusters": [{"name": "platform", "weight": 1}]}}
    assert run(doc(remote, weighted)).returncode == 1


# --- rule 7: dynamic resources (scripts/live-config) ---------------------------------------------


def live_config(tmp_path, filters: list, live_dir=None) -> subprocess.CompletedProcess:
    """scripts/live-config with the demo parameters and these filters (it checks before pushing)."""
    params = json.loads((REPO / "envoy" / "platform.demo.json").read_text())
    params.update(filters=filters, wasm_path=str(WASM), pki_dir=str(tmp_path / "pki"))
    (tmp_path / "params.json").write_text(json.dumps(params))
    return subprocess.run([sys.executable, str(REPO / "scripts" / "live-config"), "--params",
                           str(tmp_path / "params.json"), "--dir", str(live_dir or tmp_path / "live")],
                          capture_output=True, text=True, timeout=30, check=False)


def run_check(path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "scripts" / "check-config"), str(path)],
                          capture_output=True, text=True, timeout=30, check=False)


def test_bootstrap_is_checked_with_its_lds_and_cds_files(tmp_path):
    out = live_config(tmp_path, [{"root_id": "gateway", "configuration": {}}, VERIFIER])
    assert out.returncode == 0, out.stderr
    boot = tmp_path / "live" / "bootstrap.yaml"
    assert run_check(boot).returncode == 0
    # A finding inside the LDS file is a finding of the bootstrap.
    lds = tmp_path / "live" / "lds.yaml"
    doc = json.loads(lds.read_text())
    for f in doc["resources"][0]["filter_chains"][0]["filters"][1]["typed_config"]["http_filters"]:
        if f["name"] == "envoy.filters.http.wasm":
            f["typed_config"]["config"]["failure_policy"] = "FAIL_OPEN"
    lds.write_text(json.dumps(doc))
    out = run_check(boot)
    assert out.returncode == 1 and "FAIL_OPEN" in out.stderr


def test_live_config_pushes_nothing_the_checker_refuses(tmp_path):
    ok = [{"root_id": "gateway", "configuration": {}}, VERIFIER]
    assert live_config(tmp_path, ok).returncode == 0
    lds = (tmp_path / "live" / "lds.yaml").read_text()
    out = live_config(tmp_path, [VERIFIER, SIGNER])  # a response signer after the verifier
    assert out.returncode == 1 and "nothing pushed" in out.stderr and "put it first" in out.stderr
    assert (tmp_path / "live" / "lds.yaml").read_text() == lds


@pytest.mark.parametrize("source", [
    {"ads": {}},
    {"api_config_source": {"api_type": "GRPC", "grpc_services": [{"envoy_grpc": {"cluster_name": "xds"}}]}},
])
def test_resources_from_a_management_server_are_refused(tmp_path, source):
    import yaml

    path = tmp_path / "bootstrap.yaml"
    path.write_text(yaml.safe_dump({"dynamic_resources": {"lds_config": source}}))
    out = run_check(path)
    assert out.returncode == 1 and "cannot be checked" in out.stderr


def test_remote_module_without_checksum_is_refused(tmp_path):
    remote = {"http_uri": {"uri": "http://127.0.0.1:9/signet.wasm", "cluster": "module_server",
                           "timeout": "5s"}}
    filters = render.derive_filters([{"root_id": "gateway"}], {"remote": remote})
    server = {"name": "module_server", "type": "STATIC", "load_assignment": {
        "cluster_name": "module_server", "endpoints": [{"lb_endpoints": [{"endpoint": {
            "address": {"socket_address": {"address": "127.0.0.1", "port_value": 9}}}}]}]}}
    out = check(tmp_path, filters, clusters=[server])
    assert out.returncode == 1 and "without sha256" in out.stderr
    remote["sha256"] = "0" * 64
    assert check(tmp_path, filters, clusters=[server]).returncode == 0
    # The module's server is authenticated like any callout (rule 5): plain HTTP only on loopback.
    away = copy.deepcopy(server)
    away["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"][
        "socket_address"]["address"] = "10.0.0.5"
    out = check(tmp_path, filters, clusters=[away])
    assert out.returncode == 1 and "module_server" in out.stderr


def test_chain_not_led_by_gateway_is_a_warning(tmp_path):
    # Only `gateway` strips forged x-signet-* request headers (docs/filters.md).
    out = check(tmp_path, chain(VERIFIER))
    assert out.returncode == 0 and "not gateway" in out.stderr
    out = check(tmp_path, chain({"root_id": "gateway"}, VERIFIER))
    assert out.returncode == 0 and "not gateway" not in out.stderr
