//! Strict base64 for JWS segments and `x5c` elements
//! (docs/profiles.md#signing-inputs-and-segments).
//!
//! Every decoder here accepts exactly one spelling of a byte string: the canonical one. A lenient
//! decoder lets an attacker mint many header values for one signature (padding, whitespace,
//! `+`/`/`, non-zero trailing bits), which breaks replay keys, logs and the "`H` exactly as
//! received" rule. All work is done by the `base64` crate's engines; this module only picks their
//! configuration and names the errors.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::{DecodeError, Engine};
use std::fmt;

/// URL alphabet, no padding on output, padding refused on input, canonical trailing bits only.
const URL_STRICT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(false),
);

/// URL alphabet that requires canonical `=` padding (used only after we saw a `=`).
const URL_PADDED: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical)
        .with_decode_allow_trailing_bits(false),
);

/// Standard alphabet with canonical padding (`x5c`, RFC 7515 §4.1.6).
const STD_STRICT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical)
        .with_decode_allow_trailing_bits(false),
);

/// Why a base64 string was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum B64Error {
    /// A byte outside the alphabet (incl. `=` where padding is not allowed, `+`/`/` in
    /// base64url, `-`/`_` in standard base64, whitespace, CR/LF); `offset` is its byte index.
    InvalidByte { offset: usize },
    /// The length cannot come from any encoding (base64url: length mod 4 = 1).
    InvalidLength,
    /// The last character carries non-zero unused bits: a non-canonical spelling.
    NonCanonical,
    /// Padding is missing, of the wrong length, or in the wrong place.
    Padding,
}

impl fmt::Display for B64Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            B64Error::InvalidByte { offset } => {
                write!(f, "invalid base64 character at offset {offset}")
            }
            B64Error::InvalidLength => f.write_str("invalid base64 length"),
            B64Error::NonCanonical => f.write_str("non-canonical base64 (trailing bits set)"),
            B64Error::Padding => f.write_str("invalid base64 padding"),
        }
    }
}

impl std::error::Error for B64Error {}

impl From<DecodeError> for B64Error {
    fn from(e: DecodeError) -> Self {
        match e {
            // `=` inside the data or where no padding is accepted.
            DecodeError::InvalidByte(_, b'=') => B64Error::Padding,
            DecodeError::InvalidByte(offset, _) => B64Error::InvalidByte { offset },
            DecodeError::InvalidLength(_) => B64Error::InvalidLength,
            DecodeError::InvalidLastSymbol(_, _) => B64Error::NonCanonical,
            DecodeError::InvalidPadding => B64Error::Padding,
        }
    }
}

/// Decodes a base64url segment: alphabet `A–Z a–z 0–9 - _` only, no padding, length mod 4 ≠ 1,
/// unused trailing bits zero (docs/profiles.md#signing-inputs-and-segments). The empty string
/// decodes to no bytes; whether an empty segment is allowed is the caller's rule.
pub fn decode_url(s: &str) -> Result<Vec<u8>, B64Error> {
    Ok(URL_STRICT.decode(s)?)
}

/// As [`decode_url`], but also accepts the correct `=` padding (`mosip.allow_padded_segments`,
/// docs/profiles.md#signing-inputs-and-segments). Wrong padding (too much, too little, inside the
/// data) is still refused.
pub fn decode_url_allow_padding(s: &str) -> Result<Vec<u8>, B64Error> {
    if s.ends_with('=') {
        Ok(URL_PADDED.decode(s)?)
    } else {
        decode_url(s)
    }
}

/// Encodes bytes as base64url without padding (`BASE64URL(x)`).
pub fn encode_url(bytes: &[u8]) -> String {
    URL_STRICT.encode(bytes)
}

/// Length of the unpadded base64url encoding of `n` bytes.
pub fn url_len(n: usize) -> usize {
    n / 3 * 4 + [0, 2, 3].get(n % 3).copied().unwrap_or(0)
}

