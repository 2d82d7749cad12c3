//! `pause` and `resume`: freeze and thaw every process of a container.

use crate::error::Result;
use crate::state::{StateRoot, Status};

use super::Container;

/// Freezes container `id`.
pub fn pause(root: &StateRoot, id: &str) -> Result<()> {
    let container = Container::load(root, id)?;
    container.require(&[Status::Running, Status::Created], "pause it")?;
    Ok(container.state.cgroup.freeze()?)
}

/// Thaws container `id`.
pub fn resume(root: &StateRoot, id: &str) -> Result<()> {
    let container = Container::load(root, id)?;
    container.require(&[Status::Paused], "resume it")?;
    Ok(container.state.cgroup.thaw()?)
}
