//! The `mounts` of config.json, made in order inside the rootfs.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::mount::{mount, MsFlags};
use nix::sys::statvfs::{statvfs, FsFlags};
use oci_spec::runtime::Mount;

use super::cgroup;
use super::options::{Attr, MountOptions, Step};
use super::secure_join::resolve_in_root;
use super::target::{fd_path, Kind, Root};
use super::RootfsError;

/// What the mounts need to know about the container besides its rootfs.
#[derive(Debug)]
pub(crate) struct Context<'a> {
    pub root: &'a Root,
    /// Relative bind sources are relative to the bundle.
    pub bundle: &'a Path,
    /// Inside a user namespace some mounts are refused and flags are locked.
    pub in_user_ns: bool,
    /// Whether the container has its own cgroup namespace.
    pub cgroup_ns: bool,
}

/// Files under /proc that may be mounted over (lxcfs does this); any other mount inside
/// /proc could hide what maskedPaths and readonlyPaths protect.
const PROC_OVERRIDES: &[&str] = &[
    "proc/cpuinfo",
    "proc/diskstats",
    "proc/meminfo",
    "proc/stat",
    "proc/swaps",
    "proc/uptime",
    "proc/loadavg",
    "proc/slabinfo",
    "proc/net/dev",
    "proc/sys/kernel/ns_last_pid",
];

/// One mount entry as the mount calls see it.
#[derive(Debug)]
pub(crate) struct Entry {
    pub destination: PathBuf,
    pub source: String,
    pub fstype: String,
    pub options: MountOptions,
}

impl Entry {
    /// Reads a config.json mount, refusing what berth cannot do faithfully.
    pub fn from_spec(m: &Mount) -> Result<Entry, RootfsError> {
        let destination = Path::new("/").join(m.destination());
        let fstype = m.typ().clone().unwrap_or_default();
        let unsupported = |option: String| RootfsError::Unsupported {
            destination: destination.clone(),
            option,
        };
        if m.uid_mappings().is_some() || m.gid_mappings().is_some() {
            return Err(unsupported("uidMappings/gidMappings".to_string()));
        }
        let mut options =
            MountOptions::parse(m.options().as_deref().unwrap_or_default()).map_err(unsupported)?;
        if fstype == "bind" {
            options.flags.insert(MsFlags::MS_BIND);
        }
        let source = match m.source() {
            Some(source) => source.to_string_lossy().into_owned(),
            None if options.is_bind() => {
                return Err(RootfsError::NoSource { destination });
            }
            None => fstype.clone(),
        };
        Ok(Entry {
            destination,
            source,
            fstype,
            options,
        })
    }

    /// The error of a mount call on this entry.
    pub fn error(&self, call: &'static str, source: Errno) -> RootfsError {
        RootfsError::Mount {
            call,
            mount_source: self.source.clone(),
            destination: self.destination.clone(),
            fstype: self.fstype.clone(),
            source,
        }
    }
}

/// Makes one config.json mount.
pub(crate) fn mount_one(ctx: &Context<'_>, m: &Mount) -> Result<(), RootfsError> {
    let mut entry = Entry::from_spec(m)?;
    check_proc_destination(ctx.root, &entry)?;
    if entry.options.is_bind() {
        let source = ctx.bundle.join(&entry.source);
        entry.source = source.to_string_lossy().into_owned();
        let kind = match std::fs::metadata(&source) {
            Ok(meta) if meta.is_dir() => Kind::Dir,
            Ok(_) => Kind::File,
            Err(source) => {
                return Err(RootfsError::Io {
                    what: "stat the bind source",
                    path: source_path(&entry),
                    source,
                })
            }
        };
        ctx.root.create(&entry.destination, kind)?;
        return run(ctx.root, &entry);
    }
    ctx.root.create(&entry.destination, Kind::Dir)?;
    match entry.fstype.as_str() {
        "cgroup" | "cgroup2" => cgroup::mount_cgroup(ctx, &entry),
        "sysfs" => match run(ctx.root, &entry) {
            // In a user namespace without its own network namespace the kernel refuses
            // a new sysfs; runc binds the host's /sys instead, and so does berth.
            Err(RootfsError::Mount {
                source: Errno::EPERM,
                ..
            }) if ctx.in_user_ns => {
                let mut options = entry.options.clone();
                options.flags.insert(MsFlags::MS_BIND | MsFlags::MS_REC);
                let bind = Entry {
                    source: "/sys".to_string(),
                    fstype: "bind".to_string(),
                    options,
                    ..entry
                };
                run(ctx.root, &bind)
            }
            other => other,
        },
        _ => run(ctx.root, &entry),
    }
}

