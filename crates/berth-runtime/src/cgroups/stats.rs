//! Resource statistics, shaped like the `data` of runc's `events --stats` so that
//! dockerd and containerd read berth's output unchanged. Zero counters are left out
//! where runc's Go structs say `omitempty`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::fs::{parse_u64, Dir};
use super::CgroupError;

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Resource statistics of one container.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Stats {
    /// CPU time and throttling.
    pub cpu: CpuStats,
    /// Memory use and limits.
    pub memory: MemoryStats,
    /// Process count.
    pub pids: PidsStats,
    /// Block I/O.
    pub blkio: BlkioStats,
    /// Huge page use per page size (`2MB`, `1GB`, ...).
    pub hugetlb: BTreeMap<String, HugetlbStats>,
}

/// CPU statistics.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CpuStats {
    /// Time used.
    pub usage: CpuUsage,
    /// Time the bandwidth limit took away.
    pub throttling: Throttling,
}

/// CPU time, in nanoseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CpuUsage {
    /// Total CPU time.
    #[serde(skip_serializing_if = "is_zero")]
    pub total: u64,
    /// Per-CPU time (v1 only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu: Vec<u64>,
    /// Time in kernel mode.
    pub kernel: u64,
    /// Time in user mode.
    pub user: u64,
}

/// CFS bandwidth throttling.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Throttling {
    /// Enforcement periods elapsed.
    #[serde(skip_serializing_if = "is_zero")]
    pub periods: u64,
    /// Periods in which the cgroup was throttled.
    #[serde(skip_serializing_if = "is_zero")]
    pub throttled_periods: u64,
    /// Total time throttled, in nanoseconds.
    #[serde(skip_serializing_if = "is_zero")]
    pub throttled_time: u64,
}

/// Memory statistics.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct MemoryStats {
    /// Page cache in bytes.
    #[serde(skip_serializing_if = "is_zero")]
    pub cache: u64,
    /// Memory use.
    pub usage: MemoryEntry,
    /// Memory+swap on v1, swap alone on v2.
    pub swap: MemoryEntry,
    /// Kernel memory (v1).
    pub kernel: MemoryEntry,
    /// Kernel TCP buffers (v1).
    #[serde(rename = "kernelTCP")]
    pub kernel_tcp: MemoryEntry,
    /// The raw `memory.stat` counters.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub raw: BTreeMap<String, u64>,
}

/// One memory counter with its limit, in bytes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MemoryEntry {
    /// The limit (`u64::MAX` for "max" on v2).
    pub limit: u64,
    /// Current use.
    #[serde(skip_serializing_if = "is_zero")]
    pub usage: u64,
    /// Highest use seen.
    #[serde(skip_serializing_if = "is_zero")]
    pub max: u64,
    /// How often the limit was hit.
    pub failcnt: u64,
}

/// Process counts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PidsStats {
    /// Processes and threads now.
    #[serde(skip_serializing_if = "is_zero")]
    pub current: u64,
    /// The limit (0 for none).
    #[serde(skip_serializing_if = "is_zero")]
    pub limit: u64,
}

/// Block I/O counters per device and operation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BlkioStats {
    /// Bytes transferred.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub io_service_bytes_recursive: Vec<BlkioEntry>,
    /// Operations done.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub io_serviced_recursive: Vec<BlkioEntry>,
}

/// One block I/O counter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BlkioEntry {
    /// Device major number.
    #[serde(skip_serializing_if = "is_zero")]
    pub major: u64,
    /// Device minor number.
    #[serde(skip_serializing_if = "is_zero")]
    pub minor: u64,
    /// `Read`, `Write`, `Sync`, `Async`, `Discard` or `Total`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub op: String,
    /// The count.
    #[serde(skip_serializing_if = "is_zero")]
    pub value: u64,
}

/// Huge page use of one page size, in bytes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HugetlbStats {
    /// Current use.
    #[serde(skip_serializing_if = "is_zero")]
    pub usage: u64,
    /// Highest use seen (v1).
    #[serde(skip_serializing_if = "is_zero")]
    pub max: u64,
    /// How often the limit was hit.
    pub failcnt: u64,
}

/// Nanoseconds per USER_HZ tick, the unit of v1 `cpuacct.stat`.
fn nanos_per_tick() -> u64 {
    // SAFETY: sysconf only reads a configuration value.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(hz)
        .ok()
        .filter(|&hz| hz > 0)
        .map_or(10_000_000, |hz| 1_000_000_000 / hz)
}

