//! Start-up, serving and shutdown.

use std::sync::Arc;

use crate::api;
use crate::config::DaemonConfig;
use crate::container::networking::DEFAULT_BRIDGE;
use crate::container::{restore, stop};
use crate::engine::Engine;
use crate::error::{EngineError, Result};

/// Makes the default `bridge` network unless it exists.
async fn ensure_default_bridge(engine: &Engine) -> Result<()> {
    if engine.networks().network(DEFAULT_BRIDGE).await.is_ok() {
        return Ok(());
    }
    let bridge = format!("{}0", engine.config().network_instance);
    engine
        .networks()
        .create_network(berth_net::CreateNetwork {
            id: crate::container::create::new_id(),
            name: DEFAULT_BRIDGE.to_string(),
            bridge: Some(bridge),
            default_bridge: true,
            ..Default::default()
        })
        .await?;
    Ok(())
}

/// Opens the engine and brings the host in line: networks reconciled, the default bridge
/// made, containers reattached. Returns the engine, ready to serve.
pub async fn start(config: DaemonConfig) -> Result<Arc<Engine>> {
    let engine = Engine::open(config).await?;
    engine.networks().reconcile().await?;
    ensure_default_bridge(&engine).await?;
    let containers = restore::load_all(&engine)?;
    let mut tasks = Vec::new();
    for container in containers {
        let engine = engine.clone();
        tasks.push(tokio::spawn(async move {
            restore::reattach(&engine, &container).await;
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    Ok(engine)
}

/// Runs the daemon until SIGTERM or SIGINT.
pub fn run(config: DaemonConfig) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| EngineError::Internal(format!("start the async runtime: {e}")))?;
    runtime.block_on(async move {
        let hosts = config.hosts.clone();
        let engine = start(config).await?;
        let router = api::router(engine.clone());
        let mut servers = Vec::new();
        for host in &hosts {
            let listener = api::bind(host).await?;
            servers.push(tokio::spawn(api::serve(listener, router.clone())));
        }
        eprintln!(
            "berth daemon: serving the Docker Engine API on {}",
            hosts.join(", ")
        );
        shutdown_signal().await;
        for server in servers {
            server.abort();
        }
        if !engine.config().live_restore {
            for container in engine.containers.all() {
                let _ = stop::stop(&engine, &container, None, None).await;
            }
        }
        for host in &hosts {
            if let Some(path) = host.strip_prefix("unix://") {
                let _ = std::fs::remove_file(path);
            }
        }
        Ok(())
    })
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
