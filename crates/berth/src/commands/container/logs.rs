//! `berth logs`: a container's output so far, and with `-f` as it comes.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use berth_client::codec::StreamType;
use berth_client::LogsOptions;
use clap::Args;

use crate::commands::{async_rt, daemon_client, Context};

/// `berth logs` arguments.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Keep following the output.
    #[arg(short, long)]
    follow: bool,
    /// Show timestamps.
    #[arg(short, long)]
    timestamps: bool,
    /// Since a time (RFC 3339, Unix seconds) or a duration ago (`10m`).
    #[arg(long)]
    since: Option<String>,
    /// Until a time or a duration ago.
    #[arg(long)]
    until: Option<String>,
    /// Only the last N lines (`all`).
    #[arg(short = 'n', long)]
    tail: Option<String>,
    /// The container.
    container: String,
}

/// docker's time arguments: a duration ago, an RFC 3339 time, or Unix seconds, as the
/// Unix seconds the API takes.
pub fn api_time(text: &str) -> anyhow::Result<String> {
    let now = SystemTime::now();
    if let Ok(ago) = humantime::parse_duration(text) {
        let then = now.checked_sub(ago).unwrap_or(UNIX_EPOCH);
        return Ok(unix(then));
    }
    if let Ok(then) = humantime::parse_rfc3339_weak(text.trim_end_matches('Z')) {
        return Ok(unix(then));
    }
    if text.parse::<f64>().is_ok() {
        return Ok(text.to_string());
    }
    anyhow::bail!("invalid time `{text}`: expected a duration (10m), RFC 3339 or Unix seconds")
}

fn unix(time: SystemTime) -> String {
    let d = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    format!("{}.{:09}", d.as_secs(), d.subsec_nanos())
}

/// Prints the logs.
pub fn run(ctx: &Context, args: LogsArgs) -> anyhow::Result<i32> {
    async_rt::block_on(async {
        let client = daemon_client::connect(ctx).await?;
        let options = LogsOptions {
            stdout: true,
            stderr: true,
            follow: args.follow,
            timestamps: args.timestamps,
            since: args.since.as_deref().map(api_time).transpose()?,
            until: args.until.as_deref().map(api_time).transpose()?,
            tail: args.tail.clone(),
        };
        let mut stream = client.logs(&args.container, &options).await?;
        let (mut stdout, mut stderr) = (std::io::stdout(), std::io::stderr());
        while let Some(frame) = stream.next().await {
            let frame = frame?;
            match frame.stream {
                StreamType::Stderr => {
                    stderr.write_all(&frame.data)?;
                    stderr.flush()?;
                }
                StreamType::SystemErr => anyhow::bail!("{}", String::from_utf8_lossy(&frame.data)),
                _ => {
                    stdout.write_all(&frame.data)?;
                    stdout.flush()?;
                }
            }
        }
        Ok(0)
    })?
}
