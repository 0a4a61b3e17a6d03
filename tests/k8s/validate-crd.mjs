// Validates resources against CustomResourceDefinitions given as data, the way kubectl's strict
// field validation would: each CRD version's openAPIV3Schema, unknown fields refused (except
// under x-kubernetes-preserve-unknown-fields). CEL rules (x-kubernetes-validations) are not run.
// Input on stdin: {"crds": [CRD, ...], "docs": [resource, ...]}; output: one JSON line per
// resource, {"kind", "name", "schema": "<crd name>" | null, "errors": [...]}.
import Ajv from "ajv";

// A structural schema, as JSON Schema: closed objects, the Kubernetes extensions dropped.
function strict(schema) {
  if (Array.isArray(schema)) return schema.map(strict);
  if (!schema || typeof schema !== "object") return schema;
  const out = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k.startsWith("x-kubernetes-")) continue;
    out[k] = ["properties", "patternProperties"].includes(k)
      ? Object.fromEntries(Object.entries(v).map(([p, s]) => [p, strict(s)]))
      : strict(v);
  }
  if (schema["x-kubernetes-int-or-string"]) {
    delete out.type;
    out.anyOf = [{ type: "integer" }, { type: "string" }];
  }
  const open = schema["x-kubernetes-preserve-unknown-fields"] || "additionalProperties" in schema;
  if (schema.type === "object" && schema.properties && !open) out.additionalProperties = false;
  return out;
}

let input = "";
for await (const chunk of process.stdin) input += chunk;
const { crds, docs } = JSON.parse(input);
const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
const validators = new Map();
for (const crd of crds) {
  for (const v of crd.spec.versions) {
    const schema = structuredClone(v.schema.openAPIV3Schema);
    // apiVersion, kind and metadata are the API server's (and matched here).
    for (const k of ["apiVersion", "kind", "metadata"]) delete schema.properties[k];
    const key = `${crd.spec.group}/${v.name}/${crd.spec.names.kind}`;
    validators.set(key, { name: crd.metadata.name, check: ajv.compile(strict(schema)) });
  }
}
for (const doc of docs) {
  const key = `${doc.apiVersion}/${doc.kind}`;
  const out = { kind: key, name: doc.metadata?.name ?? null, schema: null, errors: [] };
  const v = validators.get(key);
  if (v) {
    out.schema = v.name;
    const { apiVersion, kind, metadata, ...rest } = doc;
    if (!v.check(rest)) {
      out.errors = v.check.errors.map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
    }
  }
  console.log(JSON.stringify(out));
}
