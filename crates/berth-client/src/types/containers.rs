//! Containers: the create request (`Config` + `HostConfig` + `NetworkingConfig`), inspect
//! (`ContainerJSON`), list (`ContainerSummary`) and wait answers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::host_config::{HostConfig, PortMap};
use super::networks::EndpointSettings;

/// An empty JSON object, the value type of Docker's sets (`ExposedPorts`, `Volumes`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}

/// `HEALTHCHECK` / `--health-*`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthConfig {
    /// `["NONE"]`, `["CMD", args...]` or `["CMD-SHELL", command]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<Vec<String>>,
    /// Nanoseconds between checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<i64>,
    /// Nanoseconds before a check counts as failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i64>,
    /// Consecutive failures before `unhealthy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<i64>,
    /// Nanoseconds of grace after start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_period: Option<i64>,
    /// Nanoseconds between checks during the start period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_interval: Option<i64>,
}

/// The portable part of a container's configuration (`Config` in inspect; also an image's
/// `Config`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerConfig {
    /// `--hostname`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// `--domainname`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domainname: Option<String>,
    /// `--user USER[:GROUP]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Attach stdin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach_stdin: Option<bool>,
    /// Attach stdout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach_stdout: Option<bool>,
    /// Attach stderr.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach_stderr: Option<bool>,
    /// `--expose` and the image's exposed ports, as a set of `"80/tcp"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<BTreeMap<String, Empty>>,
    /// `-t`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tty: Option<bool>,
    /// `-i`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_stdin: Option<bool>,
    /// Close stdin after the first attach detaches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin_once: Option<bool>,
    /// `-e NAME=VALUE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    /// The command (arguments after the image).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    /// `--health-*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<HealthConfig>,
    /// Whether `Cmd` was already escaped (Windows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args_escaped: Option<bool>,
    /// Image reference (create) or image ID (inspect).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Anonymous volumes, as a set of container paths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<BTreeMap<String, Empty>>,
    /// `--workdir`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// `--entrypoint`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    /// `--network none`, legacy form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_disabled: Option<bool>,
    /// `--mac-address` (legacy place, before API 1.44).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
    /// Image `ONBUILD` triggers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_build: Option<Vec<String>>,
    /// `--label`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// `--stop-signal`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    /// `--stop-timeout`, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<i64>,
    /// Shell for the shell form of `RUN`/`CMD`/`ENTRYPOINT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<Vec<String>>,
}

/// `NetworkingConfig`: per-network endpoint settings at create time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkingConfig {
    /// Network name or ID (or `default`) to endpoint settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoints_config: Option<BTreeMap<String, EndpointSettings>>,
}

/// The body of `POST /containers/create`: the `Config` fields at top level plus the host
/// and networking configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerCreateRequest {
    /// The portable configuration.
    #[serde(flatten)]
    pub config: ContainerConfig,
    /// The host configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_config: Option<HostConfig>,
    /// The networks to join.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub networking_config: Option<NetworkingConfig>,
}

/// The answer of create calls: the new object's ID and warnings
/// (`ContainerCreateResponse`, also exec create's `IdResponse`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateResponse {
    /// The new object's ID.
    pub id: String,
    /// Warnings about the configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warnings: Option<Vec<String>>,
}

/// A container's lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContainerStatus {
    /// Created, never started.
    Created,
    /// Running.
    Running,
    /// Frozen.
    Paused,
    /// Being restarted by its restart policy.
    Restarting,
    /// Being removed.
    Removing,
    /// Exited.
    Exited,
    /// Could not be removed cleanly.
    Dead,
}

/// `State` in inspect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerState {
    /// Lifecycle state.
    pub status: ContainerStatus,
    /// Running (also when paused).
    #[serde(default, deserialize_with = "super::nullable")]
    pub running: bool,
    /// Frozen.
    #[serde(default, deserialize_with = "super::nullable")]
    pub paused: bool,
    /// Being restarted.
    #[serde(default, deserialize_with = "super::nullable")]
    pub restarting: bool,
    /// Killed by the OOM killer.
    #[serde(default, rename = "OOMKilled")]
    pub oom_killed: bool,
    /// Could not be removed cleanly.
    #[serde(default, deserialize_with = "super::nullable")]
    pub dead: bool,
    /// Host PID of the main process (0 when not running).
    #[serde(default, deserialize_with = "super::nullable")]
    pub pid: i64,
    /// Exit code of the last run.
    #[serde(default, deserialize_with = "super::nullable")]
    pub exit_code: i64,
    /// Why the last start failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// RFC 3339 time of the last start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// RFC 3339 time of the last exit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// Healthcheck state, for containers with a healthcheck.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
}

