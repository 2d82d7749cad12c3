//! channel (skeleton).
