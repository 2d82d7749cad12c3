//! COPY and ADD on the step's mounted root: finding the sources (globs per segment,
//! `.dockerignore`, confinement to the context), their content digest (the cache input),
//! and the copy itself with Docker's destination rules, `--chown` and `--chmod`; ADD's
//! local tar archives are extracted.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use berth_image::digest::{Digest, Hasher};

use super::file_digests::{self, FileDigests};
use super::pattern;
use super::BuildError;
use crate::dockerignore::DockerIgnore;

/// A source root: the context (with its ignore rules) or another stage's or image's root.
#[derive(Debug, Clone)]
pub(crate) struct SourceRoot {
    pub root: PathBuf,
    pub ignore: Option<DockerIgnore>,
    /// Remembered file digests, for a root whose files outlive the build (a context read
    /// in place); None: every file is read.
    pub digests: Option<Arc<FileDigests>>,
    /// The root is the client's own directory, which may change while the build reads
    /// it: a copy hashes what it copies and fails if that is not what the cache key was
    /// made of.
    pub live: bool,
}

/// One source found: its path under the root, `/`-separated, without leading `/`.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    pub rel: String,
    pub abs: PathBuf,
}

fn io_err(what: &str, path: &Path, e: std::io::Error) -> BuildError {
    BuildError::Other(format!("{what} {}: {e}", path.display()))
}

/// Cleans `path` lexically; None when `..` leaves the root.
pub(crate) fn clean(path: &str) -> Option<Vec<String>> {
    let mut parts: Vec<String> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p.to_string()),
        }
    }
    Some(parts)
}

impl SourceRoot {
    fn ignored(&self, rel: &str) -> bool {
        !rel.is_empty() && self.ignore.as_ref().is_some_and(|i| i.matches(rel))
    }

    /// The sources `spec` names (a path or a glob).
    pub fn resolve(&self, spec: &str) -> Result<Vec<Source>, BuildError> {
        let parts = clean(spec).ok_or_else(|| {
            BuildError::Source(format!(
                "forbidden path outside the build context: {spec} ()"
            ))
        })?;
        let mut found = vec![(self.root.clone(), String::new())];
        for part in &parts {
            let mut next = Vec::new();
            for (dir, rel) in found {
                let join = |name: &str| {
                    let r = if rel.is_empty() {
                        name.to_string()
                    } else {
                        format!("{rel}/{name}")
                    };
                    (dir.join(name), r)
                };
                if pattern::has_meta(part) {
                    let Ok(entries) = fs::read_dir(&dir) else {
                        continue;
                    };
                    let mut names: Vec<String> = entries
                        .filter_map(|e| e.ok())
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .filter(|n| pattern::matches(part, n))
                        .collect();
                    names.sort();
                    next.extend(names.iter().map(|n| join(n)));
                } else {
                    next.push(join(part));
                }
            }
            found = next;
        }
        let sources: Vec<Source> = found
            .into_iter()
            .filter(|(abs, rel)| abs.symlink_metadata().is_ok() && !self.ignored(rel))
            .map(|(abs, rel)| Source { rel, abs })
            .collect();
        if sources.is_empty() {
            return Err(BuildError::Source(if pattern::has_meta(spec) {
                "no source files were specified".to_string()
            } else {
                format!(
                    "file not found in build context or excluded by .dockerignore: stat {spec}: file does not exist"
                )
            }));
        }
        Ok(sources)
    }

    /// The files under a source, relative to the source, sorted, ignored ones left out
    /// ("" is the source itself).
    pub fn walk(&self, source: &Source) -> Result<Vec<(String, fs::Metadata)>, BuildError> {
        let mut out = Vec::new();
        let meta = fs::symlink_metadata(&source.abs).map_err(|e| io_err("stat", &source.abs, e))?;
        out.push((String::new(), meta.clone()));
        if meta.is_dir() {
            self.walk_dir(&source.abs, &source.rel, "", &mut out)?;
        }
        Ok(out)
    }

