//! X.509 certificates for `x5c` and registry / CA sets: parsing, thumbprints, dates, and the
//! chain rule of docs/profiles.md#mosip.
//!
//! Chain rule: a path from the leaf to a self-issued CA in the trust set, intermediates from
//! that set only (never from the message: an attacker controls `x5c[1..]`); every certificate
//! in date; every issuer with `basicConstraints cA=TRUE`, `keyCertSign` when it has a
//! `keyUsage`, its `pathLenConstraint` honoured; issuer name = subject name and the signature
//! over the exact `tbsCertificate` bytes verified with the issuer key. A leaf whose DER is itself
//! in the trust set is accepted (a registered self-signed certificate is its own CA,
//! V-MOSIP-1). No revocation check (IDA has none). Names are compared as decoded ASN.1
//! values (equivalent to DER equality).

use crate::b64;
use crate::keys::{pem_blocks, pem_single, KeyError, PublicKey};
use der::asn1::ObjectIdentifier as Oid;
use der::{Decode, Encode, Reader, SliceReader};
use sha2::{Digest, Sha256, Sha384, Sha512};
use signature::hazmat::PrehashVerifier;
use signature::Verifier;
use std::fmt;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, SubjectAltName};

/// Longest accepted path, counted in issuers above the leaf.
pub const MAX_PATH_LEN: usize = 8;

/// Upper bound on signature checks in one chain search (trust sets with many same-name CAs).
const MAX_SIGNATURE_CHECKS: usize = 64;

/// Largest certificate accepted, in DER bytes.
const MAX_CERT_DER: usize = 16 * 1024;

mod sig_oid {
    use der::asn1::ObjectIdentifier as Oid;
    pub const RSA_SHA256: Oid = Oid::new_unwrap("1.2.840.113549.1.1.11");
    pub const RSA_SHA384: Oid = Oid::new_unwrap("1.2.840.113549.1.1.12");
    pub const RSA_SHA512: Oid = Oid::new_unwrap("1.2.840.113549.1.1.13");
    pub const RSA_PSS: Oid = Oid::new_unwrap("1.2.840.113549.1.1.10");
    pub const MGF1: Oid = Oid::new_unwrap("1.2.840.113549.1.1.8");
    pub const ECDSA_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
    pub const ECDSA_SHA384: Oid = Oid::new_unwrap("1.2.840.10045.4.3.3");
    pub const ECDSA_SHA512: Oid = Oid::new_unwrap("1.2.840.10045.4.3.4");
    pub const ED25519: Oid = Oid::new_unwrap("1.3.101.112");
    pub const SHA256: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.1");
    pub const SHA384: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.2");
    pub const SHA512: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.3");
}

/// Reading a public key from PEM, which may be a certificate: here rather than in `keys`, so
/// that `keys` sits below `x509` in the import graph.
impl PublicKey {
    /// Reads a PEM `PUBLIC KEY` (SPKI), `RSA PUBLIC KEY` (PKCS#1) or `CERTIFICATE` (only its
    /// public key is used; dates are not checked here). Surrounding whitespace and text outside
    /// the block are ignored; exactly one block is expected.
    pub fn from_pem(pem: &str) -> Result<PublicKey, KeyError> {
        let block = pem_single(pem)?;
        match block.label.as_str() {
            "PUBLIC KEY" => PublicKey::from_spki_der(&block.der),
            "RSA PUBLIC KEY" => PublicKey::from_pkcs1_der(&block.der),
            "CERTIFICATE" => Certificate::from_der(block.der)
                .map_err(|_| KeyError::Der("Certificate"))?
                .public_key(),
            _ => Err(KeyError::PemLabel(block.label)),
        }
    }
}

