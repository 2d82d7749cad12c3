//! Helpers for berth's end-to-end tests: a pseudo-terminal to drive interactive clients.
//! The private dockerd and the busybox image come from `berth-testkit`.

pub mod pty;
