//! The build context a client sends: a tar (plain, gzip, bzip2, xz or zstd), spooled to disk and
//! unpacked into a work directory under `<data_root>/build-work/` that goes away with the
//! build.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Component, Path, PathBuf};

use axum::body::Body;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use crate::error::{EngineError, Result};

/// An unpacked context; the directory is removed on drop.
#[derive(Debug)]
pub struct WorkDir {
    root: PathBuf,
    context: PathBuf,
}

impl WorkDir {
    /// The unpacked context.
    pub fn context(&self) -> &Path {
        &self.context
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

/// Spools `body` to disk and unpacks it into a fresh work directory.
pub async fn receive(data_root: &Path, body: Body) -> Result<WorkDir> {
    let id = hex::encode(rand::random::<[u8; 16]>());
    let root = work_root(data_root).join(id);
    let context = root.join("context");
    std::fs::create_dir_all(&context).map_err(|e| EngineError::io("create", &context, e))?;
    let work = WorkDir {
        root: root.clone(),
        context,
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
    let target = work.context.clone();
    let spooled = archive.clone();
    tokio::task::spawn_blocking(move || unpack_file(&spooled, &target))
        .await
        .map_err(|e| EngineError::Internal(format!("unpack the build context: {e}")))??;
    let _ = std::fs::remove_file(&archive);
    Ok(work)
}

/// Unpacks the (maybe compressed) tar at `archive` into `target`.
fn unpack_file(archive: &Path, target: &Path) -> Result<()> {
    let file = File::open(archive).map_err(|e| EngineError::io("open", archive, e))?;
    let mut reader = BufReader::new(file);
    let head = reader
        .fill_buf()
        .map_err(|e| EngineError::io("read", archive, e))?
        .to_vec();
    unpack(decoder(&head, reader)?, target)
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
