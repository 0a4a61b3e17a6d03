//! Test-only fault injection: with the cargo feature `test-trap` (never in the shipped module,
//! which `make wasm` builds without features), a request carrying `x-signet-test-trap: 1` makes
//! the VM trap, so `tests/test_faults.py` can show what Envoy's `FAIL_RELOAD` does with a
//! crashed Signet VM. Without the feature `check` is an empty function: the shipped module treats
//! the header like any other `x-signet-*` request header (the `gateway` filter strips it).

/// The request header that triggers the trap in a `test-trap` build.
pub const TRAP_HEADER: &str = "x-signet-test-trap";

/// Traps the VM when the request carries `x-signet-test-trap: 1` (test-trap builds only).
#[cfg(feature = "test-trap")]
pub fn check() {
    let value = proxy_wasm::hostcalls::get_map_value(
        proxy_wasm::types::MapType::HttpRequestHeaders,
        TRAP_HEADER,
    );
    if matches!(value, Ok(Some(v)) if v == "1") {
        crate::log(
            proxy_wasm::types::LogLevel::Critical,
            "signet: test-trap build: trapping the VM on request",
        );
        // Deliberate: this feature exists to crash the VM (wasi's abort is the `unreachable`
        // instruction, a Wasm trap). No panic: the workspace denies them and the release
        // profile would turn one into the same abort anyway.
        std::process::abort();
    }
}

/// Shipped builds: nothing to do.
#[cfg(not(feature = "test-trap"))]
#[inline(always)]
pub fn check() {}
