//! The flags `run` and `create` share, and how they become a create request.

use std::collections::BTreeMap;

use anyhow::{bail, Context as _};
use berth_client::types::containers::{
    ContainerConfig, ContainerCreateRequest, Empty, HealthConfig, NetworkingConfig,
};
use berth_client::types::host_config::{
    HostConfig, LogConfig, Mount, MountType, PortBinding, RestartPolicy, RestartPolicyName,
    TmpfsOptions, Ulimit,
};
use berth_client::types::networks::{EndpointIpamConfig, EndpointSettings};
use clap::Args;

/// `docker create` / `docker run` flags.
#[derive(Debug, Args)]
pub struct CreateFlags {
    /// Keep stdin open.
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY.
    #[arg(short, long)]
    pub tty: bool,
    /// Remove the container when it exits.
    #[arg(long)]
    pub rm: bool,
    /// The container's name.
    #[arg(long)]
    pub name: Option<String>,
    /// Environment variables (`KEY=VALUE`, or `KEY` to pass on this one's).
    #[arg(short, long = "env")]
    pub env: Vec<String>,
    /// Files of environment variables.
    #[arg(long)]
    pub env_file: Vec<std::path::PathBuf>,
    /// Publish a port (`[IP:][HOST:]CONTAINER[/PROTO]`).
    #[arg(short, long)]
    pub publish: Vec<String>,
    /// Publish all exposed ports on random host ports.
    #[arg(short = 'P', long)]
    pub publish_all: bool,
    /// Bind mount or volume (`SRC:DST[:OPTS]`, or `DST` for an anonymous volume).
    #[arg(short, long)]
    pub volume: Vec<String>,
    /// A mount (`type=bind,source=...,target=...[,readonly]`).
    #[arg(long)]
    pub mount: Vec<String>,
    /// A tmpfs mount (`PATH[:OPTIONS]`).
    #[arg(long)]
    pub tmpfs: Vec<String>,
    /// The network to join.
    #[arg(long, alias = "net")]
    pub network: Option<String>,
    /// Aliases on the network.
    #[arg(long, alias = "net-alias")]
    pub network_alias: Vec<String>,
    /// IPv4 address on the network.
    #[arg(long)]
    pub ip: Option<String>,
    /// Host name.
    #[arg(long)]
    pub hostname: Option<String>,
    /// Extra /etc/hosts lines (`HOST:IP`).
    #[arg(long)]
    pub add_host: Vec<String>,
    /// DNS servers.
    #[arg(long)]
    pub dns: Vec<String>,
    /// Working directory.
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// `USER[:GROUP]`.
    #[arg(short, long)]
    pub user: Option<String>,
    /// Override the image's entrypoint.
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// Restart policy (`no`, `always`, `on-failure[:N]`, `unless-stopped`).
    #[arg(long)]
    pub restart: Option<String>,
    /// Run an init as PID 1.
    #[arg(long)]
    pub init: bool,
    /// Read-only root file system.
    #[arg(long)]
    pub read_only: bool,
    /// Add capabilities.
    #[arg(long)]
    pub cap_add: Vec<String>,
    /// Drop capabilities.
    #[arg(long)]
    pub cap_drop: Vec<String>,
    /// Every capability and device.
    #[arg(long)]
    pub privileged: bool,
    /// Security options.
    #[arg(long)]
    pub security_opt: Vec<String>,
    /// Memory limit (`512m`, `1g`).
    #[arg(short, long)]
    pub memory: Option<String>,
    /// CPUs (`1.5`).
    #[arg(long)]
    pub cpus: Option<f64>,
    /// Relative CPU weight.
    #[arg(short = 'c', long)]
    pub cpu_shares: Option<i64>,
    /// Process limit.
    #[arg(long)]
    pub pids_limit: Option<i64>,
    /// Ulimits (`nofile=1024[:2048]`).
    #[arg(long)]
    pub ulimit: Vec<String>,
    /// Size of /dev/shm.
    #[arg(long)]
    pub shm_size: Option<String>,
    /// Labels (`KEY=VALUE`).
    #[arg(short, long)]
    pub label: Vec<String>,
    /// Health check command.
    #[arg(long)]
    pub health_cmd: Option<String>,
    /// Time between health checks (`30s`).
    #[arg(long)]
    pub health_interval: Option<String>,
    /// Failures before unhealthy.
    #[arg(long)]
    pub health_retries: Option<i64>,
    /// Time a check may take.
    #[arg(long)]
    pub health_timeout: Option<String>,
    /// Grace period after start.
    #[arg(long)]
    pub health_start_period: Option<String>,
    /// Disable the image's health check.
    #[arg(long)]
    pub no_healthcheck: bool,
    /// Signal that stops the container.
    #[arg(long)]
    pub stop_signal: Option<String>,
    /// Seconds to wait before killing on stop.
    #[arg(long)]
    pub stop_timeout: Option<i64>,
    /// Mount the volumes of these containers.
    #[arg(long)]
    pub volumes_from: Vec<String>,
    /// Logging driver.
    #[arg(long)]
    pub log_driver: Option<String>,
    /// Logging driver options (`KEY=VALUE`).
    #[arg(long)]
    pub log_opt: Vec<String>,
    /// Platform (`linux/amd64`).
    #[arg(long)]
    pub platform: Option<String>,
    /// Pull the image: `missing`, `always` or `never`.
    #[arg(long, default_value = "missing", value_parser = ["missing", "always", "never"])]
    pub pull: String,
    /// The image.
    pub image: String,
    /// The command and its arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

impl CreateFlags {
    /// The create request these flags describe. `attach` says whether the client attaches
    /// (run without `-d`), which docker records in `AttachStdout`/`AttachStderr`.
    pub fn request(&self, attach: bool) -> anyhow::Result<ContainerCreateRequest> {
        let mut exposed = BTreeMap::new();
        let mut bindings: BTreeMap<String, Option<Vec<PortBinding>>> = BTreeMap::new();
        for spec in &self.publish {
            let (port, binding) = parse_publish(spec)?;
            exposed.insert(port.clone(), Empty {});
            bindings
                .entry(port)
                .or_default()
                .get_or_insert_default()
                .push(binding);
        }
        let mut binds = Vec::new();
        let mut anonymous = BTreeMap::new();
        for spec in &self.volume {
            if spec.contains(':') {
                binds.push(spec.clone());
            } else {
                anonymous.insert(spec.clone(), Empty {});
            }
        }
        let mounts = self
            .mount
            .iter()
            .map(|m| parse_mount(m))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let tmpfs: BTreeMap<String, String> = self
            .tmpfs
            .iter()
            .map(|t| match t.split_once(':') {
                Some((path, opts)) => (path.to_string(), opts.to_string()),
                None => (t.clone(), String::new()),
            })
            .collect();
        let network_mode = self.network.clone();
        let networking_config = match &self.network {
            Some(net) if !self.network_alias.is_empty() || self.ip.is_some() => {
                let endpoint = EndpointSettings {
                    aliases: (!self.network_alias.is_empty()).then(|| self.network_alias.clone()),
                    ipam_config: self.ip.as_ref().map(|ip| EndpointIpamConfig {
                        ipv4_address: Some(ip.clone()),
                        ..EndpointIpamConfig::default()
                    }),
                    ..EndpointSettings::default()
                };
                Some(NetworkingConfig {
                    endpoints_config: Some(BTreeMap::from([(net.clone(), endpoint)])),
                })
            }
            _ => None,
        };
        let host_config = HostConfig {
            binds: non_empty(binds),
            mounts: non_empty(mounts),
            tmpfs: (!tmpfs.is_empty()).then_some(tmpfs),
            volumes_from: non_empty(self.volumes_from.clone()),
            port_bindings: (!bindings.is_empty()).then_some(bindings),
            publish_all_ports: self.publish_all.then_some(true),
            network_mode,
            restart_policy: self.restart.as_deref().map(parse_restart).transpose()?,
            auto_remove: self.rm.then_some(true),
            cap_add: non_empty(self.cap_add.clone()),
            cap_drop: non_empty(self.cap_drop.clone()),
            privileged: self.privileged.then_some(true),
            security_opt: non_empty(self.security_opt.clone()),
            readonly_rootfs: self.read_only.then_some(true),
            memory: self.memory.as_deref().map(parse_bytes).transpose()?,
            nano_cpus: self.cpus.map(|c| (c * 1e9) as i64),
            cpu_shares: self.cpu_shares,
            pids_limit: self.pids_limit,
            ulimits: non_empty(
                self.ulimit
                    .iter()
                    .map(|u| parse_ulimit(u))
                    .collect::<anyhow::Result<Vec<_>>>()?,
            ),
            shm_size: self.shm_size.as_deref().map(parse_bytes).transpose()?,
            init: self.init.then_some(true),
            dns: non_empty(self.dns.clone()),
            extra_hosts: non_empty(self.add_host.clone()),
            log_config: self.log_driver.as_ref().map(|driver| LogConfig {
                r#type: driver.clone(),
                config: key_values(&self.log_opt),
            }),
            ..HostConfig::default()
        };
        let config = ContainerConfig {
            hostname: self.hostname.clone(),
            user: self.user.clone(),
            attach_stdin: Some(attach && self.interactive),
            attach_stdout: Some(attach),
            attach_stderr: Some(attach),
            exposed_ports: (!exposed.is_empty()).then_some(exposed),
            tty: Some(self.tty),
            open_stdin: Some(self.interactive),
            stdin_once: Some(attach && self.interactive),
            env: non_empty(self.environment()?),
            cmd: non_empty(self.command.clone()),
            healthcheck: self.healthcheck()?,
            image: Some(self.image.clone()),
            volumes: (!anonymous.is_empty()).then_some(anonymous),
            working_dir: self.workdir.clone(),
            // docker: `--entrypoint ""` resets the image's entrypoint.
            entrypoint: self.entrypoint.as_ref().map(|e| {
                if e.is_empty() {
                    vec![String::new()]
                } else {
                    vec![e.clone()]
                }
            }),
            labels: key_values(&self.label),
            stop_signal: self.stop_signal.clone(),
            stop_timeout: self.stop_timeout,
            ..ContainerConfig::default()
        };
        Ok(ContainerCreateRequest {
            config,
            host_config: Some(host_config),
            networking_config,
        })
    }

