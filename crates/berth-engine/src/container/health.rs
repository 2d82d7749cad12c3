//! Containers: health.