    fn walk_dir(
        &self,
        dir: &Path,
        rel_root: &str,
        rel: &str,
        out: &mut Vec<(String, fs::Metadata)>,
    ) -> Result<(), BuildError> {
        let mut names: Vec<_> = fs::read_dir(dir)
            .map_err(|e| io_err("list", dir, e))?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name())
            .collect();
        names.sort();
        for name in names {
            let name = name.to_string_lossy().into_owned();
            let sub = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            let full_rel = if rel_root.is_empty() {
                sub.clone()
            } else {
                format!("{rel_root}/{sub}")
            };
            let path = dir.join(&name);
            let meta = fs::symlink_metadata(&path).map_err(|e| io_err("stat", &path, e))?;
            let ignored = self.ignored(&full_rel);
            if ignored
                && !(meta.is_dir() && self.ignore.as_ref().is_some_and(|i| i.has_exceptions()))
            {
                continue;
            }
            if !ignored {
                out.push((sub.clone(), meta.clone()));
            }
            if meta.is_dir() && ignored {
                // An excluded directory with re-included files inside: copied as the
                // parent of those (the client sent them, so it is in the context).
                let mut inside = Vec::new();
                self.walk_dir(&path, rel_root, &sub, &mut inside)?;
                if !inside.is_empty() {
                    out.push((sub.clone(), meta.clone()));
                    out.extend(inside);
                }
            } else if meta.is_dir() {
                self.walk_dir(&path, rel_root, &sub, out)?;
            }
        }
        Ok(())
    }
}

/// The content digest of sources: per entry its path, type, mode and content (or link
/// target). Mtimes and owners are left out: COPY resets owners, and Docker's cache does
/// not look at mtimes.
pub(crate) fn digest(root: &SourceRoot, sources: &[Source]) -> Result<Digest, BuildError> {
    let mut fingerprint = Fingerprint::default();
    for source in sources {
        fingerprint.source(&source.rel);
        for (rel, meta) in root.walk(source)? {
            let path = if rel.is_empty() {
                source.abs.clone()
            } else {
                source.abs.join(&rel)
            };
            let content = if meta.is_file() {
                let digest = match &root.digests {
                    Some(cache) => cache.digest(&path, &meta)?,
                    None => file_digests::read_digest(&path)?.0,
                };
                Content::File(digest)
            } else if meta.file_type().is_symlink() {
                Content::Link(fs::read_link(&path).map_err(|e| io_err("readlink", &path, e))?)
            } else {
                Content::None
            };
            fingerprint.entry(&rel, &meta, &content);
        }
    }
    Ok(fingerprint.finish())
}

/// What an entry of a [`Fingerprint`] holds besides its name and mode.
pub(crate) enum Content {
    /// A regular file's sha256.
    File(Digest),
    /// A symlink's target.
    Link(PathBuf),
    /// A directory or a special file.
    None,
}

/// The digest of a set of sources, fed entry by entry in walk order: [`digest`] makes it
/// from the files as they are, a copy from a live context makes it again from what it
/// copied.
#[derive(Default)]
pub(crate) struct Fingerprint {
    hasher: Hasher,
}

impl Fingerprint {
    pub fn source(&mut self, rel: &str) {
        self.hasher.update(format!("source {rel}\n").as_bytes());
    }

    pub fn entry(&mut self, rel: &str, meta: &fs::Metadata, content: &Content) {
        self.hasher
            .update(format!("{rel}\0{:o}\0", meta.mode()).as_bytes());
        match content {
            Content::File(digest) => self.hasher.update(digest.to_string().as_bytes()),
            Content::Link(target) => self.hasher.update(target.to_string_lossy().as_bytes()),
            Content::None => {}
        }
        self.hasher.update(b"\n");
    }

    pub fn finish(self) -> Digest {
        self.hasher.finish()
    }
}

/// Resolves `path` (absolute, in the image) under `root`, following symlinks of existing
/// components inside `root`, as a chroot would.
pub(crate) fn resolve_in_root(root: &Path, path: &str) -> PathBuf {
    let mut todo: Vec<String> = path
        .split('/')
        .filter(|p| !p.is_empty())
        .rev()
        .map(str::to_string)
        .collect();
    let mut resolved: Vec<String> = Vec::new();
    let mut hops = 0;
    while let Some(part) = todo.pop() {
        match part.as_str() {
            "." => continue,
            ".." => {
                resolved.pop();
                continue;
            }
            _ => {}
        }
        let candidate = root.join(resolved.join("/")).join(&part);
        match fs::read_link(&candidate) {
            Ok(target) if hops < 40 => {
                hops += 1;
                let target = target.to_string_lossy().into_owned();
                if target.starts_with('/') {
                    resolved.clear();
                }
                todo.extend(
                    target
                        .split('/')
                        .filter(|p| !p.is_empty())
                        .rev()
                        .map(str::to_string),
                );
            }
            _ => resolved.push(part),
        }
    }
    let mut out = root.to_path_buf();
    for part in resolved {
        out.push(part);
    }
    out
}

