//! berth's container networks.
//!
//! # Brief overview
//!
//! - [`ipam`]: subnets (Docker's pools) and container addresses; [`state`] persists them,
//!   one JSON file per network, written atomically, so allocations survive a daemon restart.
//! - [`netlink`]: bridges, veth pairs, addresses and routes over rtnetlink, also inside a
//!   container's network namespace (`/proc/<pid>/ns/net` or a bind-mounted netns file).
//! - [`nat`]: one nftables table per daemon: outbound masquerade per network, DNAT per
//!   published port (from the host's addresses and from its own 127.0.0.1), every rule tagged
//!   with its owner.
//! - [`ports`]: `-p` parsing and the "port is already allocated" check.
//! - [`dns`]: the embedded DNS server of user-defined networks and containers' resolv.conf.
//! - [`NetworkManager`] ties them together for the engine: create/remove networks,
//!   connect/disconnect containers, and `reconcile` at daemon start.
//!
//! `--network host` needs nothing from this crate (the container keeps the host namespace);
//! `--network none` needs [`setup_loopback`]; `container:<id>` reuses the other container's
//! namespace, so again nothing here.

#![deny(missing_docs)]

pub mod dns;
pub mod error;
pub mod ipam;
mod manager;
pub mod nat;
pub mod netlink;
pub mod ports;
pub mod state;

pub use error::{ErrorKind, NetError, Result};
pub use manager::{Config, Connect, CreateNetwork, NetworkManager, ReconcileReport};
pub use netlink::setup_loopback;
pub use ports::{PortMapping, Protocol};