    /// `--env-file` lines, then `-e`; `KEY` alone takes this process's value, if any.
    fn environment(&self) -> anyhow::Result<Vec<String>> {
        let mut env = Vec::new();
        for file in &self.env_file {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("read the env file `{}`", file.display()))?;
            env.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(str::to_string),
            );
        }
        env.extend(self.env.iter().cloned());
        Ok(env
            .into_iter()
            .filter_map(|e| {
                if e.contains('=') {
                    Some(e)
                } else {
                    std::env::var(&e).ok().map(|v| format!("{e}={v}"))
                }
            })
            .collect())
    }

    fn healthcheck(&self) -> anyhow::Result<Option<HealthConfig>> {
        if self.no_healthcheck {
            return Ok(Some(HealthConfig {
                test: Some(vec!["NONE".to_string()]),
                ..HealthConfig::default()
            }));
        }
        let nanos = |d: &Option<String>| -> anyhow::Result<Option<i64>> {
            d.as_deref()
                .map(|d| {
                    humantime::parse_duration(d)
                        .map(|d| d.as_nanos() as i64)
                        .with_context(|| format!("invalid duration `{d}`"))
                })
                .transpose()
        };
        let health = HealthConfig {
            test: self
                .health_cmd
                .as_ref()
                .map(|c| vec!["CMD-SHELL".to_string(), c.clone()]),
            interval: nanos(&self.health_interval)?,
            timeout: nanos(&self.health_timeout)?,
            retries: self.health_retries,
            start_period: nanos(&self.health_start_period)?,
            start_interval: None,
        };
        Ok((health != HealthConfig::default()).then_some(health))
    }
}

