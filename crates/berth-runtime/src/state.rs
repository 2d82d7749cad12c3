//! Container state under the runtime's root directory (`--root`).
//!
//! Each container has `<root>/<id>/` holding `state.json` (written atomically: temp file,
//! fsync, rename) and, between `create` and `start`, `exec.sock`: the socket on which the
//! container's init waits for `start`. The status is never stored; it is derived from the
//! system each time it is asked for:
//!
//! - the init process is gone (or is a zombie, or its pid was reused) -> `stopped`;
//! - `exec.sock` still exists -> `created`;
//! - the cgroup is frozen -> `paused`;
//! - otherwise -> `running`.

use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;
use serde::{Deserialize, Serialize};

use crate::cgroups::CgroupManager;
use crate::error::{Error, Result};

/// The name of the socket on which a created container waits for `start`.
pub const EXEC_SOCKET: &str = "exec.sock";
const STATE_FILE: &str = "state.json";

/// A container's status, as the OCI spec (and runc, for `paused`) names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Being created.
    Creating,
    /// Created; the user process has not started.
    Created,
    /// The user process runs.
    Running,
    /// The cgroup is frozen.
    Paused,
    /// The init process has exited.
    Stopped,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        };
        f.write_str(text)
    }
}

/// What the runtime records about a container.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContainerState {
    /// The container id.
    pub id: String,
    /// The host pid of the container's init.
    pub pid: i32,
    /// The init's start time in clock ticks since boot (field 22 of /proc/pid/stat), to
    /// tell it from a later process that reuses the pid.
    pub pid_start_time: u64,
    /// The bundle directory.
    pub bundle: PathBuf,
    /// The root filesystem.
    pub rootfs: PathBuf,
    /// Creation time, RFC 3339.
    pub created: String,
    /// The user that created it.
    pub owner: String,
    /// The container's cgroups.
    pub cgroup: CgroupManager,
    /// The config the container was created from (updated by `update`).
    pub config: Spec,
}

/// The OCI state, as printed by `state` and given to hooks on stdin.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OciState {
    /// The runtime spec version.
    pub oci_version: String,
    /// The container id.
    pub id: String,
    /// The status.
    pub status: Status,
    /// The init pid (0 once stopped).
    pub pid: i32,
    /// The bundle directory.
    pub bundle: PathBuf,
    /// The root filesystem (runc prints it).
    pub rootfs: PathBuf,
    /// Creation time (runc prints it).
    pub created: String,
    /// Owner (runc prints it).
    pub owner: String,
    /// The config's annotations.
    #[serde(skip_serializing_if = "HashMap::is_empty", default)]
    pub annotations: HashMap<String, String>,
}

/// The OCI runtime spec version berth implements.
pub const OCI_VERSION: &str = "1.2.0";

impl ContainerState {
    /// The current status, derived from the system.
    pub fn status(&self, dir: &Path) -> Status {
        if !process_is(self.pid, self.pid_start_time) {
            return Status::Stopped;
        }
        if dir.join(EXEC_SOCKET).exists() {
            return Status::Created;
        }
        if self.cgroup.is_frozen().unwrap_or(false) {
            return Status::Paused;
        }
        Status::Running
    }

    /// The OCI state document for `status`.
    pub fn oci_state(&self, status: Status) -> OciState {
        OciState {
            oci_version: OCI_VERSION.to_string(),
            id: self.id.clone(),
            status,
            pid: if status == Status::Stopped {
                0
            } else {
                self.pid
            },
            bundle: self.bundle.clone(),
            rootfs: self.rootfs.clone(),
            created: self.created.clone(),
            owner: self.owner.clone(),
            annotations: self.config.annotations().clone().unwrap_or_default(),
        }
    }
}

/// Whether `pid` is alive (not a zombie) and started at `start_time`.
pub fn process_is(pid: i32, start_time: u64) -> bool {
    pid > 0
        && matches!(read_stat(pid), Some((state, start)) if state != 'Z' && state != 'X' && start == start_time)
}

/// The state letter and start time of `pid`, from /proc.
pub fn read_stat(pid: i32) -> Option<(char, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: parse after the last ')'.
    let rest = &text[text.rfind(')')? + 2..];
    let mut fields = rest.split_ascii_whitespace();
    let state = fields.next()?.chars().next()?;
    // `rest` starts at field 3; the start time is field 22.
    let start = fields.nth(18)?.parse().ok()?;
    Some((state, start))
}

