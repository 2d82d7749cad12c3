//! The container's root filesystem: mounts, devices, pivot_root, masked and readonly paths.
//!
//! The container's init calls, in its new mount namespace:
//! 1. [`prepare`], while it still sees the host: the propagation of `/`, the rootfs bind
//!    mount, every `mounts` entry in order, the devices and the links of `/dev`;
//! 2. [`pivot`], which makes the rootfs `/`;
//! 3. [`finish`]: readonlyPaths, maskedPaths, `root.readonly` and the final propagation.
//!
//! Every mount target is resolved inside the rootfs without following a symlink or `..`
//! out of it (openat2 with `RESOLVE_IN_ROOT`, else [`secure_join`] and an `O_NOFOLLOW`
//! walk), and mounted on through its file descriptor, so that an image can never
//! redirect a mount onto the host.

mod cgroup;
mod devices;
mod mountinfo;
mod mounts;
mod options;
mod paths;
mod pivot;
mod secure_join;
mod target;

use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::mount::{mount, MsFlags};
use oci_spec::runtime::{LinuxNamespaceType, Spec};

use mounts::Context;
pub use target::open_in_root;
use target::Root;

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
    /// A file could not be read.
    #[error("{what} `{path}`")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A mount(2) call failed.
    #[error("{call} `{mount_source}` on `{destination}` (type {fstype})")]
    Mount {
        /// The call: `mount`, `remount`, `change the propagation of`, ...
        call: &'static str,
        /// The mount's source (a host path for bind mounts).
        mount_source: String,
        /// The destination in the container.
        destination: PathBuf,
        /// The filesystem type, `bind` for bind mounts.
        fstype: String,
        /// The cause.
        #[source]
        source: Errno,
    },
    /// A mount target led out of the rootfs (a symlink swapped in during the set-up).
    #[error("mount target `{destination}` resolves outside the container root")]
    Escapes {
        /// The destination in the container.
        destination: PathBuf,
    },
    /// A mount option or feature that berth does not implement.
    #[error("mount on `{destination}`: `{option}` is not supported")]
    Unsupported {
        /// The destination in the container.
        destination: PathBuf,
        /// The option or feature.
        option: String,
    },
    /// A bind mount without a source.
    #[error("bind mount on `{destination}` has no source")]
    NoSource {
        /// The destination in the container.
        destination: PathBuf,
    },
    /// A mount inside /proc, which could hide what maskedPaths and readonlyPaths protect.
    #[error("mount on `{destination}` is inside /proc, which only allows a proc mount at /proc and lxcfs-style file overrides")]
    ProcMount {
        /// The destination in the container.
        destination: PathBuf,
    },
    /// A `linux.devices` entry that cannot be made.
    #[error("device `{path}`: {reason}")]
    InvalidDevice {
        /// The device's path in the container.
        path: PathBuf,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Too many symlinks while resolving a path in the rootfs.
    #[error("too many levels of symlinks resolving `{path}` in the rootfs")]
    SymlinkLoop {
        /// The path being resolved.
        path: PathBuf,
    },
    /// `linux.rootfsPropagation` is not a propagation type.
    #[error("rootfsPropagation `{value}` is not one of shared, slave, private, unbindable (with or without r)")]
    InvalidPropagation {
        /// The value given.
        value: String,
    },
}

