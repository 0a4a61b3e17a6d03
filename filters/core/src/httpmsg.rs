//! Raw HTTP/1.1 message files for the CLI (`signet sign|verify|explain`): parsing and rendering.
//!
//! Accepted input: a request line (`POST /path HTTP/1.1`) or a status line (`HTTP/1.1 200 OK`),
//! header lines (`name: value`, order, repeats and original spelling kept), an empty line, then the
//! body as the exact remaining bytes. CRLF and bare LF line endings are both accepted (files are
//! often edited by hand). `Content-Length` trims the body (a longer declaration is an error);
//! `Transfer-Encoding: chunked` is de-chunked, as Envoy does before the filters see a body
//! (docs/profiles.md#bodies). Input is bounded by [`HttpLimits`]; every error names the offending
//! line.

use core::fmt;

/// Bounds on what the parser accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// Maximum number of header lines.
    pub max_headers: usize,
    /// Maximum length of the start line, a header line or a chunk-size line, in bytes, without its
    /// line ending (an `FSPIOP-Signature` value may be 65 536 bytes, docs/profiles.md#mojaloop).
    pub max_line_bytes: usize,
    /// Maximum body size after de-chunking.
    pub max_body_bytes: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_headers: 256,
            max_line_bytes: 128 * 1024,
            max_body_bytes: 64 << 20,
        }
    }
}

/// The first line of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLine {
    /// `METHOD SP request-target SP HTTP-version`.
    Request {
        /// Method token, as written (case kept).
        method: String,
        /// Request target (`:path`), as written.
        target: String,
        /// `HTTP/1.1`, `HTTP/1.0`, `HTTP/2` …
        version: String,
    },
    /// `HTTP-version SP status-code [SP reason-phrase]`.
    Status {
        /// `HTTP/1.1` …
        version: String,
        /// Three-digit status code.
        code: u16,
        /// Reason phrase (may be empty).
        reason: String,
    },
}

/// One header line. `name` keeps its original spelling; lookups ignore ASCII case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpHeader {
    /// Field name as written.
    pub name: String,
    /// Field value without surrounding spaces/tabs.
    pub value: String,
}

/// A parsed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpMessage {
    /// Request or status line.
    pub start: StartLine,
    /// Headers in received order, repeats kept.
    pub headers: Vec<HttpHeader>,
    /// The body bytes (de-chunked).
    pub body: Vec<u8>,
}

/// What is wrong with a message file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpMsgErrorKind {
    /// The input is empty.
    Empty,
    /// A line is longer than [`HttpLimits::max_line_bytes`].
    LineTooLong,
    /// A start or header line is not UTF-8.
    NotUtf8,
    /// The first line is neither a request line nor a status line.
    BadStartLine,
    /// A header line is not `name: value` with a token name.
    BadHeader,
    /// A header line starts with whitespace (obsolete line folding, RFC 9112 §5.2).
    ObsoleteFolding,
    /// More than [`HttpLimits::max_headers`] header lines.
    TooManyHeaders,
    /// `Content-Length` is not a decimal number, or repeated with different values.
    BadContentLength,
    /// `Content-Length` is larger than the bytes present.
    BodyTooShort {
        /// Declared length.
        declared: usize,
        /// Bytes present after the header section.
        available: usize,
    },
    /// Both `Content-Length` and `Transfer-Encoding` are present.
    LengthAndTransferEncoding,
    /// A transfer coding other than `chunked`.
    UnsupportedTransferEncoding,
    /// Malformed chunked body (size line, missing data or missing line ending after data).
    BadChunk,
    /// The body exceeds [`HttpLimits::max_body_bytes`].
    BodyTooLarge,
}

/// A parse error at a 1-based line of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpMsgError {
    /// 1-based line number where the problem is (for body errors: the line the body or the
    /// offending chunk starts on, or the `Content-Length` header).
    pub line: usize,
    /// What is wrong.
    pub kind: HttpMsgErrorKind,
}

