//! `list`: every container under the state root, with its status.

use crate::error::Result;
use crate::state::StateRoot;

use super::Container;

/// Every container under `root`, sorted by id. Unreadable entries are skipped.
pub fn list(root: &StateRoot) -> Result<Vec<Container>> {
    Ok(root
        .ids()?
        .iter()
        .filter_map(|id| Container::load(root, id).ok())
        .collect())
}
