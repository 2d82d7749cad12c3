//! The build context a client sends: a tar (plain, gzip, bzip2, xz or zstd), spooled to disk and
//! unpacked into a work directory under `<data_root>/build-work/` that goes away with the
//! build; or, from a client on this host (`x-berth-context-dir`), the client's directory
//! itself, read in place.
//!
//! A context read in place is never written, and the builder applies its `.dockerignore`
//! (as it does for an unpacked one: the client's filter is not trusted). It is live: it
//! may change while the build runs, so the builder hashes what it copies as it copies it
//! and fails a copy that is not what the cache key was made of. What the builder cannot
//! check that way gets a private copy (the tar's semantics) first: a `RUN --mount=type=bind`
//! of the context would expose excluded files and, read-write, let a step write into the
//! client's directory; an `ADD` of a local file is checked, but a private copy keeps the
//! rule simple.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use axum::body::Body;
use berth_build::dockerignore::DockerIgnore;
use berth_build::instructions::MountType;
use berth_build::{Dockerfile, Instruction};
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use super::retained::Slot;
use crate::error::{EngineError, Result};

/// A build's context and work directory; the work directory (never a context read in
/// place) is removed on drop.
#[derive(Debug)]
pub struct WorkDir {
    root: PathBuf,
    context: PathBuf,
    live: bool,
    /// The retained directory the context was synced into, held until the build ends.
    retained: Option<Slot>,
}

impl WorkDir {
    /// The context: unpacked, or the client's directory.
    pub fn context(&self) -> &Path {
        &self.context
    }

    /// Whether the context is the client's directory, read in place.
    pub fn is_live(&self) -> bool {
        self.live
    }

    /// Whether the context is a retained directory: its files change only between
    /// builds, so their digests can be remembered.
    pub fn is_retained(&self) -> bool {
        self.retained.is_some()
    }

    /// Replaces a context read in place by a private copy of what `.dockerignore` lets
    /// through (and the Dockerfile and `.dockerignore` themselves, as clients send them).
    pub fn into_private_copy(mut self) -> Result<WorkDir> {
        if !self.live {
            return Ok(self);
        }
        let copy = self.root.join("context");
        copy_filtered(&self.context, &copy)?;
        self.context = copy;
        self.live = false;
        Ok(self)
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.root) {
            tracing::warn!(dir = %self.root.display(), error = %e, "remove a build's work directory");
        }
    }
}

/// Where contexts are unpacked.
pub fn work_root(data_root: &Path) -> PathBuf {
    data_root.join("build-work")
}

/// The client's directory `dir`, to be read in place, with an empty work directory. `id`
/// is `<device>:<inode>` of the directory as the client sees it: a client in another
/// mount namespace may name a directory that is not the one the daemon sees there.
pub fn in_place(data_root: &Path, dir: &Path, id: &str) -> Result<WorkDir> {
    let refuse = |why: &str| {
        EngineError::Invalid(format!(
            "x-berth-context-dir `{}`: {why}; send the context as a tar",
            dir.display()
        ))
    };
    if !dir.is_absolute() {
        return Err(refuse("not an absolute path"));
    }
    let meta = std::fs::metadata(dir).map_err(|e| refuse(&e.to_string()))?;
    if !meta.is_dir() {
        return Err(refuse("not a directory"));
    }
    if format!("{}:{}", meta.dev(), meta.ino()) != id {
        return Err(refuse(
            "not the client's directory (another mount namespace?)",
        ));
    }
    let root = work_root(data_root).join(hex::encode(rand::random::<[u8; 16]>()));
    std::fs::create_dir_all(&root).map_err(|e| EngineError::io("create", &root, e))?;
    Ok(WorkDir {
        root,
        context: dir.to_path_buf(),
        live: true,
        retained: None,
    })
}

/// Whether the Dockerfile reads its context other than by COPY (which checks what it
/// copies): a `RUN --mount=type=bind` of the context, or an `ADD` of local files.
pub fn reads_context_beyond_copy(dockerfile: &Dockerfile) -> bool {
    let is_url = |s: &str| s.starts_with("http://") || s.starts_with("https://");
    dockerfile
        .stages
        .iter()
        .flat_map(|stage| &stage.instructions)
        .any(|located| match &located.instruction {
            Instruction::Run { mounts, .. } => mounts
                .iter()
                .any(|m| matches!(m.kind, MountType::Bind) && m.from.is_none()),
            Instruction::Add(add) => {
                add.copy.from.is_none() && add.copy.sources.iter().any(|s| !is_url(s))
            }
            _ => false,
        })
}

