//! `GET /info`: what `docker info` and the SDKs' `info()` show.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use axum::extract::State;
use axum::response::Response;
use berth_client::types::containers::ContainerStatus;
use berth_client::types::system::{Runtime, SystemInfo};
use berth_runtime::cgroups::{CgroupManager, Layout};

use super::host;
use crate::api::{json, ApiResult, AppState};
use crate::engine::Engine;
use crate::error::{EngineError, Result};

/// The file holding the daemon's ID, under the data root.
const ENGINE_ID_FILE: &str = "engine-id";

/// `GET /info`.
pub async fn info(State(engine): State<AppState>) -> ApiResult<Response> {
    let engine = engine.clone();
    let value = tokio::task::spawn_blocking(move || system_info(&engine))
        .await
        .map_err(|e| EngineError::Internal(format!("gather the system info: {e}")))??;
    Ok(json(&value))
}

/// The `SystemInfo` document: the typed fields, plus those clients read that the typed
/// struct leaves out (`Plugins`, `Swarm`, `RegistryConfig`, ...).
pub fn system_info(engine: &Engine) -> Result<serde_json::Value> {
    let config = engine.config();
    let mut counts = [0i64; 3]; // running, paused, stopped
    let containers = engine.containers.all();
    for container in &containers {
        match container.with(|r| r.state.status) {
            ContainerStatus::Running | ContainerStatus::Restarting => counts[0] += 1,
            ContainerStatus::Paused => counts[1] += 1,
            _ => counts[2] += 1,
        }
    }
    let images = engine.images().list()?.len() as i64;
    let (operating_system, os_version) = host::os_release();
    let cgroup_version = match host_cgroup_layout() {
        Some(Layout::V2) => "2",
        _ => "1",
    };
    let mut security_options = vec!["name=seccomp,profile=builtin".to_string()];
    if cgroup_version == "2" {
        security_options.push("name=cgroupns".to_string());
    }
    let runtime_path = config.shim_program.display().to_string();
    let info = SystemInfo {
        id: engine_id(&config.data_root)?,
        containers: containers.len() as i64,
        containers_running: counts[0],
        containers_paused: counts[1],
        containers_stopped: counts[2],
        images,
        driver: "overlay2".to_string(),
        driver_status: Some(vec![["Supports d_type".to_string(), "true".to_string()]]),
        docker_root_dir: config.data_root.display().to_string(),
        memory_limit: true,
        swap_limit: true,
        cpu_cfs_period: true,
        cpu_cfs_quota: true,
        cpu_shares: true,
        cpu_set: true,
        pids_limit: true,
        ipv4_forwarding: host::ipv4_forwarding(),
        debug: false,
        n_fd: host::open_fds(),
        n_goroutines: host::threads(),
        system_time: crate::container::now_rfc3339(),
        logging_driver: "json-file".to_string(),
        cgroup_driver: "cgroupfs".to_string(),
        cgroup_version: cgroup_version.to_string(),
        n_events_listener: 0,
        kernel_version: host::kernel_version(),
        operating_system,
        os_version,
        os_type: "linux".to_string(),
        architecture: std::env::consts::ARCH.to_string(),
        ncpu: host::ncpu(),
        mem_total: host::mem_total(),
        index_server_address: "https://index.docker.io/v1/".to_string(),
        name: host::hostname(),
        labels: Vec::new(),
        experimental_build: false,
        server_version: super::VERSION.to_string(),
        runtimes: BTreeMap::from([(
            "berth".to_string(),
            Runtime {
                path: Some(runtime_path),
                runtime_args: None,
            },
        )]),
        default_runtime: "berth".to_string(),
        live_restore_enabled: config.live_restore,
        isolation: String::new(),
        init_binary: engine
            .init_binary()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        security_options,
        warnings: Vec::new(),
    };
    let mut value = serde_json::to_value(&info)
        .map_err(|e| EngineError::Internal(format!("encode the system info: {e}")))?;
    if let serde_json::Value::Object(map) = &mut value {
        let extra = serde_json::json!({
            "Plugins": {
                "Volume": ["local"],
                "Network": ["bridge", "host", "null"],
                "Authorization": null,
                "Log": ["json-file", "none"],
            },
            "Swarm": {
                "NodeID": "",
                "NodeAddr": "",
                "LocalNodeState": "inactive",
                "ControlAvailable": false,
                "Error": "",
                "RemoteManagers": null,
            },
            "RegistryConfig": {
                "AllowNondistributableArtifactsCIDRs": null,
                "AllowNondistributableArtifactsHostnames": null,
                "InsecureRegistryCIDRs": ["::1/128", "127.0.0.0/8"],
                "IndexConfigs": {
                    "docker.io": {
                        "Name": "docker.io",
                        "Mirrors": [],
                        "Secure": true,
                        "Official": true,
                    }
                },
                "Mirrors": null,
            },
            "KernelMemoryTCP": false,
            "OomKillDisable": cgroup_version == "1",
            "BridgeNfIptables": false,
            "BridgeNfIp6tables": false,
            "HttpProxy": std::env::var("HTTP_PROXY").unwrap_or_default(),
            "HttpsProxy": std::env::var("HTTPS_PROXY").unwrap_or_default(),
            "NoProxy": std::env::var("NO_PROXY").unwrap_or_default(),
            "GenericResources": null,
            "ContainerdCommit": { "ID": "" },
            "RuncCommit": { "ID": super::git_commit() },
            "InitCommit": { "ID": "" },
            "DefaultAddressPools": [],
            "CDISpecDirs": [],
        });
        if let serde_json::Value::Object(extra) = extra {
            map.extend(extra);
        }
    }
    Ok(value)
}

/// The host's cgroup layout, as the runtime sees it.
fn host_cgroup_layout() -> Option<Layout> {
    CgroupManager::new(None, "probe").ok().map(|m| m.layout())
}

/// The daemon's ID: random once, then kept in `<data_root>/engine-id` so that it is
/// stable across restarts (Docker keeps its own in `engine-id` too).
pub fn engine_id(data_root: &Path) -> Result<String> {
    let path = data_root.join(ENGINE_ID_FILE);
    match std::fs::read_to_string(&path) {
        Ok(id) if !id.trim().is_empty() => return Ok(id.trim().to_string()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(EngineError::io("read", &path, e)),
    }
    // Written whole under a temporary name, then linked into place: a concurrent reader
    // never sees a partial id, and the first writer wins.
    let id = uuid::Uuid::new_v4().to_string();
    let temporary = data_root.join(format!(".{ENGINE_ID_FILE}.{id}"));
    let mut file =
        std::fs::File::create(&temporary).map_err(|e| EngineError::io("create", &temporary, e))?;
    file.write_all(id.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| EngineError::io("write", &temporary, e))?;
    let linked = std::fs::hard_link(&temporary, &path);
    let _ = std::fs::remove_file(&temporary);
    match linked {
        Ok(()) => Ok(id),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => std::fs::read_to_string(&path)
            .map(|s| s.trim().to_string())
            .map_err(|e| EngineError::io("read", &path, e)),
        Err(e) => Err(EngineError::io("link", &path, e)),
    }
}
