//! `update`: changes a live container's resource limits.

use oci_spec::runtime::{LinuxBuilder, LinuxResources};

use crate::error::Result;
use crate::state::{StateRoot, Status};

use super::Container;

/// Applies `resources` to container `id`'s cgroup and records them in its config, so a
/// later `state`-based tool sees what is in force.
pub fn update(root: &StateRoot, id: &str, resources: &LinuxResources) -> Result<()> {
    let container = Container::load(root, id)?;
    container.require(
        &[Status::Created, Status::Running, Status::Paused],
        "update it",
    )?;
    container.state.cgroup.apply(resources)?;
    let mut state = container.state;
    let mut linux = state
        .config
        .linux()
        .clone()
        .unwrap_or_else(|| LinuxBuilder::default().build().unwrap_or_default());
    let merged = merge(linux.resources().clone().unwrap_or_default(), resources);
    linux.set_resources(Some(merged));
    state.config.set_linux(Some(linux));
    root.save(&state)
}

/// `base` with every field that `update` sets replaced.
fn merge(mut base: LinuxResources, update: &LinuxResources) -> LinuxResources {
    if update.memory().is_some() {
        base.set_memory(*update.memory());
    }
    if update.cpu().is_some() {
        base.set_cpu(update.cpu().clone());
    }
    if update.pids().is_some() {
        base.set_pids(*update.pids());
    }
    if update.block_io().is_some() {
        base.set_block_io(update.block_io().clone());
    }
    if update.hugepage_limits().is_some() {
        base.set_hugepage_limits(update.hugepage_limits().clone());
    }
    if update.unified().is_some() {
        base.set_unified(update.unified().clone());
    }
    base
}
