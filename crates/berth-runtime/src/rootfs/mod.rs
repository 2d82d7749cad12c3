//! The container's root filesystem: mounts, devices, pivot_root, masked and readonly paths.
//!
//! Every mount target is resolved inside the rootfs without following a symlink out of it,
//! so that an image can never redirect a mount onto the host.
//!
//! SKELETON: the rootfs helper replaces this file and adds `mounts.rs`, `devices.rs`,
//! `pivot.rs`, `paths.rs`, `secure_join.rs`.

use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;

/// Errors of root filesystem set-up.
#[derive(Debug, thiserror::Error)]
pub enum RootfsError {
    /// A system call failed on a path.
    #[error("{what} `{path}`")]
    Sys {
        /// What was being done.
        what: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The cause.
        #[source]
        source: nix::Error,
    },
}

/// Runs in the container's new mount namespace before pivot_root: root propagation, the
/// rootfs bind mount, every spec mount in order, devices, `/dev` links and ptmx.
pub fn prepare(_spec: &Spec, _rootfs: &Path, _in_user_ns: bool) -> Result<(), RootfsError> {
    Ok(())
}

/// Makes `rootfs` the root: pivot_root, or with `no_pivot` a move mount and chroot.
pub fn pivot(_rootfs: &Path, _no_pivot: bool) -> Result<(), RootfsError> {
    Ok(())
}

/// Runs after pivot_root: masked paths, readonly paths, a readonly root, and the final
/// propagation of `/`.
pub fn finish(_spec: &Spec) -> Result<(), RootfsError> {
    Ok(())
}

/// Joins `path` to `root` as if `root` were `/`: `..` and symlinks never leave `root`.
pub fn secure_join(root: &Path, path: &Path) -> Result<PathBuf, RootfsError> {
    Ok(root.join(path.strip_prefix("/").unwrap_or(path)))
}
