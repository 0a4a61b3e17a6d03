#!/usr/bin/env bash
# Regenerates the X.509 and key fixtures under tests/data (run once, by hand; needs OpenSSL 3).
# CA private keys live only in a temp dir and are thrown away; the files under keys/ are
# TEST-ONLY keys (generated here, never used anywhere else).
set -euo pipefail
cd "$(dirname "$0")"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
X=x509
mkdir -p "$X" keys
cat > "$T/ca.cnf" <<'CNF'
[ca]
default_ca = d
[d]
dir = .
database = $ENV::T/index.txt
new_certs_dir = $ENV::T
serial = $ENV::T/serial
default_md = sha256
policy = p
unique_subject = no
copy_extensions = none
[p]
commonName = supplied
organizationName = optional
[root]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[root_pl0]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
[inter]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
[inter_noca]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyCertSign
[ca_nokeycertsign]
basicConstraints = critical,CA:TRUE
keyUsage = critical,digitalSignature
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
subjectAltName = DNS:partner.example,URI:urn:signet:test
[selfsigned]
keyUsage = critical,digitalSignature
CNF
export T
: > "$T/index.txt"; echo 1000 > "$T/serial"

key() { # name type
  case "$2" in
    rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/$1.key" 2>/dev/null ;;
    p256) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/$1.key" ;;
    p384) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$T/$1.key" ;;
    ed25519) openssl genpkey -algorithm ED25519 -out "$T/$1.key" ;;
  esac
}
csr() { openssl req -new -key "$T/$1.key" -subj "$2" -out "$T/$1.csr" ${3:+-sigopt} ${3:-} 2>/dev/null; }
# sign NAME ISSUER EXT START END [extra ca args]
sign() {
  local name=$1 issuer=$2 ext=$3 start=$4 end=$5; shift 5
  if [ "$issuer" = self ]; then
    openssl ca -batch -config "$T/ca.cnf" -selfsign -keyfile "$T/$name.key" -in "$T/$name.csr" \
      -extensions "$ext" -startdate "$start" -enddate "$end" -notext -out "$X/$name.pem" "$@" 2>/dev/null
  else
    openssl ca -batch -config "$T/ca.cnf" -cert "$X/$issuer.pem" -keyfile "$T/$issuer.key" -in "$T/$name.csr" \
      -extensions "$ext" -startdate "$start" -enddate "$end" -notext -out "$X/$name.pem" "$@" 2>/dev/null
  fi
}
A=20200101000000Z; Z=20400101000000Z

