//! build_spec as a whole: the rules that span modules.

use super::*;

/// A context for a container `0123456789abcdef...` on an empty rootfs.
pub(crate) fn context() -> SpecContext {
    SpecContext {
        id: "0123456789abcdef0123456789abcdef".into(),
        rootfs: PathBuf::from("/nonexistent/rootfs"),
        network: NetworkNamespace::New,
        host_uts: false,
        mounts: Vec::new(),
        resolv_conf: None,
        hosts: None,
        hostname_file: None,
        init_binary: None,
        cgroup_path: "/berth/0123456789ab".into(),
        join_ipc: None,
        join_pid: None,
    }
}

fn s(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn system() -> HostResources {
    HostResources {
        cpus: 2,
        online_cpus: "0-1".into(),
        online_mems: "0".into(),
        cgroup_v2_only: false,
        nofile_hard: u64::MAX,
    }
}

fn sh() -> ContainerConfig {
    ContainerConfig {
        cmd: Some(s(&["sh"])),
        ..Default::default()
    }
}

fn build(config: &ContainerConfig, host: &HostConfig, ctx: &SpecContext) -> Spec {
    build_spec_on(config, host, ctx, &system()).unwrap()
}

fn mount_at<'a>(spec: &'a Spec, dest: &str) -> Vec<&'a oci_spec::runtime::Mount> {
    spec.mounts()
        .iter()
        .flatten()
        .filter(|m| m.destination() == Path::new(dest))
        .collect()
}

#[test]
fn defaults_for_a_plain_container() {
    let spec = build(&sh(), &HostConfig::default(), &context());
    let process = spec.process().as_ref().unwrap();
    assert_eq!(process.args().as_deref(), Some(&s(&["sh"])[..]));
    assert_eq!(process.cwd(), Path::new("/"));
    assert_eq!(process.terminal(), Some(false));
    assert_eq!(process.user().uid(), 0);
    assert_eq!(
        process.env().as_deref(),
        Some(&s(&[&format!("PATH={DEFAULT_PATH}"), "HOSTNAME=0123456789ab"])[..])
    );
    assert_eq!(process.no_new_privileges(), Some(false));
    let caps = process.capabilities().as_ref().unwrap();
    assert_eq!(caps.bounding().as_ref().unwrap().len(), 14);
    assert_eq!(caps.effective(), caps.bounding());
    assert!(caps.inheritable().is_none() && caps.ambient().is_none());
    assert_eq!(spec.hostname().as_deref(), Some("0123456789ab"));
    let root = spec.root().as_ref().unwrap();
    assert_eq!(root.path(), Path::new("/nonexistent/rootfs"));
    assert_eq!(root.readonly(), Some(false));
    let linux = spec.linux().as_ref().unwrap();
    assert_eq!(
        linux.cgroups_path().as_deref(),
        Some(Path::new("/berth/0123456789ab"))
    );
    assert_eq!(linux.namespaces().as_ref().unwrap().len(), 6);
    assert!(linux.seccomp().is_some());
    assert!(linux
        .masked_paths()
        .as_ref()
        .unwrap()
        .contains(&"/proc/kcore".into()));
    assert!(linux.sysctl().is_none());
    assert_eq!(mount_at(&spec, "/dev/shm").len(), 1);
}

#[test]
fn spec_serializes_to_a_config_json_the_runtime_accepts() {
    let bundle = tempfile::tempdir().unwrap();
    std::fs::create_dir(bundle.path().join("rootfs")).unwrap();
    let mut ctx = context();
    ctx.rootfs = bundle.path().join("rootfs");
    let spec = build(&sh(), &HostConfig::default(), &ctx);
    let json = serde_json::to_string_pretty(&spec).unwrap();
    std::fs::write(bundle.path().join("config.json"), json).unwrap();
    let loaded = berth_runtime::spec::load_bundle(bundle.path()).unwrap();
    assert_eq!(loaded.spec, spec);
}

