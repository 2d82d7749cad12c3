//! cgroup management on the real host, as root. This host is hybrid (v1 controllers
//! plus a cgroup2 tree at /sys/fs/cgroup/unified); the tests also hold on pure v1 and
//! v2 hosts where the files they read back exist. Every test works in a cgroup of its
//! own and a [`Guard`] kills its processes and removes the cgroup even on failure.

// Tests may panic on unexpected results (the workspace warns on unwrap for library code).
#![allow(clippy::unwrap_used)]

use std::ffi::CString;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use berth_runtime::cgroups::{CgroupManager, Layout};
use oci_spec::runtime::{
    LinuxCpuBuilder, LinuxDeviceCgroup, LinuxDeviceCgroupBuilder, LinuxDeviceType,
    LinuxMemoryBuilder, LinuxPidsBuilder, LinuxResources, LinuxResourcesBuilder,
};

/// Owns a test cgroup (directly below each hierarchy's root, so no shared parent is
/// left behind): on drop, thaws it, SIGKILLs every process in it (all started by
/// the test), waits for them and removes the directories.
struct Guard {
    m: CgroupManager,
    children: Vec<Child>,
}

impl Guard {
    fn new(test: &str) -> Self {
        let id = format!("{test}-{}", std::process::id());
        let m = CgroupManager::new(Some(Path::new(&format!("/berth-test-{id}"))), &id).unwrap();
        Self::from(m)
    }

    fn from(m: CgroupManager) -> Self {
        m.create().unwrap();
        Self {
            m,
            children: Vec::new(),
        }
    }

    /// The container's directory in the hierarchy mounted at `mount`.
    fn dir(&self, mount: &str) -> PathBuf {
        let mount = Path::new(mount);
        self.m
            .directories()
            .into_iter()
            .find(|d| d.starts_with(mount))
            .unwrap_or_else(|| panic!("no directory under {}", mount.display()))
            .to_path_buf()
    }

    fn read(&self, mount: &str, file: &str) -> String {
        let path = self.dir(mount).join(file);
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .trim()
            .to_owned()
    }

