//! The files the daemon writes for a container and binds over the image's: `/etc/hostname`,
//! `/etc/hosts` and `/etc/resolv.conf`.
//!
//! They are rewritten in place (same inode) after the network is wired, so the container's
//! bind mount sees its own address in `/etc/hosts`.

use std::io::Write;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use crate::error::{EngineError, Result};

/// Where a container's generated files are.
#[derive(Debug, Clone)]
pub struct Files {
    /// `<dir>/hostname`.
    pub hostname: PathBuf,
    /// `<dir>/hosts`.
    pub hosts: PathBuf,
    /// `<dir>/resolv.conf`.
    pub resolv_conf: PathBuf,
}

impl Files {
    /// The files of the container in `dir`.
    pub fn of(dir: &Path) -> Files {
        Files {
            hostname: dir.join("hostname"),
            hosts: dir.join("hosts"),
            resolv_conf: dir.join("resolv.conf"),
        }
    }
}

/// Writes `content` into `path`, keeping the file's inode (a bind mount shows it).
pub fn write_in_place(path: &Path, content: &str) -> Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(path)
        .map_err(|e| EngineError::io("open", path, e))?;
    file.write_all(content.as_bytes())
        .map_err(|e| EngineError::io("write", path, e))
}

/// Docker's `/etc/hosts`: loopback entries, `--add-host` entries, then the container's own
/// address and names.
pub fn hosts(
    extra_hosts: &[String],
    own: Option<(Ipv4Addr, &str, &[String])>,
    host_gateway: Option<Ipv4Addr>,
) -> Result<String> {
    let mut out = String::from(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::\tip6-localnet\n\
         ff00::\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n",
    );
    for entry in extra_hosts {
        // `name:ip`, or the newer `name=ip`; the IP may be IPv6 and hold colons.
        let (name, ip) = entry
            .split_once('=')
            .or_else(|| entry.split_once(':'))
            .ok_or_else(|| {
                EngineError::Invalid(format!("invalid IP address in add-host: \"{entry}\""))
            })?;
        let ip = if ip == "host-gateway" {
            host_gateway.map(|g| g.to_string()).ok_or_else(|| {
                EngineError::Invalid("unable to derive the IP of host-gateway".into())
            })?
        } else {
            ip.trim_matches(|c| c == '[' || c == ']').to_string()
        };
        if ip.parse::<std::net::IpAddr>().is_err() {
            return Err(EngineError::Invalid(format!(
                "invalid IP address in add-host: \"{ip}\""
            )));
        }
        out.push_str(&format!("{ip}\t{name}\n"));
    }
    if let Some((ip, hostname, aliases)) = own {
        out.push_str(&format!("{ip}\t{hostname}"));
        for alias in aliases {
            if alias != hostname {
                out.push(' ');
                out.push_str(alias);
            }
        }
        out.push('\n');
    }
    Ok(out)
}

/// The host's resolv.conf made fit for a container on a bridge: loopback nameservers
/// cannot be reached from another namespace, so they are dropped (and Google's public
/// servers are NOT added: the machine may have no internet; the host's other servers stay).
pub fn bridge_resolv_conf(host: &str) -> String {
    host.lines()
        .filter(|line| {
            let mut words = line.split_whitespace();
            !(words.next() == Some("nameserver")
                && words
                    .next()
                    .and_then(|ip| ip.parse::<std::net::IpAddr>().ok())
                    .is_some_and(|ip| ip.is_loopback()))
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

/// `--dns`, `--dns-search`, `--dns-option` over a base resolv.conf: each given kind
/// replaces the base's lines of that kind.
pub fn override_resolv_conf(
    base: &str,
    servers: &[String],
    search: &[String],
    options: &[String],
) -> String {
    let mut out = String::new();
    for line in base.lines() {
        let keyword = line.split_whitespace().next().unwrap_or("");
        let replaced = (keyword == "nameserver" && !servers.is_empty())
            || ((keyword == "search" || keyword == "domain") && !search.is_empty())
            || (keyword == "options" && !options.is_empty());
        if !replaced {
            out.push_str(line);
            out.push('\n');
        }
    }
    for server in servers {
        out.push_str(&format!("nameserver {server}\n"));
    }
    if !search.is_empty() {
        out.push_str(&format!("search {}\n", search.join(" ")));
    }
    if !options.is_empty() {
        out.push_str(&format!("options {}\n", options.join(" ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_hold_extra_and_own_entries() {
        let text = hosts(
            &["db:10.0.0.5".into(), "v6=::1".into()],
            Some(("172.17.0.2".parse().unwrap(), "abc", &["web".to_string()])),
            None,
        )
        .unwrap();
        assert!(text.contains("10.0.0.5\tdb\n"));
        assert!(text.contains("::1\tv6\n"));
        assert!(text.ends_with("172.17.0.2\tabc web\n"));
        assert!(hosts(&["bad".into()], None, None).is_err());
        assert!(hosts(&["x:notanip".into()], None, None).is_err());
    }

    #[test]
    fn loopback_nameservers_are_dropped() {
        let text = bridge_resolv_conf("nameserver 127.0.0.53\nnameserver 10.0.0.1\nsearch lan\n");
        assert_eq!(text, "nameserver 10.0.0.1\nsearch lan\n");
    }

    #[test]
    fn dns_flags_replace_their_kind() {
        let text = override_resolv_conf(
            "nameserver 10.0.0.1\nsearch lan\n",
            &["1.1.1.1".into()],
            &[],
            &["ndots:2".into()],
        );
        assert_eq!(text, "search lan\nnameserver 1.1.1.1\noptions ndots:2\n");
    }
}
