//! Registry credentials, kept like docker's `config.json`.
//!
//! ```json
//! {"auths": {"localhost:5000": {"auth": "base64(user:password)"}}}
//! ```
//!
//! berth's own file is `$BERTH_CONFIG/config.json` (default `~/.berth/config.json`); it is
//! written atomically (temp file, fsync, rename) with mode 0600 because it holds passwords.
//! `~/.docker/config.json` is read when berth's file knows nothing of a registry, so that
//! `docker login` is enough; berth never writes it. Other keys of the file are kept.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use base64::Engine;
use serde_json::{Map, Value};

use super::client::{ClientOptions, RegistryClient};
use super::error::{DistributionError, Result};
use crate::reference::DOCKER_HUB;

/// A user name and password (or identity token) for one registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name.
    pub username: String,
    /// The password.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    // Never print passwords, not even in debug logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Docker Hub's key in docker's config.json.
const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

/// The credentials file (and the read-only docker fallback).
#[derive(Debug, Clone)]
pub struct CredentialStore {
    path: PathBuf,
    fallback: Option<PathBuf>,
}

impl CredentialStore {
    /// berth's default file, with `~/.docker/config.json` as read-only fallback.
    pub fn default_location() -> Self {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let path = match std::env::var_os("BERTH_CONFIG") {
            Some(dir) => PathBuf::from(dir).join("config.json"),
            None => home
                .clone()
                .unwrap_or_else(|| PathBuf::from("/root"))
                .join(".berth/config.json"),
        };
        let fallback = home.map(|h| h.join(".docker/config.json"));
        Self { path, fallback }
    }

    /// A store at `path` only (no fallback).
    pub fn at(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            fallback: None,
        }
    }

    /// Adds a read-only fallback file.
    pub fn with_fallback(mut self, path: impl Into<PathBuf>) -> Self {
        self.fallback = Some(path.into());
        self
    }

    /// The file berth writes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The credentials for `registry`, from berth's file, else the fallback.
    pub fn get(&self, registry: &str) -> Result<Option<Credentials>> {
        if let Some(found) = lookup(&read_config(&self.path)?, registry, &self.path)? {
            return Ok(Some(found));
        }
        match &self.fallback {
            // A broken docker file must not break berth: it is only a fallback.
            Some(path) => Ok(read_config(path)
                .ok()
                .and_then(|c| lookup(&c, registry, path).ok().flatten())),
            None => Ok(None),
        }
    }

    /// Saves credentials for `registry` (replacing any).
    pub fn save(&self, registry: &str, credentials: &Credentials) -> Result<()> {
        let mut config = read_config(&self.path)?;
        let raw = format!("{}:{}", credentials.username, credentials.password);
        let auth = base64::engine::general_purpose::STANDARD.encode(raw);
        let auths = auths_mut(&mut config, &self.path)?;
        for key in keys_for(registry) {
            auths.remove(&key);
        }
        auths.insert(key_for(registry), serde_json::json!({ "auth": auth }));
        self.write(&config)
    }

    /// Removes the credentials for `registry`; whether there were any.
    pub fn remove(&self, registry: &str) -> Result<bool> {
        let mut config = read_config(&self.path)?;
        let auths = auths_mut(&mut config, &self.path)?;
        let mut removed = false;
        for key in keys_for(registry) {
            removed |= auths.remove(&key).is_some();
        }
        if removed {
            self.write(&config)?;
        }
        Ok(removed)
    }

    /// Checks `credentials` against the registry (`GET /v2/` through the auth flow) and
    /// saves them only if the registry accepts them.
    pub async fn login(
        &self,
        registry: &str,
        credentials: Credentials,
        mut options: ClientOptions,
    ) -> Result<()> {
        options.credentials = Some(credentials.clone());
        let client = RegistryClient::new(registry, options)?;
        client.check_login().await?;
        self.save(registry, &credentials)
    }

    /// Forgets the credentials of `registry`; whether there were any.
    pub fn logout(&self, registry: &str) -> Result<bool> {
        self.remove(registry)
    }

    fn write(&self, config: &Value) -> Result<()> {
        let io = |what| {
            let path = self.path.clone();
            move |source| DistributionError::Io { what, path, source }
        };
        let dir = self.path.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir).map_err(io("create config directory"))?;
        let tmp = dir.join(format!(".config.json.{}.tmp", std::process::id()));
        let bytes =
            serde_json::to_vec_pretty(config).map_err(|e| DistributionError::BadCredentials {
                path: self.path.clone(),
                reason: e.to_string(),
            })?;
        let result = (|| {
            let mut file = fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)?;
            file.write_all(&bytes)?;
            file.write_all(b"\n")?;
            file.sync_all()?;
            fs::rename(&tmp, &self.path)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result.map_err(io("write credentials"))
    }
}

