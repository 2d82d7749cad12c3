//! `DELETE /images/{name}` and `POST /images/prune`, with Docker's rules for images that
//! containers use, and the unpacked layers (snapshots) no image needs any more.

use std::collections::{BTreeSet, HashSet};

use axum::extract::{Query, State};
use axum::response::Response;
use berth_client::types::images::ImageDeleteResponseItem;
use berth_image::digest::Digest;
use berth_image::manifest;
use berth_image::store::Removed;
use serde::Serialize;

use super::{errors, param, publish, short_id, Params};
use crate::api::{json, query, ApiResult, AppState};
use crate::engine::Engine;
use crate::error::EngineError;

/// The snapshots (chain ids) of image `digest`, base first.
fn chains_of(engine: &Engine, digest: &Digest) -> Vec<Digest> {
    engine
        .images()
        .image(digest)
        .ok()
        .and_then(|image| manifest::diff_ids(&image.config).ok())
        .map(|diffs| manifest::chain_ids(&diffs))
        .unwrap_or_default()
}

/// Removes the snapshots in `candidates` that no remaining image and no container uses,
/// top layers first (a snapshot cannot go while a child names it as parent).
fn release_snapshots(engine: &Engine, candidates: Vec<Digest>) {
    if candidates.is_empty() {
        return;
    }
    let mut keep: HashSet<String> = HashSet::new();
    if let Ok(images) = engine.images().list() {
        for image in images {
            keep.extend(
                chains_of(engine, &image.manifest_digest)
                    .iter()
                    .map(ToString::to_string),
            );
        }
    }
    for container in engine.containers.all() {
        keep.extend(container.with(|r| r.layers.clone()));
    }
    for chain in candidates.iter().rev() {
        if keep.contains(&chain.to_string()) || !engine.snapshots().exists(chain) {
            continue;
        }
        if let Err(e) = engine.snapshots().remove(chain) {
            tracing::warn!(snapshot = %chain, error = %e, "could not remove an unused snapshot");
        }
    }
}

/// Docker's answer items for what the store did, and the events for them.
fn report(
    engine: &Engine,
    image_id: Option<&str>,
    removed: &[Removed],
) -> Vec<ImageDeleteResponseItem> {
    let mut items = Vec::new();
    for item in removed {
        match item {
            Removed::Untagged(reference) => {
                if let Some(id) = image_id {
                    publish(engine, "untag", id, id);
                }
                items.push(ImageDeleteResponseItem {
                    untagged: Some(reference.familiar()),
                    deleted: None,
                });
            }
            Removed::Deleted(id) => {
                let id = id.to_string();
                publish(engine, "delete", &id, &id);
                items.push(ImageDeleteResponseItem {
                    untagged: None,
                    deleted: Some(id),
                });
            }
            Removed::Blob(..) => {}
        }
    }
    items
}

