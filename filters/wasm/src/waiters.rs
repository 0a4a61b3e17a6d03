//! Requests paused while the root context runs a callout for them (a JWKS refetch on an
//! unknown `kid`, a client-credentials token), and the host calls that wake them.
//!
//! Callouts are always made by the root context: it lives as long as the plugin, whereas a
//! request's context is destroyed — and Envoy cancels its callouts — when the client goes away,
//! which would strand every other request waiting on the same single-flight fetch.
//!
//! A paused request registers its context id and a [`Weak`] handle on its own state. When the
//! callout completes, the root switches the host's effective context to each live waiter
//! (`proxy_set_effective_context`), finishes it there (headers, filter state, local reply) and
//! resumes it (`proxy_continue_stream`). A request whose stream ended has dropped its state, so
//! its `Weak` no longer upgrades and it is skipped: no host call ever targets a dead stream.

use std::cell::RefCell;
use std::rc::{Rc, Weak};
use std::time::Duration;

use proxy_wasm::types::Action;

use crate::hostcalls;

/// One paused request.
struct Waiter<T> {
    context_id: u32,
    since_ms: i64,
    state: Weak<RefCell<T>>,
}

/// The paused requests of one filter (per worker VM).
pub struct Waiters<T> {
    list: Vec<Waiter<T>>,
}

impl<T> Default for Waiters<T> {
    fn default() -> Self {
        Waiters { list: Vec::new() }
    }
}

impl<T> Waiters<T> {
    /// Registers a paused request.
    pub fn add(&mut self, context_id: u32, since_ms: i64, state: &Rc<RefCell<T>>) {
        self.list.push(Waiter {
            context_id,
            since_ms,
            state: Rc::downgrade(state),
        });
    }

    /// How many are registered (live or not).
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether none is registered.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Removes and returns every live waiter.
    pub fn take_all(&mut self) -> Vec<(u32, Rc<RefCell<T>>)> {
        std::mem::take(&mut self.list)
            .into_iter()
            .filter_map(|w| w.state.upgrade().map(|s| (w.context_id, s)))
            .collect()
    }

    /// Removes and returns the live waiters registered before `deadline_ms` (a bound on every
    /// wait, whatever happens to the callout); drops dead ones.
    pub fn take_older_than(&mut self, deadline_ms: i64) -> Vec<(u32, Rc<RefCell<T>>)> {
        let mut out = Vec::new();
        self.list.retain(|w| match w.state.upgrade() {
            None => false,
            Some(s) if w.since_ms < deadline_ms => {
                out.push((w.context_id, s));
                false
            }
            Some(_) => true,
        });
        out
    }
}

/// Messages a filter holds until they end (headers paused, body still arriving). On the root's
/// tick, each one still open past `timeout_ms` is handed to the filter to refuse, in its own
/// context: a body that never ends must not park a stream in the gateway for ever.
pub struct OpenMessages<T> {
    list: RefCell<Waiters<T>>,
    timeout_ms: i64,
}

impl<T> OpenMessages<T> {
    pub fn new(timeout_ms: u64) -> OpenMessages<T> {
        OpenMessages {
            list: RefCell::new(Waiters::default()),
            timeout_ms: i64::try_from(timeout_ms).unwrap_or(i64::MAX),
        }
    }

    /// Registers a message that is now held until it ends.
    pub fn add(&self, context_id: u32, state: &Rc<RefCell<T>>) {
        self.list
            .borrow_mut()
            .add(context_id, crate::host::now_ms(), state);
    }

    /// Calls `refuse` (in the message's context) for each message older than the bound that
    /// `still_open` says has no verdict yet; forgets the rest of the old ones and the dead.
    pub fn expire(
        &self,
        root_id: u32,
        still_open: impl Fn(&T) -> bool,
        refuse: impl Fn(&Rc<RefCell<T>>),
    ) {
        let late = self
            .list
            .borrow_mut()
            .take_older_than(crate::host::now_ms().saturating_sub(self.timeout_ms));
        for (id, state) in late {
            if still_open(&state.borrow()) {
                as_context(id, root_id, || refuse(&state));
            }
        }
    }
}

/// Runs `f` with the host's effective context switched to request `context_id`, then back to
/// the root. Returns `false` (and skips `f`) when the host no longer knows that context.
pub fn as_context(context_id: u32, root_id: u32, f: impl FnOnce()) -> bool {
    if hostcalls::set_effective_context(context_id).is_err() {
        return false;
    }
    f();
    let _ = hostcalls::set_effective_context(root_id);
    true
}

/// Asks the host to run the root's `on_tick` about now (Envoy ≥ 1.3x re-arms the timer on every
/// `set_tick_period`); the root restores its normal period there.
pub fn kick_root() {
    let _ = hostcalls::set_tick_period(Duration::from_millis(1));
}

/// What a body or trailers callback answers for a request that is `held` (waiting for a callout,
/// or refused): stay paused. `Continue` there would resume headers paused on purpose.
pub fn hold_if(held: bool) -> Action {
    if held {
        Action::Pause
    } else {
        Action::Continue
    }
}

/// Continues a paused request (in the current effective context).
pub fn resume() {
    let _ = hostcalls::resume_http_request();
}
