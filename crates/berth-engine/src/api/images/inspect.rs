//! `GET /images/{name}/json` and `GET /images/{name}/history`, read from the image's raw
//! config (Docker-only fields such as `Healthcheck`, `OnBuild` and `Shell` are not in
//! the OCI config type, so the JSON itself is the source).

use axum::response::Response;
use berth_image::store::{Image, CONFIG_LIMIT};
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::errors;
use crate::api::{json, query, ApiResult};
use crate::engine::Engine;
use crate::error::EngineError;

/// An image with its raw config and names.
struct Found {
    image: Image,
    config: Value,
    tags: Vec<String>,
    digests: Vec<String>,
}

fn find(engine: &Engine, name: &str) -> Result<Found, EngineError> {
    let store = engine.images();
    let image = store.get(name).map_err(|e| errors::store(name, e))?;
    let bytes = store
        .content()
        .read_blob(&image.config_digest, CONFIG_LIMIT)
        .map_err(|e| EngineError::Image(e.into()))?;
    let config: Value = serde_json::from_slice(&bytes).map_err(|e| {
        EngineError::Internal(format!("image config `{}`: {e}", image.config_digest))
    })?;
    let (mut tags, mut digests) = (Vec::new(), Vec::new());
    // Every record with this id (an index and its platform manifest) contributes names.
    for listed in store.list()? {
        if listed.id != image.config_digest {
            continue;
        }
        tags.extend(listed.references.iter().map(|r| r.familiar()));
        digests.extend(listed.repo_digests.iter().map(|r| r.familiar()));
    }
    tags.dedup();
    digests.dedup();
    Ok(Found {
        image,
        config,
        tags,
        digests,
    })
}

/// `ImageInspect`, in Docker's field order.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Inspect {
    id: String,
    repo_tags: Vec<String>,
    repo_digests: Vec<String>,
    parent: String,
    comment: String,
    created: Value,
    docker_version: String,
    author: String,
    config: Value,
    architecture: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    variant: Option<Value>,
    os: Value,
    size: u64,
    graph_driver: Value,
    #[serde(rename = "RootFS")]
    root_fs: Value,
    metadata: Value,
    descriptor: Value,
}

/// The string at `key` of `value`, or "".
fn text(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Docker's container-config shape of an image config's `config`: every field Docker
/// always prints, then whatever the image sets.
fn container_config(raw: Option<&Value>) -> Value {
    let mut out = Map::new();
    for (key, default) in [
        ("Hostname", json!("")),
        ("Domainname", json!("")),
        ("User", json!("")),
        ("AttachStdin", json!(false)),
        ("AttachStdout", json!(false)),
        ("AttachStderr", json!(false)),
        ("Tty", json!(false)),
        ("OpenStdin", json!(false)),
        ("StdinOnce", json!(false)),
        ("Env", Value::Null),
        ("Cmd", Value::Null),
        ("Image", json!("")),
        ("Volumes", Value::Null),
        ("WorkingDir", json!("")),
        ("Entrypoint", Value::Null),
        ("OnBuild", Value::Null),
        ("Labels", Value::Null),
    ] {
        out.insert(key.to_string(), default);
    }
    if let Some(Value::Object(fields)) = raw {
        for (key, value) in fields {
            out.insert(key.clone(), value.clone());
        }
    }
    Value::Object(out)
}

/// The comment Docker shows: the config's own, else the last history entry's.
fn comment(config: &Value) -> String {
    let own = text(config, "comment");
    if !own.is_empty() {
        return own;
    }
    config
        .get("history")
        .and_then(Value::as_array)
        .and_then(|h| h.last())
        .map(|entry| text(entry, "comment"))
        .unwrap_or_default()
}

/// `GET /images/{name}/json`.
pub(crate) fn inspect(engine: &Engine, name: &str) -> ApiResult<Response> {
    let found = find(engine, name)?;
    let Found {
        image,
        config,
        tags,
        digests,
    } = found;
    let layers: Vec<String> = image
        .config
        .rootfs()
        .diff_ids()
        .iter()
        .map(ToString::to_string)
        .collect();
    let body = Inspect {
        id: image.config_digest.to_string(),
        repo_tags: tags,
        repo_digests: digests,
        parent: String::new(),
        comment: comment(&config),
        created: config.get("created").cloned().unwrap_or(Value::Null),
        docker_version: text(&config, "docker_version"),
        author: text(&config, "author"),
        config: container_config(config.get("config")),
        architecture: config.get("architecture").cloned().unwrap_or(json!("")),
        variant: config.get("variant").cloned(),
        os: config.get("os").cloned().unwrap_or(json!("")),
        size: image.layers.iter().map(|l| l.size()).sum(),
        graph_driver: json!({ "Data": {}, "Name": "overlay2" }),
        root_fs: json!({ "Type": "layers", "Layers": layers }),
        // berth does not record when a tag was set; Docker's zero time means "never".
        metadata: json!({ "LastTagTime": "0001-01-01T00:00:00Z" }),
        descriptor: json!({
            "mediaType": image.manifest.media_type().as_ref().map(ToString::to_string),
            "digest": image.manifest_digest.to_string(),
        }),
    };
    Ok(json(&body))
}

/// One line of `docker history`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct HistoryItem {
    id: String,
    created: i64,
    created_by: String,
    tags: Option<Vec<String>>,
    size: u64,
    comment: String,
}