impl fmt::Display for HttpMsgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match &self.kind {
            HttpMsgErrorKind::Empty => "empty message".to_owned(),
            HttpMsgErrorKind::LineTooLong => "line too long".to_owned(),
            HttpMsgErrorKind::NotUtf8 => "line is not valid UTF-8".to_owned(),
            HttpMsgErrorKind::BadStartLine => {
                "expected `METHOD /path HTTP/1.1` or `HTTP/1.1 200 Reason`".to_owned()
            }
            HttpMsgErrorKind::BadHeader => "expected `name: value`".to_owned(),
            HttpMsgErrorKind::ObsoleteFolding => {
                "folded header line (starts with whitespace)".to_owned()
            }
            HttpMsgErrorKind::TooManyHeaders => "too many header lines".to_owned(),
            HttpMsgErrorKind::BadContentLength => {
                "invalid or conflicting content-length".to_owned()
            }
            HttpMsgErrorKind::BodyTooShort {
                declared,
                available,
            } => {
                format!("content-length {declared} but only {available} body bytes")
            }
            HttpMsgErrorKind::LengthAndTransferEncoding => {
                "both content-length and transfer-encoding".to_owned()
            }
            HttpMsgErrorKind::UnsupportedTransferEncoding => {
                "unsupported transfer-encoding (only chunked)".to_owned()
            }
            HttpMsgErrorKind::BadChunk => "malformed chunked body".to_owned(),
            HttpMsgErrorKind::BodyTooLarge => "body too large".to_owned(),
        };
        write!(f, "line {}: {what}", self.line)
    }
}

impl std::error::Error for HttpMsgError {}

fn err(line: usize, kind: HttpMsgErrorKind) -> HttpMsgError {
    HttpMsgError { line, kind }
}

/// Reads lines off a byte buffer, tracking line numbers and enforcing the length limit.
struct Lines<'a> {
    buf: &'a [u8],
    pos: usize,
    /// 1-based number of the next line.
    line: usize,
    max: usize,
}

impl<'a> Lines<'a> {
    /// The next line without its `\n` / `\r\n`, with its number; `None` at end of input.
    fn next_line(&mut self) -> Result<Option<(usize, &'a [u8])>, HttpMsgError> {
        let rest = self.buf.get(self.pos..).unwrap_or_default();
        if rest.is_empty() {
            return Ok(None);
        }
        let number = self.line;
        // Look no further than the limit (+ CRLF) so a huge line costs bounded work.
        let window = rest.get(..self.max.saturating_add(2)).unwrap_or(rest);
        let (raw, consumed) = match window.iter().position(|&b| b == b'\n') {
            Some(i) => (window.get(..i).unwrap_or_default(), i + 1),
            None if window.len() == rest.len() => (rest, rest.len()),
            None => return Err(err(number, HttpMsgErrorKind::LineTooLong)),
        };
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if line.len() > self.max {
            return Err(err(number, HttpMsgErrorKind::LineTooLong));
        }
        self.pos += consumed;
        self.line += 1;
        Ok(Some((number, line)))
    }

    fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

fn is_version(s: &str) -> bool {
    matches!(
        s,
        "HTTP/1.0" | "HTTP/1.1" | "HTTP/2" | "HTTP/2.0" | "HTTP/3" | "HTTP/3.0"
    )
}

fn parse_start_line(line: &str) -> Option<StartLine> {
    if line.starts_with("HTTP/") {
        let mut parts = line.splitn(3, ' ');
        let version = parts.next()?;
        let code = parts.next()?;
        let reason = parts.next().unwrap_or("");
        if !is_version(version) || code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if reason.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
            return None;
        }
        return Some(StartLine::Status {
            version: version.to_owned(),
            code: code.parse().ok()?,
            reason: reason.to_owned(),
        });
    }
    let mut parts = line.split(' ');
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || !is_token(method) || !is_version(version) {
        return None;
    }
    if target.is_empty() || target.bytes().any(|b| b.is_ascii_control() || b == b' ') {
        return None;
    }
    Some(StartLine::Request {
        method: method.to_owned(),
        target: target.to_owned(),
        version: version.to_owned(),
    })
}

