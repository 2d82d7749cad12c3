//! namespaces (skeleton).
