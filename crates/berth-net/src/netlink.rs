//! Links, addresses and routes over rtnetlink, in the host's namespace or inside a container's.
//!
//! A netlink socket talks to the namespace it was created in, so work inside a container's
//! namespace runs on a fresh OS thread that `setns`es first and opens its own socket there
//! (never on a pooled thread, which would stay in the wrong namespace).

use std::fs::File;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use futures_util::TryStreamExt;
use ipnet::Ipv4Net;
use netlink_packet_route::link::{LinkAttribute, LinkMessage};
use netlink_packet_route::route::{RouteAddress, RouteAttribute};
use rtnetlink::{Handle, LinkBridge, LinkUnspec, LinkVeth, RouteMessageBuilder};

use crate::error::{NetError, Result};

/// Wraps an rtnetlink failure with what was being done to which interface.
pub(crate) fn nl_err(action: &str, interface: &str) -> impl FnOnce(rtnetlink::Error) -> NetError {
    let (action, interface) = (action.to_string(), interface.to_string());
    move |source| NetError::Netlink {
        action,
        interface,
        source,
    }
}

/// The errno of a kernel-refused request, if that is what the error is.
fn errno(e: &rtnetlink::Error) -> Option<i32> {
    match e {
        rtnetlink::Error::NetlinkError(msg) => Some(msg.raw_code().abs()),
        _ => None,
    }
}

/// A link as listed from the kernel.
#[derive(Debug, Clone)]
pub struct LinkInfo {
    /// The interface index.
    pub index: u32,
    /// The interface name.
    pub name: String,
    /// The interface alias (`ip link set X alias Y`), which berth uses as its ownership tag.
    pub alias: Option<String>,
}

/// A netlink connection in the current (host) namespace.
#[derive(Debug, Clone)]
pub struct Netlink {
    handle: Handle,
}

fn link_info(msg: &LinkMessage) -> LinkInfo {
    let mut info = LinkInfo {
        index: msg.header.index,
        name: String::new(),
        alias: None,
    };
    for attr in &msg.attributes {
        match attr {
            LinkAttribute::IfName(n) => info.name = n.clone(),
            LinkAttribute::IfAlias(a) => info.alias = Some(a.clone()),
            _ => {}
        }
    }
    info
}

impl Netlink {
    /// Opens a connection; its driver runs on the current tokio runtime.
    pub fn new() -> Result<Self> {
        let (conn, handle, _) = rtnetlink::new_connection().map_err(|source| NetError::Netns {
            path: PathBuf::from("/proc/self/ns/net"),
            action: "open a netlink socket in",
            source,
        })?;
        tokio::spawn(conn);
        Ok(Self { handle })
    }

    fn from_handle(handle: Handle) -> Self {
        Self { handle }
    }

    /// The link called `name`, if any.
    pub async fn link(&self, name: &str) -> Result<Option<LinkInfo>> {
        let mut links = self
            .handle
            .link()
            .get()
            .match_name(name.to_string())
            .execute();
        match links.try_next().await {
            Ok(Some(msg)) => Ok(Some(link_info(&msg))),
            Ok(None) => Ok(None),
            Err(e) if errno(&e) == Some(libc::ENODEV) => Ok(None),
            Err(e) => Err(nl_err("look up", name)(e)),
        }
    }

    async fn index(&self, name: &str) -> Result<u32> {
        self.link(name)
            .await?
            .map(|l| l.index)
            .ok_or_else(|| NetError::InterfaceNotFound(name.to_string()))
    }

    /// Every link of the namespace.
    pub async fn links(&self) -> Result<Vec<LinkInfo>> {
        let msgs: Vec<LinkMessage> = self
            .handle
            .link()
            .get()
            .execute()
            .try_collect()
            .await
            .map_err(nl_err("list", "links"))?;
        Ok(msgs.iter().map(link_info).collect())
    }

    /// Creates (or adopts) a bridge tagged with `alias`, gives it `gateway/prefix` and sets it up.
    ///
    /// The bridge gets a fixed MAC: otherwise it takes the lowest MAC of its ports and changes
    /// it when that port leaves, and the other containers' ARP entries for the gateway go stale
    /// for seconds.
    pub async fn ensure_bridge(
        &self,
        name: &str,
        alias: &str,
        gateway: Ipv4Net,
        mac: [u8; 6],
    ) -> Result<u32> {
        if self.link(name).await?.is_none() {
            let msg = LinkBridge::new(name).address(mac.to_vec()).build();
            match self.handle.link().add(msg).execute().await {
                Err(e) if errno(&e) != Some(libc::EEXIST) => {
                    return Err(nl_err("create bridge", name)(e))
                }
                _ => {}
            }
        }
        let index = self.index(name).await?;
        self.set_alias(index, name, alias).await?;
        self.add_address(index, name, gateway).await?;
        self.set_up(index, name).await?;
        Ok(index)
    }

