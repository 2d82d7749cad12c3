//! resolv.conf: the host's resolvers (for forwarding) and the file a container gets.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use crate::error::{NetError, Result};

/// The parts of a resolv.conf berth uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolvConf {
    /// `nameserver` lines, in order.
    pub nameservers: Vec<IpAddr>,
    /// `search` domains.
    pub search: Vec<String>,
    /// `options` words.
    pub options: Vec<String>,
}

impl ResolvConf {
    /// Parses resolv.conf text; unknown lines and bad addresses are skipped, as libc does.
    pub fn parse(text: &str) -> Self {
        let mut conf = Self::default();
        for line in text.lines() {
            let mut words = line.split_whitespace();
            match words.next() {
                Some("nameserver") => {
                    if let Some(ip) = words.next().and_then(|w| w.parse().ok()) {
                        conf.nameservers.push(ip);
                    }
                }
                Some("search") | Some("domain") => {
                    conf.search = words.map(str::to_string).collect()
                }
                Some("options") => conf.options.extend(words.map(str::to_string)),
                _ => {}
            }
        }
        conf
    }

    /// Reads and parses a file such as /etc/resolv.conf.
    pub fn read(path: &Path) -> Result<Self> {
        std::fs::read_to_string(path)
            .map(|t| Self::parse(&t))
            .map_err(|source| NetError::Io {
                action: "read",
                path: path.to_path_buf(),
                source,
            })
    }
}

/// The host's resolvers as UDP/TCP port-53 addresses, for the embedded server to forward to.
/// Loopback resolvers are kept: the server runs in the host's namespace.
pub fn host_nameservers(conf: &ResolvConf) -> Vec<SocketAddr> {
    conf.nameservers
        .iter()
        .map(|ip| SocketAddr::new(*ip, 53))
        .collect()
}

/// The resolv.conf a container gets: on a user network, the embedded server at the gateway;
/// on the default bridge, the host's resolvers minus loopback ones (unreachable from the
/// container's namespace), or Google's public resolvers when none remain, as Docker does.
pub fn container_resolv_conf(host: &ResolvConf, embedded: Option<IpAddr>) -> String {
    let mut out = String::new();
    match embedded {
        Some(ip) => out.push_str(&format!("nameserver {ip}\n")),
        None => {
            let usable: Vec<_> = host
                .nameservers
                .iter()
                .filter(|ip| !ip.is_loopback())
                .collect();
            if usable.is_empty() {
                out.push_str("nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
            }
            for ip in usable {
                out.push_str(&format!("nameserver {ip}\n"));
            }
        }
    }
    if !host.search.is_empty() {
        out.push_str(&format!("search {}\n", host.search.join(" ")));
    }
    if !host.options.is_empty() {
        out.push_str(&format!("options {}\n", host.options.join(" ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_resolvers_are_dropped_for_the_default_bridge() {
        let host = ResolvConf::parse(
            "# x\nnameserver 127.0.0.53\nnameserver 10.9.9.9\nsearch a.example\noptions edns0\n",
        );
        assert_eq!(
            container_resolv_conf(&host, None),
            "nameserver 10.9.9.9\nsearch a.example\noptions edns0\n"
        );
        let only_local = ResolvConf::parse("nameserver 127.0.0.53\n");
        assert!(container_resolv_conf(&only_local, None).starts_with("nameserver 8.8.8.8\n"));
        assert_eq!(
            container_resolv_conf(&only_local, Some("10.1.0.1".parse().unwrap())),
            "nameserver 10.1.0.1\n"
        );
        assert_eq!(host_nameservers(&host).len(), 2);
    }
}
