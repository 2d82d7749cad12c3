//! Containers and networks: wiring a started container into its networks, and `network
//! connect`/`disconnect` of a container at any time.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::Arc;

use berth_client::types::networks::EndpointSettings;
use berth_net::{Connect, PortMapping, Protocol};

use super::files::{self, Files};
use super::{Container, Record};
use crate::engine::Engine;
use crate::error::{EngineError, Result};

/// The name of the default bridge network.
pub const DEFAULT_BRIDGE: &str = "bridge";

/// The default bridge's gateway (what `host-gateway` in `--add-host` means).
pub async fn host_gateway(engine: &Engine) -> Option<Ipv4Addr> {
    engine
        .networks()
        .network(DEFAULT_BRIDGE)
        .await
        .ok()
        .map(|n| n.pool.gateway)
}

/// The container's resolv.conf: the embedded DNS on user networks, the host's servers on
/// the default bridge, with `--dns*` applied.
pub async fn resolv_conf(engine: &Engine, record: &Record, mode: &str) -> Result<String> {
    let host = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let base = match mode {
        "host" => host,
        "none" => files::bridge_resolv_conf(&host),
        m if m.starts_with("container:") => files::bridge_resolv_conf(&host),
        network => match engine.networks().resolv_conf(network).await {
            Ok(text) => text,
            Err(_) => files::bridge_resolv_conf(&host),
        },
    };
    let h = &record.host_config;
    Ok(files::override_resolv_conf(
        &base,
        h.dns.as_deref().unwrap_or_default(),
        h.dns_search.as_deref().unwrap_or_default(),
        h.dns_options.as_deref().unwrap_or_default(),
    ))
}

/// The ports to publish: `-p` bindings and, with `-P`, every exposed port on an ephemeral
/// host port.
fn published_ports(record: &Record) -> Result<Vec<PortMapping>> {
    let mut out = Vec::new();
    let bindings = record.host_config.port_bindings.clone().unwrap_or_default();
    let mut parse = |port: &str, host_ip: Option<&str>, host_port: Option<&str>| -> Result<()> {
        let (number, proto) = port.split_once('/').unwrap_or((port, "tcp"));
        let protocol = match proto {
            "tcp" => Protocol::Tcp,
            "udp" => Protocol::Udp,
            other => {
                return Err(EngineError::Invalid(format!(
                    "publishing {other} ports is not supported by berth"
                )))
            }
        };
        let container_port: u16 = number
            .parse()
            .map_err(|_| EngineError::Invalid(format!("invalid port `{port}`")))?;
        let host_ip = match host_ip.filter(|ip| !ip.is_empty()) {
            None => Ipv4Addr::UNSPECIFIED,
            Some(ip) => match ip.parse::<Ipv4Addr>() {
                Ok(ip) => ip,
                // IPv6 bindings: berth publishes IPv4 only.
                Err(_) if ip.contains(':') => return Ok(()),
                Err(_) => return Err(EngineError::Invalid(format!("invalid host IP `{ip}`"))),
            },
        };
        let host_port = match host_port.filter(|p| !p.is_empty()) {
            None => 0,
            // A range: the first port of it.
            Some(p) => p
                .split('-')
                .next()
                .and_then(|p| p.parse().ok())
                .ok_or_else(|| EngineError::Invalid(format!("invalid host port `{p}`")))?,
        };
        out.push(PortMapping {
            host_ip,
            host_port,
            container_port,
            protocol,
        });
        Ok(())
    };
    for (port, list) in &bindings {
        match list {
            Some(list) if !list.is_empty() => {
                for b in list {
                    parse(port, b.host_ip.as_deref(), b.host_port.as_deref())?;
                }
            }
            _ => parse(port, None, None)?,
        }
    }
    if record.host_config.publish_all_ports.unwrap_or(false) {
        for port in record.config.exposed_ports.iter().flatten().map(|(k, _)| k) {
            let port = super::view::normalise_port(port);
            if !bindings.contains_key(&port) {
                parse(&port, None, None)?;
            }
        }
    }
    Ok(out)
}

/// The endpoint id Docker shows for a container on a network: derived, so that network
/// and container inspect agree without storing it.
pub fn endpoint_id(container_id: &str, network_id: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(format!("{container_id}/{network_id}")))
}

/// Joins one network; returns the endpoint settings as inspect shows them.
async fn join(
    engine: &Engine,
    record: &Record,
    pid: i32,
    network: &str,
    settings: &EndpointSettings,
    index: usize,
    ports: Vec<PortMapping>,
) -> Result<(EndpointSettings, Vec<PortMapping>)> {
    let net = engine.networks().network(network).await?;
    let ip = match settings
        .ipam_config
        .as_ref()
        .and_then(|c| c.ipv4_address.as_deref())
        .filter(|s| !s.is_empty())
    {
        Some(text) => Some(
            text.parse::<Ipv4Addr>()
                .map_err(|_| EngineError::Invalid(format!("invalid IPv4 address `{text}`")))?,
        ),
        None => None,
    };
    let mut aliases = settings.aliases.clone().unwrap_or_default();
    if net.default_bridge && !aliases.is_empty() {
        return Err(EngineError::Invalid(
            "network-scoped alias is supported only for containers in user defined networks".into(),
        ));
    }
    aliases.dedup();
    let endpoint = engine
        .networks()
        .connect(Connect {
            container_id: record.id.clone(),
            name: record.name.clone(),
            network: net.id.clone(),
            netns: PathBuf::from(format!("/proc/{pid}/ns/net")),
            ifname: format!("eth{index}"),
            aliases: aliases.clone(),
            ip,
            ports,
            default_route: index == 0,
        })
        .await?;
    let mut out = settings.clone();
    out.network_id = Some(net.id.clone());
    out.endpoint_id = Some(endpoint_id(&record.id, &net.id));
    out.ip_address = Some(endpoint.ip.to_string());
    out.ip_prefix_len = Some(i64::from(net.pool.subnet.prefix_len()));
    out.gateway = Some(net.pool.gateway.to_string());
    out.mac_address = Some(endpoint.mac.clone());
    if !net.default_bridge {
        let mut names = vec![record.name.clone(), record.id[..12].to_string()];
        names.extend(aliases);
        out.dns_names = Some(names);
    }
    Ok((out, endpoint.ports.clone()))
}

