//! `GET /containers/{id}/stats`: the runtime's cgroup statistics in Docker's shape.
//!
//! As dockerd: a stream gives one sample a second, each carrying the previous one's CPU
//! counters as `precpu_stats` (so clients compute CPU % from the difference), for as
//! long as the client stays, with samples of zeros while the container is stopped; it
//! ends when the container is removed. `stream=false` waits for a second sample (500 ms
//! after the first, where dockerd waits a second) so that `precpu_stats` is filled;
//! `one-shot=true` gives one sample with empty `precpu_stats`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use berth_client::types::stats::{
    BlkioStatEntry, BlkioStats, ContainerStats, CpuStats, CpuUsage, MemoryStats, PidsStats,
    ThrottlingData,
};
use berth_runtime::cgroups::Stats;
use bytes::Bytes;

use super::{lookup, procfs, running_pid};
use crate::api::query::flag;
use crate::api::{ApiResult, AppState};
use crate::container::{now_rfc3339, Container};
use crate::engine::Engine;

/// Go's zero time, which Docker prints for a sample that was never read.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";
/// Between two samples of a stream.
const STREAM_INTERVAL: Duration = Duration::from_secs(1);
/// Between the two samples of `stream=false`.
const NO_STREAM_INTERVAL: Duration = Duration::from_millis(500);

/// What a sample needs from the host besides the cgroup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostSample {
    /// Host CPU time in nanoseconds.
    pub system_cpu_usage: Option<u64>,
    /// CPUs online.
    pub online_cpus: u32,
    /// Host memory in bytes (the limit shown when the container has none).
    pub mem_total: Option<u64>,
}

impl HostSample {
    fn read() -> Self {
        HostSample {
            system_cpu_usage: procfs::read_system_cpu_usage(),
            online_cpus: procfs::online_cpus(),
            mem_total: procfs::read_mem_total(),
        }
    }
}

/// Whether the runtime read a cgroup v1 hierarchy: v1's memory.stat has the
/// `hierarchical_*` and `total_*` counters, v2's has neither.
fn is_cgroup_v1(stats: &Stats) -> bool {
    let raw = &stats.memory.raw;
    raw.contains_key("hierarchical_memory_limit") || raw.contains_key("total_cache")
}

/// The cgroup statistics as Docker's `cpu_stats`, `memory_stats`, `pids_stats` and
/// `blkio_stats` (dockerd's `statsV1`/`statsV2`).
pub fn convert(stats: &Stats, host: &HostSample) -> ContainerStats {
    let v1 = is_cgroup_v1(stats);
    let cpu = &stats.cpu;
    let cpu_stats = CpuStats {
        cpu_usage: CpuUsage {
            total_usage: cpu.usage.total,
            percpu_usage: (v1 && !cpu.usage.percpu.is_empty()).then(|| cpu.usage.percpu.clone()),
            usage_in_kernelmode: cpu.usage.kernel,
            usage_in_usermode: cpu.usage.user,
        },
        system_cpu_usage: host.system_cpu_usage,
        online_cpus: Some(host.online_cpus),
        throttling_data: ThrottlingData {
            periods: cpu.throttling.periods,
            throttled_periods: cpu.throttling.throttled_periods,
            throttled_time: cpu.throttling.throttled_time,
        },
    };
    let memory = &stats.memory;
    // An unlimited cgroup reports a huge limit; dockerd shows the host's memory instead.
    let limit = match host.mem_total {
        Some(total) if memory.usage.limit > total => total,
        _ => memory.usage.limit,
    };
    let memory_stats = MemoryStats {
        usage: Some(memory.usage.usage),
        max_usage: v1.then_some(memory.usage.max),
        stats: Some(memory.raw.clone()),
        failcnt: v1.then_some(memory.usage.failcnt),
        limit: Some(limit),
    };
    let pids_stats = PidsStats {
        current: Some(stats.pids.current).filter(|&n| n > 0),
        limit: Some(stats.pids.limit).filter(|&n| n > 0),
    };
    let entries = |list: &[berth_runtime::cgroups::BlkioEntry]| {
        list.iter()
            .map(|e| BlkioStatEntry {
                major: e.major,
                minor: e.minor,
                // dockerd's v2 entries are lower case; v1's keep the kernel's spelling.
                op: if v1 {
                    e.op.clone()
                } else {
                    e.op.to_lowercase()
                },
                value: e.value,
            })
            .collect::<Vec<_>>()
    };
    let blkio_stats = BlkioStats {
        io_service_bytes_recursive: Some(entries(&stats.blkio.io_service_bytes_recursive)),
        io_serviced_recursive: v1.then(|| entries(&stats.blkio.io_serviced_recursive)),
    };
    ContainerStats {
        pids_stats,
        blkio_stats,
        cpu_stats,
        memory_stats,
        ..ContainerStats::default()
    }
}

