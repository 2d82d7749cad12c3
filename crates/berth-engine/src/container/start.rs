//! `POST /containers/{id}/start`: rootfs, mounts, files, spec, shim, networks, go.

use std::path::PathBuf;
use std::sync::Arc;

use berth_client::types::containers::ContainerStatus;
use berth_shim::{ShimArgs, ShimClient};

use super::files::{self, Files};
use super::{exit, health, mounts, networking, now_rfc3339, rootfs, Container};
use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::spec::{self, NetworkNamespace, SpecContext};

/// Starts a container at the user's request.
pub async fn start(engine: &Arc<Engine>, container: &Arc<Container>) -> Result<()> {
    let _op = container.op.lock().await;
    let status = container.with(|r| r.state.status);
    match status {
        ContainerStatus::Running | ContainerStatus::Paused => return Err(EngineError::NotModified),
        ContainerStatus::Removing | ContainerStatus::Dead => {
            return Err(EngineError::Conflict(format!(
                "container {} is marked for removal and cannot be started",
                container.id
            )))
        }
        _ => {}
    }
    container.update(|r| {
        r.state.manually_stopped = false;
        r.restart_count = 0;
    })?;
    start_locked(engine, container).await
}

/// `json-file` settings: (log path, max size, max files); None path for `none`.
fn log_settings(container: &Container) -> Result<(Option<PathBuf>, Option<u64>, u32)> {
    let log = container.with(|r| r.host_config.log_config.clone());
    let (kind, options) = match log {
        Some(l) => (l.r#type.clone(), l.config.clone().unwrap_or_default()),
        None => (String::new(), Default::default()),
    };
    match kind.as_str() {
        "" | "json-file" | "local" => {}
        "none" => return Ok((None, None, 1)),
        other => {
            return Err(EngineError::Invalid(format!(
                "failed to create task for container: failed to initialize logging driver: logger: no log driver named '{other}' is registered"
            )))
        }
    }
    let max_size = match options.get("max-size") {
        Some(text) if text != "-1" => Some(parse_size(text).ok_or_else(|| {
            EngineError::Invalid(format!(
                "invalid max-size log option `{text}`: expected e.g. 10m"
            ))
        })?),
        _ => None,
    };
    let max_files = match options.get("max-file") {
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| {
                EngineError::Invalid(format!(
                    "invalid max-file log option `{text}`: expected a number >= 1"
                ))
            })?,
        None => 1,
    };
    Ok((Some(container.log_path()), max_size, max_files))
}

/// Docker's `RAMInBytes`: `512`, `10k`, `10m`, `1g` (powers of 1024; a `b` suffix allowed).
pub fn parse_size(text: &str) -> Option<u64> {
    let lower = text.trim().to_ascii_lowercase();
    let lower = lower.strip_suffix('b').unwrap_or(&lower);
    let (number, unit) = match lower.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => (&lower[..i], &lower[i..]),
        None => (lower, ""),
    };
    let factor: u64 = match unit {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        "t" => 1 << 40,
        _ => return None,
    };
    let value: f64 = number.trim().parse().ok()?;
    (value >= 0.0).then_some((value * factor as f64) as u64)
}

/// The host's own name (for `--network host` without `--hostname`).
fn host_hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "localhost".into())
}

/// Starts the container; the caller holds its operation lock.
pub(crate) async fn start_locked(engine: &Arc<Engine>, container: &Arc<Container>) -> Result<()> {
    match start_inner(engine, container).await {
        Ok(()) => Ok(()),
        Err(e) => {
            let (message, exit_code) = super::launch_failure(&e.to_string(), 128);
            let e = match e {
                EngineError::Shim(_) | EngineError::Runtime(_) => {
                    EngineError::Invalid(format!("failed to create task for container: {message}"))
                }
                other => other,
            };
            let auto_remove = container.with(|r| r.host_config.auto_remove.unwrap_or(false));
            let _ = container.update(|r| {
                r.state.status = ContainerStatus::Exited;
                r.state.error = Some(message.clone());
                r.state.exit_code = exit_code;
                r.state.pid = 0;
                r.state.finished_at = Some(now_rfc3339());
            });
            let _ = rootfs::unmount(container.dir());
            container.notify_exit(exit_code);
            if auto_remove {
                let engine = engine.clone();
                let container = container.clone();
                tokio::spawn(async move {
                    // The caller holds the operation lock until it returns.
                    let _ = super::remove::remove(&engine, &container, true, true).await;
                });
            }
            Err(e)
        }
    }
}