fn non_empty<T>(v: Vec<T>) -> Option<Vec<T>> {
    (!v.is_empty()).then_some(v)
}

/// `KEY=VALUE` flags (`--label`, `--opt`, ...) as a map, a bare `KEY` with an empty
/// value; `None` when there are none.
pub fn key_values(pairs: &[String]) -> Option<BTreeMap<String, String>> {
    (!pairs.is_empty()).then(|| {
        pairs
            .iter()
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (p.clone(), String::new()),
            })
            .collect()
    })
}

/// `[IP:][HOST:]CONTAINER[/PROTO]` into (`CONTAINER/PROTO`, binding).
fn parse_publish(spec: &str) -> anyhow::Result<(String, PortBinding)> {
    let (addr, proto) = spec.rsplit_once('/').unwrap_or((spec, "tcp"));
    let parts: Vec<&str> = match addr.rfind(']') {
        // `[::1]:8080:80`
        Some(end) => {
            let rest: Vec<&str> = addr[end + 1..].trim_start_matches(':').split(':').collect();
            std::iter::once(&addr[1..end]).chain(rest).collect()
        }
        None => addr.split(':').collect(),
    };
    let (ip, host, container) = match parts.as_slice() {
        [c] => (None, None, *c),
        [h, c] => (None, Some(*h), *c),
        [ip, h, c] => (Some(*ip), Some(*h), *c),
        _ => bail!("invalid port specification `{spec}`"),
    };
    if container.parse::<u16>().is_err() {
        bail!("invalid container port in `{spec}`");
    }
    let binding = PortBinding {
        host_ip: ip.filter(|i| !i.is_empty()).map(str::to_string),
        host_port: host.filter(|h| !h.is_empty()).map(str::to_string),
    };
    Ok((format!("{container}/{proto}"), binding))
}