/// Copies what `.dockerignore` lets through from `from` into `to` (made), with modes and
/// mtimes; owners are left to root, as the docker CLI's tar sends them.
fn copy_filtered(from: &Path, to: &Path) -> Result<()> {
    let ignore_file = from.join(".dockerignore");
    let text = match std::fs::read_to_string(&ignore_file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(EngineError::io("read", &ignore_file, e)),
    };
    let ignore = DockerIgnore::parse(&text)
        .map_err(|e| EngineError::Invalid(format!("invalid .dockerignore: {e}")))?;
    let mut paths = ignore
        .walk(from)
        .map_err(|e| EngineError::Invalid(format!("walk the build context: {e}")))?;
    for always in ["Dockerfile", ".dockerignore"] {
        if from.join(always).is_file() && !paths.iter().any(|p| p == always) {
            paths.push(always.to_string());
        }
    }
    std::fs::create_dir_all(to).map_err(|e| EngineError::io("create", to, e))?;
    let mut dirs: Vec<(PathBuf, std::fs::Metadata)> = Vec::new();
    let mut made = std::collections::HashSet::new();
    for path in &paths {
        let rel = path.trim_end_matches('/');
        let parents = rel.match_indices('/').map(|(i, _)| &rel[..i]);
        for part in parents.chain(std::iter::once(rel)) {
            if !made.insert(part.to_string()) {
                continue;
            }
            let (source, target) = (from.join(part), to.join(part));
            let meta = std::fs::symlink_metadata(&source)
                .map_err(|e| EngineError::io("stat", &source, e))?;
            let kind = meta.file_type();
            if kind.is_dir() {
                std::fs::create_dir(&target).map_err(|e| EngineError::io("create", &target, e))?;
                dirs.push((target, meta));
            } else if kind.is_symlink() {
                let link =
                    std::fs::read_link(&source).map_err(|e| EngineError::io("read", &source, e))?;
                std::os::unix::fs::symlink(link, &target)
                    .map_err(|e| EngineError::io("create", &target, e))?;
            } else if kind.is_file() {
                std::fs::copy(&source, &target).map_err(|e| EngineError::io("copy", &source, e))?;
                set_mtime(&target, &meta)?;
            }
            // Sockets, fifos and devices are not part of a context.
        }
    }
    // Directories last, deepest first: adding their entries moved their mtimes.
    for (dir, meta) in dirs.iter().rev() {
        std::fs::set_permissions(dir, meta.permissions())
            .map_err(|e| EngineError::io("chmod", dir, e))?;
        set_mtime(dir, meta)?;
    }
    Ok(())
}

fn set_mtime(path: &Path, meta: &std::fs::Metadata) -> Result<()> {
    let mtime = filetime::FileTime::from_last_modification_time(meta);
    filetime::set_file_mtime(path, mtime).map_err(|e| EngineError::io("set the mtime of", path, e))
}

/// Spools `body` to disk and unpacks it: synced into a retained directory (see
/// [`retained`](super::retained)) when one is free, else into a fresh work directory.
pub async fn receive(data_root: &Path, body: Body) -> Result<WorkDir> {
    let id = hex::encode(rand::random::<[u8; 16]>());
    let root = work_root(data_root).join(id);
    std::fs::create_dir_all(&root).map_err(|e| EngineError::io("create", &root, e))?;
    let mut work = WorkDir {
        root: root.clone(),
        context: root.join("context"),
        live: false,
        retained: None,
    };
    let archive = root.join("context.tar");
    let mut file = tokio::fs::File::create(&archive)
        .await
        .map_err(|e| EngineError::io("create", &archive, e))?;
    let mut chunks = body.into_data_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| {
            EngineError::Invalid(format!("read the build context from the request: {e}"))
        })?;
        file.write_all(&chunk)
            .await
            .map_err(|e| EngineError::io("write", &archive, e))?;
    }
    file.flush()
        .await
        .map_err(|e| EngineError::io("write", &archive, e))?;
    drop(file);
    let retained_root = retained_root(data_root);
    let spooled = archive.clone();
    let fresh = work.context.clone();
    let slot = tokio::task::spawn_blocking(move || -> Result<Option<Slot>> {
        match Slot::acquire(&retained_root)? {
            Some(slot) => {
                open_archive(&spooled, |tar| slot.sync(tar))?;
                Ok(Some(slot))
            }
            None => {
                std::fs::create_dir_all(&fresh)
                    .map_err(|e| EngineError::io("create", &fresh, e))?;
                open_archive(&spooled, |tar| unpack(tar, &fresh))?;
                Ok(None)
            }
        }
    })
    .await
    .map_err(|e| EngineError::Internal(format!("unpack the build context: {e}")))??;
    if let Some(slot) = slot {
        work.context = slot.dir().to_path_buf();
        work.retained = Some(slot);
    }
    let _ = std::fs::remove_file(&archive);
    Ok(work)
}

