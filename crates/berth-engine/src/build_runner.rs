//! The engine's [`StepRunner`]: a Dockerfile's RUN step as a transient container.
//!
//! A step gets a container-like directory `<exec_root>/build-steps/<id>/` (the OCI bundle
//! and the generated `/etc/hosts`, `/etc/resolv.conf`, `/etc/hostname`), a shim that runs
//! it, and, on the `default` network, an endpoint on the engine's bridge, so that
//! `RUN apt-get install` reaches the mirrors through the bridge's NAT. The step is not a
//! container of the engine: `docker ps -a` never shows it and it has no events.
//!
//! Output is attached before the process starts (nothing is lost) and forwarded line by
//! line. Whatever happens, the shim is deleted (runtime state, cgroup), the endpoint
//! released and the directory removed.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use berth_build::executor::{BuildError, RunFuture, RunStep, StepRunner};
use berth_client::types::containers::ContainerConfig;
use berth_client::types::host_config::HostConfig;
use berth_shim::protocol::{FRAME_EXIT, FRAME_STDERR, FRAME_STDOUT};
use berth_shim::{ShimArgs, ShimClient};
use tokio::net::UnixStream;
use tokio::sync::mpsc;

use crate::container::files::{self, Files};
use crate::container::networking::{self, DEFAULT_BRIDGE};
use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::spec::{self, NetworkNamespace, ResolvedMount, SpecContext};

/// Runs RUN steps as containers of `engine`.
#[derive(Debug, Clone)]
pub struct EngineStepRunner {
    engine: Arc<Engine>,
}

impl EngineStepRunner {
    /// A runner over `engine`'s shims and networks.
    pub fn new(engine: Arc<Engine>) -> Self {
        EngineStepRunner { engine }
    }
}

impl StepRunner for EngineStepRunner {
    fn run<'a>(&'a self, step: RunStep, output: mpsc::Sender<String>) -> RunFuture<'a> {
        Box::pin(async move {
            run_step(&self.engine, step, output)
                .await
                .map_err(|e| BuildError::Other(format!("run the step: {e}")))
        })
    }
}

/// Where the step's bundles live.
pub fn steps_dir(engine: &Engine) -> PathBuf {
    engine.config().exec_root.join("build-steps")
}

/// A fresh container id: 64 hex digits, like a container's.
fn new_id() -> String {
    let bytes: [u8; 32] = rand::random();
    hex::encode(bytes)
}

/// Runs `step`; its output lines go to `output`; answers its exit code.
pub async fn run_step(
    engine: &Arc<Engine>,
    step: RunStep,
    output: mpsc::Sender<String>,
) -> Result<i32> {
    let id = new_id();
    let dir = steps_dir(engine).join(&id);
    std::fs::create_dir_all(&dir).map_err(|e| EngineError::io("create", &dir, e))?;
    let mut shim = None;
    let result = run_in(engine, &id, &dir, &step, output, &mut shim).await;
    cleanup(engine, &id, &dir, shim).await;
    result
}

/// The step's life up to its exit; `shim` is set as soon as there is one to delete.
async fn run_in(
    engine: &Arc<Engine>,
    id: &str,
    dir: &Path,
    step: &RunStep,
    output: mpsc::Sender<String>,
    shim: &mut Option<ShimClient>,
) -> Result<i32> {
    let network = match step.network.as_str() {
        "" | "default" => NetworkNamespace::New,
        "none" => NetworkNamespace::New,
        "host" => NetworkNamespace::Host,
        other => {
            return Err(EngineError::Invalid(format!(
                "network mode `{other}` not supported for RUN: expected default, none or host"
            )))
        }
    };
    let on_bridge = matches!(step.network.as_str(), "" | "default");
    let hostname = id[..12].to_string();
    let files = Files::of(dir);
    files::write_in_place(&files.hostname, &format!("{hostname}\n"))?;
    files::write_in_place(
        &files.hosts,
        &files::hosts(&[], None, networking::host_gateway(engine).await)?,
    )?;
    files::write_in_place(
        &files.resolv_conf,
        &resolv_conf(engine, &step.network).await,
    )?;

    let config = ContainerConfig {
        cmd: Some(step.argv.clone()),
        env: Some(step.env.clone()),
        user: Some(step.user.clone()).filter(|u| !u.is_empty()),
        working_dir: Some(step.working_dir.clone()).filter(|w| !w.is_empty()),
        hostname: Some(hostname.clone()),
        tty: Some(false),
        ..ContainerConfig::default()
    };
    let host_config = HostConfig {
        network_mode: Some(match step.network.as_str() {
            "" | "default" => DEFAULT_BRIDGE.to_string(),
            other => other.to_string(),
        }),
        ..HostConfig::default()
    };
    let context = SpecContext {
        id: id.to_string(),
        rootfs: step.rootfs.clone(),
        network: network.clone(),
        host_uts: false,
        mounts: step
            .mounts
            .iter()
            .map(|m| ResolvedMount::Bind {
                source: m.source.clone(),
                destination: m.target.clone(),
                read_only: m.read_only,
                propagation: None,
                non_recursive: false,
            })
            .collect(),
        resolv_conf: Some(files.resolv_conf.clone()),
        hosts: Some(files.hosts.clone()),
        hostname_file: Some(files.hostname.clone()),
        init_binary: None,
        cgroup_path: format!(
            "{}/{id}",
            engine.config().cgroup_parent.trim_end_matches('/')
        ),
        join_ipc: None,
        join_pid: None,
    };
    let spec = spec::build_spec(&config, &host_config, &context)?;
    let bundle_config = dir.join("config.json");
    let bytes = serde_json::to_vec(&spec)
        .map_err(|e| EngineError::Internal(format!("encode the runtime spec: {e}")))?;
    std::fs::write(&bundle_config, bytes)
        .map_err(|e| EngineError::io("write", &bundle_config, e))?;

    let args = ShimArgs {
        id: id.to_string(),
        bundle: dir.to_path_buf(),
        runtime_root: engine.config().runtime_root(),
        state_dir: engine.config().shims_dir().join(id),
        log_path: None,
        log_max_size: None,
        log_max_files: 1,
        tty: false,
        open_stdin: false,
        stdin_once: false,
    };
    let spawned = ShimClient::spawn(&engine.config().shim_program, &args).await?;
    let client = shim.insert(spawned.client);
    let stream = client.attach(false, true, true).await?;

    let netns = PathBuf::from(format!("/proc/{}/ns/net", spawned.pid));
    if network == NetworkNamespace::New {
        berth_net::setup_loopback(&netns).await?;
    }
    if on_bridge {
        let bridge = engine.networks().network(DEFAULT_BRIDGE).await?;
        let endpoint = engine
            .networks()
            .connect(berth_net::Connect {
                container_id: id.to_string(),
                name: format!("build-{hostname}"),
                network: bridge.id.clone(),
                netns,
                ifname: "eth0".into(),
                aliases: Vec::new(),
                ip: None,
                ports: Vec::new(),
                default_route: true,
            })
            .await?;
        own_hosts_entry(engine, &files, endpoint.ip, &hostname).await?;
    }

    let forward = tokio::spawn(forward_lines(stream, output));
    client.start().await?;
    let exit = client.wait().await?;
    // The attach stream ends with the process's exit frame: all its output has been
    // forwarded once the forwarder returns.
    let _ = forward.await;
    Ok(exit.exit_code)
}