fn parse_header(number: usize, line: &str) -> Result<HttpHeader, HttpMsgError> {
    if line.starts_with([' ', '\t']) {
        return Err(err(number, HttpMsgErrorKind::ObsoleteFolding));
    }
    let (name, value) = line
        .split_once(':')
        .ok_or(err(number, HttpMsgErrorKind::BadHeader))?;
    let value = value.trim_matches([' ', '\t']);
    // RFC 9112 §5.1: no whitespace between name and colon.
    if !is_token(name) || value.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
        return Err(err(number, HttpMsgErrorKind::BadHeader));
    }
    Ok(HttpHeader {
        name: name.to_owned(),
        value: value.to_owned(),
    })
}

/// Parses a raw HTTP/1.1 message.
pub fn parse_message(input: &[u8], limits: HttpLimits) -> Result<HttpMessage, HttpMsgError> {
    let mut lines = Lines {
        buf: input,
        pos: 0,
        line: 1,
        max: limits.max_line_bytes,
    };
    let (n, first) = lines.next_line()?.ok_or(err(1, HttpMsgErrorKind::Empty))?;
    let first = core::str::from_utf8(first).map_err(|_| err(n, HttpMsgErrorKind::NotUtf8))?;
    let start = parse_start_line(first).ok_or(err(n, HttpMsgErrorKind::BadStartLine))?;

    let mut headers = Vec::new();
    let mut header_lines = Vec::new();
    // End of input right after the headers (no blank line) is taken as an empty body.
    while let Some((n, line)) = lines.next_line()? {
        if line.is_empty() {
            break;
        }
        if headers.len() >= limits.max_headers {
            return Err(err(n, HttpMsgErrorKind::TooManyHeaders));
        }
        let line = core::str::from_utf8(line).map_err(|_| err(n, HttpMsgErrorKind::NotUtf8))?;
        headers.push(parse_header(n, line)?);
        header_lines.push(n);
    }
    let body_line = lines.line;
    let rest = lines.rest();

    let mut content_length: Option<(usize, usize)> = None;
    let mut chunked_at: Option<usize> = None;
    for (h, &n) in headers.iter().zip(&header_lines) {
        if h.name.eq_ignore_ascii_case("content-length") {
            let ok = !h.value.is_empty() && h.value.bytes().all(|b| b.is_ascii_digit());
            let len: usize = h
                .value
                .parse()
                .ok()
                .filter(|_| ok)
                .ok_or(err(n, HttpMsgErrorKind::BadContentLength))?;
            match content_length {
                Some((prev, _)) if prev != len => {
                    return Err(err(n, HttpMsgErrorKind::BadContentLength))
                }
                _ => content_length = Some((len, n)),
            }
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            if !h.value.eq_ignore_ascii_case("chunked") || chunked_at.is_some() {
                return Err(err(n, HttpMsgErrorKind::UnsupportedTransferEncoding));
            }
            chunked_at = Some(n);
        }
    }

    let body = match (content_length, chunked_at) {
        (Some(_), Some(n)) => return Err(err(n, HttpMsgErrorKind::LengthAndTransferEncoding)),
        // No chunked body at all: the `Transfer-Encoding` line says what is missing (the line
        // after the headers may not exist when the input ends without a line ending).
        (None, Some(n)) if rest.is_empty() => return Err(err(n, HttpMsgErrorKind::BadChunk)),
        (None, Some(_)) => {
            let mut chunks = Lines {
                buf: rest,
                pos: 0,
                line: body_line,
                max: limits.max_line_bytes,
            };
            dechunk(&mut chunks, limits.max_body_bytes)?
        }
        (Some((len, n)), None) => {
            let body = rest.get(..len).ok_or(err(
                n,
                HttpMsgErrorKind::BodyTooShort {
                    declared: len,
                    available: rest.len(),
                },
            ))?;
            body.to_vec()
        }
        (None, None) => rest.to_vec(),
    };
    if body.len() > limits.max_body_bytes {
        return Err(err(body_line, HttpMsgErrorKind::BodyTooLarge));
    }
    Ok(HttpMessage {
        start,
        headers,
        body,
    })
}

