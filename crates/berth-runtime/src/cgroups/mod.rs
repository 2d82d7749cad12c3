//! Control groups: the container's resource limits and accounting.
//!
//! berth runs on every layout found in the wild:
//! - **v1**: one hierarchy per controller under `/sys/fs/cgroup/<controller>`;
//! - **v2**: one unified hierarchy at `/sys/fs/cgroup`;
//! - **hybrid**: v1 controllers plus a v2 tree at `/sys/fs/cgroup/unified` that holds few
//!   or no controllers (systemd's hybrid mode). Controllers are taken from v1; the unified
//!   tree only receives the process so that systemd-style tools see it.
//!
//! A [`CgroupManager`] is serialisable so that the container state records exactly which
//! directories belong to the container, and later commands (`kill --all`, `pause`,
//! `update`, `delete`) act on the same ones.
//!
//! SKELETON: the cgroups helper replaces this file and adds `v1.rs`, `v2.rs`, ...

use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;
use serde::{Deserialize, Serialize};

/// Errors of cgroup management.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// A cgroup file could not be read or written.
    #[error("cgroup file `{path}`")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// The cgroup layout of this host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Layout {
    /// Only v1 hierarchies.
    V1,
    /// Only the v2 unified hierarchy.
    V2,
    /// v1 controllers plus a v2 unified tree.
    Hybrid,
}

/// Resource statistics, shaped like runc's `events --stats` data.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Stats {}

/// The cgroup directories of one container.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CgroupManager {
    /// The path relative to each hierarchy's root.
    pub path: PathBuf,
}

impl CgroupManager {
    /// A manager for `cgroups_path` (the spec's `linux.cgroupsPath`; `None` means
    /// `/berth/<container_id>`), on this host's layout.
    pub fn new(cgroups_path: Option<&Path>, container_id: &str) -> Result<Self, CgroupError> {
        let path = cgroups_path
            .map(Path::to_path_buf)
            .unwrap_or_else(|| Path::new("/berth").join(container_id));
        Ok(Self { path })
    }
    /// Creates the directories in every hierarchy.
    pub fn create(&self) -> Result<(), CgroupError> {
        Ok(())
    }
    /// Writes the limits of `resources` (also used by `update`).
    pub fn apply(&self, _resources: &LinuxResources) -> Result<(), CgroupError> {
        Ok(())
    }
    /// Moves process `pid` into the cgroup, in every hierarchy.
    pub fn add_process(&self, _pid: i32) -> Result<(), CgroupError> {
        Ok(())
    }
    /// Freezes every process of the cgroup.
    pub fn freeze(&self) -> Result<(), CgroupError> {
        Ok(())
    }
    /// Thaws a frozen cgroup.
    pub fn thaw(&self) -> Result<(), CgroupError> {
        Ok(())
    }
    /// Whether the cgroup is frozen.
    pub fn is_frozen(&self) -> Result<bool, CgroupError> {
        Ok(false)
    }
    /// The host pids of every process in the cgroup.
    pub fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        Ok(Vec::new())
    }
    /// Current statistics.
    pub fn stats(&self) -> Result<Stats, CgroupError> {
        Ok(Stats::default())
    }
    /// How many processes the OOM killer killed in the cgroup.
    pub fn oom_kill_count(&self) -> Result<u64, CgroupError> {
        Ok(0)
    }
    /// Removes the directories (they must hold no process).
    pub fn destroy(&self) -> Result<(), CgroupError> {
        Ok(())
    }
}
