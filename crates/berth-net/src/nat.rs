//! NAT with nftables: outbound masquerade per network and DNAT per published port.
//!
//! berth owns one table (`ip berth`, or another name per [`crate::Config::instance`]) with three
//! NAT base chains, and never touches other tables (docker's, the host's). Every rule carries a
//! comment that names its owner and spells out the rule (`ctr:<cid12>:<nid12>:tcp:0.0.0.0:8080->
//! 10.1.2.3:80:pre`), so removal deletes exactly a container's rules and reconcile can compare
//! what is in the kernel with what the state wants, rule by rule.
//!
//! Rules go to `nft -f -` as one script, which nft applies as a single transaction; they are
//! read back with `nft -j -a list table`. (The `nftables` crate only wraps that same `nft -j`
//! process; plain rule text keeps the rules readable, and JSON is used where it helps: reading.)
//!
//! Published ports and the host's localhost: a packet to 127.0.0.1:HOSTPORT from the host is
//! DNATed in the `output` chain; the kernel routes 127/8 sources out of a non-loopback device
//! only with `route_localnet=1` on it (set on each bridge), and the `lo` masquerade rule then
//! rewrites the source to the gateway so the container can answer. This is Docker's
//! `userland-proxy=false` design: no proxy process per port.

use std::io::Write;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

use ipnet::Ipv4Net;

use crate::error::{NetError, Result};
use crate::ports::PortMapping;

/// A base chain of berth's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Chain {
    /// DNAT for packets arriving from elsewhere.
    Prerouting,
    /// DNAT for packets the host itself sends (including to 127.0.0.1).
    Output,
    /// Masquerade.
    Postrouting,
}

impl Chain {
    fn name(self) -> &'static str {
        match self {
            Chain::Prerouting => "prerouting",
            Chain::Output => "output",
            Chain::Postrouting => "postrouting",
        }
    }
}

/// One rule berth wants in its table.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rule {
    /// The chain it belongs in.
    pub chain: Chain,
    /// The match and verdict, in nft syntax.
    pub body: String,
    /// Its unique tag (the nft comment).
    pub tag: String,
}

/// A rule found in the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledRule {
    /// Chain name.
    pub chain: String,
    /// The kernel's handle, for deletion.
    pub handle: u64,
    /// The comment, if the rule has one.
    pub tag: Option<String>,
}

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// The tag prefix of a network's own rules.
pub fn network_tag(network_id: &str) -> String {
    format!("net:{}:", short(network_id))
}

/// The tag prefix of one container's rules on one network.
pub fn endpoint_tag(container_id: &str, network_id: &str) -> String {
    format!("ctr:{}:{}:", short(container_id), short(network_id))
}

/// The rules a network needs: masquerade of its subnet leaving by any other interface, and of
/// host-localhost sources entering the bridge (for published ports reached via 127.0.0.1).
pub fn network_rules(network_id: &str, subnet: Ipv4Net, bridge: &str) -> Vec<Rule> {
    let tag = network_tag(network_id);
    vec![
        Rule {
            chain: Chain::Postrouting,
            body: format!("ip saddr {subnet} oifname != \"{bridge}\" counter masquerade"),
            tag: format!("{tag}masq:{subnet}:{bridge}"),
        },
        Rule {
            chain: Chain::Postrouting,
            body: format!("ip saddr 127.0.0.0/8 oifname \"{bridge}\" counter masquerade"),
            tag: format!("{tag}lo:{bridge}"),
        },
    ]
}

/// The DNAT rules of one container's published ports.
pub fn port_rules(
    container_id: &str,
    network_id: &str,
    ip: Ipv4Addr,
    ports: &[PortMapping],
) -> Vec<Rule> {
    let tag = endpoint_tag(container_id, network_id);
    let mut rules = Vec::new();
    for p in ports {
        let dest = if p.host_ip.is_unspecified() {
            "fib daddr type local".to_string()
        } else {
            format!("ip daddr {}", p.host_ip)
        };
        let body = format!(
            "{dest} {proto} dport {hp} counter dnat to {ip}:{cp}",
            proto = p.protocol,
            hp = p.host_port,
            cp = p.container_port
        );
        let id = format!(
            "{}:{}:{}->{ip}:{}",
            p.protocol, p.host_ip, p.host_port, p.container_port
        );
        for (chain, suffix) in [(Chain::Prerouting, "pre"), (Chain::Output, "out")] {
            rules.push(Rule {
                chain,
                body: body.clone(),
                tag: format!("{tag}{id}:{suffix}"),
            });
        }
    }
    rules
}

/// berth's nftables table.
#[derive(Debug, Clone)]
pub struct Nft {
    table: String,
}