/// Decodes a chunked body (RFC 9112 §7.1); chunk extensions and trailer fields are dropped.
fn dechunk(lines: &mut Lines<'_>, max_body: usize) -> Result<Vec<u8>, HttpMsgError> {
    let mut body = Vec::new();
    loop {
        let at = lines.line;
        let (n, size_line) = lines
            .next_line()?
            .ok_or(err(at, HttpMsgErrorKind::BadChunk))?;
        let size_line =
            core::str::from_utf8(size_line).map_err(|_| err(n, HttpMsgErrorKind::BadChunk))?;
        let hex = size_line
            .split(';')
            .next()
            .unwrap_or("")
            .trim_end_matches([' ', '\t']);
        if hex.is_empty() || hex.len() > 16 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(err(n, HttpMsgErrorKind::BadChunk));
        }
        let size =
            usize::from_str_radix(hex, 16).map_err(|_| err(n, HttpMsgErrorKind::BadChunk))?;
        if size == 0 {
            // Trailer section up to an empty line (or end of input).
            while let Some((_, line)) = lines.next_line()? {
                if line.is_empty() {
                    break;
                }
            }
            return Ok(body);
        }
        if body.len().saturating_add(size) > max_body {
            return Err(err(n, HttpMsgErrorKind::BodyTooLarge));
        }
        let data = lines
            .rest()
            .get(..size)
            .ok_or(err(n, HttpMsgErrorKind::BadChunk))?;
        body.extend_from_slice(data);
        // Skip the data, then require its line ending.
        lines.pos += size;
        let after = lines.rest();
        let eol = if after.starts_with(b"\r\n") {
            2
        } else if after.starts_with(b"\n") {
            1
        } else {
            return Err(err(n, HttpMsgErrorKind::BadChunk));
        };
        lines.line += data.iter().filter(|&&b| b == b'\n').count() + 1;
        lines.pos += eol;
    }
}