fn read_config(path: &Path) -> Result<Value> {
    match fs::read(path) {
        Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Ok(Value::Object(Map::new())),
        Ok(bytes) => {
            serde_json::from_slice(&bytes).map_err(|e| DistributionError::BadCredentials {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Value::Object(Map::new())),
        Err(source) => Err(DistributionError::Io {
            what: "read credentials",
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn auths_mut<'a>(config: &'a mut Value, path: &Path) -> Result<&'a mut Map<String, Value>> {
    let bad = |reason: &str| DistributionError::BadCredentials {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    let object = config
        .as_object_mut()
        .ok_or_else(|| bad("not a JSON object"))?;
    object
        .entry("auths")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or_else(|| bad("`auths` is not an object"))
}

/// The key berth writes for `registry` (docker's own key for Docker Hub).
fn key_for(registry: &str) -> String {
    if is_docker_hub(registry) {
        DOCKER_HUB_KEY.to_string()
    } else {
        registry.to_string()
    }
}

/// Every key under which `registry` may have been saved (by berth or docker).
fn keys_for(registry: &str) -> Vec<String> {
    if is_docker_hub(registry) {
        [
            DOCKER_HUB_KEY,
            DOCKER_HUB,
            "index.docker.io",
            "registry-1.docker.io",
        ]
        .map(String::from)
        .to_vec()
    } else {
        vec![
            registry.to_string(),
            format!("https://{registry}"),
            format!("http://{registry}"),
            format!("https://{registry}/v2/"),
        ]
    }
}

fn is_docker_hub(registry: &str) -> bool {
    matches!(
        registry,
        DOCKER_HUB | "index.docker.io" | "registry-1.docker.io" | DOCKER_HUB_KEY
    )
}

fn lookup(config: &Value, registry: &str, path: &Path) -> Result<Option<Credentials>> {
    let Some(auths) = config.get("auths").and_then(Value::as_object) else {
        return Ok(None);
    };
    let bad = |reason: String| DistributionError::BadCredentials {
        path: path.to_path_buf(),
        reason,
    };
    for key in keys_for(registry) {
        let Some(entry) = auths.get(&key) else {
            continue;
        };
        let Some(auth) = entry.get("auth").and_then(Value::as_str) else {
            continue;
        };
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .map_err(|e| bad(format!("`auth` of `{key}` is not base64: {e}")))?;
        let text = String::from_utf8(decoded)
            .map_err(|_| bad(format!("`auth` of `{key}` is not UTF-8")))?;
        let (username, password) = text
            .split_once(':')
            .ok_or_else(|| bad(format!("`auth` of `{key}` is not `user:password`")))?;
        return Ok(Some(Credentials {
            username: username.to_string(),
            password: password.to_string(),
        }));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn creds(u: &str, p: &str) -> Credentials {
        Credentials {
            username: u.into(),
            password: p.into(),
        }
    }

    #[test]
    fn save_get_remove_keeps_other_keys_and_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/config.json");
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(
            &path,
            r#"{"credsStore":"x","auths":{"other:1":{"auth":"YTpi"}}}"#,
        )
        .unwrap();
        let store = CredentialStore::at(&path);
        store.save("localhost:5000", &creds("u", "p:w")).unwrap();
        assert_eq!(
            store.get("localhost:5000").unwrap(),
            Some(creds("u", "p:w"))
        );
        assert_eq!(store.get("other:1").unwrap(), Some(creds("a", "b")));
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains("credsStore"), "{text}");
        assert!(store.remove("localhost:5000").unwrap());
        assert!(!store.remove("localhost:5000").unwrap());
        assert_eq!(store.get("localhost:5000").unwrap(), None);
    }

    #[test]
    fn docker_hub_uses_dockers_key_and_fallback_is_read_only() {
        let dir = tempfile::tempdir().unwrap();
        let docker = dir.path().join("docker.json");
        fs::write(
            &docker,
            r#"{"auths":{"https://index.docker.io/v1/":{"auth":"ZG9jazpodWI="}}}"#,
        )
        .unwrap();
        let store = CredentialStore::at(dir.path().join("berth.json")).with_fallback(&docker);
        assert_eq!(store.get("docker.io").unwrap(), Some(creds("dock", "hub")));
        store.save("docker.io", &creds("mine", "x")).unwrap();
        assert_eq!(store.get("docker.io").unwrap(), Some(creds("mine", "x")));
        let written = fs::read_to_string(store.path()).unwrap();
        assert!(written.contains(DOCKER_HUB_KEY));
        assert!(fs::read_to_string(&docker)
            .unwrap()
            .contains("ZG9jazpodWI="));
    }

    #[test]
    fn broken_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        fs::write(&path, "{nope").unwrap();
        let err = CredentialStore::at(&path).get("x").unwrap_err();
        assert!(
            err.to_string().contains("invalid credentials file"),
            "{err}"
        );
    }
}
