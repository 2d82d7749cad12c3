//! Containers: exit.
