//! Seccomp: the spec's `linux.seccomp` compiled to a BPF filter with libseccomp.
//!
//! The filter is compiled in the runtime process, before any namespace or cgroup exists, so
//! that a bad profile is reported without leaving anything behind; the container's init
//! loads the compiled filter just before `execve`.
//!
//! SKELETON: the security helper replaces this file.

use oci_spec::runtime::LinuxSeccomp;

/// Errors of seccomp compilation and loading.
#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    /// libseccomp refused the filter.
    #[error("seccomp: {0}")]
    Libseccomp(#[from] libseccomp::error::SeccompError),
}

/// A compiled filter, ready to load.
#[derive(Debug)]
pub struct SeccompProgram {}

/// Compiles `seccomp` for the native architecture (and the other listed ones).
pub fn compile(_seccomp: &LinuxSeccomp) -> Result<SeccompProgram, SeccompError> {
    Ok(SeccompProgram {})
}

impl SeccompProgram {
    /// Installs the filter on the calling thread (and so on its exec'd program).
    pub fn load(&self) -> Result<(), SeccompError> {
        Ok(())
    }
}
