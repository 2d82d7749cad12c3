//! Extraction of tar entries into a confined root (see [`super::confined`]).

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{openat, AtFlags, OFlag};
use nix::sys::stat::{
    fchmod, fchmodat, futimens, mkdirat, mknodat, utimensat, FchmodatFlags, Mode, SFlag,
    UtimensatFlags,
};
use nix::unistd::{fchown, fchownat, linkat, symlinkat, Gid, Uid};
use tar::EntryType;

use super::confined::{file_type_at, list_dir, proc_path, remove_all_at, Root};
use super::meta::{read_meta, Meta};
use super::name::{normalize, split, whiteout_target, OPAQUE_MARKER, WHITEOUT_PREFIX};
use super::unpack::{DeviceNodes, Ownership, UnpackOptions, WhiteoutMode};
use super::{LayerError, BUFFER_SIZE};

const OVERLAY_OPAQUE_XATTR: &str = "trusted.overlay.opaque";

/// Extracts the entries of one layer.
#[derive(Debug)]
pub(crate) struct Extractor<'o> {
    root: Root,
    options: &'o UnpackOptions,
    buffer: Vec<u8>,
    /// Paths written by this layer: in apply mode, whiteouts hide only lower layers' files.
    unpacked: HashSet<PathBuf>,
    /// Directories whose metadata is applied at the end, after their contents are written
    /// (a read-only directory can then still be filled, and its mtime stays).
    dirs: Vec<(PathBuf, Meta)>,
    pub(crate) skipped_devices: u64,
}

/// An error constructor for one entry.
fn fail<'a>(entry: &'a [u8], action: &'static str) -> impl FnOnce(io::Error) -> LayerError + 'a {
    move |source| LayerError::Extract {
        entry: String::from_utf8_lossy(entry).into_owned(),
        action,
        source,
    }
}

fn refuse(entry: &[u8], reason: &'static str) -> LayerError {
    LayerError::UnsafeEntry {
        entry: String::from_utf8_lossy(entry).into_owned(),
        reason,
    }
}

impl<'o> Extractor<'o> {
    pub(crate) fn new(root: Root, options: &'o UnpackOptions) -> Self {
        Extractor {
            root,
            options,
            buffer: vec![0; BUFFER_SIZE],
            unpacked: HashSet::new(),
            dirs: Vec::new(),
            skipped_devices: 0,
        }
    }

