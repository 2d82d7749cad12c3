//! When a container's process ends: record it, release its network, delete it from the
//! runtime, tell waiters, then apply the restart policy or `--rm`.

use std::sync::Arc;
use std::time::Duration;

use berth_client::types::containers::ContainerStatus;
use berth_client::types::host_config::RestartPolicyName;
use berth_shim::{ExitInfo, ShimClient};

use super::{now_rfc3339, remove, start, Container};
use crate::engine::Engine;

/// Watches the shim until the container exits, then handles the exit. Runs as a task.
pub fn monitor(engine: Arc<Engine>, container: Arc<Container>, shim: ShimClient) {
    tokio::spawn(async move {
        let exit = wait_for_exit(&shim).await;
        handle_exit(&engine, &container, exit).await;
    });
}

/// The exit as the shim reports it; if the shim is gone, as it recorded it, or a kill.
async fn wait_for_exit(shim: &ShimClient) -> ExitInfo {
    match shim.request(&berth_shim::Request::Wait).await {
        Ok(berth_shim::Response::Exited(exit)) => exit,
        _ => shim.recorded_exit().unwrap_or_else(|| ExitInfo {
            // The shim died without a record: the container went with it.
            exit_code: 137,
            finished_at: now_rfc3339(),
            oom_killed: false,
        }),
    }
}

/// Records an exit and decides what comes next.
pub async fn handle_exit(engine: &Arc<Engine>, container: &Arc<Container>, exit: ExitInfo) {
    let id = container.id.clone();
    if let Err(e) = engine.networks().release_exited(&id).await {
        tracing::warn!(container = %id, error = %e, "release the container's network");
    }
    // The shim deletes the container from the runtime; only without a shim to ask is it
    // done here.
    let deleted = match container.shim() {
        Some(shim) => shim.request(&berth_shim::Request::Delete).await.is_ok(),
        None => false,
    };
    container.set_shim(None);
    if !deleted {
        let _ = berth_runtime::container::delete(engine.runtime(), &id, true);
    }
    super::mounts::release(engine, &container.with(|r| r.mounts.clone()));
    let exit_code = i64::from(exit.exit_code);
    let (policy, max_retries, restarts, manually_stopped, auto_remove, ran_for) =
        container.with(|r| {
            let policy = r.host_config.restart_policy.clone().unwrap_or_default();
            let ran_for = r
                .state
                .started_at
                .as_deref()
                .and_then(|t| humantime::parse_rfc3339_weak(t).ok())
                .and_then(|t| std::time::SystemTime::now().duration_since(t).ok())
                .unwrap_or_default();
            (
                policy.name,
                policy.maximum_retry_count.unwrap_or(0),
                r.restart_count,
                r.state.manually_stopped,
                r.host_config.auto_remove.unwrap_or(false),
                ran_for,
            )
        });
    let restart = !manually_stopped
        && match policy {
            RestartPolicyName::No => false,
            RestartPolicyName::Always | RestartPolicyName::UnlessStopped => true,
            RestartPolicyName::OnFailure => {
                exit_code != 0 && (max_retries == 0 || restarts < max_retries)
            }
        };
    let _ = container.update(|r| {
        r.state.status = if restart {
            ContainerStatus::Restarting
        } else {
            ContainerStatus::Exited
        };
        r.state.pid = 0;
        r.state.shim_pid = 0;
        r.state.exit_code = exit_code;
        r.state.finished_at = Some(exit.finished_at.clone());
        r.state.oom_killed = exit.oom_killed;
        r.ports.clear();
    });
    let mut attributes = super::view::event_attributes(container);
    attributes.insert("exitCode".into(), exit_code.to_string());
    if exit.oom_killed {
        engine.events().publish(
            "container",
            "oom",
            &id,
            super::view::event_attributes(container),
        );
    }
    engine.events().publish("container", "die", &id, attributes);
    container.notify_exit(exit_code);

    if restart {
        // Docker's back-off: 100 ms doubling per quick restart, reset after 10 s of running.
        let delay = if ran_for > Duration::from_secs(10) {
            Duration::from_millis(100)
        } else {
            Duration::from_millis(100u64.saturating_mul(1 << restarts.clamp(0, 10)))
                .min(Duration::from_secs(60))
        };
        let engine = engine.clone();
        let container = container.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let _op = container.op.lock().await;
            let still_wanted = container.with(|r| {
                r.state.status == ContainerStatus::Restarting && !r.state.manually_stopped
            });
            if !still_wanted || engine.containers.get(&container.id).is_err() {
                return;
            }
            let _ = container.update(|r| r.restart_count += 1);
            if let Err(e) = start::start_locked(&engine, &container).await {
                tracing::warn!(container = %container.id, error = %e, "restart failed");
            }
        });
    } else {
        let _ = super::rootfs::unmount(container.dir());
        if auto_remove {
            let engine = engine.clone();
            let container = container.clone();
            tokio::spawn(async move {
                if let Err(e) = remove::remove(&engine, &container, true, true).await {
                    tracing::warn!(container = %container.id, error = %e, "auto-remove failed");
                }
            });
        }
    }
}
