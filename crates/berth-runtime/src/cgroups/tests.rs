//! The manager against fake hosts: temp dirs laid out like v1, v2 and hybrid
//! `/sys/fs/cgroup`, described to the manager through fake mountinfo text. A temp dir
//! does not create interface files or refuse writes like cgroupfs, so each test writes
//! the files the kernel would show and reads back what the manager wrote.

// Tests may panic on unexpected results (the workspace warns on unwrap for library code).
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{
    LinuxBlockIoBuilder, LinuxCpuBuilder, LinuxHugepageLimitBuilder, LinuxMemoryBuilder,
    LinuxPidsBuilder, LinuxResources, LinuxResourcesBuilder, LinuxThrottleDeviceBuilder,
};
use tempfile::TempDir;

use super::*;

/// A fake host: the hierarchies live under `root`.
struct FakeHost {
    root: TempDir,
    mountinfo: String,
}

impl FakeHost {
    /// v1 hierarchies (each entry: directory name = comma-separated options), plus an
    /// optional cgroup2 mount at `unified_at` ("" means the root itself).
    fn new(v1: &[&str], unified_at: Option<&str>) -> Self {
        let root = tempfile::tempdir().unwrap();
        let mut mountinfo = String::new();
        for (i, options) in v1.iter().enumerate() {
            let dir_name = options.strip_prefix("name=").unwrap_or(options);
            let dir = root.path().join(dir_name);
            std::fs::create_dir_all(&dir).unwrap();
            mountinfo.push_str(&format!(
                "{} 1 0:{} / {} rw - cgroup cgroup rw,{options}\n",
                100 + i,
                i,
                dir.display()
            ));
        }
        if let Some(at) = unified_at {
            let dir = root.path().join(at);
            std::fs::create_dir_all(&dir).unwrap();
            mountinfo.push_str(&format!(
                "99 1 0:99 / {} rw - cgroup2 cgroup2 rw\n",
                dir.display()
            ));
        }
        Self { root, mountinfo }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.path().join(rel)
    }