    /// Extracts one entry.
    pub(crate) fn entry<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
    ) -> Result<(), LayerError> {
        let kind = entry.header().entry_type();
        if matches!(kind, EntryType::XGlobalHeader) {
            return Ok(());
        }
        let name = entry.path_bytes().into_owned();
        // Old (v7) tars mark directories only by a trailing slash, as Go's reader knows.
        let kind = if kind == EntryType::Regular && name.ends_with(b"/") {
            EntryType::Directory
        } else {
            kind
        };
        let path = normalize(&name).map_err(|reason| refuse(&name, reason))?;
        if path.as_os_str().is_empty() {
            if !kind.is_dir() {
                return Err(refuse(
                    &name,
                    "a non-directory entry names the target itself",
                ));
            }
            let meta = read_meta(entry).map_err(fail(&name, "read the entry's header"))?;
            self.dirs.push((path, meta));
            return Ok(());
        }
        let (parent, file_name) = split(&path);
        if file_name.as_bytes().starts_with(WHITEOUT_PREFIX.as_bytes()) {
            return self.whiteout(&name, parent, file_name);
        }
        let meta = read_meta(entry).map_err(fail(&name, "read the entry's header"))?;
        let dir = self
            .root
            .parent(parent)
            .and_then(|fd| fd.try_clone_to_owned())
            .map_err(fail(
                &name,
                "open or create the parent directory inside the target",
            ))?;
        let dir = dir.as_fd();
        match kind {
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                self.file(&name, dir, file_name, entry, &meta, kind.is_gnu_sparse())?
            }
            EntryType::Directory => {
                make_dir(dir, file_name).map_err(fail(&name, "create the directory"))?;
                self.dirs.push((path.clone(), meta));
            }
            EntryType::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| refuse(&name, "a symlink without a target"))?
                    .into_owned();
                replace(dir, file_name, || {
                    symlinkat(OsStr::from_bytes(&target), dir, file_name)
                })
                .map_err(fail(&name, "create the symlink"))?;
                self.finish_node(&name, dir, file_name, &meta, false)?;
            }
            EntryType::Link => self.hardlink(&name, entry, dir, file_name)?,
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                let created = self.device(&name, entry, dir, file_name, &meta)?;
                if !created {
                    return Ok(());
                }
            }
            _ => return Err(refuse(&name, "an unsupported tar entry type")),
        }
        if self.options.whiteouts == WhiteoutMode::Apply {
            self.mark_unpacked(path);
        }
        Ok(())
    }

    /// Records `path` and its ancestors (which may have been created implicitly) as this
    /// layer's.
    fn mark_unpacked(&mut self, path: PathBuf) {
        let mut ancestor = path.parent();
        while let Some(dir) = ancestor.filter(|dir| !dir.as_os_str().is_empty()) {
            if !self.unpacked.insert(dir.to_path_buf()) {
                break; // its ancestors are in already
            }
            ancestor = dir.parent();
        }
        self.unpacked.insert(path);
    }

    fn file<R: Read>(
        &mut self,
        name: &[u8],
        dir: BorrowedFd<'_>,
        file_name: &OsStr,
        entry: &mut tar::Entry<'_, R>,
        meta: &Meta,
        sparse: bool,
    ) -> Result<(), LayerError> {
        let flags =
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        // An existing file is unlinked, not truncated: it may be a hardlink of another.
        let fd = replace(dir, file_name, || {
            openat(dir, file_name, flags, Mode::from_bits_truncate(0o600))
        })
        .map_err(fail(name, "create the file"))?;
        let file = File::from(fd);
        let size = entry.size();
        let written = if sparse {
            write_sparse(entry, &file, &mut self.buffer)
        } else {
            copy(entry, &file, &mut self.buffer)
        }
        .map_err(fail(
            name,
            "write the file (the stream may be truncated or corrupt)",
        ))?;
        if written != size {
            return Err(fail(name, "write the file")(
                io::ErrorKind::UnexpectedEof.into(),
            ));
        }
        if sparse {
            file.set_len(size)
                .map_err(fail(name, "size the sparse file"))?;
        }
        if self.options.ownership == Ownership::Preserve {
            fchown(
                &file,
                Some(Uid::from_raw(meta.uid)),
                Some(Gid::from_raw(meta.gid)),
            )
            .map_err(|e| fail(name, "set the owner")(e.into()))?;
        }
        // After chown, which clears setuid bits and file capabilities.
        fchmod(&file, Mode::from_bits_truncate(meta.mode))
            .map_err(|e| fail(name, "set the mode")(e.into()))?;
        for (key, value) in &meta.xattrs {
            xattr::FileExt::set_xattr(&file, key, value).map_err(fail(name, "set an xattr"))?;
        }
        futimens(&file, &meta.atime, &meta.mtime).map_err(|e| fail(name, "set the times")(e.into()))
    }

    /// Owner, mode (not for symlinks), xattrs and times of a node that has no open fd.
    fn finish_node(
        &self,
        name: &[u8],
        dir: BorrowedFd<'_>,
        file_name: &OsStr,
        meta: &Meta,
        chmod: bool,
    ) -> Result<(), LayerError> {
        if self.options.ownership == Ownership::Preserve {
            fchownat(
                dir,
                file_name,
                Some(Uid::from_raw(meta.uid)),
                Some(Gid::from_raw(meta.gid)),
                AtFlags::AT_SYMLINK_NOFOLLOW,
            )
            .map_err(|e| fail(name, "set the owner")(e.into()))?;
        }
        if chmod {
            fchmodat(
                dir,
                file_name,
                Mode::from_bits_truncate(meta.mode),
                FchmodatFlags::FollowSymlink,
            )
            .map_err(|e| fail(name, "set the mode")(e.into()))?;
        }
        if !meta.xattrs.is_empty() {
            let path = proc_path(dir, file_name);
            for (key, value) in &meta.xattrs {
                xattr::set(&path, key, value).map_err(fail(name, "set an xattr"))?;
            }
        }
        utimensat(
            dir,
            file_name,
            &meta.atime,
            &meta.mtime,
            UtimensatFlags::NoFollowSymlink,
        )
        .map_err(|e| fail(name, "set the times")(e.into()))
    }

    fn hardlink<R: Read>(
        &mut self,
        name: &[u8],
        entry: &tar::Entry<'_, R>,
        dir: BorrowedFd<'_>,
        file_name: &OsStr,
    ) -> Result<(), LayerError> {
        let link = entry
            .link_name_bytes()
            .ok_or_else(|| refuse(name, "a hardlink without a target"))?;
        let target = normalize(&link)
            .map_err(|_| refuse(name, "the hardlink target has a `..` component"))?;
        if target.as_os_str().is_empty() {
            return Err(refuse(name, "the hardlink target is the target directory"));
        }
        let (target_parent, target_name) = split(&target);
        // The target's directory is resolved inside the root like any entry's; the target
        // itself is not followed (linkat without AT_SYMLINK_FOLLOW links a symlink itself).
        let target_dir = self
            .root
            .open_in(target_parent, OFlag::O_PATH | OFlag::O_DIRECTORY)
            .map_err(fail(name, "find the hardlink target inside the target"))?;
        if file_type_at(target_dir.as_fd(), target_name)
            .map_err(fail(name, "find the hardlink target"))?
            == Some(SFlag::S_IFDIR)
        {
            return Err(refuse(name, "the hardlink target is a directory"));
        }
        if target_name == file_name && same_dir(target_dir.as_fd(), dir) {
            return Ok(());
        }
        replace(dir, file_name, || {
            linkat(&target_dir, target_name, dir, file_name, AtFlags::empty())
        })
        .map_err(fail(
            name,
            "create the hardlink (its target must be in this layer or below)",
        ))
    }

    /// Creates a device node or fifo; false if it was skipped as not permitted.
    fn device<R: Read>(
        &mut self,
        name: &[u8],
        entry: &tar::Entry<'_, R>,
        dir: BorrowedFd<'_>,
        file_name: &OsStr,
        meta: &Meta,
    ) -> Result<bool, LayerError> {
        let header = entry.header();
        let (kind, rdev) = match header.entry_type() {
            EntryType::Fifo => (SFlag::S_IFIFO, 0),
            other => {
                let major = header.device_major().ok().flatten().unwrap_or(0);
                let minor = header.device_minor().ok().flatten().unwrap_or(0);
                let kind = if other == EntryType::Char {
                    SFlag::S_IFCHR
                } else {
                    SFlag::S_IFBLK
                };
                (kind, libc::makedev(major, minor))
            }
        };
        let made = replace(dir, file_name, || {
            mknodat(
                dir,
                file_name,
                kind,
                Mode::from_bits_truncate(meta.mode),
                rdev,
            )
        });
        match made {
            Ok(()) => {}
            Err(e)
                if e.raw_os_error() == Some(libc::EPERM)
                    && self.options.device_nodes == DeviceNodes::SkipDenied =>
            {
                self.skipped_devices += 1;
                return Ok(false);
            }
            Err(e) => {
                return Err(fail(
                    name,
                    "create the device node (needs CAP_MKNOD; DeviceNodes::SkipDenied skips it)",
                )(e))
            }
        }
        self.finish_node(name, dir, file_name, meta, true)?;
        Ok(true)
    }

    fn whiteout(
        &mut self,
        name: &[u8],
        parent: &Path,
        file_name: &OsStr,
    ) -> Result<(), LayerError> {
        let opaque = file_name == OPAQUE_MARKER;
        let target = if opaque {
            None
        } else {
            Some(whiteout_target(file_name).map_err(|reason| refuse(name, reason))?)
        };
        match (self.options.whiteouts, target) {
            (WhiteoutMode::Apply, Some(target)) => {
                if self.unpacked.contains(&parent.join(target)) {
                    return Ok(());
                }
                let Some(dir) = self.open_existing(name, parent, OFlag::O_PATH)? else {
                    return Ok(());
                };
                remove_all_at(dir.as_fd(), target).map_err(fail(name, "remove the whited-out file"))
            }
            (WhiteoutMode::Apply, None) => {
                let Some(dir) = self.open_existing(name, parent, OFlag::O_RDONLY)? else {
                    return Ok(());
                };
                let unpacked = &self.unpacked;
                clear_lower(dir.as_fd(), parent, unpacked)
                    .map_err(fail(name, "clear the opaque directory"))
            }
            (WhiteoutMode::Overlay, Some(target)) => {
                let dir = self.root.parent(parent).map_err(fail(
                    name,
                    "open or create the parent directory inside the target",
                ))?;
                replace(dir, target, || {
                    mknodat(
                        dir,
                        target,
                        SFlag::S_IFCHR,
                        Mode::empty(),
                        libc::makedev(0, 0),
                    )
                })
                .map_err(fail(name, "create the overlay whiteout (char device 0/0)"))
            }
            (WhiteoutMode::Overlay, None) => {
                self.root.parent(parent).map_err(fail(
                    name,
                    "open or create the parent directory inside the target",
                ))?;
                let dir = self
                    .root
                    .open_in(parent, OFlag::O_RDONLY | OFlag::O_DIRECTORY)
                    .map_err(fail(name, "open the opaque directory"))?;
                xattr::FileExt::set_xattr(&File::from(dir), OVERLAY_OPAQUE_XATTR, b"y")
                    .map_err(fail(name, "set trusted.overlay.opaque"))
            }
        }
    }

    /// Opens an existing directory for a whiteout; `None` if it does not exist.
    fn open_existing(
        &self,
        name: &[u8],
        parent: &Path,
        flags: OFlag,
    ) -> Result<Option<OwnedFd>, LayerError> {
        match self.root.open_in(parent, flags | OFlag::O_DIRECTORY) {
            Ok(fd) => Ok(Some(fd)),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
            Err(e) => Err(fail(name, "open the whiteout's directory")(e)),
        }
    }

    /// Applies the directories' metadata, deepest last-written first; returns the number of
    /// device nodes skipped.
    pub(crate) fn finish(mut self) -> Result<u64, LayerError> {
        let mut done = HashSet::new();
        let dirs = std::mem::take(&mut self.dirs);
        for (path, meta) in dirs.iter().rev() {
            if !done.insert(path) {
                continue; // a later entry for the same directory won
            }
            let name = path.as_os_str().as_bytes();
            let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW;
            let fd = match self.root.open_in(path, flags) {
                Ok(fd) => fd,
                // Replaced or removed by a later entry of the layer.
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::ENOENT | libc::ELOOP | libc::ENOTDIR)
                    ) =>
                {
                    continue
                }
                Err(e) => return Err(fail(name, "open the directory")(e)),
            };
            let dir = File::from(fd);
            if self.options.ownership == Ownership::Preserve {
                fchown(
                    &dir,
                    Some(Uid::from_raw(meta.uid)),
                    Some(Gid::from_raw(meta.gid)),
                )
                .map_err(|e| fail(name, "set the owner")(e.into()))?;
            }
            fchmod(&dir, Mode::from_bits_truncate(meta.mode))
                .map_err(|e| fail(name, "set the mode")(e.into()))?;
            for (key, value) in &meta.xattrs {
                xattr::FileExt::set_xattr(&dir, key, value).map_err(fail(name, "set an xattr"))?;
            }
            futimens(&dir, &meta.atime, &meta.mtime)
                .map_err(|e| fail(name, "set the times")(e.into()))?;
        }
        Ok(self.skipped_devices)
    }
}

