//! Namespaces, sysctls, and the masked and read-only paths of `/proc` and `/sys`.
//!
//! Every container gets new pid, ipc, uts, mount, network and cgroup namespaces except
//! where it shares or joins one: `--pid host|container:X`, `--ipc host|container:X`,
//! `--uts host` (and `--network host` without `--hostname`, decided by the daemon in
//! `SpecContext::host_uts`), `--network host|container:X`, `--cgroupns host`. The cgroup
//! namespace is private unless `--cgroupns host`, on v1 hosts too (where dockerd defaults
//! to the host's), so that a container sees its own cgroup as the root everywhere.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use berth_client::types::host_config::HostConfig;
use oci_spec::runtime::{LinuxNamespace, LinuxNamespaceType};

use super::{NetworkNamespace, SpecContext, SpecError};

/// Docker's masked paths (`oci.DefaultSpec`).
pub const DEFAULT_MASKED_PATHS: [&str; 12] = [
    "/proc/asound",
    "/proc/acpi",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// Docker's read-only paths.
pub const DEFAULT_READONLY_PATHS: [&str; 5] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// Which namespaces the container shares with the host (none of these means "new or
/// joined").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedNamespaces {
    /// The host's network namespace.
    pub net: bool,
    /// The host's IPC namespace.
    pub ipc: bool,
    /// The host's UTS namespace.
    pub uts: bool,
    /// The host's PID namespace.
    pub pid: bool,
}

/// Whether the container uses the host's namespaces.
pub fn shared(host: &HostConfig, context: &SpecContext) -> SharedNamespaces {
    SharedNamespaces {
        net: context.network == NetworkNamespace::Host,
        ipc: context.join_ipc.is_none() && host.ipc_mode.as_deref() == Some("host"),
        uts: context.host_uts || host.uts_mode.as_deref() == Some("host"),
        pid: context.join_pid.is_none() && host.pid_mode.as_deref() == Some("host"),
    }
}

fn namespace(typ: LinuxNamespaceType, path: Option<PathBuf>) -> LinuxNamespace {
    let mut ns = LinuxNamespace::default();
    ns.set_typ(typ);
    ns.set_path(path);
    ns
}

/// The spec's namespace list.
pub fn namespaces(host: &HostConfig, context: &SpecContext) -> Vec<LinuxNamespace> {
    let shared = shared(host, context);
    let mut list = Vec::new();
    if !shared.pid {
        list.push(namespace(LinuxNamespaceType::Pid, context.join_pid.clone()));
    }
    if !shared.ipc {
        list.push(namespace(LinuxNamespaceType::Ipc, context.join_ipc.clone()));
    }
    if !shared.uts {
        list.push(namespace(LinuxNamespaceType::Uts, None));
    }
    list.push(namespace(LinuxNamespaceType::Mount, None));
    match &context.network {
        NetworkNamespace::New => list.push(namespace(LinuxNamespaceType::Network, None)),
        NetworkNamespace::Join(path) => {
            list.push(namespace(LinuxNamespaceType::Network, Some(path.clone())))
        }
        NetworkNamespace::Host => {}
    }
    if host.cgroupns_mode.as_deref() != Some("host") {
        list.push(namespace(LinuxNamespaceType::Cgroup, None));
    }
    list
}

/// The sysctls of `--sysctl`, each checked to belong to a namespace the container has
/// of its own (runc refuses the others; berth refuses them before anything is created).
pub fn sysctls(
    requested: &BTreeMap<String, String>,
    shared: SharedNamespaces,
) -> Result<HashMap<String, String>, SpecError> {
    for key in requested.keys() {
        let owner = if key.starts_with("net.") {
            Some(("network", shared.net))
        } else if key.starts_with("kernel.msg")
            || key.starts_with("kernel.shm")
            || key == "kernel.sem"
            || key.starts_with("fs.mqueue.")
        {
            Some(("IPC", shared.ipc))
        } else if key == "kernel.hostname" || key == "kernel.domainname" {
            Some(("UTS", shared.uts))
        } else {
            None
        };
        match owner {
            None => {
                return Err(SpecError::Invalid(format!(
                    "sysctl {key:?} is not in a separate kernel namespace"
                )))
            }
            Some((name, true)) => {
                return Err(SpecError::Invalid(format!(
                    "sysctl {key:?} not allowed in host {name} namespace"
                )))
            }
            Some((_, false)) => {}
        }
    }
    Ok(requested
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect())
}