/// The step's resolv.conf: the bridge's (the host's servers, loopback ones dropped) or
/// the host's.
async fn resolv_conf(engine: &Engine, network: &str) -> String {
    let host = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    match network {
        "host" => host,
        "none" => files::bridge_resolv_conf(&host),
        _ => match engine.networks().resolv_conf(DEFAULT_BRIDGE).await {
            Ok(text) => text,
            Err(_) => files::bridge_resolv_conf(&host),
        },
    }
}

/// `/etc/hosts` with the step's own address, as a container's has.
async fn own_hosts_entry(
    engine: &Engine,
    files: &Files,
    ip: Ipv4Addr,
    hostname: &str,
) -> Result<()> {
    let text = files::hosts(
        &[],
        Some((ip, hostname, &[])),
        networking::host_gateway(engine).await,
    )?;
    files::write_in_place(&files.hosts, &text)
}

/// Reads the attach stream's frames and sends the output line by line (a last line
/// without a newline too) until the exit frame or the end of the stream.
async fn forward_lines(mut stream: UnixStream, output: mpsc::Sender<String>) {
    let mut lines = LineSplitter::default();
    loop {
        match berth_shim::client::read_frame(&mut stream).await {
            Ok(Some((FRAME_STDOUT | FRAME_STDERR, payload))) => {
                for line in lines.push(&payload) {
                    // A build whose reader went away still runs the step to its end.
                    let _ = output.send(line).await;
                }
            }
            Ok(Some((FRAME_EXIT, _))) | Ok(None) | Err(_) => break,
            Ok(Some(_)) => {}
        }
    }
    if let Some(rest) = lines.finish() {
        let _ = output.send(rest).await;
    }
}

/// Cuts a byte stream into lines (without their `\n`), keeping a partial line across
/// chunks.
#[derive(Debug, Default)]
struct LineSplitter {
    partial: Vec<u8>,
}

impl LineSplitter {
    /// The complete lines `chunk` finishes.
    fn push(&mut self, chunk: &[u8]) -> Vec<String> {
        self.partial.extend_from_slice(chunk);
        let mut out = Vec::new();
        while let Some(end) = self.partial.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=end).collect();
            out.push(String::from_utf8_lossy(&line[..end]).into_owned());
        }
        out
    }

    /// What is left: a last line without a newline.
    fn finish(self) -> Option<String> {
        (!self.partial.is_empty()).then(|| String::from_utf8_lossy(&self.partial).into_owned())
    }
}

/// Deletes the shim (runtime state and cgroup go with it), releases the endpoint and
/// removes the bundle directory.
async fn cleanup(engine: &Engine, id: &str, dir: &Path, shim: Option<ShimClient>) {
    if let Some(shim) = shim {
        if let Err(e) = shim.request(&berth_shim::Request::Delete).await {
            tracing::warn!(step = id, error = %e, "delete the build step's shim");
        }
    }
    // A shim that failed before it could answer may have left runtime state behind.
    let _ = berth_runtime::container::delete(engine.runtime(), id, true);
    let _ = std::fs::remove_dir_all(engine.config().shims_dir().join(id));
    if let Err(e) = engine.networks().disconnect_all(id).await {
        tracing::warn!(step = id, error = %e, "release the build step's network");
    }
    if let Err(e) = std::fs::remove_dir_all(dir) {
        tracing::warn!(step = id, error = %e, "remove the build step's directory");
    }
}

#[cfg(test)]
mod tests {
    use super::LineSplitter;

    #[test]
    fn lines_are_cut_across_chunks() {
        let mut lines = LineSplitter::default();
        assert_eq!(lines.push(b"he"), Vec::<String>::new());
        assert_eq!(lines.push(b"llo\nwor"), vec!["hello".to_string()]);
        assert_eq!(
            lines.push(b"ld\n\nx"),
            vec!["world".to_string(), String::new()]
        );
        assert_eq!(lines.finish().as_deref(), Some("x"));
    }
}