/// Why a certificate could not be read or a chain was refused. `depth` counts from the leaf
/// (0) towards the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertError {
    /// Not a DER (or PEM / base64) certificate; names what failed to decode.
    Malformed(&'static str),
    /// The certificate at `depth` is not valid yet (`now < notBefore`).
    NotYetValid {
        /// Position in the path (0 = leaf).
        depth: usize,
    },
    /// The certificate at `depth` has expired (`now > notAfter`).
    Expired {
        /// Position in the path (0 = leaf).
        depth: usize,
    },
    /// No certificate in the trust set has a subject equal to the issuer of the certificate
    /// at `depth` (chain to an unregistered CA).
    IssuerNotFound {
        /// Position of the certificate whose issuer is missing.
        depth: usize,
    },
    /// The issuer found for `depth` lacks `basicConstraints cA=TRUE`.
    IssuerNotCa {
        /// Position of the certificate it would have issued.
        depth: usize,
    },
    /// The issuer found for `depth` has a `keyUsage` without `keyCertSign`.
    IssuerKeyUsage {
        /// Position of the certificate it would have issued.
        depth: usize,
    },
    /// The issuer's `pathLenConstraint` is smaller than the intermediates below it.
    PathLenConstraint {
        /// Position of the certificate it would have issued.
        depth: usize,
    },
    /// The signature on the certificate at `depth` does not verify with the issuer's key.
    BadSignature {
        /// Position of the certificate.
        depth: usize,
    },
    /// The certificate at `depth` is signed with an algorithm we do not verify (e.g. SHA-1),
    /// or its inner and outer signature algorithms differ.
    UnsupportedSignature {
        /// Position of the certificate.
        depth: usize,
    },
    /// The issuer's public key could not be used.
    IssuerKey {
        /// Position of the certificate it would have issued.
        depth: usize,
    },
    /// No path within [`MAX_PATH_LEN`] issuers (or the search budget) reaches a self-issued CA.
    PathTooLong,
}

impl fmt::Display for CertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CertError::Malformed(what) => write!(f, "malformed certificate: {what}"),
            CertError::NotYetValid { depth } => write!(f, "certificate {depth} not yet valid"),
            CertError::Expired { depth } => write!(f, "certificate {depth} expired"),
            CertError::IssuerNotFound { depth } => {
                write!(f, "issuer of certificate {depth} not in the trust set")
            }
            CertError::IssuerNotCa { depth } => {
                write!(f, "issuer of certificate {depth} is not a CA")
            }
            CertError::IssuerKeyUsage { depth } => {
                write!(f, "issuer of certificate {depth} may not sign certificates")
            }
            CertError::PathLenConstraint { depth } => {
                write!(
                    f,
                    "path length constraint exceeded above certificate {depth}"
                )
            }
            CertError::BadSignature { depth } => {
                write!(f, "signature on certificate {depth} does not verify")
            }
            CertError::UnsupportedSignature { depth } => {
                write!(
                    f,
                    "certificate {depth} uses an unsupported signature algorithm"
                )
            }
            CertError::IssuerKey { depth } => {
                write!(f, "issuer key of certificate {depth} unusable")
            }
            CertError::PathTooLong => f.write_str("no trust path within the length limit"),
        }
    }
}

impl std::error::Error for CertError {}

/// A parsed certificate with its exact DER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    der: Vec<u8>,
    tbs: Vec<u8>,
    cert: x509_cert::Certificate,
}

impl Certificate {
    /// Parses a DER certificate (strict DER, nothing after it).
    pub fn from_der(der: Vec<u8>) -> Result<Certificate, CertError> {
        if der.len() > MAX_CERT_DER {
            return Err(CertError::Malformed("certificate too large"));
        }
        let cert = x509_cert::Certificate::from_der(&der)
            .map_err(|_| CertError::Malformed("DER Certificate"))?;
        let tbs = raw_tbs(&der).ok_or(CertError::Malformed("tbsCertificate"))?;
        Ok(Certificate { der, tbs, cert })
    }

    /// Parses a single PEM `CERTIFICATE` block.
    pub fn from_pem(pem: &str) -> Result<Certificate, CertError> {
        let mut all = Certificate::from_pem_bundle(pem)?;
        if all.len() != 1 {
            return Err(CertError::Malformed("expected exactly one certificate"));
        }
        all.pop().ok_or(CertError::Malformed("no certificate"))
    }

    /// Parses every PEM block of a bundle; each must be a `CERTIFICATE`.
    pub fn from_pem_bundle(pem: &str) -> Result<Vec<Certificate>, CertError> {
        let blocks = pem_blocks(pem).map_err(|_| CertError::Malformed("PEM"))?;
        blocks
            .into_iter()
            .map(|b| {
                if b.label == "CERTIFICATE" {
                    Certificate::from_der(b.der)
                } else {
                    Err(CertError::Malformed("PEM block is not a CERTIFICATE"))
                }
            })
            .collect()
    }

