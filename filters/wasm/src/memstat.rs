//! The VM's own memory, as two gauges Envoy shows in `/stats` (Envoy has no per-VM memory
//! stat; its `/memory` is the whole process's tcmalloc heap, and a Wasm linear memory never
//! shrinks):
//!
//! - `wasmcustom.signet.vm.heap_bytes`: bytes currently allocated by the module (a counting
//!   wrapper around the system allocator) — back to its baseline when no request holds memory;
//! - `wasmcustom.signet.vm.linear_memory_bytes`: the size of the VM's linear memory (its
//!   high-water mark; grows only when the allocator needs more).
//!
//! Both are read when an HTTP context is created, i.e. at the start of each stream, before
//! that stream allocates anything, and recorded when they changed: a leak shows as a
//! `heap_bytes` that keeps climbing.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use proxy_wasm::types::MetricType;

use crate::hostcalls;

/// The system allocator, counting the bytes it has handed out and not yet got back.
pub struct CountingAlloc;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to `System`; the counter is bookkeeping only.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
            traced(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
            traced(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            LIVE.fetch_add(new_size, Ordering::Relaxed);
            traced(new_size);
        }
        p
    }
}

/// `trace-calls` builds: one allocation of `bytes` (a reallocation counts as one).
#[inline(always)]
fn traced(bytes: usize) {
    #[cfg(feature = "trace-calls")]
    {
        crate::trace::ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        crate::trace::ALLOCATED.fetch_add(bytes as u64, Ordering::Relaxed);
    }
    #[cfg(not(feature = "trace-calls"))]
    let _ = bytes;
}

/// Bytes currently allocated through [`CountingAlloc`].
pub fn heap_bytes() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// Size of the VM's linear memory in bytes (0 outside Wasm).
pub fn linear_memory_bytes() -> usize {
    #[cfg(target_arch = "wasm32")]
    {
        core::arch::wasm32::memory_size(0).saturating_mul(65_536)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        0
    }
}

const HEAP: &str = "signet.vm.heap_bytes";
const LINEAR: &str = "signet.vm.linear_memory_bytes";

thread_local! {
    /// The gauges' ids, once defined (`None` until the host accepted both).
    static IDS: Cell<Option<(u32, u32)>> = const { Cell::new(None) };
    /// The values last recorded: a stream that finds them unchanged records nothing.
    static LAST: Cell<(usize, usize)> = const { Cell::new((usize::MAX, usize::MAX)) };
}

fn gauge_ids() -> Option<(u32, u32)> {
    IDS.with(|ids| {
        if ids.get().is_none() {
            let heap = hostcalls::define_metric(MetricType::Gauge, HEAP).ok();
            let linear = hostcalls::define_metric(MetricType::Gauge, LINEAR).ok();
            if let (Some(h), Some(l)) = (heap, linear) {
                ids.set(Some((h, l)));
            }
        }
        ids.get()
    })
}

/// Records the gauges that changed since last time; a host that refuses the stats is ignored.
pub fn record() {
    let now = (heap_bytes(), linear_memory_bytes());
    let last = LAST.with(|l| l.replace(now));
    if now == last {
        return;
    }
    if let Some((heap, linear)) = gauge_ids() {
        let to_u64 = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        if now.0 != last.0 {
            let _ = hostcalls::record_metric(heap, to_u64(now.0));
        }
        if now.1 != last.1 {
            let _ = hostcalls::record_metric(linear, to_u64(now.1));
        }
    }
}
