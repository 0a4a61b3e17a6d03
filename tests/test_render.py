"""scripts/render: derived blocks and the errors an operator sees for bad parameters."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json

import pytest

from harness import REPO

_loader = importlib.machinery.SourceFileLoader("render", str(REPO / "scripts" / "render"))
_spec = importlib.util.spec_from_loader("render", _loader)
render = importlib.util.module_from_spec(_spec)
_loader.exec_module(render)

A = {"id": "dfsp-a", "tls_names": ["dfsp-a.partners.signet.test"], "source_cidrs": ["127.0.0.1/32", "10.1.0.0/16"]}


def test_partner_policy_pins_san_and_source_ranges():
    derived = render.derive_partners([A])
    assert derived["san_matchers"] == [{"san_type": "DNS", "matcher": {"exact": "dfsp-a.partners.signet.test"}}]
    ids = derived["rbac_policies"]["partner-dfsp-a"]["principals"][0]["and_ids"]["ids"]
    assert ids[0] == {"authenticated": {"principal_name": {"exact": "dfsp-a.partners.signet.test"}}}
    assert ids[1]["or_ids"]["ids"] == [
        {"direct_remote_ip": {"address_prefix": "127.0.0.1", "prefix_len": 32}},
        {"direct_remote_ip": {"address_prefix": "10.1.0.0", "prefix_len": 16}},
    ]


@pytest.mark.parametrize(
    "partners,message",
    [
        ([], "non-empty list"),
        ([{**A, "san": "DNS:dfsp-a"}], "san is now tls_names"),
        ([{**A, "tls_names": []}], "tls_names must list"),
        ([{**A, "source_cidrs": ["127.0.0.1/8"]}], "has host bits set"),
        ([{**A, "source_cidrs": []}], "source_cidrs must be a non-empty list"),
        ([A, A], "duplicate id dfsp-a"),
    ],
)
def test_bad_partners_are_refused(partners, message):
    with pytest.raises(render.RenderError, match=message):
        render.derive_partners(partners)


def test_rbac_and_san_come_from_the_registry_entries():
    """One entry gives the SAN matchers, the RBAC policy and the filters' registry: URI names
    become URI SANs, partners without source_cidrs (not clients here) get neither."""
    spiffe = {"id": "b", "tls_names": ["spiffe://b.example/ns/x", "b.example"], "source_cidrs": ["10.2.0.0/16"],
              "keys": [{"public_key_pem": "@pki:b.pub"}]}
    upstream = {"id": "platform", "tls_names": ["platform.example"]}
    derived = render.derive_partners([A, spiffe, upstream])
    assert derived["san_matchers"][1:] == [
        {"san_type": "URI", "matcher": {"exact": "spiffe://b.example/ns/x"}},
        {"san_type": "DNS", "matcher": {"exact": "b.example"}},
    ]
    assert set(derived["rbac_policies"]) == {"partner-dfsp-a", "partner-b"}
    names = derived["rbac_policies"]["partner-b"]["principals"][0]["and_ids"]["ids"][0]
    assert names == {"or_ids": {"ids": [
        {"authenticated": {"principal_name": {"exact": "spiffe://b.example/ns/x"}}},
        {"authenticated": {"principal_name": {"exact": "b.example"}}}]}}
    assert render.derive_partners([upstream]) == {}


def test_registry_goes_once_into_the_shared_vm_config(tmp_path):
    (tmp_path / "b.pub").write_text("PEM")
    params = {"partners": [A, {"id": "b", "keys": [{"public_key_pem": "@pki:b.pub"}]}],
              "policies": [{"id": "p", "routes": [{"path_prefix": "/"}]}],
              "pki_dir": str(tmp_path), "wasm_path": "/m.wasm",
              "filters": [{"root_id": "gateway"}, {"root_id": "jws_verify", "configuration": {"profile": "generic"}}]}
    text = render.build_values(params)["HTTP_FILTERS"]
    assert text.count("&signet_vm") == 1 and text.count("*signet_vm") == 1
    assert text.count("public_key_pem") == 1
    import yaml
    filters = yaml.safe_load(text)
    vms = [f["typed_config"]["config"]["vm_config"] for f in filters[:2]]
    assert vms[0] == vms[1]
    registry = json.loads(vms[0]["configuration"]["value"])
    assert registry["partners"][1]["keys"][0]["public_key_pem"] == "PEM"
    assert registry["policies"] == params["policies"]
    # A filter carrying its own registry (the inline form) turns the VM registry off.
    params["filters"][1]["configuration"]["partners"] = []
    assert "configuration" not in yaml.safe_load(render.build_values(params)["HTTP_FILTERS"])[0][
        "typed_config"]["config"]["vm_config"]


def test_filters_become_wasm_entries_then_router():
    filters = render.derive_filters(
        [{"root_id": "gateway", "configuration": {"k": [1]}}, {"root_id": "gateway", "name": "second"}], "/m.wasm"
    )
    assert [f["name"] for f in filters] == ["envoy.filters.http.wasm"] * 2 + ["envoy.filters.http.router"]
    cfg = filters[0]["typed_config"]["config"]
    assert cfg["root_id"] == "gateway" and cfg["failure_policy"] == "FAIL_RELOAD"
    assert cfg["allow_on_headers_stop_iteration"] is True
    assert cfg["configuration"] == {"@type": "type.googleapis.com/google.protobuf.StringValue", "value": '{"k":[1]}'}
    assert cfg["vm_config"]["vm_id"] == "signet" and cfg["vm_config"]["runtime"] == "envoy.wasm.runtime.v8"
    with pytest.raises(render.RenderError, match="duplicate name"):
        render.derive_filters([{"root_id": "gateway"}, {"root_id": "gateway"}], "/m.wasm")


def test_native_filters_go_before_the_signet_filters():
    jwt_authn = {"name": "envoy.filters.http.jwt_authn", "typed_config": {"@type": "x", "providers": {}}}
    filters = render.derive_filters([{"root_id": "token_check"}], "/m.wasm", before=[jwt_authn])
    assert [f["name"] for f in filters] == [
        "envoy.filters.http.jwt_authn", "envoy.filters.http.wasm", "envoy.filters.http.router"]
    assert filters[0] == jwt_authn
    values = render.build_values({"filters": [{"root_id": "gateway"}], "wasm_path": "/m.wasm",
                                  "native_filters_before": [jwt_authn]})
    assert '"envoy.filters.http.jwt_authn"' in values["HTTP_FILTERS"]
    for bad, message in [
        ({"name": "x"}, "expected a list"),
        ([{"typed_config": {}}], r"native_filters_before\[0\]: expected an object with a name"),
        ([{"name": "envoy.filters.http.router"}], "placed by the renderer"),
    ]:
        with pytest.raises(render.RenderError, match=message):
            render.derive_filters([{"root_id": "gateway"}], "/m.wasm", before=bad)


def test_missing_parameter_is_named():
    with pytest.raises(render.RenderError, match="needs parameter 'listen_port'"):
        render.render("port: ${LISTEN_PORT}\n", {"admin_port": 1})


def test_values_are_json():
    assert render.render("a: ${A}\nb: ${B}\n", {"a": 5, "b": "x y"}) == 'a: 5\nb: "x y"\n'


def test_clusters_follow_the_upstream():
    clusters = render.derive_clusters({"upstream_host": "127.0.0.1", "upstream_port": 8080, "clusters": [
        {"name": "auth", "host": "10.0.0.5", "port": 8443,
         "tls": {"sni": "auth.example", "ca": "/ca.pem", "san": "DNS:auth.example"}}]})
    assert [c["name"] for c in clusters] == ["upstream", "auth"]
    addr = clusters[1]["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]
    assert addr == {"socket_address": {"address": "10.0.0.5", "port_value": 8443}}
    tls = clusters[1]["transport_socket"]["typed_config"]
    assert tls["sni"] == "auth.example"
    validation = tls["common_tls_context"]["validation_context"]
    assert validation["trusted_ca"] == {"filename": "/ca.pem"}
    assert validation["match_typed_subject_alt_names"] == [
        {"san_type": "DNS", "matcher": {"exact": "auth.example"}}]
    assert "transport_socket" not in clusters[0]
    for bad, message in [([{"name": "upstream", "host": "h", "port": 1}], "duplicate name"),
                         ([{"name": "a", "host": "h"}], "needs host"), ("x", "expected a list")]:
        with pytest.raises(render.RenderError, match=message):
            render.derive_clusters({"upstream_host": "h", "upstream_port": 1, "clusters": bad})


def callout(entry: dict, **params) -> dict:
    return render.extra_clusters({"clusters": [entry], **params}, set())[0]


TLS_AUTH = {"name": "auth", "host": "10.0.0.5", "port": 8443}


@pytest.mark.parametrize("tls, message", [
    ({"san": "DNS:auth.example"}, r"clusters\[0\] \(auth\)\.tls\.ca is missing"),
    ({"ca": "", "san": "DNS:auth.example"}, r"clusters\[0\] \(auth\)\.tls\.ca is missing"),
    ({"ca": "/ca.pem"}, r"clusters\[0\] \(auth\)\.tls\.san is missing"),
    ({"sni": "auth.example"}, r"\.tls\.ca is missing"),
    ({"ca": "/ca.pem", "san": "auth.example"}, r"\.tls\.san: 'auth\.example': expected DNS:"),
    ({"ca": "/ca.pem", "san": []}, r"\.tls\.san: expected"),
    ({"ca": "/ca.pem", "san": "DNS:"}, r"\.tls\.san: 'DNS:'"),
    ({"ca": "/ca.pem", "san": "IP:auth"}, r"not an IP address"),
    ({"ca": "/ca.pem", "san": "DNS:a", "verify": False}, r"unknown field 'verify'"),
])
def test_tls_callout_needs_a_ca_and_a_san(tls, message):
    with pytest.raises(render.RenderError, match=message):
        callout({**TLS_AUTH, "tls": tls})


def test_tls_callout_forms():
    # SNI defaults to the first DNS SAN; a name is resolved (STRICT_DNS), an IP is STATIC.
    c = callout({"name": "jwks", "host": "auth.example", "port": 443,
                 "tls": {"ca": "/ca.pem", "san": ["URI:spiffe://auth", "DNS:auth.example"]}})
    tls = c["transport_socket"]["typed_config"]
    assert tls["sni"] == "auth.example" and c["type"] == "STRICT_DNS"
    assert tls["common_tls_context"]["tls_params"] == {"tls_minimum_protocol_version": "TLSv1_2"}
    assert [m["san_type"] for m in tls["common_tls_context"]["validation_context"][
        "match_typed_subject_alt_names"]] == ["URI", "DNS"]
    # An IP SAN to an IP host: no name to send as SNI.
    c = callout({**TLS_AUTH, "tls": {"ca": "/ca.pem", "san": "IP:10.0.0.5"}})
    assert "sni" not in c["transport_socket"]["typed_config"] and c["type"] == "STATIC"
    assert c["transport_socket"]["typed_config"]["common_tls_context"]["validation_context"][
        "match_typed_subject_alt_names"] == [{"san_type": "IP_ADDRESS", "matcher": {"exact": "10.0.0.5"}}]
    # "@pki:" names a file of the PKI directory; a relative path is from the repository root.
    c = callout({**TLS_AUTH, "tls": {"ca": "@pki:platform/ca/ca.crt", "san": "DNS:a"}}, pki_dir="/p")
    assert c["transport_socket"]["typed_config"]["common_tls_context"]["validation_context"][
        "trusted_ca"] == {"filename": "/p/platform/ca/ca.crt"}
    c = callout({**TLS_AUTH, "tls": {"ca": "certs/ca.pem", "san": "DNS:a"}})
    assert c["transport_socket"]["typed_config"]["common_tls_context"]["validation_context"][
        "trusted_ca"] == {"filename": str(REPO / "certs" / "ca.pem")}


@pytest.mark.parametrize("host", ["10.0.0.5", "auth.example", "localhost", "0.0.0.0", "::"])
def test_plain_http_callout_only_to_loopback(host):
    with pytest.raises(render.RenderError,
                       match=rf"clusters\[0\] \(auth\): plain HTTP to {host} is refused.*loopback"):
        callout({"name": "auth", "host": host, "port": 8180})


@pytest.mark.parametrize("host", ["127.0.0.1", "127.10.0.3", "::1"])
def test_plain_http_callout_to_a_sidecar_on_loopback(host):
    c = callout({"name": "auth", "host": host, "port": 8180})
    assert "transport_socket" not in c and c["type"] == "STATIC"


def test_egress_callouts_follow_the_same_rule():
    params = {"platform_host": "127.0.0.1", "platform_port": 8443, "platform_sni": "localhost",
              "client_cert": "/c.crt", "client_key": "/c.key", "platform_ca": "/ca.pem",
              "clusters": [{"name": "auth", "host": "10.0.0.5", "port": 8080}]}
    with pytest.raises(render.RenderError, match="plain HTTP to 10.0.0.5 is refused"):
        render.build_values(params)


def test_rendered_tls_callout_validates_in_envoy(pki, tmp_path):
    """The field names are Envoy 1.40's: the rendered TLS callout loads (`--mode validate`)."""
    from harness import WASM, render as render_template, validate

    params = json.loads((REPO / "envoy" / "platform.demo.json").read_text())
    params.update(pki_dir=str(pki.root), wasm_path=str(WASM), clusters=[
        {"name": "auth", "host": "127.0.0.1", "port": 8443,
         "tls": {"ca": "@pki:platform/ca/ca.crt", "san": "DNS:localhost"}},
        {"name": "jwks", "host": "localhost", "port": 8443,
         "tls": {"ca": str(pki.platform_ca), "san": ["DNS:localhost", "IP:127.0.0.1"], "sni": "localhost"}}])
    params["filters"] = [{"root_id": "gateway", "configuration": {}}, {"root_id": "token_check", "configuration": {
        "providers": [{"name": p, "issuer": f"https://{p}", "jwks_uri": f"https://localhost/{p}",
                       "jwks_cluster": p} for p in ("auth", "jwks")],
        "partners": [{"id": "dfsp-a", "tls_names": ["dfsp-a.partners.signet.test"]}]}}]
    config = render_template("platform.yaml", params, tmp_path / "tls-callout.yaml")
    result = validate(config)
    assert result.returncode == 0, result.stdout + result.stderr