    fn put(&self, rel: &str, content: &str) {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    fn get(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    fn manager(&self, cgroups_path: Option<&str>, own: &str) -> CgroupManager {
        CgroupManager::with_tables(&self.mountinfo, own, cgroups_path.map(Path::new), "c1").unwrap()
    }
}

const V1_ALL: &[&str] = &[
    "cpu,cpuacct",
    "cpuset",
    "memory",
    "devices",
    "freezer",
    "blkio",
    "pids",
    "name=systemd",
];

#[test]
fn hybrid_host_gets_a_directory_in_every_hierarchy_and_destroy_removes_them() {
    let host = FakeHost::new(V1_ALL, Some("unified"));
    host.put("unified/cgroup.controllers", "hugetlb");
    // The kernel shows a child the controllers its parent delegates.
    host.put("unified/berth/cgroup.controllers", "hugetlb");
    let m = host.manager(None, "");
    assert_eq!(m.layout(), Layout::Hybrid);
    let expected: Vec<PathBuf> = [
        "blkio",
        "cpu,cpuacct",
        "cpuset",
        "devices",
        "freezer",
        "memory",
        "pids",
        "systemd",
        "unified",
    ]
    .iter()
    .map(|h| host.path(h).join("berth/c1"))
    .collect();
    assert_eq!(m.directories(), expected);

    m.create().unwrap();
    assert!(m.exists());
    m.add_process(4242).unwrap();
    for dir in &expected {
        assert_eq!(
            std::fs::read_to_string(dir.join("cgroup.procs")).unwrap(),
            "4242"
        );
    }
    // The host's unified tree is left alone until a limit needs its controllers.
    assert!(!host.path("unified/cgroup.subtree_control").exists());

    // A sub-cgroup made inside the container goes too.
    std::fs::create_dir(expected[0].join("inner")).unwrap();
    // cgroupfs files vanish with their directory; emulate that.
    for dir in &expected {
        std::fs::remove_file(dir.join("cgroup.procs")).unwrap();
    }
    m.destroy().unwrap();
    assert!(!m.exists());
    assert!(expected.iter().all(|d| !d.exists()));
}

#[test]
fn relative_paths_resolve_under_the_callers_own_cgroups() {
    let host = FakeHost::new(&["memory", "cpu,cpuacct"], None);
    let own = "4:memory:/job/7\n2:cpu,cpuacct:/\n";
    let m = host.manager(Some("ctr"), own);
    assert_eq!(m.layout(), Layout::V1);
    assert_eq!(
        m.directories(),
        vec![host.path("cpu,cpuacct/ctr"), host.path("memory/job/7/ctr")]
    );
}

#[test]
fn new_cpuset_levels_inherit_cpus_and_mems_from_their_parent() {
    let host = FakeHost::new(&["cpuset"], None);
    host.put("cpuset/cpuset.cpus", "0-3");
    host.put("cpuset/cpuset.mems", "0");
    // What the kernel shows in freshly made v1 cpuset directories: empty values.
    for level in ["cpuset/a", "cpuset/a/b"] {
        host.put(&format!("{level}/cpuset.cpus"), "");
        host.put(&format!("{level}/cpuset.mems"), "");
    }
    host.manager(Some("/a/b"), "").create().unwrap();
    assert_eq!(host.get("cpuset/a/cpuset.cpus"), "0-3");
    assert_eq!(host.get("cpuset/a/b/cpuset.cpus"), "0-3");
    assert_eq!(host.get("cpuset/a/b/cpuset.mems"), "0");
}

fn resources() -> LinuxResources {
    LinuxResourcesBuilder::default()
        .memory(
            LinuxMemoryBuilder::default()
                .limit(100 << 20)
                .swap(300 << 20)
                .reservation(50 << 20)
                .build()
                .unwrap(),
        )
        .cpu(
            LinuxCpuBuilder::default()
                .shares(1024u64)
                .quota(50_000)
                .period(100_000u64)
                .cpus("0")
                .mems("0")
                .build()
                .unwrap(),
        )
        .pids(LinuxPidsBuilder::default().limit(5).build().unwrap())
        .block_io(
            LinuxBlockIoBuilder::default()
                .weight(500u16)
                .throttle_read_bps_device(vec![LinuxThrottleDeviceBuilder::default()
                    .major(8)
                    .minor(0)
                    .rate(1_048_576u64)
                    .build()
                    .unwrap()])
                .build()
                .unwrap(),
        )
        .hugepage_limits(vec![LinuxHugepageLimitBuilder::default()
            .page_size("2MB")
            .limit(4 << 20)
            .build()
            .unwrap()])
        .build()
        .unwrap()
}

#[test]
fn v2_limits_are_converted_like_runc() {
    let host = FakeHost::new(&[], Some(""));
    host.put("cgroup.controllers", "cpuset cpu io memory hugetlb pids");
    host.put(
        "berth/cgroup.controllers",
        "cpuset cpu io memory hugetlb pids",
    );
    let m = host.manager(Some("/berth/v2"), "0::/\n");
    assert_eq!(m.layout(), Layout::V2);
    m.create().unwrap();
    // Both ancestors delegate; the leaf itself does not.
    assert!(host.get("cgroup.subtree_control").starts_with('+'));
    assert!(host.get("berth/cgroup.subtree_control").starts_with('+'));
    assert!(!host.path("berth/v2/cgroup.subtree_control").exists());

    let mut r = resources();
    r.set_unified(Some(HashMap::from([(
        "memory.high".to_owned(),
        "90000000".to_owned(),
    )])));
    m.apply(&r).unwrap();
    let leaf = |f: &str| host.get(&format!("berth/v2/{f}"));
    assert_eq!(leaf("memory.max"), (100u64 << 20).to_string());
    assert_eq!(leaf("memory.swap.max"), (200u64 << 20).to_string());
    assert_eq!(leaf("memory.low"), (50u64 << 20).to_string());
    assert_eq!(leaf("cpu.weight"), "39");
    assert_eq!(leaf("cpu.max"), "50000 100000");
    assert_eq!(leaf("cpuset.cpus"), "0");
    assert_eq!(leaf("pids.max"), "5");
    assert_eq!(leaf("io.weight"), "4950");
    assert_eq!(leaf("io.max"), "8:0 rbps=1048576");
    assert_eq!(leaf("hugetlb.2MB.max"), (4u64 << 20).to_string());
    assert_eq!(leaf("memory.high"), "90000000");
}

#[test]
fn v2_conversions_match_runc() {
    assert_eq!(v2::shares_to_weight(2), 1);
    assert_eq!(v2::shares_to_weight(1024), 39);
    assert_eq!(v2::shares_to_weight(262144), 10000);
    assert_eq!(v2::blkio_weight_to_io(10), 1);
    assert_eq!(v2::blkio_weight_to_io(1000), 10000);
    assert_eq!(v2::swap_max(-1, Some(100)).unwrap().as_deref(), Some("max"));
    assert_eq!(v2::swap_max(0, Some(100)).unwrap(), None);
    assert_eq!(
        v2::swap_max(300, Some(100)).unwrap().as_deref(),
        Some("200")
    );
    assert!(v2::swap_max(50, Some(100)).is_err());
    assert!(v2::swap_max(300, None).is_err());
}

#[test]
fn v1_limits_land_in_each_controllers_directory() {
    let host = FakeHost::new(V1_ALL, None);
    let m = host.manager(None, "");
    m.create().unwrap();
    host.put(
        "memory/berth/c1/memory.limit_in_bytes",
        "9223372036854771712",
    );
    host.put(
        "memory/berth/c1/memory.memsw.limit_in_bytes",
        "9223372036854771712",
    );
    host.put("blkio/berth/c1/blkio.bfq.weight", "100");
    let mut r = resources();
    r.set_hugepage_limits(None);
    m.apply(&r).unwrap();
    assert_eq!(
        host.get("memory/berth/c1/memory.limit_in_bytes"),
        (100u64 << 20).to_string()
    );
    assert_eq!(
        host.get("memory/berth/c1/memory.memsw.limit_in_bytes"),
        (300u64 << 20).to_string()
    );
    assert_eq!(
        host.get("memory/berth/c1/memory.soft_limit_in_bytes"),
        (50u64 << 20).to_string()
    );
    assert_eq!(host.get("cpu,cpuacct/berth/c1/cpu.shares"), "1024");
    assert_eq!(host.get("cpu,cpuacct/berth/c1/cpu.cfs_quota_us"), "50000");
    assert_eq!(host.get("cpu,cpuacct/berth/c1/cpu.cfs_period_us"), "100000");
    assert_eq!(host.get("cpuset/berth/c1/cpuset.mems"), "0");
    assert_eq!(host.get("pids/berth/c1/pids.max"), "5");
    // No CFQ `blkio.weight`: BFQ's file takes the value.
    assert_eq!(host.get("blkio/berth/c1/blkio.bfq.weight"), "500");
    assert_eq!(
        host.get("blkio/berth/c1/blkio.throttle.read_bps_device"),
        "8:0 1048576"
    );
}

#[test]
fn hybrid_drives_hugetlb_through_the_unified_tree_when_v1_lacks_it() {
    let host = FakeHost::new(&["memory", "name=systemd"], Some("unified"));
    host.put("unified/cgroup.controllers", "hugetlb");
    let m = host.manager(None, "");
    m.create().unwrap();
    let r = LinuxResourcesBuilder::default()
        .hugepage_limits(vec![LinuxHugepageLimitBuilder::default()
            .page_size("1GB")
            .limit(-1)
            .build()
            .unwrap()])
        .build()
        .unwrap();
    host.put("unified/berth/cgroup.controllers", "hugetlb");
    m.apply(&r).unwrap();
    assert_eq!(host.get("unified/berth/c1/hugetlb.1GB.max"), "max");
    assert_eq!(host.get("unified/cgroup.subtree_control"), "+hugetlb");
    assert_eq!(host.get("unified/berth/cgroup.subtree_control"), "+hugetlb");
}

#[test]
fn a_limit_no_hierarchy_can_enforce_is_an_error() {
    let host = FakeHost::new(&["memory"], None);
    let m = host.manager(None, "");
    m.create().unwrap();
    let r = LinuxResourcesBuilder::default()
        .pids(LinuxPidsBuilder::default().limit(5).build().unwrap())
        .build()
        .unwrap();
    let err = m.apply(&r).unwrap_err();
    assert!(
        matches!(
            err,
            CgroupError::MissingController {
                controller: "pids",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn write_errors_name_the_file_and_the_value() {
    let host = FakeHost::new(&["memory"], None);
    let m = host.manager(None, "");
    m.create().unwrap();
    // A directory where the file should be makes the write fail.
    std::fs::create_dir(host.path("memory/berth/c1/memory.limit_in_bytes")).unwrap();
    let r = LinuxResourcesBuilder::default()
        .memory(LinuxMemoryBuilder::default().limit(1000).build().unwrap())
        .build()
        .unwrap();
    let err = m.apply(&r).unwrap_err().to_string();
    assert!(
        err.contains("memory.limit_in_bytes") && err.contains("`1000`"),
        "{err}"
    );
}

#[test]
fn v2_freeze_waits_for_the_kernel_to_report_frozen() {
    let host = FakeHost::new(&[], Some(""));
    let m = host.manager(None, "");
    m.create().unwrap();
    let leaf = host.path("berth/c1");
    std::fs::write(leaf.join("cgroup.freeze"), "0").unwrap();
    std::fs::write(leaf.join("cgroup.events"), "populated 1\nfrozen 0\n").unwrap();
    // Play the kernel: mirror cgroup.freeze into cgroup.events a little later.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let kernel = {
        let (leaf, stop) = (leaf.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_millis(20));
                let want = std::fs::read_to_string(leaf.join("cgroup.freeze")).unwrap();
                let events = format!("populated 1\nfrozen {}\n", want.trim());
                std::fs::write(leaf.join("cgroup.events"), events).unwrap();
            }
        })
    };
    let result = (|| {
        assert!(!m.is_frozen()?);
        m.freeze()?;
        assert!(m.is_frozen()?);
        m.thaw()?;
        assert!(!m.is_frozen()?);
        Ok::<_, CgroupError>(())
    })();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    kernel.join().unwrap();
    result.unwrap();
}

#[test]
fn v1_stats_are_read_and_serialised_in_runcs_shape() {
    let host = FakeHost::new(&["cpu,cpuacct", "memory", "pids", "blkio"], None);
    let m = host.manager(None, "");
    m.create().unwrap();
    let put = |f: &str, c: &str| {
        let hierarchy = match f.split('.').next().unwrap() {
            "cpu" | "cpuacct" => "cpu,cpuacct",
            other => other,
        };
        host.put(&format!("{hierarchy}/berth/c1/{f}"), c);
    };
    put("cpuacct.usage", "5000000\n");
    put("cpuacct.usage_percpu", "3000000 2000000 \n");
    put("cpuacct.stat", "user 3\nsystem 1\n");
    put(
        "cpu.stat",
        "nr_periods 10\nnr_throttled 4\nthrottled_time 777\n",
    );
    put("memory.usage_in_bytes", "4096\n");
    put("memory.max_usage_in_bytes", "8192\n");
    put("memory.limit_in_bytes", "104857600\n");
    put("memory.failcnt", "2\n");
    put("memory.stat", "cache 100\nrss 200\ntotal_cache 100\n");
    put(
        "memory.oom_control",
        "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n",
    );
    put("pids.current", "2\n");
    put("pids.max", "max\n");
    put(
        "blkio.throttle.io_service_bytes_recursive",
        "8:0 Read 512\n8:0 Write 1024\nTotal 1536\n",
    );
    let stats = m.stats().unwrap();
    let ns_per_tick = 1_000_000_000 / unsafe_free_clk_tck();
    assert_eq!(stats.cpu.usage.total, 5_000_000);
    assert_eq!(stats.cpu.usage.percpu, vec![3_000_000, 2_000_000]);
    assert_eq!(stats.cpu.usage.user, 3 * ns_per_tick);
    assert_eq!(stats.cpu.usage.kernel, ns_per_tick);
    assert_eq!(stats.cpu.throttling.throttled_periods, 4);
    assert_eq!(stats.memory.usage.usage, 4096);
    assert_eq!(stats.memory.usage.failcnt, 2);
    assert_eq!(stats.memory.cache, 100);
    assert_eq!(stats.pids.current, 2);
    assert_eq!(stats.pids.limit, 0, "`max` is reported as no limit");
    assert_eq!(stats.blkio.io_service_bytes_recursive.len(), 2);
    assert_eq!(m.oom_kill_count().unwrap(), 3);

    let json = serde_json::to_value(&stats).unwrap();
    assert_eq!(json["cpu"]["throttling"]["throttledPeriods"], 4);
    assert_eq!(json["memory"]["usage"]["limit"], 104857600);
    assert_eq!(json["memory"]["raw"]["rss"], 200);
    assert_eq!(json["blkio"]["ioServiceBytesRecursive"][1]["op"], "Write");
    assert_eq!(json["blkio"]["ioServiceBytesRecursive"][1]["value"], 1024);
    assert!(json["memory"].get("kernelTCP").is_some());
    let back: Stats = serde_json::from_value(json).unwrap();
    assert_eq!(back, stats);
}

/// USER_HZ, read the way a user would check it.
fn unsafe_free_clk_tck() -> u64 {
    let out = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn v2_stats_come_from_v2_files() {
    let host = FakeHost::new(&[], Some(""));
    host.put("cgroup.controllers", "cpu memory pids io hugetlb");
    let m = host.manager(None, "");
    m.create().unwrap();
    let put = |f: &str, c: &str| host.put(&format!("berth/c1/{f}"), c);
    put("cpu.stat", "usage_usec 7\nuser_usec 5\nsystem_usec 2\nnr_periods 3\nnr_throttled 1\nthrottled_usec 9\n");
    put("memory.current", "4096\n");
    put("memory.max", "max\n");
    put("memory.stat", "anon 10\nfile 20\n");
    put("memory.events", "low 0\nhigh 0\nmax 6\noom 1\noom_kill 1\n");
    put("pids.current", "3\n");
    put("pids.max", "10\n");
    put(
        "io.stat",
        "8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n",
    );
    put("hugetlb.2MB.max", "max\n");
    put("hugetlb.2MB.current", "0\n");
    put("hugetlb.2MB.events", "max 0\n");
    let stats = m.stats().unwrap();
    assert_eq!(stats.cpu.usage.total, 7000);
    assert_eq!(stats.cpu.throttling.throttled_time, 9000);
    assert_eq!(stats.memory.usage.usage, 4096);
    assert_eq!(stats.memory.usage.limit, u64::MAX);
    assert_eq!(stats.memory.usage.failcnt, 6);
    assert_eq!(stats.memory.cache, 20);
    assert_eq!(stats.pids.limit, 10);
    let reads: Vec<_> = stats
        .blkio
        .io_serviced_recursive
        .iter()
        .map(|e| (&*e.op, e.value))
        .collect();
    assert_eq!(reads, vec![("Read", 1), ("Write", 2)]);
    assert!(stats.hugetlb.contains_key("2MB"));
    assert_eq!(m.oom_kill_count().unwrap(), 1);
}

#[test]
fn the_manager_survives_a_round_trip_through_the_state_file() {
    let host = FakeHost::new(V1_ALL, Some("unified"));
    let m = host.manager(Some("/x/y"), "");
    let json = serde_json::to_string(&m).unwrap();
    let back: CgroupManager = serde_json::from_str(&json).unwrap();
    assert_eq!(back.directories(), m.directories());
    assert_eq!(back.layout(), Layout::Hybrid);
}
