//! PEM framing (RFC 7468): finds `-----BEGIN L-----` … `-----END L-----` blocks and decodes
//! their bodies with the strict standard base64 engine after removing line breaks.
//!
//! Registry values arrive with any line width, CRLF or LF, sometimes with text around the
//! block; only the framing is lenient, the base64 inside must be canonical.

use super::KeyError;
use crate::b64;

/// One decoded PEM block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PemBlock {
    /// The label between `BEGIN ` and `-----`, e.g. `CERTIFICATE`.
    pub label: String,
    /// The decoded DER.
    pub der: Vec<u8>,
}

const BEGIN: &str = "-----BEGIN ";
const END: &str = "-----END ";
const DASHES: &str = "-----";

/// Upper bound on blocks read from one text (a CA bundle); more is a configuration error.
const MAX_BLOCKS: usize = 256;

/// Decodes every PEM block in `text`, in order. Text outside the blocks is ignored. Errors when
/// there is no block, a block is not closed by `-----END <same label>-----`, or a body is not
/// strict base64 once ASCII whitespace is removed.
pub fn pem_blocks(text: &str) -> Result<Vec<PemBlock>, KeyError> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        if out.len() >= MAX_BLOCKS {
            return Err(KeyError::Pem("too many PEM blocks"));
        }
        let after_begin = rest.get(start + BEGIN.len()..).unwrap_or("");
        let label_end = after_begin
            .find(DASHES)
            .ok_or(KeyError::Pem("unterminated BEGIN line"))?;
        let label = after_begin.get(..label_end).unwrap_or("");
        if label.contains(['\n', '\r']) {
            return Err(KeyError::Pem("unterminated BEGIN line"));
        }
        let body_and_rest = after_begin.get(label_end + DASHES.len()..).unwrap_or("");
        let end_marker = format!("{END}{label}{DASHES}");
        let body_end = body_and_rest
            .find(&end_marker)
            .ok_or(KeyError::Pem("missing END line"))?;
        let body = body_and_rest.get(..body_end).unwrap_or("");
        if body.contains(DASHES) {
            return Err(KeyError::Pem("nested or mismatched PEM boundaries"));
        }
        let compact: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let der = b64::decode_std(&compact).map_err(|_| KeyError::Pem("body is not base64"))?;
        if der.is_empty() {
            return Err(KeyError::Pem("empty PEM body"));
        }
        out.push(PemBlock {
            label: label.to_string(),
            der,
        });
        rest = body_and_rest
            .get(body_end + end_marker.len()..)
            .unwrap_or("");
    }
    if out.is_empty() {
        return Err(KeyError::Pem("no PEM block found"));
    }
    Ok(out)
}

/// Decodes the single PEM block of `text`; more than one block is an error.
pub(crate) fn pem_single(text: &str) -> Result<PemBlock, KeyError> {
    let mut blocks = pem_blocks(text)?;
    if blocks.len() != 1 {
        return Err(KeyError::Pem("expected exactly one PEM block"));
    }
    blocks.pop().ok_or(KeyError::Pem("no PEM block found"))
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
    fn framing() {
        let t = "junk\r\n-----BEGIN X-----\r\nAAEC\r\nAw==\r\n-----END X-----\r\n\
                 -----BEGIN Y-----\nBAU=\n-----END Y-----";
        let b = pem_blocks(t).unwrap();
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].label, "X");
        assert_eq!(b[0].der, vec![0, 1, 2, 3]);
        assert_eq!(b[1].der, vec![4, 5]);
        assert!(pem_single(t).is_err());
        assert!(pem_blocks("-----BEGIN X-----\nAAEC\n-----END Y-----").is_err());
        assert!(pem_blocks("-----BEGIN X-----\nA-EC\n-----END X-----").is_err());
        assert!(pem_blocks("-----BEGIN X-----\n\n-----END X-----").is_err());
        assert!(pem_blocks("nothing").is_err());
        assert!(pem_blocks("-----BEGIN X").is_err());
    }
}