/// Where retained contexts are kept.
pub fn retained_root(data_root: &Path) -> PathBuf {
    work_root(data_root).join("retained")
}

/// Opens the (maybe compressed) tar at `archive` and hands its tar stream to `f`.
fn open_archive<T>(archive: &Path, f: impl FnOnce(Box<dyn Read + '_>) -> Result<T>) -> Result<T> {
    let file = File::open(archive).map_err(|e| EngineError::io("open", archive, e))?;
    let mut reader = BufReader::new(file);
    let head = reader
        .fill_buf()
        .map_err(|e| EngineError::io("read", archive, e))?
        .to_vec();
    f(decoder(&head, reader)?)
}

/// A reader of the tar inside `reader`, by the magic bytes in `head`.
fn decoder<'a, R: BufRead + 'a>(head: &[u8], reader: R) -> Result<Box<dyn Read + 'a>> {
    const GZIP: &[u8] = &[0x1f, 0x8b];
    const ZSTD: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];
    const BZIP2: &[u8] = b"BZh";
    const XZ: &[u8] = &[0xfd, b'7', b'z', b'X', b'Z', 0x00];
    if head.starts_with(GZIP) {
        Ok(Box::new(flate2::bufread::MultiGzDecoder::new(reader)))
    } else if head.starts_with(ZSTD) {
        let decoder = zstd::stream::read::Decoder::with_buffer(reader)
            .map_err(|e| EngineError::Invalid(format!("read the zstd build context: {e}")))?;
        Ok(Box::new(decoder))
    } else if head.starts_with(BZIP2) {
        Ok(Box::new(bzip2::bufread::MultiBzDecoder::new(reader)))
    } else if head.starts_with(XZ) {
        Ok(Box::new(liblzma::bufread::XzDecoder::new_multi_decoder(
            reader,
        )))
    } else {
        Ok(Box::new(reader))
    }
}

/// Unpacks a tar stream into `target`, refusing entries that would land outside it.
pub fn unpack(reader: impl Read, target: &Path) -> Result<()> {
    let mut archive = tar::Archive::new(reader);
    archive.set_preserve_permissions(true);
    archive.set_preserve_mtime(true);
    archive.set_overwrite(true);
    let invalid = |e: std::io::Error| EngineError::Invalid(format!("invalid build context: {e}"));
    for entry in archive.entries().map_err(invalid)? {
        let mut entry = entry.map_err(invalid)?;
        let path = entry.path().map_err(invalid)?.into_owned();
        if escapes(&path) {
            return Err(EngineError::Invalid(format!(
                "invalid build context: the entry `{}` is outside the context",
                path.display()
            )));
        }
        // `unpack_in` also refuses to write through a symlink that leaves `target`.
        let unpacked = entry.unpack_in(target).map_err(invalid)?;
        if !unpacked {
            return Err(EngineError::Invalid(format!(
                "invalid build context: the entry `{}` is outside the context",
                path.display()
            )));
        }
    }
    Ok(())
}

