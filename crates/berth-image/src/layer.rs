//! layer (skeleton: being written).
