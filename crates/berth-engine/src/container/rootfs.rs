//! Containers: rootfs.
