//! Containers: the persisted record, the in-memory handle, the index by id and name, and
//! one file per lifecycle verb.
//!
//! Each container has `<data_root>/containers/<id>/` holding `config.v2.json` (the record,
//! written atomically), the json-file log, the generated `hostname`, `hosts` and
//! `resolv.conf`, the OCI bundle's `config.json`, and the overlay's `upper`, `work` and
//! mounted `rootfs`. The process itself belongs to a shim (see `berth_shim`).

pub mod create;
pub mod exit;
pub mod files;
pub mod health;
pub mod mounts;
pub mod networking;
pub mod remove;
pub mod restore;
pub mod rootfs;
pub mod start;
pub mod stop;
pub mod view;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use berth_client::types::containers::{ContainerConfig, ContainerStatus, Health, MountPoint};
use berth_client::types::host_config::HostConfig;
use berth_client::types::networks::EndpointSettings;
use berth_shim::ShimClient;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::error::{EngineError, Result};

/// The record's file name.
const RECORD_FILE: &str = "config.v2.json";

/// What is kept of a container across daemon restarts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    /// 64 hex characters.
    pub id: String,
    /// The name, without Docker's leading `/`.
    pub name: String,
    /// RFC 3339 (nanoseconds) creation time.
    pub created: String,
    /// The image id (config digest, `sha256:...`).
    pub image_id: String,
    /// The digest the image store records the image by (to find its layers).
    pub image_digest: String,
    /// The chain ids of the image's layers, base first (the overlay's lower dirs).
    pub layers: Vec<String>,
    /// The configuration, merged with the image's.
    pub config: ContainerConfig,
    /// The host configuration.
    pub host_config: HostConfig,
    /// Runtime state.
    pub state: State,
    /// Restarts made by the restart policy since the last user start.
    pub restart_count: i64,
    /// Resolved mounts, as inspect shows them.
    pub mounts: Vec<MountPoint>,
    /// Volumes created for this container alone (removed with `rm -v`).
    #[serde(default)]
    pub anonymous_volumes: Vec<String>,
    /// Endpoint settings by network name (the wanted ones before start, the actual ones
    /// while running).
    pub networks: BTreeMap<String, EndpointSettings>,
    /// Published ports while running: `80/tcp` -> host bindings.
    #[serde(default)]
    pub ports: BTreeMap<String, Vec<(String, u16)>>,
    /// The main process: path and arguments.
    pub path: String,
    /// See `path`.
    pub args: Vec<String>,
    /// Started at least once (Docker's `HasBeenStartedBefore`).
    #[serde(default)]
    pub has_been_started: bool,
}

/// Runtime state (inspect's `State`, plus what the restart policy needs).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    /// Lifecycle state.
    pub status: ContainerStatus,
    /// Host pid of the init while running.
    pub pid: i64,
    /// Exit code of the last run.
    pub exit_code: i64,
    /// RFC 3339 time of the last start.
    pub started_at: Option<String>,
    /// RFC 3339 time of the last exit.
    pub finished_at: Option<String>,
    /// Killed by the OOM killer.
    pub oom_killed: bool,
    /// Why the last start failed.
    pub error: Option<String>,
    /// Healthcheck state.
    pub health: Option<Health>,
    /// Stopped by the user (`unless-stopped` stays down, no policy restart).
    pub manually_stopped: bool,
    /// The shim's pid while running.
    #[serde(default)]
    pub shim_pid: i64,
}

impl State {
    /// The state of a container just created.
    pub fn created() -> Self {
        State {
            status: ContainerStatus::Created,
            pid: 0,
            exit_code: 0,
            started_at: None,
            finished_at: None,
            oom_killed: false,
            error: None,
            health: None,
            manually_stopped: false,
            shim_pid: 0,
        }
    }

    /// Running or paused (or being restarted with a live process).
    pub fn is_running(&self) -> bool {
        matches!(
            self.status,
            ContainerStatus::Running | ContainerStatus::Paused
        )
    }
}

/// What `wait` watches: how many runs have ended, the last exit code, and removal.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Exits {
    /// Runs that ended.
    pub count: u64,
    /// The last run's exit code.
    pub exit_code: i64,
    /// The container is gone.
    pub removed: bool,
}