#[test]
fn tty_console_size_and_domainname() {
    let config = ContainerConfig {
        tty: Some(true),
        hostname: Some("web".into()),
        domainname: Some("example.org".into()),
        ..sh()
    };
    let host = HostConfig {
        console_size: Some([40, 120]),
        ..Default::default()
    };
    let spec = build(&config, &host, &context());
    let process = spec.process().as_ref().unwrap();
    assert_eq!(process.terminal(), Some(true));
    let size = process.console_size().unwrap();
    assert_eq!((size.height(), size.width()), (40, 120));
    assert!(process
        .env()
        .as_ref()
        .unwrap()
        .contains(&"TERM=xterm".into()));
    assert!(process
        .env()
        .as_ref()
        .unwrap()
        .contains(&"HOSTNAME=web".into()));
    assert_eq!(spec.hostname().as_deref(), Some("web"));
    assert_eq!(spec.domainname().as_deref(), Some("example.org"));
}

#[test]
fn host_uts_keeps_the_hosts_name() {
    let mut ctx = context();
    ctx.network = NetworkNamespace::Host;
    ctx.host_uts = true;
    let spec = build(&sh(), &HostConfig::default(), &ctx);
    assert_eq!(spec.hostname(), &None);
    let host_name = nix::unistd::gethostname().unwrap().into_string().unwrap();
    let env = spec.process().as_ref().unwrap().env().clone().unwrap();
    assert!(env.contains(&format!("HOSTNAME={host_name}")));
}

#[test]
fn init_prefixes_args_and_binds_the_binary_read_only() {
    let mut ctx = context();
    ctx.init_binary = Some("/usr/bin/tini-static".into());
    let host = HostConfig {
        init: Some(true),
        ..Default::default()
    };
    let spec = build(&sh(), &host, &ctx);
    assert_eq!(
        spec.process().as_ref().unwrap().args().as_deref(),
        Some(&s(&["/sbin/docker-init", "--", "sh"])[..])
    );
    let init = mount_at(&spec, "/sbin/docker-init");
    assert_eq!(init.len(), 1);
    assert_eq!(
        init[0].source().as_deref(),
        Some(Path::new("/usr/bin/tini-static"))
    );
    assert_eq!(init[0].options().as_deref(), Some(&s(&["bind", "ro"])[..]));
    assert!(build_spec_on(&sh(), &host, &context(), &system()).is_err());
}

#[test]
fn user_is_resolved_in_the_rootfs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("etc")).unwrap();
    std::fs::write(
        dir.path().join("etc/passwd"),
        "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("etc/group"),
        "root:x:0:\napp:x:1000:\ndocker:x:999:app\n",
    )
    .unwrap();
    let mut ctx = context();
    ctx.rootfs = dir.path().to_path_buf();
    let config = ContainerConfig {
        user: Some("app".into()),
        ..sh()
    };
    let host = HostConfig {
        group_add: Some(s(&["42"])),
        ..Default::default()
    };
    let spec = build(&config, &host, &ctx);
    let user = spec.process().as_ref().unwrap().user().clone();
    assert_eq!((user.uid(), user.gid()), (1000, 1000));
    assert_eq!(user.additional_gids().as_deref(), Some(&[999, 42][..]));
    let unknown = ContainerConfig {
        user: Some("ghost".into()),
        ..sh()
    };
    assert_eq!(
        build_spec_on(&unknown, &HostConfig::default(), &ctx, &system()),
        Err(SpecError::Invalid(
            "unable to find user ghost: no matching entries in passwd file".into()
        ))
    );
}

