//! Containers: remove.
