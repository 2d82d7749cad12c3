//! Reconcile: at daemon start, make the host match the persisted state.

use super::NetworkManager;
use crate::error::Result;
use crate::nat;
use crate::state::EndpointState;

/// What [`NetworkManager::reconcile`] changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    /// Bridges and veths deleted because no state owns them.
    pub deleted_links: Vec<String>,
    /// nft rules deleted.
    pub deleted_rules: usize,
    /// nft rules (re)installed.
    pub added_rules: usize,
    /// Endpoints whose namespace is gone, dropped from state with their addresses released.
    pub dropped_endpoints: Vec<String>,
    /// Endpoints whose veth was missing and was recreated.
    pub recreated_endpoints: Vec<String>,
}

impl NetworkManager {
    /// Makes the host match the state (daemon start): bridges, sysctls, DNS servers and
    /// endpoints of known networks are (re)created; bridges, veths and rules carrying this
    /// instance's tag that no state owns are deleted. Endpoints whose namespace is gone are
    /// dropped and their addresses released.
    pub async fn reconcile(&self) -> Result<ReconcileReport> {
        let mut report = ReconcileReport::default();
        let mut inner = self.inner.lock().await;
        let ids: Vec<String> = inner.networks.keys().cloned().collect();
        for id in ids {
            let Some(mut net) = inner.networks.get(&id).cloned() else {
                continue;
            };
            self.install_network(&mut inner, &net).await?;
            let mut changed = false;
            let endpoints: Vec<EndpointState> = net.endpoints.values().cloned().collect();
            for ep in endpoints {
                if !ep.netns.exists() {
                    net.endpoints.remove(&ep.container_id);
                    net.pool.release(ep.ip);
                    self.records.remove(&net.id, &ep.container_id);
                    report.dropped_endpoints.push(ep.container_id.clone());
                    changed = true;
                } else if self.nl.link(&ep.host_veth).await?.is_none() {
                    // The pair is gone: recreate it; the namespace keeps no half of it.
                    let gateway = ep.default_route.then_some(net.pool.gateway);
                    self.plumb_endpoint(&net, &ep, &ep.ifname, gateway).await?;
                    report.recreated_endpoints.push(ep.container_id.clone());
                }
            }
            if changed {
                self.store.save(&net)?;
                inner.networks.insert(id.clone(), net);
            }
        }
        let mut owned: Vec<String> = Vec::new();
        let mut wanted_rules = Vec::new();
        for net in inner.networks.values() {
            owned.push(net.bridge.clone());
            wanted_rules.extend(nat::network_rules(&net.id, net.pool.subnet, &net.bridge));
            for ep in net.endpoints.values() {
                owned.push(ep.host_veth.clone());
                wanted_rules.extend(nat::port_rules(&ep.container_id, &net.id, ep.ip, &ep.ports));
            }
        }
        for link in self.nl.links().await? {
            if link.alias.as_deref() == Some(self.cfg.instance.as_str())
                && !owned.contains(&link.name)
            {
                self.nl.delete_link(&link.name).await?;
                report.deleted_links.push(link.name);
            }
        }
        let (deleted, added) = self.nft.reconcile(&wanted_rules)?;
        report.deleted_rules = deleted;
        report.added_rules = added;
        Ok(report)
    }
}