/// One container in memory.
#[derive(Debug)]
pub struct Container {
    /// Its id.
    pub id: String,
    dir: PathBuf,
    record: Mutex<Record>,
    /// Serialises lifecycle operations (start, stop, restart, remove, exit handling).
    pub op: tokio::sync::Mutex<()>,
    shim: Mutex<Option<ShimClient>>,
    exits: watch::Sender<Exits>,
    pending_attaches: Mutex<Vec<PendingAttach>>,
}

/// An attach made while no process runs: served when the container starts, before its
/// process does, so that no output is missed.
#[derive(Debug)]
pub struct PendingAttach {
    /// Forward stdin.
    pub stdin: bool,
    /// Want stdout.
    pub stdout: bool,
    /// Want stderr.
    pub stderr: bool,
    /// Where the shim stream goes.
    pub reply: tokio::sync::oneshot::Sender<tokio::net::UnixStream>,
}

impl Container {
    /// A handle for `record`, stored in `dir`.
    pub fn new(dir: PathBuf, record: Record) -> Arc<Self> {
        let (exits, _) = watch::channel(Exits {
            exit_code: record.state.exit_code,
            ..Exits::default()
        });
        Arc::new(Container {
            id: record.id.clone(),
            dir,
            record: Mutex::new(record),
            op: tokio::sync::Mutex::new(()),
            shim: Mutex::new(None),
            exits,
            pending_attaches: Mutex::new(Vec::new()),
        })
    }

    /// Loads the record in `dir`.
    pub fn load(dir: &Path) -> Result<Arc<Self>> {
        let path = dir.join(RECORD_FILE);
        let bytes = std::fs::read(&path).map_err(|e| EngineError::io("read", &path, e))?;
        let record: Record = serde_json::from_slice(&bytes)
            .map_err(|e| EngineError::Internal(format!("{}: {e}", path.display())))?;
        Ok(Container::new(dir.to_path_buf(), record))
    }

    /// The container's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The mount point of its root filesystem.
    pub fn rootfs(&self) -> PathBuf {
        self.dir.join("rootfs")
    }

    /// The json-file log.
    pub fn log_path(&self) -> PathBuf {
        self.dir.join(format!("{}-json.log", self.id))
    }

    /// A copy of the record.
    pub fn record(&self) -> Record {
        self.lock().clone()
    }

    /// Reads something from the record.
    pub fn with<T>(&self, f: impl FnOnce(&Record) -> T) -> T {
        f(&self.lock())
    }

