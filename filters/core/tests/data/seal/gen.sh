#!/usr/bin/env bash
# Regenerates the MOSIP encryption fixtures (run once, by hand; OpenSSL 3). TEST-ONLY keys,
# generated here and used nowhere else: IDA's encryption pair, the partner's encryption pair,
# a 1024-bit RSA and a P-256 certificate (refused as encryption certificates).
set -euo pipefail
cd "$(dirname "$0")"
for who in ida partner; do
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$who.key" -out "$who.crt" \
        -subj "/CN=test $who encryption" -days 3650 -sha256 2>/dev/null
done
openssl req -x509 -newkey rsa:1024 -nodes -keyout /dev/null -out rsa1024.crt \
    -subj "/CN=test weak" -days 3650 -sha256 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
    -out p256.crt -subj "/CN=test ec" -days 3650 -sha256 2>/dev/null
