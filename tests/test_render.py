"""scripts/render: derived blocks and the errors an operator sees for bad parameters."""

from __future__ import annotations

import importlib.machinery
import importlib.util

import pytest

from harness import REPO

_loader = importlib.machinery.SourceFileLoader("render", str(REPO / "scripts" / "render"))
_spec = importlib.util.spec_from_loader("render", _loader)
render = importlib.util.module_from_spec(_spec)
_loader.exec_module(render)

A = {"id": "dfsp-a", "san": "DNS:dfsp-a.partners.signet.test", "source_cidrs": ["127.0.0.1/32", "10.1.0.0/16"]}


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
        ([{**A, "san": "dfsp-a"}], "must be DNS:<name> or URI:<uri>"),
        ([{**A, "source_cidrs": ["127.0.0.1/8"]}], "has host bits set"),
        ([{**A, "source_cidrs": []}], "source_cidrs must be a non-empty list"),
        ([A, A], "duplicate id dfsp-a"),
    ],
)
def test_bad_partners_are_refused(partners, message):
    with pytest.raises(render.RenderError, match=message):
        render.derive_partners(partners)


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
        {"name": "auth", "host": "10.0.0.5", "port": 8443, "tls": {"sni": "auth.example", "ca": "/ca.pem"}}]})
    assert [c["name"] for c in clusters] == ["upstream", "auth"]
    addr = clusters[1]["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]
    assert addr == {"socket_address": {"address": "10.0.0.5", "port_value": 8443}}
    tls = clusters[1]["transport_socket"]["typed_config"]
    assert tls["sni"] == "auth.example"
    assert tls["common_tls_context"]["validation_context"]["trusted_ca"] == {"filename": "/ca.pem"}
    assert "transport_socket" not in clusters[0]
    for bad, message in [([{"name": "upstream", "host": "h", "port": 1}], "duplicate name"),
                         ([{"name": "a", "host": "h"}], "needs host"), ("x", "expected a list")]:
        with pytest.raises(render.RenderError, match=message):
            render.derive_clusters({"upstream_host": "h", "upstream_port": 1, "clusters": bad})


def test_host_env_keys_reach_the_vm_config():
    f = render.derive_filters([{"root_id": "token_fetch", "host_env_keys": ["SECRET"]}], "/m.wasm")
    assert f[0]["typed_config"]["config"]["vm_config"]["environment_variables"] == {"host_env_keys": ["SECRET"]}
    with pytest.raises(render.RenderError, match="host_env_keys"):
        render.derive_filters([{"root_id": "token_fetch", "host_env_keys": "SECRET"}], "/m.wasm")
