//! Extracting a tar stream into a directory of the rootfs (PUT /archive), as Docker's
//! `archive.Untar` does inside its chroot: every entry's parent is looked up inside the
//! root (symlinks included, so an archive's own symlink cannot lead out), names with
//! `..` that climb above the extraction directory are refused, an existing entry is
//! replaced unless both are directories, and owner, mode and times come from the tar.

use std::ffi::OsStr;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;

use nix::errno::Errno;
use nix::fcntl::{openat, AtFlags, OFlag};
use nix::sys::stat::{fstatat, makedev, mkdirat, mknodat, utimensat, Mode, SFlag, UtimensatFlags};
use nix::sys::time::TimeSpec;
use nix::unistd::{fchownat, linkat, symlinkat, unlinkat, Gid, Uid, UnlinkatFlags};
use tar::EntryType;

use super::mode::kind;
use super::path::entry_parts;
use super::root::{proc_path, sys, Root};
use super::ArchiveError;

/// Extracts `input` into the directory at container path `dest`.
pub(super) fn extract(
    root: &Root,
    dest: &[String],
    input: impl Read,
    no_overwrite_dir_non_dir: bool,
) -> Result<(), ArchiveError> {
    let mut archive = tar::Archive::new(input);
    let entries = archive.entries().map_err(bad_tar)?;
    // Directory times are set last: creating their children would change them again.
    let mut dir_times = Vec::new();
    for entry in entries {
        let mut entry = entry.map_err(bad_tar)?;
        let header = entry.header().clone();
        let kind = header.entry_type();
        if matches!(kind, EntryType::XGlobalHeader | EntryType::XHeader) {
            continue;
        }
        let raw_name = entry.path_bytes().into_owned();
        let Some(relative) = entry_parts(&raw_name) else {
            return Err(ArchiveError::Invalid(format!(
                "{:?} is outside of \"/{}\"",
                String::from_utf8_lossy(&raw_name),
                dest.join("/")
            )));
        };
        let mut parts = dest.to_vec();
        parts.extend(relative.iter().cloned());
        let Some((name, parent_parts)) = parts.split_last() else {
            continue;
        };
        if relative.is_empty() {
            // "." is the extraction directory itself, which stays as it is.
            continue;
        }
        let parent = root.open_dir_creating(parent_parts)?;
        let name = OsStr::new(name.as_str());
        let at = || root.host_path(&parts);
        let existing = match fstatat(&parent, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(stat) => Some(stat),
            Err(Errno::ENOENT) => None,
            Err(errno) => return Err(sys("stat", &at(), errno)),
        };
        let is_dir = kind == EntryType::Directory;
        if let Some(existing) = existing {
            let was_dir = super::mode::kind(&existing) == SFlag::S_IFDIR;
            if no_overwrite_dir_non_dir && was_dir && !is_dir {
                return Err(ArchiveError::Invalid(format!(
                    "cannot overwrite directory \"/{}\" with non-directory \"/{}\"",
                    parts.join("/"),
                    dest.join("/")
                )));
            }
            if no_overwrite_dir_non_dir && !was_dir && is_dir {
                return Err(ArchiveError::Invalid(format!(
                    "cannot overwrite non-directory \"/{}\" with directory \"/{}\"",
                    parts.join("/"),
                    dest.join("/")
                )));
            }
            if !(was_dir && is_dir) {
                remove(&parent, name, was_dir).map_err(|source| ArchiveError::Io {
                    action: "replace",
                    path: at(),
                    source,
                })?;
            }
        }
        let mode =
            Mode::from_bits_truncate(numeric(header.mode(), &header.as_old().mode)? & 0o7777);
        match kind {
            EntryType::Directory => match mkdirat(&parent, name, mode) {
                Ok(()) | Err(Errno::EEXIST) => {}
                Err(errno) => return Err(sys("create directory", &at(), errno)),
            },
            EntryType::Regular | EntryType::Continuous => {
                let file = openat(
                    &parent,
                    name,
                    OFlag::O_CREAT
                        | OFlag::O_EXCL
                        | OFlag::O_WRONLY
                        | OFlag::O_NOFOLLOW
                        | OFlag::O_CLOEXEC,
                    Mode::from_bits_truncate(0o600),
                )
                .map_err(|errno| sys("create", &at(), errno))?;
                let mut file = std::fs::File::from(file);
                std::io::copy(&mut entry, &mut file).map_err(|source| ArchiveError::Io {
                    action: "write",
                    path: at(),
                    source,
                })?;
            }
            EntryType::Symlink => {
                let target = entry.link_name_bytes().ok_or_else(|| {
                    ArchiveError::Invalid(format!("symlink {} without a target", at().display()))
                })?;
                symlinkat(OsStr::from_bytes(&target), &parent, name)
                    .map_err(|errno| sys("create symlink", &at(), errno))?;
            }
            EntryType::Link => {
                let target = entry.link_name_bytes().ok_or_else(|| {
                    ArchiveError::Invalid(format!("hard link {} without a target", at().display()))
                })?;
                link(root, dest, &target, &parent, name)?;
                // The link shares the target's inode and with it owner, mode and times.
                continue;
            }
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                let sflag = match kind {
                    EntryType::Char => SFlag::S_IFCHR,
                    EntryType::Block => SFlag::S_IFBLK,
                    _ => SFlag::S_IFIFO,
                };
                let (major_field, minor_field) = device_fields(&header);
                let major = numeric(
                    header.device_major().map(Option::unwrap_or_default),
                    major_field,
                )?;
                let minor = numeric(
                    header.device_minor().map(Option::unwrap_or_default),
                    minor_field,
                )?;
                mknodat(
                    &parent,
                    name,
                    sflag,
                    mode,
                    makedev(major.into(), minor.into()),
                )
                .map_err(|errno| sys("create node", &at(), errno))?;
            }
            other => {
                return Err(ArchiveError::Invalid(format!(
                    "unhandled tar header type {:?} for {}",
                    other.as_byte() as char,
                    at().display()
                )))
            }
        }
        let uid = numeric(header.uid(), &header.as_old().uid)?;
        let gid = numeric(header.gid(), &header.as_old().gid)?;
        fchownat(
            &parent,
            name,
            Some(Uid::from_raw(uid as u32)),
            Some(Gid::from_raw(gid as u32)),
            AtFlags::AT_SYMLINK_NOFOLLOW,
        )
        .map_err(|errno| sys("chown", &at(), errno))?;
        if kind != EntryType::Symlink {
            // After chown, which clears set-id bits; mkdir and open applied the umask.
            set_mode(&parent, name, mode).map_err(|errno| sys("chmod", &at(), errno))?;
        }
        if let Ok(Some(extensions)) = entry.pax_extensions() {
            for extension in extensions.flatten() {
                if let (Ok(key), value) = (extension.key(), extension.value_bytes()) {
                    if let Some(xattr) = key.strip_prefix("SCHILY.xattr.") {
                        // Best effort, as Docker: a filesystem may refuse a name.
                        let _ = xattr::set(proc_path(&parent).join(name), xattr, value);
                    }
                }
            }
        }
        let mtime = numeric(header.mtime(), &header.as_old().mtime)?;
        if is_dir {
            dir_times.push((parent_parts.to_vec(), name.to_os_string(), mtime));
        } else {
            set_times(&parent, name, mtime).map_err(|errno| sys("set times of", &at(), errno))?;
        }
    }
    for (parent_parts, name, mtime) in dir_times.into_iter().rev() {
        let parent = root
            .open_path(&parent_parts)
            .map_err(|errno| sys("open", &root.host_path(&parent_parts), errno))?;
        set_times(&parent, &name, mtime)
            .map_err(|errno| sys("set times of", &proc_path(&parent).join(&name), errno))?;
    }
    Ok(())
}