impl Nft {
    /// The table called `table` in the `ip` family.
    pub fn new(table: &str) -> Self {
        Self {
            table: table.to_string(),
        }
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    fn run(&self, args: &[&str], script: Option<&str>) -> Result<String> {
        let spawn_err = |source| NetError::NftSpawn {
            table: self.table.clone(),
            source,
        };
        let mut child = Command::new("nft")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(spawn_err)?;
        if let (Some(script), Some(mut stdin)) = (script, child.stdin.take()) {
            stdin.write_all(script.as_bytes()).map_err(spawn_err)?;
        }
        let out = child.wait_with_output().map_err(spawn_err)?;
        if !out.status.success() {
            return Err(NetError::Nft {
                table: self.table.clone(),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Creates the table and its chains if missing (`add` is idempotent in nft).
    pub fn ensure_table(&self) -> Result<()> {
        let t = &self.table;
        let script = format!(
            "add table ip {t}\n\
             add chain ip {t} prerouting {{ type nat hook prerouting priority dstnat; policy accept; }}\n\
             add chain ip {t} output {{ type nat hook output priority -100; policy accept; }}\n\
             add chain ip {t} postrouting {{ type nat hook postrouting priority srcnat; policy accept; }}\n"
        );
        self.run(&["-f", "-"], Some(&script)).map(drop)
    }

    /// Deletes the whole table (tests, and `berth` uninstall).
    pub fn delete_table(&self) -> Result<()> {
        match self.run(&["delete", "table", "ip", &self.table], None) {
            Err(NetError::Nft { stderr, .. }) if stderr.contains("No such file") => Ok(()),
            other => other.map(drop),
        }
    }

    /// Adds rules in one transaction.
    pub fn add(&self, rules: &[Rule]) -> Result<()> {
        if rules.is_empty() {
            return Ok(());
        }
        let mut script = String::new();
        for r in rules {
            script.push_str(&format!(
                "add rule ip {} {} {} comment \"{}\"\n",
                self.table,
                r.chain.name(),
                r.body,
                r.tag
            ));
        }
        self.run(&["-f", "-"], Some(&script)).map(drop)
    }

    /// The rules now in the table.
    pub fn list(&self) -> Result<Vec<InstalledRule>> {
        let out = match self.run(&["-j", "-a", "list", "table", "ip", &self.table], None) {
            Err(NetError::Nft { stderr, .. }) if stderr.contains("No such file") => {
                return Ok(Vec::new())
            }
            other => other?,
        };
        let json: serde_json::Value = serde_json::from_str(&out).map_err(|e| NetError::Nft {
            table: self.table.clone(),
            stderr: format!("unreadable `nft -j` output: {e}"),
        })?;
        let items = json["nftables"].as_array().cloned().unwrap_or_default();
        Ok(items
            .iter()
            .filter_map(|item| {
                let rule = item.get("rule")?;
                Some(InstalledRule {
                    chain: rule["chain"].as_str()?.to_string(),
                    handle: rule["handle"].as_u64()?,
                    tag: rule["comment"].as_str().map(str::to_string),
                })
            })
            .collect())
    }

    /// Deletes the given rules in one transaction.
    pub fn delete(&self, rules: &[InstalledRule]) -> Result<()> {
        if rules.is_empty() {
            return Ok(());
        }
        let script: String = rules
            .iter()
            .map(|r| {
                format!(
                    "delete rule ip {} {} handle {}\n",
                    self.table, r.chain, r.handle
                )
            })
            .collect();
        self.run(&["-f", "-"], Some(&script)).map(drop)
    }

    /// Deletes every rule whose tag starts with `prefix`.
    pub fn delete_tagged(&self, prefix: &str) -> Result<()> {
        let doomed: Vec<_> = self
            .list()?
            .into_iter()
            .filter(|r| r.tag.as_deref().is_some_and(|t| t.starts_with(prefix)))
            .collect();
        self.delete(&doomed)
    }

    /// Makes the table hold exactly `wanted`: deletes every other rule, adds the missing ones.
    /// Returns (deleted, added).
    pub fn reconcile(&self, wanted: &[Rule]) -> Result<(usize, usize)> {
        self.ensure_table()?;
        let installed = self.list()?;
        // Stale: untagged, unwanted, or a second copy of a wanted rule.
        let mut seen = std::collections::HashSet::new();
        let stale: Vec<_> = installed
            .iter()
            .filter(|r| {
                let wanted = wanted
                    .iter()
                    .any(|w| Some(&w.tag) == r.tag.as_ref() && w.chain.name() == r.chain);
                !wanted || !seen.insert((r.chain.clone(), r.tag.clone()))
            })
            .cloned()
            .collect();
        let missing: Vec<_> = wanted
            .iter()
            .filter(|w| {
                !installed
                    .iter()
                    .any(|r| r.tag.as_ref() == Some(&w.tag) && r.chain == w.chain.name())
            })
            .cloned()
            .collect();
        self.delete(&stale)?;
        self.add(&missing)?;
        Ok((stale.len(), missing.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_rules_are_tagged_per_container_and_name_the_mapping() {
        let p: PortMapping = "8080:80".parse().unwrap();
        let rules = port_rules(
            "0123456789abcdef",
            "fedcba9876543210",
            Ipv4Addr::new(10, 0, 0, 2),
            &[p],
        );
        assert_eq!(rules.len(), 2);
        assert_eq!(
            rules[0].body,
            "fib daddr type local tcp dport 8080 counter dnat to 10.0.0.2:80"
        );
        assert_eq!(
            rules[0].tag,
            "ctr:0123456789ab:fedcba987654:tcp:0.0.0.0:8080->10.0.0.2:80:pre"
        );
        assert!(rules.iter().all(|r| r
            .tag
            .starts_with(&endpoint_tag("0123456789abcdef", "fedcba9876543210"))));
        let p: PortMapping = "127.0.0.1:53:53/udp".parse().unwrap();
        let rules = port_rules("c", "n", Ipv4Addr::new(10, 0, 0, 2), &[p]);
        assert_eq!(
            rules[1].body,
            "ip daddr 127.0.0.1 udp dport 53 counter dnat to 10.0.0.2:53"
        );
    }
}
