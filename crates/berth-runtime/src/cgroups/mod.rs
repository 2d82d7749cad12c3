//! Control groups: the container's resource limits and accounting.
//!
//! berth runs on every layout found in the wild:
//! - **v1**: one hierarchy per controller (or per group of co-mounted controllers) under
//!   `/sys/fs/cgroup/<controller>`, plus named hierarchies such as `name=systemd`;
//! - **v2**: one unified hierarchy at `/sys/fs/cgroup`;
//! - **hybrid**: v1 controllers plus a v2 tree at `/sys/fs/cgroup/unified` that holds few
//!   or no controllers (systemd's hybrid mode). Controllers bound to v1 are driven through
//!   v1; a controller only the unified tree has (often `hugetlb`) is driven through v2.
//!   The container's process joins every hierarchy, named and unified ones included, so
//!   that systemd-style tools see it.
//!
//! Vocabulary: a *hierarchy* is one mounted cgroup tree; a *controller* (`memory`,
//! `cpu`, ...) is bound to exactly one hierarchy; the container owns one *directory* per
//! hierarchy, the same `cgroupsPath` resolved under each.
//!
//! A [`CgroupManager`] is serialisable so that the container state records exactly which
//! directories belong to the container, and later commands (`kill --all`, `pause`,
//! `update`, `delete`) act on the same ones even if the host's mounts change.

mod bpf;
mod error;
mod fs;
mod layout;
mod resources;
mod stats;
mod v1;
mod v2;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use error::CgroupError;
pub use stats::{
    BlkioEntry, BlkioStats, CpuStats, CpuUsage, HugetlbStats, MemoryEntry, MemoryStats, PidsStats,
    Stats, Throttling,
};

use fs::Dir;
use layout::Hierarchies;

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

/// The container's directory in the unified (v2) hierarchy.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Unified {
    /// Where the cgroup2 hierarchy is mounted; controllers are enabled from here down.
    mount_point: PathBuf,
    /// The container's directory.
    dir: PathBuf,
    /// Controllers driven through this tree (all on v2, the leftovers on hybrid).
    controllers: Vec<String>,
}

/// Which hierarchy drives a controller, with the container's directory in it.
pub(crate) enum Side<'a> {
    V1(Dir<'a>),
    V2(Dir<'a>),
}

/// The cgroup directories of one container.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CgroupManager {
    /// The cgroupsPath the directories were derived from.
    pub path: PathBuf,
    layout: Layout,
    /// v1 directories keyed by controller, or by `name=<name>` for named hierarchies;
    /// co-mounted controllers map to the same directory.
    v1: BTreeMap<String, PathBuf>,
    unified: Option<Unified>,
}

impl CgroupManager {
    /// A manager for `cgroups_path` (the spec's `linux.cgroupsPath`; `None` means
    /// `/berth/<container_id>`), on this host's layout. An absolute path is taken from
    /// each hierarchy's root, a relative one from the caller's own cgroup, and systemd's
    /// `slice:prefix:name` form as the path systemd would give that unit.
    pub fn new(cgroups_path: Option<&Path>, container_id: &str) -> Result<Self, CgroupError> {
        let read = |path: &str| {
            std::fs::read_to_string(path).map_err(|source| CgroupError::Proc {
                path: path.into(),
                source,
            })
        };
        let mountinfo = read("/proc/self/mountinfo")?;
        let own = read("/proc/self/cgroup")?;
        Self::with_tables(&mountinfo, &own, cgroups_path, container_id)
    }

