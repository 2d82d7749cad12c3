//! [`NetworkManager`]: the engine's one entry point — networks, endpoints, DNS, reconcile.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use ipnet::Ipv4Net;
use tokio::sync::Mutex;

use crate::dns::{container_resolv_conf, host_nameservers, DnsRecords, DnsServer, ResolvConf};
use crate::error::{NetError, Result};
use crate::ipam::{self, AddressPool};
use crate::nat::{self, Nft};
use crate::netlink::{self, ContainerIface, Netlink};
use crate::ports::{self, PortMapping};
use crate::state::{EndpointState, NetworkState, StateDir};

mod reconcile;
pub use reconcile::ReconcileReport;

/// Where and under which name a manager keeps its things.
#[derive(Debug, Clone)]
pub struct Config {
    /// Directory of persisted state (`/var/lib/berth/network`).
    pub state_dir: PathBuf,
    /// Ownership tag: the nftables table name and the alias set on every bridge and host veth.
    /// `berth` for the daemon; tests use unique names so they cannot touch each other's things.
    pub instance: String,
    /// The host's resolv.conf, read for forwarding and for default-bridge containers.
    pub resolv_conf: PathBuf,
    /// Start an embedded DNS server for each user-defined network.
    pub dns: bool,
    /// The port embedded DNS servers listen on (53; tests may choose another).
    pub dns_port: u16,
}

impl Config {
    /// The daemon's defaults under `state_dir`.
    pub fn new(state_dir: PathBuf) -> Self {
        Self {
            state_dir,
            instance: "berth".to_string(),
            resolv_conf: PathBuf::from("/etc/resolv.conf"),
            dns: true,
            dns_port: 53,
        }
    }
}

/// What to create (`docker network create`, or the default bridge at daemon start).
#[derive(Debug, Clone, Default)]
pub struct CreateNetwork {
    /// Unique id (Docker uses 64 hex characters; the bridge is `br-<first 12>`).
    pub id: String,
    /// Unique name.
    pub name: String,
    /// `--subnet`; None picks a free pool.
    pub subnet: Option<Ipv4Net>,
    /// `--gateway`; None takes the subnet's first host.
    pub gateway: Option<Ipv4Addr>,
    /// `--ip-range`.
    pub ip_range: Option<Ipv4Net>,
    /// The bridge name; None means `berth0` for the default bridge, `br-<id12>` otherwise.
    pub bridge: Option<String>,
    /// The default `bridge` network: 172.17.0.0/16 when free, no embedded DNS.
    pub default_bridge: bool,
}

/// Attaching a container to a network (`docker run --network`, `docker network connect`).
#[derive(Debug, Clone)]
pub struct Connect {
    /// The container id.
    pub container_id: String,
    /// The container name (resolvable on user networks).
    pub name: String,
    /// Network id or name.
    pub network: String,
    /// The container's network namespace: `/proc/<pid>/ns/net` or a bind-mounted netns file.
    pub netns: PathBuf,
    /// Interface name inside the container (`eth0`, `eth1`, ...).
    pub ifname: String,
    /// `--network-alias` names.
    pub aliases: Vec<String>,
    /// `--ip`; None allocates.
    pub ip: Option<Ipv4Addr>,
    /// `-p` mappings; host port 0 picks an ephemeral one (`-P`).
    pub ports: Vec<PortMapping>,
    /// Install the default route via this network's gateway (true for the first network).
    pub default_route: bool,
}

struct Inner {
    networks: BTreeMap<String, NetworkState>,
    dns: HashMap<String, DnsServer>,
}

/// Owns bridges, veths, NAT rules, IPAM and embedded DNS for one daemon.
pub struct NetworkManager {
    cfg: Config,
    store: StateDir,
    nl: Netlink,
    nft: Nft,
    records: DnsRecords,
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for NetworkManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetworkManager")
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

/// A stable short hash, for interface names derived from ids (FNV-1a).
fn fnv(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for part in parts {
        for b in part.bytes().chain([0]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100000001b3);
        }
    }
    h
}

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

impl NetworkManager {
    /// Loads the persisted networks. Touches nothing on the host: call [`Self::reconcile`] to
    /// bring the host in line (at daemon start). Must run within a tokio runtime.
    pub async fn open(cfg: Config) -> Result<Self> {
        let store = StateDir::open(&cfg.state_dir)?;
        let networks = store
            .load_all()?
            .into_iter()
            .map(|n| (n.id.clone(), n))
            .collect();
        let records = DnsRecords::new();
        let nft = Nft::new(&cfg.instance);
        Ok(Self {
            store,
            nl: Netlink::new()?,
            nft,
            records,
            inner: Mutex::new(Inner {
                networks,
                dns: HashMap::new(),
            }),
            cfg,
        })
    }

