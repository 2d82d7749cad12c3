//! The container's mounts, as Docker lays them out:
//!
//! 1. the default set (`/proc`, `/dev`, `/dev/pts`, `/sys`, `/sys/fs/cgroup`,
//!    `/dev/mqueue`, `/dev/shm`), minus those a user mount replaces (same destination,
//!    or anything under `/dev` when the user mounts `/dev`). `--read-only` adds `ro` to
//!    those of them outside `/proc` and `/dev`; `--privileged` makes `/sys` and the cgroup
//!    file system writable;
//! 2. then the user's mounts (volumes, binds, tmpfs, `--tmpfs`, the daemon's
//!    `/etc/{resolv.conf,hosts,hostname}` and the init binary) sorted by the depth of their
//!    destination, so that a parent is mounted before its children (a stable sort: equal
//!    depths keep their order).
//!
//! Binds get `rbind` (or `bind`), `ro` when read-only and their propagation (`rprivate`
//! by default). A tmpfs gets `noexec,nosuid,nodev` before the user's options, and the
//! options are merged as Docker's `MergeTmpfsOptions` does: a later flag overrides an
//! earlier one of the same kind (`exec` over `noexec`), a later `key=value` an earlier one.

use std::path::{Component, Path, PathBuf};

use oci_spec::runtime::Mount;

use super::{ResolvedMount, SpecError};

/// Where `--init` puts the init binary.
pub const INIT_PATH: &str = "/sbin/docker-init";

/// The default `/dev/shm` size (64 MiB).
pub const DEFAULT_SHM_SIZE: i64 = 64 * 1024 * 1024;

/// How the IPC namespace is set up, for `/dev/shm` and `/dev/mqueue`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpcMounts {
    /// A private (or joined) IPC namespace: a fresh tmpfs and mqueue.
    Private,
    /// The host's: bind its `/dev/shm` and `/dev/mqueue`.
    Host,
    /// `--ipc none`: no `/dev/shm` at all.
    None,
}

/// What shapes the default mounts.
#[derive(Debug, Clone, Copy)]
pub struct DefaultMountOptions {
    /// `--privileged`.
    pub privileged: bool,
    /// `--read-only`.
    pub readonly_rootfs: bool,
    /// `/sys/fs/cgroup` read-write.
    pub writable_cgroups: bool,
    /// `--shm-size` in bytes.
    pub shm_size: i64,
    /// IPC mode.
    pub ipc: IpcMounts,
}

fn mount(destination: &str, typ: &str, source: &str, options: &[&str]) -> Mount {
    let mut m = Mount::default();
    m.set_destination(PathBuf::from(destination));
    m.set_typ(Some(typ.to_string()));
    m.set_source(Some(PathBuf::from(source)));
    m.set_options(Some(options.iter().map(|o| o.to_string()).collect()));
    m
}

/// Docker's default mounts for these options.
pub fn default_mounts(opts: &DefaultMountOptions) -> Result<Vec<Mount>, SpecError> {
    if opts.shm_size < 0 {
        return Err(SpecError::Invalid("SHM size can not be less than 0".into()));
    }
    let shm_size = if opts.shm_size == 0 {
        DEFAULT_SHM_SIZE
    } else {
        opts.shm_size
    };
    let sys_mode = if opts.privileged { "rw" } else { "ro" };
    let cgroup_mode = if opts.privileged || opts.writable_cgroups {
        "rw"
    } else {
        "ro"
    };
    let mut mounts = vec![
        mount("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"]),
        mount(
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        ),
        mount(
            "/dev/pts",
            "devpts",
            "devpts",
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        ),
        mount(
            "/sys",
            "sysfs",
            "sysfs",
            &["nosuid", "noexec", "nodev", sys_mode],
        ),
        mount(
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            &["nosuid", "noexec", "nodev", cgroup_mode],
        ),
    ];
    match opts.ipc {
        IpcMounts::Private => {
            mounts.push(mount(
                "/dev/mqueue",
                "mqueue",
                "mqueue",
                &["nosuid", "noexec", "nodev"],
            ));
            let size = format!("size={shm_size}");
            mounts.push(mount(
                "/dev/shm",
                "tmpfs",
                "shm",
                &["nosuid", "noexec", "nodev", "mode=1777", &size],
            ));
        }
        IpcMounts::Host => {
            mounts.push(mount(
                "/dev/mqueue",
                "bind",
                "/dev/mqueue",
                &["rbind", "nosuid", "noexec", "nodev"],
            ));
            mounts.push(mount(
                "/dev/shm",
                "bind",
                "/dev/shm",
                &["rbind", "rprivate"],
            ));
        }
        IpcMounts::None => mounts.push(mount(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            &["nosuid", "noexec", "nodev"],
        )),
    }
    if opts.readonly_rootfs {
        for m in &mut mounts {
            let dest = m.destination().to_string_lossy().into_owned();
            if matches!(
                dest.as_str(),
                "/proc" | "/dev" | "/dev/pts" | "/dev/shm" | "/dev/mqueue"
            ) {
                continue;
            }
            let options = m.options().clone().unwrap_or_default();
            if !options.iter().any(|o| o == "ro") {
                let mut options: Vec<String> = options.into_iter().filter(|o| o != "rw").collect();
                options.push("ro".to_string());
                m.set_options(Some(options));
            }
        }
    }
    Ok(mounts)
}

