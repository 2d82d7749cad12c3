//! A spec built by `build_spec` runs: busybox containers started with berth-runtime
//! report from the inside what they see (capabilities, ids, environment, working
//! directory, read-only root, tmpfs, seccomp, init), and the test checks it.
//!
//! berth-runtime forks, so its callers must be single-threaded: this test binary has no
//! harness (`harness = false`), `main` runs the cases one after the other. It needs root;
//! without it, it says so and passes.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use berth_client::types::containers::ContainerConfig;
use berth_client::types::host_config::HostConfig;
use berth_engine::spec::{build_spec, NetworkNamespace, ResolvedMount, SpecContext};
use berth_runtime::container::{self, CreateOptions};
use berth_runtime::state::StateRoot;
use nix::unistd::Pid;

/// Docker's default capability set as `/proc/self/status` shows it.
const DOCKER_DEFAULT_CAPEFF: &str = "00000000a80425fb";

struct Case {
    name: &'static str,
    config: ContainerConfig,
    host: HostConfig,
    init: bool,
}

/// Runs `case` in a fresh busybox rootfs; returns what the script wrote to /report/out.
fn run(case: Case) -> String {
    let dir = tempfile::Builder::new()
        .prefix("berth-spec-runs-")
        .tempdir()
        .unwrap();
    let rootfs = berth_testkit::busybox::rootfs(dir.path());
    // Docker creates the working directory before start (the root may be read-only).
    fs::create_dir_all(rootfs.join("work")).unwrap();
    let report = dir.path().join("report");
    fs::create_dir(&report).unwrap();
    // Writable by the non-root users some cases run as.
    fs::set_permissions(&report, fs::Permissions::from_mode(0o777)).unwrap();
    let bundle = dir.path().join("bundle");
    fs::create_dir(&bundle).unwrap();

    let id = format!("spec-runs-{}-{}", std::process::id(), case.name);
    let context = SpecContext {
        id: id.clone(),
        rootfs: rootfs.clone(),
        network: NetworkNamespace::New,
        host_uts: false,
        mounts: vec![
            ResolvedMount::Bind {
                source: report.clone(),
                destination: "/report".into(),
                read_only: false,
                propagation: None,
                non_recursive: false,
            },
            ResolvedMount::Tmpfs {
                destination: "/scratch".into(),
                options: "size=1m".into(),
            },
        ],
        resolv_conf: None,
        hosts: None,
        hostname_file: None,
        init_binary: case.init.then(|| PathBuf::from("/usr/bin/tini-static")),
        cgroup_path: format!("/berth-{id}"),
        join_ipc: None,
        join_pid: None,
    };
    let spec = build_spec(&case.config, &case.host, &context).unwrap();
    fs::write(
        bundle.join("config.json"),
        serde_json::to_vec_pretty(&spec).unwrap(),
    )
    .unwrap();

    let state_root = StateRoot::new(dir.path().join("state"));
    let state = container::create(
        &state_root,
        CreateOptions {
            id: id.clone(),
            bundle,
            start_immediately: true,
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("{}: create failed: {e}", case.name));
    let status = container::wait_forwarding_signals(Pid::from_raw(state.pid)).unwrap();
    let _ = container::delete(&state_root, &id, true);
    let out = fs::read_to_string(report.join("out")).unwrap_or_default();
    assert_eq!(
        container::exit_code(status),
        0,
        "{}: the script failed:\n{out}",
        case.name
    );
    out
}

fn script(lines: &[&str]) -> ContainerConfig {
    let mut text = String::from("exec >/report/out 2>&1\n");
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    ContainerConfig {
        cmd: Some(vec!["sh".into(), "-c".into(), text]),
        ..Default::default()
    }
}

/// The value after `key` on the report's line starting with `key`.
fn field<'a>(out: &'a str, key: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(key))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no `{key}` in the report:\n{out}"))
}