fn source_path(entry: &Entry) -> PathBuf {
    PathBuf::from(&entry.source)
}

/// Performs an entry's mount calls on its (existing) target. The target is opened again
/// for each call, so that later calls act on the new mount rather than the one beneath.
pub(crate) fn run(root: &Root, entry: &Entry) -> Result<(), RootfsError> {
    let data = entry.options.data();
    for step in entry.options.steps() {
        let fd = root.open_target(&entry.destination)?;
        let target = fd_path(&fd);
        match step {
            Step::Mount(flags) => {
                let fstype = (!entry.options.is_bind()).then_some(entry.fstype.as_str());
                mount(
                    Some(entry.source.as_str()),
                    &target,
                    fstype,
                    flags,
                    data.as_deref(),
                )
                .map_err(|e| entry.error("mount", e))?;
            }
            Step::Remount(flags) => {
                remount_keeping_locked(&target, flags).map_err(|e| entry.error("remount", e))?
            }
            Step::SetAttr(attr) => mount_setattr(&fd, attr)
                .map_err(|e| entry.error("set recursive attributes of", e))?,
            Step::Propagate(flags) => {
                mount(None::<&str>, &target, None::<&str>, flags, None::<&str>)
                    .map_err(|e| entry.error("change the propagation of", e))?
            }
        }
    }
    Ok(())
}

/// The kernel's AT_RECURSIVE (linux/fcntl.h), which the libc crate lacks for Linux.
const AT_RECURSIVE: libc::c_uint = 0x8000;

/// Applies `attr` to the mount at `fd` and every mount below it.
fn mount_setattr(fd: &OwnedFd, attr: Attr) -> Result<(), Errno> {
    let mut raw = libc::mount_attr {
        attr_set: attr.set,
        attr_clr: attr.clear,
        propagation: 0,
        userns_fd: 0,
    };
    let flags = libc::AT_EMPTY_PATH as libc::c_uint | AT_RECURSIVE;
    // SAFETY: the path is a valid empty C string, `raw` is a mount_attr that lives across
    // the call and whose size is passed with it; the kernel only reads it.
    let res = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags,
            &mut raw as *mut libc::mount_attr,
            std::mem::size_of::<libc::mount_attr>(),
        )
    };
    Errno::result(res).map(drop)
}

/// Remounts a bind mount with `flags`. In a user namespace the kernel refuses to clear
/// flags that the owner of the original mount set (they are "locked"); like runc, berth
/// then keeps those flags and tries once more.
pub(crate) fn remount_keeping_locked(target: &Path, flags: MsFlags) -> Result<(), Errno> {
    match mount(None::<&str>, target, None::<&str>, flags, None::<&str>) {
        Err(Errno::EPERM) => {
            let locked = locked_flags(target)?;
            if flags.contains(locked) {
                return Err(Errno::EPERM);
            }
            mount(
                None::<&str>,
                target,
                None::<&str>,
                flags | locked,
                None::<&str>,
            )
        }
        other => other,
    }
}

/// The per-mount flags of the mount at `path` that a remount must keep.
pub(crate) fn locked_flags(path: &Path) -> Result<MsFlags, Errno> {
    let current = statvfs(path)?.flags();
    let pairs = [
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ];
    Ok(pairs
        .iter()
        .filter(|(st, _)| current.contains(*st))
        .fold(MsFlags::empty(), |acc, (_, ms)| acc | *ms))
}

/// Refuses mounts inside /proc other than proc itself and the files lxcfs replaces,
/// judged on where the destination really leads.
fn check_proc_destination(root: &Root, entry: &Entry) -> Result<(), RootfsError> {
    let resolved = resolve_in_root(root.path(), &entry.destination)?;
    if !resolved.starts_with("proc") {
        return Ok(());
    }
    let allowed = if resolved == Path::new("proc") {
        entry.fstype == "proc"
    } else {
        PROC_OVERRIDES.iter().any(|p| resolved == Path::new(p))
    };
    if allowed {
        Ok(())
    } else {
        Err(RootfsError::ProcMount {
            destination: entry.destination.clone(),
        })
    }
}