/// Whether a relative archive path climbs out of its root (`..` past the top).
fn escapes(path: &Path) -> bool {
    let mut depth: usize = 0;
    for component in path.components() {
        match component {
            Component::ParentDir => {
                if depth == 0 {
                    return true;
                }
                depth -= 1;
            }
            Component::Normal(_) => depth += 1,
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    false
}

/// The Dockerfile named `name` (relative to the context) and its text. Docker's messages:
/// a missing one is "Cannot locate specified Dockerfile: <name>".
pub fn read_dockerfile(context: &Path, name: &str) -> Result<(String, String)> {
    let relative = Path::new(name.trim_start_matches('/'));
    if escapes(relative) {
        return Err(EngineError::Invalid(format!(
            "The Dockerfile ({name}) must be within the build context"
        )));
    }
    let mut candidates = vec![relative.to_path_buf()];
    // dockerd looks for `dockerfile` too when the default name is missing.
    if name == "Dockerfile" {
        candidates.push(PathBuf::from("dockerfile"));
    }
    for candidate in candidates {
        let path = context.join(&candidate);
        match std::fs::read(&path) {
            Ok(bytes) => {
                let text = String::from_utf8(bytes).map_err(|_| {
                    EngineError::Invalid(format!("the Dockerfile `{name}` is not UTF-8 text"))
                })?;
                return Ok((candidate.to_string_lossy().into_owned(), text));
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::NotFound
                    || e.kind() == std::io::ErrorKind::NotADirectory => {}
            Err(e) => return Err(EngineError::io("read", &path, e)),
        }
    }
    Err(EngineError::Invalid(format!(
        "Cannot locate specified Dockerfile: {name}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, data) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            // set_path refuses `..`: write the raw name, as a hostile client would.
            let raw = &mut header.as_old_mut().name;
            raw[..name.len()].copy_from_slice(name.as_bytes());
            header.set_cksum();
            builder.append(&header, *data).unwrap();
        }
        builder.into_inner().unwrap()
    }

    #[test]
    fn contexts_unpack_plain_and_gzip() {
        let tar = tar_of(&[("Dockerfile", b"FROM scratch\n"), ("a/b.txt", b"b")]);
        let dir = tempfile::tempdir().unwrap();
        unpack(decoder(&tar, &tar[..]).unwrap(), dir.path()).unwrap();
        assert_eq!(std::fs::read(dir.path().join("a/b.txt")).unwrap(), b"b");

        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &tar).unwrap();
        let gz = gz.finish().unwrap();
        let dir = tempfile::tempdir().unwrap();
        unpack(decoder(&gz, &gz[..]).unwrap(), dir.path()).unwrap();
        let (name, text) = read_dockerfile(dir.path(), "Dockerfile").unwrap();
        assert_eq!(
            (name.as_str(), text.as_str()),
            ("Dockerfile", "FROM scratch\n")
        );
    }

    #[test]
    fn entries_escaping_the_context_are_refused() {
        let tar = tar_of(&[("../evil", b"x")]);
        let outer = tempfile::tempdir().unwrap();
        let target = outer.path().join("ctx");
        std::fs::create_dir(&target).unwrap();
        let err = unpack(&tar[..], &target).unwrap_err();
        assert!(err.to_string().contains("outside the context"), "{err}");
        assert!(!outer.path().join("evil").exists());
    }

    #[test]
    fn missing_dockerfiles_read_as_docker_says() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_dockerfile(dir.path(), "Dockerfile.dev").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Cannot locate specified Dockerfile: Dockerfile.dev"
        );
        let err = read_dockerfile(dir.path(), "../Dockerfile").unwrap_err();
        assert!(err.to_string().contains("must be within the build context"));
        std::fs::write(dir.path().join("dockerfile"), "FROM scratch\n").unwrap();
        assert_eq!(
            read_dockerfile(dir.path(), "Dockerfile").unwrap().0,
            "dockerfile"
        );
    }

    #[test]
    fn contexts_unpack_bzip2_and_xz() {
        use std::io::Write as _;
        let tar = tar_of(&[("Dockerfile", b"FROM scratch\n"), ("a/b.txt", b"b")]);
        let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
        bz.write_all(&tar).unwrap();
        let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 1);
        xz.write_all(&tar).unwrap();
        for compressed in [bz.finish().unwrap(), xz.finish().unwrap()] {
            let dir = tempfile::tempdir().unwrap();
            unpack(decoder(&compressed, &compressed[..]).unwrap(), dir.path()).unwrap();
            assert_eq!(std::fs::read(dir.path().join("a/b.txt")).unwrap(), b"b");
        }
    }
}
