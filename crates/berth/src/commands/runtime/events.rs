//! `berth runtime events`: resource statistics (and OOM events) as JSON lines.

use std::time::Duration;

use berth_runtime::container::{self, Container};
use berth_runtime::state::{StateRoot, Status};
use clap::Args;
use serde_json::json;

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Print the statistics once and exit.
    #[arg(long)]
    stats: bool,
    /// How often to print statistics, e.g. 5s or 500ms.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    interval: Duration,
    /// The container id.
    id: String,
}

pub fn run(root: &StateRoot, args: EventsArgs) -> anyhow::Result<i32> {
    let print_stats = || -> anyhow::Result<()> {
        let stats = container::stats(root, &args.id)?;
        println!("{}", json!({"type": "stats", "id": args.id, "data": stats}));
        Ok(())
    };
    if args.stats {
        print_stats()?;
        return Ok(0);
    }
    let mut ooms = Container::load(root, &args.id)?
        .state
        .cgroup
        .oom_kill_count()
        .unwrap_or(0);
    loop {
        let container = Container::load(root, &args.id)?;
        if container.status == Status::Stopped {
            return Ok(0);
        }
        let now = container.state.cgroup.oom_kill_count().unwrap_or(ooms);
        if now > ooms {
            println!("{}", json!({"type": "oom", "id": args.id}));
            ooms = now;
        }
        print_stats()?;
        std::thread::sleep(args.interval);
    }
}
