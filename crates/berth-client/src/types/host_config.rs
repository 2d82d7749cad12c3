//! `HostConfig`: how a container sits on its host (mounts, ports, resources, security,
//! namespaces). Sent inside `POST /containers/create` and returned by inspect.
//!
//! Every field is optional: docker's CLI sends most of them (zeros and empty lists
//! included), the Python SDK only those the user set, and a daemon must tell "not given"
//! from "given as zero" for a few (`PidsLimit`, `MemorySwappiness`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Published ports: `"80/tcp"` to the host addresses bound to it (`null` when the port
/// is exposed but not published, as inspect shows it).
pub type PortMap = BTreeMap<String, Option<Vec<PortBinding>>>;

/// The host side of a published port.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PortBinding {
    /// Host address to bind; empty means all addresses.
    #[serde(default, rename = "HostIp", skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<String>,
    /// Host port (a number or a range as text); empty means an ephemeral port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_port: Option<String>,
}

/// When the daemon restarts a container that exited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum RestartPolicyName {
    /// Never (docker's default; older clients send an empty name).
    #[default]
    #[serde(rename = "no", alias = "")]
    No,
    /// Always, also after a daemon restart.
    #[serde(rename = "always")]
    Always,
    /// Always, unless the user stopped it.
    #[serde(rename = "unless-stopped")]
    UnlessStopped,
    /// Only after a non-zero exit, at most `MaximumRetryCount` times if that is > 0.
    #[serde(rename = "on-failure")]
    OnFailure,
}

/// `--restart NAME[:RETRIES]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RestartPolicy {
    /// The policy.
    #[serde(default, deserialize_with = "super::nullable")]
    pub name: RestartPolicyName,
    /// Retry limit for `on-failure` (0: unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_retry_count: Option<i64>,
}

/// `--ulimit NAME=SOFT[:HARD]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Ulimit {
    /// The limit's name without `RLIMIT_` (`nofile`, `nproc`, ...).
    pub name: String,
    /// Soft limit.
    pub soft: i64,
    /// Hard limit.
    pub hard: i64,
}

/// `--log-driver` and `--log-opt`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LogConfig {
    /// Driver name (`json-file`, `local`, `none`, ...); empty means the daemon's default.
    #[serde(default, deserialize_with = "super::nullable")]
    pub r#type: String,
    /// Driver options (`max-size`, `max-file`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<BTreeMap<String, String>>,
}

/// `--device HOST[:CONTAINER[:PERMISSIONS]]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeviceMapping {
    /// Device path on the host.
    #[serde(default, deserialize_with = "super::nullable")]
    pub path_on_host: String,
    /// Device path in the container.
    #[serde(default, deserialize_with = "super::nullable")]
    pub path_in_container: String,
    /// cgroup permissions, some of `rwm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup_permissions: Option<String>,
}

/// The kind of a `--mount`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MountType {
    /// A host path.
    Bind,
    /// A named or anonymous volume.
    Volume,
    /// A tmpfs.
    Tmpfs,
    /// A Windows named pipe.
    Npipe,
    /// A swarm cluster volume.
    Cluster,
    /// An image's root file system (API 1.47).
    Image,
}

/// `--mount` (long syntax).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Mount {
    /// What kind of mount.
    pub r#type: MountType,
    /// Host path, volume name or image; absent for tmpfs and anonymous volumes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Path in the container.
    pub target: String,
    /// Mounted read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    /// macOS consistency hint; ignored on Linux.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consistency: Option<String>,
    /// Options of `bind` mounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind_options: Option<BindOptions>,
    /// Options of `volume` mounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_options: Option<VolumeOptions>,
    /// Options of `tmpfs` mounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tmpfs_options: Option<TmpfsOptions>,
}

/// `--mount type=bind,...` options.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BindOptions {
    /// Mount propagation (`private`, `rprivate`, `shared`, `rshared`, `slave`, `rslave`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub propagation: Option<String>,
    /// Do not bind submounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub non_recursive: Option<bool>,
    /// Create the source if it is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_mountpoint: Option<bool>,
    /// Make only the top mount read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only_non_recursive: Option<bool>,
    /// Fail if submounts cannot be made read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only_force_recursive: Option<bool>,
}

/// `--mount type=volume,...` options.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VolumeOptions {
    /// Do not seed a new volume with the image's content at the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_copy: Option<bool>,
    /// Labels for a volume created by this mount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Driver for a volume created by this mount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_config: Option<Driver>,
    /// Mount only this path inside the volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subpath: Option<String>,
}

/// A driver name with its options (volume drivers, IPAM drivers).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Driver {
    /// Driver name.
    #[serde(default, deserialize_with = "super::nullable")]
    pub name: String,
    /// Driver options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<BTreeMap<String, String>>,
}

