//! Containers: mounts.
