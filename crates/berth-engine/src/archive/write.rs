//! Writing a tree of the rootfs as a tar stream, reading it through file descriptors
//! opened without following symlinks, so that nothing outside the root is read.
//!
//! Names are written as given (Docker's `./x` and `/x` forms included), which the `tar`
//! crate's path setters would normalise; names of 100 bytes or more go in GNU long-name
//! entries, as the crate itself does.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;

use nix::fcntl::{openat, readlinkat, AtFlags, OFlag};
use nix::sys::stat::{fstat, fstatat, major, minor, FileStat, Mode, SFlag};
use tar::{EntryType, Header};

use super::mode::kind;
use super::root::{proc_path, sys, Root};
use super::ArchiveError;

/// The name field of a ustar/GNU header.
const NAME_LEN: usize = 100;

/// Docker keeps this one xattr in archives (file capabilities).
const CAPABILITY_XATTR: &str = "security.capability";

pub(super) struct TarWriter<'r, W: Write> {
    root: &'r Root,
    builder: tar::Builder<W>,
    /// First name written for each multiply-linked inode, for hard link entries.
    links: HashMap<(u64, u64), Vec<u8>>,
}

impl<'r, W: Write> TarWriter<'r, W> {
    pub fn new(root: &'r Root, out: W) -> Self {
        TarWriter {
            root,
            builder: tar::Builder::new(out),
            links: HashMap::new(),
        }
    }

    /// Writes the end of the archive.
    pub fn finish(self) -> Result<(), ArchiveError> {
        self.builder
            .into_inner()
            .map(drop)
            .map_err(|source| ArchiveError::Io {
                action: "write the archive",
                path: self.root.path().to_path_buf(),
                source,
            })
    }

    /// Writes `name` inside the directory `parent` (and everything under it) as `tar_name`.
    pub fn append_entry(
        &mut self,
        parent: &OwnedFd,
        name: &OsStr,
        tar_name: &str,
    ) -> Result<(), ArchiveError> {
        let where_ = || proc_path(parent).join(name);
        let stat = fstatat(parent, name, AtFlags::AT_SYMLINK_NOFOLLOW)
            .map_err(|errno| sys("stat", &where_(), errno))?;
        let mut header = header_for(&stat);
        match kind(&stat) {
            SFlag::S_IFDIR => {
                let dir = openat(
                    parent,
                    name,
                    OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                    Mode::empty(),
                )
                .map_err(|errno| sys("open", &where_(), errno))?;
                self.append_dir(dir, &stat, tar_name)
            }
            SFlag::S_IFREG => {
                if let Some(first) = self.hard_link(&stat, tar_name) {
                    header.set_entry_type(EntryType::Link);
                    header.set_size(0);
                    return self.append(
                        header,
                        tar_name.as_bytes(),
                        Some(&first),
                        std::io::empty(),
                    );
                }
                // O_NONBLOCK: were a fifo swapped in since the stat, opening must not hang.
                let file = openat(
                    parent,
                    name,
                    OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
                    Mode::empty(),
                )
                .map_err(|errno| sys("open", &where_(), errno))?;
                let now = fstat(&file).map_err(|errno| sys("stat", &where_(), errno))?;
                if kind(&now) != SFlag::S_IFREG {
                    return Err(ArchiveError::Invalid(format!(
                        "{} changed while being archived",
                        where_().display()
                    )));
                }
                self.append_capability(parent, name)?;
                let size = u64::try_from(now.st_size).unwrap_or(0);
                header.set_size(size);
                // The header promises `size` bytes: a file that shrinks meanwhile is
                // padded with zeros, one that grows is cut, so the archive stays whole.
                let data = File::from(file)
                    .take(size)
                    .chain(std::io::repeat(0))
                    .take(size);
                self.append(header, tar_name.as_bytes(), None, data)
            }
            SFlag::S_IFLNK => {
                let target =
                    readlinkat(parent, name).map_err(|errno| sys("readlink", &where_(), errno))?;
                self.append(
                    header,
                    tar_name.as_bytes(),
                    Some(target.as_bytes()),
                    std::io::empty(),
                )
            }
            // Go's tar cannot hold sockets; Docker leaves them out.
            SFlag::S_IFSOCK => Ok(()),
            _ => self.append(header, tar_name.as_bytes(), None, std::io::empty()),
        }
    }

    /// Writes the directory `dir` as `tar_name` and then its children.
    pub fn append_dir(
        &mut self,
        dir: OwnedFd,
        stat: &FileStat,
        tar_name: &str,
    ) -> Result<(), ArchiveError> {
        let header = header_for(stat);
        let name = if tar_name.ends_with('/') {
            tar_name.to_string()
        } else {
            format!("{tar_name}/")
        };
        self.append(header, name.as_bytes(), None, std::io::empty())?;
        self.append_children(dir, Some(tar_name.trim_end_matches('/')))
    }

