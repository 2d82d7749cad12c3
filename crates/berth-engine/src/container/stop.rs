//! Containers: stop.