/// Appends the unpadded base64url encoding of `bytes` to `out`, without an intermediate string.
pub fn encode_url_into(bytes: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(start + url_len(bytes.len()), 0);
    let written = out
        .get_mut(start..)
        .and_then(|tail| URL_STRICT.encode_slice(bytes, tail).ok());
    if written != Some(url_len(bytes.len())) {
        // Unreachable (the room is exact); kept correct rather than trusted.
        out.truncate(start);
        out.extend_from_slice(encode_url(bytes).as_bytes());
    }
}

/// Encodes bytes as base64url with `=` padding: what MOSIP's partner SDK writes
/// (`base64.urlsafe_b64encode`) for the encrypted request fields and the thumbprint.
pub fn encode_url_padded(bytes: &[u8]) -> String {
    URL_PADDED.encode(bytes)
}

/// Decodes standard base64 with canonical padding and no whitespace (`x5c` elements,
/// docs/profiles.md#signing-inputs-and-segments).
pub fn decode_std(s: &str) -> Result<Vec<u8>, B64Error> {
    Ok(STD_STRICT.decode(s)?)
}

/// Encodes bytes as standard base64 with padding (`B64(x)`).
pub fn encode_std(bytes: &[u8]) -> String {
    STD_STRICT.encode(bytes)
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
    fn url_roundtrip_all_lengths() {
        let data: Vec<u8> = (0u8..=255).collect();
        for n in 0..40 {
            let part = &data[..n];
            let e = encode_url(part);
            assert!(!e.contains('='));
            assert_eq!(decode_url(&e).unwrap(), part);
            assert_eq!(decode_url_allow_padding(&e).unwrap(), part);
            let padded = encode_url_padded(part);
            assert_eq!(padded.len() % 4, 0);
            assert_eq!(decode_url_allow_padding(&padded).unwrap(), part);
            // Appending in place gives the same text after what was there.
            let mut out = b"H.".to_vec();
            encode_url_into(part, &mut out);
            assert_eq!(out, format!("H.{e}").into_bytes());
            assert_eq!(url_len(n), e.len());
        }
    }

    #[test]
    fn url_rejections() {
        assert_eq!(decode_url("YQ=="), Err(B64Error::Padding));
        assert_eq!(decode_url("YQ="), Err(B64Error::Padding));
        assert!(matches!(
            decode_url("a+b/"),
            Err(B64Error::InvalidByte { offset: 1 })
        ));
        assert!(matches!(
            decode_url("ab cd"),
            Err(B64Error::InvalidByte { .. })
        ));
        assert!(matches!(
            decode_url("abcd\n"),
            Err(B64Error::InvalidByte { .. })
        ));
        assert!(matches!(
            decode_url("abcd\r"),
            Err(B64Error::InvalidByte { .. })
        ));
        assert_eq!(decode_url("abcde"), Err(B64Error::InvalidLength));
        assert_eq!(decode_url("a"), Err(B64Error::InvalidLength));
        // "YR" decodes 'a' with non-zero trailing bits: canonical is "YQ".
        assert_eq!(decode_url("YR"), Err(B64Error::NonCanonical));
        assert_eq!(decode_url("YWJ"), Err(B64Error::NonCanonical));
        assert_eq!(decode_url("").unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn padded_compat() {
        assert_eq!(decode_url_allow_padding("YQ==").unwrap(), b"a");
        assert_eq!(decode_url_allow_padding("YWI=").unwrap(), b"ab");
        assert_eq!(decode_url_allow_padding("YQ").unwrap(), b"a");
        assert!(decode_url_allow_padding("YQ=").is_err());
        assert!(decode_url_allow_padding("YQ===").is_err());
        assert!(decode_url_allow_padding("YWJj=").is_err());
        assert!(decode_url_allow_padding("Y=Q=").is_err());
        assert!(decode_url_allow_padding("YR==").is_err());
        assert!(decode_url_allow_padding("+Q==").is_err());
    }

    #[test]
    fn std_strict() {
        assert_eq!(decode_std("+/8=").unwrap(), vec![0xfb, 0xff]);
        assert_eq!(encode_std(&[0xfb, 0xff]), "+/8=");
        assert!(decode_std("+/8").is_err());
        assert!(decode_std("-_8=").is_err());
        assert!(decode_std("+/8=\n").is_err());
        assert!(decode_std("+/ 8=").is_err());
        assert!(decode_std("+/9=").is_err());
    }
}
