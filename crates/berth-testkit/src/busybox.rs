//! A root file system built from the host's static busybox (Debian's busybox-static): no
//! registry or hub needed to get an image that runs a shell.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where Debian's busybox-static installs the binary.
pub const BUSYBOX: &str = "/bin/busybox";

/// Writes `dir/rootfs`: busybox with a symlink per applet (where `busybox --list-full`
/// places them), `/etc/passwd` and `/etc/group` with root, and empty `tmp`, `proc`, `sys`
/// and `dev`. Returns its path.
pub fn rootfs(dir: &Path) -> PathBuf {
    let rootfs = dir.join("rootfs");
    for sub in ["bin", "tmp", "etc", "proc", "sys", "dev"] {
        fs::create_dir_all(rootfs.join(sub)).expect("create rootfs directories");
    }
    fs::copy(BUSYBOX, rootfs.join("bin/busybox")).expect("copy /bin/busybox into the rootfs");
    let list = Command::new(BUSYBOX)
        .arg("--list-full")
        .output()
        .expect("run busybox --list-full");
    assert!(list.status.success(), "busybox --list-full failed");
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        if applet == "bin/busybox" || applet.is_empty() {
            continue;
        }
        let link = rootfs.join(applet);
        if let Some(parent) = link.parent() {
            fs::create_dir_all(parent).expect("create applet directory");
        }
        symlink("/bin/busybox", &link).expect("symlink busybox applet");
    }
    fs::write(rootfs.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").expect("write passwd");
    fs::write(rootfs.join("etc/group"), "root:x:0:\n").expect("write group");
    rootfs
}

/// Writes [`rootfs`] under `dir` and a tar of it at `dir/busybox.tar`, ready for
/// `docker import`; returns the tar's path.
pub fn rootfs_tar(dir: &Path) -> PathBuf {
    let tar = dir.join("busybox.tar");
    tar_dir(&rootfs(dir), &tar);
    tar
}

/// Writes a tar of directory `rootfs` at `tar`, its paths relative to `rootfs` as
/// `docker import` wants them (for a rootfs a test adds its own files to).
pub fn tar_dir(rootfs: &Path, tar: &Path) {
    let status = Command::new("tar")
        .arg("-C")
        .arg(rootfs)
        .arg("-cf")
        .arg(tar)
        .arg(".")
        .status()
        .expect("run tar");
    assert!(status.success(), "tar of the busybox rootfs failed");
}

/// Writes [`rootfs`] under `dir` and returns a tar of it as bytes (for an API upload).
pub fn rootfs_tar_bytes(dir: &Path) -> Vec<u8> {
    let rootfs = rootfs(dir);
    let out = Command::new("tar")
        .arg("-C")
        .arg(&rootfs)
        .args(["-cf", "-", "."])
        .output()
        .expect("run tar");
    assert!(
        out.status.success(),
        "tar of the busybox rootfs failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}