/// `--mount type=tmpfs,...` options.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TmpfsOptions {
    /// Size limit in bytes (0: unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<i64>,
    /// Permission bits of the tmpfs root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
    /// Further mount options as `[["noexec"], ["uid", "1000"]]` (API 1.46).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<Vec<String>>>,
}

/// The host-side configuration of a container.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HostConfig {
    /// `-v SRC:DST[:OPTS]` short-syntax mounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binds: Option<Vec<String>>,
    /// `--mount` long-syntax mounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mounts: Option<Vec<Mount>>,
    /// `--tmpfs PATH[:OPTS]`: path to mount options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tmpfs: Option<BTreeMap<String, String>>,
    /// `--volumes-from CONTAINER[:ro|rw]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes_from: Option<Vec<String>>,
    /// Driver for volumes created by `Binds`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_driver: Option<String>,
    /// `-p`: container port (`80/tcp`) to host bindings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_bindings: Option<PortMap>,
    /// `-P`: publish every exposed port on an ephemeral host port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish_all_ports: Option<bool>,
    /// `--network`: `default`, `bridge`, `host`, `none`, `container:ID` or a network name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<String>,
    /// `--restart`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<RestartPolicy>,
    /// `--rm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_remove: Option<bool>,
    /// `--cap-add`, with or without the `CAP_` prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap_add: Option<Vec<String>>,
    /// `--cap-drop`, with or without the `CAP_` prefix, or `ALL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap_drop: Option<Vec<String>>,
    /// `--privileged`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privileged: Option<bool>,
    /// `--security-opt` (`seccomp=...`, `no-new-privileges`, `apparmor=...`, `label=...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_opt: Option<Vec<String>>,
    /// `--read-only`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readonly_rootfs: Option<bool>,
    /// `--memory`, bytes (0: unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<i64>,
    /// `--memory-reservation`, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_reservation: Option<i64>,
    /// `--memory-swap`, bytes of memory plus swap (-1: unlimited swap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_swap: Option<i64>,
    /// `--memory-swappiness` (-1: the host's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_swappiness: Option<i64>,
    /// `--oom-kill-disable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oom_kill_disable: Option<bool>,
    /// `--cpus`, in 1e-9 CPUs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nano_cpus: Option<i64>,
    /// `--cpu-shares`, relative weight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_shares: Option<i64>,
    /// `--cpu-quota`, microseconds per period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_quota: Option<i64>,
    /// `--cpu-period`, microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_period: Option<i64>,
    /// `--cpuset-cpus` (`0-3,5`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpuset_cpus: Option<String>,
    /// `--cpuset-mems`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpuset_mems: Option<String>,
    /// `--pids-limit` (0 or -1: unlimited; absent: unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pids_limit: Option<i64>,
    /// `--blkio-weight`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blkio_weight: Option<u16>,
    /// `--ulimit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ulimits: Option<Vec<Ulimit>>,
    /// `--shm-size`, bytes of /dev/shm (0: the daemon's default, 64 MiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shm_size: Option<i64>,
    /// `--init`: run a reaping init as PID 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<bool>,
    /// `--dns`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<Vec<String>>,
    /// `--dns-option`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_options: Option<Vec<String>>,
    /// `--dns-search`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_search: Option<Vec<String>>,
    /// `--add-host HOST:IP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_hosts: Option<Vec<String>>,
    /// `--link` (legacy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<Vec<String>>,
    /// `--log-driver` and `--log-opt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_config: Option<LogConfig>,
    /// `--oom-score-adj`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oom_score_adj: Option<i64>,
    /// `--sysctl`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sysctls: Option<BTreeMap<String, String>>,
    /// `--device`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub devices: Option<Vec<DeviceMapping>>,
    /// `--device-cgroup-rule`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_cgroup_rules: Option<Vec<String>>,
    /// `--ipc` (`private`, `shareable`, `host`, `none`, `container:ID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipc_mode: Option<String>,
    /// `--pid` (`host`, `container:ID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid_mode: Option<String>,
    /// `--uts` (`host`).
    #[serde(default, rename = "UTSMode", skip_serializing_if = "Option::is_none")]
    pub uts_mode: Option<String>,
    /// `--userns` (`host`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userns_mode: Option<String>,
    /// `--cgroupns` (`private`, `host`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroupns_mode: Option<String>,
    /// `--cgroup-parent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup_parent: Option<String>,
    /// `--group-add`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_add: Option<Vec<String>>,
    /// `--runtime`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    /// Initial TTY size `[height, width]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub console_size: Option<[u32; 2]>,
    /// Paths masked in the container (overrides the default list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub masked_paths: Option<Vec<String>>,
    /// Paths made read-only in the container (overrides the default list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readonly_paths: Option<Vec<String>>,
}
