//! Devices: `--device`, `--device-cgroup-rule` and `--privileged`.
//!
//! The device cgroup starts from "deny everything", then allows the standard character
//! devices every container gets (null, zero, full, random, urandom, tty, console, ptmx,
//! the pseudo-terminals, and `mknod` of any node), then the user's devices and rules.
//! The nodes of the standard devices are created by the runtime itself. A privileged
//! container gets every device node of the host's `/dev` and an allow-all rule.

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use berth_client::types::host_config::DeviceMapping;
use oci_spec::runtime::{LinuxDevice, LinuxDeviceCgroup, LinuxDeviceType};

use super::SpecError;

/// (type, major, minor, access) of the rules every container gets after deny-all.
const STANDARD_RULES: [(LinuxDeviceType, Option<i64>, Option<i64>, &str); 11] = [
    (LinuxDeviceType::C, None, None, "m"),
    (LinuxDeviceType::B, None, None, "m"),
    (LinuxDeviceType::C, Some(1), Some(3), "rwm"), // null
    (LinuxDeviceType::C, Some(1), Some(5), "rwm"), // zero
    (LinuxDeviceType::C, Some(1), Some(7), "rwm"), // full
    (LinuxDeviceType::C, Some(1), Some(8), "rwm"), // random
    (LinuxDeviceType::C, Some(1), Some(9), "rwm"), // urandom
    (LinuxDeviceType::C, Some(5), Some(0), "rwm"), // tty
    (LinuxDeviceType::C, Some(5), Some(1), "rwm"), // console
    (LinuxDeviceType::C, Some(5), Some(2), "rwm"), // ptmx
    (LinuxDeviceType::C, Some(136), None, "rwm"),  // pts/*
];

/// Device nodes and cgroup rules for the spec.
#[derive(Debug, Default)]
pub struct Devices {
    /// Nodes to create in the container.
    pub nodes: Vec<LinuxDevice>,
    /// Device cgroup rules, in order.
    pub rules: Vec<LinuxDeviceCgroup>,
}

fn rule(
    allow: bool,
    typ: LinuxDeviceType,
    major: Option<i64>,
    minor: Option<i64>,
    access: &str,
) -> LinuxDeviceCgroup {
    let mut r = LinuxDeviceCgroup::default();
    r.set_allow(allow);
    r.set_typ(Some(typ));
    r.set_major(major);
    r.set_minor(minor);
    r.set_access(Some(access.to_string()));
    r
}

/// The devices of a container.
pub fn devices(
    privileged: bool,
    mappings: &[DeviceMapping],
    cgroup_rules: &[String],
) -> Result<Devices, SpecError> {
    if privileged {
        let mut nodes = Vec::new();
        host_devices(Path::new("/dev"), &mut nodes);
        return Ok(Devices {
            nodes,
            rules: vec![rule(true, LinuxDeviceType::A, None, None, "rwm")],
        });
    }
    let mut out = Devices {
        nodes: Vec::new(),
        rules: vec![rule(false, LinuxDeviceType::A, None, None, "rwm")],
    };
    out.rules.extend(
        STANDARD_RULES
            .iter()
            .map(|(t, ma, mi, a)| rule(true, *t, *ma, *mi, a)),
    );
    for mapping in mappings {
        add_mapping(mapping, &mut out)?;
    }
    for text in cgroup_rules {
        out.rules.push(parse_cgroup_rule(text)?);
    }
    Ok(out)
}