key ca rsa;        csr ca "/CN=Signet Test Root CA/O=Signet Test";       sign ca self root $A $Z
key leaf rsa;      csr leaf "/CN=partner-leaf/O=Signet Test";            sign leaf ca leaf 20240101000000Z 20340101000000Z
key expired rsa;   csr expired "/CN=expired-leaf/O=Signet Test";         sign expired ca leaf 20200101000000Z 20210101000000Z
key future rsa;    csr future "/CN=future-leaf/O=Signet Test";           sign future ca leaf 20350101000000Z 20360101000000Z
key pss rsa;       csr pss "/CN=pss-leaf/O=Signet Test";                 sign pss ca leaf 20240101000000Z 20340101000000Z -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 -md sha256
key other_ca rsa;  csr other_ca "/CN=Other Root CA/O=Elsewhere";         sign other_ca self root $A $Z
key other_leaf rsa; csr other_leaf "/CN=other-leaf/O=Elsewhere";         sign other_leaf other_ca leaf 20240101000000Z 20340101000000Z
# An impostor CA with the same subject name as ca but its own key.
key impostor rsa;  csr impostor "/CN=Signet Test Root CA/O=Signet Test"; sign impostor self root $A $Z
key forged rsa;    csr forged "/CN=forged-leaf/O=Signet Test";           sign forged impostor leaf 20240101000000Z 20340101000000Z
# Intermediates.
key inter rsa;     csr inter "/CN=Signet Test Intermediate/O=Signet Test"; sign inter ca inter $A $Z
key via_inter rsa; csr via_inter "/CN=via-inter-leaf/O=Signet Test";     sign via_inter inter leaf 20240101000000Z 20340101000000Z
key noca rsa;      csr noca "/CN=Not A CA/O=Signet Test";                sign noca ca inter_noca $A $Z
key via_noca rsa;  csr via_noca "/CN=via-noca-leaf/O=Signet Test";       sign via_noca noca leaf 20240101000000Z 20340101000000Z
key nokcs rsa;     csr nokcs "/CN=CA without keyCertSign/O=Signet Test"; sign nokcs ca ca_nokeycertsign $A $Z
key via_nokcs rsa; csr via_nokcs "/CN=via-nokcs-leaf/O=Signet Test";     sign via_nokcs nokcs leaf 20240101000000Z 20340101000000Z
key pl0 rsa;       csr pl0 "/CN=Pathlen0 Root/O=Signet Test";            sign pl0 self root_pl0 $A $Z
key pl0_inter rsa; csr pl0_inter "/CN=Pathlen0 Intermediate/O=Signet Test"; sign pl0_inter pl0 inter $A $Z
key via_pl0 rsa;   csr via_pl0 "/CN=via-pl0-leaf/O=Signet Test";         sign via_pl0 pl0_inter leaf 20240101000000Z 20340101000000Z
# Self-signed registered certificate (no CA extension), like V-MOSIP-1.
key selfsigned rsa; csr selfsigned "/CN=self-signed-partner/O=Signet Test"; sign selfsigned self selfsigned 20240101000000Z 20340101000000Z
# ECDSA chain: P-384 root (ecdsa-with-SHA384) -> P-256 leaf.
key ec_ca p384;    csr ec_ca "/CN=Signet Test EC Root/O=Signet Test";    sign ec_ca self root $A $Z -md sha384
key ec_leaf p256;  csr ec_leaf "/CN=ec-leaf/O=Signet Test";              sign ec_leaf ec_ca leaf 20240101000000Z 20340101000000Z -md sha384
# Ed25519 chain.
key ed_ca ed25519; csr ed_ca "/CN=Signet Test Ed25519 Root/O=Signet Test"; sign ed_ca self root $A $Z
key ed_leaf ed25519; csr ed_leaf "/CN=ed-leaf/O=Signet Test";            sign ed_leaf ed_ca leaf 20240101000000Z 20340101000000Z

# TEST-ONLY keys in every PEM form of profiles.md §2.5.
K=keys
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out $K/test-rsa2048-pkcs8.pem 2>/dev/null
openssl rsa -in $K/test-rsa2048-pkcs8.pem -traditional -out $K/test-rsa2048-pkcs1.pem 2>/dev/null
openssl pkey -in $K/test-rsa2048-pkcs8.pem -pubout -out $K/test-rsa2048-spki.pem
openssl rsa -in $K/test-rsa2048-pkcs8.pem -RSAPublicKey_out -out $K/test-rsa2048-pkcs1-public.pem 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$T/r1024.pem" 2>/dev/null
openssl pkey -in "$T/r1024.pem" -pubout -out $K/test-rsa1024-spki.pem
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $K/test-p256-pkcs8.pem
openssl ec -in $K/test-p256-pkcs8.pem -out $K/test-p256-sec1.pem 2>/dev/null
openssl pkey -in $K/test-p256-pkcs8.pem -pubout -out $K/test-p256-spki.pem
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out $K/test-p384-pkcs8.pem
openssl ec -in $K/test-p384-pkcs8.pem -out $K/test-p384-sec1.pem 2>/dev/null
openssl pkey -in $K/test-p384-pkcs8.pem -pubout -out $K/test-p384-spki.pem
openssl genpkey -algorithm ED25519 -out $K/test-ed25519-pkcs8.pem
openssl pkey -in $K/test-ed25519-pkcs8.pem -pubout -out $K/test-ed25519-spki.pem
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521 -out "$T/p521.pem"
openssl pkey -in "$T/p521.pem" -pubout -out $K/test-p521-spki.pem
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:secp256k1 -out "$T/k1.pem"
openssl pkey -in "$T/k1.pem" -pubout -out $K/test-secp256k1-spki.pem
echo done
