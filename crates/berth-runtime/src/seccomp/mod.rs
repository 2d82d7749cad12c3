//! Seccomp: the spec's `linux.seccomp` compiled to a BPF filter with libseccomp.
//!
//! The filter is compiled in the runtime process, before any namespace or cgroup exists, so
//! that a bad profile is reported without leaving anything behind; the container's init
//! loads the compiled filter just before `execve`.
//!
//! ## Why the program is plain bytes
//!
//! [`compile`] asks libseccomp to build the filter and then exports the BPF instructions
//! it generated; [`SeccompProgram`] holds only those bytes and the kernel flags.
//! [`SeccompProgram::load`] is a single `seccomp(2)` system call: no allocation, no
//! library state, so it is safe in a child forked from a multi-threaded runtime, and a
//! program compiled once can be loaded by any number of children (every `exec`).
//!
//! ## Semantics (those of runc)
//!
//! - The native architecture is always in the filter; each listed `SCMP_ARCH_*` is added.
//! - A syscall name this libseccomp does not know on the native architecture is skipped
//!   and remembered in [`SeccompProgram::unknown_syscalls`].
//! - A rule whose action equals the default action is skipped (libseccomp refuses it).
//! - `SCMP_ACT_ERRNO` and `SCMP_ACT_TRACE` return `errnoRet`, `EPERM` when absent.
//! - The argument conditions of a rule are ANDed; when two of them test the same argument
//!   index (which an AND could never satisfy for `==`), each condition becomes a rule of
//!   its own, so they are ORed.
//! - `noNewPrivileges` is the caller's business: loading needs either it or
//!   `CAP_SYS_ADMIN`, so a caller without NNP loads the filter before dropping capabilities.

mod compile;
mod load;

pub use compile::compile;

use std::path::PathBuf;

/// Errors of seccomp compilation and loading.
#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    /// libseccomp refused the filter.
    #[error("seccomp: {0}")]
    Libseccomp(#[from] libseccomp::error::SeccompError),

    /// libseccomp could not create a filter with this default action.
    #[error("seccomp: cannot use default action `{action}`")]
    DefaultAction {
        /// The action, as the spec names it.
        action: String,
        /// The cause.
        #[source]
        source: libseccomp::error::SeccompError,
    },

    /// An architecture this libseccomp (or kernel) does not support.
    #[error("seccomp: architecture `{arch}` is not supported")]
    Architecture {
        /// The architecture, as the spec names it.
        arch: String,
        /// The cause.
        #[source]
        source: libseccomp::error::SeccompError,
    },

    /// `SCMP_ACT_NOTIFY` was used without `listenerPath`.
    #[error("seccomp: `SCMP_ACT_NOTIFY` for `{syscall}` needs `listenerPath` to be set")]
    NotifyWithoutListener {
        /// The syscall whose rule uses it, or `defaultAction`.
        syscall: String,
    },

    /// `SCMP_ACT_NOTIFY` (a seccomp user-space agent) is not supported by berth.
    #[error(
        "seccomp: `SCMP_ACT_NOTIFY` for `{syscall}` (listener `{}`) is not supported",
        listener.display()
    )]
    NotifyNotSupported {
        /// The syscall whose rule uses it, or `defaultAction`.
        syscall: String,
        /// The spec's `listenerPath`.
        listener: PathBuf,
    },

    /// A filter flag berth does not support.
    #[error("seccomp: flag `{flag}` is not supported: {reason}")]
    Flag {
        /// The flag, as the spec names it.
        flag: String,
        /// Why.
        reason: &'static str,
    },

    /// An `errnoRet` that does not fit the 16 bits seccomp returns.
    #[error("seccomp: errnoRet {errno} of `{syscall}` is out of range (at most 65535)")]
    ErrnoOutOfRange {
        /// The syscall whose rule has it, or `defaultAction`.
        syscall: String,
        /// The value given.
        errno: u32,
    },

    /// An argument index past the six a syscall has.
    #[error("seccomp: argument index {index} of `{syscall}` is out of range (0 to 5)")]
    ArgIndex {
        /// The syscall.
        syscall: String,
        /// The index given.
        index: usize,
    },

    /// libseccomp refused a rule.
    #[error("seccomp: cannot add rule `{action}` for syscall `{syscall}`")]
    Rule {
        /// The syscall.
        syscall: String,
        /// The rule's action, as the spec names it.
        action: String,
        /// The cause.
        #[source]
        source: libseccomp::error::SeccompError,
    },

    /// Exporting the BPF program from libseccomp failed.
    #[error("seccomp: cannot export the compiled filter")]
    Export(#[source] std::io::Error),

    /// The kernel refused the filter.
    #[error("seccomp: loading the filter failed{hint}")]
    Load {
        /// Why it may have failed.
        hint: &'static str,
        /// The cause.
        #[source]
        source: nix::Error,
    },

    /// With `SECCOMP_FILTER_FLAG_TSYNC`, another thread could not be synchronized.
    #[error("seccomp: thread {tid} could not be synchronized (SECCOMP_FILTER_FLAG_TSYNC)")]
    Tsync {
        /// The thread that has an incompatible filter.
        tid: i64,
    },
}

/// A compiled filter, ready to load.
///
/// Plain memory: cloning it, or using it in a forked child, is safe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeccompProgram {
    /// The BPF instructions generated by libseccomp.
    instructions: Vec<load::Instruction>,
    /// `SECCOMP_FILTER_FLAG_*` bits for `seccomp(2)`.
    flags: libc::c_ulong,
    /// Syscall names of the profile that are unknown on this architecture.
    unknown_syscalls: Vec<String>,
}

impl SeccompProgram {
    /// Installs the filter on the calling thread (and so on its exec'd program).
    ///
    /// The caller must have set `no_new_privs` or hold `CAP_SYS_ADMIN`. This does not
    /// allocate, so it may run in a child forked from a multi-threaded process.
    pub fn load(&self) -> Result<(), SeccompError> {
        load::load(&self.instructions, self.flags)
    }

    /// The syscall names of the profile that were skipped because libseccomp does not know
    /// them on this architecture (runc skips them too); for logging.
    pub fn unknown_syscalls(&self) -> &[String] {
        &self.unknown_syscalls
    }

    /// The number of BPF instructions of the filter.
    pub fn len(&self) -> usize {
        self.instructions.len()
    }

    /// Whether the filter has no instructions (never true for a compiled profile).
    pub fn is_empty(&self) -> bool {
        self.instructions.is_empty()
    }
}
