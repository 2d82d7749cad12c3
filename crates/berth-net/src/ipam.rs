//! IP address management: choosing a network's subnet and handing out container addresses.
//!
//! Pure logic over [`Ipv4Net`]s; persistence lives in [`crate::state`]. Docker's choices are
//! kept: the default bridge gets 172.17.0.0/16, user networks take the first free /16 of
//! 172.18.0.0–172.31.0.0, then /20s of 192.168.0.0/16; the gateway is the subnet's first host.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use crate::error::{NetError, Result};

/// The default bridge's subnet, as docker0's.
pub const DEFAULT_BRIDGE_SUBNET: &str = "172.17.0.0/16";

/// The pools user-defined networks are carved from when no `--subnet` is given.
pub fn default_pools() -> Vec<Ipv4Net> {
    let mut pools = Vec::new();
    for second in 18..=31u8 {
        pools.push(Ipv4Net::new(Ipv4Addr::new(172, second, 0, 0), 16).unwrap_or_default());
    }
    for third in (0..=240u8).step_by(16) {
        pools.push(Ipv4Net::new(Ipv4Addr::new(192, 168, third, 0), 20).unwrap_or_default());
    }
    pools
}

/// True when the two subnets share at least one address.
pub fn overlaps(a: &Ipv4Net, b: &Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// Picks the first pool that overlaps none of `taken` (other networks and host routes).
pub fn pick_pool(pools: &[Ipv4Net], taken: &[Ipv4Net]) -> Result<Ipv4Net> {
    pools
        .iter()
        .find(|pool| !taken.iter().any(|t| overlaps(pool, t)))
        .copied()
        .ok_or(NetError::PoolsExhausted)
}

/// A network's address plan and its allocations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressPool {
    /// The network's subnet, e.g. 172.18.0.0/16.
    pub subnet: Ipv4Net,
    /// The bridge's address, also the containers' default route.
    pub gateway: Ipv4Addr,
    /// The sub-range container addresses are taken from (`--ip-range`), or the whole subnet.
    pub ip_range: Option<Ipv4Net>,
    /// Addresses handed out to containers.
    pub allocated: BTreeSet<Ipv4Addr>,
}

impl AddressPool {
    /// Validates a subnet/gateway/range triple; the gateway defaults to the first host.
    pub fn new(
        network: &str,
        subnet: Ipv4Net,
        gateway: Option<Ipv4Addr>,
        ip_range: Option<Ipv4Net>,
    ) -> Result<Self> {
        let invalid = |reason: String| NetError::InvalidAddress {
            network: network.to_string(),
            reason,
        };
        let subnet = subnet.trunc();
        if subnet.prefix_len() > 30 {
            return Err(invalid(format!("subnet {subnet} is too small")));
        }
        let gateway = match gateway {
            Some(gw) => gw,
            None => subnet
                .hosts()
                .next()
                .ok_or_else(|| invalid(format!("subnet {subnet} has no host address")))?,
        };
        if !subnet.contains(&gateway)
            || gateway == subnet.network()
            || gateway == subnet.broadcast()
        {
            return Err(invalid(format!(
                "gateway {gateway} is not a host address of {subnet}"
            )));
        }
        if let Some(range) = ip_range {
            if !subnet.contains(&range.trunc()) {
                return Err(invalid(format!("ip-range {range} is not inside {subnet}")));
            }
        }
        Ok(Self {
            subnet,
            gateway,
            ip_range: ip_range.map(|r| r.trunc()),
            allocated: BTreeSet::new(),
        })
    }

    fn usable(&self, ip: Ipv4Addr) -> bool {
        ip != self.gateway
            && ip != self.subnet.network()
            && ip != self.subnet.broadcast()
            && !self.allocated.contains(&ip)
    }

    /// Hands out the lowest free address of the range.
    pub fn allocate(&mut self, network: &str) -> Result<Ipv4Addr> {
        let range = self.ip_range.unwrap_or(self.subnet);
        let ip = range
            .hosts()
            .find(|ip| self.subnet.contains(ip) && self.usable(*ip))
            .ok_or_else(|| NetError::AddressesExhausted(network.to_string()))?;
        self.allocated.insert(ip);
        Ok(ip)
    }

