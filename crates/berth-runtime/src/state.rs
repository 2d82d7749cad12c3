//! state (skeleton).
