//! `GET /images/json`: the image list, with Docker's filters.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Query, State};
use axum::response::Response;
use berth_client::types::images::ImageSummary;
use berth_image::reference::Reference;

use super::{errors, param, Params};
use crate::api::query::{self, Filters};
use crate::api::{json, ApiResult, AppState};
use crate::engine::Engine;
use crate::error::EngineError;

/// One image, its names merged over the records that share its id (an index and its
/// platform manifest are one image to the user).
#[derive(Debug)]
pub(crate) struct Listed {
    pub summary: ImageSummary,
    /// Creation time, unix nanoseconds (0 when the config has none).
    pub created_nanos: i128,
    /// Tags, as references (for the `reference` filter).
    pub tags: Vec<Reference>,
    /// `name@digest` names.
    pub digests: Vec<Reference>,
}

/// Every image, by id.
pub(crate) fn images(engine: &Engine) -> Result<Vec<Listed>, EngineError> {
    let store = engine.images();
    let mut users: HashMap<String, i64> = HashMap::new();
    for container in engine.containers.all() {
        *users
            .entry(container.with(|r| r.image_id.clone()))
            .or_default() += 1;
    }
    let mut by_id: BTreeMap<String, Listed> = BTreeMap::new();
    for item in store.list()? {
        let id = item.id.to_string();
        let labels = store
            .image(&item.manifest_digest)
            .ok()
            .and_then(|image| {
                image
                    .config
                    .config()
                    .as_ref()
                    .and_then(|c| c.labels().clone())
            })
            .map(|labels| labels.into_iter().collect())
            .unwrap_or_default();
        let created_nanos = item
            .created
            .as_deref()
            .and_then(|c| query::timestamp(c).ok())
            .unwrap_or(0);
        let entry = by_id.entry(id.clone()).or_insert_with(|| Listed {
            summary: ImageSummary {
                id: id.clone(),
                created: (created_nanos / 1_000_000_000) as i64,
                size: item.size as i64,
                shared_size: -1,
                labels,
                containers: users.get(&id).copied().unwrap_or(0),
                ..ImageSummary::default()
            },
            created_nanos,
            tags: Vec::new(),
            digests: Vec::new(),
        });
        for tag in item.references {
            if !entry.tags.contains(&tag) {
                entry.tags.push(tag);
            }
        }
        for digest in item.repo_digests {
            if !entry.digests.contains(&digest) {
                entry.digests.push(digest);
            }
        }
    }
    Ok(by_id.into_values().collect())
}

/// docker's `path.Match` on one name: `*` and `?` do not cross `/`.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len())
            .take_while(|&i| i == 0 || text[i - 1] != b'/')
            .any(|i| glob(rest, &text[i..])),
        Some((b'?', rest)) => text
            .split_first()
            .is_some_and(|(c, t)| *c != b'/' && glob(rest, t)),
        Some((c, rest)) => text
            .split_first()
            .is_some_and(|(t, tail)| t == c && glob(rest, tail)),
    }
}

/// Docker's `FamiliarMatch`: the pattern against `name:tag` or the bare `name`.
fn reference_matches(pattern: &str, reference: &Reference) -> bool {
    let full = reference.familiar();
    let name = super::familiar_name(reference);
    glob(pattern.as_bytes(), full.as_bytes()) || glob(pattern.as_bytes(), name.as_bytes())
}

/// The creation time of the image `name` (for `before` and `since`).
fn created_of(images: &[Listed], engine: &Engine, name: &str) -> Result<i128, EngineError> {
    let image = engine
        .images()
        .get(name)
        .map_err(|e| errors::store(name, e))?;
    let id = image.config_digest.to_string();
    Ok(images
        .iter()
        .find(|l| l.summary.id == id)
        .map_or(0, |l| l.created_nanos))
}