/// v1 cpuacct: total and per-CPU usage (already in ns), user/system in ticks.
pub(crate) fn v1_cpuacct(dir: Dir<'_>, cpu: &mut CpuStats) -> Result<(), CgroupError> {
    cpu.usage.total = dir.read_u64("cpuacct.usage")?;
    let percpu = dir.read_opt("cpuacct.usage_percpu")?.unwrap_or_default();
    cpu.usage.percpu = percpu.split_whitespace().filter_map(parse_u64).collect();
    let ticks = dir.read_keyed("cpuacct.stat")?;
    let per_tick = nanos_per_tick();
    cpu.usage.user = ticks.get("user").copied().unwrap_or(0) * per_tick;
    cpu.usage.kernel = ticks.get("system").copied().unwrap_or(0) * per_tick;
    Ok(())
}

/// v1 `cpu.stat` throttling counters.
pub(crate) fn v1_throttling(dir: Dir<'_>, cpu: &mut CpuStats) -> Result<(), CgroupError> {
    let stat = dir.read_keyed("cpu.stat")?;
    let get = |k: &str| stat.get(k).copied().unwrap_or(0);
    cpu.throttling = Throttling {
        periods: get("nr_periods"),
        throttled_periods: get("nr_throttled"),
        throttled_time: get("throttled_time"),
    };
    Ok(())
}

/// v2 `cpu.stat`, in microseconds.
pub(crate) fn v2_cpu(dir: Dir<'_>, cpu: &mut CpuStats) -> Result<(), CgroupError> {
    let stat = dir.read_keyed("cpu.stat")?;
    let get = |k: &str| stat.get(k).copied().unwrap_or(0);
    cpu.usage.total = get("usage_usec") * 1000;
    cpu.usage.user = get("user_usec") * 1000;
    cpu.usage.kernel = get("system_usec") * 1000;
    cpu.throttling = Throttling {
        periods: get("nr_periods"),
        throttled_periods: get("nr_throttled"),
        throttled_time: get("throttled_usec") * 1000,
    };
    Ok(())
}

/// One v1 memory counter family, e.g. `memory.memsw.`.
fn v1_memory_entry(dir: Dir<'_>, prefix: &str) -> Result<MemoryEntry, CgroupError> {
    if !dir.has(&format!("{prefix}usage_in_bytes")) {
        return Ok(MemoryEntry::default());
    }
    Ok(MemoryEntry {
        limit: dir.read_u64_or_zero(&format!("{prefix}limit_in_bytes"))?,
        usage: dir.read_u64(&format!("{prefix}usage_in_bytes"))?,
        max: dir.read_u64_or_zero(&format!("{prefix}max_usage_in_bytes"))?,
        failcnt: dir.read_u64_or_zero(&format!("{prefix}failcnt"))?,
    })
}

/// v1 memory statistics.
pub(crate) fn v1_memory(dir: Dir<'_>) -> Result<MemoryStats, CgroupError> {
    let raw = dir.read_keyed("memory.stat")?;
    Ok(MemoryStats {
        cache: raw
            .get("total_cache")
            .or(raw.get("cache"))
            .copied()
            .unwrap_or(0),
        usage: v1_memory_entry(dir, "memory.")?,
        swap: v1_memory_entry(dir, "memory.memsw.")?,
        kernel: v1_memory_entry(dir, "memory.kmem.")?,
        kernel_tcp: v1_memory_entry(dir, "memory.kmem.tcp.")?,
        raw,
    })
}

/// v2 memory statistics. runc reports swap alone on v2, with `memory.swap.max`.
pub(crate) fn v2_memory(dir: Dir<'_>) -> Result<MemoryStats, CgroupError> {
    let raw = dir.read_keyed("memory.stat")?;
    let events = dir.read_keyed("memory.events")?;
    let swap = if dir.has("memory.swap.current") {
        MemoryEntry {
            limit: dir.read_u64("memory.swap.max")?,
            usage: dir.read_u64("memory.swap.current")?,
            max: dir.read_u64_or_zero("memory.swap.peak")?,
            failcnt: 0,
        }
    } else {
        MemoryEntry::default()
    };
    Ok(MemoryStats {
        cache: raw.get("file").copied().unwrap_or(0),
        usage: MemoryEntry {
            limit: dir.read_u64("memory.max")?,
            usage: dir.read_u64("memory.current")?,
            max: dir.read_u64_or_zero("memory.peak")?,
            failcnt: events.get("max").copied().unwrap_or(0),
        },
        swap,
        kernel: MemoryEntry::default(),
        kernel_tcp: MemoryEntry::default(),
        raw,
    })
}

/// `pids.current` and `pids.max` (same on v1 and v2); "max" is reported as 0.
pub(crate) fn pids(dir: Dir<'_>) -> Result<PidsStats, CgroupError> {
    let limit = match dir.read_u64_or_zero("pids.max")? {
        u64::MAX => 0,
        n => n,
    };
    Ok(PidsStats {
        current: dir.read_u64_or_zero("pids.current")?,
        limit,
    })
}

