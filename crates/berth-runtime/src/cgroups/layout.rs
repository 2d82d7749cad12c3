//! Finding the cgroup hierarchies of this host and the container's directory in each.
//!
//! The source of truth is `/proc/self/mountinfo` (which hierarchies are mounted where,
//! and which controllers each carries) together with `/proc/self/cgroup` (where the
//! calling process sits in each hierarchy, for relative `cgroupsPath`s). Both are parsed
//! from text so that tests can describe a fake host whose mount points are temp dirs.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use super::{CgroupError, Layout};

/// The v1 controllers berth knows; other options of a v1 mount (`rw`, `xattr`,
/// `release_agent=...`) are not controllers.
const V1_CONTROLLERS: &[&str] = &[
    "cpu",
    "cpuacct",
    "cpuset",
    "memory",
    "devices",
    "freezer",
    "net_cls",
    "net_prio",
    "blkio",
    "perf_event",
    "hugetlb",
    "pids",
    "rdma",
    "misc",
];

/// One mounted cgroup hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mount {
    /// Where it is mounted.
    pub(crate) mount_point: PathBuf,
    /// The cgroup (within the hierarchy) shown at the mount point; `/` unless the mount
    /// is a bind mount of a sub-tree or was made inside a cgroup namespace.
    pub(crate) root: PathBuf,
}

/// Every cgroup hierarchy of the host.
#[derive(Debug, Clone, Default)]
pub(crate) struct Hierarchies {
    /// v1 hierarchies keyed by controller (`cpu`, `memory`, ...) or by `name=<name>` for
    /// named hierarchies; co-mounted controllers share one [`Mount`].
    pub(crate) v1: BTreeMap<String, Mount>,
    /// The cgroup2 hierarchy, if mounted.
    pub(crate) unified: Option<Mount>,
}

impl Hierarchies {
    /// Parses `/proc/self/mountinfo` text. The first mount of each hierarchy wins.
    pub(crate) fn from_mountinfo(text: &str) -> Self {
        let mut found = Self::default();
        for line in text.lines() {
            // `id parent major:minor root mount-point options [optional...] - fstype source super-options`
            let Some((left, right)) = line.split_once(" - ") else {
                continue;
            };
            let left: Vec<&str> = left.split(' ').collect();
            let right: Vec<&str> = right.split(' ').collect();
            let (Some(root), Some(mount_point), Some(fstype)) =
                (left.get(3), left.get(4), right.first())
            else {
                continue;
            };
            let mount = Mount {
                mount_point: PathBuf::from(unescape(mount_point)),
                root: PathBuf::from(unescape(root)),
            };
            match *fstype {
                "cgroup2" => {
                    found.unified.get_or_insert(mount);
                }
                "cgroup" => {
                    let options = right.get(2).copied().unwrap_or_default();
                    for option in options.split(',') {
                        if V1_CONTROLLERS.contains(&option) || option.starts_with("name=") {
                            found
                                .v1
                                .entry(option.to_owned())
                                .or_insert_with(|| mount.clone());
                        }
                    }
                }
                _ => {}
            }
        }
        found
    }

    /// The layout these hierarchies form. Named-only v1 hierarchies (systemd's
    /// `name=systemd` on a v2 host) do not make a host hybrid: only controllers count.
    pub(crate) fn layout(&self) -> Option<Layout> {
        let v1_controllers = self.v1.keys().any(|k| !k.starts_with("name="));
        match (v1_controllers, self.unified.is_some()) {
            (true, true) => Some(Layout::Hybrid),
            (true, false) => Some(Layout::V1),
            (false, true) => Some(Layout::V2),
            (false, false) => None,
        }
    }
}

