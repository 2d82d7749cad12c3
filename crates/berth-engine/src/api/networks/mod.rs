//! Routes: networks — list, inspect, create, remove, prune, connect, disconnect.
//!
//! Bridges come from berth-net; `host` and `none` are synthesised ([`view`]); what Docker
//! shows but berth-net does not keep lives in [`meta`].

pub mod meta;
pub mod view;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::Ipv4Addr;
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use berth_client::types::networks::{
    NetworkConnectRequest, NetworkCreateRequest, NetworkDisconnectRequest,
};
use berth_net::{CreateNetwork, NetError};
use hyper::StatusCode;
use ipnet::Ipv4Net;

use self::meta::{MetaStore, NetworkMeta};
use self::view::{Entry, PREDEFINED};
use super::query::{self, Filters};
use super::{json, json_status, parse_body, ApiResult, AppState};
use crate::engine::Engine;
use crate::error::{EngineError, Result};

/// The option naming the Linux bridge (`docker network create -o`).
const BRIDGE_NAME_OPTION: &str = "com.docker.network.bridge.name";

/// The networks routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/networks", get(list))
        .route("/networks/create", post(create))
        .route("/networks/prune", post(prune))
        .route("/networks/{id}", get(inspect).delete(remove))
        .route("/networks/{id}/connect", post(connect))
        .route("/networks/{id}/disconnect", post(disconnect))
}

/// Publishes a network event (`create`, `destroy`, `connect`, `disconnect`); `container`
/// is set for the last two.
pub fn publish(engine: &Engine, action: &str, entry: &Entry, container: Option<&str>) {
    let mut attributes = BTreeMap::from([
        ("name".to_string(), entry.name.clone()),
        ("type".to_string(), entry.driver.to_string()),
    ]);
    if let Some(container) = container {
        attributes.insert("container".to_string(), container.to_string());
    }
    engine
        .events()
        .publish("network", action, &entry.id, attributes);
}

/// `GET /networks`.
async fn list(
    State(engine): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let filters = query::filters(params.get("filters"))?;
    query::check_keys(
        &filters,
        &["dangling", "driver", "id", "label", "name", "scope", "type"],
    )?;
    let dangling = match filters.get("dangling").map(Vec::as_slice) {
        None | Some([]) => None,
        Some([one]) => Some(parse_bool_filter("dangling", one)?),
        Some(_) => {
            return Err(EngineError::Invalid(
                "got more than one value for filter key \"dangling\"".into(),
            )
            .into())
        }
    };
    if let Some(types) = filters.get("type") {
        if let Some(bad) = types
            .iter()
            .find(|t| !matches!(t.as_str(), "custom" | "builtin"))
        {
            return Err(EngineError::Invalid(format!("invalid filter: 'type'='{bad}'")).into());
        }
    }
    let mut out = Vec::new();
    for entry in view::all(&engine).await? {
        if list_matches(&engine, &filters, dangling, &entry) {
            out.push(view::document(&engine, &entry, false));
        }
    }
    Ok(json(&out))
}

fn parse_bool_filter(key: &str, value: &str) -> Result<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(EngineError::Invalid(format!(
            "invalid filter '{key}={value}'"
        ))),
    }
}

fn list_matches(engine: &Engine, filters: &Filters, dangling: Option<bool>, entry: &Entry) -> bool {
    // dockerd matches name and id as unanchored patterns: a substring.
    let contains = |key: &str, value: &str| {
        filters
            .get(key)
            .is_none_or(|wanted| wanted.iter().any(|w| value.contains(w.as_str())))
    };
    let exact = |key: &str, value: &str| {
        filters
            .get(key)
            .is_none_or(|wanted| wanted.iter().any(|w| w == value))
    };
    let kind = if entry.is_predefined() {
        "builtin"
    } else {
        "custom"
    };
    let dangling_ok = dangling.is_none_or(|want| {
        let unused = !entry.is_predefined() && entry.container_ids(engine).is_empty();
        unused == want
    });
    contains("name", &entry.name)
        && contains("id", &entry.id)
        && exact("driver", entry.driver)
        && exact("scope", "local")
        && exact("type", kind)
        && query::labels_match(filters, &entry.meta.labels)
        && dangling_ok
}

