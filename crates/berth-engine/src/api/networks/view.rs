//! Networks as the API shows them: berth-net's bridges plus the pre-defined `host` and
//! `none`, which need no state of their own, each with its [`NetworkMeta`].

use std::collections::BTreeMap;
use std::time::SystemTime;

use berth_client::types::networks::{Ipam, IpamConfig, Network, NetworkContainer};
use berth_net::state::NetworkState;
use sha2::{Digest, Sha256};

use super::meta::{MetaStore, NetworkMeta};
use crate::container::networking::endpoint_id;
use crate::engine::Engine;
use crate::error::{EngineError, Result};

/// The names Docker reserves: they always exist and cannot be created or removed.
pub const PREDEFINED: [&str; 3] = ["bridge", "host", "none"];

/// One network, whichever kind.
#[derive(Debug, Clone)]
pub struct Entry {
    /// 64 hex characters.
    pub id: String,
    /// The name.
    pub name: String,
    /// `bridge`, `host` or `null`.
    pub driver: &'static str,
    /// berth-net's state, for bridges.
    pub state: Option<NetworkState>,
    /// The API-level settings.
    pub meta: NetworkMeta,
}

impl Entry {
    /// `bridge`, `host`, `none`.
    pub fn is_predefined(&self) -> bool {
        self.state.as_ref().is_some_and(|s| s.default_bridge) || self.state.is_none()
    }

    /// Ids of the containers attached (berth-net endpoints; for `host` and `none`, the
    /// containers whose record names that network).
    pub fn container_ids(&self, engine: &Engine) -> Vec<String> {
        match &self.state {
            Some(state) => state.endpoints.keys().cloned().collect(),
            None => engine
                .containers
                .all()
                .into_iter()
                .filter(|c| c.with(|r| r.state.is_running() && r.networks.contains_key(&self.name)))
                .map(|c| c.id.clone())
                .collect(),
        }
    }
}

/// A stable 64-hex id for `text`.
fn hash_id(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_nanos(time).to_string()
}

/// Every network, sorted by name.
pub async fn all(engine: &Engine) -> Result<Vec<Entry>> {
    let metas = MetaStore::new(&engine.config().data_root);
    let state_dir = engine.config().data_root.join("network").join("networks");
    let mut out = Vec::new();
    for state in engine.networks().networks().await {
        let meta = match metas.load(&state.id)? {
            Some(meta) => meta,
            // Made by the daemon at start, not through the API: its state file tells when.
            None => NetworkMeta {
                created: std::fs::metadata(state_dir.join(format!("{}.json", state.id)))
                    .and_then(|m| m.modified())
                    .map(rfc3339)
                    .unwrap_or_default(),
                ..Default::default()
            },
        };
        out.push(Entry {
            id: state.id.clone(),
            name: state.name.clone(),
            driver: "bridge",
            state: Some(state),
            meta,
        });
    }
    let instance = &engine.config().network_instance;
    for (name, driver) in [("host", "host"), ("none", "null")] {
        let id = hash_id(&format!("{instance}/{name}"));
        let meta = metas.load_or_init(&id, || NetworkMeta {
            created: rfc3339(SystemTime::now()),
            ..Default::default()
        })?;
        out.push(Entry {
            id,
            name: name.to_string(),
            driver,
            state: None,
            meta,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The network named by full id, name, or unique id prefix (Docker's order).
pub async fn find(engine: &Engine, text: &str) -> Result<Entry> {
    let entries = all(engine).await?;
    if let Some(e) = entries.iter().find(|e| e.id == text) {
        return Ok(e.clone());
    }
    if let Some(e) = entries.iter().find(|e| e.name == text) {
        return Ok(e.clone());
    }
    let prefixed: Vec<&Entry> = if text.is_empty() {
        Vec::new()
    } else {
        entries.iter().filter(|e| e.id.starts_with(text)).collect()
    };
    match prefixed.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(EngineError::NotFound(format!("network {text} not found"))),
        many => Err(EngineError::Invalid(format!(
            "network {text} is ambiguous ({} matches found based on ID prefix)",
            many.len()
        ))),
    }
}

/// The `Network` document; `containers` says whether to fill `Containers` (inspect) or
/// leave it empty (list).
pub fn network(engine: &Engine, entry: &Entry, containers: bool) -> Network {
    let mut attached = BTreeMap::new();
    if containers {
        match &entry.state {
            Some(state) => {
                let prefix = state.pool.subnet.prefix_len();
                for ep in state.endpoints.values() {
                    attached.insert(
                        ep.container_id.clone(),
                        NetworkContainer {
                            name: ep.name.clone(),
                            endpoint_id: endpoint_id(&ep.container_id, &entry.id),
                            mac_address: ep.mac.clone(),
                            ipv4_address: format!("{}/{prefix}", ep.ip),
                            ipv6_address: String::new(),
                        },
                    );
                }
            }
            None => {
                for id in entry.container_ids(engine) {
                    let name = engine
                        .containers
                        .get(&id)
                        .map(|c| c.with(|r| r.name.clone()))
                        .unwrap_or_default();
                    attached.insert(
                        id.clone(),
                        NetworkContainer {
                            name,
                            endpoint_id: endpoint_id(&id, &entry.id),
                            ..Default::default()
                        },
                    );
                }
            }
        }
    }
    let ipam_config = entry.state.as_ref().map(|state| {
        vec![IpamConfig {
            subnet: Some(state.pool.subnet.to_string()),
            ip_range: state.pool.ip_range.map(|r| r.to_string()),
            gateway: Some(state.pool.gateway.to_string()),
            auxiliary_addresses: None,
        }]
    });
    let default_bridge = entry.state.as_ref().filter(|s| s.default_bridge);
    let options = match default_bridge {
        // What dockerd shows for docker0, true of berth's default bridge too.
        Some(state) => BTreeMap::from(
            [
                ("com.docker.network.bridge.default_bridge", "true"),
                ("com.docker.network.bridge.enable_icc", "true"),
                ("com.docker.network.bridge.enable_ip_masquerade", "true"),
                ("com.docker.network.bridge.host_binding_ipv4", "0.0.0.0"),
                ("com.docker.network.bridge.name", state.bridge.as_str()),
                ("com.docker.network.driver.mtu", "1500"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string())),
        ),
        None => entry.meta.options.clone(),
    };
    Network {
        name: entry.name.clone(),
        id: entry.id.clone(),
        created: entry.meta.created.clone(),
        scope: "local".to_string(),
        driver: entry.driver.to_string(),
        enable_ipv4: Some(true),
        enable_ipv6: false,
        ipam: Ipam {
            driver: Some("default".to_string()),
            config: Some(ipam_config.unwrap_or_default()),
            options: (!entry.is_predefined()).then(|| entry.meta.ipam_options.clone()),
        },
        internal: entry.meta.internal,
        attachable: entry.meta.attachable,
        ingress: false,
        containers: Some(attached),
        options,
        labels: entry.meta.labels.clone(),
    }
}

/// [`network`] with the fields the typed struct leaves out (`ConfigFrom`, `ConfigOnly`).
pub fn document(engine: &Engine, entry: &Entry, containers: bool) -> serde_json::Value {
    let mut value =
        serde_json::to_value(network(engine, entry, containers)).unwrap_or(serde_json::Value::Null);
    if let serde_json::Value::Object(map) = &mut value {
        map.insert("ConfigFrom".into(), serde_json::json!({ "Network": "" }));
        map.insert("ConfigOnly".into(), false.into());
    }
    value
}
