//! Containers: files.
