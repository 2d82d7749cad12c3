//! A consistent set of open log files while a writer may be rotating them.
//!
//! Rotation is a cascade of renames (`<path>.N-1` -> `<path>.N`, ..., `<path>` ->
//! `<path>.1`) and then a new `<path>`. Every state in between is in order oldest to newest
//! if a missing name is skipped, so the files are opened by name, then looked up by name
//! again: when both passes see the same inodes, no rename ran in between and the open
//! files are in order. Open files stay readable after a later rotation deletes them.

use std::fs::File;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::LogError;

/// A file's identity: (device, inode).
pub(crate) type FileId = (u64, u64);

/// One open log file.
#[derive(Debug)]
pub(crate) struct OpenLog {
    /// The name it was opened by (it may have been renamed since).
    pub(crate) name: PathBuf,
    pub(crate) file: File,
    pub(crate) id: FileId,
    /// Whether it was opened as the live `<path>` (not a rotated `<path>.N`).
    pub(crate) live: bool,
}

/// How many rotations may run past a reader before it gives up on a quiet moment.
const MAX_ATTEMPTS: u32 = 1000;

/// `<path>.<index>`, or `<path>` for index 0.
pub(crate) fn rotated_name(path: &Path, index: u32) -> PathBuf {
    if index == 0 {
        return path.to_path_buf();
    }
    let mut name = path.as_os_str().to_os_string();
    name.push(format!(".{index}"));
    PathBuf::from(name)
}

/// The log's files, oldest first; the last is the live file when it exists.
pub(crate) fn open_all(path: &Path) -> Result<Vec<OpenLog>, LogError> {
    let mut attempt = 0;
    loop {
        let opened = open_chain(path)?;
        let ids_now = stat_chain(path)?;
        let ids_opened: Vec<(u32, FileId)> = opened.iter().map(|(i, f)| (*i, f.id)).collect();
        attempt += 1;
        // A missing live file with rotated ones is the instant inside a rotation between
        // the rename and the create: try for a state with the live file first.
        let mid_rotation = !opened.is_empty() && opened[0].0 != 0;
        if ids_now == ids_opened && (!mid_rotation || attempt >= MAX_ATTEMPTS) {
            return Ok(opened.into_iter().rev().map(|(_, f)| f).collect());
        }
        if attempt >= MAX_ATTEMPTS {
            // A writer rotating without pause: take the last view; a duplicate (a file
            // seen under two names) is dropped so that no line is read twice.
            let mut files: Vec<OpenLog> = Vec::new();
            for (_, f) in opened.into_iter().rev() {
                if !files.iter().any(|seen| seen.id == f.id) {
                    files.push(f);
                }
            }
            return Ok(files);
        }
        std::thread::yield_now();
    }
}

/// Opens `<path>`, `<path>.1`, ... until two indices in a row are missing (one may be
/// missing in the middle of a rotation). Newest first, with their indices.
fn open_chain(path: &Path) -> Result<Vec<(u32, OpenLog)>, LogError> {
    let mut files = Vec::new();
    let mut missing_in_a_row = 0;
    let mut index = 0;
    while missing_in_a_row < 2 {
        let name = rotated_name(path, index);
        match File::open(&name) {
            Ok(file) => {
                let meta = match file.metadata() {
                    Ok(meta) => meta,
                    Err(source) => return Err(LogError::Read { path: name, source }),
                };
                let id = (meta.dev(), meta.ino());
                files.push((
                    index,
                    OpenLog {
                        name,
                        file,
                        id,
                        live: index == 0,
                    },
                ));
                missing_in_a_row = 0;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => missing_in_a_row += 1,
            Err(source) => return Err(LogError::Open { path: name, source }),
        }
        index += 1;
    }
    Ok(files)
}

/// The identities behind the same names as [`open_chain`], without opening.
fn stat_chain(path: &Path) -> Result<Vec<(u32, FileId)>, LogError> {
    let mut ids = Vec::new();
    let mut missing_in_a_row = 0;
    let mut index = 0;
    while missing_in_a_row < 2 {
        match stat_id(&rotated_name(path, index))? {
            Some(id) => {
                ids.push((index, id));
                missing_in_a_row = 0;
            }
            None => missing_in_a_row += 1,
        }
        index += 1;
    }
    Ok(ids)
}

/// The identity of the file at `name`, None if there is none.
pub(crate) fn stat_id(name: &Path) -> Result<Option<FileId>, LogError> {
    match std::fs::metadata(name) {
        Ok(meta) => Ok(Some((meta.dev(), meta.ino()))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(LogError::Read {
            path: name.to_path_buf(),
            source,
        }),
    }
}
