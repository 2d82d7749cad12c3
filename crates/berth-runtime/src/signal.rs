//! signal (skeleton).
