//! From Docker's container configuration to an OCI runtime spec.
//!
//! [`merge_image_config`] runs at create time and fills what the user left out from the
//! image's config exactly as Docker does (the result is what inspect shows as `Config`);
//! ([`merge_docker_image_config`] adds the Docker-only fields from the raw image config);
//! [`build_spec`] runs at each start and turns the merged config, the HostConfig and the
//! resolved mounts into the `config.json` the shim hands to the runtime.

mod devices;
mod merge;
mod mounts;
mod namespaces;
mod process;
pub(crate) mod resources;
mod seccomp;
mod security;
mod user;

use std::path::{Path, PathBuf};

use berth_client::types::containers::ContainerConfig;
use berth_client::types::host_config::HostConfig;
use oci_spec::runtime::{
    BoxBuilder, LinuxBuilder, LinuxCapabilitiesBuilder, LinuxSeccomp, ProcessBuilder, RootBuilder,
    Spec, SpecBuilder, UserBuilder,
};
use thiserror::Error;

pub use merge::{merge_docker_image_config, merge_image_config};
pub use mounts::{DEFAULT_SHM_SIZE, INIT_PATH};
pub use process::{DEFAULT_NOFILE, DEFAULT_PATH};
pub use resources::HostResources;
pub use seccomp::default_profile as default_seccomp_profile;
pub use security::DEFAULT_CAPABILITIES;
pub use user::{resolve as resolve_user, ExecUser};

use mounts::{DefaultMountOptions, IpcMounts};
use security::SeccompChoice;

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

/// The runtime spec for one start of the container.
///
/// Reads the rootfs's `/etc/passwd` and `/etc/group` (for `--user` and `--group-add`),
/// the host's `/dev` (for `--device` and `--privileged`), a seccomp profile file when
/// `seccomp=<path>` names one, and the host's CPUs and memory nodes (for validation).
pub fn build_spec(
    config: &ContainerConfig,
    host: &HostConfig,
    context: &SpecContext,
) -> Result<Spec, SpecError> {
    build_spec_on(config, host, context, &HostResources::detect())
}

/// [`build_spec`] against a given description of the host's resources.
pub fn build_spec_on(
    config: &ContainerConfig,
    host: &HostConfig,
    context: &SpecContext,
    system: &HostResources,
) -> Result<Spec, SpecError> {
    let privileged = host.privileged.unwrap_or(false);
    let security = security::parse_security_opts(host.security_opt.as_deref().unwrap_or_default())?;
    let shared = namespaces::shared(host, context);
    let hostname = hostname(config, context, shared.uts);

    let init = host.init.unwrap_or(false);
    let init_binary = match (init, &context.init_binary) {
        (false, _) => None,
        (true, Some(binary)) => Some(binary),
        (true, None) => {
            return Err(SpecError::Invalid(
                "--init needs an init binary (docker-init or tini) and the daemon has none".into(),
            ))
        }
    };

    let caps = security::capabilities(
        privileged,
        host.cap_add.as_deref().unwrap_or_default(),
        host.cap_drop.as_deref().unwrap_or_default(),
    )?;
    let seccomp = seccomp(&security.seccomp, privileged, &caps)?;
    let user = user::resolve(
        &context.rootfs,
        config.user.as_deref().unwrap_or_default(),
        host.group_add.as_deref().unwrap_or_default(),
    )?;

    // oci-spec's builders start from runc-like defaults: every field berth leaves out
    // is cleared explicitly. Docker grants no inheritable or ambient capabilities.
    let mut capabilities = LinuxCapabilitiesBuilder::default()
        .bounding(caps.clone())
        .effective(caps.clone())
        .permitted(caps)
        .build()
        .map_err(internal)?;
    capabilities.set_inheritable(None);
    capabilities.set_ambient(None);
    let mut process = ProcessBuilder::default()
        .terminal(config.tty.unwrap_or(false))
        .user(
            UserBuilder::default()
                .uid(user.uid)
                .gid(user.gid)
                .additional_gids(user.additional_gids)
                .build()
                .map_err(internal)?,
        )
        .args(process::args(config, init)?)
        .env(process::environment(config, &hostname))
        .cwd(process::cwd(config)?)
        .capabilities(capabilities)
        .rlimits(process::rlimits(host, system.nofile_hard)?)
        .no_new_privileges(security.no_new_privileges)
        .build()
        .map_err(internal)?;
    process.set_oom_score_adj(process::oom_score_adj(host)?);
    if let Some([height, width]) = host.console_size.filter(|_| config.tty.unwrap_or(false)) {
        if height > 0 && width > 0 {
            process.set_console_size(Some(
                BoxBuilder::default()
                    .height(u64::from(height))
                    .width(u64::from(width))
                    .build()
                    .map_err(internal)?,
            ));
        }
    }

    let mounts = mounts(host, context, privileged, &security, init_binary)?;

    let devices = devices::devices(
        privileged,
        host.devices.as_deref().unwrap_or_default(),
        host.device_cgroup_rules.as_deref().unwrap_or_default(),
    )?;
    let mut resources = resources::resources(host, system)?;
    resources.set_devices(Some(devices.rules));
    let (masked, readonly) = namespaces::system_paths(host, security.unconfined_system_paths);
    let sysctls = namespaces::sysctls(&host.sysctls.clone().unwrap_or_default(), shared)?;

    let mut linux = LinuxBuilder::default()
        .namespaces(namespaces::namespaces(host, context))
        .resources(resources)
        .cgroups_path(PathBuf::from(&context.cgroup_path))
        .devices(devices.nodes)
        .masked_paths(masked)
        .readonly_paths(readonly)
        .build()
        .map_err(internal)?;
    linux.set_seccomp(seccomp);
    linux.set_sysctl(Some(sysctls).filter(|s| !s.is_empty()));
    linux.set_rootfs_propagation(rootfs_propagation(&mounts));

    let mut spec = SpecBuilder::default()
        .version("1.0.2")
        .root(
            RootBuilder::default()
                .path(&context.rootfs)
                .readonly(host.readonly_rootfs.unwrap_or(false))
                .build()
                .map_err(internal)?,
        )
        .process(process)
        .mounts(mounts)
        .linux(linux)
        .build()
        .map_err(internal)?;
    spec.set_annotations(None);
    spec.set_hostname(None);
    if !shared.uts {
        spec.set_hostname(Some(hostname));
        spec.set_domainname(config.domainname.clone().filter(|d| !d.is_empty()));
    }
    Ok(spec)
}