/// A resolved user mount as an OCI mount.
pub fn user_mount(resolved: &ResolvedMount) -> Result<Mount, SpecError> {
    match resolved {
        ResolvedMount::Bind {
            source,
            destination,
            read_only,
            propagation,
            non_recursive,
        } => Ok(bind_mount(
            source,
            destination,
            *read_only,
            propagation.as_deref(),
            *non_recursive,
        )),
        ResolvedMount::Tmpfs {
            destination,
            options,
        } => tmpfs_mount(destination, options),
    }
}

/// A bind mount with Docker's options.
pub fn bind_mount(
    source: &Path,
    destination: &str,
    read_only: bool,
    propagation: Option<&str>,
    non_recursive: bool,
) -> Mount {
    let mut options = vec![if non_recursive { "bind" } else { "rbind" }.to_string()];
    if read_only {
        options.push("ro".to_string());
    }
    options.push(
        propagation
            .filter(|p| !p.is_empty())
            .unwrap_or("rprivate")
            .to_string(),
    );
    let mut m = Mount::default();
    m.set_destination(PathBuf::from(destination));
    m.set_typ(Some("bind".to_string()));
    m.set_source(Some(source.to_path_buf()));
    m.set_options(Some(options));
    m
}

/// A tmpfs with Docker's default and merged options.
pub fn tmpfs_mount(destination: &str, user_options: &str) -> Result<Mount, SpecError> {
    let mut options: Vec<&str> = vec!["noexec", "nosuid", "nodev", "rprivate"];
    options.extend(user_options.split(',').filter(|o| !o.is_empty()));
    let merged = merge_tmpfs_options(&options)?;
    let mut m = Mount::default();
    m.set_destination(PathBuf::from(destination));
    m.set_typ(Some("tmpfs".to_string()));
    m.set_source(Some(PathBuf::from("tmpfs")));
    m.set_options(Some(merged));
    Ok(m)
}

/// Which flags override each other: options in one group are the same kernel flag.
const FLAG_GROUPS: &[&[&str]] = &[
    &["ro", "rw"],
    &["suid", "nosuid"],
    &["dev", "nodev"],
    &["exec", "noexec"],
    &["sync", "async"],
    &["dirsync"],
    &["remount"],
    &["mand", "nomand"],
    &["atime", "noatime"],
    &["diratime", "nodiratime"],
    &["relatime", "norelatime"],
    &["strictatime", "nostrictatime"],
    &[
        "shared",
        "rshared",
        "private",
        "rprivate",
        "slave",
        "rslave",
        "unbindable",
        "runbindable",
    ],
];

/// The `key=value` options a tmpfs takes (`tmpcopyup` is Docker's own).
const TMPFS_DATA: &[&str] = &[
    "size",
    "mode",
    "uid",
    "gid",
    "nr_inodes",
    "nr_blocks",
    "mpol",
    "huge",
];

