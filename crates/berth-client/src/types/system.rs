//! System: `/_ping`, `/version` (`SystemVersion`), `/info` (`SystemInfo`), `/auth`
//! (`AuthConfig`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What `/_ping` tells in its headers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PingInfo {
    /// `API-Version`: the daemon's newest API version.
    pub api_version: Option<String>,
    /// `OSType` (`linux`); the docker CLI refuses some flags without it.
    pub os_type: Option<String>,
    /// `Docker-Experimental`.
    pub experimental: bool,
    /// `Builder-Version` (`1` classic, `2` BuildKit).
    pub builder_version: Option<String>,
    /// `Server` (`berth/0.1.0 (linux)`, `Docker/20.10.24 (linux)`).
    pub server: Option<String>,
}

/// A component in `/version`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ComponentVersion {
    /// `Engine`, `containerd`, `runc`, `docker-init`.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Free-form details (`GitCommit`, `ApiVersion`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<BTreeMap<String, serde_json::Value>>,
}

/// The product name in `/version`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Platform {
    /// Product name (`Docker Engine - Community`).
    #[serde(default, deserialize_with = "super::nullable")]
    pub name: String,
}

/// `GET /version` (`SystemVersion`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SystemVersion {
    /// Product.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// Engine, containerd, runc, init versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<ComponentVersion>>,
    /// Engine version.
    #[serde(default, deserialize_with = "super::nullable")]
    pub version: String,
    /// Newest API version.
    #[serde(default, deserialize_with = "super::nullable")]
    pub api_version: String,
    /// Oldest API version.
    #[serde(
        default,
        rename = "MinAPIVersion",
        deserialize_with = "super::nullable"
    )]
    pub min_api_version: String,
    /// Source commit.
    #[serde(default, deserialize_with = "super::nullable")]
    pub git_commit: String,
    /// Toolchain version (Go for dockerd, rustc for berth).
    #[serde(default, deserialize_with = "super::nullable")]
    pub go_version: String,
    /// `linux`.
    #[serde(default, deserialize_with = "super::nullable")]
    pub os: String,
    /// `amd64`, `arm64`, ...
    #[serde(default, deserialize_with = "super::nullable")]
    pub arch: String,
    /// Host kernel.
    #[serde(default, deserialize_with = "super::nullable")]
    pub kernel_version: String,
    /// Experimental features on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experimental: Option<bool>,
    /// Build time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_time: Option<String>,
}

/// An OCI runtime registered with the daemon.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Runtime {
    /// Executable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Arguments before the runtime's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_args: Option<Vec<String>>,
}

/// `GET /info` (`SystemInfo`); only the fields clients commonly read are typed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SystemInfo {
    /// Daemon ID.
    #[serde(default, rename = "ID", deserialize_with = "super::nullable")]
    pub id: String,
    /// Containers in any state.
    #[serde(default, deserialize_with = "super::nullable")]
    pub containers: i64,
    /// Running containers.
    #[serde(default, deserialize_with = "super::nullable")]
    pub containers_running: i64,
    /// Paused containers.
    #[serde(default, deserialize_with = "super::nullable")]
    pub containers_paused: i64,
    /// Stopped containers.
    #[serde(default, deserialize_with = "super::nullable")]
    pub containers_stopped: i64,
    /// Images.
    #[serde(default, deserialize_with = "super::nullable")]
    pub images: i64,
    /// Storage driver.
    #[serde(default, deserialize_with = "super::nullable")]
    pub driver: String,
    /// Storage driver details as `[name, value]` pairs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_status: Option<Vec<[String; 2]>>,
    /// Data root.
    #[serde(default, deserialize_with = "super::nullable")]
    pub docker_root_dir: String,
    /// Memory limits supported.
    #[serde(default, deserialize_with = "super::nullable")]
    pub memory_limit: bool,
    /// Swap limits supported.
    #[serde(default, deserialize_with = "super::nullable")]
    pub swap_limit: bool,
    /// CFS period supported.
    #[serde(default, deserialize_with = "super::nullable")]
    pub cpu_cfs_period: bool,
    /// CFS quota supported.
    #[serde(default, deserialize_with = "super::nullable")]
    pub cpu_cfs_quota: bool,
    /// CPU shares supported.
    #[serde(default, rename = "CPUShares", deserialize_with = "super::nullable")]
    pub cpu_shares: bool,
    /// cpusets supported.
    #[serde(default, rename = "CPUSet", deserialize_with = "super::nullable")]
    pub cpu_set: bool,
    /// PID limits supported.
    #[serde(default, deserialize_with = "super::nullable")]
    pub pids_limit: bool,
    /// IPv4 forwarding on.
    #[serde(
        default,
        rename = "IPv4Forwarding",
        deserialize_with = "super::nullable"
    )]
    pub ipv4_forwarding: bool,
    /// Debug mode.
    #[serde(default, deserialize_with = "super::nullable")]
    pub debug: bool,
    /// Open file descriptors.
    #[serde(default, rename = "NFd", deserialize_with = "super::nullable")]
    pub n_fd: i64,
    /// Goroutines, or tasks.
    #[serde(default, rename = "NGoroutines", deserialize_with = "super::nullable")]
    pub n_goroutines: i64,
    /// RFC 3339 time on the host.
    #[serde(default, deserialize_with = "super::nullable")]
    pub system_time: String,
    /// Default log driver.
    #[serde(default, deserialize_with = "super::nullable")]
    pub logging_driver: String,
    /// `cgroupfs` or `systemd`.
    #[serde(default, deserialize_with = "super::nullable")]
    pub cgroup_driver: String,
    /// `1` or `2`.
    #[serde(default, deserialize_with = "super::nullable")]
    pub cgroup_version: String,
    /// Event listeners.
    #[serde(default, deserialize_with = "super::nullable")]
    pub n_events_listener: i64,
    /// Host kernel.
    #[serde(default, deserialize_with = "super::nullable")]
    pub kernel_version: String,
    /// Host OS name.
    #[serde(default, deserialize_with = "super::nullable")]
    pub operating_system: String,
    /// Host OS version.
    #[serde(default, rename = "OSVersion", deserialize_with = "super::nullable")]
    pub os_version: String,
    /// `linux`.
    #[serde(default, rename = "OSType", deserialize_with = "super::nullable")]
    pub os_type: String,
    /// `x86_64`, `aarch64`, ...
    #[serde(default, deserialize_with = "super::nullable")]
    pub architecture: String,
    /// CPUs.
    #[serde(default, rename = "NCPU", deserialize_with = "super::nullable")]
    pub ncpu: i64,
    /// Bytes of memory.
    #[serde(default, deserialize_with = "super::nullable")]
    pub mem_total: i64,
    /// Default registry.
    #[serde(default, deserialize_with = "super::nullable")]
    pub index_server_address: String,
    /// Host name.
    #[serde(default, deserialize_with = "super::nullable")]
    pub name: String,
    /// Daemon labels.
    #[serde(default, deserialize_with = "super::nullable")]
    pub labels: Vec<String>,
    /// Experimental features on.
    #[serde(default, deserialize_with = "super::nullable")]
    pub experimental_build: bool,
    /// Engine version.
    #[serde(default, deserialize_with = "super::nullable")]
    pub server_version: String,
    /// OCI runtimes by name.
    #[serde(default, deserialize_with = "super::nullable")]
    pub runtimes: BTreeMap<String, Runtime>,
    /// Default runtime.
    #[serde(default, deserialize_with = "super::nullable")]
    pub default_runtime: String,
    /// Containers survive a daemon restart.
    #[serde(default, deserialize_with = "super::nullable")]
    pub live_restore_enabled: bool,
    /// `default` on Linux.
    #[serde(default, deserialize_with = "super::nullable")]
    pub isolation: String,
    /// Init binary for `--init`.
    #[serde(default, deserialize_with = "super::nullable")]
    pub init_binary: String,
    /// `name=seccomp,profile=builtin`, ...
    #[serde(default, deserialize_with = "super::nullable")]
    pub security_options: Vec<String>,
    /// Warnings about the host's configuration.
    #[serde(default, deserialize_with = "super::nullable")]
    pub warnings: Vec<String>,
}