/// `GET /networks/{id}`.
async fn inspect(State(engine): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    let entry = view::find(&engine, &id).await?;
    Ok(json(&view::document(&engine, &entry, true)))
}

/// `POST /networks/create`.
async fn create(State(engine): State<AppState>, body: Bytes) -> ApiResult<Response> {
    let request: NetworkCreateRequest = parse_body(&body)?;
    let name = request.name.trim().to_string();
    if name.is_empty() {
        return Err(EngineError::Invalid("network name cannot be empty".into()).into());
    }
    if PREDEFINED.contains(&name.as_str()) {
        return Err(EngineError::Forbidden(format!(
            "{name} is a pre-defined network and cannot be created"
        ))
        .into());
    }
    match request.driver.as_deref().unwrap_or("") {
        "" | "bridge" => {}
        "host" | "null" => {
            let driver = request.driver.as_deref().unwrap_or_default();
            return Err(EngineError::Forbidden(format!(
                "only one instance of \"{driver}\" network is allowed"
            ))
            .into());
        }
        other => return Err(EngineError::NotFound(format!("plugin \"{other}\" not found")).into()),
    }
    if request
        .scope
        .as_deref()
        .is_some_and(|s| !s.is_empty() && s != "local")
    {
        return Err(EngineError::Invalid("berth networks have local scope only".into()).into());
    }
    if request.ingress == Some(true) {
        return Err(EngineError::Forbidden("ingress networks need swarm mode".into()).into());
    }
    if request.enable_ipv6 == Some(true) {
        return Err(EngineError::Invalid("IPv6 networks are not supported by berth".into()).into());
    }
    if view::all(&engine).await?.iter().any(|e| e.name == name) {
        return Err(duplicate(&name).into());
    }
    let ipam = request.ipam.clone().unwrap_or_default();
    if let Some(driver) = ipam
        .driver
        .as_deref()
        .filter(|d| !d.is_empty() && *d != "default")
    {
        return Err(EngineError::NotFound(format!("plugin \"{driver}\" not found")).into());
    }
    let (subnet, gateway, ip_range) = address_plan(&ipam.config.unwrap_or_default())?;
    let options = request.options.clone().unwrap_or_default();
    let bridge = options.get(BRIDGE_NAME_OPTION).cloned();
    if let Some(bridge) = &bridge {
        if bridge.is_empty() || bridge.len() > 15 || bridge.contains(['/', ' ']) {
            return Err(EngineError::Invalid(format!("invalid bridge name `{bridge}`")).into());
        }
    }
    let mut id_bytes = [0u8; 32];
    rand::Rng::fill(&mut rand::rng(), &mut id_bytes);
    let id = hex::encode(id_bytes);
    let meta = NetworkMeta {
        created: humantime::format_rfc3339_nanos(SystemTime::now()).to_string(),
        labels: request.labels.clone().unwrap_or_default(),
        options,
        ipam_options: ipam.options.clone().unwrap_or_default(),
        internal: request.internal.unwrap_or(false),
        attachable: request.attachable.unwrap_or(false),
    };
    let metas = MetaStore::new(&engine.config().data_root);
    // Settings first: a network never shows up without them.
    metas.save(&id, &meta)?;
    let created = engine
        .networks()
        .create_network(CreateNetwork {
            id: id.clone(),
            name: name.clone(),
            subnet,
            gateway,
            ip_range,
            bridge,
            default_bridge: false,
        })
        .await;
    let state = match created {
        Ok(state) => state,
        Err(e) => {
            let _ = metas.remove(&id);
            return Err(match e {
                NetError::NetworkExists(_) => duplicate(&name),
                other => other.into(),
            }
            .into());
        }
    };
    let entry = Entry {
        id: id.clone(),
        name,
        driver: "bridge",
        state: Some(state),
        meta,
    };
    publish(&engine, "create", &entry, None);
    Ok(json_status(
        StatusCode::CREATED,
        &serde_json::json!({ "Id": id, "Warning": "" }),
    ))
}

