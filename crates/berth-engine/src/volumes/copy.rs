//! Copy-up of an image directory into a new volume, and measuring a volume.

use std::collections::HashSet;
use std::fs::{self, File, Metadata, OpenOptions};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use filetime::FileTime;

/// A failed step of a copy.
#[derive(Debug)]
pub(super) struct CopyError {
    pub action: &'static str,
    pub path: PathBuf,
    pub source: std::io::Error,
}

type Result<T> = std::result::Result<T, CopyError>;

fn at(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> CopyError {
    let path = path.to_path_buf();
    move |source| CopyError {
        action,
        path,
        source,
    }
}

/// Copies the contents of directory `source` into the existing directory `dest`, and
/// gives `dest` the owner, mode and times of `source`. Symlinks are copied as symlinks
/// (never followed), hard links become separate files.
pub(super) fn copy_up(source: &Path, dest: &Path) -> Result<()> {
    let meta = fs::symlink_metadata(source).map_err(at("stat", source))?;
    copy_children(source, dest)?;
    copy_attributes(source, dest, &meta)
}

fn copy_children(source: &Path, dest: &Path) -> Result<()> {
    for entry in fs::read_dir(source).map_err(at("read", source))? {
        let entry = entry.map_err(at("read", source))?;
        let from = entry.path();
        let to = dest.join(entry.file_name());
        let meta = fs::symlink_metadata(&from).map_err(at("stat", &from))?;
        let kind = meta.file_type();
        if kind.is_dir() {
            fs::create_dir(&to).map_err(at("create", &to))?;
            copy_children(&from, &to)?;
        } else if kind.is_file() {
            copy_file(&from, &to)?;
        } else if kind.is_symlink() {
            let target = fs::read_link(&from).map_err(at("read link", &from))?;
            std::os::unix::fs::symlink(&target, &to).map_err(at("create symlink", &to))?;
        } else {
            // Devices, fifos, sockets: the same node, not its content.
            let kind = nix::sys::stat::SFlag::from_bits_truncate(meta.mode());
            let perm = nix::sys::stat::Mode::from_bits_truncate(meta.mode());
            nix::sys::stat::mknod(&to, kind, perm, meta.rdev())
                .map_err(|err| at("create node", &to)(err.into()))?;
        }
        copy_attributes(&from, &to, &meta)?;
    }
    Ok(())
}

fn copy_file(from: &Path, to: &Path) -> Result<()> {
    let mut input = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(from)
        .map_err(at("open", from))?;
    let mut output = File::create_new(to).map_err(at("create", to))?;
    std::io::copy(&mut input, &mut output).map_err(at("copy", to))?;
    Ok(())
}

/// Owner first (chown clears set-id bits), then mode, xattrs, and times last.
fn copy_attributes(from: &Path, to: &Path, meta: &Metadata) -> Result<()> {
    std::os::unix::fs::lchown(to, Some(meta.uid()), Some(meta.gid())).map_err(at("chown", to))?;
    let is_symlink = meta.file_type().is_symlink();
    if !is_symlink {
        fs::set_permissions(to, fs::Permissions::from_mode(meta.mode() & 0o7777))
            .map_err(at("chmod", to))?;
    }
    copy_xattrs(from, to);
    filetime::set_symlink_file_times(
        to,
        FileTime::from_last_access_time(meta),
        FileTime::from_last_modification_time(meta),
    )
    .map_err(at("set times of", to))
}

/// Best effort: a filesystem without xattrs (or a name it refuses) loses them, as with
/// Docker's copy-up.
fn copy_xattrs(from: &Path, to: &Path) {
    let Ok(names) = xattr::list(from) else {
        return;
    };
    for name in names {
        if let Ok(Some(value)) = xattr::get(from, &name) {
            if let Err(err) = xattr::set(to, &name, &value) {
                tracing::debug!(path = %to.display(), xattr = ?name, error = %err, "xattr not copied");
            }
        }
    }
}

/// Bytes in the files under `dir` (apparent sizes; a hard-linked file once).
pub(super) fn usage(dir: &Path) -> std::io::Result<u64> {
    let mut seen = HashSet::new();
    let mut total = 0;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            let meta = entry.metadata()?;
            if meta.is_dir() {
                pending.push(entry.path());
                continue;
            }
            if meta.nlink() > 1 && !seen.insert((meta.dev(), meta.ino())) {
                continue;
            }
            if meta.is_file() || meta.file_type().is_symlink() {
                total += meta.len();
            }
        }
    }
    Ok(total)
}