/// `State.Health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Health {
    /// `none`, `starting`, `healthy` or `unhealthy`.
    pub status: String,
    /// Consecutive failures.
    #[serde(default, deserialize_with = "super::nullable")]
    pub failing_streak: i64,
    /// The last checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<Vec<HealthcheckResult>>,
}

/// One healthcheck run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthcheckResult {
    /// RFC 3339 start time.
    pub start: String,
    /// RFC 3339 end time.
    pub end: String,
    /// The check's exit code (0 healthy, 1 unhealthy).
    pub exit_code: i64,
    /// The check's output, truncated.
    #[serde(default, deserialize_with = "super::nullable")]
    pub output: String,
}

/// A mount as inspect and list show it (`MountPoint`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MountPoint {
    /// `bind`, `volume`, `tmpfs`, ...
    #[serde(default, deserialize_with = "super::nullable")]
    pub r#type: String,
    /// Volume name, for volumes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Host path.
    #[serde(default, deserialize_with = "super::nullable")]
    pub source: String,
    /// Container path.
    #[serde(default, deserialize_with = "super::nullable")]
    pub destination: String,
    /// Volume driver, for volumes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// Mount options (`z`, `ro`, ...).
    #[serde(default, deserialize_with = "super::nullable")]
    pub mode: String,
    /// Writable.
    #[serde(default, rename = "RW")]
    pub rw: bool,
    /// Mount propagation.
    #[serde(default, deserialize_with = "super::nullable")]
    pub propagation: String,
}

/// `NetworkSettings` in inspect (and, reduced, in list).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkSettings {
    /// Path of the network namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox_key: Option<String>,
    /// Published ports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<PortMap>,
    /// The networks joined, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub networks: Option<BTreeMap<String, EndpointSettings>>,
    /// Legacy: the address on the default bridge (empty elsewhere). Deprecated by Docker
    /// but still sent, and read by many scripts and the Python SDK's users.
    #[serde(default, rename = "IPAddress", skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    /// Legacy: its prefix length.
    #[serde(
        default,
        rename = "IPPrefixLen",
        skip_serializing_if = "Option::is_none"
    )]
    pub ip_prefix_len: Option<i64>,
    /// Legacy: the default bridge's gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    /// Legacy: the MAC address on the default bridge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
}

/// `GET /containers/{id}/json` (`ContainerJSON`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerInspect {
    /// Full ID.
    pub id: String,
    /// RFC 3339 creation time.
    #[serde(default, deserialize_with = "super::nullable")]
    pub created: String,
    /// Path of the main process.
    #[serde(default, deserialize_with = "super::nullable")]
    pub path: String,
    /// Its arguments.
    #[serde(default, deserialize_with = "super::nullable")]
    pub args: Vec<String>,
    /// Runtime state.
    pub state: ContainerState,
    /// Image ID.
    #[serde(default, deserialize_with = "super::nullable")]
    pub image: String,
    /// Path of the generated resolv.conf.
    #[serde(default, deserialize_with = "super::nullable")]
    pub resolv_conf_path: String,
    /// Path of the generated hostname file.
    #[serde(default, deserialize_with = "super::nullable")]
    pub hostname_path: String,
    /// Path of the generated hosts file.
    #[serde(default, deserialize_with = "super::nullable")]
    pub hosts_path: String,
    /// Path of the json-file log.
    #[serde(default, deserialize_with = "super::nullable")]
    pub log_path: String,
    /// Name with its leading `/`.
    #[serde(default, deserialize_with = "super::nullable")]
    pub name: String,
    /// Times restarted by its policy.
    #[serde(default, deserialize_with = "super::nullable")]
    pub restart_count: i64,
    /// Storage driver.
    #[serde(default, deserialize_with = "super::nullable")]
    pub driver: String,
    /// Platform (`linux`).
    #[serde(default, deserialize_with = "super::nullable")]
    pub platform: String,
    /// Running exec sessions.
    #[serde(default, rename = "ExecIDs", skip_serializing_if = "Option::is_none")]
    pub exec_ids: Option<Vec<String>>,
    /// Host configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_config: Option<HostConfig>,
    /// Mounts.
    #[serde(default, deserialize_with = "super::nullable")]
    pub mounts: Vec<MountPoint>,
    /// Portable configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ContainerConfig>,
    /// Networks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_settings: Option<NetworkSettings>,
    /// Bytes written in the writable layer (with `size=true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_rw: Option<i64>,
    /// Bytes of the whole root file system (with `size=true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_root_fs: Option<i64>,
}