fn merge_tmpfs_options(options: &[&str]) -> Result<Vec<String>, SpecError> {
    let mut seen_groups: Vec<usize> = Vec::new();
    let mut seen_keys: Vec<&str> = Vec::new();
    let mut merged: Vec<String> = Vec::new();
    // From the last option back, so that the last of each kind wins.
    for option in options.iter().rev() {
        if *option == "defaults" {
            continue;
        }
        if *option == "tmpcopyup" || *option == "notmpcopyup" {
            // Docker copies the image's content up into the tmpfs; berth mounts it empty.
            continue;
        }
        if let Some(group) = FLAG_GROUPS.iter().position(|g| g.contains(option)) {
            if !seen_groups.contains(&group) {
                seen_groups.push(group);
                merged.push(option.to_string());
            }
            continue;
        }
        let key = option
            .split_once('=')
            .map(|(k, _)| k)
            .filter(|k| TMPFS_DATA.contains(k))
            .ok_or_else(|| SpecError::Invalid(format!("invalid tmpfs option [\"{option}\"]")))?;
        if !seen_keys.contains(&key) {
            seen_keys.push(key);
            merged.push(option.to_string());
        }
    }
    merged.reverse();
    Ok(merged)
}

/// The number of components of a destination (`/` is 0, `/a/b` is 2), after cleaning.
fn depth(destination: &Path) -> usize {
    let mut depth: usize = 0;
    for c in destination.components() {
        match c {
            Component::Normal(_) => depth += 1,
            Component::ParentDir => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    depth
}

/// Puts default and user mounts together (see the module docs).
pub fn assemble(defaults: Vec<Mount>, mut user: Vec<Mount>) -> Vec<Mount> {
    let user_dests: Vec<PathBuf> = user.iter().map(|m| clean(m.destination())).collect();
    let user_mounts_dev = user_dests.iter().any(|d| d == Path::new("/dev"));
    let mut mounts: Vec<Mount> = defaults
        .into_iter()
        .filter(|m| {
            let dest = clean(m.destination());
            let replaced = user_dests.contains(&dest);
            let under_user_dev = user_mounts_dev && dest.starts_with("/dev/");
            !replaced && !under_user_dev
        })
        .collect();
    user.sort_by_key(|m| depth(m.destination()));
    mounts.extend(user);
    mounts
}

/// A path with `.`, `..` and repeated separators resolved lexically.
fn clean(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(m: &Mount) -> Vec<String> {
        m.options().clone().unwrap_or_default()
    }

    fn defaults() -> DefaultMountOptions {
        DefaultMountOptions {
            privileged: false,
            readonly_rootfs: false,
            writable_cgroups: false,
            shm_size: 0,
            ipc: IpcMounts::Private,
        }
    }

    fn find<'a>(mounts: &'a [Mount], dest: &str) -> Option<&'a Mount> {
        mounts.iter().find(|m| m.destination() == Path::new(dest))
    }

    #[test]
    fn default_set_has_dockers_mounts_and_shm_size() {
        let mounts = default_mounts(&defaults()).unwrap();
        let dests: Vec<_> = mounts
            .iter()
            .map(|m| m.destination().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            dests,
            [
                "/proc",
                "/dev",
                "/dev/pts",
                "/sys",
                "/sys/fs/cgroup",
                "/dev/mqueue",
                "/dev/shm"
            ]
        );
        assert!(options(find(&mounts, "/sys").unwrap()).contains(&"ro".to_string()));
        assert!(options(find(&mounts, "/dev/shm").unwrap()).contains(&"size=67108864".into()));
        let custom = default_mounts(&DefaultMountOptions {
            shm_size: 1 << 20,
            ..defaults()
        })
        .unwrap();
        assert!(options(find(&custom, "/dev/shm").unwrap()).contains(&"size=1048576".into()));
        assert!(default_mounts(&DefaultMountOptions {
            shm_size: -1,
            ..defaults()
        })
        .is_err());
    }

    #[test]
    fn privileged_sys_is_writable() {
        let mounts = default_mounts(&DefaultMountOptions {
            privileged: true,
            ..defaults()
        })
        .unwrap();
        assert!(options(find(&mounts, "/sys").unwrap()).contains(&"rw".to_string()));
        assert!(options(find(&mounts, "/sys/fs/cgroup").unwrap()).contains(&"rw".to_string()));
    }

    #[test]
    fn ipc_modes_shape_shm() {
        let none = default_mounts(&DefaultMountOptions {
            ipc: IpcMounts::None,
            ..defaults()
        })
        .unwrap();
        assert!(find(&none, "/dev/shm").is_none());
        let host = default_mounts(&DefaultMountOptions {
            ipc: IpcMounts::Host,
            ..defaults()
        })
        .unwrap();
        let shm = find(&host, "/dev/shm").unwrap();
        assert_eq!(shm.typ().as_deref(), Some("bind"));
        assert_eq!(shm.source().as_deref(), Some(Path::new("/dev/shm")));
    }

    #[test]
    fn read_only_rootfs_spares_proc_and_dev() {
        let mounts = default_mounts(&DefaultMountOptions {
            readonly_rootfs: true,
            ..defaults()
        })
        .unwrap();
        assert!(options(find(&mounts, "/sys/fs/cgroup").unwrap()).contains(&"ro".into()));
        for dest in ["/proc", "/dev", "/dev/shm", "/dev/mqueue", "/dev/pts"] {
            assert!(!options(find(&mounts, dest).unwrap()).contains(&"ro".into()));
        }
    }

    #[test]
    fn bind_options() {
        let m = bind_mount(Path::new("/host"), "/c", true, None, false);
        assert_eq!(options(&m), ["rbind", "ro", "rprivate"]);
        assert_eq!(m.typ().as_deref(), Some("bind"));
        let m = bind_mount(Path::new("/host"), "/c", false, Some("rshared"), true);
        assert_eq!(options(&m), ["bind", "rshared"]);
    }

    #[test]
    fn tmpfs_options_merge_like_docker() {
        let m = tmpfs_mount("/run", "").unwrap();
        assert_eq!(options(&m), ["noexec", "nosuid", "nodev", "rprivate"]);
        let m = tmpfs_mount("/run", "exec,size=1m,mode=700,size=2m").unwrap();
        assert_eq!(
            options(&m),
            ["nosuid", "nodev", "rprivate", "exec", "mode=700", "size=2m"]
        );
        assert_eq!(
            tmpfs_mount("/run", "bogus"),
            Err(SpecError::Invalid(
                "invalid tmpfs option [\"bogus\"]".into()
            ))
        );
    }

    #[test]
    fn user_mounts_replace_defaults_and_sort_by_depth() {
        let defaults = default_mounts(&defaults()).unwrap();
        let user = vec![
            bind_mount(Path::new("/h/a"), "/a/b/c", false, None, false),
            tmpfs_mount("/dev/shm", "size=1m").unwrap(),
            bind_mount(Path::new("/h/b"), "/a", false, None, false),
            bind_mount(Path::new("/h/c"), "/a/b", false, None, false),
            bind_mount(Path::new("/h/d"), "/z", false, None, false),
        ];
        let mounts = assemble(defaults, user);
        let shm: Vec<_> = mounts
            .iter()
            .filter(|m| m.destination() == Path::new("/dev/shm"))
            .collect();
        assert_eq!(shm.len(), 1);
        assert!(options(shm[0]).contains(&"size=1m".into()));
        let tail: Vec<_> = mounts[6..]
            .iter()
            .map(|m| m.destination().to_string_lossy().into_owned())
            .collect();
        assert_eq!(tail, ["/a", "/z", "/dev/shm", "/a/b", "/a/b/c"]);
    }

    #[test]
    fn user_dev_replaces_every_default_under_dev() {
        let defaults = default_mounts(&defaults()).unwrap();
        let user = vec![bind_mount(Path::new("/dev"), "/dev", false, None, false)];
        let mounts = assemble(defaults, user);
        let under_dev = mounts
            .iter()
            .filter(|m| m.destination().starts_with("/dev"))
            .count();
        assert_eq!(under_dev, 1);
    }
}
