"""The Kubernetes manifests of deploy/ (scripts/render-k8s): up to date with the parameters they
are rendered from, valid against the pinned Istio / Gateway API / Kubernetes schemas
(tests/k8s), and the very filter chain scripts/render produces. The chain each manifest
describes is rebuilt the way Istio (istio-agent's ECDS rewrite) and Envoy Gateway (its xDS
translation, then the EnvoyPatchPolicy) would build it, and run in a real Envoy: a signed
request passes and is answered signed, a tampered one is refused."""

from __future__ import annotations

import copy
import gzip
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

from harness import REPO, WASM, demo_env, https_request, render, start_gateway
from jws_check import protected, split, verify_independently
from signet_cli import sign
from test_dist import module_server

RENDER_K8S = REPO / "scripts" / "render-k8s"
PARAMS = [REPO / "envoy" / "platform.demo.json", REPO / "envoy" / "profiles" / "generic.json",
          REPO / "deploy" / "k8s.params.json"]
SHIPPED = {"istio": REPO / "deploy" / "istio" / "platform.yaml",
           "envoy-gateway": REPO / "deploy" / "envoy-gateway" / "platform.yaml"}
WASM_TYPE = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"
# Envoy Gateway's own kinds: no package of the registries reachable here ships their CRDs.
EG_KINDS = {"EnvoyProxy", "ClientTrafficPolicy", "EnvoyExtensionPolicy", "EnvoyPatchPolicy"}
SAN_A = "dfsp-a.partners.signet.test"