    /// Reads an `x5c` element: strict `B64(DER)` (docs/profiles.md#signing-inputs-and-segments).
    /// With `pem_compat` (`mosip.x5c_pem_compat`, docs/profiles.md#mosip) it also takes `B64(PEM
    /// text)` with CR/LF inside the base64: CR/LF are removed, the text decoded and parsed as PEM.
    pub fn from_x5c(elem: &str, pem_compat: bool) -> Result<Certificate, CertError> {
        if !pem_compat {
            let der = b64::decode_std(elem).map_err(|_| CertError::Malformed("x5c base64"))?;
            return Certificate::from_der(der);
        }
        let compact: String = elem.chars().filter(|c| *c != '\r' && *c != '\n').collect();
        let bytes = b64::decode_std(&compact).map_err(|_| CertError::Malformed("x5c base64"))?;
        if bytes.starts_with(b"-----BEGIN") {
            let text =
                std::str::from_utf8(&bytes).map_err(|_| CertError::Malformed("x5c PEM text"))?;
            Certificate::from_pem(text)
        } else {
            Certificate::from_der(bytes)
        }
    }

    /// The exact DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The parsed structure (for fields this type has no accessor for).
    pub fn parsed(&self) -> &x509_cert::Certificate {
        &self.cert
    }

    /// SHA-256 of the DER, upper-case hex (registry thumbprint form, docs/profiles.md#keys).
    pub fn sha256_hex_upper(&self) -> String {
        hex::encode_upper(Sha256::digest(&self.der))
    }

    /// `x5t#S256` = `BASE64URL(SHA-256(DER))`.
    pub fn x5t_s256(&self) -> String {
        b64::encode_url(&Sha256::digest(&self.der))
    }

    /// `notBefore`, Unix seconds.
    pub fn not_before(&self) -> i64 {
        unix(self.cert.tbs_certificate.validity.not_before)
    }

    /// `notAfter`, Unix seconds.
    pub fn not_after(&self) -> i64 {
        unix(self.cert.tbs_certificate.validity.not_after)
    }

    /// `notBefore ≤ now ≤ notAfter` (docs/profiles.md#mosip).
    pub fn in_validity(&self, now: i64) -> bool {
        self.not_before() <= now && now <= self.not_after()
    }

    /// The subject public key.
    pub fn public_key(&self) -> Result<PublicKey, KeyError> {
        let spki = self
            .cert
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(|_| KeyError::Der("SubjectPublicKeyInfo"))?;
        PublicKey::from_spki_der(&spki)
    }

    /// `basicConstraints` with `cA=TRUE`.
    pub fn is_ca(&self) -> bool {
        self.basic_constraints().is_some_and(|b| b.ca)
    }

    /// Subject, RFC 4514 string (diagnostics only).
    pub fn subject(&self) -> String {
        self.cert.tbs_certificate.subject.to_string()
    }

    /// Issuer, RFC 4514 string (diagnostics only).
    pub fn issuer(&self) -> String {
        self.cert.tbs_certificate.issuer.to_string()
    }

    /// Serial number, upper-case hex (diagnostics only).
    pub fn serial_hex(&self) -> String {
        hex::encode_upper(self.cert.tbs_certificate.serial_number.as_bytes())
    }

    /// Subject alternative names as `DNS:…`, `email:…`, `URI:…`, `IP:<hex>`, `DirName:…`
    /// (diagnostics and registry matching); empty when absent or undecodable.
    pub fn subject_alt_names(&self) -> Vec<String> {
        let Ok(Some((_, san))) = self.cert.tbs_certificate.get::<SubjectAltName>() else {
            return Vec::new();
        };
        san.0
            .iter()
            .filter_map(|n| match n {
                GeneralName::DnsName(s) => Some(format!("DNS:{}", s.as_str())),
                GeneralName::Rfc822Name(s) => Some(format!("email:{}", s.as_str())),
                GeneralName::UniformResourceIdentifier(s) => Some(format!("URI:{}", s.as_str())),
                GeneralName::IpAddress(ip) => Some(format!("IP:{}", hex::encode(ip.as_bytes()))),
                GeneralName::DirectoryName(name) => Some(format!("DirName:{name}")),
                _ => None,
            })
            .collect()
    }