/// A sample of zeros (a stopped container), with the name and id only, as dockerd
/// sends.
fn empty_sample(container: &Container) -> ContainerStats {
    ContainerStats {
        name: container.slash_name(),
        id: container.id.clone(),
        read: ZERO_TIME.into(),
        preread: ZERO_TIME.into(),
        ..ContainerStats::default()
    }
}

/// One sample of `container` now, with empty `pre*` fields.
fn sample(engine: &Engine, container: &Container) -> ContainerStats {
    let Some(pid) = running_pid(container) else {
        return empty_sample(container);
    };
    let read = now_rfc3339();
    let stats = match berth_runtime::container::stats(engine.runtime(), &container.id) {
        Ok(stats) => stats,
        // It stopped between the check and the read.
        Err(e) => {
            tracing::debug!(id = %container.id, error = %e, "no stats");
            return empty_sample(container);
        }
    };
    let mut out = convert(&stats, &HostSample::read());
    let host_network = container.with(|r| {
        r.host_config
            .network_mode
            .as_deref()
            .is_some_and(|m| m == "host")
    });
    if !host_network {
        out.networks = procfs::read_network_stats(pid).filter(|n| !n.is_empty());
    }
    out.name = container.slash_name();
    out.id = container.id.clone();
    out.read = read;
    out.preread = ZERO_TIME.into();
    out
}

/// Fills `current`'s `pre*` fields from `previous`.
fn chain(mut current: ContainerStats, previous: Option<&ContainerStats>) -> ContainerStats {
    if let Some(previous) = previous {
        current.precpu_stats = previous.cpu_stats.clone();
        current.preread = previous.read.clone();
    }
    current
}

fn json_line(stats: &ContainerStats) -> Bytes {
    let mut bytes = serde_json::to_vec(stats).unwrap_or_default();
    bytes.push(b'\n');
    Bytes::from(bytes)
}

/// The handler.
pub async fn stats(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let container = lookup(&engine, &id)?;
    let stream = query.get("stream").is_none_or(|v| flag(Some(v)));
    let one_shot = flag(query.get("one-shot"));
    let body = if stream {
        Body::from_stream(sample_stream(engine, container))
    } else if one_shot || running_pid(&container).is_none() {
        Body::from(json_line(&sample(&engine, &container)))
    } else {
        let first = sample(&engine, &container);
        tokio::time::sleep(NO_STREAM_INTERVAL).await;
        let second = chain(sample(&engine, &container), Some(&first));
        Body::from(json_line(&second))
    };
    Ok(Response::builder()
        .header("Content-Type", "application/json")
        .body(body)
        .unwrap_or_default())
}

/// One sample a second until the container is removed (or the client goes: the body,
/// and this stream with it, is dropped).
fn sample_stream(
    engine: Arc<Engine>,
    container: Arc<Container>,
) -> impl futures_util::Stream<Item = Result<Bytes, std::convert::Infallible>> {
    struct Cursor {
        engine: Arc<Engine>,
        container: Arc<Container>,
        exits: tokio::sync::watch::Receiver<crate::container::Exits>,
        previous: Option<ContainerStats>,
    }
    let cursor = Cursor {
        exits: container.exits(),
        engine,
        container,
        previous: None,
    };
    futures_util::stream::unfold(cursor, |mut cursor| async move {
        if cursor.previous.is_some() {
            tokio::time::sleep(STREAM_INTERVAL).await;
        }
        if cursor.exits.borrow_and_update().removed {
            return None;
        }
        let current = sample(&cursor.engine, &cursor.container);
        // A stopped container's zeros carry no previous counters either.
        let previous = cursor.previous.take().filter(|p| p.read != ZERO_TIME);
        let current = if current.read == ZERO_TIME {
            current
        } else {
            chain(current, previous.as_ref())
        };
        let line = json_line(&current);
        cursor.previous = Some(current);
        Some((Ok(line), cursor))
    })
}

#[cfg(test)]
mod tests {
    use berth_runtime::cgroups::{
        BlkioEntry, BlkioStats as RtBlkio, CpuStats as RtCpu, CpuUsage as RtUsage, MemoryEntry,
        MemoryStats as RtMemory, PidsStats as RtPids, Throttling,
    };

    use std::collections::BTreeMap;

    use super::*;

    const HOST: HostSample = HostSample {
        system_cpu_usage: Some(9_000_000_000),
        online_cpus: 2,
        mem_total: Some(8 << 30),
    };