/// Registry credentials: the body of `/auth`, and base64url-encoded in the
/// `X-Registry-Auth` header of pulls and pushes. Field names are lower case on the wire.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthConfig {
    /// User name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// `base64(username:password)`, as config.json stores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<String>,
    /// Deprecated, ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Registry host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serveraddress: Option<String>,
    /// Refresh token from an earlier login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identitytoken: Option<String>,
    /// Bearer token for the registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registrytoken: Option<String>,
}

// Hand-written so that secrets never reach logs through `{:?}`.
impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |v: &Option<String>| v.as_ref().map(|_| "<hidden>");
        f.debug_struct("AuthConfig")
            .field("username", &self.username)
            .field("password", &hidden(&self.password))
            .field("auth", &hidden(&self.auth))
            .field("serveraddress", &self.serveraddress)
            .field("identitytoken", &hidden(&self.identitytoken))
            .field("registrytoken", &hidden(&self.registrytoken))
            .finish()
    }
}

/// The answer of `POST /auth`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AuthResponse {
    /// `Login Succeeded`.
    pub status: String,
    /// Token to use instead of the password from now on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_token: Option<String>,
}

/// The answer of the prune calls (`/containers/prune`, `/volumes/prune`,
/// `/networks/prune`, `/images/prune`): what went, and the bytes freed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PruneResponse {
    /// Removed containers, volumes or networks.
    #[serde(
        default,
        alias = "ContainersDeleted",
        alias = "VolumesDeleted",
        alias = "NetworksDeleted",
        deserialize_with = "super::nullable"
    )]
    pub deleted: Vec<String>,
    /// Removed images (image prune only).
    #[serde(default, deserialize_with = "super::nullable")]
    pub images_deleted: Vec<super::images::ImageDeleteResponseItem>,
    /// Bytes freed.
    #[serde(default, deserialize_with = "super::nullable")]
    pub space_reclaimed: u64,
}

/// `GET /system/df`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SystemDf {
    /// Bytes of all image layers.
    #[serde(default, deserialize_with = "super::nullable")]
    pub layers_size: i64,
    /// Images, with their sizes and container counts.
    #[serde(default, deserialize_with = "super::nullable")]
    pub images: Vec<super::images::ImageSummary>,
    /// Containers, with their sizes.
    #[serde(default, deserialize_with = "super::nullable")]
    pub containers: Vec<super::containers::ContainerSummary>,
    /// Volumes, with their usage.
    #[serde(default, deserialize_with = "super::nullable")]
    pub volumes: Vec<super::volumes::Volume>,
    /// Build cache records, as the daemon sends them.
    #[serde(default, deserialize_with = "super::nullable")]
    pub build_cache: Vec<serde_json::Value>,
}
