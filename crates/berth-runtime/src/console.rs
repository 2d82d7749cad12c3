//! console (skeleton).