/// The runtime's root directory: one subdirectory per container.
#[derive(Debug, Clone)]
pub struct StateRoot {
    root: PathBuf,
}

impl StateRoot {
    /// The root at `root` (created on first use).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The root directory.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// The directory of container `id`.
    pub fn dir(&self, id: &str) -> PathBuf {
        self.root.join(id)
    }

    /// Reserves `id`: creates its directory, failing if it exists.
    pub fn reserve(&self, id: &str) -> Result<PathBuf> {
        std::fs::create_dir_all(&self.root).map_err(|source| Error::Io {
            what: "create the runtime root",
            path: self.root.clone(),
            source,
        })?;
        let dir = self.dir(id);
        match std::fs::create_dir(&dir) {
            Ok(()) => Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Err(Error::AlreadyExists(id.to_string()))
            }
            Err(source) => Err(Error::Io {
                what: "create the container state directory",
                path: dir,
                source,
            }),
        }
    }

    /// Loads the state of container `id`.
    pub fn load(&self, id: &str) -> Result<ContainerState> {
        let path = self.dir(id).join(STATE_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound(id.to_string()))
            }
            Err(source) => {
                return Err(Error::Io {
                    what: "read container state",
                    path,
                    source,
                })
            }
        };
        serde_json::from_slice(&bytes).map_err(|source| Error::CorruptState { path, source })
    }

    /// Saves `state` atomically.
    pub fn save(&self, state: &ContainerState) -> Result<()> {
        let dir = self.dir(&state.id);
        let path = dir.join(STATE_FILE);
        let tmp = dir.join(".state.json.tmp");
        let io = |what, source| Error::Io {
            what,
            path: path.clone(),
            source,
        };
        let bytes =
            serde_json::to_vec(state).map_err(|e| io("encode container state", e.into()))?;
        let mut file = std::fs::File::create(&tmp).map_err(|e| io("write container state", e))?;
        file.write_all(&bytes)
            .and_then(|()| file.sync_all())
            .map_err(|e| io("write container state", e))?;
        std::fs::rename(&tmp, &path).map_err(|e| io("write container state", e))
    }

    /// Removes the directory of container `id`.
    pub fn remove(&self, id: &str) -> Result<()> {
        let dir = self.dir(id);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(Error::Io {
                what: "remove the container state directory",
                path: dir,
                source,
            }),
        }
    }

    /// The ids of every container with a state file.
    pub fn ids(&self) -> Result<Vec<String>> {
        let entries = match std::fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(Error::Io {
                    what: "list the runtime root",
                    path: self.root.clone(),
                    source,
                })
            }
        };
        let mut ids: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().join(STATE_FILE).exists())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        ids.sort();
        Ok(ids)
    }
}

/// A path for binding or connecting to the unix socket `dir/name` that fits in
/// `sun_path` (108 bytes) however deep `dir` is: long paths go through an `O_PATH`
/// descriptor of `dir` (`/proc/self/fd/N/name`), which must be kept open while used.
pub fn socket_path(dir: &Path, name: &str) -> Result<(Option<std::fs::File>, PathBuf)> {
    let full = dir.join(name);
    if full.as_os_str().len() < 100 {
        return Ok((None, full));
    }
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    let handle = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(dir)
        .map_err(|source| Error::Io {
            what: "open the state directory",
            path: dir.to_path_buf(),
            source,
        })?;
    let short = PathBuf::from(format!("/proc/self/fd/{}/{name}", handle.as_raw_fd()));
    Ok((Some(handle), short))
}

/// Now, as RFC 3339 with nanoseconds (the format runc writes).
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_nanos(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_is_alive_and_matches_start_time() {
        let pid = std::process::id() as i32;
        let (state, start) = read_stat(pid).unwrap();
        assert_ne!(state, 'Z');
        assert!(process_is(pid, start));
        assert!(!process_is(pid, start + 1));
        assert!(!process_is(0, 0));
    }

    #[test]
    fn reserve_refuses_an_id_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let root = StateRoot::new(dir.path());
        root.reserve("a").unwrap();
        assert!(matches!(root.reserve("a"), Err(Error::AlreadyExists(ref id)) if id == "a"));
        root.remove("a").unwrap();
        root.reserve("a").unwrap();
    }
}
