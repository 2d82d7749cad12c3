//! The errors of cgroup management: each names the file, directory or resource
//! concerned, and for writes the value.

use std::path::PathBuf;

/// Errors of cgroup management.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// A cgroup file or directory could not be read or created.
    #[error("accessing cgroup file `{path}` failed")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A value could not be written to a cgroup file.
    #[error("writing `{path}` = `{value}` failed")]
    Write {
        /// The file.
        path: PathBuf,
        /// The value written.
        value: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A cgroup directory could not be removed.
    #[error("removing cgroup `{path}` failed (does it still hold processes?)")]
    Remove {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A cgroup file held something other than what the kernel documents.
    #[error("unexpected content `{content}` in `{path}`")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What it held.
        content: String,
    },
    /// `/proc/self/mountinfo` or `/proc/self/cgroup` could not be read.
    #[error("reading `{path}` to find the cgroup hierarchies failed")]
    Proc {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// No cgroup hierarchy is mounted.
    #[error("no cgroup hierarchy is mounted (see /proc/self/mountinfo)")]
    NoCgroups,
    /// The cgroupsPath tries to leave its hierarchy.
    #[error("cgroupsPath `{path}` must not contain `..`")]
    InvalidPath {
        /// The offending path.
        path: PathBuf,
    },
    /// The spec asks for a limit that no mounted hierarchy can enforce.
    #[error("`{resource}` is requested but controller `{controller}` is not available")]
    MissingController {
        /// The resource field of the spec (e.g. `hugepageLimits`).
        resource: &'static str,
        /// The controller it needs.
        controller: &'static str,
    },
    /// A resource value is out of range or inconsistent.
    #[error("invalid resource `{resource}`: {reason}")]
    InvalidResource {
        /// The resource field of the spec.
        resource: &'static str,
        /// Why it is rejected.
        reason: String,
    },
    /// The cgroup did not reach the frozen state in time.
    #[error("cgroup `{path}` did not become frozen in time (state `{state}`)")]
    FreezeTimeout {
        /// The freezer directory.
        path: PathBuf,
        /// The last state read.
        state: String,
    },
    /// A bpf(2) operation for the v2 device filter failed.
    #[error("bpf `{operation}` for the device filter of `{path}` failed{log}")]
    Bpf {
        /// The bpf command.
        operation: &'static str,
        /// The cgroup directory.
        path: PathBuf,
        /// The verifier log, if any (prefixed with a newline).
        log: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}
