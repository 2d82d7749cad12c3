//! manifest (skeleton: being written).