    /// Like [`CgroupManager::new`], from the text of a `mountinfo` and of a
    /// `/proc/<pid>/cgroup` file: lets tests lay out a fake v1, v2 or hybrid host in a
    /// temporary directory.
    pub fn with_tables(
        mountinfo: &str,
        proc_cgroup: &str,
        cgroups_path: Option<&Path>,
        container_id: &str,
    ) -> Result<Self, CgroupError> {
        let path = cgroups_path
            .map(layout::from_systemd_form)
            .unwrap_or_else(|| Path::new("/berth").join(container_id));
        let hierarchies = Hierarchies::from_mountinfo(mountinfo);
        let layout = hierarchies.layout().ok_or(CgroupError::NoCgroups)?;
        let own = layout::parse_proc_cgroup(proc_cgroup);
        let mut v1 = BTreeMap::new();
        if layout != Layout::V2 {
            for (key, mount) in &hierarchies.v1 {
                let own = own.get(key).map(PathBuf::as_path);
                v1.insert(key.clone(), layout::cgroup_dir(mount, &path, own)?);
            }
        }
        let unified = match &hierarchies.unified {
            Some(mount) => {
                let own = own.get("").map(PathBuf::as_path);
                let available = Dir(&mount.mount_point)
                    .read_opt("cgroup.controllers")?
                    .unwrap_or_default();
                Some(Unified {
                    mount_point: mount.mount_point.clone(),
                    dir: layout::cgroup_dir(mount, &path, own)?,
                    controllers: available
                        .split_whitespace()
                        .filter(|c| !v1.contains_key(*c))
                        .map(str::to_owned)
                        .collect(),
                })
            }
            None => None,
        };
        Ok(Self {
            path,
            layout,
            v1,
            unified,
        })
    }

    /// The host's layout this manager was made for.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// Every directory of the container, one per hierarchy.
    pub fn directories(&self) -> Vec<&Path> {
        let mut dirs: Vec<&Path> = self.v1.values().map(PathBuf::as_path).collect();
        dirs.extend(self.unified.as_ref().map(|u| u.dir.as_path()));
        dirs.sort();
        dirs.dedup();
        dirs
    }

    /// Whether any of the container's directories exists.
    pub fn exists(&self) -> bool {
        self.directories().iter().any(|d| d.is_dir())
    }

    /// Creates the directories in every hierarchy.
    pub fn create(&self) -> Result<(), CgroupError> {
        for dir in self.directories() {
            fs::create_dir_all(dir)?;
        }
        if let Some(dir) = self.v1.get("cpuset") {
            v1::init_cpuset(dir)?;
        }
        // On v2 every controller is delegated up front, as runc does, so that stats
        // work for all. On hybrid the unified tree is the host's systemd tree: it is
        // changed only when a limit needs one of its controllers (see `side`).
        if let (Layout::V2, Some(unified)) = (self.layout, &self.unified) {
            v2::enable_controllers(&unified.mount_point, &unified.dir, &unified.controllers);
        }
        Ok(())
    }

    /// Moves process `pid` into the cgroup, in every hierarchy.
    pub fn add_process(&self, pid: i32) -> Result<(), CgroupError> {
        for dir in self.directories() {
            Dir(dir).write("cgroup.procs", &pid.to_string())?;
        }
        Ok(())
    }

    /// Freezes every process of the cgroup, and waits until the kernel reports it frozen.
    pub fn freeze(&self) -> Result<(), CgroupError> {
        match self.freezer()? {
            Side::V1(dir) => v1::set_frozen(dir, true),
            Side::V2(dir) => v2::set_frozen(dir, true),
        }
    }

    /// Thaws a frozen cgroup.
    pub fn thaw(&self) -> Result<(), CgroupError> {
        match self.freezer()? {
            Side::V1(dir) => v1::set_frozen(dir, false),
            Side::V2(dir) => v2::set_frozen(dir, false),
        }
    }

    /// Whether the cgroup is frozen.
    pub fn is_frozen(&self) -> Result<bool, CgroupError> {
        match self.freezer()? {
            Side::V1(dir) => Ok(dir.read("freezer.state")? == "FROZEN"),
            Side::V2(dir) => v2::is_frozen(dir),
        }
    }

