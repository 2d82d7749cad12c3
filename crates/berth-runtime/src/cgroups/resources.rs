//! Applying a spec's `linux.resources` (at create and at `update`): each resource goes
//! to the hierarchy that drives its controller, v1 or unified.

use oci_spec::runtime::LinuxResources;

use super::fs::Dir;
use super::{bpf, v1, v2, CgroupError, CgroupManager, Side};

impl CgroupManager {
    /// Writes the limits of `resources` (also used by `update`).
    pub fn apply(&self, resources: &LinuxResources) -> Result<(), CgroupError> {
        if let Some(memory) = resources.memory() {
            match self.side("memory", "memory")? {
                Side::V1(dir) => v1::memory(dir, memory)?,
                Side::V2(dir) => v2::memory(dir, memory)?,
            }
        }
        if let Some(cpu) = resources.cpu() {
            let wants_cpu = cpu.shares().is_some()
                || cpu.quota().is_some()
                || cpu.period().is_some()
                || cpu.burst().is_some()
                || cpu.idle().is_some()
                || cpu.realtime_runtime().is_some()
                || cpu.realtime_period().is_some();
            if wants_cpu {
                match self.side("cpu", "cpu")? {
                    Side::V1(dir) => v1::cpu(dir, cpu)?,
                    Side::V2(dir) => v2::cpu(dir, cpu)?,
                }
            }
            if cpu.cpus().is_some() || cpu.mems().is_some() {
                let dir = match self.side("cpu.cpus", "cpuset")? {
                    Side::V1(dir) | Side::V2(dir) => dir,
                };
                // v1 and v2 cpuset files share their names.
                v1::cpuset(dir, cpu)?;
            }
        }
        if let Some(pids) = resources.pids() {
            let dir = match self.side("pids", "pids")? {
                Side::V1(dir) | Side::V2(dir) => dir,
            };
            // `pids.max` is the same file on v1 and v2; runc writes "max" for <= 0.
            let limit = pids.limit();
            let value = if limit > 0 {
                limit.to_string()
            } else {
                "max".to_owned()
            };
            dir.write("pids.max", &value)?;
        }
        if let Some(block_io) = resources.block_io() {
            let (v1_side, v2_side) = (self.v1.get("blkio"), self.v2_has("io"));
            match (v1_side, v2_side) {
                (Some(dir), _) => v1::blkio(Dir(dir), block_io)?,
                (None, Some(dir)) => v2::io(dir, block_io)?,
                (None, None) if v1::blkio_is_empty(block_io) => {}
                (None, None) => {
                    return Err(CgroupError::MissingController {
                        resource: "blockIO",
                        controller: "blkio",
                    })
                }
            }
        }
        if let Some(limits) = resources.hugepage_limits() {
            if !limits.is_empty() {
                match self.side("hugepageLimits", "hugetlb")? {
                    Side::V1(dir) => v1::hugetlb(dir, limits)?,
                    Side::V2(dir) => v2::hugetlb(dir, limits)?,
                }
            }
        }
        if let Some(network) = resources.network() {
            v1::network(
                self.v1.get("net_cls").map(|d| Dir(d)),
                self.v1.get("net_prio").map(|d| Dir(d)),
                network,
            )?;
        }
        if let Some(rdma) = resources.rdma() {
            if !rdma.is_empty() {
                let dir = match self.side("rdma", "rdma")? {
                    Side::V1(dir) | Side::V2(dir) => dir,
                };
                // `rdma.max` has one syntax on v1 and v2.
                v2::rdma(dir, rdma)?;
            }
        }
        if let Some(devices) = resources.devices() {
            match (self.v1.get("devices"), &self.unified) {
                (Some(dir), _) => v1::devices(Dir(dir), devices)?,
                (None, Some(unified)) => bpf::apply_device_filter(&unified.dir, devices)?,
                (None, None) => {
                    return Err(CgroupError::MissingController {
                        resource: "devices",
                        controller: "devices",
                    })
                }
            }
        }
        if let Some(files) = resources.unified() {
            let Some(unified) = &self.unified else {
                return Err(CgroupError::MissingController {
                    resource: "unified",
                    controller: "cgroup2",
                });
            };
            v2::unified_files(Dir(&unified.dir), files)?;
        }
        Ok(())
    }
}
