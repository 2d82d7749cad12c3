//! Making the rootfs the process's root.

use std::path::Path;

use nix::fcntl::{open, OFlag};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::stat::Mode;
use nix::unistd::{chdir, chroot, fchdir, pivot_root};

use super::RootfsError;

fn sys<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(nix::Error) -> RootfsError + 'a {
    move |source| RootfsError::Sys {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// pivot_root(".", ".") stacks the old root on top of the new one, so no directory for it
/// is needed in the image; the old root is then detached from under us.
pub(crate) fn pivot_root_to(rootfs: &Path) -> Result<(), RootfsError> {
    let dir = OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC;
    let old_root = open("/", dir, Mode::empty()).map_err(sys("open", Path::new("/")))?;
    let new_root = open(rootfs, dir, Mode::empty()).map_err(sys("open", rootfs))?;
    fchdir(&new_root).map_err(sys("chdir", rootfs))?;
    pivot_root(".", ".").map_err(sys("pivot_root", rootfs))?;
    // The kernel leaves "." at the old root today, but does not promise it.
    fchdir(&old_root).map_err(sys("chdir to the old root", Path::new("/")))?;
    // Slave, so that the unmount below cannot propagate to the host's mounts. (Not
    // private: the host may still hold references that a private copy would race.)
    mount(
        None::<&str>,
        ".",
        None::<&str>,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(sys("make the old root rslave", Path::new("/")))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(sys("unmount the old root", Path::new("/")))?;
    chdir("/").map_err(sys("chdir", Path::new("/")))
}

/// runc's `--no-pivot`, for roots pivot_root refuses (an initramfs): move the rootfs
/// mount onto `/` and chroot into it. The host's mounts stay in the namespace, hidden.
pub(crate) fn move_root_to(rootfs: &Path) -> Result<(), RootfsError> {
    chdir(rootfs).map_err(sys("chdir", rootfs))?;
    mount(
        Some(rootfs),
        "/",
        None::<&str>,
        MsFlags::MS_MOVE,
        None::<&str>,
    )
    .map_err(sys("move the rootfs onto /", rootfs))?;
    chroot(".").map_err(sys("chroot", rootfs))?;
    chdir("/").map_err(sys("chdir", Path::new("/")))
}
