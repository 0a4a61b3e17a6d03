// Validates Kubernetes resources (a JSON array on stdin) against the schemas of the pinned
// model packages (package.json): Istio's CRDs, the Gateway API's, Kubernetes' own. Prints one
// JSON line per resource: {"kind", "name", "schema": "<package>" | null, "errors": [...]}.
// A kind no pinned package describes gets "schema": null, so the caller sees what went unchecked.
const GROUPS = [
  [/^networking\.istio\.io\/|^extensions\.istio\.io\/|^security\.istio\.io\//, "@kubernetes-models/istio"],
  [/^gateway\.networking\.k8s\.io\//, "@kubernetes-models/gateway-api"],
  [/^(v1|apps\/v1)$/, "kubernetes-models"],
];

async function check(doc) {
  const { apiVersion = "", kind = "", metadata = {} } = doc;
  const found = GROUPS.find(([re]) => re.test(apiVersion));
  const out = { kind: `${apiVersion}/${kind}`, name: metadata.name ?? null, schema: null, errors: [] };
  if (!found) return out;
  const [, pkg] = found;
  const mod = await import(`${pkg}/${apiVersion}/${kind}`).catch(() => null);
  if (!mod || !mod[kind]) {
    out.errors.push(`${pkg} has no model for ${apiVersion} ${kind}`);
    return out;
  }
  out.schema = pkg;
  try {
    new mod[kind](doc).validate();
  } catch (e) {
    out.errors.push(String(e.message || e));
  }
  return out;
}

let input = "";
for await (const chunk of process.stdin) input += chunk;
for (const doc of JSON.parse(input)) console.log(JSON.stringify(await check(doc)));