/// Wires a just-created container (init pid `pid`, waiting for start) into its networks:
/// loopback up, one veth per network, published ports on the first, `/etc/hosts` updated.
pub async fn wire(engine: &Engine, container: &Container, pid: i32, hostname: &str) -> Result<()> {
    let netns = PathBuf::from(format!("/proc/{pid}/ns/net"));
    berth_net::setup_loopback(&netns).await?;
    let record = container.record();
    let mode = super::create::network_mode(&record.host_config);
    if mode == "none" {
        return Ok(());
    }
    let ports = published_ports(&record)?;
    // The network named by the mode first: it gets the default route and the ports.
    let mut order: Vec<(String, EndpointSettings)> = record.networks.clone().into_iter().collect();
    order.sort_by_key(|(name, s)| {
        !(name == &mode || s.network_id.as_deref() == Some(mode.as_str()))
    });
    let mut wired = Vec::new();
    let mut published = Vec::new();
    for (index, (name, settings)) in order.iter().enumerate() {
        let target = settings.network_id.clone().unwrap_or_else(|| name.clone());
        let ports = if index == 0 {
            ports.clone()
        } else {
            Vec::new()
        };
        let (settings, resolved) =
            join(engine, &record, pid, &target, settings, index, ports).await?;
        if index == 0 {
            published = resolved;
        }
        wired.push((name.clone(), settings));
    }
    let own = wired
        .first()
        .and_then(|(_, s)| s.ip_address.as_deref()?.parse::<Ipv4Addr>().ok());
    container.update(|r| {
        for (name, settings) in wired {
            r.networks.insert(name, settings);
        }
        r.ports.clear();
        for p in &published {
            r.ports
                .entry(format!("{}/{}", p.container_port, p.protocol))
                .or_default()
                .push((p.host_ip.to_string(), p.host_port));
        }
    })?;
    if let Some(ip) = own {
        rewrite_hosts(engine, container, ip, hostname).await?;
    }
    Ok(())
}

async fn rewrite_hosts(
    engine: &Engine,
    container: &Container,
    ip: Ipv4Addr,
    hostname: &str,
) -> Result<()> {
    let extra = container.with(|r| r.host_config.extra_hosts.clone().unwrap_or_default());
    let text = files::hosts(
        &extra,
        Some((ip, hostname, &[])),
        host_gateway(engine).await,
    )?;
    files::write_in_place(&Files::of(container.dir()).hosts, &text)
}

/// `docker network connect`: records the endpoint; when the container runs, wires it now.
pub async fn connect(
    engine: &Arc<Engine>,
    container: &Arc<Container>,
    network: &str,
    endpoint: EndpointSettings,
) -> Result<()> {
    let net = engine.networks().network(network).await?;
    let record = container.record();
    let mode = super::create::network_mode(&record.host_config);
    if mode == "host" {
        return Err(EngineError::Conflict(
            "container cannot be disconnected from host network or connected to host network"
                .into(),
        ));
    }
    if mode == "none" || mode.starts_with("container:") {
        return Err(EngineError::Conflict(
            "conflicting options: container sharing network namespace with another container or host cannot be connected to any other network".into(),
        ));
    }
    if record.networks.contains_key(&net.name) {
        return Err(EngineError::Conflict(format!(
            "endpoint with name {} already exists in network {}",
            record.name, net.name
        )));
    }
    let mut settings = endpoint;
    settings.network_id = Some(net.id.clone());
    if record.state.is_running() {
        let index = record.networks.len();
        let (wired, _) = join(
            engine,
            &record,
            record.state.pid as i32,
            &net.id,
            &settings,
            index,
            Vec::new(),
        )
        .await?;
        settings = wired;
    }
    container.update(|r| {
        r.networks.insert(net.name.clone(), settings);
    })?;
    Ok(())
}

/// `docker network disconnect`: removes the endpoint (and unwires it when running).
pub async fn disconnect(
    engine: &Arc<Engine>,
    container: &Arc<Container>,
    network: &str,
    force: bool,
) -> Result<()> {
    let _ = force;
    let net = engine.networks().network(network).await?;
    let record = container.record();
    if !record.networks.contains_key(&net.name) {
        return Err(EngineError::Conflict(format!(
            "container {} is not connected to network {}",
            record.id, net.name
        )));
    }
    if record.state.is_running() {
        engine.networks().disconnect(&record.id, &net.id).await?;
    }
    container.update(|r| {
        r.networks.remove(&net.name);
    })?;
    Ok(())
}
