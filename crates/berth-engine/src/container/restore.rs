//! Daemon start: load every container record, reattach to the shims of those that run
//! (live-restore), record the exits that happened while the daemon was away, and apply the
//! restart policies.

use std::sync::Arc;

use berth_client::types::containers::ContainerStatus;
use berth_client::types::host_config::RestartPolicyName;
use berth_shim::protocol::ContainerStatus as ShimStatus;
use berth_shim::{ExitInfo, Response, ShimClient};

use super::{exit, health, now_rfc3339, start, Container};
use crate::engine::Engine;
use crate::error::{EngineError, Result};

/// Loads the records from disk into the index. Records that cannot be read are reported
/// and left alone.
pub fn load_all(engine: &Engine) -> Result<Vec<Arc<Container>>> {
    let dir = engine.config().containers_dir();
    let entries = std::fs::read_dir(&dir).map_err(|e| EngineError::io("read", &dir, e))?;
    let mut loaded = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        match Container::load(&path) {
            Ok(container) => {
                engine.containers.restore(container.clone());
                loaded.push(container);
            }
            Err(e) => tracing::warn!(dir = %path.display(), error = %e, "skip a container"),
        }
    }
    Ok(loaded)
}

/// Brings one loaded container back in line with its shim.
pub async fn reattach(engine: &Arc<Engine>, container: &Arc<Container>) {
    let record = container.record();
    match record.state.status {
        ContainerStatus::Running | ContainerStatus::Paused | ContainerStatus::Restarting => {}
        ContainerStatus::Removing => {
            let _ = super::remove::remove(engine, container, true, false).await;
            return;
        }
        ContainerStatus::Created | ContainerStatus::Exited | ContainerStatus::Dead => {
            let policy = record
                .host_config
                .restart_policy
                .clone()
                .unwrap_or_default()
                .name;
            let wanted = !record.state.manually_stopped
                && record.has_been_started
                && matches!(
                    policy,
                    RestartPolicyName::Always | RestartPolicyName::UnlessStopped
                );
            if wanted {
                let _op = container.op.lock().await;
                if let Err(e) = start::start_locked(engine, container).await {
                    tracing::warn!(container = %container.id, error = %e, "restart at daemon start");
                }
            }
            return;
        }
    }
    let shim = ShimClient::new(
        &container.id,
        engine.config().shims_dir().join(&container.id),
    );
    match shim.request(&berth_shim::Request::State).await {
        Ok(Response::State {
            status: ShimStatus::Running,
            ..
        }) => {
            container.set_shim(Some(shim.clone()));
            exit::monitor(engine.clone(), container.clone(), shim);
            health::spawn(engine.clone(), container.clone());
        }
        Ok(Response::State {
            exit: Some(exit_info),
            ..
        }) => {
            container.set_shim(Some(shim));
            exit::handle_exit(engine, container, exit_info).await;
        }
        _ => {
            // The shim is gone (or never started the process): what it recorded, if anything.
            let exit_info = shim.recorded_exit().unwrap_or_else(|| ExitInfo {
                exit_code: 137,
                finished_at: now_rfc3339(),
                oom_killed: false,
            });
            container.set_shim(Some(shim));
            exit::handle_exit(engine, container, exit_info).await;
        }
    }
}
