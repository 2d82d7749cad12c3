//! `POST /containers/{id}/update` (`docker update`): new resource limits and restart
//! policy, merged into the record as dockerd's `UpdateContainer` merges them (a zero or
//! absent value keeps the old one), and applied to the cgroup of a running container.
//!
//! As dockerd, only the values the request sets reach the cgroup; the record then holds
//! the merged configuration, which the next start applies in full.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use berth_client::types::containers::ContainerStatus;
use berth_client::types::host_config::{HostConfig, RestartPolicyName};
use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxPids, LinuxResources};

use super::{lookup, procfs};
use crate::api::{json, parse_body, ApiResult, AppState};
use crate::container::view::event_attributes;
use crate::error::EngineError;
use crate::spec::resources::{check_blkio_weight, check_cpu, check_memory, nano_cpus_cfs};

fn invalid(message: impl Into<String>) -> EngineError {
    EngineError::Invalid(message.into())
}

/// The request's own checks (dockerd's `verifyContainerSettings` for an update, which
/// unlike create allows a swap limit without a memory limit): create's resource checks
/// on a host with `cpus` CPUs, and the restart policy's.
pub fn validate(update: &HostConfig, cpus: usize) -> Result<(), EngineError> {
    check_memory(update, true)?;
    check_cpu(update, cpus)?;
    check_blkio_weight(update)?;
    if let Some(policy) = &update.restart_policy {
        let retries = policy.maximum_retry_count.unwrap_or(0);
        if retries < 0 {
            return Err(invalid("maximum retry count cannot be negative"));
        }
        if retries > 0 && policy.name != RestartPolicyName::OnFailure {
            let name = serde_json::to_value(policy.name)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            return Err(invalid(format!(
                "invalid restart policy: maximum retry count can only be used with 'on-failure' and cannot be used with '{name}'"
            )));
        }
    }
    Ok(())
}

/// Merges `update` into `current` as dockerd's `UpdateContainer` does. `policy_given`:
/// the request named a restart policy (an empty name means "unchanged").
pub fn merge(
    current: &mut HostConfig,
    update: &HostConfig,
    policy_given: bool,
) -> Result<(), EngineError> {
    let set = |v: Option<i64>| v.filter(|&n| n != 0);
    let conflict = |m: &str| EngineError::Conflict(m.to_string());
    let (nano, period, quota) = (
        set(update.nano_cpus),
        set(update.cpu_period),
        set(update.cpu_quota),
    );
    if nano.is_some() && set(current.cpu_period).is_some() {
        return Err(conflict(
            "Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set",
        ));
    }
    if nano.is_some() && set(current.cpu_quota).is_some() {
        return Err(conflict(
            "Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set",
        ));
    }
    if period.is_some() && set(current.nano_cpus).is_some() {
        return Err(conflict(
            "Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set",
        ));
    }
    if quota.is_some() && set(current.nano_cpus).is_some() {
        return Err(conflict(
            "Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set",
        ));
    }
    if let Some(weight) = update.blkio_weight.filter(|&w| w != 0) {
        current.blkio_weight = Some(weight);
    }
    if let Some(shares) = set(update.cpu_shares) {
        current.cpu_shares = Some(shares);
    }
    if nano.is_some() {
        current.nano_cpus = nano;
    }
    if period.is_some() {
        current.cpu_period = period;
    }
    if quota.is_some() {
        current.cpu_quota = quota;
    }
    if let Some(cpus) = update.cpuset_cpus.clone().filter(|c| !c.is_empty()) {
        current.cpuset_cpus = Some(cpus);
    }
    if let Some(mems) = update.cpuset_mems.clone().filter(|m| !m.is_empty()) {
        current.cpuset_mems = Some(mems);
    }
    if let Some(memory) = set(update.memory) {
        // A memory limit above the memory+swap limit in force (0 when none was set) needs
        // a new swap limit in the same request.
        if memory > current.memory_swap.unwrap_or(0) && set(update.memory_swap).is_none() {
            return Err(conflict("Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time"));
        }
        current.memory = Some(memory);
    }
    if let Some(swap) = set(update.memory_swap) {
        current.memory_swap = Some(swap);
    }
    if let Some(reservation) = set(update.memory_reservation) {
        current.memory_reservation = Some(reservation);
    }
    if let Some(limit) = update.pids_limit {
        current.pids_limit = (limit > 0).then_some(limit);
    }
    if policy_given {
        let policy = update.restart_policy.clone().unwrap_or_default();
        if current.auto_remove.unwrap_or(false) && policy.name != RestartPolicyName::No {
            return Err(conflict(
                "Restart policy cannot be updated because AutoRemove is enabled for the container",
            ));
        }
        current.restart_policy = Some(policy);
    }
    Ok(())
}

