//! The engine: everything the API handlers reach, shared behind an `Arc`.

use std::path::PathBuf;
use std::sync::Arc;

use berth_image::layer::Snapshotter;
use berth_image::store::ImageStore;
use berth_net::NetworkManager;
use berth_runtime::state::StateRoot;

use crate::config::DaemonConfig;
use crate::container::Containers;
use crate::error::{EngineError, Result};
use crate::events::Events;
use crate::exec::Execs;
use crate::volumes::VolumeStore;

/// The daemon's state. Handlers get an `Arc<Engine>`.
#[derive(Debug)]
pub struct Engine {
    config: DaemonConfig,
    images: ImageStore,
    snapshots: Snapshotter,
    networks: NetworkManager,
    volumes: VolumeStore,
    events: Events,
    runtime: StateRoot,
    /// Every container, by id and name.
    pub containers: Containers,
    /// Exec sessions.
    pub execs: Execs,
    init_binary: Option<PathBuf>,
    /// Digests of the files of contexts read in place, kept between builds.
    build_file_digests: Arc<berth_build::executor::FileDigests>,
}

impl Engine {
    /// Opens every store under the configured roots. Touches no container or network yet:
    /// [`crate::daemon::restore`] does that.
    pub async fn open(config: DaemonConfig) -> Result<Arc<Engine>> {
        for dir in [
            config.data_root.clone(),
            config.containers_dir(),
            config.shims_dir(),
            config.runtime_root(),
        ] {
            std::fs::create_dir_all(&dir).map_err(|e| EngineError::io("create", &dir, e))?;
        }
        let images = ImageStore::open(&config.data_root)?;
        let snapshots = Snapshotter::open(&config.data_root)
            .map_err(|e| EngineError::Internal(format!("open the snapshots: {e}")))?;
        let mut net_config = berth_net::Config::new(config.data_root.join("network"));
        net_config.instance = config.network_instance.clone();
        let networks = NetworkManager::open(net_config).await?;
        let volumes = VolumeStore::open(&config.data_root)?;
        let init_binary = config.init_binary.clone().or_else(find_init);
        Ok(Arc::new(Engine {
            runtime: StateRoot::new(config.runtime_root()),
            containers: Containers::default(),
            execs: Execs::default(),
            images,
            snapshots,
            networks,
            volumes,
            events: Events::new(),
            init_binary,
            build_file_digests: Default::default(),
            config,
        }))
    }

    /// The configuration.
    pub fn config(&self) -> &DaemonConfig {
        &self.config
    }

    /// The image store.
    pub fn images(&self) -> &ImageStore {
        &self.images
    }

    /// Unpacked layers.
    pub fn snapshots(&self) -> &Snapshotter {
        &self.snapshots
    }

    /// Networks.
    pub fn networks(&self) -> &NetworkManager {
        &self.networks
    }

    /// Named volumes.
    pub fn volumes(&self) -> &VolumeStore {
        &self.volumes
    }

    /// The event bus.
    pub fn events(&self) -> &Events {
        &self.events
    }

    /// The runtime's state root (for kill, pause, stats: calls that do not fork).
    pub fn runtime(&self) -> &StateRoot {
        &self.runtime
    }

    /// The builder's remembered file digests (contexts read in place).
    pub fn build_file_digests(&self) -> &Arc<berth_build::executor::FileDigests> {
        &self.build_file_digests
    }

    /// The static init for `--init`, if the host has one.
    pub fn init_binary(&self) -> Option<&PathBuf> {
        self.init_binary.as_ref()
    }
}

/// tini, as Debian ships it (docker.io's `docker-init` is the same program).
fn find_init() -> Option<PathBuf> {
    [
        "/usr/bin/tini-static",
        "/usr/bin/docker-init",
        "/usr/libexec/docker/docker-init",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.is_file())
}

impl Engine {
    /// The ids of containers that mount volume `name`.
    pub fn volume_users(&self, name: &str) -> Vec<String> {
        self.containers
            .all()
            .into_iter()
            .filter(|c| {
                c.with(|r| {
                    r.mounts
                        .iter()
                        .any(|m| m.r#type == "volume" && m.name.as_deref() == Some(name))
                })
            })
            .map(|c| c.id.clone())
            .collect()
    }

    /// The image ids (config digests, `sha256:...`) that containers use.
    pub fn images_in_use(&self) -> std::collections::HashSet<String> {
        self.containers
            .all()
            .into_iter()
            .map(|c| c.with(|r| r.image_id.clone()))
            .collect()
    }
}