    /// The shared DNS name table (read-only use by the engine, e.g. for inspect).
    pub fn records(&self) -> &DnsRecords {
        &self.records
    }

    /// Every network, sorted by name.
    pub async fn networks(&self) -> Vec<NetworkState> {
        let inner = self.inner.lock().await;
        let mut nets: Vec<_> = inner.networks.values().cloned().collect();
        nets.sort_by(|a, b| a.name.cmp(&b.name));
        nets
    }

    /// A network by id, id prefix or name.
    pub async fn network(&self, id_or_name: &str) -> Result<NetworkState> {
        let inner = self.inner.lock().await;
        find(&inner.networks, id_or_name).cloned()
    }

    /// Creates the bridge, its NAT rules and DNS server, and persists the network.
    pub async fn create_network(&self, req: CreateNetwork) -> Result<NetworkState> {
        let mut inner = self.inner.lock().await;
        if inner
            .networks
            .values()
            .any(|n| n.name == req.name || n.id == req.id)
        {
            return Err(NetError::NetworkExists(req.name));
        }
        let routes: Vec<Ipv4Net> = self
            .nl
            .host_routes()
            .await?
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        let mut taken: Vec<(Ipv4Net, String)> = inner
            .networks
            .values()
            .map(|n| (n.pool.subnet, format!("network {}", n.name)))
            .collect();
        taken.extend(routes.iter().map(|r| (*r, format!("host route {r}"))));
        let subnet = match (req.subnet, req.default_bridge) {
            (Some(s), _) => {
                if let Some((_, other)) = taken.iter().find(|(t, _)| ipam::overlaps(&s.trunc(), t))
                {
                    return Err(NetError::PoolOverlap {
                        subnet: s,
                        other: other.clone(),
                    });
                }
                s
            }
            (None, default) => {
                let pools = if default {
                    let mut p = vec![ipam::DEFAULT_BRIDGE_SUBNET.parse().unwrap_or_default()];
                    p.extend(ipam::default_pools());
                    p
                } else {
                    ipam::default_pools()
                };
                let nets: Vec<Ipv4Net> = taken.iter().map(|(t, _)| *t).collect();
                ipam::pick_pool(&pools, &nets)?
            }
        };
        let pool = AddressPool::new(&req.name, subnet, req.gateway, req.ip_range)?;
        let bridge = req.bridge.clone().unwrap_or_else(|| {
            if req.default_bridge {
                "berth0".to_string()
            } else {
                format!("br-{}", short(&req.id))
            }
        });
        let net = NetworkState {
            id: req.id.clone(),
            name: req.name.clone(),
            bridge,
            default_bridge: req.default_bridge,
            pool,
            endpoints: BTreeMap::new(),
        };
        if let Err(e) = self.install_network(&mut inner, &net).await {
            let _ = self.uninstall_network(&mut inner, &net).await;
            return Err(e);
        }
        if let Err(e) = self.store.save(&net) {
            let _ = self.uninstall_network(&mut inner, &net).await;
            return Err(e);
        }
        inner.networks.insert(net.id.clone(), net.clone());
        Ok(net)
    }

    /// Bridge up with its gateway, sysctls, NAT rules, DNS server; each step idempotent.
    async fn install_network(&self, inner: &mut Inner, net: &NetworkState) -> Result<()> {
        let gw = Ipv4Net::new(net.pool.gateway, net.pool.subnet.prefix_len()).unwrap_or_default();
        self.nl
            .ensure_bridge(
                &net.bridge,
                &self.cfg.instance,
                gw,
                ipam::mac_from_ip(net.pool.gateway),
            )
            .await?;
        netlink::write_sysctl("net/ipv4/ip_forward", "1")?;
        netlink::write_sysctl(&format!("net/ipv4/conf/{}/route_localnet", net.bridge), "1")?;
        self.nft.ensure_table()?;
        let wanted = nat::network_rules(&net.id, net.pool.subnet, &net.bridge);
        let installed = self.nft.list()?;
        let missing: Vec<_> = wanted
            .into_iter()
            .filter(|w| !installed.iter().any(|r| r.tag.as_ref() == Some(&w.tag)))
            .collect();
        self.nft.add(&missing)?;
        if self.cfg.dns && !net.default_bridge && !inner.dns.contains_key(&net.id) {
            let host = ResolvConf::read(&self.cfg.resolv_conf).unwrap_or_default();
            let addr = SocketAddr::new(IpAddr::V4(net.pool.gateway), self.cfg.dns_port);
            let server =
                DnsServer::start(addr, &net.id, self.records.clone(), host_nameservers(&host))
                    .await?;
            inner.dns.insert(net.id.clone(), server);
        }
        for ep in net.endpoints.values() {
            self.records
                .add(&net.id, &ep.container_id, &dns_names(ep), ep.ip);
        }
        Ok(())
    }

