//! reference (skeleton: being written).
