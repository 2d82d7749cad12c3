//! What a process inside a `berth runtime` container sees of its namespaces: its own pid,
//! uts, network, user and cgroup namespaces, existing ones joined by path, and sysctls set
//! inside them. Every check runs busybox inside the container and asserts on its output.
//!
//! Check the tests themselves with `BERTH_TEST_RUNTIME=runc cargo test -p berth --test
//! 'runtime_isolation*'`.

// Tests may unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used)]

#[path = "runtime_isolation/common.rs"]
mod common;
mod support;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::process::Command;

use common::sh;
use serde_json::json;
use support::{Bundle, Runtime};

#[test]
fn process_is_pid_1_of_its_own_pid_namespace() {
    let out = sh(Bundle::new("pid1"), "echo $$; ps -o pid | wc -l");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "1");
    // Header, sh, ps and wc: no host process is visible.
    assert!(lines[1].parse::<u32>().unwrap() <= 4, "{out}");
}

#[test]
fn hostname_is_the_containers_own() {
    let host = nix::unistd::gethostname().unwrap();
    let mut bundle = Bundle::new("hostname");
    bundle.hostname("inside-berth");
    let out = sh(bundle, "hostname; uname -n");
    assert_eq!(out, "inside-berth\ninside-berth");
    assert_eq!(
        nix::unistd::gethostname().unwrap(),
        host,
        "host name changed"
    );
}

#[test]
fn domainname_is_set() {
    let rt = Runtime::new();
    let mut bundle = Bundle::new("domainname");
    bundle.config_mut()["domainname"] = json!("berth.example");
    bundle.sh("cat /proc/sys/kernel/domainname");
    let c = rt.container(bundle);
    let out = c.run(&[]).ok();
    // runc 1.1 predates `domainname` and ignores it; only berth is held to the spec here.
    let want = if rt.is_berth() {
        "berth.example"
    } else {
        "(none)"
    };
    assert_eq!(out.out(), want);
}

#[test]
fn user_namespace_maps_root_to_an_unprivileged_host_uid() {
    let mut bundle = Bundle::new("userns");
    bundle.user_namespace(100000, 65536);
    let out = sh(
        bundle,
        "id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map; echo $$",
    );
    let lines: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines[0], ["0"], "{out}");
    assert_eq!(lines[1], ["0"], "{out}");
    assert_eq!(lines[2], ["0", "100000", "65536"], "{out}");
    assert_eq!(lines[3], ["0", "100000", "65536"], "{out}");
    assert_eq!(lines[4], ["1"], "{out}");
}

/// A named network namespace (`ip netns add`), deleted on drop.
struct NetNs(String);

impl NetNs {
    fn new(tag: &str) -> NetNs {
        let name = format!("berth-test-{tag}-{}", std::process::id());
        let st = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .unwrap();
        assert!(st.success(), "ip netns add {name}");
        NetNs(name)
    }

    fn path(&self) -> String {
        format!("/var/run/netns/{}", self.0)
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

#[test]
fn joins_an_existing_network_namespace_by_path() {
    let ns = NetNs::new("join");
    let inode = fs::metadata(ns.path()).unwrap().ino();
    let mut bundle = Bundle::new("netns-join");
    bundle.namespace("network", Some(&ns.path()));
    let out = sh(bundle, "readlink /proc/self/ns/net");
    assert_eq!(out, format!("net:[{inode}]"));
    let own = fs::read_link("/proc/self/ns/net").unwrap();
    assert_ne!(own.to_string_lossy(), out, "the host's namespace was used");
}

#[test]
fn joins_an_existing_uts_namespace_by_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("uts");
    fs::write(&file, "").unwrap();
    let st = Command::new("unshare")
        .arg(format!("--uts={}", file.display()))
        .args(["hostname", "joined-uts"])
        .status()
        .unwrap();
    assert!(st.success());
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = nix::mount::umount2(&self.0, nix::mount::MntFlags::MNT_DETACH);
        }
    }
    let _unmount = Unmount(file.clone());
    let mut bundle = Bundle::new("utsns-join");
    bundle.namespace("uts", Some(file.to_str().unwrap()));
    bundle
        .config_mut()
        .as_object_mut()
        .unwrap()
        .remove("hostname");
    assert_eq!(sh(bundle, "hostname"), "joined-uts");
}

#[test]
fn sysctls_are_set_in_the_containers_namespaces() {
    let host_forward = fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap();
    let mut bundle = Bundle::new("sysctl");
    bundle
        .sysctl("net.ipv4.ip_forward", "1")
        .sysctl("kernel.shm_rmid_forced", "1");
    let out = sh(
        bundle,
        "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shm_rmid_forced",
    );
    assert_eq!(out, "1\n1");
    assert_eq!(
        fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap(),
        host_forward,
        "the host's sysctl changed"
    );
}

#[test]
fn cgroup_namespace_hides_the_host_path() {
    let mut bundle = Bundle::new("cgroupns");
    bundle.namespace("cgroup", None);
    let out = sh(bundle, "cat /proc/self/cgroup");
    for line in out.lines() {
        let path = line.rsplit(':').next().unwrap();
        assert_eq!(path, "/", "host cgroup path visible: {out}");
    }
}

#[test]
fn network_namespace_has_only_loopback() {
    let out = sh(Bundle::new("netns-own"), "ls /sys/class/net");
    assert_eq!(out, "lo");
}

#[test]
fn listed_namespaces_are_new_and_unlisted_ones_shared() {
    let kinds = ["pid", "net", "ipc", "uts", "mnt", "cgroup", "user"];
    let host: Vec<String> = kinds
        .iter()
        .map(|k| {
            fs::read_link(format!("/proc/self/ns/{k}"))
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let script = kinds
        .iter()
        .map(|k| format!("readlink /proc/self/ns/{k}"))
        .collect::<Vec<_>>()
        .join("; ");
    let out = sh(Bundle::new("ns-inodes"), &script);
    let inside: Vec<&str> = out.lines().collect();
    for (i, kind) in kinds.iter().enumerate() {
        // The default config lists pid, network, ipc, uts and mount.
        let new = i < 5;
        assert_eq!(
            inside[i] != host[i],
            new,
            "{kind}: inside {} host {}",
            inside[i],
            host[i]
        );
    }
}
