//! Loading and validating a bundle's `config.json`.
//!
//! Everything that can be checked before a namespace, cgroup or state directory exists is
//! checked here, so that bad input is refused with nothing to clean up.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxNamespaceType, Spec};

/// Why a bundle was refused.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// `config.json` could not be read.
    #[error("cannot read bundle config `{path}`")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// `config.json` is not valid JSON or does not follow the runtime spec's schema.
    #[error("invalid bundle config `{path}` at line {line}, column {column}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What the parser expected.
        message: String,
    },
    /// The config has no `root`.
    #[error("bundle config `{0}` has no `root`: a Linux container needs a root filesystem")]
    NoRoot(PathBuf),
    /// The root filesystem directory is missing.
    #[error("root filesystem `{path}` (config `root.path` = `{configured}`) does not exist or is not a directory")]
    RootfsMissing {
        /// The resolved path.
        path: PathBuf,
        /// The path as written in the config.
        configured: PathBuf,
    },
    /// The config has no `process`.
    #[error("bundle config has no `process`: nothing to run")]
    NoProcess,
    /// `process.args` is empty.
    #[error("`process.args` is empty: give the program to run")]
    NoArgs,
    /// A namespace type appears twice.
    #[error("namespace `{0}` is listed twice in `linux.namespaces`")]
    DuplicateNamespace(String),
    /// uid/gid mappings without a user namespace, or the reverse.
    #[error("{0}")]
    UserNamespace(&'static str),
    /// A namespace path to join does not exist.
    #[error("namespace `{kind}` path `{path}` does not exist")]
    NamespacePath {
        /// The namespace type.
        kind: String,
        /// The path.
        path: PathBuf,
    },
    /// A mount destination is not absolute.
    #[error("mount destination `{0}` is not an absolute path")]
    RelativeMountDestination(PathBuf),
    /// A mount destination climbs above the container's root with `..`.
    #[error("mount destination `{0}` escapes the container root (too many `..` components)")]
    EscapingMountDestination(PathBuf),
    /// The container id is not acceptable.
    #[error(
        "invalid container id `{0}`: use letters, digits, `_`, `-`, `.` and `+` (at most 1024)"
    )]
    InvalidId(String),
}

/// A loaded, validated bundle.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// The bundle directory, absolute.
    pub dir: PathBuf,
    /// The parsed config.
    pub spec: Spec,
    /// The root filesystem, absolute and canonical.
    pub rootfs: PathBuf,
}

/// Checks a container id as runc does.
pub fn validate_id(id: &str) -> Result<(), SpecError> {
    let ok = !id.is_empty()
        && id.len() <= 1024
        && id != "."
        && id != ".."
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '+'));
    if ok {
        Ok(())
    } else {
        Err(SpecError::InvalidId(id.to_string()))
    }
}

