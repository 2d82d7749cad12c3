//! store (skeleton: being written).