    fn v1_stats() -> Stats {
        let raw: BTreeMap<String, u64> = [
            ("cache", 4096),
            ("total_cache", 4096),
            ("total_inactive_file", 1024),
            ("hierarchical_memory_limit", u64::MAX / 2),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        Stats {
            cpu: RtCpu {
                usage: RtUsage {
                    total: 3_000,
                    percpu: vec![1_000, 2_000],
                    kernel: 500,
                    user: 2_500,
                },
                throttling: Throttling {
                    periods: 10,
                    throttled_periods: 2,
                    throttled_time: 77,
                },
            },
            memory: RtMemory {
                cache: 4096,
                usage: MemoryEntry {
                    limit: 9_223_372_036_854_771_712,
                    usage: 10 << 20,
                    max: 12 << 20,
                    failcnt: 3,
                },
                raw,
                ..RtMemory::default()
            },
            pids: RtPids {
                current: 4,
                limit: 100,
            },
            blkio: RtBlkio {
                io_service_bytes_recursive: vec![BlkioEntry {
                    major: 8,
                    minor: 0,
                    op: "Read".into(),
                    value: 512,
                }],
                io_serviced_recursive: vec![BlkioEntry {
                    major: 8,
                    minor: 0,
                    op: "Read".into(),
                    value: 1,
                }],
            },
            hugetlb: BTreeMap::new(),
        }
    }

    #[test]
    fn v1_stats_convert_like_dockerd() {
        let out = convert(&v1_stats(), &HOST);
        let cpu = &out.cpu_stats;
        assert_eq!(cpu.cpu_usage.total_usage, 3_000);
        assert_eq!(
            cpu.cpu_usage.percpu_usage.as_deref(),
            Some(&[1_000, 2_000][..])
        );
        assert_eq!(
            (
                cpu.cpu_usage.usage_in_kernelmode,
                cpu.cpu_usage.usage_in_usermode
            ),
            (500, 2_500)
        );
        assert_eq!(cpu.system_cpu_usage, Some(9_000_000_000));
        assert_eq!(cpu.online_cpus, Some(2));
        assert_eq!(
            (
                cpu.throttling_data.periods,
                cpu.throttling_data.throttled_periods,
                cpu.throttling_data.throttled_time
            ),
            (10, 2, 77)
        );
        let mem = &out.memory_stats;
        assert_eq!(mem.usage, Some(10 << 20));
        assert_eq!(mem.max_usage, Some(12 << 20));
        assert_eq!(mem.failcnt, Some(3));
        // Unlimited: the host's memory.
        assert_eq!(mem.limit, Some(8 << 30));
        assert_eq!(mem.stats.as_ref().unwrap()["total_inactive_file"], 1024);
        assert_eq!(
            (out.pids_stats.current, out.pids_stats.limit),
            (Some(4), Some(100))
        );
        let bytes = out.blkio_stats.io_service_bytes_recursive.unwrap();
        assert_eq!((bytes[0].op.as_str(), bytes[0].value), ("Read", 512));
        assert_eq!(out.blkio_stats.io_serviced_recursive.unwrap().len(), 1);
    }

    #[test]
    fn v2_stats_have_no_percpu_max_usage_or_serviced_and_lower_case_ops() {
        let mut stats = v1_stats();
        stats.memory.raw = [("anon".to_string(), 1), ("inactive_file".to_string(), 2)]
            .into_iter()
            .collect();
        stats.memory.usage.limit = 64 << 20;
        stats.cpu.usage.percpu.clear();
        let out = convert(&stats, &HOST);
        assert_eq!(out.cpu_stats.cpu_usage.percpu_usage, None);
        assert_eq!(out.memory_stats.max_usage, None);
        assert_eq!(out.memory_stats.failcnt, None);
        // A limit below the host's memory is shown as is.
        assert_eq!(out.memory_stats.limit, Some(64 << 20));
        assert_eq!(out.blkio_stats.io_serviced_recursive, None);
        assert_eq!(
            out.blkio_stats.io_service_bytes_recursive.unwrap()[0].op,
            "read"
        );
    }

    #[test]
    fn no_pids_limit_is_left_out() {
        let mut stats = v1_stats();
        stats.pids.limit = 0;
        let json = serde_json::to_value(convert(&stats, &HOST)).unwrap();
        assert_eq!(json["pids_stats"], serde_json::json!({"current": 4}));
    }

    #[test]
    fn a_chained_sample_carries_the_previous_cpu() {
        let first = ContainerStats {
            read: "2024-01-01T00:00:00Z".into(),
            ..convert(&v1_stats(), &HOST)
        };
        let mut later = v1_stats();
        later.cpu.usage.total = 5_000;
        let second = chain(
            ContainerStats {
                read: "2024-01-01T00:00:01Z".into(),
                ..convert(&later, &HOST)
            },
            Some(&first),
        );
        assert_eq!(second.precpu_stats.cpu_usage.total_usage, 3_000);
        assert_eq!(second.cpu_stats.cpu_usage.total_usage, 5_000);
        assert_eq!(second.preread, "2024-01-01T00:00:00Z");
    }
}
