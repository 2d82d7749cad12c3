//! Helpers for berth's end-to-end tests: commands with deadlines, a private dockerd, a
//! busybox image and a pseudo-terminal to drive interactive clients.

pub mod command;
pub mod dockerd;
pub mod image;
pub mod pty;

use std::path::PathBuf;

/// Finds an executable by name in `PATH`, then in the sbin directories that a non-login
/// root shell may lack (Debian installs dockerd in /usr/sbin).
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}
