//! `RUN --mount=type=cache,target=/root/.cache,...`: comma-separated `key=value` fields, as
//! Docker's BuildKit frontend reads them.

use serde::{Deserialize, Serialize};

/// The kind of a RUN mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MountType {
    /// A directory of the context or another stage/image, read-only by default.
    Bind,
    /// A persistent cache directory shared between builds.
    Cache,
    /// An empty tmpfs.
    Tmpfs,
    /// A secret file.
    Secret,
    /// An SSH agent socket.
    Ssh,
}

/// One `--mount` of a RUN instruction, values as written (variables expanded later).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mount {
    /// `type=` (bind when not given).
    pub kind: MountType,
    /// `target=`/`dst=`/`destination=`.
    pub target: Option<String>,
    /// `source=`/`src=`: a path in `from` (or the context).
    pub source: Option<String>,
    /// `from=`: a stage name or index, or an image.
    pub from: Option<String>,
    /// `id=` (cache, secret, ssh).
    pub id: Option<String>,
    /// `sharing=shared|private|locked` (cache).
    pub sharing: Option<String>,
    /// `readonly`/`ro` (true) or `readwrite`/`rw` (false); None when not given.
    pub readonly: Option<bool>,
    /// `mode=` (octal, cache/secret/ssh).
    pub mode: Option<String>,
    /// `uid=`.
    pub uid: Option<String>,
    /// `gid=`.
    pub gid: Option<String>,
    /// `required=` (secret, ssh).
    pub required: Option<bool>,
    /// `size=` (tmpfs).
    pub size: Option<String>,
    /// `env=` (secret exposed as an environment variable).
    pub env: Option<String>,
}

impl Mount {
    /// Parses the value of one `--mount=` flag.
    pub fn parse(spec: &str) -> Result<Mount, String> {
        let mut m = Mount {
            kind: MountType::Bind,
            target: None,
            source: None,
            from: None,
            id: None,
            sharing: None,
            readonly: None,
            mode: None,
            uid: None,
            gid: None,
            required: None,
            size: None,
            env: None,
        };
        for field in spec.split(',').map(str::trim).filter(|f| !f.is_empty()) {
            let (key, value) = match field.split_once('=') {
                Some((k, v)) => (k.trim().to_ascii_lowercase(), Some(v.trim().to_string())),
                None => (field.to_ascii_lowercase(), None),
            };
            let need = |v: Option<String>| {
                v.ok_or(format!("invalid field '{field}' must be a key=value pair"))
            };
            let boolean = |v: Option<String>| -> Result<bool, String> {
                match v.as_deref().map(str::to_ascii_lowercase).as_deref() {
                    None | Some("true") | Some("1") => Ok(true),
                    Some("false") | Some("0") => Ok(false),
                    Some(other) => Err(format!("invalid value for {key}: {other}")),
                }
            };
            match key.as_str() {
                "type" => {
                    m.kind = match need(value)?.as_str() {
                        "bind" => MountType::Bind,
                        "cache" => MountType::Cache,
                        "tmpfs" => MountType::Tmpfs,
                        "secret" => MountType::Secret,
                        "ssh" => MountType::Ssh,
                        other => return Err(format!("unsupported mount type {other:?}")),
                    }
                }
                "target" | "dst" | "destination" => m.target = Some(need(value)?),
                "source" | "src" => m.source = Some(need(value)?),
                "from" => m.from = Some(need(value)?),
                "id" => m.id = Some(need(value)?),
                "sharing" => {
                    let v = need(value)?;
                    if !matches!(v.as_str(), "shared" | "private" | "locked") {
                        return Err(format!("unsupported sharing value {v:?}"));
                    }
                    m.sharing = Some(v);
                }
                "readonly" | "ro" => m.readonly = Some(boolean(value)?),
                "readwrite" | "rw" => m.readonly = Some(!boolean(value)?),
                "mode" => m.mode = Some(need(value)?),
                "uid" => m.uid = Some(need(value)?),
                "gid" => m.gid = Some(need(value)?),
                "required" => m.required = Some(boolean(value)?),
                "size" => m.size = Some(need(value)?),
                "env" => m.env = Some(need(value)?),
                _ => return Err(format!("unexpected key '{key}' in '{field}'")),
            }
        }
        let needs_target = matches!(
            m.kind,
            MountType::Bind | MountType::Cache | MountType::Tmpfs
        );
        if needs_target && m.target.as_deref().is_none_or(str::is_empty) {
            return Err("mount target is required".to_string());
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_mount() {
        let m = Mount::parse("type=cache,target=/root/.cache,sharing=locked,id=x").unwrap();
        assert_eq!(m.kind, MountType::Cache);
        assert_eq!(m.target.as_deref(), Some("/root/.cache"));
        assert_eq!(m.sharing.as_deref(), Some("locked"));
    }

    #[test]
    fn bind_mount_defaults_and_errors() {
        let m = Mount::parse("target=/src,from=build,source=/out,rw").unwrap();
        assert_eq!((m.kind, m.readonly), (MountType::Bind, Some(false)));
        assert!(Mount::parse("type=cache").unwrap_err().contains("target"));
        assert!(Mount::parse("type=nfs,target=/x").is_err());
        assert!(Mount::parse("target=/x,bogus=1")
            .unwrap_err()
            .contains("bogus"));
        assert!(Mount::parse("type=secret,id=token").is_ok());
    }
}
