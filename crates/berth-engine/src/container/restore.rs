//! Containers: restore.
