//! The device cgroup rules a container gets beyond its config, as runc adds them: every
//! container may create device nodes (mknod) and use the standard character devices and
//! its pseudo-terminals, plus each device its config lists in `linux.devices`.

use oci_spec::runtime::{
    LinuxDeviceCgroup, LinuxDeviceCgroupBuilder, LinuxDeviceType, LinuxResources, Spec,
};

/// (type, major, minor, access) of the rules every container gets.
const DEFAULT_RULES: [(LinuxDeviceType, Option<i64>, Option<i64>, &str); 10] = [
    (LinuxDeviceType::C, None, None, "m"),
    (LinuxDeviceType::B, None, None, "m"),
    (LinuxDeviceType::C, Some(1), Some(3), "rwm"), // null
    (LinuxDeviceType::C, Some(1), Some(5), "rwm"), // zero
    (LinuxDeviceType::C, Some(1), Some(7), "rwm"), // full
    (LinuxDeviceType::C, Some(1), Some(8), "rwm"), // random
    (LinuxDeviceType::C, Some(1), Some(9), "rwm"), // urandom
    (LinuxDeviceType::C, Some(5), Some(0), "rwm"), // tty
    (LinuxDeviceType::C, Some(5), Some(2), "rwm"), // ptmx
    (LinuxDeviceType::C, Some(136), None, "rwm"),  // pts/*
];

fn rule(
    typ: LinuxDeviceType,
    major: Option<i64>,
    minor: Option<i64>,
    access: &str,
) -> Option<LinuxDeviceCgroup> {
    let mut builder = LinuxDeviceCgroupBuilder::default()
        .allow(true)
        .typ(typ)
        .access(access);
    if let Some(major) = major {
        builder = builder.major(major);
    }
    if let Some(minor) = minor {
        builder = builder.minor(minor);
    }
    builder.build().ok()
}

/// The config's resources with the default and `linux.devices` allow rules appended
/// after the config's own rules (so a leading deny-all still lets them through).
pub(crate) fn effective_resources(spec: &Spec) -> LinuxResources {
    let linux = spec.linux().as_ref();
    let mut resources = linux
        .and_then(|l| l.resources().clone())
        .unwrap_or_default();
    let mut rules = resources.devices().clone().unwrap_or_default();
    rules.extend(
        DEFAULT_RULES
            .iter()
            .filter_map(|(t, ma, mi, a)| rule(*t, *ma, *mi, a)),
    );
    for device in linux
        .and_then(|l| l.devices().as_ref())
        .into_iter()
        .flatten()
    {
        let typ = match device.typ() {
            LinuxDeviceType::U => LinuxDeviceType::C,
            other => other,
        };
        rules.extend(rule(typ, Some(device.major()), Some(device.minor()), "rwm"));
    }
    resources.set_devices(Some(rules));
    resources
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_configs_deny_all() {
        let spec: Spec = serde_json::from_value(serde_json::json!({
            "ociVersion": "1.2.0",
            "linux": {
                "resources": {"devices": [{"allow": false, "access": "rwm"}]},
                "devices": [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}]
            }
        }))
        .unwrap();
        let rules = effective_resources(&spec).devices().clone().unwrap();
        assert!(!rules[0].allow());
        assert!(rules[1..].iter().all(|r| r.allow()));
        let text: Vec<String> = rules.iter().map(|r| r.to_string()).collect();
        assert!(text.iter().any(|r| r.contains("1:3")), "{text:?}");
        assert!(text.iter().any(|r| r.contains("10:229")), "{text:?}");
    }
}