fn duplicate(name: &str) -> EngineError {
    EngineError::Conflict(format!("network with name {name} already exists"))
}

/// The IPv4 subnet, gateway and range of an IPAM configuration (at most one pool).
fn address_plan(
    configs: &[berth_client::types::networks::IpamConfig],
) -> Result<(Option<Ipv4Net>, Option<Ipv4Addr>, Option<Ipv4Net>)> {
    let cidr = |text: &str| {
        text.parse::<Ipv4Net>()
            .map_err(|_| EngineError::Invalid(format!("invalid CIDR address: {text}")))
    };
    match configs {
        [] => Ok((None, None, None)),
        [config] => {
            let subnet = config.subnet.as_deref().filter(|s| !s.is_empty());
            if subnet.is_some_and(|s| s.contains(':')) {
                return Err(EngineError::Invalid(
                    "IPv6 networks are not supported by berth".into(),
                ));
            }
            let gateway = config
                .gateway
                .as_deref()
                .filter(|g| !g.is_empty())
                .map(|g| {
                    g.parse::<Ipv4Addr>()
                        .map_err(|_| EngineError::Invalid(format!("invalid gateway address: {g}")))
                })
                .transpose()?;
            let ip_range = config
                .ip_range
                .as_deref()
                .filter(|r| !r.is_empty())
                .map(cidr)
                .transpose()?;
            if subnet.is_none() && (gateway.is_some() || ip_range.is_some()) {
                return Err(EngineError::Invalid(
                    "a gateway or an IP range needs a subnet (--subnet)".into(),
                ));
            }
            Ok((subnet.map(cidr).transpose()?, gateway, ip_range))
        }
        _ => Err(EngineError::Invalid(
            "berth networks take one IPv4 subnet".into(),
        )),
    }
}

