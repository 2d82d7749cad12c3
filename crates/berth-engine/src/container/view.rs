//! Containers: view.