impl HttpMessage {
    /// Whether this is a request (else a response).
    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }

    /// Request method.
    pub fn method(&self) -> Option<&str> {
        match &self.start {
            StartLine::Request { method, .. } => Some(method),
            StartLine::Status { .. } => None,
        }
    }

    /// Request target (`:path`).
    pub fn target(&self) -> Option<&str> {
        match &self.start {
            StartLine::Request { target, .. } => Some(target),
            StartLine::Status { .. } => None,
        }
    }

    /// Response status code.
    pub fn status(&self) -> Option<u16> {
        match &self.start {
            StartLine::Status { code, .. } => Some(*code),
            StartLine::Request { .. } => None,
        }
    }

    /// First value of header `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    /// Every value of header `name`, in order.
    pub fn header_all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.headers
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    /// Sets header `name` to `value`: the first occurrence keeps its place (and spelling), later
    /// ones are removed; appended when absent.
    pub fn set_header(&mut self, name: &str, value: &str) {
        let mut seen = false;
        self.headers.retain_mut(|h| {
            if !h.name.eq_ignore_ascii_case(name) {
                return true;
            }
            if seen {
                return false;
            }
            seen = true;
            h.value = value.to_owned();
            true
        });
        if !seen {
            self.headers.push(HttpHeader {
                name: name.to_owned(),
                value: value.to_owned(),
            });
        }
    }

    /// Removes every occurrence of header `name`.
    pub fn remove_header(&mut self, name: &str) {
        self.headers.retain(|h| !h.name.eq_ignore_ascii_case(name));
    }

    /// Renders the message with CRLF line endings. A message that still declares
    /// `Transfer-Encoding: chunked` gets its body written as one chunk, so the output stays
    /// self-consistent; otherwise the body is written as is.
    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.body.len() + 256);
        match &self.start {
            StartLine::Request {
                method,
                target,
                version,
            } => {
                out.extend_from_slice(format!("{method} {target} {version}").as_bytes());
            }
            StartLine::Status {
                version,
                code,
                reason,
            } => {
                out.extend_from_slice(format!("{version} {code:03}").as_bytes());
                if !reason.is_empty() {
                    out.push(b' ');
                    out.extend_from_slice(reason.as_bytes());
                }
            }
        }
        out.extend_from_slice(b"\r\n");
        for h in &self.headers {
            out.extend_from_slice(h.name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(h.value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        let chunked = self
            .header_all("transfer-encoding")
            .any(|v| v.eq_ignore_ascii_case("chunked"));
        if chunked {
            if !self.body.is_empty() {
                out.extend_from_slice(format!("{:x}\r\n", self.body.len()).as_bytes());
                out.extend_from_slice(&self.body);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"0\r\n\r\n");
        } else {
            out.extend_from_slice(&self.body);
        }
        out
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

    fn parse(s: &[u8]) -> Result<HttpMessage, HttpMsgError> {
        parse_message(s, HttpLimits::default())
    }

    fn kind(s: &[u8]) -> (usize, HttpMsgErrorKind) {
        let e = parse(s).unwrap_err();
        (e.line, e.kind)
    }

    #[test]
    fn request_crlf_and_lf() {
        for raw in [
            &b"POST /quotes?x=1 HTTP/1.1\r\nHost: a\r\nFSPIOP-Source: payer\r\nX-A: 1\r\nx-a:  2 \r\n\r\n{\"a\":1}\r\n"[..],
            &b"POST /quotes?x=1 HTTP/1.1\nHost: a\nFSPIOP-Source: payer\nX-A: 1\nx-a:  2 \n\n{\"a\":1}\r\n"[..],
        ] {
            let m = parse(raw).unwrap();
            assert!(m.is_request());
            assert_eq!(m.method(), Some("POST"));
            assert_eq!(m.target(), Some("/quotes?x=1"));
            assert_eq!(m.header("fspiop-source"), Some("payer"));
            assert_eq!(m.headers[1].name, "FSPIOP-Source");
            assert_eq!(m.header_all("X-A").collect::<Vec<_>>(), ["1", "2"]);
            assert_eq!(m.body, b"{\"a\":1}\r\n");
        }
    }

    #[test]
    fn status_line() {
        let m = parse(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{}").unwrap();
        assert_eq!(m.status(), Some(200));
        assert_eq!(m.method(), None);
        let m = parse(b"HTTP/1.1 404\r\n\r\n").unwrap();
        assert_eq!(
            m.start,
            StartLine::Status {
                version: "HTTP/1.1".into(),
                code: 404,
                reason: String::new()
            }
        );
        assert_eq!(m.render(), b"HTTP/1.1 404\r\n\r\n");
        let m = parse(b"HTTP/1.1 400 Bad Request").unwrap();
        assert_eq!(m.body, b"");
    }

    #[test]
    fn content_length() {
        let m = parse(b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\nabcdef").unwrap();
        assert_eq!(m.body, b"ab");
        assert_eq!(
            kind(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\nabc"),
            (
                3,
                HttpMsgErrorKind::BodyTooShort {
                    declared: 9,
                    available: 3
                }
            )
        );
        assert_eq!(kind(b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n").0, 2);
        assert_eq!(
            kind(b"POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\n").1,
            HttpMsgErrorKind::BadContentLength
        );
        assert_eq!(
            kind(b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab").0,
            3
        );
        assert!(
            parse(b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nab").is_ok()
        );
        assert_eq!(
            kind(b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n").1,
            HttpMsgErrorKind::BadContentLength
        );
    }

    #[test]
    fn chunked() {
        let raw = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-Trailer: 1\r\n\r\n";
        let m = parse(raw).unwrap();
        assert_eq!(m.body, b"Wikipedia in\r\n\r\nchunks.");
        let rendered = m.render();
        assert_eq!(parse(&rendered).unwrap(), m);
        let lf = b"POST / HTTP/1.1\nTransfer-Encoding: chunked\n\n3\nabc\n0\n";
        assert_eq!(parse(lf).unwrap().body, b"abc");
        assert_eq!(
            kind(b"POST / HTTP/1.1\nTransfer-Encoding: chunked\n\n3\nabcd\n0\n\n"),
            (4, HttpMsgErrorKind::BadChunk)
        );
        assert_eq!(
            kind(b"POST / HTTP/1.1\nTransfer-Encoding: chunked\n\nzz\n"),
            (4, HttpMsgErrorKind::BadChunk)
        );
        assert_eq!(
            kind(b"POST / HTTP/1.1\nTransfer-Encoding: chunked\n\n3\nab"),
            (4, HttpMsgErrorKind::BadChunk)
        );
        assert_eq!(
            kind(b"POST / HTTP/1.1\nTransfer-Encoding: chunked\n\n3\nabc\n"),
            (6, HttpMsgErrorKind::BadChunk)
        );
        assert_eq!(
            kind(b"POST / HTTP/1.1\nTransfer-Encoding: chunked\n\n3\na\nc\nzz\n"),
            (7, HttpMsgErrorKind::BadChunk)
        );
        assert_eq!(
            kind(b"POST / HTTP/1.1\nTransfer-Encoding: chunked\n\nfffffffffffffffff\n").1,
            HttpMsgErrorKind::BadChunk
        );
        assert_eq!(
            kind(b"POST / HTTP/1.1\nTransfer-Encoding: chunked\n\nffffffffffffffff\n").1,
            HttpMsgErrorKind::BodyTooLarge
        );
        assert_eq!(
            kind(b"POST / HTTP/1.1\nTransfer-Encoding: gzip\n\n"),
            (2, HttpMsgErrorKind::UnsupportedTransferEncoding)
        );
        assert_eq!(
            kind(b"POST / HTTP/1.1\nContent-Length: 1\nTransfer-Encoding: chunked\n\n"),
            (3, HttpMsgErrorKind::LengthAndTransferEncoding)
        );
    }

    #[test]
    fn bad_lines_are_named() {
        assert_eq!(kind(b""), (1, HttpMsgErrorKind::Empty));
        assert_eq!(kind(b"POST /\r\n\r\n"), (1, HttpMsgErrorKind::BadStartLine));
        assert_eq!(
            kind(b"POST  / HTTP/1.1\r\n\r\n"),
            (1, HttpMsgErrorKind::BadStartLine)
        );
        assert_eq!(
            kind(b"POST / HTTP/1.2\r\n\r\n"),
            (1, HttpMsgErrorKind::BadStartLine)
        );
        assert_eq!(
            kind(b"HTTP/1.1 20 OK\r\n\r\n"),
            (1, HttpMsgErrorKind::BadStartLine)
        );
        assert_eq!(
            kind(b"GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n"),
            (3, HttpMsgErrorKind::BadHeader)
        );
        assert_eq!(
            kind(b"GET / HTTP/1.1\r\nHost : a\r\n\r\n"),
            (2, HttpMsgErrorKind::BadHeader)
        );
        assert_eq!(
            kind(b"GET / HTTP/1.1\r\nnocolon\r\n\r\n"),
            (2, HttpMsgErrorKind::BadHeader)
        );
        assert_eq!(
            kind(b"GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n"),
            (3, HttpMsgErrorKind::ObsoleteFolding)
        );
        assert_eq!(
            kind(b"GET / HTTP/1.1\r\nA: \xff\r\n\r\n"),
            (2, HttpMsgErrorKind::NotUtf8)
        );
        assert_eq!(
            kind(b"GET / HTTP/1.1\r\nA: a\x00b\r\n\r\n"),
            (2, HttpMsgErrorKind::BadHeader)
        );
        let e = parse(b"GET / HTTP/1.1\r\nnocolon\r\n\r\n").unwrap_err();
        assert_eq!(e.to_string(), "line 2: expected `name: value`");
    }

    #[test]
    fn limits() {
        let small = HttpLimits {
            max_headers: 2,
            max_line_bytes: 32,
            max_body_bytes: 4,
        };
        let p = |s: &[u8]| parse_message(s, small).map_err(|e| (e.line, e.kind));
        assert_eq!(
            p(b"GET / HTTP/1.1\nA: 1\nB: 2\nC: 3\n\n"),
            Err((4, HttpMsgErrorKind::TooManyHeaders))
        );
        let long = format!("GET / HTTP/1.1\nA: {}\n\n", "x".repeat(40));
        assert_eq!(p(long.as_bytes()), Err((2, HttpMsgErrorKind::LineTooLong)));
        let long_eof = format!("GET / HTTP/1.1\nA: {}", "x".repeat(40));
        assert_eq!(
            p(long_eof.as_bytes()),
            Err((2, HttpMsgErrorKind::LineTooLong))
        );
        // Exactly at the limit, CRLF not counted.
        let at = format!("GET / HTTP/1.1\r\nA: {}\r\n\r\n", "x".repeat(29));
        assert!(p(at.as_bytes()).is_ok());
        assert_eq!(
            p(b"POST / HTTP/1.1\n\n12345"),
            Err((3, HttpMsgErrorKind::BodyTooLarge))
        );
        assert_eq!(
            p(b"POST / HTTP/1.1\nTransfer-Encoding: chunked\n\n5\n12345\n0\n\n"),
            Err((4, HttpMsgErrorKind::BodyTooLarge))
        );
    }

    #[test]
    fn edit_and_render() {
        let mut m =
            parse(b"POST /a HTTP/1.1\nHost: h\nContent-Length: 3\nX: 1\nx: 2\n\nabc").unwrap();
        m.set_header("x", "9");
        m.set_header("FSPIOP-Signature", "{}");
        m.body = b"abcd".to_vec();
        m.set_header("content-length", "4");
        assert_eq!(
            m.render(),
            b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nX: 9\r\nFSPIOP-Signature: {}\r\n\r\nabcd"
        );
        m.remove_header("HOST");
        assert_eq!(m.header("host"), None);
        assert_eq!(parse(&m.render()).unwrap(), m);
        let mut chunked = parse(b"POST / HTTP/1.1\nTransfer-Encoding: chunked\n\n0\n\n").unwrap();
        assert_eq!(
            chunked.render(),
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        );
        chunked.remove_header("transfer-encoding");
        assert_eq!(chunked.render(), b"POST / HTTP/1.1\r\n\r\n");
    }

    fn header_strategy() -> impl proptest::strategy::Strategy<Value = HttpHeader> {
        use proptest::strategy::Strategy as _;
        ("[A-Za-z][A-Za-z0-9-]{0,12}", "[!-~]([ -~]{0,20}[!-~])?")
            .prop_map(|(name, value)| HttpHeader { name, value })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 2000, ..Default::default() })]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let _ = parse(&bytes);
            let small = HttpLimits { max_headers: 3, max_line_bytes: 16, max_body_bytes: 8 };
            let _ = parse_message(&bytes, small);
        }

        #[test]
        fn message_like_text_never_panics(text in "(POST / HTTP/1.1|HTTP/1.1 200 OK)\n([a-zA-Z-]{1,8}: ?[0-9a-f;chunked ]{0,8}\n){0,4}\n?[0-9a-fA-F\r\n;xyz]{0,40}") {
            if let Ok(m) = parse(text.as_bytes()) {
                proptest::prop_assert_eq!(parse(&m.render()).unwrap(), m);
            }
        }

        #[test]
        fn render_parse_round_trip(
            request in proptest::prelude::any::<bool>(),
            headers in proptest::collection::vec(header_strategy(), 0..8),
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
            chunked in proptest::prelude::any::<bool>(),
        ) {
            let mut headers: Vec<HttpHeader> = headers
                .into_iter()
                .filter(|h| !h.name.eq_ignore_ascii_case("content-length")
                    && !h.name.eq_ignore_ascii_case("transfer-encoding"))
                .collect();
            headers.push(if chunked {
                HttpHeader { name: "Transfer-Encoding".into(), value: "chunked".into() }
            } else {
                HttpHeader { name: "Content-Length".into(), value: body.len().to_string() }
            });
            let start = if request {
                StartLine::Request { method: "PUT".into(), target: "/a/b?c=d".into(), version: "HTTP/1.1".into() }
            } else {
                StartLine::Status { version: "HTTP/1.1".into(), code: 202, reason: "Accepted".into() }
            };
            let m = HttpMessage { start, headers, body };
            proptest::prop_assert_eq!(parse(&m.render()).unwrap(), m);
        }
    }
}