/// Runs in the container's new mount namespace before pivot_root: root propagation, the
/// rootfs bind mount, every spec mount in order, devices, `/dev` links and ptmx.
///
/// `rootfs` is the rootfs's absolute host path; `bundle` is the bundle directory, against
/// which relative bind-mount sources are resolved; `in_user_ns` says that the process is
/// in a new user namespace (no mknod, no new sysfs without a network namespace, locked
/// mount flags).
pub fn prepare(
    spec: &Spec,
    rootfs: &Path,
    bundle: &Path,
    in_user_ns: bool,
) -> Result<(), RootfsError> {
    let slash = Path::new("/");
    let flags = root_propagation(spec)?.unwrap_or(MsFlags::MS_SLAVE | MsFlags::MS_REC);
    mount(None::<&str>, slash, None::<&str>, flags, None::<&str>)
        .map_err(|source| mount_error("change the propagation of", "/", slash, source))?;
    make_parent_private(rootfs)?;
    mount(
        Some(rootfs),
        rootfs,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|source| mount_error("mount", &rootfs.to_string_lossy(), rootfs, source))?;

    let root = Root::open(rootfs)?;
    let namespaces = spec.linux().as_ref().and_then(|l| l.namespaces().as_ref());
    let has_ns = |kind| namespaces.is_some_and(|n| n.iter().any(|ns| ns.typ() == kind));
    let ctx = Context {
        root: &root,
        bundle,
        in_user_ns,
        cgroup_ns: has_ns(LinuxNamespaceType::Cgroup),
    };
    let spec_mounts = spec.mounts().as_deref().unwrap_or_default();
    for m in spec_mounts {
        mounts::mount_one(&ctx, m)?;
    }

    // With the host's /dev bound in, its devices are already there.
    let dev_bound = spec_mounts.iter().any(|m| {
        Path::new("/").join(m.destination()) == Path::new("/dev")
            && mounts::Entry::from_spec(m).is_ok_and(|e| e.options.is_bind())
    });
    if !dev_bound {
        let listed = spec
            .linux()
            .as_ref()
            .and_then(|l| l.devices().as_deref())
            .unwrap_or_default();
        devices::create(&root, &devices::device_list(listed)?, in_user_ns)?;
        let mounted = |dest: &str, fstype: &str| {
            spec_mounts.iter().any(|m| {
                Path::new("/").join(m.destination()) == Path::new(dest)
                    && m.typ().as_deref() == Some(fstype)
            })
        };
        // The container's proc is of this kernel: it has a kcore if the host's has one.
        let kcore = mounted("/proc", "proc") && Path::new("/proc/kcore").exists();
        devices::create_links(&root, kcore, mounted("/dev/pts", "devpts"))?;
    }
    Ok(())
}

/// Makes `rootfs` the root: pivot_root, or with `no_pivot` a move mount and chroot.
pub fn pivot(rootfs: &Path, no_pivot: bool) -> Result<(), RootfsError> {
    if no_pivot {
        pivot::move_root_to(rootfs)
    } else {
        pivot::pivot_root_to(rootfs)
    }
}

/// Runs after pivot_root: masked paths, readonly paths, a readonly root, and the final
/// propagation of `/`.
pub fn finish(spec: &Spec) -> Result<(), RootfsError> {
    let linux = spec.linux().as_ref();
    for path in linux
        .and_then(|l| l.readonly_paths().as_deref())
        .unwrap_or_default()
    {
        paths::readonly_path(Path::new(path))?;
    }
    for path in linux
        .and_then(|l| l.masked_paths().as_deref())
        .unwrap_or_default()
    {
        paths::mask_path(Path::new(path))?;
    }
    if spec.root().as_ref().and_then(|r| r.readonly()) == Some(true) {
        paths::readonly_root()?;
    }
    if let Some(flags) = root_propagation(spec)? {
        paths::propagate_root(flags)?;
    }
    Ok(())
}

/// Joins `path` to `root` as if `root` were `/`: `..` and symlinks never leave `root`.
pub fn secure_join(root: &Path, path: &Path) -> Result<PathBuf, RootfsError> {
    Ok(root.join(secure_join::resolve_in_root(root, path)?))
}

fn root_propagation(spec: &Spec) -> Result<Option<MsFlags>, RootfsError> {
    let value = spec
        .linux()
        .as_ref()
        .and_then(|l| l.rootfs_propagation().as_deref())
        .filter(|v| !v.is_empty());
    value
        .map(|v| {
            options::propagation(v).ok_or_else(|| RootfsError::InvalidPropagation {
                value: v.to_string(),
            })
        })
        .transpose()
}

/// pivot_root refuses a new root whose parent mount is shared, and a bind mount under a
/// shared parent would propagate to the host: make that parent private (runc does too).
fn make_parent_private(rootfs: &Path) -> Result<(), RootfsError> {
    let mounts = mountinfo::read()?;
    let Some(parent) = mountinfo::containing(&mounts, rootfs) else {
        return Ok(());
    };
    if !parent.optional.iter().any(|o| o.starts_with("shared:")) {
        return Ok(());
    }
    let point = parent.mount_point.clone();
    mount(
        None::<&str>,
        &point,
        None::<&str>,
        MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|source| mount_error("change the propagation of", "", &point, source))
}

fn mount_error(call: &'static str, src: &str, dest: &Path, source: Errno) -> RootfsError {
    RootfsError::Mount {
        call,
        mount_source: src.to_string(),
        destination: dest.to_path_buf(),
        fstype: "bind".to_string(),
        source,
    }
}