/// A v1 blkio file: `major:minor Op value` lines (the closing `Total n` is skipped).
fn v1_blkio_file(dir: Dir<'_>, file: &str) -> Result<Vec<BlkioEntry>, CgroupError> {
    let text = dir.read_opt(file)?.unwrap_or_default();
    let mut entries = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [device, op, value] = fields[..] else {
            continue;
        };
        let Some((major, minor)) = device.split_once(':') else {
            continue;
        };
        let parse = |s: &str| {
            parse_u64(s).ok_or_else(|| CgroupError::Parse {
                path: dir.file(file),
                content: line.to_owned(),
            })
        };
        entries.push(BlkioEntry {
            major: parse(major)?,
            minor: parse(minor)?,
            op: op.to_owned(),
            value: parse(value)?,
        });
    }
    Ok(entries)
}

/// v1 blkio statistics; the throttle files count I/O under every scheduler.
pub(crate) fn v1_blkio(dir: Dir<'_>) -> Result<BlkioStats, CgroupError> {
    Ok(BlkioStats {
        io_service_bytes_recursive: v1_blkio_file(
            dir,
            "blkio.throttle.io_service_bytes_recursive",
        )?,
        io_serviced_recursive: v1_blkio_file(dir, "blkio.throttle.io_serviced_recursive")?,
    })
}

/// v2 `io.stat`: `major:minor rbytes=.. wbytes=.. rios=.. wios=.. ...` lines.
pub(crate) fn v2_io(dir: Dir<'_>) -> Result<BlkioStats, CgroupError> {
    let text = dir.read_opt("io.stat")?.unwrap_or_default();
    let mut stats = BlkioStats::default();
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let Some((major, minor)) = fields.next().and_then(|d| d.split_once(':')) else {
            continue;
        };
        let (Some(major), Some(minor)) = (parse_u64(major), parse_u64(minor)) else {
            continue;
        };
        for field in fields {
            let Some((key, value)) = field.split_once('=') else {
                continue;
            };
            let Some(value) = parse_u64(value) else {
                continue;
            };
            let (list, op) = match key {
                "rbytes" => (&mut stats.io_service_bytes_recursive, "Read"),
                "wbytes" => (&mut stats.io_service_bytes_recursive, "Write"),
                "rios" => (&mut stats.io_serviced_recursive, "Read"),
                "wios" => (&mut stats.io_serviced_recursive, "Write"),
                _ => continue,
            };
            list.push(BlkioEntry {
                major,
                minor,
                op: op.to_owned(),
                value,
            });
        }
    }
    Ok(stats)
}

/// The page sizes the hugetlb controller offers, from its `hugetlb.<size>.<suffix>`
/// files.
fn hugetlb_sizes(dir: Dir<'_>, suffix: &str) -> Result<Vec<String>, CgroupError> {
    let entries = std::fs::read_dir(dir.0).map_err(|source| CgroupError::Io {
        path: dir.0.to_path_buf(),
        source,
    })?;
    let mut sizes: Vec<String> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let size = name.strip_prefix("hugetlb.")?.strip_suffix(suffix)?;
            (!size.contains('.')).then(|| size.to_owned())
        })
        .collect();
    sizes.sort();
    Ok(sizes)
}

/// v1 hugetlb statistics.
pub(crate) fn v1_hugetlb(dir: Dir<'_>) -> Result<BTreeMap<String, HugetlbStats>, CgroupError> {
    let mut out = BTreeMap::new();
    for size in hugetlb_sizes(dir, ".limit_in_bytes")? {
        let stats = HugetlbStats {
            usage: dir.read_u64(&format!("hugetlb.{size}.usage_in_bytes"))?,
            max: dir.read_u64_or_zero(&format!("hugetlb.{size}.max_usage_in_bytes"))?,
            failcnt: dir.read_u64_or_zero(&format!("hugetlb.{size}.failcnt"))?,
        };
        out.insert(size, stats);
    }
    Ok(out)
}

/// v2 hugetlb statistics; the failure count is the `max` event count.
pub(crate) fn v2_hugetlb(dir: Dir<'_>) -> Result<BTreeMap<String, HugetlbStats>, CgroupError> {
    let mut out = BTreeMap::new();
    for size in hugetlb_sizes(dir, ".max")? {
        let events = dir.read_keyed(&format!("hugetlb.{size}.events"))?;
        let stats = HugetlbStats {
            usage: dir.read_u64(&format!("hugetlb.{size}.current"))?,
            max: 0,
            failcnt: events.get("max").copied().unwrap_or(0),
        };
        out.insert(size, stats);
    }
    Ok(out)
}
