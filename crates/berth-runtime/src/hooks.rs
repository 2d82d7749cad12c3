//! hooks (skeleton).
