//! `berth images` / `berth image ls`.

use clap::{Args, ValueEnum};
use serde_json::json;

use crate::commands::output::{ago, human_size, print_table, short_id};
use crate::commands::Context;

/// Flags of `images`.
#[derive(Debug, Args)]
pub struct LsArgs {
    /// Only this repository (optionally with a tag).
    reference: Option<String>,
    /// Show only image ids.
    #[arg(long, short = 'q')]
    quiet: bool,
    /// Show untagged images too (docker shows them by default as <none>).
    #[arg(long, short = 'a')]
    all: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Show full ids.
    #[arg(long)]
    no_trunc: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Json,
}

pub fn run(ctx: &Context, args: LsArgs) -> anyhow::Result<i32> {
    let store = ctx.image_store()?;
    let filter = args
        .reference
        .as_deref()
        .map(berth_image::reference::Reference::parse)
        .transpose()?;
    let explicit_tag = args
        .reference
        .as_deref()
        .is_some_and(|r| r.rsplit('/').next().is_some_and(|last| last.contains(':')));
    let mut rows = Vec::new();
    for image in store.list()? {
        let id = if args.no_trunc {
            image.id.to_string()
        } else {
            short_id(&image.id)
        };
        let names: Vec<(String, String)> = if image.references.is_empty() {
            vec![("<none>".into(), "<none>".into())]
        } else {
            image
                .references
                .iter()
                .filter(|r| {
                    filter.as_ref().is_none_or(|f| {
                        f.name() == r.name() && (!explicit_tag || f.tag() == r.tag())
                    })
                })
                .map(|r| {
                    let familiar = r.familiar();
                    let repo = familiar
                        .rsplit_once(':')
                        .map_or(familiar.clone(), |(repo, _)| repo.to_string());
                    (repo, r.tag().unwrap_or("<none>").to_string())
                })
                .collect()
        };
        if filter.is_some() && image.references.is_empty() {
            continue;
        }
        for (repo, tag) in names {
            rows.push((
                repo,
                tag,
                id.clone(),
                image.created.clone(),
                image.size,
                image.id.clone(),
            ));
        }
    }
    if args.quiet {
        let mut seen = std::collections::HashSet::new();
        for row in rows.iter().filter(|r| seen.insert(r.2.clone())) {
            println!("{}", row.2);
        }
        return Ok(0);
    }
    match args.format {
        Format::Json => {
            for (repo, tag, _, created, size, id) in &rows {
                println!(
                    "{}",
                    json!({"Repository": repo, "Tag": tag, "ID": id.to_string(),
                           "CreatedAt": created, "Size": human_size(*size)})
                );
            }
        }
        Format::Table => {
            let mut table =
                vec![["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"].map(String::from)];
            for (repo, tag, id, created, size, _) in rows {
                table.push([repo, tag, id, ago(created.as_deref()), human_size(size)]);
            }
            print_table(&table);
        }
    }
    Ok(0)
}
