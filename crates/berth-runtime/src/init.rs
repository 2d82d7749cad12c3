//! init (skeleton).