/// `GET /images/{name}/history`: newest first; the top entry carries the image's id and
/// tags, older ones `<missing>` (they are not images of their own here).
pub(crate) fn history(engine: &Engine, name: &str) -> ApiResult<Response> {
    let Found {
        image,
        config,
        tags,
        ..
    } = find(engine, name)?;
    let sizes: Vec<u64> = image.layers.iter().map(|l| l.size()).collect();
    let entries = config
        .get("history")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut items = Vec::new();
    let mut layer = 0;
    for entry in &entries {
        let empty = entry
            .get("empty_layer")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let size = if empty {
            0
        } else {
            layer += 1;
            sizes.get(layer - 1).copied().unwrap_or(0)
        };
        items.push(HistoryItem {
            id: "<missing>".to_string(),
            created: seconds(entry.get("created")),
            created_by: text(entry, "created_by"),
            tags: None,
            size,
            comment: text(entry, "comment"),
        });
    }
    // A config without history (some importers write none): one line per layer.
    if entries.is_empty() {
        for size in &sizes {
            items.push(HistoryItem {
                id: "<missing>".to_string(),
                created: seconds(config.get("created")),
                created_by: String::new(),
                tags: None,
                size: *size,
                comment: String::new(),
            });
        }
    }
    items.reverse();
    if let Some(top) = items.first_mut() {
        top.id = image.config_digest.to_string();
        top.tags = Some(tags);
    }
    Ok(json(&items))
}

/// Unix seconds of an RFC 3339 value (0 when absent or unreadable).
fn seconds(value: Option<&Value>) -> i64 {
    value
        .and_then(Value::as_str)
        .and_then(|t| query::timestamp(t).ok())
        .map_or(0, |n| (n / 1_000_000_000) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_config_takes_docker_container_config_shape() {
        let raw = json!({"Cmd": ["sh"], "Healthcheck": {"Test": ["CMD", "true"]}, "Shell": ["/bin/ash", "-c"]});
        let shaped = container_config(Some(&raw));
        assert_eq!(shaped["Cmd"], json!(["sh"]));
        assert_eq!(shaped["Healthcheck"]["Test"], json!(["CMD", "true"]));
        assert_eq!(shaped["Shell"], json!(["/bin/ash", "-c"]));
        assert_eq!(shaped["Hostname"], json!(""));
        assert_eq!(shaped["OnBuild"], Value::Null);
    }
}
