//! `berth inspect`: containers, images, networks and volumes as JSON, or through a
//! `--format` template.

use berth_client::{DockerClient, ObjectKind};
use clap::Args;

use crate::commands::{async_rt, daemon_client, format, Context};

/// `berth inspect` arguments.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A Go template (`{{.State.Status}}`) or `json`.
    #[arg(short, long)]
    format: Option<String>,
    /// Only objects of this type: container, image, network, volume.
    #[arg(long = "type", value_parser = ["container", "image", "network", "volume"])]
    kind: Option<String>,
    /// Sizes (containers).
    #[arg(short, long)]
    size: bool,
    /// The objects.
    #[arg(required = true)]
    names: Vec<String>,
}

/// Prints the objects; 1 if any was not found.
pub fn run(ctx: &Context, args: InspectArgs) -> anyhow::Result<i32> {
    let kinds: Vec<ObjectKind> = match args.kind.as_deref() {
        Some("container") => vec![ObjectKind::Container],
        Some("image") => vec![ObjectKind::Image],
        Some("network") => vec![ObjectKind::Network],
        Some("volume") => vec![ObjectKind::Volume],
        _ => vec![
            ObjectKind::Container,
            ObjectKind::Image,
            ObjectKind::Volume,
            ObjectKind::Network,
        ],
    };
    print_objects(ctx, &kinds, &args.names, args.format.as_deref())
}

/// Looks each name up among `kinds`, in order, and prints what it finds as `inspect`
/// does: a JSON array, or the template once per object. Also `network inspect` and
/// `volume inspect`.
pub fn print_objects(
    ctx: &Context,
    kinds: &[ObjectKind],
    names: &[String],
    template: Option<&str>,
) -> anyhow::Result<i32> {
    async_rt::block_on(async {
        let client = daemon_client::connect(ctx).await?;
        let mut found = Vec::new();
        let mut missing = false;
        for name in names {
            match lookup(&client, kinds, name).await? {
                Some(value) => found.push(value),
                None => {
                    eprintln!("Error: No such object: {name}");
                    missing = true;
                }
            }
        }
        match template {
            None | Some("") => println!("{}", serde_json::to_string_pretty(&found)?),
            Some("json") => println!("{}", serde_json::to_string(&found)?),
            Some(text) => {
                for value in &found {
                    println!("{}", format::render(text, value)?);
                }
            }
        }
        Ok(i32::from(missing))
    })?
}

async fn lookup(
    client: &DockerClient,
    kinds: &[ObjectKind],
    name: &str,
) -> anyhow::Result<Option<serde_json::Value>> {
    for kind in kinds {
        match client.inspect_raw(*kind, name).await {
            Ok(value) => return Ok(Some(value)),
            Err(e) if e.is_not_found() => continue,
            // A volume or network name that is not a valid path segment answers 400.
            Err(berth_client::Error::InvalidArgument { .. }) if kinds.len() > 1 => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(None)
}
