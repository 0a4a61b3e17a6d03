//! Signet core.