/// Hard link `name` in `parent` to the archive's earlier entry `target`, a name relative
/// to the extraction directory `dest`.
fn link(
    root: &Root,
    dest: &[String],
    target: &[u8],
    parent: &OwnedFd,
    name: &OsStr,
) -> Result<(), ArchiveError> {
    let outside = || {
        ArchiveError::Invalid(format!(
            "invalid hardlink {:?} -> {:?}",
            name,
            String::from_utf8_lossy(target)
        ))
    };
    let relative = entry_parts(target).ok_or_else(outside)?;
    let mut parts = dest.to_vec();
    parts.extend(relative);
    let (target_name, target_parent) = parts.split_last().ok_or_else(outside)?;
    let target_dir = root
        .open_path(target_parent)
        .map_err(|errno| sys("open", &root.host_path(target_parent), errno))?;
    // No AT_SYMLINK_FOLLOW: a link to a symlink links the symlink, as tar means it.
    linkat(
        &target_dir,
        target_name.as_str(),
        parent,
        name,
        AtFlags::empty(),
    )
    .map_err(|errno| sys("link", &root.host_path(&parts), errno))
}

/// Removes what is at `name` to make room; a directory with everything in it
/// (`remove_dir_all` does not follow symlinks).
fn remove(parent: &OwnedFd, name: &OsStr, is_dir: bool) -> std::io::Result<()> {
    if is_dir {
        std::fs::remove_dir_all(proc_path(parent).join(name))
    } else {
        unlinkat(parent, name, UnlinkatFlags::NoRemoveDir).map_err(Into::into)
    }
}

/// chmod without following a symlink: through an `O_PATH` descriptor of the entry.
fn set_mode(parent: &OwnedFd, name: &OsStr, mode: Mode) -> Result<(), Errno> {
    let fd = openat(
        parent,
        name,
        OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    let stat = nix::sys::stat::fstat(&fd)?;
    if kind(&stat) == SFlag::S_IFLNK {
        return Ok(());
    }
    nix::sys::stat::fchmodat(
        nix::fcntl::AT_FDCWD,
        &proc_path(&fd),
        mode,
        nix::sys::stat::FchmodatFlags::FollowSymlink,
    )
}

fn set_times(parent: &OwnedFd, name: &OsStr, mtime: u64) -> Result<(), Errno> {
    let time = TimeSpec::new(i64::try_from(mtime).unwrap_or(i64::MAX), 0);
    utimensat(parent, name, &time, &time, UtimensatFlags::NoFollowSymlink)
}

/// A numeric header field; a blank one (all NUL or spaces) reads as 0, as with Go's
/// reader, which wrote many of the archives that arrive here.
fn numeric<T: Default>(value: std::io::Result<T>, field: &[u8]) -> Result<T, ArchiveError> {
    match value {
        Ok(value) => Ok(value),
        Err(_) if field.iter().all(|b| *b == 0 || *b == b' ') => Ok(T::default()),
        Err(err) => Err(bad_tar(err)),
    }
}

/// The raw device number fields, for [`numeric`].
fn device_fields(header: &tar::Header) -> (&[u8], &[u8]) {
    if let Some(gnu) = header.as_gnu() {
        (&gnu.dev_major, &gnu.dev_minor)
    } else if let Some(ustar) = header.as_ustar() {
        (&ustar.dev_major, &ustar.dev_minor)
    } else {
        (&[], &[])
    }
}

fn bad_tar(err: std::io::Error) -> ArchiveError {
    ArchiveError::Invalid(format!("invalid tar archive: {err}"))
}