    /// Whether subject and issuer names are equal.
    pub fn is_self_issued(&self) -> bool {
        self.cert.tbs_certificate.subject == self.cert.tbs_certificate.issuer
    }

    fn basic_constraints(&self) -> Option<BasicConstraints> {
        self.cert
            .tbs_certificate
            .get::<BasicConstraints>()
            .ok()
            .flatten()
            .map(|(_, b)| b)
    }

    fn may_sign_certificates(&self) -> bool {
        match self.cert.tbs_certificate.get::<KeyUsage>() {
            Ok(Some((_, ku))) => ku.key_cert_sign(),
            Ok(None) => true,
            Err(_) => false,
        }
    }

    /// Verifies this certificate's signature with `issuer_key`.
    fn verify_signed_by(&self, issuer_key: &PublicKey, depth: usize) -> Result<(), CertError> {
        let outer = &self.cert.signature_algorithm;
        if *outer != self.cert.tbs_certificate.signature {
            return Err(CertError::UnsupportedSignature { depth });
        }
        let sig = self
            .cert
            .signature
            .as_bytes()
            .ok_or(CertError::Malformed("signature bit string"))?;
        let bad = CertError::BadSignature { depth };
        let unsupported = CertError::UnsupportedSignature { depth };
        let tbs = self.tbs.as_slice();
        let oid = outer.oid;
        match issuer_key {
            PublicKey::Rsa(k) => {
                let ok = if oid == sig_oid::RSA_SHA256 {
                    pkcs1v15::<Sha256>(k, tbs, sig)
                } else if oid == sig_oid::RSA_SHA384 {
                    pkcs1v15::<Sha384>(k, tbs, sig)
                } else if oid == sig_oid::RSA_SHA512 {
                    pkcs1v15::<Sha512>(k, tbs, sig)
                } else if oid == sig_oid::RSA_PSS {
                    let params = outer.parameters.as_ref().ok_or(unsupported.clone())?;
                    let params = params.to_der().map_err(|_| unsupported.clone())?;
                    let p =
                        pkcs1::RsaPssParams::from_der(&params).map_err(|_| unsupported.clone())?;
                    let mgf_hash: Option<Oid> = if p.mask_gen.oid == sig_oid::MGF1 {
                        p.mask_gen.parameters.map(|h| h.oid)
                    } else {
                        None
                    };
                    if mgf_hash != Some(p.hash.oid) {
                        return Err(unsupported);
                    }
                    let salt = usize::from(p.salt_len);
                    if p.hash.oid == sig_oid::SHA256 {
                        pss::<Sha256>(k, tbs, sig, salt)
                    } else if p.hash.oid == sig_oid::SHA384 {
                        pss::<Sha384>(k, tbs, sig, salt)
                    } else if p.hash.oid == sig_oid::SHA512 {
                        pss::<Sha512>(k, tbs, sig, salt)
                    } else {
                        return Err(unsupported);
                    }
                } else {
                    return Err(unsupported);
                };
                if ok {
                    Ok(())
                } else {
                    Err(bad)
                }
            }
            PublicKey::P256(k) => {
                let s = p256::ecdsa::Signature::from_der(sig).map_err(|_| bad.clone())?;
                let digest = ecdsa_digest(oid, tbs).ok_or(unsupported)?;
                k.verify_prehash(&digest, &s).map_err(|_| bad)
            }
            PublicKey::P384(k) => {
                let s = p384::ecdsa::Signature::from_der(sig).map_err(|_| bad.clone())?;
                let digest = ecdsa_digest(oid, tbs).ok_or(unsupported)?;
                k.verify_prehash(&digest, &s).map_err(|_| bad)
            }
            PublicKey::Ed25519(k) => {
                if oid != sig_oid::ED25519 {
                    return Err(unsupported);
                }
                let s = ed25519_dalek::Signature::from_slice(sig).map_err(|_| bad.clone())?;
                k.verify_strict(tbs, &s).map_err(|_| bad)
            }
        }
    }
}

/// Checks the path rule of docs/profiles.md#mosip (see the module doc) at instant `now` (Unix
/// seconds).
pub fn validate_chain(
    leaf: &Certificate,
    trust: &[Certificate],
    now: i64,
) -> Result<(), CertError> {
    check_dates(leaf, now, 0)?;
    if trust.iter().any(|t| t.der == leaf.der) {
        return Ok(());
    }
    let mut budget = MAX_SIGNATURE_CHECKS;
    search(leaf, trust, now, 0, &mut budget)
}