    /// Adds an address, accepting one that is already there.
    pub async fn add_address(&self, index: u32, name: &str, addr: Ipv4Net) -> Result<()> {
        match self
            .handle
            .address()
            .add(index, IpAddr::V4(addr.addr()), addr.prefix_len())
            .execute()
            .await
        {
            Err(e) if errno(&e) != Some(libc::EEXIST) => {
                Err(nl_err(&format!("add address {addr} to"), name)(e))
            }
            _ => Ok(()),
        }
    }

    /// Tags a link with an alias (the kernel ignores IFLA_IFALIAS when creating a link, so
    /// this is a separate request).
    pub async fn set_alias(&self, index: u32, name: &str, alias: &str) -> Result<()> {
        self.handle
            .link()
            .set(
                LinkUnspec::new_with_index(index)
                    .append_extra_attribute(LinkAttribute::IfAlias(alias.to_string()))
                    .build(),
            )
            .execute()
            .await
            .map_err(nl_err("set the alias of", name))
    }

    /// Sets a link up.
    pub async fn set_up(&self, index: u32, name: &str) -> Result<()> {
        self.handle
            .link()
            .set(LinkUnspec::new_with_index(index).up().build())
            .execute()
            .await
            .map_err(nl_err("set up", name))
    }

    /// Deletes a link; a missing one is not an error (deleting either veth end removes both).
    pub async fn delete_link(&self, name: &str) -> Result<()> {
        let Some(link) = self.link(name).await? else {
            return Ok(());
        };
        let mut links = self.handle.link();
        match links.del(link.index).execute().await {
            Err(e) if errno(&e) != Some(libc::ENODEV) => Err(nl_err("delete", name)(e)),
            _ => Ok(()),
        }
    }

    /// IPv4 routes of the main table with a non-default destination, for overlap checks.
    pub async fn host_routes(&self) -> Result<Vec<(Ipv4Net, u32)>> {
        let query = RouteMessageBuilder::<Ipv4Addr>::new().build();
        let routes: Vec<_> = self
            .handle
            .route()
            .get(query)
            .execute()
            .try_collect()
            .await
            .map_err(nl_err("list", "routes"))?;
        let mut out = Vec::new();
        for route in routes {
            let prefix = route.header.destination_prefix_length;
            if prefix == 0 || route.header.table != 254 {
                continue;
            }
            let mut dst = None;
            let mut oif = 0;
            for attr in &route.attributes {
                match attr {
                    RouteAttribute::Destination(RouteAddress::Inet(a)) => dst = Some(*a),
                    RouteAttribute::Oif(i) => oif = *i,
                    _ => {}
                }
            }
            if let Some(net) = dst.and_then(|a| Ipv4Net::new(a, prefix).ok()) {
                out.push((net, oif));
            }
        }
        Ok(out)
    }

    /// Creates a veth pair: `host` tagged and enslaved to the bridge, up; `peer` moved into the
    /// namespace at `netns`.
    pub async fn create_veth(
        &self,
        host: &str,
        peer: &str,
        alias: &str,
        bridge: u32,
        netns: &Path,
    ) -> Result<()> {
        let ns = File::open(netns).map_err(|source| NetError::Netns {
            path: netns.to_path_buf(),
            action: "open",
            source,
        })?;
        // The peer is created inside the container's namespace: moving it there afterwards
        // (IFLA_NET_NS_FD on an existing link) waits for an RCU grace period, 15-20 ms.
        let peer_msg = rtnetlink::LinkMessageBuilder::<LinkUnspec>::new()
            .name(peer.to_string())
            .setns_by_fd(ns.as_raw_fd())
            .build();
        let msg = rtnetlink::LinkMessageBuilder::<LinkVeth>::new_with_info_kind(
            netlink_packet_route::link::InfoKind::Veth,
        )
        .name(host.to_string())
        .set_info_data(netlink_packet_route::link::InfoData::Veth(
            netlink_packet_route::link::InfoVeth::Peer(peer_msg),
        ))
        .build();
        if let Err(first) = self.handle.link().add(msg.clone()).execute().await {
            // A host end left by the same endpoint's previous run, whose deletion had not
            // finished (exits delete it in the background): remove it and try once more.
            if self.link(host).await?.is_none() {
                return Err(nl_err("create veth", host)(first));
            }
            self.delete_link(host).await?;
            self.handle
                .link()
                .add(msg)
                .execute()
                .await
                .map_err(nl_err("create veth", host))?;
        }
        let host_index = self.index(host).await?;
        self.set_alias(host_index, host, alias).await?;
        self.handle
            .link()
            .set(
                LinkUnspec::new_with_index(host_index)
                    .controller(bridge)
                    .up()
                    .build(),
            )
            .execute()
            .await
            .map_err(nl_err("attach to bridge", host))
    }
}