def test_host_env_keys_reach_the_vm_config():
    f = render.derive_filters([{"root_id": "token_fetch", "host_env_keys": ["SECRET"]}], "/m.wasm")
    assert f[0]["typed_config"]["config"]["vm_config"]["environment_variables"] == {"host_env_keys": ["SECRET"]}
    with pytest.raises(render.RenderError, match="host_env_keys"):
        render.derive_filters([{"root_id": "token_fetch", "host_env_keys": "SECRET"}], "/m.wasm")


REMOTE = {"uri": "http://127.0.0.1:9/signet.wasm", "sha256": "a" * 64, "cluster": "m"}
CLUSTERS = [{"name": "m", "host": "127.0.0.1", "port": 9}]


@pytest.mark.parametrize("params, message", [
    ({"wasm_path": "/m.wasm", "wasm_remote": REMOTE}, "exactly one of wasm_path, wasm_remote"),
    ({}, "exactly one of wasm_path, wasm_remote"),
    ({"wasm_remote": "http://x/signet.wasm"}, "wasm_remote: expected"),
    ({"wasm_remote": {**REMOTE, "checksum": "x"}}, "unknown field 'checksum'"),
    ({"wasm_remote": {**REMOTE, "uri": "ftp://x/signet.wasm"}}, "wasm_remote.uri"),
    ({"wasm_remote": {**REMOTE, "sha256": "A" * 64}}, "wasm_remote.sha256"),
    ({"wasm_remote": {**REMOTE, "cluster": "elsewhere"}}, "wasm_remote.cluster: 'elsewhere'"),
    ({"wasm_remote": {**REMOTE, "timeout_ms": 50}}, "wasm_remote.timeout_ms"),
])
def test_module_source_is_refused_with_the_field_named(params, message):
    with pytest.raises(render.RenderError, match=message):
        render.wasm_code({"clusters": CLUSTERS, **params})