#[test]
fn privileged_gets_everything_and_no_confinement() {
    let host = HostConfig {
        privileged: Some(true),
        ..Default::default()
    };
    let spec = build(&sh(), &host, &context());
    let caps = spec
        .process()
        .as_ref()
        .unwrap()
        .capabilities()
        .clone()
        .unwrap();
    let host_allowed = super::security::ALL_CAPABILITIES
        .iter()
        .filter(|c| caps.bounding().as_ref().unwrap().contains(c))
        .count();
    assert!(
        host_allowed >= 38,
        "privileged gets (nearly) every capability"
    );
    assert_eq!(caps.effective().as_ref().unwrap().len(), host_allowed);
    let linux = spec.linux().as_ref().unwrap();
    assert!(linux.seccomp().is_none());
    assert_eq!(linux.masked_paths().as_deref(), Some(&[][..]));
    assert_eq!(linux.readonly_paths().as_deref(), Some(&[][..]));
    let rules = linux
        .resources()
        .as_ref()
        .unwrap()
        .devices()
        .clone()
        .unwrap();
    assert_eq!(rules.len(), 1);
    assert!(rules[0].allow());
    assert!(linux
        .devices()
        .iter()
        .flatten()
        .any(|d| d.path() == Path::new("/dev/null")));
    let sys = mount_at(&spec, "/sys");
    assert!(sys[0].options().as_ref().unwrap().contains(&"rw".into()));
}

#[test]
fn security_opts_reach_the_spec() {
    let host = HostConfig {
        security_opt: Some(s(&[
            "no-new-privileges",
            "seccomp=unconfined",
            "label=disable",
        ])),
        ..Default::default()
    };
    let spec = build(&sh(), &host, &context());
    assert_eq!(
        spec.process().as_ref().unwrap().no_new_privileges(),
        Some(true)
    );
    assert!(spec.linux().as_ref().unwrap().seccomp().is_none());
    let bad = HostConfig {
        security_opt: Some(s(&["bogus=1"])),
        ..Default::default()
    };
    assert!(build_spec_on(&sh(), &bad, &context(), &system()).is_err());
}

#[test]
fn read_only_rootfs_makes_etc_files_read_only() {
    let mut ctx = context();
    ctx.resolv_conf = Some("/run/berth/c/resolv.conf".into());
    ctx.hosts = Some("/run/berth/c/hosts".into());
    ctx.hostname_file = Some("/run/berth/c/hostname".into());
    let host = HostConfig {
        readonly_rootfs: Some(true),
        ..Default::default()
    };
    let spec = build(&sh(), &host, &ctx);
    assert_eq!(spec.root().as_ref().unwrap().readonly(), Some(true));
    for dest in ["/etc/resolv.conf", "/etc/hosts", "/etc/hostname"] {
        let m = mount_at(&spec, dest);
        assert_eq!(m.len(), 1, "{dest}");
        assert_eq!(
            m[0].options().as_deref(),
            Some(&s(&["rbind", "ro", "rprivate"])[..])
        );
    }
    let writable = build(&sh(), &HostConfig::default(), &ctx);
    assert_eq!(
        mount_at(&writable, "/etc/hosts")[0].options().as_deref(),
        Some(&s(&["rbind", "rprivate"])[..])
    );
}

#[test]
fn user_mounts_tmpfs_map_and_order() {
    let mut ctx = context();
    ctx.mounts = vec![
        ResolvedMount::Bind {
            source: "/srv/data".into(),
            destination: "/data/sub".into(),
            read_only: true,
            propagation: None,
            non_recursive: false,
        },
        ResolvedMount::Bind {
            source: "/srv/vol".into(),
            destination: "/data".into(),
            read_only: false,
            propagation: Some("rshared".into()),
            non_recursive: false,
        },
        ResolvedMount::Tmpfs {
            destination: "/cache".into(),
            options: "size=1m".into(),
        },
    ];
    ctx.resolv_conf = Some("/run/resolv.conf".into());
    let host = HostConfig {
        tmpfs: Some(
            [
                ("/run".to_string(), "exec".to_string()),
                ("/cache".to_string(), "size=9m".to_string()),
            ]
            .into_iter()
            .collect(),
        ),
        ..Default::default()
    };
    let spec = build(&sh(), &host, &ctx);
    let dests: Vec<String> = spec
        .mounts()
        .iter()
        .flatten()
        .skip(7)
        .map(|m| m.destination().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        dests,
        ["/data", "/cache", "/run", "/data/sub", "/etc/resolv.conf"]
    );
    let cache = mount_at(&spec, "/cache");
    assert_eq!(cache.len(), 1);
    assert!(cache[0]
        .options()
        .as_ref()
        .unwrap()
        .contains(&"size=1m".into()));
    let run = mount_at(&spec, "/run");
    assert_eq!(
        run[0].options().as_deref(),
        Some(&s(&["nosuid", "nodev", "rprivate", "exec"])[..])
    );
    assert_eq!(
        spec.linux()
            .as_ref()
            .unwrap()
            .rootfs_propagation()
            .as_deref(),
        Some("rshared")
    );
}

