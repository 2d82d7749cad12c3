//! Containers: create.