def test_remote_module_carries_its_checksum_and_cluster():
    code = render.wasm_code({"clusters": CLUSTERS, "wasm_remote": {**REMOTE, "timeout_ms": 2500}})
    assert code == {"remote": {
        "http_uri": {"uri": REMOTE["uri"], "cluster": "m", "timeout": "2.5s"},
        "sha256": "a" * 64, "retry_policy": {"num_retries": 3}}}
    assert render.wasm_code({"wasm_path": "/m.wasm"}) == {"local": {"filename": "/m.wasm"}}


# --- the example form: params that name their template -------------------------------------

EXAMPLE = json.loads((REPO / "envoy/examples/mojaloop/hub-outbound.params.json").read_text())
PKI = "envoy/examples/mojaloop/pki"


def render_main(tmp_path, params: dict, *template: str) -> tuple[int, str]:
    (tmp_path / "side.params.json").write_text(json.dumps(params))
    code = render.main([*template, "--params", str(tmp_path / "side.params.json"),
                        "--out", str(tmp_path / "side.yaml")])
    return code, (tmp_path / "side.yaml").read_text() if code == 0 else ""


def test_example_params_name_their_template_and_keep_paths_relative(tmp_path):
    code, text = render_main(tmp_path, {**EXAMPLE, "comment": ["A hub's egress."]})
    assert code == 0
    assert str(REPO) not in text, "an example's YAML is checked in: no path of this checkout"
    assert f'{{"filename": "{PKI}/hub/tls/client-for-dfsp-a.crt"}}' in text
    assert '{"filename": "target/wasm32-wasip1/release/signet.wasm"}' in text
    head = text.split("\n# Partner-side", 1)[0]
    assert "(template envoy/egress.yaml)" in head and "# A hub's egress." in head
    assert f'#   SIGNET_HUB_JWS_KEY="$(cat {PKI}/hub/jws/rsa.key)" \\' in head
    assert f"#   envoy -c {tmp_path / 'side.yaml'}" in head
    # Without a template name the paths are made absolute, as before.
    plain = {k: v for k, v in EXAMPLE.items() if k != "template"}
    code, text = render_main(tmp_path, plain, str(REPO / "envoy" / "egress.yaml"))
    assert code == 0 and f'"{REPO}/{PKI}/hub/tls/client-for-dfsp-a.crt"' in text


@pytest.mark.parametrize("params, template, message", [
    ({"template": None}, [], "no template: give one"),
    ({"template": "../platform"}, [], "template: expected a template's name"),
    ({}, ["envoy/platform.yaml"], "the params name envoy/egress.yaml"),
    ({"demo_env": {"OTHER": "x.key"}}, [], "demo_env.OTHER: no filter reads"),
    ({"comment": "one line"}, [], "comment: expected a list of lines"),
])
def test_example_form_mistakes_are_named(tmp_path, capsys, params, template, message):
    params = {k: v for k, v in {**EXAMPLE, **params}.items() if v is not None}
    code, _ = render_main(tmp_path, params, *template)
    assert code == 1 and message in capsys.readouterr().err