/// Loads `<dir>/config.json` and validates it.
pub fn load_bundle(dir: &Path) -> Result<Bundle, SpecError> {
    let dir = std::path::absolute(dir).map_err(|source| SpecError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let path = dir.join("config.json");
    let text = std::fs::read(&path).map_err(|source| SpecError::Read {
        path: path.clone(),
        source,
    })?;
    let spec: Spec = serde_json::from_slice(&text).map_err(|e| SpecError::Parse {
        path: path.clone(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    let rootfs = validate(&spec, &dir, &path)?;
    Ok(Bundle { dir, spec, rootfs })
}

/// Validates a parsed spec; returns the canonical rootfs path.
fn validate(spec: &Spec, dir: &Path, config: &Path) -> Result<PathBuf, SpecError> {
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| SpecError::NoRoot(config.to_path_buf()))?;
    let configured = root.path().clone();
    let joined = dir.join(&configured);
    let rootfs = match std::fs::canonicalize(&joined) {
        Ok(p) if p.is_dir() => p,
        _ => {
            return Err(SpecError::RootfsMissing {
                path: joined,
                configured,
            })
        }
    };
    let process = spec.process().as_ref().ok_or(SpecError::NoProcess)?;
    if process.args().as_ref().is_none_or(|a| a.is_empty()) {
        return Err(SpecError::NoArgs);
    }
    for mount in spec.mounts().iter().flatten() {
        let destination = mount.destination();
        if !destination.is_absolute() {
            return Err(SpecError::RelativeMountDestination(destination.clone()));
        }
        if climbs_above_root(destination) {
            return Err(SpecError::EscapingMountDestination(destination.clone()));
        }
    }
    if let Some(linux) = spec.linux() {
        let mut seen = HashSet::new();
        let mut has_userns = false;
        for ns in linux.namespaces().iter().flatten() {
            let kind = ns.typ().to_string();
            if !seen.insert(ns.typ()) {
                return Err(SpecError::DuplicateNamespace(kind));
            }
            if ns.typ() == LinuxNamespaceType::User {
                has_userns = true;
            }
            if let Some(path) = ns.path() {
                if !path.exists() {
                    return Err(SpecError::NamespacePath {
                        kind,
                        path: path.clone(),
                    });
                }
            }
        }
        let has_maps = linux.uid_mappings().as_ref().is_some_and(|m| !m.is_empty())
            || linux.gid_mappings().as_ref().is_some_and(|m| !m.is_empty());
        let creates_userns = linux
            .namespaces()
            .iter()
            .flatten()
            .any(|ns| ns.typ() == LinuxNamespaceType::User && ns.path().is_none());
        if has_maps && !has_userns {
            return Err(SpecError::UserNamespace(
                "uid/gid mappings are given but `linux.namespaces` has no `user` namespace",
            ));
        }
        if creates_userns && !has_maps {
            return Err(SpecError::UserNamespace(
                "a new `user` namespace needs `linux.uidMappings` and `linux.gidMappings`",
            ));
        }
    }
    Ok(rootfs)
}

/// Whether `path`'s `..` components, taken lexically, climb above `/`.
fn climbs_above_root(path: &Path) -> bool {
    let mut depth = 0i32;
    for component in path.components() {
        match component {
            std::path::Component::ParentDir => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            std::path::Component::Normal(_) => depth += 1,
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle_with(config: &str) -> (tempfile::TempDir, Result<Bundle, SpecError>) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("rootfs")).unwrap();
        std::fs::write(dir.path().join("config.json"), config).unwrap();
        let result = load_bundle(dir.path());
        (dir, result)
    }

    const MINIMAL: &str = r#"{"ociVersion":"1.2.0","root":{"path":"rootfs"},
        "process":{"args":["true"],"cwd":"/","user":{"uid":0,"gid":0}},
        "linux":{"namespaces":[{"type":"pid"},{"type":"mount"}]}}"#;

    #[test]
    fn minimal_bundle_loads_with_canonical_rootfs() {
        let (dir, result) = bundle_with(MINIMAL);
        let bundle = result.unwrap();
        assert_eq!(
            bundle.rootfs,
            dir.path().join("rootfs").canonicalize().unwrap()
        );
    }

    #[test]
    fn malformed_json_names_line_and_column() {
        let (_dir, result) = bundle_with("{\n  \"root\": {\"path\": }\n}");
        let err = result.unwrap_err().to_string();
        assert!(err.contains("line 2"), "{err}");
        assert!(err.contains("config.json"), "{err}");
    }

    #[test]
    fn unknown_namespace_is_refused_by_name() {
        let config = MINIMAL.replace(r#"{"type":"mount"}"#, r#"{"type":"bogus"}"#);
        let (_dir, result) = bundle_with(&config);
        let err = result.unwrap_err().to_string();
        assert!(err.contains("bogus"), "{err}");
    }

    #[test]
    fn missing_rootfs_is_refused() {
        let config = MINIMAL.replace(r#""path":"rootfs""#, r#""path":"nope""#);
        let (_dir, result) = bundle_with(&config);
        assert!(matches!(result, Err(SpecError::RootfsMissing { .. })));
    }

    #[test]
    fn duplicate_namespace_is_refused() {
        let config = MINIMAL.replace(r#"{"type":"mount"}"#, r#"{"type":"pid"}"#);
        let (_dir, result) = bundle_with(&config);
        assert!(matches!(result, Err(SpecError::DuplicateNamespace(ref k)) if k == "pid"));
    }

    #[test]
    fn userns_without_mappings_is_refused() {
        let config = MINIMAL.replace(r#"{"type":"mount"}"#, r#"{"type":"user"}"#);
        let (_dir, result) = bundle_with(&config);
        assert!(matches!(result, Err(SpecError::UserNamespace(_))));
    }

    #[test]
    fn escaping_mount_destination_is_refused() {
        assert!(climbs_above_root(Path::new("/../etc")));
        assert!(climbs_above_root(Path::new("/a/../../etc")));
        assert!(!climbs_above_root(Path::new("/a/../etc")));
    }

    #[test]
    fn ids_follow_runc_rules() {
        assert!(validate_id("abc-1.2_x+y").is_ok());
        assert!(validate_id("../etc").is_err());
        assert!(validate_id("").is_err());
        assert!(validate_id("a/b").is_err());
    }
}