    /// Starts `cmd` already inside the cgroup: the child writes "0" (itself) to every
    /// `cgroup.procs` before exec, so even its first fork is accounted.
    fn spawn_inside(&mut self, cmd: &mut Command) -> &mut Child {
        let procs: Vec<CString> = self
            .m
            .directories()
            .iter()
            .map(|d| {
                CString::new(d.join("cgroup.procs").into_os_string().into_encoded_bytes()).unwrap()
            })
            .collect();
        // SAFETY: the closure runs between fork and exec and only calls open/write/close,
        // which are async-signal-safe, on buffers prepared before the fork.
        unsafe {
            cmd.pre_exec(move || {
                for path in &procs {
                    let fd = libc::open(path.as_ptr(), libc::O_WRONLY);
                    if fd < 0 || libc::write(fd, b"0".as_ptr().cast(), 1) != 1 {
                        return Err(std::io::Error::last_os_error());
                    }
                    libc::close(fd);
                }
                Ok(())
            });
        }
        self.children.push(cmd.spawn().unwrap());
        self.children.last_mut().unwrap()
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.m.thaw();
        let deadline = Instant::now() + Duration::from_secs(5);
        while let Ok(pids) = self.m.pids() {
            if pids.is_empty() || Instant::now() > deadline {
                break;
            }
            for pid in pids {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = self.m.destroy();
    }
}

fn resources(f: impl FnOnce(LinuxResourcesBuilder) -> LinuxResourcesBuilder) -> LinuxResources {
    f(LinuxResourcesBuilder::default()).build().unwrap()
}

fn memory(limit: i64, swap: i64) -> LinuxResources {
    resources(|r| {
        r.memory(
            LinuxMemoryBuilder::default()
                .limit(limit)
                .swap(swap)
                .build()
                .unwrap(),
        )
    })
}

fn pids_limit(limit: i64) -> LinuxResources {
    resources(|r| r.pids(LinuxPidsBuilder::default().limit(limit).build().unwrap()))
}

fn device(
    allow: bool,
    typ: LinuxDeviceType,
    major: i64,
    minor: i64,
    access: &str,
) -> LinuxDeviceCgroup {
    let mut b = LinuxDeviceCgroupBuilder::default()
        .allow(allow)
        .typ(typ)
        .access(access);
    if major >= 0 {
        b = b.major(major);
    }
    if minor >= 0 {
        b = b.minor(minor);
    }
    b.build().unwrap()
}

#[test]
fn this_host_is_detected_as_hybrid_with_named_and_unified_directories() {
    let g = Guard::new("layout");
    assert_eq!(g.m.layout(), Layout::Hybrid);
    let id = format!("berth-test-layout-{}", std::process::id());
    for mount in [
        "memory", "cpu", "cpuset", "pids", "freezer", "devices", "systemd", "unified",
    ] {
        let dir = g.dir(&format!("/sys/fs/cgroup/{mount}"));
        assert!(dir.ends_with(&id), "{}", dir.display());
        assert!(dir.is_dir(), "{} was not created", dir.display());
    }
}

#[test]
fn relative_paths_nest_under_the_callers_own_cgroup() {
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let memory_own = own
        .lines()
        .find_map(|l| {
            l.strip_prefix(|c: char| c.is_ascii_digit())
                .and_then(|l| l.strip_prefix(":memory:"))
        })
        .unwrap()
        .to_owned();
    let name = format!("berth-rel-{}", std::process::id());
    let m = CgroupManager::new(Some(Path::new(&name)), "rel").unwrap();
    let g = Guard::from(m);
    let expected = Path::new("/sys/fs/cgroup/memory")
        .join(memory_own.trim_start_matches('/'))
        .join(&name);
    assert_eq!(g.dir("/sys/fs/cgroup/memory"), expected);
    assert!(expected.is_dir());
}

#[test]
fn limits_are_written_and_updates_reorder_memory_and_swap() {
    let g = Guard::new("limits");
    let mib = 1i64 << 20;
    g.m.apply(&memory(64 * mib, 128 * mib)).unwrap();
    let mem = "/sys/fs/cgroup/memory";
    assert_eq!(g.read(mem, "memory.limit_in_bytes"), (64 * mib).to_string());
    assert_eq!(
        g.read(mem, "memory.memsw.limit_in_bytes"),
        (128 * mib).to_string()
    );
    // Raising both needs memsw first, lowering both needs the limit first; the kernel
    // refuses the other orders.
    g.m.apply(&memory(512 * mib, 1024 * mib)).unwrap();
    assert_eq!(
        g.read(mem, "memory.limit_in_bytes"),
        (512 * mib).to_string()
    );
    assert_eq!(
        g.read(mem, "memory.memsw.limit_in_bytes"),
        (1024 * mib).to_string()
    );
    g.m.apply(&memory(32 * mib, 48 * mib)).unwrap();
    assert_eq!(g.read(mem, "memory.limit_in_bytes"), (32 * mib).to_string());
    assert_eq!(
        g.read(mem, "memory.memsw.limit_in_bytes"),
        (48 * mib).to_string()
    );

    let cpu = LinuxCpuBuilder::default()
        .shares(512u64)
        .quota(20_000)
        .period(50_000u64)
        .cpus("0")
        .mems("0")
        .build()
        .unwrap();
    g.m.apply(&resources(|r| r.cpu(cpu))).unwrap();
    assert_eq!(g.read("/sys/fs/cgroup/cpu", "cpu.shares"), "512");
    assert_eq!(g.read("/sys/fs/cgroup/cpu", "cpu.cfs_quota_us"), "20000");
    assert_eq!(g.read("/sys/fs/cgroup/cpu", "cpu.cfs_period_us"), "50000");
    assert_eq!(g.read("/sys/fs/cgroup/cpuset", "cpuset.cpus"), "0");

    g.m.apply(&pids_limit(7)).unwrap();
    assert_eq!(g.read("/sys/fs/cgroup/pids", "pids.max"), "7");
    g.m.apply(&pids_limit(-1)).unwrap();
    assert_eq!(g.read("/sys/fs/cgroup/pids", "pids.max"), "max");

    let rules = vec![
        device(false, LinuxDeviceType::A, -1, -1, "rwm"),
        device(true, LinuxDeviceType::C, 1, 3, "rwm"),
        device(true, LinuxDeviceType::C, 136, -1, "rw"),
    ];
    g.m.apply(&resources(|r| r.devices(rules))).unwrap();
    assert_eq!(
        g.read("/sys/fs/cgroup/devices", "devices.list"),
        "c 1:3 rwm\nc 136:* rw"
    );
}

#[test]
fn a_refused_value_is_reported_with_file_and_value() {
    let g = Guard::new("refused");
    // cpu.shares below 2 is clamped, but a quota below 1ms is refused by the kernel.
    let cpu = LinuxCpuBuilder::default().quota(10).build().unwrap();
    let err =
        g.m.apply(&resources(|r| r.cpu(cpu)))
            .unwrap_err()
            .to_string();
    assert!(
        err.contains("cpu.cfs_quota_us") && err.contains("`10`"),
        "{err}"
    );
}

#[test]
fn processes_join_every_hierarchy_are_listed_and_can_be_frozen() {
    let mut g = Guard::new("freeze");
    let out = std::env::temp_dir().join(format!("berth-freeze-{}", std::process::id()));
    let _ = std::fs::remove_file(&out);
    let child = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "while :; do echo x >> {}; sleep 0.02; done",
            out.display()
        ))
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    g.children.push(child);
    g.m.add_process(pid).unwrap();

