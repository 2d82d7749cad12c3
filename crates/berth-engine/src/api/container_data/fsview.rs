//! The container's filesystem as `docker cp` sees it: the overlay rootfs, with the
//! container's volumes and bind mounts on top.
//!
//! `/proc/<pid>/root` cannot serve as the root: it is a magic link whose path reads as
//! `/` from the host, so anything that resolves it by name (the archive module
//! canonicalises its root) would land on the host's `/`. Instead the overlay (mounted in
//! the host's namespace from the first start) is used, and the volumes are bind-mounted
//! onto it in a mount namespace private to one thread, as dockerd does for `cp`: the
//! binds vanish with the thread and never show in the host's or the container's mounts.
//!
//! A container that is not running is locked against start and removal for the duration
//! (its lifecycle lock) and its overlay is unmounted afterwards if this mounted it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use nix::mount::{mount, MsFlags};
use nix::sched::{unshare, CloneFlags};

use crate::container::{rootfs, Container};
use crate::engine::Engine;
use crate::error::{EngineError, Result};

/// Whether the volumes and binds are laid over the rootfs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mounts {
    /// `docker cp`: volumes and binds included.
    Included,
    /// `docker export`: the container's own filesystem only.
    Excluded,
}

/// Runs `work` with the container's root filesystem on a thread of its own; resolves
/// when it is done. The work goes on if the returned future is dropped (a streaming
/// response keeps running after its handler returned).
pub fn run<T, F>(
    engine: &Arc<Engine>,
    container: &Arc<Container>,
    mounts: Mounts,
    work: F,
) -> impl std::future::Future<Output = Result<T>>
where
    T: Send + 'static,
    F: FnOnce(&Path) -> Result<T> + Send + 'static,
{
    let engine = engine.clone();
    let container = container.clone();
    let task = tokio::spawn(async move {
        let running = container.with(|r| r.state.is_running());
        // A stopped container must not start (nor be removed) under our feet.
        let _lifecycle = if running {
            None
        } else {
            Some(container.op.lock().await)
        };
        let record = container.record();
        let dir = container.dir().to_path_buf();
        let binds = match mounts {
            Mounts::Included => binds_of(&record.mounts),
            Mounts::Excluded => Vec::new(),
        };
        let was_mounted = rootfs::is_mounted(&dir.join("rootfs"));
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        let thread_dir = dir.clone();
        let spawned = std::thread::Builder::new()
            .name("berth-fsview".into())
            .spawn(move || {
                let result = rootfs::ensure_mounted(&engine, &thread_dir, &record.layers)
                    .and_then(|root| with_binds(&root, &binds, work));
                let _ = done_tx.send(result);
            });
        if let Err(e) = spawned {
            return Err(EngineError::Internal(format!("start a thread: {e}")));
        }
        let result = done_rx
            .await
            .map_err(|_| EngineError::Internal("the filesystem thread panicked".into()))?;
        // From here, in the host's namespace (the thread may have left it).
        if !was_mounted && !running {
            let unmounted = tokio::task::spawn_blocking(move || rootfs::unmount(&dir)).await;
            if let Ok(Err(e)) = unmounted {
                tracing::warn!(error = %e, "unmount a stopped container's rootfs");
            }
        }
        result
    });
    async move {
        task.await
            .map_err(|e| EngineError::Internal(format!("filesystem task: {e}")))?
    }
}

/// Host sources and container destinations of the mounts that have a host path, parents
/// first.
fn binds_of(mounts: &[berth_client::types::containers::MountPoint]) -> Vec<(PathBuf, String)> {
    let mut binds: Vec<(PathBuf, String)> = mounts
        .iter()
        .filter(|m| matches!(m.r#type.as_str(), "volume" | "bind") && !m.source.is_empty())
        .map(|m| (PathBuf::from(&m.source), m.destination.clone()))
        .collect();
    binds.sort_by_key(|(_, destination)| destination.matches('/').count());
    binds
}

/// Runs `work(root)` with `binds` mounted on `root`, in a mount namespace of this thread
/// alone. Must run on a thread that ends afterwards: the namespace stays with it.
fn with_binds<T>(
    root: &Path,
    binds: &[(PathBuf, String)],
    work: impl FnOnce(&Path) -> Result<T>,
) -> Result<T> {
    if binds.is_empty() {
        return work(root);
    }
    let sys = |what: &str, e: nix::errno::Errno| {
        EngineError::Internal(format!("{what} for the container's filesystem view: {e}"))
    };
    // CLONE_NEWNS on one thread needs its own fs attributes (root, cwd) too.
    unshare(CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_FS)
        .map_err(|e| sys("unshare the mount namespace", e))?;
    // Nothing mounted here may propagate back to the host.
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_SLAVE,
        None::<&str>,
    )
    .map_err(|e| sys("make the mounts private", e))?;
    for (source, destination) in binds {
        // Resolved inside the root: a symlink in the image cannot send the bind outside.
        let target = crate::archive::resolve(root, destination)?;
        if !target.exists() || !source.exists() {
            continue;
        }
        mount(
            Some(source.as_path()),
            &target,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        )
        .map_err(|e| sys("bind a volume", e))?;
    }
    work(root)
}

#[cfg(test)]
mod tests {
    use berth_client::types::containers::MountPoint;

    use super::*;

    fn point(kind: &str, source: &str, destination: &str) -> MountPoint {
        MountPoint {
            r#type: kind.into(),
            name: None,
            source: source.into(),
            destination: destination.into(),
            driver: None,
            mode: String::new(),
            rw: true,
            propagation: String::new(),
        }
    }

    #[test]
    fn binds_are_the_mounts_with_a_host_path_parents_first() {
        let binds = binds_of(&[
            point("volume", "/v/b/_data", "/data/inner"),
            point("tmpfs", "", "/run"),
            point("bind", "/host", "/data"),
        ]);
        assert_eq!(
            binds,
            [
                (PathBuf::from("/host"), "/data".to_string()),
                (PathBuf::from("/v/b/_data"), "/data/inner".to_string())
            ]
        );
    }

    #[test]
    fn binds_show_inside_the_view_and_nowhere_else() {
        let root = tempfile::tempdir().unwrap();
        let volume = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("data")).unwrap();
        std::fs::write(volume.path().join("in-volume"), b"v").unwrap();
        let binds = vec![(volume.path().to_path_buf(), "/data".to_string())];
        let root_path = root.path().to_path_buf();
        let seen = std::thread::spawn(move || {
            with_binds(&root_path, &binds, |root| {
                Ok(root.join("data/in-volume").exists())
            })
        })
        .join()
        .unwrap()
        .unwrap();
        assert!(seen);
        // The thread (and its namespace) is gone; the host never saw the bind.
        assert!(!root.path().join("data/in-volume").exists());
    }
}