fn default_container() {
    let mut config = script(&[
        "grep CapEff /proc/self/status",
        "echo uid: $(id -u)",
        "echo gid: $(id -g)",
        "echo FOO: $FOO",
        "echo PATH: $PATH",
        "echo HOSTNAME: $HOSTNAME $(hostname)",
        "echo cwd: $(pwd)",
        "if touch /rootfile 2>/dev/null; then echo root: writable; else echo root: read-only; fi",
        "if touch /scratch/x; then echo scratch: writable; fi",
        "echo scratch-mount: $(grep ' /scratch ' /proc/mounts)",
        "echo shm-mount: $(grep ' /dev/shm ' /proc/mounts)",
        "echo unshare: $(unshare -U true 2>&1 && echo ok)",
        "echo nofile: $(ulimit -n)",
    ]);
    config.env = Some(vec!["FOO=bar".into()]);
    config.working_dir = Some("/work".into());
    config.hostname = Some("spec-host".into());
    let host = HostConfig {
        readonly_rootfs: Some(true),
        shm_size: Some(2 << 20),
        ..Default::default()
    };
    let out = run(Case {
        name: "default",
        config,
        host,
        init: false,
    });
    assert_eq!(field(&out, "CapEff:"), DOCKER_DEFAULT_CAPEFF, "{out}");
    assert_eq!(field(&out, "uid:"), "0");
    assert_eq!(field(&out, "gid:"), "0");
    assert_eq!(field(&out, "FOO:"), "bar");
    assert_eq!(
        field(&out, "PATH:"),
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    );
    assert_eq!(field(&out, "HOSTNAME:"), "spec-host spec-host");
    assert_eq!(field(&out, "cwd:"), "/work");
    assert_eq!(field(&out, "root:"), "read-only");
    assert_eq!(field(&out, "scratch:"), "writable");
    let scratch = field(&out, "scratch-mount:");
    assert!(scratch.starts_with("tmpfs /scratch tmpfs"), "{scratch}");
    for option in ["nosuid", "nodev", "noexec", "size=1024k"] {
        assert!(scratch.contains(option), "{option} missing: {scratch}");
    }
    assert!(field(&out, "shm-mount:").contains("size=2048k"), "{out}");
    // The default seccomp profile: no user namespaces without CAP_SYS_ADMIN.
    assert!(
        field(&out, "unshare:").contains("Operation not permitted"),
        "{out}"
    );
    let (_, hard) =
        nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).unwrap();
    let expected = berth_engine::spec::DEFAULT_NOFILE.min(hard).to_string();
    assert_eq!(field(&out, "nofile:"), expected);
}

fn unconfined_user_with_caps_and_init() {
    let mut config = script(&[
        "grep CapEff /proc/self/status",
        "grep CapBnd /proc/self/status",
        "echo ids: $(id -u) $(id -g) $(id -G)",
        "echo pid1: $(tr '\\0' ' ' </proc/1/cmdline)",
        "echo nnp: $(grep NoNewPrivs /proc/self/status | cut -f2)",
        "echo seccomp: $(grep '^Seccomp:' /proc/self/status | cut -f2)",
        "echo unshare: $(unshare -U true 2>&1 && echo ok)",
    ]);
    config.user = Some("1000:1000".into());
    let host = HostConfig {
        cap_add: Some(vec!["net_admin".into()]),
        cap_drop: Some(vec!["CAP_CHOWN".into()]),
        group_add: Some(vec!["42".into()]),
        security_opt: Some(vec![
            "seccomp=unconfined".into(),
            "no-new-privileges".into(),
        ]),
        init: Some(true),
        ..Default::default()
    };
    let out = run(Case {
        name: "unconfined",
        config,
        host,
        init: true,
    });
    // A non-root user keeps no effective capability across exec (as under Docker); the
    // bounding set shows the adjusted list: default - CHOWN + NET_ADMIN.
    assert_eq!(field(&out, "CapEff:"), "0000000000000000", "{out}");
    let bounding = u64::from_str_radix(field(&out, "CapBnd:"), 16).unwrap();
    // CAP_CHOWN is bit 0, CAP_NET_ADMIN bit 12.
    let expected = (0xa80425fb_u64 & !1) | (1 << 12);
    assert_eq!(bounding, expected, "{out}");
    assert_eq!(field(&out, "ids:"), "1000 1000 1000 42");
    let pid1 = field(&out, "pid1:");
    assert!(
        pid1.starts_with("/sbin/docker-init -- sh -c exec"),
        "{pid1}"
    );
    assert_eq!(field(&out, "nnp:"), "1");
    assert_eq!(field(&out, "seccomp:"), "0");
    // Without the filter the same call succeeds: the default case's EPERM was seccomp's.
    assert_eq!(field(&out, "unshare:"), "ok", "{out}");
}

/// The cases, by name. This binary has its own `main` (the runtime forks: the process
/// must be single-threaded), speaking just enough of libtest's command line for
/// `cargo test` and `cargo nextest` (`--list --format terse`, a name filter, `--exact`).
const CASES: &[(&str, fn())] = &[
    ("default_container", default_container),
    (
        "unconfined_user_with_caps_and_init",
        unconfined_user_with_caps_and_init,
    ),
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        if !args.iter().any(|a| a == "--ignored") {
            for (name, _) in CASES {
                println!("{name}: test");
            }
        }
        return;
    }
    let exact = args.iter().any(|a| a == "--exact");
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let selected = |name: &str| {
        filters.is_empty()
            || filters.iter().any(|f| {
                if exact {
                    name == f.as_str()
                } else {
                    name.contains(f.as_str())
                }
            })
    };
    if !nix::unistd::geteuid().is_root() {
        println!("spec_runs: skipped: needs root to create containers");
        return;
    }
    if !Path::new("/usr/bin/tini-static").exists() {
        println!("spec_runs: skipped: needs /usr/bin/tini-static (Debian's tini)");
        return;
    }
    let mut ran = 0;
    for (name, case) in CASES {
        if selected(name) {
            case();
            println!("test {name} ... ok");
            ran += 1;
        }
    }
    println!("test result: ok. {ran} passed; 0 failed");
}