/// Owner and mode of copied files.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CopyOptions {
    pub owner: (u32, u32),
    pub chmod: Option<u32>,
}

/// Creates the missing directories of `path` (inside the root) owned by `owner`.
fn mkdir_all(root: &Path, image_path: &str, owner: (u32, u32)) -> Result<PathBuf, BuildError> {
    let mut current = String::new();
    for part in image_path.split('/').filter(|p| !p.is_empty()) {
        current = format!("{current}/{part}");
        let host = resolve_in_root(root, &current);
        if host.symlink_metadata().is_err() {
            fs::create_dir(&host).map_err(|e| io_err("create", &host, e))?;
            fs::set_permissions(&host, fs::Permissions::from_mode(0o755))
                .map_err(|e| io_err("chmod", &host, e))?;
            chown(&host, owner)?;
        }
    }
    Ok(resolve_in_root(root, image_path))
}

fn chown(path: &Path, (uid, gid): (u32, u32)) -> Result<(), BuildError> {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid)).map_err(|e| io_err("chown", path, e))
}

/// The step's upper directory, and the root of the previous result of the same step (its
/// snapshot), for a directory copied to a path that does not exist yet: nothing of the
/// image lies below it, so its entries are written straight into the upper directory (the
/// overlay would only pass them through), and a file equal in every respect (bytes, mode,
/// owner, mtime) to the previous result's is hard-linked from that immutable snapshot
/// instead of written again: no new inode, no data written.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FreshTree<'a> {
    pub upper: &'a Path,
    pub previous: Option<&'a Path>,
}

/// Copies one source (a file, a symlink, or a directory's contents) to `dest` (a path in
/// the image; `dest_is_dir` as Docker decides it). With `check`, every entry copied is fed
/// to it as [`digest`] feeds its fingerprint, from the bytes actually copied.
#[allow(clippy::too_many_arguments)]
pub(crate) fn copy_source(
    src_root: &SourceRoot,
    source: &Source,
    rootfs: &Path,
    dest: &str,
    dest_is_dir: bool,
    options: CopyOptions,
    mut check: Option<&mut Fingerprint>,
    fresh: Option<FreshTree<'_>>,
) -> Result<(), BuildError> {
    let entries = src_root.walk(source)?;
    let top_is_dir = entries.first().is_some_and(|(_, m)| m.is_dir());
    let target = if top_is_dir || !dest_is_dir {
        dest.to_string()
    } else {
        let base = source.rel.rsplit('/').next().unwrap_or(&source.rel);
        format!("{}/{base}", dest.trim_end_matches('/'))
    };
    let parent = match target.trim_end_matches('/').rsplit_once('/') {
        Some((p, _)) => p.to_string(),
        None => String::new(),
    };
    mkdir_all(rootfs, &parent, options.owner)?;
    if let Some(check) = check.as_deref_mut() {
        check.source(&source.rel);
    }
    let fresh = fresh
        .filter(|_| top_is_dir && resolve_in_root(rootfs, &target).symlink_metadata().is_err());
    // Set once the top directory is made (through the overlay): where its entries go in
    // the upper directory, and where they were in the previous result.
    let mut direct: Option<(PathBuf, Option<PathBuf>)> = None;
    for (rel, meta) in entries {
        let image_path = if rel.is_empty() {
            target.clone()
        } else {
            format!("{}/{rel}", target.trim_end_matches('/'))
        };
        let from = if rel.is_empty() {
            source.abs.clone()
        } else {
            source.abs.join(&rel)
        };
        if rel.is_empty() && meta.is_dir() {
            let to = resolve_in_root(rootfs, &image_path);
            // A directory source copies its contents: the destination directory is
            // made (0755, owned like the files) when missing and left alone otherwise.
            if !to.is_dir() {
                mkdir_all(rootfs, &image_path, options.owner)?;
            }
            if let (Some(fresh), Ok(inside)) = (fresh, to.strip_prefix(rootfs)) {
                let upper = fresh.upper.join(inside);
                if upper.is_dir() {
                    direct = Some((upper, fresh.previous.map(|p| p.join(inside))));
                }
            }
            if let Some(check) = check.as_deref_mut() {
                check.entry(&rel, &meta, &Content::None);
            }
            continue;
        }
        let (to, previous) = match &direct {
            Some((upper, previous)) => (upper.join(&rel), previous.as_ref().map(|p| p.join(&rel))),
            None => (resolve_in_root(rootfs, &image_path), None),
        };
        if let Some(previous) = previous {
            if let Some(digest) = link_if_equal(&from, &previous, &to, &meta, options)? {
                if let Some(check) = check.as_deref_mut() {
                    check.entry(&rel, &meta, &Content::File(digest));
                }
                continue;
            }
        }
        let content = copy_entry(&from, &to, &meta, options, check.is_some())?;
        if let Some(check) = check.as_deref_mut() {
            check.entry(&rel, &meta, &content);
        }
    }
    Ok(())
}

