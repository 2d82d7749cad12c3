//! `berth runtime state`.

use berth_runtime::container::Container;
use berth_runtime::state::StateRoot;
use clap::Args;

#[derive(Debug, Args)]
pub struct StateArgs {
    /// The container id.
    id: String,
}

pub fn run(root: &StateRoot, args: StateArgs) -> anyhow::Result<i32> {
    let container = Container::load(root, &args.id)?;
    let state = container.state.oci_state(container.status);
    println!("{}", serde_json::to_string_pretty(&state)?);
    Ok(0)
}
