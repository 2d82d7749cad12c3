//! `/v2/<name>/manifests/<reference>` (GET, HEAD, PUT, DELETE) and
//! `/v2/<name>/referrers/<digest>`. Reads are served from the storage cache.

use axum::body::Body;
use axum::http::{header, HeaderName, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use berth_image::digest::Digest;

use super::{blocking, parse_digest, Ctx};
use crate::auth::Action;
use crate::error::{ApiError, ErrorCode};
use crate::manifest::{self, Descriptor, MAX_MANIFEST_SIZE, OCI_INDEX};
use crate::names::check_tag;

const DOCKER_CONTENT_DIGEST: HeaderName = HeaderName::from_static("docker-content-digest");

/// A manifest reference: a tag, a digest, or (on PUT) `tag@digest`.
enum Reference {
    Tag(String),
    Digest(Digest),
    Both(String, Digest),
}

fn parse_reference(text: &str) -> Result<Reference, ApiError> {
    if let Some((tag, digest)) = text.split_once('@') {
        check_tag(tag)?;
        return Ok(Reference::Both(tag.to_string(), parse_digest(digest)?));
    }
    if text.contains(':') {
        return Ok(Reference::Digest(parse_digest(text)?));
    }
    check_tag(text)?;
    Ok(Reference::Tag(text.to_string()))
}

fn manifest_unknown(name: &str, reference: &str) -> ApiError {
    ApiError::new(
        ErrorCode::ManifestUnknown,
        format!("manifest `{reference}` is not in repository `{name}`"),
    )
    .detail(serde_json::json!({ "name": name, "reference": reference }))
}

pub(super) fn get(ctx: &Ctx, reference: &str) -> Result<Response, ApiError> {
    ctx.authorize(Action::Pull)?;
    let key = match parse_reference(reference)? {
        Reference::Tag(t) => t,
        Reference::Digest(d) | Reference::Both(_, d) => d.to_string(),
    };
    let (digest, stored) = ctx
        .app
        .storage
        .manifest(&ctx.name, &key)
        .ok_or_else(|| manifest_unknown(&ctx.name, reference))?;
    let body = if ctx.method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(stored.bytes.clone())
    };
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, &stored.media_type)
        .header(header::CONTENT_LENGTH, stored.bytes.len())
        .header(DOCKER_CONTENT_DIGEST, digest.to_string())
        .header(header::ETAG, format!("\"{digest}\""))
        .body(body)
        .map_err(ApiError::internal)
}

pub(super) async fn put(ctx: &Ctx, reference: &str, body: Body) -> Result<Response, ApiError> {
    ctx.authorize(Action::Push)?;
    let reference = parse_reference(reference)?;
    let bytes = axum::body::to_bytes(body, MAX_MANIFEST_SIZE)
        .await
        .map_err(|e| {
            ApiError::new(
                ErrorCode::ManifestInvalid,
                format!("manifest body unreadable or over {MAX_MANIFEST_SIZE} bytes: {e}"),
            )
        })?;
    let content_type = ctx
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let info = manifest::parse(&bytes, content_type)?;
    let actual = Digest::sha256_of(&bytes);
    let (tag, claimed) = match reference {
        Reference::Tag(t) => (Some(t), None),
        Reference::Digest(d) => (None, Some(d)),
        Reference::Both(t, d) => (Some(t), Some(d)),
    };
    let query_digest = match ctx.query.get("digest") {
        Some(d) => Some(parse_digest(d)?),
        None => None,
    };
    for claimed in claimed.iter().chain(query_digest.iter()) {
        if *claimed != actual {
            return Err(ApiError::new(
                ErrorCode::DigestInvalid,
                format!("manifest digest is `{actual}`, not `{claimed}`"),
            )
            .detail(serde_json::json!({ "digest": claimed.to_string() })));
        }
    }
    let subject = info.subject.clone();
    let app = ctx.app.clone();
    let name = ctx.name.clone();
    let digest =
        blocking(move || app.storage.put_manifest(&name, bytes, info, tag.as_deref())).await?;
    let mut response = Response::builder()
        .status(StatusCode::CREATED)
        .header(
            header::LOCATION,
            format!("/v2/{}/manifests/{digest}", ctx.name),
        )
        .header(DOCKER_CONTENT_DIGEST, digest.to_string())
        .header(header::CONTENT_LENGTH, 0);
    if let Some(subject) = subject {
        response = response.header("OCI-Subject", subject.to_string());
    }
    response.body(Body::empty()).map_err(ApiError::internal)
}

pub(super) async fn delete(ctx: &Ctx, reference: &str) -> Result<Response, ApiError> {
    ctx.authorize(Action::Push)?;
    let parsed = parse_reference(reference)?;
    let app = ctx.app.clone();
    let name = ctx.name.clone();
    let existed = blocking(move || {
        let result = match parsed {
            Reference::Tag(t) => app.storage.delete_tag(&name, &t),
            Reference::Digest(d) | Reference::Both(_, d) => app.storage.delete_manifest(&name, &d),
        };
        result.map_err(ApiError::internal)
    })
    .await?;
    if !existed {
        return Err(manifest_unknown(&ctx.name, reference));
    }
    Ok((StatusCode::ACCEPTED, [(header::CONTENT_LENGTH, "0")]).into_response())
}

pub(super) fn referrers(ctx: &Ctx, digest: &str) -> Result<Response, ApiError> {
    ctx.authorize(Action::Pull)?;
    let digest = parse_digest(digest)?;
    let filter = ctx.query.get("artifactType");
    let manifests: Vec<Descriptor> = ctx
        .app
        .storage
        .referrers(&ctx.name, &digest)
        .into_iter()
        .filter(|(_, m)| filter.is_none_or(|f| m.info.artifact_type.as_ref() == Some(f)))
        .map(|(d, m)| Descriptor {
            media_type: Some(m.media_type.clone()),
            digest: d,
            size: m.bytes.len() as i64,
            artifact_type: m.info.artifact_type.clone(),
            annotations: m.info.annotations.clone(),
            urls: None,
        })
        .collect();
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": manifests,
    });
    let mut response = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, OCI_INDEX)],
        index.to_string(),
    )
        .into_response();
    if filter.is_some() {
        response.headers_mut().insert(
            "OCI-Filters-Applied",
            header::HeaderValue::from_static("artifactType"),
        );
    }
    Ok(response)
}
