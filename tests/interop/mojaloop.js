// Drives Mojaloop's own JWS code (@mojaloop/sdk-standard-components, pinned in package.json)
// for tests/test_interop_mojaloop.py. One JSON job on stdin, one JSON answer on stdout.
//
//   {"op": "sign", "items": [{"key_pem", "method", "url", "headers": {...}, "body": <object|string>}]}
//     → [{"method", "headers": {...}, "body": "<the exact bytes the SDK would send>"}]
//     Uses Jws.signer (JwsSigner) exactly as the SDK's own requests do: `sign(requestOptions)`
//     sets fspiop-http-method, fspiop-uri and fspiop-signature on requestOptions.headers and
//     serializes an object body with safe-stable-stringify.
//   {"op": "validate", "keys": {"<fsp id>": "<public key PEM>"}, "items": [{"headers": {...}, "body": "<text>", "keys"?}]}
//     → [{"ok": true} | {"ok": false, "error": "..."}]
//     Uses Jws.validator (JwsValidator): `validate({headers, body})` with lower-case header
//     names and the body parsed as JSON, as the SDK's inbound API server hands it over.
'use strict';

const crypto = require('crypto');
// The package's `Jws` export (src/index.js: `const Jws = require('./lib/jws')`), loaded without
// the rest of the SDK (HTTP clients, ILP, schemas: ~2 s of start-up per call).
const Jws = require('@mojaloop/sdk-standard-components/src/lib/jws');
const sdkVersion = require('@mojaloop/sdk-standard-components/package.json').version;

// The SDK logs through `config.logger.child(...)`; keep the test output quiet.
const quiet = {
    isDebugEnabled: false,
    debug() {},
    info() {},
    warn() {},
    error() {},
};
quiet.child = () => quiet;

// The SDK picks ES256 only for a key PEM containing "BEGIN EC " (SEC1), the form Mojaloop's
// PKI tooling writes; a PKCS#8 EC key would be used with RS256 and fail. Convert, as an
// operator would, without changing the key.
function sdkKeyPem(pem) {
    const key = crypto.createPrivateKey(pem);
    if (key.asymmetricKeyType === 'ec') {
        return key.export({ type: 'sec1', format: 'pem' });
    }
    return pem;
}

function sign(item) {
    const signer = new Jws.signer({ signingKey: sdkKeyPem(item.key_pem), logger: quiet });
    const requestOptions = {
        method: item.method,
        uri: item.url,
        headers: { ...item.headers },
        body: item.body,
    };
    signer.sign(requestOptions);
    return { method: requestOptions.method, headers: requestOptions.headers, body: requestOptions.body };
}

function validate(keys, item) {
    const validator = new Jws.validator({ validationKeys: keys, logger: quiet });
    const headers = {};
    for (const [name, value] of Object.entries(item.headers)) {
        headers[name.toLowerCase()] = value;
    }
    try {
        validator.validate({ headers, body: JSON.parse(item.body) });
        return { ok: true };
    } catch (err) {
        return { ok: false, error: String(err && err.message || err) };
    }
}

function main() {
    const job = JSON.parse(require('fs').readFileSync(0, 'utf8'));
    let out;
    if (job.op === 'sign') {
        out = job.items.map(sign);
    } else if (job.op === 'validate') {
        out = job.items.map((item) => validate(item.keys || job.keys, item));
    } else if (job.op === 'version') {
        out = { version: sdkVersion };
    } else {
        throw new Error(`unknown op ${job.op}`);
    }
    process.stdout.write(JSON.stringify(out));
}

main();
