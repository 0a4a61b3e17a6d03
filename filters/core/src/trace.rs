//! The record of each check a verification made, for `signet verify` and debug logs.
//!
//! Integrators debugging "invalid signature" need to know *which* check failed and why; the
//! filter keeps the trace off on the data path (no allocation) and the CLI turns it on.

/// One check and its outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// Short stable name of the check, e.g. `route_policy`, `alg`, `signature`.
    pub check: &'static str,
    /// Whether it passed.
    pub ok: bool,
    /// What was seen, in words; never key material.
    pub detail: String,
}

/// The checks made so far; recording is a no-op unless enabled.
#[derive(Clone, Debug, Default)]
pub struct Trace {
    enabled: bool,
    steps: Vec<Step>,
}

impl Trace {
    /// A trace that records every step.
    pub fn recording() -> Self {
        Trace {
            enabled: true,
            steps: Vec::new(),
        }
    }

    /// A trace that records nothing (the data path).
    pub fn off() -> Self {
        Trace::default()
    }

    /// Records a passed check; `detail` is only evaluated when recording.
    pub fn pass(&mut self, check: &'static str, detail: impl FnOnce() -> String) {
        if self.enabled {
            self.steps.push(Step {
                check,
                ok: true,
                detail: detail(),
            });
        }
    }

    /// Records a failed check.
    pub fn fail(&mut self, check: &'static str, detail: impl FnOnce() -> String) {
        if self.enabled {
            self.steps.push(Step {
                check,
                ok: false,
                detail: detail(),
            });
        }
    }

    /// The recorded steps, in order.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }
}
