//! Where blobs came from: `registry/repository` names per digest, so that a push can ask
//! the registry to mount a blob from a repository that has it instead of uploading it.
//!
//! One small file per digest under the record's directory, one `registry/repository` per
//! line. Losing it costs only an upload, so writes are best-effort.

use std::fs;
use std::io::Write;
use std::path::PathBuf;

use crate::digest::Digest;

/// The record of blob origins.
#[derive(Debug, Clone)]
pub struct BlobOrigins {
    dir: PathBuf,
}

/// Names kept per digest; the oldest are dropped.
const MAX_ORIGINS: usize = 16;

impl BlobOrigins {
    /// A record in `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// Notes that `repository` on `registry` has `digest`.
    pub fn record(&self, digest: &Digest, registry: &str, repository: &str) {
        let line = format!("{registry}/{repository}");
        let path = self.dir.join(digest.hex());
        let mut lines: Vec<String> = fs::read_to_string(&path)
            .unwrap_or_default()
            .lines()
            .filter(|l| *l != line)
            .map(str::to_string)
            .collect();
        lines.push(line);
        let skip = lines.len().saturating_sub(MAX_ORIGINS);
        let text: String = lines[skip..].iter().map(|l| format!("{l}\n")).collect();
        // Write to a temp file and rename, so a reader never sees half a record.
        let tmp = self.dir.join(format!(
            ".{}.{}",
            digest.hex(),
            uuid::Uuid::new_v4().simple()
        ));
        let _ = fs::create_dir_all(&self.dir).and_then(|_| {
            let mut file = fs::File::create(&tmp)?;
            file.write_all(text.as_bytes())?;
            fs::rename(&tmp, &path)
        });
        let _ = fs::remove_file(&tmp);
    }

    /// Repositories of `registry` known to have `digest`, most recent first.
    pub fn repositories(&self, digest: &Digest, registry: &str) -> Vec<String> {
        let prefix = format!("{registry}/");
        let text = fs::read_to_string(self.dir.join(digest.hex())).unwrap_or_default();
        text.lines()
            .rev()
            .filter_map(|l| l.strip_prefix(&prefix).map(str::to_string))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_and_list_per_registry() {
        let dir = tempfile::tempdir().unwrap();
        let origins = BlobOrigins::new(dir.path().join("origins"));
        let d = Digest::sha256_of(b"x");
        origins.record(&d, "localhost:5000", "a/b");
        origins.record(&d, "other:1", "c");
        origins.record(&d, "localhost:5000", "d");
        origins.record(&d, "localhost:5000", "a/b");
        assert_eq!(origins.repositories(&d, "localhost:5000"), vec!["a/b", "d"]);
        assert_eq!(origins.repositories(&d, "other:1"), vec!["c"]);
        assert!(origins.repositories(&d, "none").is_empty());
    }
}
