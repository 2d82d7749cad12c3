//! Reading and writing the files of one cgroup directory.
//!
//! Every cgroup operation is a read or a write of a small text file; keeping them here
//! means every error names the file (and, for writes, the value), and the controller
//! logic can be tested against a temporary directory laid out like `/sys/fs/cgroup`.

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use super::CgroupError;

/// One cgroup directory in one hierarchy.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dir<'a>(pub(crate) &'a Path);

impl Dir<'_> {
    /// The full path of `file` in this directory.
    pub(crate) fn file(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }

    /// Whether `file` exists (a controller's interface files exist only when the
    /// controller is bound to this hierarchy and, on v2, enabled for this cgroup).
    pub(crate) fn has(&self, file: &str) -> bool {
        self.file(file).exists()
    }

    /// The whole content of `file`, trailing newline removed.
    pub(crate) fn read(&self, file: &str) -> Result<String, CgroupError> {
        let path = self.file(file);
        std::fs::read_to_string(&path)
            .map(|s| s.trim_end().to_owned())
            .map_err(|source| CgroupError::Io { path, source })
    }

    /// The content of `file`, or `None` when the file does not exist.
    pub(crate) fn read_opt(&self, file: &str) -> Result<Option<String>, CgroupError> {
        match self.read(file) {
            Ok(s) => Ok(Some(s)),
            Err(CgroupError::Io { source, .. }) if source.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `file` parsed as one unsigned number; `max` (v2's "no limit") reads as `u64::MAX`.
    pub(crate) fn read_u64(&self, file: &str) -> Result<u64, CgroupError> {
        let text = self.read(file)?;
        parse_u64(&text).ok_or_else(|| CgroupError::Parse {
            path: self.file(file),
            content: text,
        })
    }

    /// Like [`Dir::read_u64`], but 0 when the file does not exist (stats of a
    /// controller the kernel lacks are reported as zero, as runc does).
    pub(crate) fn read_u64_or_zero(&self, file: &str) -> Result<u64, CgroupError> {
        if self.has(file) {
            self.read_u64(file)
        } else {
            Ok(0)
        }
    }

    /// A flat-keyed file (`key value` per line) such as `memory.stat` or `cpu.stat`.
    pub(crate) fn read_keyed(&self, file: &str) -> Result<BTreeMap<String, u64>, CgroupError> {
        let text = self.read_opt(file)?.unwrap_or_default();
        let mut map = BTreeMap::new();
        for line in text.lines() {
            let mut parts = line.split_whitespace();
            if let (Some(key), Some(value), None) = (parts.next(), parts.next(), parts.next()) {
                if let Some(value) = parse_u64(value) {
                    map.insert(key.to_owned(), value);
                }
            }
        }
        Ok(map)
    }

    /// Writes `value` to `file`; the error names both.
    pub(crate) fn write(&self, file: &str, value: &str) -> Result<(), CgroupError> {
        let path = self.file(file);
        std::fs::write(&path, value).map_err(|source| CgroupError::Write {
            path,
            value: value.to_owned(),
            source,
        })
    }
}

/// A cgroup number: decimal, or `max` for "unlimited".
pub(crate) fn parse_u64(text: &str) -> Option<u64> {
    let text = text.trim();
    if text == "max" {
        Some(u64::MAX)
    } else {
        text.parse().ok()
    }
}

/// Creates `path` and its missing parents.
pub(crate) fn create_dir_all(path: &Path) -> Result<(), CgroupError> {
    std::fs::create_dir_all(path).map_err(|source| CgroupError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Removes the cgroup `path` and every cgroup below it, deepest first.
///
/// `rmdir` of a cgroup whose last process has just exited can fail with EBUSY for a
/// short while (the kernel still tears the tasks down), so each removal is retried
/// for about a second before giving up.
pub(crate) fn remove_cgroup_tree(path: &Path) -> Result<(), CgroupError> {
    let entries = match std::fs::read_dir(path) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(CgroupError::Io {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    for entry in entries {
        let entry = entry.map_err(|source| CgroupError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        // Only sub-cgroups are directories; interface files go away with the rmdir.
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            remove_cgroup_tree(&entry.path())?;
        }
    }
    let mut attempts = 0;
    loop {
        match std::fs::remove_dir(path) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && attempts < 100 => {
                attempts += 1;
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(source) => {
                return Err(CgroupError::Remove {
                    path: path.to_path_buf(),
                    source,
                })
            }
        }
    }
}

/// Every pid in `cgroup.procs` of `path` and of the cgroups below it.
pub(crate) fn pids_recursive(path: &Path, out: &mut Vec<i32>) -> Result<(), CgroupError> {
    let dir = Dir(path);
    // A sub-cgroup may be removed while we walk; it then holds no process.
    let Some(procs) = dir.read_opt("cgroup.procs")? else {
        return Ok(());
    };
    for line in procs.lines() {
        let pid = line.trim().parse().map_err(|_| CgroupError::Parse {
            path: dir.file("cgroup.procs"),
            content: line.to_owned(),
        })?;
        out.push(pid);
    }
    let entries = match std::fs::read_dir(path) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(CgroupError::Io {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            pids_recursive(&entry.path(), out)?;
        }
    }
    Ok(())
}

/// Polls `done` every few milliseconds for up to `timeout`; whether it became true.
pub(crate) fn wait_until(
    timeout: std::time::Duration,
    mut done: impl FnMut() -> Result<bool, CgroupError>,
) -> Result<bool, CgroupError> {
    let start = std::time::Instant::now();
    loop {
        if done()? {
            return Ok(true);
        }
        if start.elapsed() >= timeout {
            return Ok(false);
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}