def render_k8s(target: str, out: Path, *extra: str) -> list:
    args = [sys.executable, str(RENDER_K8S), "--target", target, "--out", str(out)]
    for p in PARAMS:
        args += ["--params", str(p)]
    proc = subprocess.run(args + list(extra), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return list(yaml.safe_load_all(out.read_text()))


def find(docs: list, kind: str, name: str | None = None) -> dict:
    (doc,) = [d for d in docs if d["kind"] == kind and name in (None, d["metadata"]["name"])]
    return doc


def demo_params() -> dict:
    """What scripts/render gets for the same gateway (envoy/platform.demo.json + generic.json)."""
    params: dict = {}
    for p in PARAMS[:2]:
        params.update(json.loads(p.read_text()))
    return params


# --- up to date, and valid ----------------------------------------------------------------------


@pytest.mark.parametrize("target", sorted(SHIPPED))
def test_shipped_manifests_are_up_to_date(target, tmp_path):
    render_k8s(target, tmp_path / "m.yaml")
    assert (tmp_path / "m.yaml").read_text() == SHIPPED[target].read_text(), \
        "deploy/ is stale: run make k8s"


def validate(docs: list) -> list:
    subprocess.run([str(REPO / "tests" / "k8s" / "install")], check=True, timeout=300,
                   capture_output=True)
    proc = subprocess.run(["node", str(REPO / "tests" / "k8s" / "validate.mjs")],
                          input=json.dumps(docs), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_manifests_validate_against_the_pinned_schemas():
    docs = [d for path in SHIPPED.values() for d in yaml.safe_load_all(path.read_text())]
    results = validate(docs)
    assert len(results) == len(docs)
    for doc, result in zip(docs, results):
        assert result["errors"] == [], result
        if doc["kind"] in EG_KINDS and doc["apiVersion"].startswith("gateway.envoyproxy.io/"):
            assert result["schema"] is None  # checked below by the chain they produce
        else:
            assert result["schema"] is not None, f"{result['kind']} went unchecked"


def test_the_schemas_refuse_a_wrong_manifest():
    docs = list(yaml.safe_load_all(SHIPPED["istio"].read_text()))
    bad_filter = copy.deepcopy(find(docs, "EnvoyFilter", "signet-gateway"))
    bad_filter["spec"]["configPatches"][0]["match"]["context"] = "INGRESS"
    bad_gateway = copy.deepcopy(find(docs, "Gateway"))
    bad_gateway["spec"]["servers"][0]["tls"]["mode"] = "MTLS"
    eg_docs = list(yaml.safe_load_all(SHIPPED["envoy-gateway"].read_text()))
    bad_route = copy.deepcopy(find(eg_docs, "HTTPRoute"))
    bad_route["spec"]["rules"][0]["backendRefs"][0]["port"] = "http"
    for result in validate([bad_filter, bad_gateway, bad_route]):
        assert result["errors"], result


# The CRD files themselves: no registry package ships Envoy Gateway's, and Istio's ship only as
# compiled models (above, which do not refuse unknown fields). Given the files (Envoy Gateway's
# release asset envoy-gateway-crds.yaml, Istio's manifests/charts/base/files/crd-all.gen.yaml),
# the manifests are checked against them as `kubectl apply --validate=strict` would.
CRD_FILES = {"istio": "SIGNET_ISTIO_CRDS", "envoy-gateway": "SIGNET_EG_CRDS"}


def validate_crd(crds: list, docs: list) -> list:
    subprocess.run([str(REPO / "tests" / "k8s" / "install")], check=True, timeout=300,
                   capture_output=True)
    proc = subprocess.run(["node", str(REPO / "tests" / "k8s" / "validate-crd.mjs")],
                          input=json.dumps({"crds": crds, "docs": docs}),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def load_crds(spec: str) -> list:
    """CRDs from files or directories (os.pathsep-separated); Helm chart guards dropped."""
    crds = []
    for entry in spec.split(os.pathsep):
        path = Path(entry)
        for f in sorted(path.glob("*.yaml")) if path.is_dir() else [path]:
            text = "\n".join(line for line in f.read_text().splitlines() if not line.startswith("{{"))
            crds += [d for d in yaml.safe_load_all(text)
                     if isinstance(d, dict) and d.get("kind") == "CustomResourceDefinition"]
    return crds


@pytest.mark.parametrize("target", sorted(SHIPPED))
def test_manifests_validate_strictly_against_crd_files(target):
    spec = os.environ.get(CRD_FILES[target])
    if not spec:
        pytest.skip(f"{CRD_FILES[target]} (CRD files or directories) not set")
    docs = list(yaml.safe_load_all(SHIPPED[target].read_text()))
    for result in validate_crd(load_crds(spec), docs):
        assert result["errors"] == [], result
        if not result["kind"].startswith(("v1/", "apps/v1/")):
            assert result["schema"] is not None, f"no CRD for {result['kind']}"


def test_strict_crd_validation_refuses_unknown_and_mistyped_fields():
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "things.example.io"},
           "spec": {"group": "example.io", "names": {"kind": "Thing"}, "versions": [{
               "name": "v1", "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                   "apiVersion": {"type": "string"}, "kind": {"type": "string"},
                   "metadata": {"type": "object"},
                   "spec": {"type": "object", "properties": {
                       "port": {"type": "integer"},
                       "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                       "labels": {"type": "object", "additionalProperties": {"type": "string"}}}}}}}}]}}
    thing = {"apiVersion": "example.io/v1", "kind": "Thing", "metadata": {"name": "ok"},
             "spec": {"port": 1, "free": {"any": {"thing": 1}}, "labels": {"a": "b"}}}
    typo = copy.deepcopy(thing) | {"metadata": {"name": "typo"}}
    typo["spec"]["prot"] = 1
    mistyped = copy.deepcopy(thing) | {"metadata": {"name": "mistyped"}}
    mistyped["spec"]["port"] = "1"
    ok, bad1, bad2 = validate_crd([crd], [thing, typo, mistyped])
    assert ok["errors"] == [] and ok["schema"] == "things.example.io"
    assert "prot" in bad1["errors"][0] and bad2["errors"]


K8S = json.loads(PARAMS[2].read_text())["k8s"]


@pytest.mark.parametrize("key,value,field", [
    ("k8s", K8S | {"hostname": None}, "k8s.hostname"),
    ("k8s", K8S | {"env_secrets": {}}, "k8s.env_secrets.SIGNET_PLATFORM_JWS_KEY"),
    ("k8s", K8S | {"image": {"url": "oci://r/signet:1", "digest": "abc"}}, "k8s.image.digest"),
    ("k8s", K8S | {"image": {"url": "https://r/signet.wasm", "digest": "0" * 64}}, "k8s.image.url"),
    # The registry form of partners: a client needs tls_names and source_cidrs, san is gone.
    ("partners", [{"id": "dfsp-a", "keys": []}], "partners: none connects here"),
    ("partners", [{"id": "dfsp-a", "san": "DNS:a.example", "source_cidrs": ["127.0.0.1/32"]}],
     "partner dfsp-a: san is now tls_names"),
])
def test_render_k8s_names_the_field_it_refuses(key, value, field, tmp_path):
    for target in sorted(SHIPPED):
        args = [sys.executable, str(RENDER_K8S), "--target", target, "--out", str(tmp_path / "x")]
        for p in PARAMS:
            args += ["--params", str(p)]
        proc = subprocess.run(args + ["--set", f"{key}={json.dumps(value)}"],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 1 and field in proc.stderr, proc.stderr


# --- the module as Istio / Envoy Gateway fetch it -------------------------------------------------


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> tuple[Path, str, bytes]:
    """make dist's OCI image of the module under test: (layout, manifest digest, plugin.wasm)."""
    layout = tmp_path_factory.mktemp("oci") / "layout"
    subprocess.run([str(REPO / "scripts" / "oci-image"), str(WASM), str(layout), "1.0"],
                   check=True, capture_output=True, timeout=120)
    digest = json.loads((layout / "index.json").read_text())["manifests"][0]["digest"]
    manifest = json.loads((layout / "blobs" / "sha256" / digest.split(":")[1]).read_bytes())
    (layer,) = manifest["layers"]
    data = gzip.decompress((layout / "blobs" / "sha256" / layer["digest"].split(":")[1]).read_bytes())
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        module = tar.extractfile("plugin.wasm").read()
    return layout, digest.split(":")[1], module


def rendered(target: str, pki, image, tmp_path) -> list:
    """The manifests for the test PKI (public keys inlined) and the image under test."""
    layout, _, _ = image
    return render_k8s(target, tmp_path / f"{target}.yaml", "--set", f"pki_dir={pki.root}",
                      "--oci", str(layout))


def reference_chain(pki, tmp_path) -> dict:
    """scripts/render's config for the same parameters (the chain every other test runs)."""
    params = demo_params()
    params.update(pki_dir=str(pki.root), wasm_path=str(WASM))
    return yaml.safe_load(render("platform.yaml", params, tmp_path / "reference.yaml").read_text())


def hcm_of(doc: dict) -> dict:
    (listener,) = doc["static_resources"]["listeners"]
    (chain,) = listener["filter_chains"]
    return chain["filters"][-1]["typed_config"]


# --- Istio: EnvoyFilter ECDS resources, rewritten by istio-agent --------------------------------


def istio_agent_rewrite(typed_config: dict, digest: str, module_file: Path) -> dict:
    """What istio-agent does to an ECDS Wasm resource before Envoy sees it (pkg/wasm/convert.go):
    pulls the image, checks its manifest digest against `sha256`, points the code at the local
    file, and strips its own ISTIO_META_* keys from the VM environment."""
    tc = copy.deepcopy(typed_config)
    vm = tc["config"]["vm_config"]
    remote = vm["code"]["remote"]
    assert remote["http_uri"]["uri"].startswith("oci://")
    assert remote["sha256"] == digest, "the image is checked by its manifest digest"
    vm["code"] = {"local": {"filename": str(module_file)}}
    env = vm.get("environment_variables", {})
    keys = {k: v for k, v in env.get("key_values", {}).items() if not k.startswith("ISTIO_META_")}
    env.pop("key_values", None)
    if keys:
        env["key_values"] = keys
    return tc


def istio_chain(docs: list, name: str, digest: str, module_file: Path) -> tuple[list, dict, list]:
    """(HTTP filters, connection manager settings, network filters inserted) of one EnvoyFilter."""
    patches = find(docs, "EnvoyFilter", name)["spec"]["configPatches"]
    ecds = {p["patch"]["value"]["name"]: p["patch"]["value"]["typed_config"]
            for p in patches if p["applyTo"] == "EXTENSION_CONFIG"}
    assert all(p["patch"]["operation"] == "ADD" for p in patches if p["applyTo"] == "EXTENSION_CONFIG")
    http, hcm, network = [], {}, []
    for p in patches:
        op = p["patch"]["operation"]
        if p["applyTo"] == "HTTP_FILTER":
            sub = p["match"]["listener"]["filterChain"]["filter"]["subFilter"]["name"]
            assert (op, sub) == ("INSERT_BEFORE", "envoy.filters.http.router")
            value = p["patch"]["value"]
            assert WASM_TYPE in value["config_discovery"]["type_urls"]
            # ECDS delivers the resource of that name: the same as an inline typed_config.
            http.append({"name": value["name"], "typed_config": istio_agent_rewrite(
                ecds[value["name"]], digest, module_file)})
        elif p["applyTo"] == "NETWORK_FILTER" and op == "MERGE":
            hcm.update({k: v for k, v in p["patch"]["value"]["typed_config"].items() if k != "@type"})
        elif p["applyTo"] == "NETWORK_FILTER":
            assert op == "INSERT_BEFORE"
            network.append(p["patch"]["value"])
    return http, hcm, network


def without_code(filters: list) -> list:
    # Through JSON: scripts/render's filters share one vm_config (a YAML alias, one object).
    out = json.loads(json.dumps(filters))
    for f in out:
        f.pop("name", None)
        config = f["typed_config"]["config"]
        config["vm_config"].pop("code")
        config["vm_config"].pop("vm_id")
    return out


def test_istio_manifests_are_the_rendered_chain(pki, image, tmp_path):
    _, digest, module = image
    module_file = tmp_path / "plugin.wasm"
    module_file.write_bytes(module)
    docs = rendered("istio", pki, image, tmp_path)
    reference = reference_chain(pki, tmp_path)
    ref_hcm = hcm_of(reference)
    http, hcm, network = istio_chain(docs, "signet-gateway", digest, module_file)
    # Field by field: the same filters, configurations, order, failure policy, knob and
    # environment keys as scripts/render's; only where the module comes from differs.
    assert without_code(http) == without_code(ref_hcm["http_filters"][:-1])
    for key, value in hcm.items():
        assert ref_hcm[key] == value
    assert set(hcm) == {"normalize_path", "merge_slashes", "path_with_escaped_slashes_action",
                        "common_http_protocol_options"}
    (ref_chain,) = reference["static_resources"]["listeners"][0]["filter_chains"]
    assert network == ref_chain["filters"][:1], "the partner SAN + source range allowlist"
    gateway = find(docs, "Gateway")["spec"]["servers"][0]["tls"]
    ref_tls = ref_chain["transport_socket"]["typed_config"]["common_tls_context"]
    assert gateway["subjectAltNames"] == [
        m["matcher"]["exact"] for m in ref_tls["validation_context"]["match_typed_subject_alt_names"]]
    assert gateway["mode"] == "MUTUAL" and gateway["minProtocolVersion"] == "TLSV1_2"
    # The sidecar runs the same chain; the key comes from the Secret into istio-proxy's env.
    side_http, side_hcm, side_network = istio_chain(docs, "signet-sidecar", digest, module_file)
    assert without_code(side_http) == without_code(http) and side_hcm == hcm and side_network == []
    proxy = find(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert proxy["name"] == "istio-proxy"
    assert [e["name"] for e in proxy["env"]] == ["SIGNET_PLATFORM_JWS_KEY"]


def test_istio_chain_runs_in_envoy(pki, image, tmp_path):
    _, digest, module = image
    module_file = tmp_path / "plugin.wasm"
    module_file.write_bytes(module)
    docs = rendered("istio", pki, image, tmp_path)
    http, hcm, network = istio_chain(docs, "signet-gateway", digest, module_file)

    def patch(doc):
        target = hcm_of(doc)
        target["http_filters"] = http + target["http_filters"][-1:]
        target.update(hcm)
        (chain,) = doc["static_resources"]["listeners"][0]["filter_chains"]
        chain["filters"] = network + chain["filters"][-1:]

    round_trip(pki, tmp_path, patch)


# --- Envoy Gateway: its xDS translation, then the EnvoyPatchPolicy ------------------------------


def eg_http_filters(docs: list, module_url: str, module_sha: str, cluster: str) -> list:
    """The HTTP filters Envoy Gateway builds from an EnvoyExtensionPolicy's wasm list
    (internal/xds/translator/wasm.go): one filter each, disabled on the connection manager and
    enabled per route, its own VM, the module served by EG over HTTP with its SHA-256."""
    policy = find(docs, "EnvoyExtensionPolicy")
    ns, name = policy["metadata"]["namespace"], policy["metadata"]["name"]
    out = []
    for i, w in enumerate(policy["spec"]["wasm"]):
        assert w["code"]["type"] == "Image" and w["failOpen"] is False
        ir_name = f"envoyextensionpolicy/{ns}/{name}/wasm/{i}"
        vm = {"vm_id": ir_name, "runtime": "envoy.wasm.runtime.v8", "code": {"remote": {
            "http_uri": {"uri": module_url, "cluster": cluster, "timeout": "10s"},
            "sha256": module_sha, "retry_policy": {"num_retries": 3}}}}
        if w.get("env", {}).get("hostKeys"):
            vm["environment_variables"] = {"host_env_keys": w["env"]["hostKeys"]}
        out.append({"name": f"envoy.filters.http.wasm/{ir_name}", "disabled": True, "typed_config": {
            "@type": WASM_TYPE, "config": {
                "name": w["name"], "root_id": w["rootID"],
                "configuration": {"@type": "type.googleapis.com/google.protobuf.StringValue",
                                  "value": json.dumps(w["config"], separators=(",", ":"))},
                "vm_config": vm}}})
    return out


JSONPATH_STEP = re.compile(r"(\.\.|\.)?([A-Za-z_]+)|\[\*\]|\[\?@\.name=='([^']*)'\]")


def json_path(doc, expr: str) -> list:
    """The JSONPath forms the shipped EnvoyPatchPolicy uses ($.a[*].b, ..a[?@.name=='x'].b),
    as JSON pointers; anything else fails."""
    nodes, pos = [("", doc)], 1 if expr.startswith("$") else 0
    while pos < len(expr):
        m = JSONPATH_STEP.match(expr, pos)
        assert m, f"unsupported JSONPath at {expr[pos:]!r}"
        pos = m.end()
        step, key, name = m.group(1), m.group(2), m.group(3)
        found = []
        for ptr, node in nodes:
            if key is not None and step == "..":
                found += descend(ptr, node, key)
            elif key is not None and isinstance(node, dict) and key in node:
                found.append((f"{ptr}/{key}", node[key]))
            elif key is None and isinstance(node, list):
                found += [(f"{ptr}/{i}", v) for i, v in enumerate(node)
                          if name is None or (isinstance(v, dict) and v.get("name") == name)]
        nodes = found
    return [ptr for ptr, _ in nodes]


def descend(ptr: str, node, key: str) -> list:
    out = []
    if isinstance(node, dict):
        if key in node:
            out.append((f"{ptr}/{key}", node[key]))
        for k, v in node.items():
            out += descend(f"{ptr}/{k}", v, key)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += descend(f"{ptr}/{i}", v, key)
    return out


def json_patch_add(doc, pointer: str, value) -> None:
    *parents, last = pointer.split("/")[1:]
    node = doc
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node.insert(int(last), copy.deepcopy(value))
    else:
        node[last] = copy.deepcopy(value)


def apply_patch_policy(docs: list, listener_name: str, listener: dict) -> int:
    policy = find(docs, "EnvoyPatchPolicy")["spec"]
    assert policy["type"] == "JSONPatch"
    applied = 0
    for p in policy["jsonPatches"]:
        assert p["type"] == "type.googleapis.com/envoy.config.listener.v3.Listener"
        assert p["name"] == listener_name
        op = p["operation"]
        assert op["op"] == "add"
        pointers = json_path(listener, op["jsonPath"])
        assert pointers, f"{op['jsonPath']} selects nothing"
        for ptr in pointers:
            json_patch_add(listener, ptr.rstrip("/") + "/" + op["path"].lstrip("/"), op["value"])
            applied += 1
    return applied


def eg_listener(docs: list, reference: dict, module_url: str, module_sha: str) -> dict:
    """The rendered listener as Envoy Gateway would hand it out: its own connection manager's
    wasm filters (no allowlist, no knob), then the EnvoyPatchPolicy applied."""
    (listener,) = copy.deepcopy(reference["static_resources"]["listeners"])
    (chain,) = listener["filter_chains"]
    chain["filters"] = chain["filters"][-1:]  # EG has no network RBAC of its own
    hcm = chain["filters"][0]["typed_config"]
    filters = eg_http_filters(docs, module_url, module_sha, "wasm_server")
    hcm["http_filters"] = filters + hcm["http_filters"][-1:]
    for vhost in hcm["route_config"]["virtual_hosts"]:
        for route in vhost["routes"]:
            route["typed_per_filter_config"] = {f["name"]: {
                "@type": "type.googleapis.com/envoy.config.route.v3.FilterConfig", "config": {}}
                for f in filters}
    gw = find(docs, "Gateway")
    listener_name = (f"{gw['metadata']['namespace']}/{gw['metadata']['name']}/"
                     f"{gw['spec']['listeners'][0]['name']}")
    # The allowlist, then per filter: the knob, FAIL_RELOAD and the registry (vm_config).
    assert apply_patch_policy(docs, listener_name, listener) == 1 + 3 * len(filters)
    return listener


def test_envoy_gateway_manifests_are_the_rendered_chain(pki, image, tmp_path):
    docs = rendered("envoy-gateway", pki, image, tmp_path)
    reference = reference_chain(pki, tmp_path)
    listener = eg_listener(docs, reference, "http://127.0.0.1:1/x", "0" * 64)
    hcm = listener["filter_chains"][0]["filters"][-1]["typed_config"]
    ref_hcm = hcm_of(reference)
    ours = without_code(hcm["http_filters"][:-1])
    for f in ours:
        f.pop("disabled")
    assert ours == without_code(ref_hcm["http_filters"][:-1]), \
        "EG's translation + the patch policy give scripts/render's filters"
    (ref_chain,) = reference["static_resources"]["listeners"][0]["filter_chains"]
    assert listener["filter_chains"][0]["filters"][0] == ref_chain["filters"][0]
    client = find(docs, "ClientTrafficPolicy")["spec"]
    assert client["path"] == {"escapedSlashesAction": "RejectRequest", "disableMergeSlashes": False}
    ref_tls = ref_chain["transport_socket"]["typed_config"]["common_tls_context"]
    assert [m["value"] for m in client["tls"]["clientValidation"]["subjectAltNames"]["dnsNames"]] == [
        m["matcher"]["exact"] for m in ref_tls["validation_context"]["match_typed_subject_alt_names"]]
    env = find(docs, "EnvoyProxy")["spec"]["provider"]["kubernetes"]["envoyDeployment"]
    assert [e["name"] for e in env["container"]["env"]] == ["SIGNET_PLATFORM_JWS_KEY"]


def test_envoy_gateway_chain_runs_in_envoy(pki, image, tmp_path):
    _, digest, module = image
    docs = rendered("envoy-gateway", pki, image, tmp_path)
    for w in find(docs, "EnvoyExtensionPolicy")["spec"]["wasm"]:
        assert w["code"]["image"]["sha256"] == digest
    with module_server(module) as (port, requested):

        def patch(doc):
            url = f"http://127.0.0.1:{port}/signet.wasm"
            doc["static_resources"]["listeners"] = [
                eg_listener(docs, doc, url, hashlib.sha256(module).hexdigest())]
            doc["static_resources"]["clusters"].append({
                "name": "wasm_server", "type": "STATIC", "connect_timeout": "2s",
                "load_assignment": {"cluster_name": "wasm_server", "endpoints": [{"lb_endpoints": [
                    {"endpoint": {"address": {"socket_address": {
                        "address": "127.0.0.1", "port_value": port}}}}]}]}})

        round_trip(pki, tmp_path, patch)
        assert "/signet.wasm" in requested


# --- one signed and one tampered request through the chain --------------------------------------


def round_trip(pki, tmp_path, patch) -> None:
    params = demo_params()
    env = demo_env(params, pki)
    body = b'{"order": 42}'
    key = (pki.root / "dfsp-a" / "jws" / "ec.key").read_text()
    method, path, headers, _ = sign(tmp_path, {"profile": "generic", "kid": "a-ec", "signing_key": key},
                                    "POST", "/api/orders", [("content-type", "application/json")], body)
    headers = [(n, v) for n, v in headers if n.lower() not in ("content-length", "host")]
    with start_gateway(tmp_path / "gw", pki, filters=params["filters"], partners=params["partners"],
                       env=env, patch=patch) as gw:
        cert, ckey = pki.client("dfsp-a")
        ok = https_request(gw.port, ca=pki.platform_ca, cert=cert, key=ckey, method=method,
                           path=path, headers=headers, body=body)
        assert ok.status == 200, (ok.status, ok.body)
        assert gw.upstream.hits() == 1
        h, s = split(dict((k.lower(), v) for k, v in ok.headers)["x-jws-signature"])
        assert protected(h)["kid"] == "platform-ec"
        verify_independently(h, s, ok.body, (pki.root / "platform/jws/ec.pub").read_bytes())
        bad = https_request(gw.port, ca=pki.platform_ca, cert=cert, key=ckey, method=method,
                            path=path, headers=headers, body=b'{"order": 43}')
        assert bad.status == 401 and gw.upstream.hits() == 1, (bad.status, bad.body)
        # The refusal is a local reply of jws_verify: signed too, the signer being before it.
        assert "x-jws-signature" in dict((k.lower(), v) for k, v in bad.headers)