type NsFuture<T> = Pin<Box<dyn Future<Output = Result<T>>>>;

/// Runs `work` with a netlink connection inside the network namespace at `path`.
pub(crate) async fn in_netns<T, F>(path: &Path, work: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(Netlink) -> NsFuture<T> + Send + 'static,
{
    let path = path.to_path_buf();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let thread_path = path.clone();
    std::thread::spawn(move || {
        let _ = tx.send(run_in_netns(&thread_path, work));
    });
    rx.await.unwrap_or_else(|_| {
        Err(NetError::Netns {
            path,
            action: "run a thread in",
            source: std::io::Error::other("namespace worker thread panicked"),
        })
    })
}

fn run_in_netns<T, F>(path: &Path, work: F) -> Result<T>
where
    F: FnOnce(Netlink) -> NsFuture<T>,
{
    let ns_err = |action, source| NetError::Netns {
        path: path.to_path_buf(),
        action,
        source,
    };
    let ns = File::open(path).map_err(|e| ns_err("open", e))?;
    // This thread is ours alone and ends after this call, so switching its namespace
    // affects nothing else.
    nix::sched::setns(&ns, nix::sched::CloneFlags::CLONE_NEWNET)
        .map_err(|e| ns_err("enter", e.into()))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ns_err("start a runtime in", e))?;
    rt.block_on(async move {
        let (conn, handle, _) =
            rtnetlink::new_connection().map_err(|e| ns_err("open a netlink socket in", e))?;
        tokio::spawn(conn);
        work(Netlink::from_handle(handle)).await
    })
}

/// Inside a container namespace: brings `lo` up (all a `--network none` container gets).
pub async fn setup_loopback(netns: &Path) -> Result<()> {
    in_netns(netns, |nl| {
        Box::pin(async move {
            let index = nl.index("lo").await?;
            nl.set_up(index, "lo").await
        })
    })
    .await
}

/// What the container end of a veth becomes.
#[derive(Debug, Clone)]
pub struct ContainerIface {
    /// The temporary name the veth end arrived with.
    pub temp_name: String,
    /// Its final name, `eth0` for the first network.
    pub name: String,
    /// The MAC address.
    pub mac: [u8; 6],
    /// Address and prefix.
    pub addr: Ipv4Net,
    /// Default route via this gateway (only for the first network; None skips it).
    pub gateway: Option<Ipv4Addr>,
}

/// Inside a container namespace: renames and addresses the veth end, lo up, default route.
pub async fn configure_container_iface(netns: &Path, iface: ContainerIface) -> Result<()> {
    in_netns(netns, move |nl| {
        Box::pin(async move {
            let lo = nl.index("lo").await?;
            nl.set_up(lo, "lo").await?;
            let index = nl.index(&iface.temp_name).await?;
            nl.handle
                .link()
                .set(
                    LinkUnspec::new_with_index(index)
                        .name(iface.name.clone())
                        .address(iface.mac.to_vec())
                        .build(),
                )
                .execute()
                .await
                .map_err(nl_err("rename and set the MAC of", &iface.name))?;
            nl.add_address(index, &iface.name, iface.addr).await?;
            nl.set_up(index, &iface.name).await?;
            if let Some(gw) = iface.gateway {
                let route = RouteMessageBuilder::<Ipv4Addr>::new()
                    .gateway(gw)
                    .output_interface(index)
                    .build();
                match nl.handle.route().add(route).execute().await {
                    Err(e) if errno(&e) != Some(libc::EEXIST) => {
                        return Err(nl_err(
                            &format!("add default route via {gw} on"),
                            &iface.name,
                        )(e))
                    }
                    _ => {}
                }
            }
            Ok(())
        })
    })
    .await
}

/// Inside a container namespace: deletes an interface (and so its veth peer on the host).
pub async fn delete_in_netns(netns: &Path, name: &str) -> Result<()> {
    let name = name.to_string();
    in_netns(netns, move |nl| {
        Box::pin(async move { nl.delete_link(&name).await })
    })
    .await
}

/// Writes a sysctl under /proc/sys (e.g. `net/ipv4/ip_forward`).
pub fn write_sysctl(key: &str, value: &str) -> Result<()> {
    let path = Path::new("/proc/sys").join(key);
    std::fs::write(&path, value).map_err(|source| NetError::Io {
        action: "write",
        path,
        source,
    })
}
