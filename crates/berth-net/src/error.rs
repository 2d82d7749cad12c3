//! The error type of berth-net: every variant names the network, interface or address involved.

use std::io;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use ipnet::Ipv4Net;

/// What can go wrong while managing container networks.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// No network with this id or name is known.
    #[error("network `{0}` not found")]
    NetworkNotFound(String),
    /// A network with this name or id already exists.
    #[error("network with name `{0}` already exists")]
    NetworkExists(String),
    /// The network still has containers attached.
    #[error("network `{network}` has active endpoints: {containers}")]
    NetworkInUse {
        /// The network id.
        network: String,
        /// Container ids still attached, comma-separated.
        containers: String,
    },
    /// The container is already attached to the network.
    #[error("container `{container}` is already attached to network `{network}`")]
    EndpointExists {
        /// The container id.
        container: String,
        /// The network id.
        network: String,
    },
    /// The container is not attached to the network.
    #[error("container `{container}` is not connected to network `{network}`")]
    EndpointNotFound {
        /// The container id.
        container: String,
        /// The network id.
        network: String,
    },
    /// A requested subnet overlaps a host route or another network (Docker's wording).
    #[error("Pool overlaps with other one on this address space: `{subnet}` overlaps `{other}`")]
    PoolOverlap {
        /// The requested subnet.
        subnet: Ipv4Net,
        /// What it overlaps: a route or another network.
        other: String,
    },
    /// No predefined pool is free.
    #[error("could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network")]
    PoolsExhausted,
    /// A gateway, range or requested address outside the subnet, or otherwise invalid.
    #[error("invalid address configuration for network `{network}`: {reason}")]
    InvalidAddress {
        /// The network name or id.
        network: String,
        /// Why it is invalid.
        reason: String,
    },
    /// Every address of the network's range is allocated.
    #[error("no available IPv4 addresses on network `{0}`")]
    AddressesExhausted(String),
    /// The requested address is taken.
    #[error("Address already in use: `{ip}` on network `{network}`")]
    AddressInUse {
        /// The address.
        ip: Ipv4Addr,
        /// The network id.
        network: String,
    },
    /// A published port is already taken by another container (Docker's wording).
    #[error("Bind for {host_ip}:{port} failed: port is already allocated")]
    PortAllocated {
        /// The host address ("0.0.0.0" for all).
        host_ip: Ipv4Addr,
        /// The host port.
        port: u16,
    },
    /// A published port is in use by some other process on the host.
    #[error("failed to bind port {host_ip}:{port}/{proto}: address already in use")]
    PortInUse {
        /// The host address.
        host_ip: Ipv4Addr,
        /// The host port.
        port: u16,
        /// tcp or udp.
        proto: String,
    },
    /// No free port for `-P` / `-p CONTAINERPORT`.
    #[error("no free host port in the ephemeral range for {proto}")]
    PortsExhausted {
        /// tcp or udp.
        proto: String,
    },
    /// A `-p` specification could not be parsed.
    #[error("invalid port specification: `{spec}`: {reason}")]
    InvalidPortSpec {
        /// The specification as given.
        spec: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A netlink request failed.
    #[error("netlink: failed to {action} `{interface}`")]
    Netlink {
        /// What was attempted ("create bridge", "add address", ...).
        action: String,
        /// The interface (or address) involved.
        interface: String,
        /// The kernel's answer.
        #[source]
        source: rtnetlink::Error,
    },
    /// An interface that should exist does not.
    #[error("interface `{0}` not found")]
    InterfaceNotFound(String),
    /// Opening or entering a network namespace failed.
    #[error("network namespace `{path}`: failed to {action}")]
    Netns {
        /// The namespace path.
        path: PathBuf,
        /// open, setns, ...
        action: &'static str,
        /// The system error.
        #[source]
        source: io::Error,
    },
    /// A file under the state directory (or a sysctl, resolv.conf) could not be read or written.
    #[error("failed to {action} `{path}`")]
    Io {
        /// read, write, rename, ...
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The system error.
        #[source]
        source: io::Error,
    },
    /// A state file is not valid JSON of the expected shape.
    #[error("state file `{path}` is corrupt")]
    CorruptState {
        /// The file.
        path: PathBuf,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// `nft` could not be run or rejected a rule set.
    #[error("nft failed for table `{table}`: {stderr}")]
    Nft {
        /// The nftables table.
        table: String,
        /// What nft printed.
        stderr: String,
    },
    /// Running `nft` itself failed (not installed?).
    #[error("failed to run `nft` for table `{table}`")]
    NftSpawn {
        /// The nftables table.
        table: String,
        /// The system error.
        #[source]
        source: io::Error,
    },
    /// A DNS server socket could not be bound.
    #[error("embedded DNS for network `{network}`: failed to bind {addr}")]
    DnsBind {
        /// The network id.
        network: String,
        /// The address.
        addr: std::net::SocketAddr,
        /// The system error.
        #[source]
        source: io::Error,
    },
}

/// Shorthand for results in this crate.
pub type Result<T> = std::result::Result<T, NetError>;

/// The class of an error, for the API boundary to map to HTTP status and Docker error shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 404: no such network or endpoint.
    NotFound,
    /// 409: the name or attachment exists already.
    AlreadyExists,
    /// 409/403: the request collides with existing use (ports, addresses, pools, active endpoints).
    Conflict,
    /// 400: the request itself is malformed.
    InvalidArgument,
    /// 500: the host refused (netlink, nft, files).
    Internal,
}

impl NetError {
    /// The class of this error.
    pub fn kind(&self) -> ErrorKind {
        use NetError::*;
        match self {
            NetworkNotFound(_) | EndpointNotFound { .. } => ErrorKind::NotFound,
            NetworkExists(_) | EndpointExists { .. } => ErrorKind::AlreadyExists,
            NetworkInUse { .. }
            | PoolOverlap { .. }
            | PoolsExhausted
            | AddressesExhausted(_)
            | AddressInUse { .. }
            | PortAllocated { .. }
            | PortInUse { .. }
            | PortsExhausted { .. } => ErrorKind::Conflict,
            InvalidAddress { .. } | InvalidPortSpec { .. } => ErrorKind::InvalidArgument,
            Netlink { .. }
            | InterfaceNotFound(_)
            | Netns { .. }
            | Io { .. }
            | CorruptState { .. }
            | Nft { .. }
            | NftSpawn { .. }
            | DnsBind { .. } => ErrorKind::Internal,
        }
    }
}
