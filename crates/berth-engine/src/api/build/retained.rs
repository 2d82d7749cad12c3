//! Build contexts from tars (the docker CLI's) unpacked into directories kept between
//! builds, writing only what changed.
//!
//! Unpacking a context afresh makes a new inode for every file, and on a large context
//! that costs more than the build itself; it also defeats the builder's remembered file
//! digests, which are keyed by inode and ctime. A retained slot is instead brought in line
//! with the tar: a regular file whose bytes, size and type match stays untouched (its mode
//! and mtime set when they differ), anything else is written anew (temp file + rename),
//! and what the tar does not name is removed at the end. A slot is used by one build at a
//! time (`flock`); a build that finds every slot taken unpacks afresh. A slot left half
//! synced by a crash is brought in line by the next build that takes it.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

use crate::error::{EngineError, Result};

/// How many contexts are kept (each as large as the context it last held).
const SLOTS: usize = 4;

/// A retained context directory, held by this build until dropped.
#[derive(Debug)]
pub struct Slot {
    dir: PathBuf,
    _lock: Flock<File>,
}

impl Slot {
    /// The first free slot under `base` (made if missing); None when all are taken.
    pub fn acquire(base: &Path) -> Result<Option<Slot>> {
        fs::create_dir_all(base).map_err(|e| EngineError::io("create", base, e))?;
        for index in 0..SLOTS {
            let lock_path = base.join(format!("{index}.lock"));
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&lock_path)
                .map_err(|e| EngineError::io("open", &lock_path, e))?;
            match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(lock) => {
                    let dir = base.join(index.to_string());
                    fs::create_dir_all(&dir).map_err(|e| EngineError::io("create", &dir, e))?;
                    return Ok(Some(Slot { dir, _lock: lock }));
                }
                Err((_, nix::errno::Errno::EWOULDBLOCK)) => continue,
                Err((_, errno)) => {
                    return Err(EngineError::io("lock", &lock_path, errno.into()));
                }
            }
        }
        Ok(None)
    }

    /// Removes the contexts of the slots no build holds; answers the bytes freed.
    pub fn prune(base: &Path) -> Result<u64> {
        let mut freed = 0;
        for index in 0..SLOTS {
            let lock_path = base.join(format!("{index}.lock"));
            let Ok(file) = File::open(&lock_path) else {
                continue;
            };
            let Ok(_lock) = Flock::lock(file, FlockArg::LockExclusiveNonblock) else {
                continue;
            };
            let dir = base.join(index.to_string());
            freed += crate::container::remove::dir_size(&dir);
            match fs::remove_dir_all(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(EngineError::io("remove", &dir, e)),
            }
        }
        Ok(freed)
    }

    /// The context directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Brings the slot in line with the tar stream `reader`.
    pub fn sync(&self, reader: impl Read) -> Result<()> {
        let invalid = |e: io::Error| EngineError::Invalid(format!("invalid build context: {e}"));
        let mut archive = tar::Archive::new(reader);
        archive.set_preserve_permissions(true);
        archive.set_preserve_mtime(true);
        archive.set_overwrite(true);
        let mut seen: HashSet<PathBuf> = HashSet::new();
        for entry in archive.entries().map_err(invalid)? {
            let mut entry = entry.map_err(invalid)?;
            let raw = entry.path().map_err(invalid)?.into_owned();
            let Some(rel) = normalize(&raw) else {
                return Err(EngineError::Invalid(format!(
                    "invalid build context: the entry `{}` is outside the context",
                    raw.display()
                )));
            };
            if rel.as_os_str().is_empty() {
                continue;
            }
            self.prepare_parents(&rel, &seen)?;
            let dest = self.dir.join(&rel);
            let header = entry.header();
            let mode = header.mode().map_err(invalid)? & 0o7777;
            let mtime = header.mtime().map_err(invalid)?;
            let kind = header.entry_type();
            let io = |e: io::Error| EngineError::io("write the build context at", &dest, e);
            if kind.is_file() {
                let size = entry.size();
                sync_file(&mut entry, size, &dest, mode, mtime).map_err(io)?;
            } else if kind.is_dir() {
                match fs::symlink_metadata(&dest) {
                    Ok(meta) if meta.is_dir() => {}
                    Ok(_) => {
                        remove_any(&dest).map_err(io)?;
                        fs::create_dir(&dest).map_err(io)?;
                    }
                    Err(_) => fs::create_dir(&dest).map_err(io)?,
                }
                set_mode_and_mtime(&dest, mode, mtime).map_err(io)?;
            } else {
                // Links and special files: rare in contexts; written anew by the tar
                // crate, which refuses to write through a symlink leaving the slot.
                if fs::symlink_metadata(&dest).is_ok() {
                    remove_any(&dest).map_err(io)?;
                }
                let unpacked = entry.unpack_in(&self.dir).map_err(invalid)?;
                if !unpacked {
                    return Err(EngineError::Invalid(format!(
                        "invalid build context: the entry `{}` is outside the context",
                        raw.display()
                    )));
                }
            }
            let mut path = rel.as_path();
            while seen.insert(path.to_path_buf()) {
                match path.parent() {
                    Some(parent) if !parent.as_os_str().is_empty() => path = parent,
                    _ => break,
                }
            }
        }
        remove_unseen(&self.dir, Path::new(""), &seen)
    }

    /// Makes every parent of `rel` a real directory in the slot: a leftover of an earlier
    /// context that is in the way (a file, a symlink) is removed; one this tar declared is
    /// an error, so that no entry is written through a symlink.
    fn prepare_parents(&self, rel: &Path, seen: &HashSet<PathBuf>) -> Result<()> {
        let mut prefix = PathBuf::new();
        let parts: Vec<_> = rel.components().collect();
        for part in parts.iter().take(parts.len().saturating_sub(1)) {
            prefix.push(part);
            let path = self.dir.join(&prefix);
            let io = |e: io::Error| EngineError::io("write the build context at", &path, e);
            match fs::symlink_metadata(&path) {
                Ok(meta) if meta.is_dir() => {}
                Ok(_) if seen.contains(&prefix) => {
                    return Err(EngineError::Invalid(format!(
                        "invalid build context: `{}` is not a directory but has entries",
                        prefix.display()
                    )))
                }
                Ok(_) => {
                    remove_any(&path).map_err(io)?;
                    fs::create_dir(&path).map_err(io)?;
                }
                Err(_) => fs::create_dir(&path).map_err(io)?,
            }
        }
        Ok(())
    }
}