/// Runs `create`; if the name exists (and is not a directory being re-created), removes it
/// and runs `create` again: a layer's entry replaces what the layers below had.
fn replace<T>(
    dir: BorrowedFd<'_>,
    name: &OsStr,
    mut create: impl FnMut() -> nix::Result<T>,
) -> io::Result<T> {
    match create() {
        Err(Errno::EEXIST) => {
            remove_all_at(dir, name)?;
            Ok(create()?)
        }
        other => Ok(other?),
    }
}

/// Creates a directory, or keeps an existing one (a layer's directory merges with the
/// lower one); anything else of that name is replaced.
fn make_dir(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<()> {
    // 0700 until the end: the final mode may be read-only.
    let mode = Mode::from_bits_truncate(0o700);
    match mkdirat(dir, name, mode) {
        Err(Errno::EEXIST) if file_type_at(dir, name)? == Some(SFlag::S_IFDIR) => Ok(()),
        Err(Errno::EEXIST) => {
            remove_all_at(dir, name)?;
            Ok(mkdirat(dir, name, mode)?)
        }
        other => Ok(other?),
    }
}

fn same_dir(a: BorrowedFd<'_>, b: BorrowedFd<'_>) -> bool {
    match (nix::sys::stat::fstat(a), nix::sys::stat::fstat(b)) {
        (Ok(a), Ok(b)) => a.st_dev == b.st_dev && a.st_ino == b.st_ino,
        _ => false,
    }
}

/// Opaque directory in apply mode: removes everything below `dir` that this layer did not
/// write, descending into the directories it did write.
fn clear_lower(dir: BorrowedFd<'_>, rel: &Path, unpacked: &HashSet<PathBuf>) -> io::Result<()> {
    for name in list_dir(dir)? {
        let path = rel.join(&name);
        if !unpacked.contains(&path) {
            remove_all_at(dir, &name)?;
        } else if file_type_at(dir, &name)? == Some(SFlag::S_IFDIR) {
            let child = openat(
                dir,
                name.as_os_str(),
                OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                Mode::empty(),
            )?;
            clear_lower(child.as_fd(), &path, unpacked)?;
        }
    }
    Ok(())
}

fn copy(reader: &mut impl Read, mut file: &File, buffer: &mut [u8]) -> io::Result<u64> {
    let mut total = 0;
    loop {
        let n = match reader.read(buffer) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        file.write_all(&buffer[..n])?;
        total += n as u64;
    }
}

/// Writes a GNU sparse entry's expanded data, leaving holes where it is zero.
fn write_sparse(reader: &mut impl Read, file: &File, buffer: &mut [u8]) -> io::Result<u64> {
    const BLOCK: usize = 4096;
    let mut offset = 0u64;
    loop {
        let n = match reader.read(buffer) {
            Ok(0) => return Ok(offset),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        for chunk in buffer[..n].chunks(BLOCK) {
            if chunk.iter().any(|&b| b != 0) {
                file.write_all_at(chunk, offset)?;
            }
            offset += chunk.len() as u64;
        }
    }
}
