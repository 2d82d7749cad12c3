//! distribution (skeleton: being written).