    /// Reserves a given address (`--ip`).
    pub fn allocate_specific(&mut self, network: &str, ip: Ipv4Addr) -> Result<Ipv4Addr> {
        if !self.subnet.contains(&ip)
            || ip == self.subnet.network()
            || ip == self.subnet.broadcast()
        {
            return Err(NetError::InvalidAddress {
                network: network.to_string(),
                reason: format!("{ip} is not a host address of {}", self.subnet),
            });
        }
        if !self.usable(ip) {
            return Err(NetError::AddressInUse {
                ip,
                network: network.to_string(),
            });
        }
        self.allocated.insert(ip);
        Ok(ip)
    }

    /// Returns an address to the pool; releasing a free address is a no-op.
    pub fn release(&mut self, ip: Ipv4Addr) {
        self.allocated.remove(&ip);
    }
}

/// The MAC address Docker derives from an IPv4 address: 02:42 followed by the four octets.
pub fn mac_from_ip(ip: Ipv4Addr) -> [u8; 6] {
    let o = ip.octets();
    [0x02, 0x42, o[0], o[1], o[2], o[3]]
}

/// Formats a MAC address as `02:42:ac:11:00:02`.
pub fn format_mac(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    #[test]
    fn allocates_after_gateway_and_reuses_released() {
        let mut pool = AddressPool::new("n", net("10.1.2.0/24"), None, None).unwrap();
        assert_eq!(pool.gateway, Ipv4Addr::new(10, 1, 2, 1));
        let a = pool.allocate("n").unwrap();
        let b = pool.allocate("n").unwrap();
        assert_eq!(
            (a, b),
            (Ipv4Addr::new(10, 1, 2, 2), Ipv4Addr::new(10, 1, 2, 3))
        );
        pool.release(a);
        assert_eq!(pool.allocate("n").unwrap(), a);
    }

    #[test]
    fn ip_range_limits_allocation_and_exhausts() {
        let mut pool = AddressPool::new(
            "n",
            net("10.1.0.0/16"),
            Some("10.1.0.254".parse().unwrap()),
            Some(net("10.1.5.0/30")),
        )
        .unwrap();
        assert_eq!(pool.allocate("n").unwrap(), Ipv4Addr::new(10, 1, 5, 1));
        assert_eq!(pool.allocate("n").unwrap(), Ipv4Addr::new(10, 1, 5, 2));
        assert!(matches!(
            pool.allocate("n"),
            Err(NetError::AddressesExhausted(_))
        ));
    }

    #[test]
    fn rejects_gateway_outside_and_taken_specific() {
        assert!(AddressPool::new(
            "n",
            net("10.1.2.0/24"),
            Some("10.9.9.9".parse().unwrap()),
            None
        )
        .is_err());
        let mut pool = AddressPool::new("n", net("10.1.2.0/24"), None, None).unwrap();
        assert!(matches!(
            pool.allocate_specific("n", "10.1.2.1".parse().unwrap()),
            Err(NetError::AddressInUse { .. })
        ));
        pool.allocate_specific("n", "10.1.2.50".parse().unwrap())
            .unwrap();
        assert!(pool
            .allocate_specific("n", "10.1.2.50".parse().unwrap())
            .is_err());
    }

    #[test]
    fn pool_choice_skips_taken_ranges() {
        let pools = default_pools();
        assert_eq!(pick_pool(&pools, &[]).unwrap(), net("172.18.0.0/16"));
        let taken = [net("172.18.5.0/24"), net("172.16.0.0/12")];
        assert_eq!(pick_pool(&pools, &taken).unwrap(), net("192.168.0.0/20"));
    }

    #[test]
    fn mac_is_docker_style() {
        assert_eq!(
            format_mac(&mac_from_ip(Ipv4Addr::new(172, 17, 0, 2))),
            "02:42:ac:11:00:02"
        );
    }
}
