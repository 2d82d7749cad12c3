//! Published ports: parsing `-p [ip:]host:container[/udp]` and checking that a host port is free.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, UdpSocket};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{NetError, Result};

/// The transport protocol of a published port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP, the default.
    Tcp,
    /// UDP.
    Udp,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        })
    }
}

/// One published port of a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PortMapping {
    /// The host address to accept on; 0.0.0.0 means every local address.
    pub host_ip: Ipv4Addr,
    /// The host port; 0 asks for an ephemeral one (`-P`, `-p 80`).
    pub host_port: u16,
    /// The port inside the container.
    pub container_port: u16,
    /// tcp or udp.
    pub protocol: Protocol,
}

impl FromStr for PortMapping {
    type Err = NetError;

    /// Parses `[ip:][host:]container[/proto]`, Docker's `-p` syntax (IPv4 only).
    fn from_str(spec: &str) -> Result<Self> {
        let bad = |reason: &str| NetError::InvalidPortSpec {
            spec: spec.to_string(),
            reason: reason.to_string(),
        };
        let (ports, protocol) = match spec.rsplit_once('/') {
            Some((p, "tcp")) => (p, Protocol::Tcp),
            Some((p, "udp")) => (p, Protocol::Udp),
            Some(_) => return Err(bad("protocol must be tcp or udp")),
            None => (spec, Protocol::Tcp),
        };
        let parts: Vec<&str> = ports.split(':').collect();
        let (ip, host, container) = match parts.as_slice() {
            [c] => ("", "", *c),
            [h, c] => ("", *h, *c),
            [i, h, c] => (*i, *h, *c),
            _ => return Err(bad("too many colons")),
        };
        let host_ip = if ip.is_empty() {
            Ipv4Addr::UNSPECIFIED
        } else {
            ip.parse()
                .map_err(|_| bad("host address is not an IPv4 address"))?
        };
        let host_port = if host.is_empty() {
            0
        } else {
            host.parse()
                .map_err(|_| bad("host port is not a number in 0-65535"))?
        };
        let container_port: u16 = container
            .parse()
            .map_err(|_| bad("container port is not a number in 1-65535"))?;
        if container_port == 0 {
            return Err(bad("container port must not be 0"));
        }
        Ok(Self {
            host_ip,
            host_port,
            container_port,
            protocol,
        })
    }
}

impl PortMapping {
    /// True when both mappings would receive the same packets.
    pub fn conflicts_with(&self, other: &PortMapping) -> bool {
        self.protocol == other.protocol
            && self.host_port == other.host_port
            && (self.host_ip == other.host_ip
                || self.host_ip.is_unspecified()
                || other.host_ip.is_unspecified())
    }
}

/// The range ephemeral host ports are taken from, as dockerd's.
pub const EPHEMERAL_PORTS: std::ops::RangeInclusive<u16> = 49153..=60999;

/// Fails with Docker's "port is already allocated" when `wanted` collides with `taken`,
/// and with "address already in use" when another host process holds the port.
pub fn check_free(wanted: &PortMapping, taken: &[PortMapping]) -> Result<()> {
    if taken.iter().any(|t| wanted.conflicts_with(t)) {
        return Err(NetError::PortAllocated {
            host_ip: wanted.host_ip,
            port: wanted.host_port,
        });
    }
    if !bindable(wanted.host_ip, wanted.host_port, wanted.protocol) {
        return Err(NetError::PortInUse {
            host_ip: wanted.host_ip,
            port: wanted.host_port,
            proto: wanted.protocol.to_string(),
        });
    }
    Ok(())
}

/// Picks a free ephemeral host port for `mapping` (whose host_port is 0).
pub fn pick_ephemeral(mapping: &PortMapping, taken: &[PortMapping]) -> Result<u16> {
    EPHEMERAL_PORTS
        .into_iter()
        .find(|port| {
            let candidate = PortMapping {
                host_port: *port,
                ..*mapping
            };
            check_free(&candidate, taken).is_ok()
        })
        .ok_or(NetError::PortsExhausted {
            proto: mapping.protocol.to_string(),
        })
}

/// Whether a host process could bind the port right now. Since published ports are served by
/// DNAT, nothing binds them; a process already listening would be shadowed, so Docker refuses.
fn bindable(ip: Ipv4Addr, port: u16, protocol: Protocol) -> bool {
    let addr = SocketAddrV4::new(ip, port);
    match protocol {
        Protocol::Tcp => TcpListener::bind(addr).is_ok(),
        Protocol::Udp => UdpSocket::bind(addr).is_ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_docker_forms() {
        let p: PortMapping = "8080:80".parse().unwrap();
        assert_eq!(
            (p.host_ip, p.host_port, p.container_port, p.protocol),
            (Ipv4Addr::UNSPECIFIED, 8080, 80, Protocol::Tcp)
        );
        let p: PortMapping = "127.0.0.1:5353:53/udp".parse().unwrap();
        assert_eq!(
            (p.host_ip, p.host_port, p.container_port, p.protocol),
            (Ipv4Addr::LOCALHOST, 5353, 53, Protocol::Udp)
        );
        let p: PortMapping = "80".parse().unwrap();
        assert_eq!(p.host_port, 0);
        for bad in ["a:80", "1:2:3:4", "80/sctp", "8080:0", "x.y:1:2"] {
            assert!(bad.parse::<PortMapping>().is_err(), "{bad}");
        }
    }

    #[test]
    fn same_port_any_address_is_already_allocated() {
        let a: PortMapping = "18080:80".parse().unwrap();
        let b: PortMapping = "127.0.0.1:18080:81".parse().unwrap();
        let err = check_free(&b, &[a]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Bind for 127.0.0.1:18080 failed: port is already allocated"
        );
        let udp: PortMapping = "18080:80/udp".parse().unwrap();
        assert!(!udp.conflicts_with(&a));
    }
}