/// A published or exposed port in list output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Port {
    /// Host address, when published.
    #[serde(default, rename = "IP", skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// Container port.
    pub private_port: u16,
    /// Host port, when published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_port: Option<u16>,
    /// `tcp`, `udp` or `sctp`.
    pub r#type: String,
}

/// `GET /containers/json` items (`ContainerSummary`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerSummary {
    /// Full ID.
    pub id: String,
    /// Names, each with a leading `/`.
    #[serde(default, deserialize_with = "super::nullable")]
    pub names: Vec<String>,
    /// The image as the user named it.
    #[serde(default, deserialize_with = "super::nullable")]
    pub image: String,
    /// Image ID.
    #[serde(default, rename = "ImageID")]
    pub image_id: String,
    /// Command line, joined.
    #[serde(default, deserialize_with = "super::nullable")]
    pub command: String,
    /// Unix creation time.
    #[serde(default, deserialize_with = "super::nullable")]
    pub created: i64,
    /// Ports.
    #[serde(default, deserialize_with = "super::nullable")]
    pub ports: Vec<Port>,
    /// Bytes in the writable layer (with `size=true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_rw: Option<i64>,
    /// Bytes of the root file system (with `size=true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_root_fs: Option<i64>,
    /// Labels.
    #[serde(default, deserialize_with = "super::nullable")]
    pub labels: BTreeMap<String, String>,
    /// Lifecycle state.
    pub state: ContainerStatus,
    /// Human-readable status (`Up 2 minutes`, `Exited (0) 3 seconds ago`).
    #[serde(default, deserialize_with = "super::nullable")]
    pub status: String,
    /// `{"NetworkMode": ...}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_config: Option<SummaryHostConfig>,
    /// Networks joined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_settings: Option<NetworkSettings>,
    /// Mounts.
    #[serde(default, deserialize_with = "super::nullable")]
    pub mounts: Vec<MountPoint>,
}

/// The host configuration shown in list output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SummaryHostConfig {
    /// Network mode.
    #[serde(default, deserialize_with = "super::nullable")]
    pub network_mode: String,
    /// Annotations (API 1.46).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// `POST /containers/{id}/wait` (`ContainerWaitResponse`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerWaitResponse {
    /// Exit code.
    pub status_code: i64,
    /// Why waiting failed, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<WaitError>,
}

/// `Error` in [`ContainerWaitResponse`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WaitError {
    /// What went wrong.
    #[serde(default, deserialize_with = "super::nullable")]
    pub message: String,
}

/// The `condition` of a wait.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum WaitCondition {
    /// Until the container is not running (returns at once if it is not).
    #[default]
    NotRunning,
    /// Until the next exit.
    NextExit,
    /// Until the container is removed.
    Removed,
}

impl WaitCondition {
    /// The query value.
    pub fn as_str(self) -> &'static str {
        match self {
            WaitCondition::NotRunning => "not-running",
            WaitCondition::NextExit => "next-exit",
            WaitCondition::Removed => "removed",
        }
    }
}

/// `GET /containers/{id}/top` (`ContainerTopResponse`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerTopResponse {
    /// The `ps` column headers.
    #[serde(default, deserialize_with = "super::nullable")]
    pub titles: Vec<String>,
    /// One row per process.
    #[serde(default, deserialize_with = "super::nullable")]
    pub processes: Vec<Vec<String>>,
}

/// `POST /containers/{id}/update`: the resources and restart policy a running container
/// can change (`docker update`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerUpdateRequest {
    /// Memory limit in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<i64>,
    /// Memory plus swap in bytes (-1 unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_swap: Option<i64>,
    /// Soft memory limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_reservation: Option<i64>,
    /// CPUs in units of 10^-9.
    #[serde(default, rename = "NanoCpus", skip_serializing_if = "Option::is_none")]
    pub nano_cpus: Option<i64>,
    /// Relative CPU weight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_shares: Option<i64>,
    /// CPUs allowed (`0-3`, `0,1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpuset_cpus: Option<String>,
    /// Process limit (-1 unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pids_limit: Option<i64>,
    /// Block IO weight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blkio_weight: Option<u16>,
    /// The restart policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<super::host_config::RestartPolicy>,
}

/// The answer of `POST /containers/{id}/update`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerUpdateResponse {
    /// Warnings about the new values.
    #[serde(default, deserialize_with = "super::nullable")]
    pub warnings: Vec<String>,
}
