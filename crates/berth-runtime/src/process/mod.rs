//! The container process's identity and limits: rlimits, the five capability sets, user
//! and groups, umask, and `noNewPrivileges`.
//!
//! These run in the container's init (or exec'd process) after the root filesystem is in
//! place and before the program is executed.
//!
//! SKELETON: the security helper replaces this file and adds `capabilities.rs`,
//! `rlimits.rs`, `user.rs`.

use oci_spec::runtime::Process;

/// Errors of process set-up.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// A system call failed.
    #[error("{what}")]
    Sys {
        /// What was being done.
        what: String,
        /// The cause.
        #[source]
        source: nix::Error,
    },
}

/// Applies, in this order: rlimits, the capability bounding set, supplementary groups,
/// gid, uid (keeping capabilities across the switch), the effective, permitted,
/// inheritable and ambient capability sets, and the umask.
pub fn apply_process_security(_process: &Process) -> Result<(), ProcessError> {
    Ok(())
}

/// Sets `PR_SET_NO_NEW_PRIVS`.
pub fn set_no_new_privileges() -> Result<(), ProcessError> {
    Ok(())
}

/// The home directory of `uid` from the container's /etc/passwd, or `/`.
pub fn home_dir(_uid: u32) -> String {
    "/".to_string()
}