    /// The host pids of every process in the cgroup and in the cgroups below it.
    pub fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        let mut pids = Vec::new();
        if let Some(dir) = self.process_dir() {
            fs::pids_recursive(dir, &mut pids)?;
        }
        pids.sort_unstable();
        pids.dedup();
        Ok(pids)
    }

    /// Current statistics.
    pub fn stats(&self) -> Result<Stats, CgroupError> {
        let mut stats = Stats::default();
        let v2 = |controller: &str| self.v2_has(controller);
        if let Some(dir) = self.v1.get("cpuacct") {
            stats::v1_cpuacct(Dir(dir), &mut stats.cpu)?;
        }
        if let Some(dir) = self.v1.get("cpu") {
            stats::v1_throttling(Dir(dir), &mut stats.cpu)?;
        } else if let Some(dir) = v2("cpu").or_else(|| self.unified_dir()) {
            // `cpu.stat` with usage is always present on v2, even without the controller.
            stats::v2_cpu(dir, &mut stats.cpu)?;
        }
        if let Some(dir) = self.v1.get("memory") {
            stats.memory = stats::v1_memory(Dir(dir))?;
        } else if let Some(dir) = v2("memory") {
            stats.memory = stats::v2_memory(dir)?;
        }
        if let Some(dir) = self.v1.get("pids").map(|d| Dir(d)).or_else(|| v2("pids")) {
            stats.pids = stats::pids(dir)?;
        }
        if let Some(dir) = self.v1.get("blkio") {
            stats.blkio = stats::v1_blkio(Dir(dir))?;
        } else if let Some(dir) = v2("io") {
            stats.blkio = stats::v2_io(dir)?;
        }
        if let Some(dir) = self.v1.get("hugetlb") {
            stats.hugetlb = stats::v1_hugetlb(Dir(dir))?;
        } else if let Some(dir) = v2("hugetlb") {
            stats.hugetlb = stats::v2_hugetlb(dir)?;
        }
        Ok(stats)
    }

    /// How many processes of the cgroup the kernel's OOM killer has killed so far
    /// (`oom_kill` of v1 `memory.oom_control` or v2 `memory.events`); 0 when the
    /// kernel does not count them.
    pub fn oom_kill_count(&self) -> Result<u64, CgroupError> {
        let counters = if let Some(dir) = self.v1.get("memory") {
            Dir(dir).read_keyed("memory.oom_control")?
        } else if let Some(dir) = self.v2_has("memory") {
            dir.read_keyed("memory.events")?
        } else {
            return Ok(0);
        };
        Ok(counters.get("oom_kill").copied().unwrap_or(0))
    }

    /// Removes the directories (they must hold no process), sub-cgroups included.
    /// Every hierarchy is attempted; the first failure is returned.
    pub fn destroy(&self) -> Result<(), CgroupError> {
        let mut first_error = None;
        for dir in self.directories() {
            if let Err(e) = fs::remove_cgroup_tree(dir) {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// The hierarchy that drives `controller`: v1 when bound there, else the unified
    /// tree when it offers the controller.
    pub(crate) fn side(
        &self,
        resource: &'static str,
        controller: &'static str,
    ) -> Result<Side<'_>, CgroupError> {
        if let Some(dir) = self.v1.get(controller) {
            return Ok(Side::V1(Dir(dir)));
        }
        let unified = self
            .unified
            .as_ref()
            .filter(|u| u.controllers.iter().any(|c| c == controller))
            .ok_or(CgroupError::MissingController {
                resource,
                controller,
            })?;
        if self.layout == Layout::Hybrid {
            let wanted = [controller.to_owned()];
            v2::enable_controllers(&unified.mount_point, &unified.dir, &wanted);
        }
        Ok(Side::V2(Dir(&unified.dir)))
    }

    /// The unified directory, if the unified tree offers `controller`.
    pub(crate) fn v2_has(&self, controller: &str) -> Option<Dir<'_>> {
        self.unified
            .as_ref()
            .filter(|u| u.controllers.iter().any(|c| c == controller))
            .map(|u| Dir(&u.dir))
    }

    fn unified_dir(&self) -> Option<Dir<'_>> {
        self.unified.as_ref().map(|u| Dir(&u.dir))
    }

    /// v1's freezer when mounted, else v2's `cgroup.freeze` (a core file of every
    /// non-root v2 cgroup).
    fn freezer(&self) -> Result<Side<'_>, CgroupError> {
        if let Some(dir) = self.v1.get("freezer") {
            Ok(Side::V1(Dir(dir)))
        } else if let Some(dir) = self.unified_dir() {
            Ok(Side::V2(dir))
        } else {
            Err(CgroupError::MissingController {
                resource: "pause",
                controller: "freezer",
            })
        }
    }

    /// The directory whose `cgroup.procs` lists the container's processes.
    fn process_dir(&self) -> Option<&Path> {
        match self.layout {
            Layout::V2 => self.unified.as_ref().map(|u| u.dir.as_path()),
            Layout::V1 | Layout::Hybrid => self
                .v1
                .get("freezer")
                .or_else(|| self.v1.get("pids"))
                .or_else(|| self.v1.values().next())
                .map(PathBuf::as_path),
        }
    }
}

#[cfg(test)]
mod tests;