fn search(
    cert: &Certificate,
    trust: &[Certificate],
    now: i64,
    depth: usize,
    budget: &mut usize,
) -> Result<(), CertError> {
    if depth >= MAX_PATH_LEN {
        return Err(CertError::PathTooLong);
    }
    let issuer_name = &cert.cert.tbs_certificate.issuer;
    let mut last = CertError::IssuerNotFound { depth };
    for cand in trust {
        if cand.cert.tbs_certificate.subject != *issuer_name || cand.der == cert.der {
            continue;
        }
        if *budget == 0 {
            return Err(CertError::PathTooLong);
        }
        *budget -= 1;
        match try_issuer(cert, cand, trust, now, depth, budget) {
            Ok(()) => return Ok(()),
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn try_issuer(
    cert: &Certificate,
    cand: &Certificate,
    trust: &[Certificate],
    now: i64,
    depth: usize,
    budget: &mut usize,
) -> Result<(), CertError> {
    check_dates(cand, now, depth + 1)?;
    let bc = cand
        .basic_constraints()
        .filter(|b| b.ca)
        .ok_or(CertError::IssuerNotCa { depth })?;
    if !cand.may_sign_certificates() {
        return Err(CertError::IssuerKeyUsage { depth });
    }
    // Intermediates strictly between the leaf and `cand`: `depth` of them.
    if let Some(max) = bc.path_len_constraint {
        if usize::from(max) < depth {
            return Err(CertError::PathLenConstraint { depth });
        }
    }
    let key = cand
        .public_key()
        .map_err(|_| CertError::IssuerKey { depth })?;
    cert.verify_signed_by(&key, depth)?;
    if cand.is_self_issued() {
        return Ok(());
    }
    search(cand, trust, now, depth + 1, budget)
}

fn check_dates(cert: &Certificate, now: i64, depth: usize) -> Result<(), CertError> {
    if now < cert.not_before() {
        Err(CertError::NotYetValid { depth })
    } else if now > cert.not_after() {
        Err(CertError::Expired { depth })
    } else {
        Ok(())
    }
}

/// The exact `tbsCertificate` TLV inside the certificate DER (what the issuer signed; never a
/// re-encoding).
fn raw_tbs(der: &[u8]) -> Option<Vec<u8>> {
    let mut outer = SliceReader::new(der).ok()?;
    let header = der::Header::decode(&mut outer).ok()?;
    let body = outer.read_slice(header.length).ok()?;
    let mut inner = SliceReader::new(body).ok()?;
    inner.tlv_bytes().ok().map(<[u8]>::to_vec)
}

fn unix(t: x509_cert::time::Time) -> i64 {
    i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
}

fn pkcs1v15<D>(key: &rsa::RsaPublicKey, msg: &[u8], sig: &[u8]) -> bool
where
    D: Digest + der::oid::AssociatedOid,
{
    let Ok(sig) = rsa::pkcs1v15::Signature::try_from(sig) else {
        return false;
    };
    rsa::pkcs1v15::VerifyingKey::<D>::new(key.clone())
        .verify(msg, &sig)
        .is_ok()
}

fn pss<D>(key: &rsa::RsaPublicKey, msg: &[u8], sig: &[u8], salt: usize) -> bool
where
    D: Digest + sha2::digest::FixedOutputReset,
{
    let Ok(sig) = rsa::pss::Signature::try_from(sig) else {
        return false;
    };
    rsa::pss::VerifyingKey::<D>::new_with_salt_len(key.clone(), salt)
        .verify(msg, &sig)
        .is_ok()
}

fn ecdsa_digest(oid: Oid, tbs: &[u8]) -> Option<Vec<u8>> {
    if oid == sig_oid::ECDSA_SHA256 {
        Some(Sha256::digest(tbs).to_vec())
    } else if oid == sig_oid::ECDSA_SHA384 {
        Some(Sha384::digest(tbs).to_vec())
    } else if oid == sig_oid::ECDSA_SHA512 {
        Some(Sha512::digest(tbs).to_vec())
    } else {
        None
    }
}