#[test]
fn resources_devices_and_sysctls_reach_linux() {
    let host = HostConfig {
        memory: Some(64 << 20),
        nano_cpus: Some(500_000_000),
        pids_limit: Some(50),
        devices: Some(vec![berth_client::types::host_config::DeviceMapping {
            path_on_host: "/dev/zero".into(),
            path_in_container: "/dev/myzero".into(),
            cgroup_permissions: Some("r".into()),
        }]),
        device_cgroup_rules: Some(s(&["c 42:* rmw"])),
        sysctls: Some(
            [("net.core.somaxconn".to_string(), "1024".to_string())]
                .into_iter()
                .collect(),
        ),
        ulimits: Some(vec![berth_client::types::host_config::Ulimit {
            name: "nproc".into(),
            soft: 10,
            hard: 20,
        }]),
        oom_score_adj: Some(-500),
        ..Default::default()
    };
    let spec = build(&sh(), &host, &context());
    let linux = spec.linux().as_ref().unwrap();
    let resources = linux.resources().as_ref().unwrap();
    assert_eq!(resources.memory().unwrap().limit(), Some(64 << 20));
    assert_eq!(resources.cpu().as_ref().unwrap().quota(), Some(50_000));
    assert_eq!(resources.pids().as_ref().unwrap().limit(), 50);
    let rules = resources.devices().clone().unwrap();
    assert!(!rules[0].allow());
    let last = rules.last().unwrap();
    assert_eq!((last.major(), last.minor()), (Some(42), None));
    let node = &linux.devices().as_ref().unwrap()[0];
    assert_eq!(node.path(), Path::new("/dev/myzero"));
    assert_eq!((node.major(), node.minor()), (1, 5));
    assert_eq!(
        linux.sysctl().as_ref().unwrap()["net.core.somaxconn"],
        "1024"
    );
    let process = spec.process().as_ref().unwrap();
    assert_eq!(process.oom_score_adj(), Some(-500));
    assert_eq!(process.rlimits().as_ref().unwrap().len(), 2);

    let mut host_net = context();
    host_net.network = NetworkNamespace::Host;
    assert!(build_spec_on(&sh(), &host, &host_net, &system()).is_err());
}

#[test]
fn validation_errors_surface_with_dockers_words() {
    let host = HostConfig {
        memory: Some(1024),
        ..Default::default()
    };
    assert_eq!(
        build_spec_on(&sh(), &host, &context(), &system()),
        Err(SpecError::Invalid(
            "Minimum memory limit allowed is 6MB".into()
        ))
    );
    assert_eq!(
        build_spec_on(
            &ContainerConfig::default(),
            &HostConfig::default(),
            &context(),
            &system()
        ),
        Err(SpecError::Invalid("No command specified".into()))
    );
}

#[test]
fn cap_add_lifts_seccomp_rules() {
    let host = HostConfig {
        cap_add: Some(s(&["SYS_ADMIN"])),
        ..Default::default()
    };
    let spec = build(&sh(), &host, &context());
    let seccomp = spec.linux().as_ref().unwrap().seccomp().clone().unwrap();
    assert!(!seccomp
        .syscalls()
        .iter()
        .flatten()
        .any(|r| r.names().contains(&"unshare".to_string())));
}