/// `raw` without `.` parts and with `..` applied; None when it climbs out.
fn normalize(raw: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for component in raw.components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    Some(out)
}

/// Leaves `dest` as the entry's regular file: untouched when its bytes are already those
/// (mode and mtime set if they differ), else written to a temp file and renamed over.
fn sync_file(
    entry: &mut impl Read,
    size: u64,
    dest: &Path,
    mode: u32,
    mtime: u64,
) -> io::Result<()> {
    const CHUNK: usize = 256 * 1024;
    let mut incoming = vec![0u8; CHUNK];
    let mut prefix: u64 = 0;
    let mut pending = 0;
    let same_size = fs::symlink_metadata(dest).is_ok_and(|m| m.is_file() && m.len() == size);
    if let Some(mut existing) = same_size.then(|| File::open(dest).ok()).flatten() {
        let mut current = vec![0u8; CHUNK];
        loop {
            let n = read_full(entry, &mut incoming)?;
            if n == 0 {
                return set_mode_and_mtime(dest, mode, mtime);
            }
            let same =
                read_full(&mut existing, &mut current[..n])? == n && incoming[..n] == current[..n];
            if !same {
                pending = n;
                break;
            }
            prefix += n as u64;
        }
    }
    // Written anew: the bytes already matched (from the old file), the chunk in hand,
    // then the rest of the entry.
    let tmp = temp_path(dest);
    let written = (|| {
        let mut out = File::create(&tmp)?;
        if prefix > 0 {
            let mut old = File::open(dest)?;
            old.rewind()?;
            io::copy(&mut old.take(prefix), &mut out)?;
        }
        out.write_all(&incoming[..pending])?;
        io::copy(entry, &mut out)?;
        drop(out);
        if fs::symlink_metadata(dest).is_ok_and(|m| m.is_dir()) {
            fs::remove_dir_all(dest)?;
        }
        fs::rename(&tmp, dest)?;
        set_mode_and_mtime(dest, mode, mtime)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}

fn temp_path(dest: &Path) -> PathBuf {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dest.with_file_name(format!(".{name}.berth-sync-{:x}", rand::random::<u64>()))
}

/// Reads until `buf` is full or the stream ends; answers the bytes read.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Sets the permission bits and the mtime, each only when it differs (every change moves
/// the ctime, which the remembered digests key on).
fn set_mode_and_mtime(path: &Path, mode: u32, mtime: u64) -> io::Result<()> {
    let meta = fs::symlink_metadata(path)?;
    if meta.mode() & 0o7777 != mode {
        fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    }
    let mtime = i64::try_from(mtime).unwrap_or(i64::MAX);
    if meta.mtime() != mtime || meta.mtime_nsec() != 0 {
        filetime::set_symlink_file_times(
            path,
            filetime::FileTime::from_last_access_time(&meta),
            filetime::FileTime::from_unix_time(mtime, 0),
        )?;
    }
    Ok(())
}

fn remove_any(path: &Path) -> io::Result<()> {
    if fs::symlink_metadata(path)?.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    }
}

/// Removes what is under `dir/rel` and not in `seen`.
fn remove_unseen(dir: &Path, rel: &Path, seen: &HashSet<PathBuf>) -> Result<()> {
    let here = dir.join(rel);
    let entries = fs::read_dir(&here).map_err(|e| EngineError::io("read", &here, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| EngineError::io("read", &here, e))?;
        let child = rel.join(entry.file_name());
        let path = dir.join(&child);
        if !seen.contains(&child) {
            remove_any(&path).map_err(|e| EngineError::io("remove", &path, e))?;
        } else if entry.file_type().is_ok_and(|t| t.is_dir()) {
            remove_unseen(dir, &child, seen)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    enum E<'a> {
        File(&'a str, &'a [u8], u32),
        Dir(&'a str),
        Link(&'a str, &'a str),
    }

    fn tar_of(entries: &[E]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for entry in entries {
            let mut header = tar::Header::new_gnu();
            header.set_mtime(1_600_000_000);
            match entry {
                E::File(name, data, mode) => {
                    header.set_size(data.len() as u64);
                    header.set_mode(*mode);
                    header.set_entry_type(tar::EntryType::Regular);
                    builder.append_data(&mut header, name, *data).unwrap();
                }
                E::Dir(name) => {
                    header.set_size(0);
                    header.set_mode(0o755);
                    header.set_entry_type(tar::EntryType::Directory);
                    builder.append_data(&mut header, name, &[][..]).unwrap();
                }
                E::Link(name, target) => {
                    header.set_size(0);
                    header.set_mode(0o777);
                    header.set_entry_type(tar::EntryType::Symlink);
                    builder.append_link(&mut header, name, target).unwrap();
                }
            }
        }
        builder.into_inner().unwrap()
    }

    fn ino(path: &Path) -> u64 {
        fs::symlink_metadata(path).unwrap().ino()
    }

    #[test]
    fn a_resync_writes_only_what_changed_and_removes_the_rest() {
        let base = tempfile::tempdir().unwrap();
        let slot = Slot::acquire(base.path()).unwrap().unwrap();
        let big = vec![7u8; 600 * 1024];
        slot.sync(
            &tar_of(&[
                E::Dir("src"),
                E::File("src/same.txt", b"same", 0o644),
                E::File("src/edit.txt", b"old!", 0o644),
                E::File("src/big.bin", &big, 0o644),
                E::File("gone.txt", b"gone", 0o644),
                E::File("becomes-dir", b"file", 0o644),
                E::Dir("becomes-file"),
                E::File("becomes-file/inner", b"x", 0o644),
                E::File("chmod.sh", b"#!/bin/sh", 0o644),
            ])[..],
        )
        .unwrap();
        let dir = slot.dir().to_path_buf();
        let same_ino = ino(&dir.join("src/same.txt"));
        let big_ino = ino(&dir.join("src/big.bin"));
        let chmod_ino = ino(&dir.join("chmod.sh"));

        let mut big_changed = big.clone();
        *big_changed.last_mut().unwrap() = 8;
        slot.sync(
            &tar_of(&[
                E::Dir("src"),
                E::File("src/same.txt", b"same", 0o644),
                E::File("src/edit.txt", b"new!", 0o644),
                E::File("src/big.bin", &big_changed, 0o644),
                E::Dir("becomes-dir"),
                E::File("becomes-dir/inner", b"y", 0o644),
                E::File("becomes-file", b"now a file", 0o600),
                E::File("chmod.sh", b"#!/bin/sh", 0o755),
                E::Link("link", "src/same.txt"),
            ])[..],
        )
        .unwrap();

        assert_eq!(
            ino(&dir.join("src/same.txt")),
            same_ino,
            "an unchanged file is kept"
        );
        assert_eq!(
            ino(&dir.join("chmod.sh")),
            chmod_ino,
            "a mode change keeps the file"
        );
        let mode = fs::metadata(dir.join("chmod.sh")).unwrap().mode() & 0o7777;
        assert_eq!(mode, 0o755);
        assert_eq!(fs::read(dir.join("src/edit.txt")).unwrap(), b"new!");
        assert_ne!(
            ino(&dir.join("src/big.bin")),
            big_ino,
            "a changed file is rewritten"
        );
        assert_eq!(fs::read(dir.join("src/big.bin")).unwrap(), big_changed);
        assert!(
            !dir.join("gone.txt").exists(),
            "what the tar does not name is removed"
        );
        assert_eq!(fs::read(dir.join("becomes-dir/inner")).unwrap(), b"y");
        assert_eq!(fs::read(dir.join("becomes-file")).unwrap(), b"now a file");
        assert_eq!(
            fs::read_link(dir.join("link")).unwrap(),
            Path::new("src/same.txt")
        );
        let mtime = fs::metadata(dir.join("src/edit.txt")).unwrap().mtime();
        assert_eq!(mtime, 1_600_000_000);
        let mut names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["becomes-dir", "becomes-file", "chmod.sh", "link", "src"]
        );
    }

    #[test]
    fn nothing_is_written_through_a_symlink() {
        let base = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let slot = Slot::acquire(base.path()).unwrap().unwrap();
        let target = outside.path().to_string_lossy().into_owned();
        let err = slot
            .sync(&tar_of(&[E::Link("escape", &target), E::File("escape/x", b"x", 0o644)])[..])
            .unwrap_err();
        assert!(err.to_string().contains("invalid build context"), "{err}");
        assert!(!outside.path().join("x").exists());

        // A symlink left by an earlier context is replaced by the directory a new one needs.
        slot.sync(&tar_of(&[E::Link("dir", &target)])[..]).unwrap();
        slot.sync(&tar_of(&[E::File("dir/y", b"y", 0o644)])[..])
            .unwrap();
        assert!(!outside.path().join("y").exists());
        assert_eq!(fs::read(slot.dir().join("dir/y")).unwrap(), b"y");
    }

    #[test]
    fn a_held_slot_is_not_given_twice_and_prune_skips_it() {
        let base = tempfile::tempdir().unwrap();
        let first = Slot::acquire(base.path()).unwrap().unwrap();
        let second = Slot::acquire(base.path()).unwrap().unwrap();
        assert_ne!(first.dir(), second.dir());
        first
            .sync(&tar_of(&[E::File("a", b"held", 0o644)])[..])
            .unwrap();
        second
            .sync(&tar_of(&[E::File("b", b"free", 0o644)])[..])
            .unwrap();
        let second_dir = second.dir().to_path_buf();
        drop(second);
        assert_eq!(Slot::prune(base.path()).unwrap(), 4);
        assert!(first.dir().join("a").exists(), "a held slot is kept");
        assert!(!second_dir.exists());
    }
}
