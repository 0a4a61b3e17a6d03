//! Signet's proxy-wasm glue.
