pub mod dockerd;
pub mod registry;
