//! Container lifecycle operations, one file per verb (skeleton).
