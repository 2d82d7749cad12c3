//! Start-up, serving and shutdown.
