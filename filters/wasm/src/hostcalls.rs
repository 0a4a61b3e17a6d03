//! The proxy-wasm host calls as the filters make them: proxy-wasm's own, or, in a build with
//! the `trace-calls` feature (never the shipped module), the same calls counted by kind and
//! bytes moved (`trace.rs`).

#[cfg(not(feature = "trace-calls"))]
pub use crate::header_map::get_map_raw;
#[cfg(not(feature = "trace-calls"))]
pub use proxy_wasm::hostcalls::*;

#[cfg(feature = "trace-calls")]
pub use crate::trace::counted::*;
