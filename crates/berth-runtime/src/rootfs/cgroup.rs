//! The `cgroup` mount type, done the way runc does it.
//!
//! On a cgroup v2 host: a `cgroup2` filesystem (falling back to a bind mount of the
//! container's own cgroup when the kernel refuses a new one). On a v1 or hybrid host
//! (v1 controllers under `/sys/fs/cgroup/<ctrl>`, perhaps a cgroup2 tree at
//! /sys/fs/cgroup/unified): a tmpfs at the destination and, for every hierarchy, either a
//! new cgroup filesystem (with a cgroup namespace, it shows the container's cgroup as its
//! root) or a bind mount of the container's own cgroup directory (without one, so the
//! rest of the host's tree stays hidden). Then the tmpfs is made read-only if asked.

use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::mount::MsFlags;
use nix::sys::statfs::{statfs, CGROUP2_SUPER_MAGIC};

use super::mountinfo::{self, CgroupLine, MountInfo};
use super::mounts::{run, Context, Entry};
use super::options::MountOptions;
use super::target::Kind;
use super::RootfsError;

const HOST_CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// Mounts the cgroup hierarchies at `entry`'s (already created) destination.
pub(crate) fn mount_cgroup(ctx: &Context<'_>, entry: &Entry) -> Result<(), RootfsError> {
    let host_root = Path::new(HOST_CGROUP_ROOT);
    let unified = statfs(host_root)
        .map(|s| s.filesystem_type() == CGROUP2_SUPER_MAGIC)
        .map_err(|source| RootfsError::Sys {
            what: "statfs",
            path: host_root.to_path_buf(),
            source,
        })?;
    let own = mountinfo::read_cgroups()?;
    if unified {
        let own_path = own
            .iter()
            .find(|l| l.controllers.is_empty())
            .map(|l| l.path.clone())
            .unwrap_or_else(|| PathBuf::from("/"));
        return mount_cgroup2(ctx, entry, &entry.destination, host_root, &own_path);
    }

    // The tmpfs is writable until the hierarchies are in place.
    let mut tmpfs_options = entry.options.clone();
    tmpfs_options.flags.remove(MsFlags::MS_RDONLY);
    tmpfs_options.data = vec!["mode=755".to_string()];
    let tmpfs = Entry {
        destination: entry.destination.clone(),
        source: "tmpfs".to_string(),
        fstype: "tmpfs".to_string(),
        options: tmpfs_options,
    };
    run(ctx.root, &tmpfs)?;

    let mounts = mountinfo::read()?;
    for hierarchy in mounts
        .iter()
        .filter(|m| m.mount_point.parent() == Some(host_root))
    {
        let Some(name) = hierarchy.mount_point.file_name() else {
            continue;
        };
        let destination = entry.destination.join(name);
        match hierarchy.fstype.as_str() {
            "cgroup2" => {
                let own_path = own.iter().find(|l| l.controllers.is_empty());
                let own_path = own_path
                    .map(|l| l.path.clone())
                    .unwrap_or_else(|| "/".into());
                ctx.root.create(&destination, Kind::Dir)?;
                mount_cgroup2(ctx, entry, &destination, &hierarchy.mount_point, &own_path)?;
            }
            "cgroup" => {
                let Some(line) = own.iter().find(|l| same_hierarchy(l, hierarchy)) else {
                    continue;
                };
                ctx.root.create(&destination, Kind::Dir)?;
                mount_v1(ctx, entry, &destination, hierarchy, line)?;
                link_comounted(ctx, entry, name)?;
            }
            _ => {}
        }
    }

    if entry.options.flags.contains(MsFlags::MS_RDONLY) {
        let mut options = MountOptions {
            flags: entry.options.flags | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY,
            ..MountOptions::default()
        };
        options.flags.remove(MsFlags::MS_BIND | MsFlags::MS_REC);
        run(ctx.root, &Entry { options, ..tmpfs })?;
    }
    Ok(())
}

/// Whether a `/proc/self/cgroup` line names the hierarchy mounted at `mount`.
fn same_hierarchy(line: &CgroupLine, mount: &MountInfo) -> bool {
    !line.controllers.is_empty()
        && line
            .controllers
            .split(',')
            .all(|c| mount.super_options.iter().any(|o| o == c))
}

fn mount_v1(
    ctx: &Context<'_>,
    entry: &Entry,
    destination: &Path,
    hierarchy: &MountInfo,
    line: &CgroupLine,
) -> Result<(), RootfsError> {
    let flags = entry.options.flags - (MsFlags::MS_BIND | MsFlags::MS_REC);
    if ctx.cgroup_ns {
        let new = Entry {
            destination: destination.to_path_buf(),
            source: "cgroup".to_string(),
            fstype: "cgroup".to_string(),
            options: MountOptions {
                flags,
                data: vec![line.controllers.clone()],
                ..MountOptions::default()
            },
        };
        return run(ctx.root, &new);
    }
    let relative = line
        .path
        .strip_prefix(&hierarchy.root)
        .unwrap_or(&line.path);
    bind_host_dir(
        ctx,
        destination,
        &hierarchy
            .mount_point
            .join(relative.strip_prefix("/").unwrap_or(relative)),
        flags,
    )
}

fn mount_cgroup2(
    ctx: &Context<'_>,
    entry: &Entry,
    destination: &Path,
    host_mount: &Path,
    own_path: &Path,
) -> Result<(), RootfsError> {
    let flags = entry.options.flags - (MsFlags::MS_BIND | MsFlags::MS_REC);
    let new = Entry {
        destination: destination.to_path_buf(),
        source: "cgroup2".to_string(),
        fstype: "cgroup2".to_string(),
        options: MountOptions {
            flags,
            ..MountOptions::default()
        },
    };
    if !ctx.cgroup_ns && host_mount != Path::new(HOST_CGROUP_ROOT) {
        // The hybrid host's unified tree: without a cgroup namespace a new cgroup2
        // mount would show the whole host tree; bind the container's own cgroup.
        let host = host_mount.join(own_path.strip_prefix("/").unwrap_or(own_path));
        return bind_host_dir(ctx, destination, &host, flags);
    }
    match run(ctx.root, &new) {
        // Refused (EPERM in a user namespace, EBUSY when it is in use): bind instead.
        Err(RootfsError::Mount {
            source: Errno::EPERM | Errno::EBUSY,
            ..
        }) => {
            let host = host_mount.join(own_path.strip_prefix("/").unwrap_or(own_path));
            bind_host_dir(ctx, destination, &host, flags)
        }
        other => other,
    }
}

fn bind_host_dir(
    ctx: &Context<'_>,
    destination: &Path,
    host: &Path,
    flags: MsFlags,
) -> Result<(), RootfsError> {
    let bind = Entry {
        destination: destination.to_path_buf(),
        source: host.to_string_lossy().into_owned(),
        fstype: "bind".to_string(),
        options: MountOptions {
            flags: flags | MsFlags::MS_BIND | MsFlags::MS_REC,
            ..MountOptions::default()
        },
    };
    run(ctx.root, &bind)
}

/// For a hierarchy of several controllers (`cpu,cpuacct`), a symlink per controller, as
/// on the host, so that /sys/fs/cgroup/cpu finds it.
fn link_comounted(
    ctx: &Context<'_>,
    entry: &Entry,
    name: &std::ffi::OsStr,
) -> Result<(), RootfsError> {
    let Some(name) = name.to_str().filter(|n| n.contains(',')) else {
        return Ok(());
    };
    for controller in name.split(',') {
        ctx.root
            .symlink(&entry.destination.join(controller), Path::new(name))?;
    }
    Ok(())
}