    assert!(g.m.pids().unwrap().contains(&pid));
    let membership = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let id = format!("/berth-test-freeze-{}", std::process::id());
    for line in membership.lines() {
        assert!(line.ends_with(&id), "not moved in this hierarchy: {line}");
    }

    let size = || std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    g.m.freeze().unwrap();
    assert!(g.m.is_frozen().unwrap());
    assert_eq!(g.read("/sys/fs/cgroup/freezer", "freezer.state"), "FROZEN");
    let before = size();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(size(), before, "a frozen shell kept writing");

    g.m.thaw().unwrap();
    assert!(!g.m.is_frozen().unwrap());
    std::thread::sleep(Duration::from_millis(300));
    assert!(size() > before, "the thawed shell did not resume");
    let _ = std::fs::remove_file(&out);
}

#[test]
fn a_pids_limit_makes_forks_fail() {
    let mut g = Guard::new("pids");
    g.m.apply(&pids_limit(5)).unwrap();
    let child = g.spawn_inside(
        Command::new("sh")
            .arg("-c")
            .arg("for i in 1 2 3 4 5 6 7 8; do sleep 2 & done; wait")
            .stderr(Stdio::piped()),
    );
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(
        stderr.contains("fork") || stderr.contains("Resource temporarily unavailable"),
        "forks beyond the limit did not fail: {stderr:?}"
    );
    assert_eq!(g.m.stats().unwrap().pids.limit, 5);
}

#[test]
fn a_memory_limit_gets_a_hungry_process_oom_killed() {
    let mut g = Guard::new("oom");
    let limit = 32i64 << 20;
    // memsw equal to the limit: no swap to escape to.
    g.m.apply(&memory(limit, limit)).unwrap();
    assert_eq!(g.m.oom_kill_count().unwrap(), 0);
    // `tail` keeps the current line in memory, and /dev/zero never ends one.
    let child = g.spawn_inside(Command::new("tail").arg("/dev/zero"));
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGKILL), "{status}");
    assert!(g.m.oom_kill_count().unwrap() >= 1);
    let stats = g.m.stats().unwrap();
    assert!(
        stats.memory.usage.max > (limit as u64) / 2,
        "{:?}",
        stats.memory.usage
    );
    assert_eq!(stats.memory.usage.limit, limit as u64);
}

