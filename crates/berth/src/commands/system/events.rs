//! `berth events`: the daemon's events, past (`--since`) and live until `--until`.

use berth_client::EventsOptions;
use clap::Args;

use crate::commands::container::logs::api_time;
use crate::commands::container::ps::filters;
use crate::commands::{async_rt, daemon_client, format, Context};

/// `berth events` arguments.
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// From this time (RFC 3339, Unix seconds, or a duration ago).
    #[arg(long)]
    since: Option<String>,
    /// Until this time; without it events stream until interrupted.
    #[arg(long)]
    until: Option<String>,
    /// Filters (`type=container`, `event=start`, `container=web`, `label=`).
    #[arg(short, long)]
    filter: Vec<String>,
    /// `json` or a Go template.
    #[arg(long)]
    format: Option<String>,
}

/// docker's line for an event:
/// `2024-05-01T12:00:00.000000000Z container start 3f4e... (image=busybox, name=web)`.
fn line(event: &berth_client::types::events::EventMessage) -> String {
    let secs = event.time_nano / 1_000_000_000;
    let nanos = event.time_nano % 1_000_000_000;
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs.max(0) as u64);
    let stamp = humantime::format_rfc3339_seconds(time).to_string();
    let stamp = format!("{}.{nanos:09}Z", stamp.trim_end_matches('Z'));
    let attributes: Vec<String> = event
        .actor
        .attributes
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let mut text = format!(
        "{stamp} {} {} {}",
        event.r#type, event.action, event.actor.id
    );
    if !attributes.is_empty() {
        text.push_str(&format!(" ({})", attributes.join(", ")));
    }
    text
}

/// Prints the events.
pub fn run(ctx: &Context, args: EventsArgs) -> anyhow::Result<i32> {
    async_rt::block_on(async {
        let client = daemon_client::connect(ctx).await?;
        let options = EventsOptions {
            since: args.since.as_deref().map(api_time).transpose()?,
            until: args.until.as_deref().map(api_time).transpose()?,
            filters: filters(&args.filter)?,
        };
        let mut stream = client.events(&options).await?;
        while let Some(event) = stream.next().await {
            let event = event?;
            match args.format.as_deref() {
                None => println!("{}", line(&event)),
                Some("json") => println!("{}", serde_json::to_string(&event)?),
                Some(text) => println!("{}", format::render(text, &serde_json::to_value(&event)?)?),
            }
        }
        Ok(0)
    })?
}