/// Parses `/proc/self/cgroup`: the calling process's cgroup per hierarchy, keyed like
/// [`Hierarchies::v1`] (every controller of a co-mounted line gets the path) plus `""`
/// for the v2 line `0::/path`.
pub(crate) fn parse_proc_cgroup(text: &str) -> BTreeMap<String, PathBuf> {
    let mut own = BTreeMap::new();
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_id), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if controllers.is_empty() {
            own.insert(String::new(), PathBuf::from(path));
        } else {
            for controller in controllers.split(',') {
                own.insert(controller.to_owned(), PathBuf::from(path));
            }
        }
    }
    own
}

/// The directory of cgroup `cgroup` (an absolute path within the hierarchy) under
/// `mount`. A relative `cgroups_path` is resolved against `own` (the caller's cgroup in
/// that hierarchy); the mount's root is stripped since it is what the mount point shows.
pub(crate) fn cgroup_dir(
    mount: &Mount,
    cgroups_path: &Path,
    own: Option<&Path>,
) -> Result<PathBuf, CgroupError> {
    check_no_dotdot(cgroups_path)?;
    let full = if cgroups_path.is_absolute() {
        cgroups_path.to_path_buf()
    } else {
        let own = own.unwrap_or(Path::new("/"));
        own.join(cgroups_path)
    };
    let inside = full
        .strip_prefix(&mount.root)
        .map(Path::to_path_buf)
        // An absolute path outside the mount's root is taken relative to the mount
        // point, as runc does inside a cgroup namespace.
        .unwrap_or_else(|_| full.strip_prefix("/").unwrap_or(&full).to_path_buf());
    Ok(mount.mount_point.join(inside))
}

/// A cgroupsPath in systemd's `slice:prefix:name` form (what dockerd and kubelet send
/// when configured for the systemd driver) as the cgroupfs path systemd would use:
/// `system.slice:docker:abc` is `/system.slice/docker-abc.scope`, and a nested slice
/// `a-b.slice` lives in `/a.slice/a-b.slice`. Other paths are returned unchanged.
pub(crate) fn from_systemd_form(path: &Path) -> PathBuf {
    let Some(text) = path.to_str() else {
        return path.to_path_buf();
    };
    let parts: Vec<&str> = text.split(':').collect();
    let [slice, prefix, name] = parts[..] else {
        return path.to_path_buf();
    };
    if text.contains('/') || name.is_empty() {
        return path.to_path_buf();
    }
    let slice = if slice.is_empty() {
        "system.slice"
    } else {
        slice
    };
    let mut full = PathBuf::from("/");
    if slice != "-.slice" {
        let stem = slice.strip_suffix(".slice").unwrap_or(slice);
        let mut prefix_so_far = String::new();
        for piece in stem.split('-') {
            if !prefix_so_far.is_empty() {
                prefix_so_far.push('-');
            }
            prefix_so_far.push_str(piece);
            full.push(format!("{prefix_so_far}.slice"));
        }
    }
    let unit = if name.ends_with(".slice") {
        name.to_owned()
    } else if prefix.is_empty() {
        format!("{name}.scope")
    } else {
        format!("{prefix}-{name}.scope")
    };
    full.push(unit);
    full
}