/// `--device HOST[:CONTAINER[:PERMISSIONS]]`: a device node, or every node under a
/// directory.
fn add_mapping(mapping: &DeviceMapping, out: &mut Devices) -> Result<(), SpecError> {
    let permissions = mapping
        .cgroup_permissions
        .as_deref()
        .filter(|p| !p.is_empty())
        .unwrap_or("rwm");
    if !valid_access(permissions) {
        return Err(SpecError::Invalid(format!(
            "invalid device cgroup permissions `{permissions}` for `{}`: use some of rwm",
            mapping.path_on_host
        )));
    }
    let host = fs::canonicalize(&mapping.path_on_host).map_err(|e| gather_error(mapping, &e))?;
    let in_container = if mapping.path_in_container.is_empty() {
        PathBuf::from(&mapping.path_on_host)
    } else {
        PathBuf::from(&mapping.path_in_container)
    };
    let meta = fs::metadata(&host).map_err(|e| gather_error(mapping, &e))?;
    if meta.is_dir() {
        let mut nodes = Vec::new();
        host_devices(&host, &mut nodes);
        for mut node in nodes {
            let relative = node
                .path()
                .strip_prefix(&host)
                .map(Path::to_path_buf)
                .unwrap_or_default();
            node.set_path(in_container.join(relative));
            out.rules.push(node_rule(&node, permissions));
            out.nodes.push(node);
        }
        return Ok(());
    }
    let mut node = device_node(&host, &meta).ok_or_else(|| {
        SpecError::Invalid(format!(
            "error gathering device information while adding custom device {:?}: not a device node",
            mapping.path_on_host
        ))
    })?;
    node.set_path(in_container);
    out.rules.push(node_rule(&node, permissions));
    out.nodes.push(node);
    Ok(())
}

fn gather_error(mapping: &DeviceMapping, e: &std::io::Error) -> SpecError {
    SpecError::Invalid(format!(
        "error gathering device information while adding custom device {:?}: {e}",
        mapping.path_on_host
    ))
}

fn valid_access(access: &str) -> bool {
    !access.is_empty() && access.len() <= 3 && access.chars().all(|c| "rwm".contains(c))
}

fn node_rule(node: &LinuxDevice, access: &str) -> LinuxDeviceCgroup {
    rule(
        true,
        node.typ(),
        Some(node.major()),
        Some(node.minor()),
        access,
    )
}

/// A device node's description, or None when `path` is not a device.
fn device_node(path: &Path, meta: &fs::Metadata) -> Option<LinuxDevice> {
    let file_type = meta.file_type();
    let typ = if file_type.is_char_device() {
        LinuxDeviceType::C
    } else if file_type.is_block_device() {
        LinuxDeviceType::B
    } else {
        return None;
    };
    let rdev = meta.rdev();
    let mut node = LinuxDevice::default();
    node.set_path(path.to_path_buf());
    node.set_typ(typ);
    node.set_major(i64::from(libc::major(rdev)));
    node.set_minor(i64::from(libc::minor(rdev)));
    node.set_file_mode(Some(meta.mode() & 0o7777));
    node.set_uid(Some(meta.uid()));
    node.set_gid(Some(meta.gid()));
    Some(node)
}

/// Every device node under `dir`, skipping what a container has of its own (pts, shm,
/// mqueue) and the host's console, as runc's `HostDevices` does.
fn host_devices(dir: &Path, out: &mut Vec<LinuxDevice>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            let name = entry.file_name();
            if matches!(
                name.to_str(),
                Some("pts" | "shm" | "fd" | "mqueue" | ".lxc" | ".lxd-mounts" | ".udev")
            ) {
                continue;
            }
            host_devices(&path, out);
            continue;
        }
        if path == Path::new("/dev/console") {
            continue;
        }
        if let Some(node) = device_node(&path, &meta) {
            out.push(node);
        }
    }
}

