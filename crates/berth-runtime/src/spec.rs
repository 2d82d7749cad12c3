//! spec (skeleton).