/// Masked and read-only paths: the HostConfig's lists when given, none when privileged
/// or with `systempaths=unconfined`, Docker's defaults otherwise.
pub fn system_paths(host: &HostConfig, unconfined: bool) -> (Vec<String>, Vec<String>) {
    let privileged = host.privileged.unwrap_or(false);
    let pick = |given: &Option<Vec<String>>, defaults: &[&str]| -> Vec<String> {
        if unconfined {
            Vec::new()
        } else if let Some(list) = given {
            list.clone()
        } else if privileged {
            Vec::new()
        } else {
            defaults.iter().map(|p| p.to_string()).collect()
        }
    };
    (
        pick(&host.masked_paths, &DEFAULT_MASKED_PATHS),
        pick(&host.readonly_paths, &DEFAULT_READONLY_PATHS),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::tests::context;

    fn types(list: &[LinuxNamespace]) -> Vec<(LinuxNamespaceType, Option<PathBuf>)> {
        list.iter().map(|n| (n.typ(), n.path().clone())).collect()
    }

    #[test]
    fn default_is_every_namespace_new() {
        let list = namespaces(&HostConfig::default(), &context());
        let kinds: Vec<_> = list.iter().map(|n| n.typ()).collect();
        assert_eq!(
            kinds,
            [
                LinuxNamespaceType::Pid,
                LinuxNamespaceType::Ipc,
                LinuxNamespaceType::Uts,
                LinuxNamespaceType::Mount,
                LinuxNamespaceType::Network,
                LinuxNamespaceType::Cgroup,
            ]
        );
        assert!(list.iter().all(|n| n.path().is_none()));
    }

    #[test]
    fn host_and_joined_namespaces() {
        let mut ctx = context();
        ctx.network = NetworkNamespace::Host;
        ctx.host_uts = true;
        ctx.join_ipc = Some("/proc/42/ns/ipc".into());
        let host = HostConfig {
            pid_mode: Some("host".into()),
            cgroupns_mode: Some("host".into()),
            ..Default::default()
        };
        assert_eq!(
            types(&namespaces(&host, &ctx)),
            [
                (LinuxNamespaceType::Ipc, Some("/proc/42/ns/ipc".into())),
                (LinuxNamespaceType::Mount, None),
            ]
        );
        let mut ctx = context();
        ctx.network = NetworkNamespace::Join("/proc/7/ns/net".into());
        ctx.join_pid = Some("/proc/7/ns/pid".into());
        let host = HostConfig {
            ipc_mode: Some("host".into()),
            uts_mode: Some("host".into()),
            ..Default::default()
        };
        assert_eq!(
            types(&namespaces(&host, &ctx)),
            [
                (LinuxNamespaceType::Pid, Some("/proc/7/ns/pid".into())),
                (LinuxNamespaceType::Mount, None),
                (LinuxNamespaceType::Network, Some("/proc/7/ns/net".into())),
                (LinuxNamespaceType::Cgroup, None),
            ]
        );
    }

    fn map(items: &[(&str, &str)]) -> BTreeMap<String, String> {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn namespaced_sysctls_pass() {
        let private = SharedNamespaces {
            net: false,
            ipc: false,
            uts: false,
            pid: false,
        };
        let ok = map(&[
            ("net.ipv4.ip_forward", "1"),
            ("kernel.shmmax", "1000"),
            ("kernel.sem", "250 32000 32 128"),
            ("fs.mqueue.msg_max", "20"),
        ]);
        assert_eq!(sysctls(&ok, private).unwrap().len(), 4);
        assert_eq!(
            sysctls(&map(&[("vm.swappiness", "1")]), private),
            Err(SpecError::Invalid(
                "sysctl \"vm.swappiness\" is not in a separate kernel namespace".into()
            ))
        );
        let host_net = SharedNamespaces {
            net: true,
            ..private
        };
        assert_eq!(
            sysctls(&map(&[("net.ipv4.ip_forward", "1")]), host_net),
            Err(SpecError::Invalid(
                "sysctl \"net.ipv4.ip_forward\" not allowed in host network namespace".into()
            ))
        );
    }

    #[test]
    fn system_paths_defaults_overrides_and_privileged() {
        let (masked, readonly) = system_paths(&HostConfig::default(), false);
        assert!(masked.contains(&"/proc/kcore".to_string()));
        assert!(readonly.contains(&"/proc/sys".to_string()));
        let privileged = HostConfig {
            privileged: Some(true),
            ..Default::default()
        };
        assert_eq!(system_paths(&privileged, false), (vec![], vec![]));
        let given = HostConfig {
            masked_paths: Some(vec!["/proc/x".into()]),
            readonly_paths: Some(vec![]),
            ..Default::default()
        };
        assert_eq!(
            system_paths(&given, false),
            (vec!["/proc/x".to_string()], vec![])
        );
        assert_eq!(system_paths(&HostConfig::default(), true), (vec![], vec![]));
    }
}
