//! `DELETE /containers/{id}` and `POST /containers/prune`.

use std::sync::Arc;

use berth_client::types::containers::ContainerStatus;

use super::{rootfs, stop, Container};
use crate::engine::Engine;
use crate::error::{EngineError, Result};

/// Removes a container: refused while running unless `force` (then killed first);
/// `volumes` also removes its anonymous volumes.
pub async fn remove(
    engine: &Arc<Engine>,
    container: &Arc<Container>,
    force: bool,
    volumes: bool,
) -> Result<()> {
    let _op = container.op.lock().await;
    if engine.containers.get(&container.id).is_err() {
        // Removed meanwhile (auto-remove raced a user's rm): nothing left to do.
        return Ok(());
    }
    let record = container.record();
    let running = record.state.is_running();
    if running && !force {
        let state = if record.state.status == ContainerStatus::Paused {
            "paused"
        } else {
            "running"
        };
        return Err(EngineError::Conflict(format!(
            "cannot remove container \"/{}\": container is {state}: stop the container before removing or force remove",
            record.name
        )));
    }
    if running || record.state.status == ContainerStatus::Restarting {
        container.update(|r| r.state.manually_stopped = true)?;
    }
    if running {
        stop::stop_locked(engine, container, Some(0), Some("SIGKILL"))
            .await
            .or_else(|e| match e {
                EngineError::NotModified => Ok(()),
                other => Err(other),
            })?;
    }
    container.update(|r| r.state.status = ContainerStatus::Removing)?;
    engine.containers.remove(&container.id);
    engine.execs.remove_container(&container.id);
    let _ = engine.networks().disconnect_all(&container.id).await;
    let dir = container.dir().to_path_buf();
    let shim_dir = engine.config().shims_dir().join(&container.id);
    let id = container.id.clone();
    let runtime = engine.runtime().clone();
    tokio::task::spawn_blocking(move || {
        let _ = berth_runtime::container::delete(&runtime, &id, true);
        let _ = std::fs::remove_dir_all(&shim_dir);
        rootfs::unmount(&dir)?;
        std::fs::remove_dir_all(&dir).map_err(|e| EngineError::io("remove", &dir, e))
    })
    .await
    .map_err(|e| EngineError::Internal(format!("remove the container's files: {e}")))??;
    if volumes {
        for name in &record.anonymous_volumes {
            if engine.volume_users(name).is_empty() {
                if let Err(e) = engine.volumes().remove(name, &[]) {
                    tracing::warn!(volume = %name, error = %e, "remove an anonymous volume");
                }
            }
        }
    }
    engine.events().publish(
        "container",
        "destroy",
        &container.id,
        super::view::event_attributes(container),
    );
    container.notify_removed();
    Ok(())
}

/// Removes every stopped container that passes `keep`; returns the ids removed and the
/// bytes reclaimed (their writable layers).
pub async fn prune(
    engine: &Arc<Engine>,
    keep: impl Fn(&Container) -> bool,
) -> Result<(Vec<String>, u64)> {
    let mut removed = Vec::new();
    let mut reclaimed = 0;
    for container in engine.containers.all() {
        let stopped = container.with(|r| {
            matches!(
                r.state.status,
                ContainerStatus::Created | ContainerStatus::Exited | ContainerStatus::Dead
            )
        });
        if !stopped || keep(&container) {
            continue;
        }
        let upper = container.dir().join("upper");
        reclaimed += dir_size(&upper);
        if remove(engine, &container, false, false).await.is_ok() {
            removed.push(container.id.clone());
        }
    }
    Ok((removed, reclaimed))
}

/// Bytes of the files under `dir` (a container's writable layer), each hard-linked inode
/// once, symlinks not followed; 0 if it does not exist.
pub fn dir_size(dir: &std::path::Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut seen = std::collections::HashSet::new();
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            if let Ok(entries) = std::fs::read_dir(&path) {
                stack.extend(entries.flatten().map(|e| e.path()));
            }
        } else if seen.insert((meta.dev(), meta.ino())) {
            total += meta.len();
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::dir_size;

    #[test]
    fn sizes_count_hard_links_once() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), [0u8; 100]).unwrap();
        std::fs::hard_link(dir.path().join("a"), dir.path().join("b")).unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/c"), [0u8; 10]).unwrap();
        assert_eq!(dir_size(dir.path()), 110);
        assert_eq!(dir_size(&dir.path().join("missing")), 0);
    }
}