/// Hard-links `previous` (a file of an immutable snapshot) at `to` when it is what copying
/// the regular file `from` (metadata `meta`) would make: same bytes, mode, owner and
/// mtime. Answers the digest of the bytes of `from` when it linked. The linked inode is
/// shared: nothing may change it afterwards (COPY does not; later steps copy up).
fn link_if_equal(
    from: &Path,
    previous: &Path,
    to: &Path,
    meta: &fs::Metadata,
    options: CopyOptions,
) -> Result<Option<Digest>, BuildError> {
    if !meta.is_file() {
        return Ok(None);
    }
    let Ok(old) = fs::symlink_metadata(previous) else {
        return Ok(None);
    };
    let mode = options.chmod.unwrap_or(meta.mode() & 0o7777);
    let same_attributes = old.is_file()
        && old.size() == meta.size()
        && old.mode() & 0o7777 == mode
        && (old.uid(), old.gid()) == options.owner
        && (old.mtime(), old.mtime_nsec()) == (meta.mtime(), meta.mtime_nsec());
    if !same_attributes {
        return Ok(None);
    }
    let mut a = fs::File::open(from).map_err(|e| io_err("open", from, e))?;
    let Ok(mut b) = fs::File::open(previous) else {
        return Ok(None);
    };
    let mut hasher = Hasher::new();
    let (mut x, mut y) = (vec![0u8; 64 * 1024], vec![0u8; 64 * 1024]);
    loop {
        let n = a.read(&mut x).map_err(|e| io_err("read", from, e))?;
        if n == 0 {
            // Equal so far: the previous file must end here too.
            if b.read(&mut y[..1])
                .map_err(|e| io_err("read", previous, e))?
                != 0
            {
                return Ok(None);
            }
            break;
        }
        if b.read_exact(&mut y[..n]).is_err() || x[..n] != y[..n] {
            return Ok(None);
        }
        hasher.update(&x[..n]);
    }
    match fs::hard_link(previous, to) {
        Ok(()) => Ok(Some(hasher.finish())),
        // The previous snapshot went meanwhile (removed): copy instead.
        Err(_) => Ok(None),
    }
}