/// An `until` value: a timestamp, or a duration back from now (`24h`).
pub(crate) fn until(text: &str) -> Result<i128, EngineError> {
    if let Ok(ago) = humantime::parse_duration(text) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        return Ok(now.saturating_sub(ago).as_nanos() as i128);
    }
    query::timestamp(text)
}

/// The `dangling` filter: Some(true) only dangling, Some(false) only tagged.
pub(crate) fn dangling(filters: &Filters) -> Result<Option<bool>, EngineError> {
    let Some(values) = filters.get("dangling") else {
        return Ok(None);
    };
    let mut wanted = None;
    for value in values {
        let v = match value.to_ascii_lowercase().as_str() {
            "true" | "1" => true,
            "false" | "0" => false,
            _ => {
                return Err(EngineError::Invalid(format!(
                    "invalid filter 'dangling={value}'"
                )))
            }
        };
        wanted = Some(v);
    }
    Ok(wanted)
}

/// `GET /images/json`.
pub(crate) async fn list(
    State(engine): State<AppState>,
    Query(params): Query<Params>,
) -> ApiResult<Response> {
    let filters = query::filters(param(&params, "filters"))?;
    query::check_keys(
        &filters,
        &["dangling", "label", "reference", "before", "since", "until"],
    )?;
    let engine = engine.clone();
    let images = tokio::task::spawn_blocking(move || select(&engine, &filters))
        .await
        .map_err(|e| EngineError::Internal(format!("list images: {e}")))??;
    Ok(json(&images))
}

/// The images `filters` let through, newest first, as docker lists them.
fn select(engine: &Engine, filters: &Filters) -> Result<Vec<ImageSummary>, EngineError> {
    let all = images(engine)?;
    let dangling = dangling(filters)?;
    let mut bounds: Vec<(bool, i128)> = Vec::new(); // (keep older than, time)
    for name in filters.get("before").into_iter().flatten() {
        bounds.push((true, created_of(&all, engine, name)?));
    }
    for name in filters.get("since").into_iter().flatten() {
        bounds.push((false, created_of(&all, engine, name)?));
    }
    for text in filters.get("until").into_iter().flatten() {
        bounds.push((true, until(text)? + 1));
    }
    let patterns = filters.get("reference");
    let mut out = Vec::new();
    for listed in all {
        if let Some(wanted) = dangling {
            if wanted != listed.tags.is_empty() {
                continue;
            }
        }
        if !query::labels_match(filters, &listed.summary.labels) {
            continue;
        }
        let in_time = bounds.iter().all(|&(before, time)| {
            if before {
                listed.created_nanos < time
            } else {
                listed.created_nanos > time
            }
        });
        if !in_time {
            continue;
        }
        let keep = |r: &Reference| {
            patterns.is_none_or(|p| p.iter().any(|pattern| reference_matches(pattern, r)))
        };
        let tags: Vec<String> = listed
            .tags
            .iter()
            .filter(|r| keep(r))
            .map(|r| r.familiar())
            .collect();
        let digests: Vec<String> = listed
            .digests
            .iter()
            .filter(|r| keep(r))
            .map(|r| r.familiar())
            .collect();
        if patterns.is_some() && tags.is_empty() && digests.is_empty() {
            continue;
        }
        let mut summary = listed.summary;
        summary.repo_tags = tags;
        summary.repo_digests = digests;
        out.push(summary);
    }
    out.sort_by(|a, b| b.created.cmp(&a.created).then(a.id.cmp(&b.id)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_patterns_match_like_docker() {
        let r = Reference::parse("localhost:5000/team/app:1.0").unwrap();
        assert!(reference_matches("localhost:5000/team/app", &r));
        assert!(reference_matches("localhost:5000/team/*:1.0", &r));
        assert!(!reference_matches("localhost:5000/*", &r));
        let b = Reference::parse("busybox").unwrap();
        assert!(reference_matches("busy*", &b));
        assert!(reference_matches("busybox:latest", &b));
        assert!(!reference_matches("busybox:1", &b));
    }
}