/// An oci-spec builder refused a value berth built itself: a bug, reported rather than
/// panicking.
pub(crate) fn internal(e: oci_spec::OciSpecError) -> SpecError {
    SpecError::Invalid(format!("internal error building the runtime spec: {e}"))
}

/// The container's hostname: `--hostname`, else the first 12 characters of the id; with
/// the host's UTS namespace, the host's name unless `--hostname` was given (it then only
/// shows in `HOSTNAME`).
fn hostname(config: &ContainerConfig, context: &SpecContext, host_uts: bool) -> String {
    if let Some(name) = config.hostname.as_deref().filter(|h| !h.is_empty()) {
        return name.to_string();
    }
    if host_uts {
        nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_default()
    } else {
        context.id.chars().take(12).collect()
    }
}

fn seccomp(
    choice: &SeccompChoice,
    privileged: bool,
    caps: &oci_spec::runtime::Capabilities,
) -> Result<Option<LinuxSeccomp>, SpecError> {
    if privileged {
        return Ok(None);
    }
    match choice {
        SeccompChoice::Unconfined => Ok(None),
        SeccompChoice::Default => seccomp::default_profile(caps).map(Some),
        SeccompChoice::Profile(profile) => seccomp::load_profile(profile, caps).map(Some),
    }
}

/// Default mounts, then the user's, the daemon's files, `--tmpfs` and the init.
fn mounts(
    host: &HostConfig,
    context: &SpecContext,
    privileged: bool,
    security: &security::SecurityOptions,
    init_binary: Option<&PathBuf>,
) -> Result<Vec<oci_spec::runtime::Mount>, SpecError> {
    let readonly_rootfs = host.readonly_rootfs.unwrap_or(false);
    let ipc = match host.ipc_mode.as_deref() {
        _ if context.join_ipc.is_some() => IpcMounts::Private,
        Some("host") => IpcMounts::Host,
        Some("none") => IpcMounts::None,
        _ => IpcMounts::Private,
    };
    let defaults = mounts::default_mounts(&DefaultMountOptions {
        privileged,
        readonly_rootfs,
        writable_cgroups: security.writable_cgroups,
        shm_size: host.shm_size.unwrap_or(0),
        ipc,
    })?;

    let mut user = Vec::new();
    for resolved in &context.mounts {
        user.push(mounts::user_mount(resolved)?);
    }
    for (destination, options) in host.tmpfs.iter().flatten() {
        // The daemon may already have resolved `--tmpfs` into `context.mounts`.
        if !user
            .iter()
            .any(|m| m.destination() == Path::new(destination))
        {
            user.push(mounts::tmpfs_mount(destination, options)?);
        }
    }
    let etc_files = [
        (&context.resolv_conf, "/etc/resolv.conf"),
        (&context.hosts, "/etc/hosts"),
        (&context.hostname_file, "/etc/hostname"),
    ];
    for (source, destination) in etc_files {
        if let Some(source) = source {
            if !user
                .iter()
                .any(|m| m.destination() == Path::new(destination))
            {
                user.push(mounts::bind_mount(
                    source,
                    destination,
                    readonly_rootfs,
                    None,
                    false,
                ));
            }
        }
    }
    let mut all = mounts::assemble(defaults, user);
    if let Some(binary) = init_binary {
        let mut init = mounts::bind_mount(binary, INIT_PATH, true, None, true);
        init.set_options(Some(vec!["bind".to_string(), "ro".to_string()]));
        all.push(init);
    }
    Ok(all)
}

/// `rshared` or `rslave` when a bind asks for that propagation (it needs the rootfs's
/// mount to propagate as well); the runtime's default (`rprivate`) otherwise.
fn rootfs_propagation(mounts: &[oci_spec::runtime::Mount]) -> Option<String> {
    let options: Vec<&String> = mounts
        .iter()
        .flat_map(|m| m.options().iter().flatten())
        .collect();
    if options.iter().any(|o| *o == "shared" || *o == "rshared") {
        Some("rshared".to_string())
    } else if options.iter().any(|o| *o == "slave" || *o == "rslave") {
        Some("rslave".to_string())
    } else {
        None
    }
}

#[cfg(test)]
pub(crate) mod tests;
