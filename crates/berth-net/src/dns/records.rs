//! The name table the engine updates as containers join and leave networks.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, RwLock};

/// lowercase name -> (container id, address) of every container answering to it.
type Names = BTreeMap<String, Vec<(String, Ipv4Addr)>>;

/// Container names and aliases per network, shared by every DNS server of a daemon.
#[derive(Debug, Clone, Default)]
pub struct DnsRecords {
    /// By network id.
    inner: Arc<RwLock<BTreeMap<String, Names>>>,
}

fn normalize(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl DnsRecords {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes `names` resolve to `ip` on `network` for `container`.
    pub fn add(&self, network: &str, container: &str, names: &[String], ip: Ipv4Addr) {
        let mut table = self.inner.write().unwrap_or_else(|e| e.into_inner());
        let net = table.entry(network.to_string()).or_default();
        for name in names.iter().filter(|n| !n.is_empty()) {
            let entries = net.entry(normalize(name)).or_default();
            entries.retain(|(c, _)| c != container);
            entries.push((container.to_string(), ip));
        }
    }

    /// Removes every name of `container` on `network`.
    pub fn remove(&self, network: &str, container: &str) {
        let mut table = self.inner.write().unwrap_or_else(|e| e.into_inner());
        if let Some(net) = table.get_mut(network) {
            for entries in net.values_mut() {
                entries.retain(|(c, _)| c != container);
            }
            net.retain(|_, entries| !entries.is_empty());
        }
    }

    /// Forgets a network.
    pub fn remove_network(&self, network: &str) {
        let mut table = self.inner.write().unwrap_or_else(|e| e.into_inner());
        table.remove(network);
    }

    /// The addresses of `name` on `network`; None when the name is not known there.
    pub fn lookup(&self, network: &str, name: &str) -> Option<Vec<Ipv4Addr>> {
        let table = self.inner.read().unwrap_or_else(|e| e.into_inner());
        let name = normalize(name);
        let net = table.get(network)?;
        let entries = net.get(&name).or_else(|| {
            // `name.network` is how Docker users reach a container on a named network.
            let (short, _) = name.split_once('.')?;
            net.get(short)
        })?;
        Some(entries.iter().map(|(_, ip)| *ip).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_per_network_and_case_insensitive() {
        let r = DnsRecords::new();
        let ip = Ipv4Addr::new(10, 0, 0, 2);
        r.add("n1", "c1", &["Web".into(), "api".into()], ip);
        assert_eq!(r.lookup("n1", "web."), Some(vec![ip]));
        assert_eq!(r.lookup("n1", "API"), Some(vec![ip]));
        assert_eq!(r.lookup("n2", "web"), None);
        r.remove("n1", "c1");
        assert_eq!(r.lookup("n1", "web"), None);
    }
}