/// The cgroup changes the request asks for (dockerd's `toContainerdResources`): only
/// the values it sets.
pub fn resources(update: &HostConfig) -> LinuxResources {
    let set = |v: Option<i64>| v.filter(|&n| n != 0);
    let mut out = LinuxResources::default();
    if let Some(weight) = update.blkio_weight.filter(|&w| w != 0) {
        let mut blkio = LinuxBlockIo::default();
        blkio.set_weight(Some(weight));
        out.set_block_io(Some(blkio));
    }
    let mut cpu = LinuxCpu::default();
    let mut cpu_set = false;
    if let Some(shares) = set(update.cpu_shares).and_then(|s| u64::try_from(s).ok()) {
        cpu.set_shares(Some(shares));
        cpu_set = true;
    }
    let (mut period, mut quota) = (None, None);
    if let Some(nano) = set(update.nano_cpus) {
        let (nano_period, nano_quota) = nano_cpus_cfs(nano);
        period = Some(nano_period);
        quota = Some(nano_quota);
    }
    quota = quota.or(set(update.cpu_quota));
    period = period.or(set(update.cpu_period).and_then(|p| u64::try_from(p).ok()));
    if let Some(period) = period {
        cpu.set_period(Some(period));
        cpu_set = true;
    }
    if quota.is_some() {
        cpu.set_quota(quota);
        cpu_set = true;
    }
    if let Some(cpus) = update.cpuset_cpus.clone().filter(|c| !c.is_empty()) {
        cpu.set_cpus(Some(cpus));
        cpu_set = true;
    }
    if let Some(mems) = update.cpuset_mems.clone().filter(|m| !m.is_empty()) {
        cpu.set_mems(Some(mems));
        cpu_set = true;
    }
    if cpu_set {
        out.set_cpu(Some(cpu));
    }
    let mut memory = LinuxMemory::default();
    let mut memory_set = false;
    if let Some(limit) = set(update.memory) {
        memory.set_limit(Some(limit));
        memory_set = true;
    }
    if let Some(reservation) = set(update.memory_reservation) {
        memory.set_reservation(Some(reservation));
        memory_set = true;
    }
    if let Some(swap) = set(update.memory_swap) {
        // -1: unlimited.
        memory.set_swap(Some(swap));
        memory_set = true;
    }
    if memory_set {
        out.set_memory(Some(memory));
    }
    if let Some(limit) = update.pids_limit {
        let mut pids = LinuxPids::default();
        pids.set_limit(if limit > 0 { limit } else { -1 });
        out.set_pids(Some(pids));
    }
    out
}

/// Whether the request body names a restart policy (`"Name": ""` does not).
fn names_restart_policy(body: &serde_json::Value) -> bool {
    body.get("RestartPolicy")
        .and_then(|p| p.get("Name"))
        .and_then(|n| n.as_str())
        .is_some_and(|n| !n.is_empty())
}

/// The handler.
pub async fn update(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let raw: serde_json::Value = parse_body(&body)?;
    let update: HostConfig = serde_json::from_value(raw.clone())
        .map_err(|e| EngineError::Invalid(format!("invalid JSON in the request body: {e}")))?;
    let container = lookup(&engine, &id)?;
    validate(&update, procfs::online_cpus() as usize)?;
    let _lifecycle = container.op.lock().await;
    let (status, mut host_config) = container.with(|r| (r.state.status, r.host_config.clone()));
    if matches!(status, ContainerStatus::Removing | ContainerStatus::Dead) {
        return Err(EngineError::Conflict(
            "container is marked for removal and cannot be \"update\"".into(),
        )
        .into());
    }
    let cannot = |e: EngineError| match e {
        EngineError::Conflict(m) => {
            EngineError::Conflict(format!("Cannot update container {}: {m}", container.id))
        }
        other => {
            EngineError::Internal(format!("Cannot update container {}: {other}", container.id))
        }
    };
    merge(&mut host_config, &update, names_restart_policy(&raw)).map_err(cannot)?;
    if container.with(|r| r.state.is_running()) {
        let wanted = resources(&update);
        let runtime = engine.clone();
        let id = container.id.clone();
        tokio::task::spawn_blocking(move || {
            berth_runtime::container::update(runtime.runtime(), &id, &wanted)
        })
        .await
        .map_err(|e| EngineError::Internal(format!("update: {e}")))?
        .map_err(|e| cannot(e.into()))?;
    }
    container.update(|r| r.host_config = host_config)?;
    engine.events().publish(
        "container",
        "update",
        &container.id,
        event_attributes(&container),
    );
    Ok(json(&serde_json::json!({ "Warnings": [] })))
}

#[cfg(test)]
mod tests {
    use berth_client::types::host_config::RestartPolicy;

    use super::*;

