//! ECDSA signature form conversion: JOSE `r ‖ s` (fixed length) ⇔ DER
//! `SEQUENCE { INTEGER r, INTEGER s }` (what Envoy's native `verify_signature` wants and its
//! `sign` returns). Done by the `p256`/`p384` `Signature` types, which also enforce
//! r, s ∈ [1, n−1]. High-s values are kept as they are (never normalized here).

use super::CryptoError;
use crate::jose::alg::Alg;

/// Converts a JOSE `r ‖ s` signature to DER. `BadLength` when the length is not the one of
/// `alg` or r/s is out of range; `Unsupported` for non-ECDSA algorithms.
pub fn p1363_to_der(alg: Alg, sig: &[u8]) -> Result<Vec<u8>, CryptoError> {
    match alg {
        Alg::ES256 => {
            if sig.len() != 64 {
                return Err(CryptoError::BadLength);
            }
            let s = p256::ecdsa::Signature::from_slice(sig).map_err(|_| CryptoError::BadLength)?;
            Ok(s.to_der().as_bytes().to_vec())
        }
        Alg::ES384 => {
            if sig.len() != 96 {
                return Err(CryptoError::BadLength);
            }
            let s = p384::ecdsa::Signature::from_slice(sig).map_err(|_| CryptoError::BadLength)?;
            Ok(s.to_der().as_bytes().to_vec())
        }
        _ => Err(CryptoError::Unsupported("not an ECDSA algorithm")),
    }
}

/// Converts a DER ECDSA signature to JOSE `r ‖ s` (64 bytes for ES256, 96 for ES384).
/// `BadLength` when the DER is malformed or r/s is out of range.
pub fn der_to_p1363(alg: Alg, der: &[u8]) -> Result<Vec<u8>, CryptoError> {
    match alg {
        Alg::ES256 => {
            let s = p256::ecdsa::Signature::from_der(der).map_err(|_| CryptoError::BadLength)?;
            Ok(s.to_bytes().to_vec())
        }
        Alg::ES384 => {
            let s = p384::ecdsa::Signature::from_der(der).map_err(|_| CryptoError::BadLength)?;
            Ok(s.to_bytes().to_vec())
        }
        _ => Err(CryptoError::Unsupported("not an ECDSA algorithm")),
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_ranges() {
        let mut rs = [0u8; 64];
        rs[31] = 1;
        rs[32] = 0x80; // s with the top bit set: DER needs a 0x00 prefix
        rs[63] = 7;
        let der = p1363_to_der(Alg::ES256, &rs).unwrap();
        assert_eq!(der[0], 0x30);
        assert_eq!(&der[2..5], &[0x02, 0x01, 0x01]);
        assert_eq!(der_to_p1363(Alg::ES256, &der).unwrap(), rs.to_vec());
        // r = 0
        let mut zero = rs;
        zero[31] = 0;
        assert_eq!(p1363_to_der(Alg::ES256, &zero), Err(CryptoError::BadLength));
        assert_eq!(
            p1363_to_der(Alg::ES256, &rs[..63]),
            Err(CryptoError::BadLength)
        );
        assert_eq!(p1363_to_der(Alg::ES384, &rs), Err(CryptoError::BadLength));
        assert!(matches!(
            p1363_to_der(Alg::RS256, &rs),
            Err(CryptoError::Unsupported(_))
        ));
        assert_eq!(
            der_to_p1363(Alg::ES256, &der[1..]),
            Err(CryptoError::BadLength)
        );
        let mut rs384 = [0u8; 96];
        rs384[47] = 3;
        rs384[95] = 5;
        let der = p1363_to_der(Alg::ES384, &rs384).unwrap();
        assert_eq!(der_to_p1363(Alg::ES384, &der).unwrap(), rs384.to_vec());
    }
}
