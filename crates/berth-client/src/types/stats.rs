//! `GET /containers/{id}/stats` (`ContainerStats`). Field names are snake case on the
//! wire, unlike the rest of the API.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `pids_stats`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PidsStats {
    /// Tasks in the cgroup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<u64>,
    /// Task limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
}

/// `cpu_usage`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuUsage {
    /// Nanoseconds of CPU used.
    #[serde(default, deserialize_with = "super::nullable")]
    pub total_usage: u64,
    /// Per CPU (cgroup v1 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percpu_usage: Option<Vec<u64>>,
    /// Nanoseconds in kernel mode.
    #[serde(default, deserialize_with = "super::nullable")]
    pub usage_in_kernelmode: u64,
    /// Nanoseconds in user mode.
    #[serde(default, deserialize_with = "super::nullable")]
    pub usage_in_usermode: u64,
}

/// `throttling_data`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThrottlingData {
    /// Periods with throttling active.
    #[serde(default, deserialize_with = "super::nullable")]
    pub periods: u64,
    /// Periods throttled.
    #[serde(default, deserialize_with = "super::nullable")]
    pub throttled_periods: u64,
    /// Nanoseconds throttled.
    #[serde(default, deserialize_with = "super::nullable")]
    pub throttled_time: u64,
}

/// `cpu_stats` and `precpu_stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuStats {
    /// The container's usage.
    #[serde(default, deserialize_with = "super::nullable")]
    pub cpu_usage: CpuUsage,
    /// Nanoseconds of host CPU time, for percentages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_cpu_usage: Option<u64>,
    /// CPUs online.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub online_cpus: Option<u32>,
    /// Throttling.
    #[serde(default, deserialize_with = "super::nullable")]
    pub throttling_data: ThrottlingData,
}

/// `memory_stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryStats {
    /// Bytes in use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<u64>,
    /// Peak bytes (cgroup v1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_usage: Option<u64>,
    /// Raw `memory.stat` counters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<BTreeMap<String, u64>>,
    /// Times the limit was hit (cgroup v1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failcnt: Option<u64>,
    /// Limit in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
}

/// One block-I/O counter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlkioStatEntry {
    /// Device major number.
    pub major: u64,
    /// Device minor number.
    pub minor: u64,
    /// `read`, `write`, ...
    pub op: String,
    /// Bytes or operations.
    pub value: u64,
}

/// `blkio_stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlkioStats {
    /// Bytes per device and operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub io_service_bytes_recursive: Option<Vec<BlkioStatEntry>>,
    /// Operations per device and operation (cgroup v1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub io_serviced_recursive: Option<Vec<BlkioStatEntry>>,
}

/// Counters of one network interface.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkStats {
    /// Bytes received.
    pub rx_bytes: u64,
    /// Packets received.
    pub rx_packets: u64,
    /// Receive errors.
    pub rx_errors: u64,
    /// Received packets dropped.
    pub rx_dropped: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Packets sent.
    pub tx_packets: u64,
    /// Send errors.
    pub tx_errors: u64,
    /// Sent packets dropped.
    pub tx_dropped: u64,
}

/// One stats sample.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerStats {
    /// Container name with its leading `/`.
    #[serde(default, deserialize_with = "super::nullable")]
    pub name: String,
    /// Container ID.
    #[serde(default, deserialize_with = "super::nullable")]
    pub id: String,
    /// RFC 3339 time of this sample.
    #[serde(default, deserialize_with = "super::nullable")]
    pub read: String,
    /// RFC 3339 time of the previous sample.
    #[serde(default, deserialize_with = "super::nullable")]
    pub preread: String,
    /// Tasks.
    #[serde(default, deserialize_with = "super::nullable")]
    pub pids_stats: PidsStats,
    /// Block I/O.
    #[serde(default, deserialize_with = "super::nullable")]
    pub blkio_stats: BlkioStats,
    /// Processes (Windows).
    #[serde(default, deserialize_with = "super::nullable")]
    pub num_procs: u32,
    /// CPU now.
    #[serde(default, deserialize_with = "super::nullable")]
    pub cpu_stats: CpuStats,
    /// CPU at the previous sample.
    #[serde(default, deserialize_with = "super::nullable")]
    pub precpu_stats: CpuStats,
    /// Memory.
    #[serde(default, deserialize_with = "super::nullable")]
    pub memory_stats: MemoryStats,
    /// Network interfaces by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub networks: Option<BTreeMap<String, NetworkStats>>,
}
