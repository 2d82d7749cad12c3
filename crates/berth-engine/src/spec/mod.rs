//! From Docker's container configuration to an OCI runtime spec.
//!
//! [`merge_image_config`] runs at create time and fills what the user left out from the
//! image's config exactly as Docker does (the result is what inspect shows as `Config`);
//! [`build_spec`] runs at each start and turns the merged config, the HostConfig and the
//! resolved mounts into the `config.json` the shim hands to the runtime.

use std::path::PathBuf;

use berth_client::types::containers::ContainerConfig;
use berth_client::types::host_config::HostConfig;
use oci_spec::runtime::Spec;
use thiserror::Error;

/// A HostConfig or Config value the runtime cannot honour, in the user's terms.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SpecError {
    /// An invalid option value (Docker answers these with 400 Bad Request).
    #[error("{0}")]
    Invalid(String),
}

/// How the container gets its network namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkNamespace {
    /// A new, empty namespace (bridge networks are wired in after create; `none` gets
    /// only loopback).
    New,
    /// The host's (`--network host`): no network namespace entry in the spec.
    Host,
    /// Join this namespace file (`container:<id>` -> `/proc/<pid>/ns/net`).
    Join(PathBuf),
}

/// A mount already resolved to a host path (volumes to their `_data`, binds as given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolvedMount {
    /// A bind mount of `source` (a host path) at `destination`.
    Bind {
        /// Host path.
        source: PathBuf,
        /// Container path.
        destination: String,
        /// Read-only.
        read_only: bool,
        /// `rprivate` (default), `private`, `rshared`, `shared`, `rslave`, `slave`.
        propagation: Option<String>,
        /// Bind non-recursively (`bind-nonrecursive`).
        non_recursive: bool,
    },
    /// A tmpfs at `destination` with Docker's options string (`size=64m,mode=1777`).
    Tmpfs {
        /// Container path.
        destination: String,
        /// Mount options, comma-separated, as `--tmpfs /x:opts` gives them.
        options: String,
    },
}

/// Everything [`build_spec`] needs besides the configs.
#[derive(Debug, Clone)]
pub struct SpecContext {
    /// The container id.
    pub id: String,
    /// The mounted root filesystem (absolute).
    pub rootfs: PathBuf,
    /// Network namespace.
    pub network: NetworkNamespace,
    /// Share the host's UTS namespace too (`--network host` keeps the host's hostname
    /// unless `--hostname` is given; `--uts host`).
    pub host_uts: bool,
    /// Volumes, binds and tmpfs mounts, in the order Docker applies them (parents first).
    pub mounts: Vec<ResolvedMount>,
    /// Files the daemon generated, bind-mounted at /etc/resolv.conf, /etc/hosts and
    /// /etc/hostname (None: leave the image's).
    pub resolv_conf: Option<PathBuf>,
    /// See `resolv_conf`.
    pub hosts: Option<PathBuf>,
    /// See `resolv_conf`.
    pub hostname_file: Option<PathBuf>,
    /// A static init (tini) to bind at `/sbin/docker-init` and run as pid 1 when
    /// `HostConfig.Init` is true.
    pub init_binary: Option<PathBuf>,
    /// The cgroup path (`/berth/<id>` by default; under `CgroupParent` when given).
    pub cgroup_path: String,
    /// `--ipc container:<id>`/`--pid container:<id>` namespaces to join, resolved to
    /// `/proc/<pid>/ns/{ipc,pid}`.
    pub join_ipc: Option<PathBuf>,
    /// See `join_ipc`.
    pub join_pid: Option<PathBuf>,
}

/// Fills `config` from the image's config as Docker does at create time:
/// Env (image's first, the container's override by name), Cmd (the image's unless the
/// container gives Cmd or Entrypoint), Entrypoint, WorkingDir, User, ExposedPorts (union),
/// Volumes (union), Labels (image's, overridden), StopSignal, Healthcheck (the container's
/// wins; `NONE` disables), Shell, OnBuild, ArgsEscaped.
pub fn merge_image_config(config: &mut ContainerConfig, image: &oci_spec::image::Config) {
    let _ = (config, image);
    todo!("merge_image_config")
}

/// The runtime spec for one start of the container.
pub fn build_spec(
    config: &ContainerConfig,
    host: &HostConfig,
    context: &SpecContext,
) -> Result<Spec, SpecError> {
    let _ = (config, host, context);
    todo!("build_spec")
}