/// `--device-cgroup-rule 'c 1:3 rwm'`: type `a`/`b`/`c`, `major:minor` (numbers or `*`),
/// access.
pub fn parse_cgroup_rule(text: &str) -> Result<LinuxDeviceCgroup, SpecError> {
    let invalid = || SpecError::Invalid(format!("invalid device cgroup rule format: '{text}'"));
    let parts: Vec<&str> = text.split(' ').collect();
    let [typ, numbers, access] = parts.as_slice() else {
        return Err(invalid());
    };
    let typ = match *typ {
        "a" => LinuxDeviceType::A,
        "b" => LinuxDeviceType::B,
        "c" => LinuxDeviceType::C,
        _ => return Err(invalid()),
    };
    let (major, minor) = numbers.split_once(':').ok_or_else(invalid)?;
    let number = |n: &str| -> Result<Option<i64>, SpecError> {
        if n == "*" {
            Ok(None)
        } else if !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) {
            n.parse().map(Some).map_err(|_| invalid())
        } else {
            Err(invalid())
        }
    };
    if !valid_access(access) {
        return Err(invalid());
    }
    Ok(rule(true, typ, number(major)?, number(minor)?, access))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_rules_follow_deny_all() {
        let d = devices(false, &[], &[]).unwrap();
        assert!(d.nodes.is_empty());
        assert!(!d.rules[0].allow());
        assert_eq!(d.rules[0].typ(), Some(LinuxDeviceType::A));
        let null = d
            .rules
            .iter()
            .find(|r| r.major() == Some(1) && r.minor() == Some(3))
            .unwrap();
        assert!(null.allow());
        assert_eq!(null.access().as_deref(), Some("rwm"));
    }

    #[test]
    fn host_device_is_described_from_stat() {
        let mapping = DeviceMapping {
            path_on_host: "/dev/null".into(),
            path_in_container: "/dev/mynull".into(),
            cgroup_permissions: Some("rw".into()),
        };
        let d = devices(false, &[mapping], &[]).unwrap();
        assert_eq!(d.nodes.len(), 1);
        let node = &d.nodes[0];
        assert_eq!(node.path(), Path::new("/dev/mynull"));
        assert_eq!(node.typ(), LinuxDeviceType::C);
        assert_eq!((node.major(), node.minor()), (1, 3));
        assert_eq!(node.file_mode(), Some(0o666));
        let last = d.rules.last().unwrap();
        assert_eq!((last.major(), last.minor()), (Some(1), Some(3)));
        assert_eq!(last.access().as_deref(), Some("rw"));
    }

    #[test]
    fn non_devices_and_bad_permissions_are_invalid() {
        let file = DeviceMapping {
            path_on_host: "/etc/hostname".into(),
            ..Default::default()
        };
        assert!(devices(false, &[file], &[]).is_err());
        let missing = DeviceMapping {
            path_on_host: "/dev/does-not-exist".into(),
            ..Default::default()
        };
        assert!(devices(false, &[missing], &[]).is_err());
        let perms = DeviceMapping {
            path_on_host: "/dev/null".into(),
            cgroup_permissions: Some("rwx".into()),
            ..Default::default()
        };
        assert!(devices(false, &[perms], &[]).is_err());
    }

    #[test]
    fn cgroup_rules_parse() {
        let r = parse_cgroup_rule("c 1:3 rwm").unwrap();
        assert_eq!(r.typ(), Some(LinuxDeviceType::C));
        assert_eq!((r.major(), r.minor()), (Some(1), Some(3)));
        let r = parse_cgroup_rule("b 7:* rm").unwrap();
        assert_eq!((r.major(), r.minor()), (Some(7), None));
        assert_eq!(r.access().as_deref(), Some("rm"));
        for bad in [
            "x 1:3 rwm",
            "c 1 rwm",
            "c a:3 rwm",
            "c 1:3 rwz",
            "c 1:3",
            "",
        ] {
            assert_eq!(
                parse_cgroup_rule(bad),
                Err(SpecError::Invalid(format!(
                    "invalid device cgroup rule format: '{bad}'"
                )))
            );
        }
    }

    #[test]
    fn privileged_gets_host_devices_and_allow_all() {
        let d = devices(true, &[], &[]).unwrap();
        assert_eq!(d.rules.len(), 1);
        assert!(d.rules[0].allow());
        assert!(d.nodes.iter().any(|n| n.path() == Path::new("/dev/null")));
        assert!(!d.nodes.iter().any(|n| n.path().starts_with("/dev/pts")));
    }
}