async fn start_inner(engine: &Arc<Engine>, container: &Arc<Container>) -> Result<()> {
    let record = container.record();
    let dir = container.dir().to_path_buf();
    let rootfs = {
        let engine = engine.clone();
        let dir = dir.clone();
        let layers = record.layers.clone();
        tokio::task::spawn_blocking(move || rootfs::ensure_mounted(&engine, &dir, &layers))
            .await
            .map_err(|e| EngineError::Internal(format!("mount the root filesystem: {e}")))??
    };
    let resolved = mounts::resolve(engine, &rootfs, &record.mounts, &record.host_config)?;

    let mode = super::create::network_mode(&record.host_config);
    let network = if mode == "host" {
        NetworkNamespace::Host
    } else if let Some(target) = mode.strip_prefix("container:") {
        let other = engine.containers.get(target)?;
        let pid = other.with(|r| r.state.is_running().then_some(r.state.pid));
        let pid = pid.ok_or_else(|| {
            EngineError::Conflict(format!(
                "cannot join network namespace of a non running container: container {} is not running",
                other.id
            ))
        })?;
        NetworkNamespace::Join(PathBuf::from(format!("/proc/{pid}/ns/net")))
    } else {
        NetworkNamespace::New
    };
    let host_uts = mode == "host" && record.config.hostname.as_deref().is_none_or(str::is_empty);
    let hostname = match record.config.hostname.clone().filter(|h| !h.is_empty()) {
        Some(h) => h,
        None if host_uts => host_hostname(),
        None => record.id[..12].to_string(),
    };
    let files = Files::of(&dir);
    files::write_in_place(&files.hostname, &format!("{hostname}\n"))?;
    let extra_hosts = record.host_config.extra_hosts.clone().unwrap_or_default();
    files::write_in_place(
        &files.hosts,
        &files::hosts(&extra_hosts, None, networking::host_gateway(engine).await)?,
    )?;
    let resolv = networking::resolv_conf(engine, &record, &mode).await?;
    files::write_in_place(&files.resolv_conf, &resolv)?;

    let cgroup_path = match record
        .host_config
        .cgroup_parent
        .as_deref()
        .filter(|p| !p.is_empty())
    {
        Some(parent) => format!("{}/{}", parent.trim_end_matches('/'), record.id),
        None => format!(
            "{}/{}",
            engine.config().cgroup_parent.trim_end_matches('/'),
            record.id
        ),
    };
    let join_namespace = |mode: Option<&String>, kind: &str| -> Result<Option<PathBuf>> {
        let Some(target) = mode.and_then(|m| m.strip_prefix("container:")) else {
            return Ok(None);
        };
        let other = engine.containers.get(target)?;
        let pid = other
            .with(|r| r.state.is_running().then_some(r.state.pid))
            .ok_or_else(|| EngineError::Conflict(format!("container {target} is not running")))?;
        Ok(Some(PathBuf::from(format!("/proc/{pid}/ns/{kind}"))))
    };
    let context = SpecContext {
        id: record.id.clone(),
        rootfs: rootfs.clone(),
        network: network.clone(),
        host_uts,
        mounts: resolved,
        resolv_conf: Some(files.resolv_conf.clone()),
        hosts: Some(files.hosts.clone()),
        hostname_file: Some(files.hostname.clone()),
        init_binary: engine.init_binary().cloned(),
        cgroup_path,
        join_ipc: join_namespace(record.host_config.ipc_mode.as_ref(), "ipc")?,
        join_pid: join_namespace(record.host_config.pid_mode.as_ref(), "pid")?,
    };
    let mut config = record.config.clone();
    config.hostname = Some(hostname.clone());
    let spec = spec::build_spec(&config, &record.host_config, &context)?;
    let bundle_config = dir.join("config.json");
    let bytes = serde_json::to_vec(&spec)
        .map_err(|e| EngineError::Internal(format!("encode the runtime spec: {e}")))?;
    std::fs::write(&bundle_config, bytes)
        .map_err(|e| EngineError::io("write", &bundle_config, e))?;

    let (log_path, log_max_size, log_max_files) = log_settings(container)?;
    let state_dir = engine.config().shims_dir().join(&record.id);
    // A shim of an earlier run that was never deleted (e.g. the daemon died mid-way).
    let _ = std::fs::remove_dir_all(&state_dir);
    let _ = berth_runtime::container::delete(engine.runtime(), &record.id, true);
    let args = ShimArgs {
        id: record.id.clone(),
        bundle: dir.clone(),
        runtime_root: engine.config().runtime_root(),
        state_dir,
        log_path,
        log_max_size,
        log_max_files,
        tty: record.config.tty.unwrap_or(false),
        open_stdin: record.config.open_stdin.unwrap_or(false),
        stdin_once: record.config.stdin_once.unwrap_or(false),
    };
    let spawned = ShimClient::spawn(&engine.config().shim_program, &args).await?;
    let shim = spawned.client;
    let pid = spawned.pid;

    // Attaches made before this start (`docker run`, `docker start -a`) see everything.
    for pending in container.take_pending_attaches() {
        let request = berth_shim::Request::Attach {
            stdin: pending.stdin,
            stdout: pending.stdout,
            stderr: pending.stderr,
        };
        if let Ok((_, stream)) = shim.open_stream(&request).await {
            let _ = pending.reply.send(stream);
        }
    }
    let wired = if network == NetworkNamespace::New {
        networking::wire(engine, container, pid, &hostname).await
    } else {
        Ok(())
    };
    if let Err(e) = wired {
        let _ = shim.request(&berth_shim::Request::Delete).await;
        let _ = engine.networks().disconnect_all(&record.id).await;
        return Err(e);
    }
    if let Err(e) = shim.request(&berth_shim::Request::Start).await {
        let _ = shim.request(&berth_shim::Request::Delete).await;
        let _ = engine.networks().disconnect_all(&record.id).await;
        return Err(e.into());
    }
    container.update(|r| {
        r.state.status = ContainerStatus::Running;
        r.state.pid = i64::from(pid);
        r.state.shim_pid = i64::from(spawned.shim_pid);
        r.state.started_at = Some(now_rfc3339());
        r.state.exit_code = 0;
        r.state.error = None;
        r.state.oom_killed = false;
        r.state.health = r
            .config
            .healthcheck
            .as_ref()
            .filter(|h| health::enabled(h))
            .map(|_| health::starting());
        r.has_been_started = true;
    })?;
    container.set_shim(Some(shim.clone()));
    engine.events().publish(
        "container",
        "start",
        &container.id,
        super::view::event_attributes(container),
    );
    exit::monitor(engine.clone(), container.clone(), shim);
    health::spawn(engine.clone(), container.clone());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse_like_docker() {
        assert_eq!(parse_size("512"), Some(512));
        assert_eq!(parse_size("10k"), Some(10 << 10));
        assert_eq!(parse_size("10m"), Some(10 << 20));
        assert_eq!(parse_size("1GB"), Some(1 << 30));
        assert_eq!(parse_size("1.5k"), Some(1536));
        assert_eq!(parse_size("ten"), None);
    }
}
