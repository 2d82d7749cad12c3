//! The embedded DNS of user-defined networks.
//!
//! Where it listens: one server per user network, on the bridge's gateway address, port 53, in
//! the host's namespace; containers get `nameserver <gateway>` in their resolv.conf. Docker
//! instead listens on 127.0.0.11 inside every container (an extra socket and iptables rules per
//! container); the gateway is reachable from every container of the network already, needs no
//! per-container setup, and lets forwarding use the host's own resolvers, including 127.x ones
//! (systemd-resolved) that a container could not reach.
//!
//! What it answers: A queries for container names and aliases attached to the server's network
//! (case-insensitive, with or without a trailing dot), an empty NOERROR answer to AAAA and
//! other types for those names, and it forwards every other query to the host's resolvers.

mod records;
mod resolv;
mod server;

pub use records::DnsRecords;
pub use resolv::{container_resolv_conf, host_nameservers, ResolvConf};
pub use server::DnsServer;