/// Copies one entry; answers what it copied (a file's digest only when `hash`).
fn copy_entry(
    from: &Path,
    to: &Path,
    meta: &fs::Metadata,
    options: CopyOptions,
    hash: bool,
) -> Result<Content, BuildError> {
    let kind = meta.file_type();
    let mut content = Content::None;
    if kind.is_dir() {
        if !to.is_dir() {
            if to.symlink_metadata().is_ok() {
                fs::remove_file(to).map_err(|e| io_err("replace", to, e))?;
            }
            fs::create_dir(to).map_err(|e| io_err("create", to, e))?;
        }
    } else {
        if let Ok(existing) = to.symlink_metadata() {
            if existing.is_dir() {
                return Err(BuildError::Other(format!(
                    "cannot overwrite directory {} with a file",
                    to.display()
                )));
            }
            fs::remove_file(to).map_err(|e| io_err("replace", to, e))?;
        }
        if kind.is_symlink() {
            let target = fs::read_link(from).map_err(|e| io_err("readlink", from, e))?;
            std::os::unix::fs::symlink(&target, to).map_err(|e| io_err("symlink", to, e))?;
            content = Content::Link(target);
        } else if kind.is_file() {
            if hash {
                content = Content::File(copy_hashing(from, to)?);
            } else {
                fs::copy(from, to)
                    .map_err(|e| io_err(&format!("copy {} to", from.display()), to, e))?;
            }
        } else {
            // Devices, fifos and sockets: Docker copies them too, but a build context
            // hardly has any; skipping beats failing.
            return Ok(content);
        }
    }
    chown(to, options.owner)?;
    if !kind.is_symlink() {
        let mode = options.chmod.unwrap_or(meta.mode() & 0o7777);
        fs::set_permissions(to, fs::Permissions::from_mode(mode))
            .map_err(|e| io_err("chmod", to, e))?;
        let mtime = filetime::FileTime::from_last_modification_time(meta);
        filetime::set_file_mtime(to, mtime).map_err(|e| io_err("set the mtime of", to, e))?;
    }
    Ok(content)
}