    async fn uninstall_network(&self, inner: &mut Inner, net: &NetworkState) -> Result<()> {
        inner.dns.remove(&net.id);
        self.records.remove_network(&net.id);
        self.nft.delete_tagged(&nat::network_tag(&net.id))?;
        self.nl.delete_link(&net.bridge).await
    }

    /// Removes a network with no containers attached: DNS, rules, bridge, state.
    pub async fn remove_network(&self, id_or_name: &str) -> Result<()> {
        let mut inner = self.inner.lock().await;
        let net = find(&inner.networks, id_or_name)?.clone();
        if !net.endpoints.is_empty() {
            return Err(NetError::NetworkInUse {
                network: net.name.clone(),
                containers: net.endpoints.keys().cloned().collect::<Vec<_>>().join(", "),
            });
        }
        self.uninstall_network(&mut inner, &net).await?;
        self.store.remove(&net.id)?;
        inner.networks.remove(&net.id);
        Ok(())
    }

    /// Attaches a container: address, veth into its namespace, port rules, DNS names.
    pub async fn connect(&self, req: Connect) -> Result<EndpointState> {
        let mut inner = self.inner.lock().await;
        let net_id = find(&inner.networks, &req.network)?.id.clone();
        let taken_ports: Vec<PortMapping> = inner
            .networks
            .values()
            .flat_map(|n| n.endpoints.values().flat_map(|e| e.ports.iter().copied()))
            .collect();
        let net = inner
            .networks
            .get_mut(&net_id)
            .ok_or_else(|| NetError::NetworkNotFound(req.network.clone()))?;
        if net.endpoints.contains_key(&req.container_id) {
            return Err(NetError::EndpointExists {
                container: req.container_id,
                network: net.name.clone(),
            });
        }
        let ports = resolve_ports(&req.ports, &taken_ports)?;
        let mut pool = net.pool.clone();
        let ip = match req.ip {
            Some(ip) => pool.allocate_specific(&net.name, ip)?,
            None => pool.allocate(&net.name)?,
        };
        let hash = format!("{:016x}", fnv(&[&req.container_id, &net.id]));
        let ep = EndpointState {
            container_id: req.container_id.clone(),
            name: req.name.clone(),
            aliases: req.aliases.clone(),
            ip,
            mac: ipam::format_mac(&ipam::mac_from_ip(ip)),
            host_veth: format!("vb{}", &hash[..11]),
            netns: req.netns.clone(),
            ports,
            ifname: req.ifname.clone(),
            default_route: req.default_route,
        };
        let gateway = req.default_route.then_some(net.pool.gateway);
        if let Err(e) = self.plumb_endpoint(net, &ep, &ep.ifname, gateway).await {
            let _ = self.nl.delete_link(&ep.host_veth).await;
            let _ = self
                .nft
                .delete_tagged(&nat::endpoint_tag(&ep.container_id, &net.id));
            return Err(e);
        }
        let mut updated = net.clone();
        updated.pool = pool;
        updated
            .endpoints
            .insert(ep.container_id.clone(), ep.clone());
        if let Err(e) = self.store.save(&updated) {
            let _ = self.nl.delete_link(&ep.host_veth).await;
            let _ = self
                .nft
                .delete_tagged(&nat::endpoint_tag(&ep.container_id, &net.id));
            return Err(e);
        }
        if !updated.default_bridge {
            self.records
                .add(&updated.id, &ep.container_id, &dns_names(&ep), ep.ip);
        }
        *net = updated;
        Ok(ep)
    }

    async fn plumb_endpoint(
        &self,
        net: &NetworkState,
        ep: &EndpointState,
        ifname: &str,
        gateway: Option<Ipv4Addr>,
    ) -> Result<()> {
        let bridge = self
            .nl
            .link(&net.bridge)
            .await?
            .ok_or_else(|| NetError::InterfaceNotFound(net.bridge.clone()))?;
        let peer = format!("vp{}", &ep.host_veth[2..]);
        self.nl
            .create_veth(
                &ep.host_veth,
                &peer,
                &self.cfg.instance,
                bridge.index,
                &ep.netns,
            )
            .await?;
        let iface = ContainerIface {
            temp_name: peer,
            name: ifname.to_string(),
            mac: ipam::mac_from_ip(ep.ip),
            addr: Ipv4Net::new(ep.ip, net.pool.subnet.prefix_len()).unwrap_or_default(),
            gateway,
        };
        netlink::configure_container_iface(&ep.netns, iface).await?;
        if ep.ports.is_empty() {
            return Ok(());
        }
        // Re-plumbing (reconcile) must not duplicate the rules that survived.
        self.nft
            .delete_tagged(&nat::endpoint_tag(&ep.container_id, &net.id))?;
        self.nft.add(&nat::port_rules(
            &ep.container_id,
            &net.id,
            ep.ip,
            &ep.ports,
        ))
    }