/// `--mount type=bind,source=/a,target=/b,readonly`.
fn parse_mount(spec: &str) -> anyhow::Result<Mount> {
    let mut kind = MountType::Volume;
    let (mut source, mut target, mut read_only, mut size) = (None, None, None, None);
    for field in spec.split(',') {
        let (key, value) = field.split_once('=').unwrap_or((field, "true"));
        match key {
            "type" => {
                kind = match value {
                    "bind" => MountType::Bind,
                    "volume" => MountType::Volume,
                    "tmpfs" => MountType::Tmpfs,
                    other => bail!("unsupported mount type `{other}`"),
                }
            }
            "source" | "src" => source = Some(value.to_string()),
            "target" | "destination" | "dst" => target = Some(value.to_string()),
            "readonly" | "ro" => read_only = Some(value != "false" && value != "0"),
            "tmpfs-size" => size = Some(parse_bytes(value)?),
            _ => bail!("unknown mount option `{key}` in `{spec}`"),
        }
    }
    let target = target.with_context(|| format!("the mount `{spec}` has no target"))?;
    Ok(Mount {
        r#type: kind,
        source,
        target,
        read_only,
        consistency: None,
        bind_options: None,
        volume_options: None,
        tmpfs_options: size.map(|s| TmpfsOptions {
            size_bytes: Some(s),
            ..TmpfsOptions::default()
        }),
    })
}

pub fn parse_restart(spec: &str) -> anyhow::Result<RestartPolicy> {
    let (name, count) = spec.split_once(':').unwrap_or((spec, ""));
    let name = match name {
        "no" | "" => RestartPolicyName::No,
        "always" => RestartPolicyName::Always,
        "unless-stopped" => RestartPolicyName::UnlessStopped,
        "on-failure" => RestartPolicyName::OnFailure,
        other => bail!("invalid restart policy `{other}`"),
    };
    let maximum_retry_count = if count.is_empty() {
        None
    } else {
        Some(
            count
                .parse()
                .with_context(|| format!("invalid restart count in `{spec}`"))?,
        )
    };
    Ok(RestartPolicy {
        name,
        maximum_retry_count,
    })
}

fn parse_ulimit(spec: &str) -> anyhow::Result<Ulimit> {
    let (name, limits) = spec
        .split_once('=')
        .with_context(|| format!("invalid ulimit `{spec}`: expected NAME=SOFT[:HARD]"))?;
    let (soft, hard) = limits.split_once(':').unwrap_or((limits, limits));
    let number = |n: &str| {
        n.parse::<i64>()
            .with_context(|| format!("invalid ulimit value in `{spec}`"))
    };
    Ok(Ulimit {
        name: name.to_string(),
        soft: number(soft)?,
        hard: number(hard)?,
    })
}

/// docker's RAM sizes: `512m`, `1g`, `100k`, binary units, plain bytes.
pub fn parse_bytes(text: &str) -> anyhow::Result<i64> {
    let lower = text.trim().to_ascii_lowercase();
    let lower = lower.trim_end_matches('b');
    let (digits, unit) = match lower.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => lower.split_at(i),
        None => (lower, ""),
    };
    let shift = match unit {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        _ => bail!("invalid size `{text}`"),
    };
    let value: f64 = digits
        .parse()
        .with_context(|| format!("invalid size `{text}`"))?;
    Ok((value * (1u64 << shift) as f64) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ports_sizes_and_policies() {
        let (port, b) = parse_publish("127.0.0.1:8080:80/udp").unwrap();
        assert_eq!(port, "80/udp");
        assert_eq!(b.host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(b.host_port.as_deref(), Some("8080"));
        let (port, b) = parse_publish("80").unwrap();
        assert_eq!((port.as_str(), b.host_port), ("80/tcp", None));
        assert!(parse_publish("a:b:c:d").is_err());
        assert_eq!(parse_bytes("512m").unwrap(), 512 << 20);
        assert_eq!(parse_bytes("1g").unwrap(), 1 << 30);
        assert_eq!(parse_bytes("100").unwrap(), 100);
        assert!(parse_bytes("12q").is_err());
        let r = parse_restart("on-failure:3").unwrap();
        assert_eq!(
            (r.name, r.maximum_retry_count),
            (RestartPolicyName::OnFailure, Some(3))
        );
        let u = parse_ulimit("nofile=1024:2048").unwrap();
        assert_eq!((u.soft, u.hard), (1024, 2048));
    }
}