    const MIB: i64 = 1024 * 1024;

    #[test]
    fn memory_above_the_swap_in_force_needs_a_new_swap() {
        let mut current = HostConfig::default();
        let err = merge(
            &mut current,
            &HostConfig {
                memory: Some(128 * MIB),
                ..Default::default()
            },
            false,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time"
        );
        assert_eq!(err.status(), hyper::StatusCode::CONFLICT);
        merge(
            &mut current,
            &HostConfig {
                memory: Some(128 * MIB),
                memory_swap: Some(256 * MIB),
                ..Default::default()
            },
            false,
        )
        .unwrap();
        assert_eq!(
            (current.memory, current.memory_swap),
            (Some(128 * MIB), Some(256 * MIB))
        );
        // Lower memory within the swap in force: swap kept.
        merge(
            &mut current,
            &HostConfig {
                memory: Some(64 * MIB),
                memory_swap: Some(0),
                ..Default::default()
            },
            false,
        )
        .unwrap();
        assert_eq!(
            (current.memory, current.memory_swap),
            (Some(64 * MIB), Some(256 * MIB))
        );
    }

    #[test]
    fn zeros_keep_old_values_and_cpu_kinds_do_not_mix() {
        let mut current = HostConfig {
            cpu_shares: Some(512),
            nano_cpus: Some(1_000_000_000),
            ..Default::default()
        };
        merge(
            &mut current,
            &HostConfig {
                cpu_shares: Some(0),
                nano_cpus: Some(500_000_000),
                pids_limit: Some(50),
                ..Default::default()
            },
            false,
        )
        .unwrap();
        assert_eq!(current.cpu_shares, Some(512));
        assert_eq!(current.nano_cpus, Some(500_000_000));
        assert_eq!(current.pids_limit, Some(50));
        let err = merge(
            &mut current,
            &HostConfig {
                cpu_quota: Some(50_000),
                ..Default::default()
            },
            false,
        )
        .unwrap_err();
        assert!(err
            .to_string()
            .contains("CPU Quota cannot be updated as NanoCPUs"));
    }

    #[test]
    fn restart_policy_changes_only_when_named_and_not_with_auto_remove() {
        let mut current = HostConfig::default();
        let always = HostConfig {
            restart_policy: Some(RestartPolicy {
                name: RestartPolicyName::Always,
                maximum_retry_count: None,
            }),
            ..Default::default()
        };
        merge(&mut current, &always, false).unwrap();
        assert_eq!(current.restart_policy, None);
        merge(&mut current, &always, true).unwrap();
        assert_eq!(
            current.restart_policy.unwrap().name,
            RestartPolicyName::Always
        );
        let mut auto = HostConfig {
            auto_remove: Some(true),
            ..Default::default()
        };
        assert!(merge(&mut auto, &always, true).is_err());
        let raw = serde_json::json!({"RestartPolicy": {"Name": "", "MaximumRetryCount": 0}});
        assert!(!names_restart_policy(&raw));
        assert!(names_restart_policy(
            &serde_json::json!({"RestartPolicy": {"Name": "no"}})
        ));
    }

    #[test]
    fn validation_messages_are_dockers() {
        let check = |h: HostConfig| validate(&h, 2).unwrap_err().to_string();
        assert_eq!(
            check(HostConfig {
                memory: Some(MIB),
                ..Default::default()
            }),
            "Minimum memory limit allowed is 6MB"
        );
        assert_eq!(
            check(HostConfig {
                nano_cpus: Some(3_000_000_000),
                ..Default::default()
            }),
            "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"
        );
        assert_eq!(
            check(HostConfig {
                blkio_weight: Some(5),
                ..Default::default()
            }),
            "Range of blkio weight is from 10 to 1000"
        );
        // A swap limit alone is fine in an update.
        validate(
            &HostConfig {
                memory_swap: Some(512 * MIB),
                ..Default::default()
            },
            2,
        )
        .unwrap();
    }

    #[test]
    fn only_the_requested_values_reach_the_cgroup() {
        let r = resources(&HostConfig {
            nano_cpus: Some(1_500_000_000),
            memory: Some(64 * MIB),
            pids_limit: Some(0),
            ..Default::default()
        });
        let cpu = r.cpu().as_ref().unwrap();
        assert_eq!(
            (cpu.period(), cpu.quota(), cpu.shares()),
            (Some(100_000), Some(150_000), None)
        );
        let memory = r.memory().as_ref().unwrap();
        assert_eq!((memory.limit(), memory.swap()), (Some(64 * MIB), None));
        assert_eq!(r.pids().as_ref().unwrap().limit(), -1);
        assert_eq!(r.block_io(), &None);
        assert_eq!(resources(&HostConfig::default()), LinuxResources::default());
    }
}
