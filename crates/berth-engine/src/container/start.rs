//! Containers: start.