    /// Detaches a container: port rules, veth, address and DNS names go.
    pub async fn disconnect(&self, container_id: &str, network: &str) -> Result<()> {
        self.detach(container_id, network, true).await
    }

    /// Detaches a container whose process has exited from every network: its namespace
    /// is gone and the kernel removes the veth pair with it, so the host end is deleted in
    /// the background, only in case (unregistering a link waits an RCU grace period, 15 ms
    /// that an exiting container's `--rm` or restart should not wait for).
    pub async fn release_exited(&self, container_id: &str) -> Result<()> {
        for id in self.networks_of(container_id).await {
            self.detach(container_id, &id, false).await?;
        }
        Ok(())
    }

    async fn networks_of(&self, container_id: &str) -> Vec<String> {
        let inner = self.inner.lock().await;
        inner
            .networks
            .values()
            .filter(|n| n.endpoints.contains_key(container_id))
            .map(|n| n.id.clone())
            .collect()
    }

    async fn detach(&self, container_id: &str, network: &str, wait_for_link: bool) -> Result<()> {
        let mut inner = self.inner.lock().await;
        let net_id = find(&inner.networks, network)?.id.clone();
        let net = inner
            .networks
            .get_mut(&net_id)
            .ok_or_else(|| NetError::NetworkNotFound(network.to_string()))?;
        let ep =
            net.endpoints
                .get(container_id)
                .cloned()
                .ok_or_else(|| NetError::EndpointNotFound {
                    container: container_id.to_string(),
                    network: net.name.clone(),
                })?;
        if !ep.ports.is_empty() {
            self.nft
                .delete_tagged(&nat::endpoint_tag(container_id, &net.id))?;
        }
        if wait_for_link {
            self.nl.delete_link(&ep.host_veth).await?;
        } else {
            let nl = self.nl.clone();
            let veth = ep.host_veth.clone();
            tokio::spawn(async move {
                let _ = nl.delete_link(&veth).await;
            });
        }
        self.records.remove(&net.id, container_id);
        let mut updated = net.clone();
        updated.endpoints.remove(container_id);
        updated.pool.release(ep.ip);
        self.store.save(&updated)?;
        *net = updated;
        Ok(())
    }

    /// Detaches a container from every network it is on (container removal).
    pub async fn disconnect_all(&self, container_id: &str) -> Result<()> {
        for id in self.networks_of(container_id).await {
            self.disconnect(container_id, &id).await?;
        }
        Ok(())
    }

    /// The resolv.conf content for a container whose first network is `network`.
    pub async fn resolv_conf(&self, network: &str) -> Result<String> {
        let net = self.network(network).await?;
        let host = ResolvConf::read(&self.cfg.resolv_conf).unwrap_or_default();
        let embedded =
            (self.cfg.dns && !net.default_bridge).then_some(IpAddr::V4(net.pool.gateway));
        Ok(container_resolv_conf(&host, embedded))
    }
}

/// Names a container answers to on a user network: its name, aliases and short id.
fn dns_names(ep: &EndpointState) -> Vec<String> {
    let mut names = vec![ep.name.clone(), short(&ep.container_id).to_string()];
    names.extend(ep.aliases.iter().cloned());
    names
}

fn find<'a>(
    networks: &'a BTreeMap<String, NetworkState>,
    id_or_name: &str,
) -> Result<&'a NetworkState> {
    networks
        .get(id_or_name)
        .or_else(|| networks.values().find(|n| n.name == id_or_name))
        .or_else(|| {
            let mut prefixed = networks.values().filter(|n| n.id.starts_with(id_or_name));
            match (prefixed.next(), prefixed.next()) {
                (Some(n), None) if !id_or_name.is_empty() => Some(n),
                _ => None,
            }
        })
        .ok_or_else(|| NetError::NetworkNotFound(id_or_name.to_string()))
}

/// Checks requested ports against those taken and picks ephemeral ones for host port 0.
fn resolve_ports(requested: &[PortMapping], taken: &[PortMapping]) -> Result<Vec<PortMapping>> {
    let mut taken = taken.to_vec();
    let mut out = Vec::new();
    for p in requested {
        let mut p = *p;
        if p.host_port == 0 {
            p.host_port = ports::pick_ephemeral(&p, &taken)?;
        } else {
            ports::check_free(&p, &taken)?;
        }
        taken.push(p);
        out.push(p);
    }
    Ok(out)
}