/// Copies a regular file through user space, hashing the bytes as they go: the digest is
/// that of what `to` holds, whatever happens to `from` meanwhile.
fn copy_hashing(from: &Path, to: &Path) -> Result<Digest, BuildError> {
    let mut input = fs::File::open(from).map_err(|e| io_err("open", from, e))?;
    let mut output = fs::File::create(to).map_err(|e| io_err("create", to, e))?;
    let mut hasher = Hasher::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = input.read(&mut buf).map_err(|e| io_err("read", from, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        output
            .write_all(&buf[..n])
            .map_err(|e| io_err("write", to, e))?;
    }
    Ok(hasher.finish())
}

/// Copies the regular file `source` into `dir` (made if missing), hashing it as it goes,
/// with its mode and mtime; feeds `check` as [`digest`] would; answers the copy as a
/// source of the same name (a symlink is answered as it is).
pub(crate) fn snapshot_file(
    source: &Source,
    dir: &Path,
    check: &mut Fingerprint,
) -> Result<Source, BuildError> {
    let meta = fs::symlink_metadata(&source.abs).map_err(|e| io_err("stat", &source.abs, e))?;
    check.source(&source.rel);
    if meta.file_type().is_symlink() {
        // A link is copied as a link: its target is what the digest holds.
        let target = fs::read_link(&source.abs).map_err(|e| io_err("readlink", &source.abs, e))?;
        check.entry("", &meta, &Content::Link(target));
        return Ok(source.clone());
    }
    fs::create_dir_all(dir).map_err(|e| io_err("create", dir, e))?;
    let to = dir.join(super::layer::rand_suffix());
    let digest = copy_hashing(&source.abs, &to)?;
    fs::set_permissions(&to, fs::Permissions::from_mode(meta.mode() & 0o7777))
        .map_err(|e| io_err("chmod", &to, e))?;
    let mtime = filetime::FileTime::from_last_modification_time(&meta);
    filetime::set_file_mtime(&to, mtime).map_err(|e| io_err("set the mtime of", &to, e))?;
    check.entry("", &meta, &Content::File(digest));
    Ok(Source {
        rel: source.rel.clone(),
        abs: to,
    })
}

/// Writes a file of the given content (a heredoc, a download) at `dest`.
pub(crate) fn write_file(
    rootfs: &Path,
    dest: &str,
    content: &[u8],
    mode: u32,
    options: CopyOptions,
    mtime: Option<i64>,
) -> Result<(), BuildError> {
    let parent = dest
        .trim_end_matches('/')
        .rsplit_once('/')
        .map_or("", |(p, _)| p);
    mkdir_all(rootfs, parent, options.owner)?;
    let to = resolve_in_root(rootfs, dest);
    if to.is_dir() {
        return Err(BuildError::Other(format!(
            "cannot overwrite directory {dest} with a file"
        )));
    }
    let _ = fs::remove_file(&to);
    fs::write(&to, content).map_err(|e| io_err("write", &to, e))?;
    chown(&to, options.owner)?;
    fs::set_permissions(
        &to,
        fs::Permissions::from_mode(options.chmod.unwrap_or(mode)),
    )
    .map_err(|e| io_err("chmod", &to, e))?;
    if let Some(t) = mtime {
        filetime::set_file_mtime(&to, filetime::FileTime::from_unix_time(t, 0))
            .map_err(|e| io_err("set the mtime of", &to, e))?;
    }
    Ok(())
}

/// A tar archive ADD extracts (plain, or compressed with gzip, bzip2, xz or zstd, told
/// apart by their magic bytes as Docker does), or None for any other file.
fn archive_reader(path: &Path) -> Option<Box<dyn Read>> {
    let mut head = BufReader::new(fs::File::open(path).ok()?);
    let magic = head.fill_buf().ok()?.to_vec();
    let decoded: Box<dyn Read> = match magic.as_slice() {
        [0x1f, 0x8b, ..] => Box::new(flate2::read::MultiGzDecoder::new(head)),
        [b'B', b'Z', b'h', ..] => Box::new(bzip2::bufread::MultiBzDecoder::new(head)),
        [0xfd, b'7', b'z', b'X', b'Z', 0x00, ..] => {
            Box::new(liblzma::bufread::XzDecoder::new_multi_decoder(head))
        }
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Box::new(zstd::stream::read::Decoder::new(head).ok()?),
        _ => Box::new(head),
    };
    // A tar's first header has `ustar` at offset 257.
    let mut decoded = decoded;
    let mut block = vec![0u8; 512];
    decoded.read_exact(&mut block).ok()?;
    if &block[257..262] != b"ustar" {
        return None;
    }
    Some(Box::new(std::io::Cursor::new(block).chain(decoded)))
}

/// ADD of a local file: extracts it into `dest` (a directory) when it is an archive.
/// Returns false when it is no archive (then it is copied like COPY does).
pub(crate) fn extract_if_archive(
    path: &Path,
    rootfs: &Path,
    dest: &str,
    owner: (u32, u32),
) -> Result<bool, BuildError> {
    let Some(reader) = archive_reader(path) else {
        return Ok(false);
    };
    let dir = mkdir_all(rootfs, dest, owner)?;
    let mut archive = tar::Archive::new(reader);
    archive.set_preserve_permissions(true);
    archive.set_preserve_ownerships(true);
    archive.set_preserve_mtime(true);
    archive.set_overwrite(true);
    archive
        .unpack(&dir)
        .map_err(|e| io_err(&format!("extract {} into", path.display()), &dir, e))?;
    Ok(true)
}

/// `--chown=user[:group]`: numbers as they are, names from the image's `/etc/passwd` and
/// `/etc/group`; without a group, the user's text names the group too (dockerd's rule:
/// `--chown=10` is 10:10, `--chown=app` is the uid of user `app` and the gid of group
/// `app`).
pub(crate) fn resolve_chown(rootfs: &Path, spec: &str) -> Result<(u32, u32), BuildError> {
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let lookup = |file: &str, name: &str, kind: &str| -> Result<u32, BuildError> {
        if let Ok(n) = name.parse() {
            return Ok(n);
        }
        let path = resolve_in_root(rootfs, file);
        let text = fs::read_to_string(&path).unwrap_or_default();
        text.lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.len() > 2 && f[0] == name).then(|| f[2].parse().ok()).flatten()
            })
            .next()
            .ok_or_else(|| {
                BuildError::Other(format!(
                    "unable to convert uid/gid chown string to host mapping: can't find {kind} for {name}: no such {kind} {name}"
                ))
            })
    };
    let uid = lookup("/etc/passwd", user, "uid")?;
    let gid = lookup("/etc/group", group.unwrap_or(user), "gid")?;
    Ok((uid, gid))
}

/// Whether the image path ends in a component that leaves nothing (`/`, `.`).
pub(crate) fn is_root_like(path: &str) -> bool {
    Path::new(path)
        .components()
        .all(|c| matches!(c, Component::RootDir | Component::CurDir))
}