#[test]
fn stats_report_what_the_processes_used() {
    let mut g = Guard::new("stats");
    g.m.apply(&pids_limit(50)).unwrap();
    let child = g.spawn_inside(
        Command::new("sh")
            .arg("-c")
            .arg("i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; sleep 30"),
    );
    let pid = child.id() as i32;
    let deadline = Instant::now() + Duration::from_secs(20);
    let stats = loop {
        let stats = g.m.stats().unwrap();
        if stats.cpu.usage.total > 50_000_000 || Instant::now() > deadline {
            break stats;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(stats.cpu.usage.total > 50_000_000, "{:?}", stats.cpu);
    assert!(
        stats.cpu.usage.user + stats.cpu.usage.kernel > 0,
        "{:?}",
        stats.cpu
    );
    assert_eq!(
        stats.cpu.usage.percpu.len(),
        std::thread::available_parallelism().unwrap().get()
    );
    assert!(stats.memory.usage.usage > 0);
    assert!(stats.pids.current >= 1);
    assert_eq!(stats.pids.limit, 50);
    assert!(g.m.pids().unwrap().contains(&pid));
    let json = serde_json::to_value(&stats).unwrap();
    assert!(json["cpu"]["usage"]["total"].as_u64().unwrap() > 0);
    assert!(json["memory"]["raw"].is_object());
}

#[test]
fn destroy_right_after_the_last_process_dies_leaves_nothing_behind() {
    let mut g = Guard::new("destroy");
    let child = g.spawn_inside(Command::new("sleep").arg("30"));
    child.kill().unwrap();
    child.wait().unwrap();
    g.m.destroy().unwrap();
    for dir in g.m.directories() {
        assert!(!dir.exists(), "{} left behind", dir.display());
    }
    assert!(!g.m.exists());
}

#[test]
fn the_v2_device_filter_is_loaded_and_enforced_by_the_kernel() {
    // Drive only the unified tree, as on a v2 host: a fake mountinfo that shows just it.
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let unified: String = mountinfo
        .lines()
        .filter(|l| l.contains(" - cgroup2 "))
        .collect();
    let id = format!("bpf-{}", std::process::id());
    let m = CgroupManager::with_tables(
        &unified,
        "0::/\n",
        Some(Path::new(&format!("/berth-test-{id}"))),
        &id,
    )
    .unwrap();
    assert_eq!(m.layout(), Layout::V2);
    let mut g = Guard::from(m);
    let deny_all = vec![device(false, LinuxDeviceType::A, -1, -1, "rwm")];
    g.m.apply(&resources(|r| r.devices(deny_all))).unwrap();
    // An update must replace the first program: were both attached, the kernel would
    // need both to agree, and the deny-all one would still refuse /dev/zero.
    let allow_zero = vec![
        device(false, LinuxDeviceType::A, -1, -1, "rwm"),
        device(true, LinuxDeviceType::C, 1, 5, "r"),
    ];
    g.m.apply(&resources(|r| r.devices(allow_zero))).unwrap();

    let child = g.spawn_inside(
        Command::new("sh")
            .arg("-c")
            .arg("head -c 3 /dev/zero | wc -c; cat /dev/null; echo x > /dev/zero")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let mut out = String::new();
    let mut err = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut out).unwrap();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert_eq!(
        out.trim(),
        "3",
        "reading the allowed /dev/zero failed: {err}"
    );
    assert_eq!(
        err.matches("Operation not permitted").count(),
        2,
        "/dev/null and writing /dev/zero should be denied: {err}"
    );
}

#[test]
fn on_hybrid_hugetlb_limits_go_to_the_unified_tree_when_v1_lacks_the_controller() {
    let unified_controllers =
        std::fs::read_to_string("/sys/fs/cgroup/unified/cgroup.controllers").unwrap_or_default();
    let g = Guard::new("hugetlb");
    let limit = oci_spec::runtime::LinuxHugepageLimitBuilder::default()
        .page_size("2MB")
        .limit(8i64 << 20)
        .build()
        .unwrap();
    let result = g.m.apply(&resources(|r| r.hugepage_limits(vec![limit])));
    if Path::new("/sys/fs/cgroup/hugetlb").exists() {
        result.unwrap();
        assert_eq!(
            g.read("/sys/fs/cgroup/hugetlb", "hugetlb.2MB.limit_in_bytes"),
            (8u64 << 20).to_string()
        );
    } else if unified_controllers
        .split_whitespace()
        .any(|c| c == "hugetlb")
    {
        result.unwrap();
        assert_eq!(
            g.read("/sys/fs/cgroup/unified", "hugetlb.2MB.max"),
            (8u64 << 20).to_string()
        );
    } else {
        let err = result.unwrap_err().to_string();
        assert!(err.contains("hugetlb"), "{err}");
    }
}
