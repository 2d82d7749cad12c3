//! The container process's identity and limits: rlimits, I/O priority and scheduling,
//! the five capability sets, user and groups, umask, CPU affinity and `noNewPrivileges`.
//!
//! These run in the container's init (or exec'd process) after the root filesystem is in
//! place and before the program is executed. Nothing here is undone: the calling process
//! is about to become the container's program.
//!
//! - [`rlimits`][]: `process.rlimits`.
//! - [`scheduling`][]: `process.ioPriority`, `process.scheduler`, `process.execCPUAffinity`.
//! - [`capabilities`][]: the bounding, effective, permitted, inheritable and ambient sets.
//! - [`user`][]: uid, gid, additional gids, umask, and the user's home directory.

pub mod capabilities;
pub mod rlimits;
pub mod scheduling;
pub mod user;

pub use user::home_dir;

use oci_spec::runtime::Process;

/// Errors of process set-up. Each names the value that was refused.
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

    /// The kernel refused an rlimit.
    #[error("cannot set rlimit `{resource}` to soft {soft}, hard {hard}")]
    Rlimit {
        /// The limit, as the spec names it (`RLIMIT_NOFILE`).
        resource: String,
        /// The soft limit asked for.
        soft: u64,
        /// The hard limit asked for.
        hard: u64,
        /// The cause.
        #[source]
        source: nix::Error,
    },

    /// A capability could not be dropped from the bounding set.
    #[error("cannot drop capability `{capability}` from the bounding set")]
    BoundingDrop {
        /// The capability.
        capability: String,
        /// The cause.
        #[source]
        source: nix::Error,
    },

    /// The effective, permitted and inheritable sets could not be set.
    #[error("cannot set the effective, permitted and inheritable capabilities: {reason}")]
    CapabilitySets {
        /// The capability that made the kernel refuse, when it can be told.
        capability: Option<String>,
        /// Why the kernel refused, naming the capability when it can be told.
        reason: String,
        /// The cause.
        #[source]
        source: nix::Error,
    },

    /// An ambient capability could not be raised.
    #[error("cannot raise ambient capability `{capability}`")]
    Ambient {
        /// The capability.
        capability: String,
        /// The cause.
        #[source]
        source: nix::Error,
    },

    /// The supplementary groups could not be set.
    #[error("cannot set additional gids {gids:?}")]
    Setgroups {
        /// The gids.
        gids: Vec<u32>,
        /// The cause.
        #[source]
        source: nix::Error,
    },

    /// Additional gids were asked for in a user namespace where `setgroups` is denied.
    #[error("cannot set additional gids {gids:?}: /proc/self/setgroups is `deny` in this user namespace")]
    SetgroupsDenied {
        /// The gids.
        gids: Vec<u32>,
    },

    /// The gid could not be set.
    #[error("cannot set gid {gid}")]
    Setgid {
        /// The gid.
        gid: u32,
        /// The cause.
        #[source]
        source: nix::Error,
    },

    /// The uid could not be set.
    #[error("cannot set uid {uid}")]
    Setuid {
        /// The uid.
        uid: u32,
        /// The cause.
        #[source]
        source: nix::Error,
    },

    /// The I/O priority is out of range or was refused.
    #[error("cannot set ioPriority `{class}` {priority}")]
    IoPriority {
        /// The class, as the spec names it.
        class: String,
        /// The priority.
        priority: i64,
        /// The cause.
        #[source]
        source: nix::Error,
    },

    /// The scheduler attributes were refused.
    #[error("cannot set scheduler policy `{policy}`")]
    Scheduler {
        /// The policy, as the spec names it.
        policy: String,
        /// The cause.
        #[source]
        source: nix::Error,
    },

    /// A CPU list that does not parse, or names a CPU past what the kernel handles.
    #[error("invalid CPU list `{cpus}`")]
    CpuList {
        /// The list.
        cpus: String,
    },

    /// The CPU affinity was refused.
    #[error("cannot set CPU affinity to `{cpus}`")]
    CpuAffinity {
        /// The list.
        cpus: String,
        /// The cause.
        #[source]
        source: nix::Error,
    },
}

/// Applies `process`'s security settings to the calling process, in this order:
///
/// 1. rlimits;
/// 2. I/O priority and scheduler (while the process may still hold `CAP_SYS_NICE`);
/// 3. the capability bounding set;
/// 4. supplementary groups, gid, uid (keeping the permitted capabilities across the switch);
/// 5. the effective, permitted and inheritable sets, then the ambient set;
/// 6. the umask;
/// 7. `execCPUAffinity.final`.
///
/// `capabilities: None` means every set empty. `noNewPrivileges` and seccomp are separate
/// ([`set_no_new_privileges`], [`crate::seccomp`]) because their order against this
/// depends on whether the seccomp filter needs `CAP_SYS_ADMIN` to be loaded.
pub fn apply_process_security(process: &Process) -> Result<(), ProcessError> {
    rlimits::apply(process.rlimits().as_deref().unwrap_or_default())?;
    if let Some(io_priority) = process.io_priority() {
        scheduling::set_io_priority(io_priority)?;
    }
    if let Some(scheduler) = process.scheduler() {
        scheduling::set_scheduler(scheduler)?;
    }

    let caps = capabilities::CapabilitySets::from_spec(process.capabilities().as_ref());
    caps.drop_bounding()?;

    let user = process.user();
    // Keep the permitted set across the switch away from uid 0; it is trimmed right after.
    set_keepcaps(true)?;
    user::set_groups(user.additional_gids().as_deref().unwrap_or_default())?;
    user::set_ids(user.uid(), user.gid())?;
    set_keepcaps(false)?;
    caps.apply()?;

    if let Some(umask) = user.umask() {
        user::set_umask(umask);
    }
    if let Some(cpus) = process
        .exec_cpu_affinity()
        .as_ref()
        .and_then(|affinity| affinity.cpu_affinity_final().as_deref())
    {
        scheduling::set_cpu_affinity(cpus)?;
    }
    Ok(())
}

/// Applies `execCPUAffinity.initial`, if given: the CPUs the runtime's child runs on
/// before it joins the container's cgroup (the caller decides when that is).
pub fn apply_initial_cpu_affinity(process: &Process) -> Result<(), ProcessError> {
    match process
        .exec_cpu_affinity()
        .as_ref()
        .and_then(|affinity| affinity.initial().as_deref())
    {
        Some(cpus) => scheduling::set_cpu_affinity(cpus),
        None => Ok(()),
    }
}

/// Sets `PR_SET_NO_NEW_PRIVS`: execve can no longer grant privileges (setuid bits, file
/// capabilities), and a seccomp filter can be loaded without `CAP_SYS_ADMIN`.
pub fn set_no_new_privileges() -> Result<(), ProcessError> {
    nix::sys::prctl::set_no_new_privs().map_err(|source| ProcessError::Sys {
        what: "cannot set no_new_privs".to_string(),
        source,
    })
}

/// `PR_SET_KEEPCAPS`.
fn set_keepcaps(keep: bool) -> Result<(), ProcessError> {
    nix::sys::prctl::set_keepcaps(keep).map_err(|source| ProcessError::Sys {
        what: format!("cannot set PR_SET_KEEPCAPS to {}", u8::from(keep)),
        source,
    })
}