/// `DELETE /images/{name}?force=&noprune=` (`noprune` has nothing to keep: berth images
/// have no parent images).
pub(crate) fn remove(engine: &Engine, name: &str, params: &Params) -> ApiResult<Response> {
    let force = query::flag(param(params, "force"));
    let store = engine.images();
    let (digest, by_name) = store
        .resolve_name(name)
        .map_err(|e| errors::store(name, e))?;
    let image = store.image(&digest).map_err(|e| errors::store(name, e))?;
    let id = image.config_digest.to_string();
    let users: Vec<(String, bool)> = engine
        .containers
        .all()
        .into_iter()
        .filter_map(|c| {
            c.with(|r| (r.image_id == id).then(|| (c.id.clone(), r.state.is_running())))
        })
        .collect();
    let names = store.names_of(&digest)?;
    let tags = names.iter().filter(|r| r.digest().is_none()).count();
    // Removing one of several tags never touches the image: containers do not care.
    let untag_only = by_name.as_ref().is_some_and(|r| r.digest().is_none()) && tags > 1;
    if let (Some((container, running)), false) = (users.first(), untag_only) {
        if !force {
            let message = match &by_name {
                Some(_) => format!(
                    "conflict: unable to remove repository reference \"{name}\" (must force) - container {} is using its referenced image {}",
                    short_id(container),
                    short_id(&id)
                ),
                None => format!(
                    "conflict: unable to delete {} (must be forced) - image is being used by {} container {}",
                    short_id(&id),
                    if *running { "running" } else { "stopped" },
                    short_id(container)
                ),
            };
            return Err(EngineError::Conflict(message).into());
        }
        // Forced: the names go, the image stays for the containers (as dockerd keeps an
        // image a running container uses).
        let doomed: Vec<_> = match &by_name {
            Some(reference) => vec![reference.clone()],
            None => names,
        };
        let mut removed = Vec::new();
        for reference in doomed {
            store
                .untag(&reference)
                .map_err(|e| errors::store(name, e))?;
            removed.push(Removed::Untagged(reference));
        }
        return Ok(json(&report(engine, Some(&id), &removed)));
    }
    let chains = chains_of(engine, &digest);
    let removed = store
        .remove(name, force)
        .map_err(|e| errors::store(name, e))?;
    if removed.iter().any(|r| matches!(r, Removed::Deleted(_))) {
        release_snapshots(engine, chains);
    }
    Ok(json(&report(engine, Some(&id), &removed)))
}

/// `ImagesPruneResponse`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PruneResponse {
    images_deleted: Vec<ImageDeleteResponseItem>,
    space_reclaimed: u64,
}

/// `POST /images/prune?filters=`: dangling images (or, with `dangling=false`, every
/// image) that no container uses and that match the `label` and `until` filters.
pub(crate) async fn prune(
    State(engine): State<AppState>,
    Query(params): Query<Params>,
) -> ApiResult<Response> {
    let filters = query::filters(param(&params, "filters"))?;
    query::check_keys(&filters, &["dangling", "label", "label!", "until"])?;
    let dangling_only = super::list::dangling(&filters)?.unwrap_or(true);
    let until = filters
        .get("until")
        .and_then(|v| v.last())
        .map(|t| super::list::until(t))
        .transpose()?;
    let engine = engine.clone();
    let answer = tokio::task::spawn_blocking(move || {
        // Images a filter spares are passed to the store as if in use: it keeps those.
        let mut keep: HashSet<Digest> = engine
            .images_in_use()
            .iter()
            .filter_map(|id| id.parse().ok())
            .collect();
        let mut chains = Vec::new();
        for listed in super::list::images(&engine)? {
            let labels = &listed.summary.labels;
            let excluded = filters.get("label!").is_some_and(|unwanted| {
                unwanted.iter().any(|u| match u.split_once('=') {
                    Some((k, v)) => labels.get(k).is_some_and(|have| have == v),
                    None => labels.contains_key(u.as_str()),
                })
            });
            let spared = !query::labels_match(&filters, labels)
                || excluded
                || until.is_some_and(|t| listed.created_nanos >= t);
            if let Ok(id) = listed.summary.id.parse::<Digest>() {
                if spared {
                    keep.insert(id);
                }
            }
        }
        let records: BTreeSet<Digest> = engine
            .images()
            .list()?
            .into_iter()
            .map(|i| i.manifest_digest)
            .collect();
        for record in &records {
            chains.extend(chains_of(&engine, record));
        }
        let report = engine.images().prune(dangling_only, &keep)?;
        release_snapshots(&engine, chains);
        let mut items = Vec::new();
        for removed in &report.removed {
            // The store lists untags before the deletion of their image.
            items.extend(self::report(&engine, None, std::slice::from_ref(removed)));
        }
        let mut attributes = std::collections::BTreeMap::new();
        attributes.insert("reclaimed".to_string(), report.reclaimed.to_string());
        engine.events().publish("image", "prune", "", attributes);
        Ok::<_, EngineError>(PruneResponse {
            images_deleted: items,
            space_reclaimed: report.reclaimed,
        })
    })
    .await
    .map_err(|e| EngineError::Internal(format!("prune images: {e}")))??;
    Ok(json(&answer))
}