/// `..` in a cgroupsPath would escape the hierarchy.
fn check_no_dotdot(path: &Path) -> Result<(), CgroupError> {
    if path.components().any(|c| c == Component::ParentDir) {
        return Err(CgroupError::InvalidPath {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

/// Undoes mountinfo's octal escapes (`\040` for a space, ...).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).and_then(|d| {
            std::str::from_utf8(d)
                .ok()
                .and_then(|d| u8::from_str_radix(d, 8).ok())
        });
        match (bytes[i], octal) {
            (b'\\', Some(byte)) => {
                out.push(byte);
                i += 4;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset,clone_children
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,release_agent=/x,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
";

    #[test]
    fn hybrid_mountinfo_gives_comounted_and_named_hierarchies() {
        let h = Hierarchies::from_mountinfo(HYBRID);
        assert_eq!(h.layout(), Some(Layout::Hybrid));
        let cpu = &h.v1["cpu"];
        assert_eq!(cpu.mount_point, Path::new("/sys/fs/cgroup/cpu,cpuacct"));
        assert_eq!(h.v1["cpuacct"], *cpu);
        assert_eq!(
            h.v1["name=systemd"].mount_point,
            Path::new("/sys/fs/cgroup/systemd")
        );
        assert!(!h.v1.contains_key("xattr") && !h.v1.contains_key("clone_children"));
        assert_eq!(
            h.unified.map(|m| m.mount_point),
            Some(PathBuf::from("/sys/fs/cgroup/unified"))
        );
    }

    #[test]
    fn layouts_of_pure_hosts() {
        let v2 = "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n\
                  31 30 0:27 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n";
        assert_eq!(Hierarchies::from_mountinfo(v2).layout(), Some(Layout::V2));
        let v1 = "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";
        assert_eq!(Hierarchies::from_mountinfo(v1).layout(), Some(Layout::V1));
        assert_eq!(Hierarchies::from_mountinfo("").layout(), None);
    }

    #[test]
    fn systemd_style_paths_become_their_cgroupfs_paths() {
        let cases = [
            ("system.slice:docker:abc", "/system.slice/docker-abc.scope"),
            (
                "kubepods-besteffort.slice:cri:x",
                "/kubepods.slice/kubepods-besteffort.slice/cri-x.scope",
            ),
            ("-.slice::c", "/c.scope"),
            (":p:n", "/system.slice/p-n.scope"),
        ];
        for (given, expected) in cases {
            assert_eq!(
                from_systemd_form(Path::new(given)),
                Path::new(expected),
                "{given}"
            );
        }
        for plain in ["/berth/x", "rel/a:b:c", "a:b"] {
            assert_eq!(from_systemd_form(Path::new(plain)), Path::new(plain));
        }
    }

    #[test]
    fn mount_points_with_spaces_are_unescaped() {
        let text = "35 31 0:32 / /tmp/a\\040b rw - cgroup cgroup rw,memory\n";
        let h = Hierarchies::from_mountinfo(text);
        assert_eq!(h.v1["memory"].mount_point, Path::new("/tmp/a b"));
    }

    #[test]
    fn proc_cgroup_maps_each_controller_and_the_unified_line() {
        let own = parse_proc_cgroup("4:memory:/a/b\n2:cpu,cpuacct:/c\n1:name=systemd:/s\n0::/u\n");
        assert_eq!(own["memory"], Path::new("/a/b"));
        assert_eq!(own["cpuacct"], Path::new("/c"));
        assert_eq!(own["name=systemd"], Path::new("/s"));
        assert_eq!(own[""], Path::new("/u"));
    }

    #[test]
    fn absolute_relative_and_rooted_paths_resolve_under_the_mount() {
        let m = Mount {
            mount_point: "/sys/fs/cgroup/memory".into(),
            root: "/".into(),
        };
        let abs = cgroup_dir(&m, Path::new("/berth/x"), Some(Path::new("/me"))).unwrap();
        assert_eq!(abs, Path::new("/sys/fs/cgroup/memory/berth/x"));
        let rel = cgroup_dir(&m, Path::new("berth/x"), Some(Path::new("/me"))).unwrap();
        assert_eq!(rel, Path::new("/sys/fs/cgroup/memory/me/berth/x"));
        let nested = Mount {
            mount_point: "/sys/fs/cgroup/memory".into(),
            root: "/docker/abc".into(),
        };
        let rel = cgroup_dir(&nested, Path::new("x"), Some(Path::new("/docker/abc/me"))).unwrap();
        assert_eq!(rel, Path::new("/sys/fs/cgroup/memory/me/x"));
        assert!(matches!(
            cgroup_dir(&m, Path::new("/a/../../etc"), None),
            Err(CgroupError::InvalidPath { .. })
        ));
    }
}
