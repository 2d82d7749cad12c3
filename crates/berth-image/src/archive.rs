//! archive (skeleton: being written).
