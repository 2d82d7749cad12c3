//! Containers and networks: wiring a started container into its networks, and `network
//! connect`/`disconnect` of a container at any time.

use std::sync::Arc;

use berth_client::types::networks::EndpointSettings;

use crate::container::Container;
use crate::engine::Engine;
use crate::error::Result;

/// `docker network connect`: records the endpoint; when the container runs, wires it now.
pub async fn connect(
    engine: &Arc<Engine>,
    container: &Arc<Container>,
    network: &str,
    endpoint: EndpointSettings,
) -> Result<()> {
    let _ = (engine, container, network, endpoint);
    Err(crate::error::EngineError::NotImplemented("network connect".into()))
}

/// `docker network disconnect`: removes the endpoint (and unwires it when running).
pub async fn disconnect(
    engine: &Arc<Engine>,
    container: &Arc<Container>,
    network: &str,
    force: bool,
) -> Result<()> {
    let _ = (engine, container, network, force);
    Err(crate::error::EngineError::NotImplemented("network disconnect".into()))
}