/// `DELETE /networks/{id}`.
async fn remove(State(engine): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    let entry = view::find(&engine, &id).await?;
    remove_entry(&engine, &entry).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn remove_entry(engine: &Engine, entry: &Entry) -> Result<()> {
    if entry.is_predefined() {
        return Err(EngineError::Forbidden(format!(
            "{} is a pre-defined network and cannot be removed",
            entry.name
        )));
    }
    match engine.networks().remove_network(&entry.id).await {
        Ok(()) => {}
        Err(NetError::NetworkInUse { .. }) => {
            return Err(EngineError::Forbidden(format!(
                "error while removing network: network {} id {} has active endpoints",
                entry.name, entry.id
            )))
        }
        Err(e) => return Err(e.into()),
    }
    MetaStore::new(&engine.config().data_root).remove(&entry.id)?;
    publish(engine, "destroy", entry, None);
    Ok(())
}

/// `POST /networks/prune`: custom networks no container uses.
async fn prune(
    State(engine): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let filters = query::filters(params.get("filters"))?;
    query::check_keys(&filters, &["until", "label", "label!"])?;
    let until = match filters.get("until").map(Vec::as_slice) {
        None | Some([]) => None,
        Some([one]) => Some(until_nanos(one)?),
        Some(_) => {
            return Err(EngineError::Invalid(
                "got more than one value for filter key \"until\"".into(),
            )
            .into())
        }
    };
    // Networks that containers name, running or not: removing them would break a start.
    let referenced: HashSet<String> = engine
        .containers
        .all()
        .into_iter()
        .flat_map(|c| c.with(|r| r.networks.keys().cloned().collect::<Vec<_>>()))
        .collect();
    let mut deleted = Vec::new();
    for entry in view::all(&engine).await? {
        let Some(state) = &entry.state else { continue };
        let created = query::timestamp(&entry.meta.created).unwrap_or(0);
        if entry.is_predefined()
            || !state.endpoints.is_empty()
            || referenced.contains(&entry.name)
            || referenced.contains(&entry.id)
            || until.is_some_and(|u| created > u)
            || !query::labels_match(&filters, &entry.meta.labels)
            || excluded_by_label(&filters, &entry.meta.labels)
        {
            continue;
        }
        match remove_entry(&engine, &entry).await {
            Ok(()) => deleted.push(entry.name.clone()),
            // Someone attached in between: not unused any more.
            Err(EngineError::Forbidden(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(json(&serde_json::json!({ "NetworksDeleted": deleted })))
}

/// `label!=key` or `label!=key=value`: true if any matches (then the object is kept).
pub fn excluded_by_label(filters: &Filters, labels: &BTreeMap<String, String>) -> bool {
    filters.get("label!").is_some_and(|unwanted| {
        unwanted.iter().any(|w| match w.split_once('=') {
            Some((k, v)) => labels.get(k).is_some_and(|have| have == v),
            None => labels.contains_key(w.as_str()),
        })
    })
}

/// A prune `until`: a timestamp, or a duration before now (`24h`, `10m`).
pub fn until_nanos(text: &str) -> Result<i128> {
    if let Ok(ns) = query::timestamp(text) {
        return Ok(ns);
    }
    let ago = humantime::parse_duration(text)
        .map_err(|_| EngineError::Invalid(format!("invalid filter 'until={text}'")))?;
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0);
    Ok(now - ago.as_nanos() as i128)
}

/// `POST /networks/{id}/connect`.
async fn connect(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let request: NetworkConnectRequest = parse_body(&body)?;
    let entry = view::find(&engine, &id).await?;
    let container = engine.containers.get(&request.container)?;
    crate::container::networking::connect(
        &engine,
        &container,
        &entry.name,
        request.endpoint_config.unwrap_or_default(),
    )
    .await?;
    publish(&engine, "connect", &entry, Some(&container.id));
    Ok(StatusCode::OK.into_response())
}

/// `POST /networks/{id}/disconnect`.
async fn disconnect(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let request: NetworkDisconnectRequest = parse_body(&body)?;
    let entry = view::find(&engine, &id).await?;
    let container = engine.containers.get(&request.container)?;
    crate::container::networking::disconnect(
        &engine,
        &container,
        &entry.name,
        request.force.unwrap_or(false),
    )
    .await?;
    publish(&engine, "disconnect", &entry, Some(&container.id));
    Ok(StatusCode::OK.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_client::types::networks::IpamConfig;

    #[test]
    fn address_plans() {
        let plan = address_plan(&[IpamConfig {
            subnet: Some("10.9.0.0/24".into()),
            gateway: Some("10.9.0.254".into()),
            ip_range: Some("10.9.0.128/25".into()),
            auxiliary_addresses: None,
        }])
        .unwrap();
        assert_eq!(plan.0.unwrap().to_string(), "10.9.0.0/24");
        assert_eq!(plan.1.unwrap().to_string(), "10.9.0.254");
        assert!(address_plan(&[IpamConfig {
            subnet: Some("10.9.0.0/33".into()),
            ..Default::default()
        }])
        .is_err());
        assert!(address_plan(&[IpamConfig {
            gateway: Some("10.9.0.1".into()),
            ..Default::default()
        }])
        .is_err());
        assert!(address_plan(&[IpamConfig::default(), IpamConfig::default()]).is_err());
    }

    #[test]
    fn until_takes_timestamps_and_durations() {
        assert_eq!(until_nanos("10").unwrap(), 10_000_000_000);
        let hour_ago = until_nanos("1h").unwrap();
        let now = until_nanos("0s").unwrap();
        assert!((now - hour_ago - 3_600_000_000_000).abs() < 1_000_000_000);
        assert!(until_nanos("yesterday").is_err());
    }
}
