//! `berth create`: create a container (pulling its image when missing), print its ID.

use berth_client::types::containers::ContainerCreateRequest;
use berth_client::{CreateOptions, DockerClient, PullOptions};
use clap::Args;

use super::config::CreateFlags;
use crate::commands::{async_rt, daemon_client, Context};

/// `berth create` arguments.
#[derive(Debug, Args)]
pub struct CreateArgs {
    #[command(flatten)]
    flags: CreateFlags,
}

/// Creates the container and prints its ID.
pub fn run(ctx: &Context, args: CreateArgs) -> anyhow::Result<i32> {
    async_rt::block_on(async {
        let client = daemon_client::connect(ctx).await?;
        let request = args.flags.request(false)?;
        let id = create(&client, &args.flags, &request).await?;
        println!("{id}");
        Ok(0)
    })?
}

/// docker's create: pull first with `--pull always`, pull on "no such image" with
/// `--pull missing`; warnings to stderr. Returns the new ID.
pub async fn create(
    client: &DockerClient,
    flags: &CreateFlags,
    request: &ContainerCreateRequest,
) -> anyhow::Result<String> {
    let options = CreateOptions {
        name: flags.name.clone(),
        platform: flags.platform.clone(),
    };
    if flags.pull == "always" {
        pull(client, &flags.image, flags.platform.as_deref()).await?;
    }
    let created = match client.create_container_with(&options, request).await {
        Err(e) if e.is_not_found() && flags.pull == "missing" => {
            eprintln!(
                "Unable to find image '{}' locally",
                full_reference(&flags.image)
            );
            pull(client, &flags.image, flags.platform.as_deref()).await?;
            client.create_container_with(&options, request).await?
        }
        other => other?,
    };
    for warning in created.warnings.iter().flatten() {
        eprintln!("WARNING: {warning}");
    }
    Ok(created.id)
}

/// `busybox` → `busybox:latest`, as docker names it in its messages.
fn full_reference(image: &str) -> String {
    let last = image.rsplit('/').next().unwrap_or(image);
    if last.contains(':') || image.contains('@') {
        image.to_string()
    } else {
        format!("{image}:latest")
    }
}

/// Pulls through the daemon, printing progress lines to stderr as docker does when
/// its output is not a terminal.
pub async fn pull(
    client: &DockerClient,
    image: &str,
    platform: Option<&str>,
) -> anyhow::Result<()> {
    let options = PullOptions {
        platform: platform.map(str::to_string),
        auth: None,
    };
    let mut stream = client.pull_image(&full_reference(image), &options).await?;
    while let Some(message) = stream.next().await {
        let message = message?;
        if let Some(failure) = message.error_message() {
            anyhow::bail!("{failure}");
        }
        if message
            .progress_detail
            .as_ref()
            .and_then(|p| p.total)
            .is_some()
        {
            // Byte counters: docker redraws these in place on a terminal only.
            continue;
        }
        match (&message.id, &message.status) {
            (Some(id), Some(status)) => eprintln!("{id}: {status}"),
            (None, Some(status)) => eprintln!("{status}"),
            _ => {}
        }
    }
    Ok(())
}