    /// Changes the record and saves it.
    pub fn update<T>(&self, f: impl FnOnce(&mut Record) -> T) -> Result<T> {
        let mut record = self.lock();
        let out = f(&mut record);
        save(&self.dir, &record)?;
        Ok(out)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Record> {
        self.record.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The shim, while one runs the container.
    pub fn shim(&self) -> Option<ShimClient> {
        self.shim.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Records (or forgets) the shim.
    pub fn set_shim(&self, shim: Option<ShimClient>) {
        *self.shim.lock().unwrap_or_else(|e| e.into_inner()) = shim;
    }

    /// Queues an attach until the next start.
    pub fn add_pending_attach(&self, attach: PendingAttach) {
        self.pending_attaches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(attach);
    }

    /// The queued attaches (emptying the queue).
    pub fn take_pending_attaches(&self) -> Vec<PendingAttach> {
        std::mem::take(
            &mut *self
                .pending_attaches
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        )
    }

    /// A receiver of exit notifications.
    pub fn exits(&self) -> watch::Receiver<Exits> {
        self.exits.subscribe()
    }

    /// Tells waiters that a run ended.
    pub fn notify_exit(&self, exit_code: i64) {
        self.exits.send_modify(|e| {
            e.count += 1;
            e.exit_code = exit_code;
        });
    }

    /// Tells waiters that the container is gone.
    pub fn notify_removed(&self) {
        self.exits.send_modify(|e| e.removed = true);
    }

    /// The name with Docker's leading slash.
    pub fn slash_name(&self) -> String {
        format!("/{}", self.with(|r| r.name.clone()))
    }
}

/// Writes `record` to `dir` atomically.
fn save(dir: &Path, record: &Record) -> Result<()> {
    let path = dir.join(RECORD_FILE);
    let temporary = dir.join(format!(".{RECORD_FILE}.tmp"));
    let bytes = serde_json::to_vec(record)
        .map_err(|e| EngineError::Internal(format!("encode the container record: {e}")))?;
    std::fs::write(&temporary, bytes).map_err(|e| EngineError::io("write", &temporary, e))?;
    std::fs::rename(&temporary, &path).map_err(|e| EngineError::io("rename", &path, e))
}

/// The containers of one daemon, by id and by name.
#[derive(Debug, Default)]
pub struct Containers {
    inner: RwLock<Index>,
}

#[derive(Debug, Default)]
struct Index {
    by_id: HashMap<String, Arc<Container>>,
    by_name: HashMap<String, String>,
}

impl Containers {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Index> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Index> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a container whose name must be free (checked under the same lock). The record
    /// is saved first.
    pub fn insert(&self, container: Arc<Container>) -> Result<()> {
        let name = container.with(|r| r.name.clone());
        let mut index = self.write();
        if let Some(owner) = index.by_name.get(&name) {
            return Err(name_conflict(&name, owner));
        }
        container.update(|_| ())?;
        index.by_name.insert(name, container.id.clone());
        index.by_id.insert(container.id.clone(), container);
        Ok(())
    }

    /// Adds a container loaded from disk at daemon start.
    pub fn restore(&self, container: Arc<Container>) {
        let name = container.with(|r| r.name.clone());
        let mut index = self.write();
        index.by_name.insert(name, container.id.clone());
        index.by_id.insert(container.id.clone(), container);
    }

    /// Forgets a container.
    pub fn remove(&self, id: &str) {
        let mut index = self.write();
        if let Some(container) = index.by_id.remove(id) {
            let name = container.with(|r| r.name.clone());
            if index.by_name.get(&name).is_some_and(|owner| owner == id) {
                index.by_name.remove(&name);
            }
        }
    }

    /// Renames a container (the new name must be free).
    pub fn rename(&self, container: &Container, new_name: &str) -> Result<String> {
        let mut index = self.write();
        if let Some(owner) = index.by_name.get(new_name) {
            return Err(name_conflict(new_name, owner));
        }
        let old = container.update(|r| std::mem::replace(&mut r.name, new_name.to_string()))?;
        index.by_name.remove(&old);
        index
            .by_name
            .insert(new_name.to_string(), container.id.clone());
        Ok(old)
    }

    /// The container named by full id, name (with or without `/`) or unique id prefix.
    pub fn get(&self, text: &str) -> Result<Arc<Container>> {
        let index = self.read();
        if let Some(c) = index.by_id.get(text) {
            return Ok(c.clone());
        }
        let name = text.strip_prefix('/').unwrap_or(text);
        if let Some(id) = index.by_name.get(name) {
            if let Some(c) = index.by_id.get(id) {
                return Ok(c.clone());
            }
        }
        if !text.is_empty() {
            let mut matches = index.by_id.values().filter(|c| c.id.starts_with(text));
            match (matches.next(), matches.next()) {
                (Some(c), None) => return Ok(c.clone()),
                (Some(_), Some(_)) => {
                    return Err(EngineError::Invalid(format!(
                        "multiple IDs found with provided prefix: {text}"
                    )))
                }
                _ => {}
            }
        }
        Err(EngineError::NotFound(format!("No such container: {text}")))
    }

    /// Every container.
    pub fn all(&self) -> Vec<Arc<Container>> {
        self.read().by_id.values().cloned().collect()
    }
}

fn name_conflict(name: &str, owner: &str) -> EngineError {
    EngineError::Conflict(format!(
        "Conflict. The container name \"/{name}\" is already in use by container \"{owner}\". \
         You have to remove (or rename) that container to be able to reuse that name."
    ))
}

/// A process that could not be started (a container's or an exec's): the reason in Go's
/// words, which clients match to pick an exit code (`docker run` exits 127 on "no such
/// file or directory", 126 on "permission denied"), and Docker's code: 127 when the
/// program is missing, 126 when it cannot be executed, `otherwise` else.
pub fn launch_failure(error: &str, otherwise: i64) -> (String, i64) {
    let message = error
        .replace("No such file or directory", "no such file or directory")
        .replace("Permission denied", "permission denied");
    let code = if message.contains("no such file") || message.contains("not found") {
        127
    } else if message.contains("permission denied") || message.contains("not a directory") {
        126
    } else {
        otherwise
    };
    (message, code)
}

/// Now, as Docker prints times: RFC 3339 with nanoseconds, UTC.
pub fn now_rfc3339() -> String {
    berth_runtime::state::now_rfc3339()
}