    /// Writes the children of directory `dir` (opened `O_RDONLY`), named `prefix/child`,
    /// or `child` without a prefix; in name order, so that archives are reproducible.
    pub fn append_children(
        &mut self,
        dir: OwnedFd,
        prefix: Option<&str>,
    ) -> Result<(), ArchiveError> {
        let listing = dir.try_clone().map_err(|source| ArchiveError::Io {
            action: "duplicate the descriptor of",
            path: proc_path(&dir),
            source,
        })?;
        let mut names: Vec<OsString> = Vec::new();
        let mut entries = nix::dir::Dir::from_fd(listing)
            .map_err(|errno| sys("list", &proc_path(&dir), errno))?;
        for entry in entries.iter() {
            let entry = entry.map_err(|errno| sys("list", &proc_path(&dir), errno))?;
            let name = OsStr::from_bytes(entry.file_name().to_bytes());
            if name != "." && name != ".." {
                names.push(name.to_os_string());
            }
        }
        names.sort();
        for name in names {
            let child = name.to_string_lossy();
            let tar_name = match prefix {
                Some(prefix) => format!("{prefix}/{child}"),
                None => child.into_owned(),
            };
            self.append_entry(&dir, &name, &tar_name)?;
        }
        Ok(())
    }

    /// The name this inode was first written under, recording it if this is the first.
    fn hard_link(&mut self, stat: &FileStat, tar_name: &str) -> Option<Vec<u8>> {
        if stat.st_nlink <= 1 {
            return None;
        }
        let key = (stat.st_dev, stat.st_ino);
        if let Some(first) = self.links.get(&key) {
            return Some(first.clone());
        }
        self.links.insert(key, tar_name.as_bytes().to_vec());
        None
    }

    /// File capabilities go in a PAX header before the entry, as Docker writes them.
    fn append_capability(&mut self, parent: &OwnedFd, name: &OsStr) -> Result<(), ArchiveError> {
        let path = proc_path(parent).join(name);
        if let Ok(Some(value)) = xattr::get(&path, CAPABILITY_XATTR) {
            let key = format!("SCHILY.xattr.{CAPABILITY_XATTR}");
            self.builder
                .append_pax_extensions([(key.as_str(), value.as_slice())])
                .map_err(|source| write_error(self.root, source))?;
        }
        Ok(())
    }

    /// Appends one entry with its name and link target written verbatim.
    fn append(
        &mut self,
        mut header: Header,
        name: &[u8],
        link: Option<&[u8]>,
        data: impl Read,
    ) -> Result<(), ArchiveError> {
        if name.len() >= NAME_LEN {
            self.long_name(EntryType::GNULongName, name)?;
        }
        let field = &mut header.as_old_mut().name;
        let len = name.len().min(NAME_LEN);
        field[..len].copy_from_slice(&name[..len]);
        if let Some(link) = link {
            if link.len() >= NAME_LEN {
                self.long_name(EntryType::GNULongLink, link)?;
            }
            let field = &mut header.as_old_mut().linkname;
            let len = link.len().min(NAME_LEN);
            field[..len].copy_from_slice(&link[..len]);
        }
        header.set_cksum();
        self.builder
            .append(&header, data)
            .map_err(|source| write_error(self.root, source))
    }

    /// GNU's `././@LongLink` entry carrying a name that does not fit the header.
    fn long_name(&mut self, kind: EntryType, name: &[u8]) -> Result<(), ArchiveError> {
        let mut header = Header::new_gnu();
        let field = &mut header.as_old_mut().name;
        let marker = b"././@LongLink";
        field[..marker.len()].copy_from_slice(marker);
        header.set_mode(0o644);
        header.set_entry_type(kind);
        let mut data = name.to_vec();
        data.push(0);
        header.set_size(data.len() as u64);
        header.set_cksum();
        self.builder
            .append(&header, data.as_slice())
            .map_err(|source| write_error(self.root, source))
    }
}

/// A header with the type, mode, owner, times and device numbers of `stat`; size 0.
fn header_for(stat: &FileStat) -> Header {
    let mut header = Header::new_gnu();
    header.set_entry_type(match kind(stat) {
        SFlag::S_IFDIR => EntryType::Directory,
        SFlag::S_IFLNK => EntryType::Symlink,
        SFlag::S_IFCHR => EntryType::Char,
        SFlag::S_IFBLK => EntryType::Block,
        SFlag::S_IFIFO => EntryType::Fifo,
        _ => EntryType::Regular,
    });
    header.set_mode(stat.st_mode & 0o7777);
    header.set_uid(u64::from(stat.st_uid));
    header.set_gid(u64::from(stat.st_gid));
    header.set_mtime(u64::try_from(stat.st_mtime).unwrap_or(0));
    header.set_size(0);
    // Zero for all but devices, as Go writes them (some readers refuse blank fields).
    let (dev_major, dev_minor) = if matches!(kind(stat), SFlag::S_IFCHR | SFlag::S_IFBLK) {
        (major(stat.st_rdev), minor(stat.st_rdev))
    } else {
        (0, 0)
    };
    // Linux majors and minors fit the 7 octal digits of the GNU fields.
    let _ = header.set_device_major(dev_major as u32);
    let _ = header.set_device_minor(dev_minor as u32);
    header
}

fn write_error(root: &Root, source: std::io::Error) -> ArchiveError {
    ArchiveError::Io {
        action: "write the archive of",
        path: root.path().to_path_buf(),
        source,
    }
}
