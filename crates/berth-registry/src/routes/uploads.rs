//! `/v2/<name>/blobs/uploads/[<uuid>]`: POST (monolithic, session start, mount), PATCH
//! (chunked with `Content-Range`, or streamed), PUT (finish), GET (status), DELETE.

use axum::body::Body;
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use berth_image::content::BlobWriter;
use berth_image::digest::Digest;

use super::{blocking, parse_digest, Ctx};
use crate::auth::Action;
use crate::error::{ApiError, ErrorCode};
use crate::names::check_name;
use crate::uploads::append_body;

pub(super) async fn handle(ctx: &Ctx, uuid: &str, body: Body) -> Result<Response, ApiError> {
    ctx.authorize(Action::Push)?;
    match (&ctx.method, uuid.is_empty()) {
        (&Method::POST, true) => post(ctx, body).await,
        (&Method::PATCH, false) => patch(ctx, uuid, body).await,
        (&Method::PUT, false) => put(ctx, uuid, body).await,
        (&Method::GET, false) => status(ctx, uuid).await,
        (&Method::DELETE, false) => delete(ctx, uuid).await,
        _ => Err(ApiError::new(
            ErrorCode::Unsupported,
            format!("method {} is not supported here", ctx.method),
        )),
    }
}

fn range_value(offset: u64) -> String {
    format!("0-{}", offset.saturating_sub(1))
}

fn accepted(ctx: &Ctx, uuid: &str, offset: u64) -> Response {
    (
        StatusCode::ACCEPTED,
        [
            (
                header::LOCATION,
                format!("/v2/{}/blobs/uploads/{uuid}", ctx.name),
            ),
            (header::RANGE, range_value(offset)),
            (
                header::HeaderName::from_static("docker-upload-uuid"),
                uuid.to_string(),
            ),
            (header::CONTENT_LENGTH, "0".to_string()),
        ],
    )
        .into_response()
}

fn created(ctx: &Ctx, digest: &Digest) -> Response {
    (
        StatusCode::CREATED,
        [
            (header::LOCATION, format!("/v2/{}/blobs/{digest}", ctx.name)),
            (
                header::HeaderName::from_static("docker-content-digest"),
                digest.to_string(),
            ),
            (header::CONTENT_LENGTH, "0".to_string()),
        ],
    )
        .into_response()
}

/// Commits `writer` as `digest` and links it to the repository.
async fn commit(ctx: &Ctx, writer: BlobWriter, digest: Digest) -> Result<Response, ApiError> {
    let app = ctx.app.clone();
    let name = ctx.name.clone();
    let digest = blocking(move || {
        let digest = writer.commit(Some(&digest), None)?;
        app.storage
            .link_blob(&name, &digest)
            .map_err(ApiError::internal)?;
        Ok(digest)
    })
    .await?;
    Ok(created(ctx, &digest))
}

async fn post(ctx: &Ctx, body: Body) -> Result<Response, ApiError> {
    if let Some(mount) = ctx.query.get("mount") {
        let digest = parse_digest(mount)?;
        if let Some(from) = ctx.query.get("from") {
            let allowed = check_name(from).is_ok() && ctx.authorize_on(from, Action::Pull).is_ok();
            if allowed && ctx.app.storage.blob_size(from, &digest).is_some() {
                let app = ctx.app.clone();
                let (name, d) = (ctx.name.clone(), digest.clone());
                blocking(move || app.storage.link_blob(&name, &d).map_err(ApiError::internal))
                    .await?;
                return Ok(created(ctx, &digest));
            }
        }
        // Not mountable: the spec says to fall back to an ordinary upload session.
    }
    let monolithic = match ctx.query.get("digest") {
        Some(d) => Some(parse_digest(d)?),
        None => None,
    };
    let app = ctx.app.clone();
    let name = ctx.name.clone();
    let resumable = monolithic.is_none();
    let (uuid, writer) = blocking(move || app.uploads.start(&name, resumable)).await?;
    let Some(digest) = monolithic else {
        let offset = writer.offset();
        ctx.app.uploads.insert(&ctx.name, &uuid, Some(writer));
        return Ok(accepted(ctx, &uuid, offset));
    };
    let (writer, result) = append_body(writer, body).await;
    let outcome = match (writer, result) {
        (Some(w), Ok(())) => commit(ctx, w, digest).await,
        (Some(w), Err(e)) => {
            w.discard();
            Err(e)
        }
        (None, Err(e)) => Err(e),
        (None, Ok(())) => Err(ApiError::internal("upload writer lost")),
    };
    ctx.app.uploads.end(&uuid);
    outcome
}

/// Parses `Content-Range: <start>-<end>` (a `bytes ` or `bytes=` prefix is tolerated).
fn content_range(ctx: &Ctx) -> Result<Option<(u64, u64)>, ApiError> {
    let Some(value) = ctx.headers.get(header::CONTENT_RANGE) else {
        return Ok(None);
    };
    let bad = || ApiError::new(ErrorCode::BlobUploadInvalid, "malformed Content-Range");
    let text = value.to_str().map_err(|_| bad())?.trim();
    let text = text
        .strip_prefix("bytes=")
        .or_else(|| text.strip_prefix("bytes "))
        .unwrap_or(text);
    let (start, end) = text.split_once('-').ok_or_else(bad)?;
    let end = end.split('/').next().unwrap_or(end);
    let start: u64 = start.trim().parse().map_err(|_| bad())?;
    let end: u64 = end.trim().parse().map_err(|_| bad())?;
    if end < start {
        return Err(bad());
    }
    Ok(Some((start, end)))
}

/// Appends `body` to session `uuid`, checking `Content-Range` order. Returns the session
/// lock guard's writer, ready for the caller (PATCH puts it back, PUT commits it).
async fn append_to_session(
    ctx: &Ctx,
    uuid: &str,
    body: Body,
    slot: &mut Option<BlobWriter>,
) -> Result<BlobWriter, ApiError> {
    let writer = ctx.app.uploads.take_writer(slot, uuid).await?;
    let offset = writer.offset();
    if let Some((start, end)) = content_range(ctx)? {
        if start != offset {
            *slot = Some(writer);
            let mut e = ApiError::new(
                ErrorCode::RangeInvalid,
                format!("chunk starts at {start} but the upload has {offset} bytes"),
            );
            e.range = Some(range_value(offset));
            return Err(e);
        }
        let length = ctx
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if length.is_some_and(|l| l != end - start + 1) {
            *slot = Some(writer);
            return Err(ApiError::new(
                ErrorCode::BlobUploadInvalid,
                "Content-Range does not match Content-Length",
            ));
        }
    }
    let (writer, result) = append_body(writer, body).await;
    match (writer, result) {
        (Some(w), Ok(())) => Ok(w),
        (w, Err(e)) => {
            *slot = w;
            Err(e)
        }
        (None, Ok(())) => Err(ApiError::internal("upload writer lost")),
    }
}

async fn patch(ctx: &Ctx, uuid: &str, body: Body) -> Result<Response, ApiError> {
    let session = ctx.app.uploads.session(&ctx.name, uuid)?;
    let mut slot = session.lock().await;
    let writer = append_to_session(ctx, uuid, body, &mut slot).await?;
    let offset = writer.offset();
    *slot = Some(writer);
    Ok(accepted(ctx, uuid, offset))
}

async fn put(ctx: &Ctx, uuid: &str, body: Body) -> Result<Response, ApiError> {
    let digest = ctx
        .query
        .get("digest")
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::DigestInvalid,
                "the `digest` parameter is required",
            )
        })
        .and_then(|d| parse_digest(d))?;
    let session = ctx.app.uploads.session(&ctx.name, uuid)?;
    let mut slot = session.lock().await;
    let writer = append_to_session(ctx, uuid, body, &mut slot).await?;
    // The session ends whatever the outcome: a failed commit has discarded the ingest.
    let outcome = commit(ctx, writer, digest).await;
    ctx.app.uploads.end(uuid);
    outcome
}

async fn status(ctx: &Ctx, uuid: &str) -> Result<Response, ApiError> {
    let session = ctx.app.uploads.session(&ctx.name, uuid)?;
    let mut slot = session.lock().await;
    let writer = ctx.app.uploads.take_writer(&mut slot, uuid).await?;
    let offset = writer.offset();
    *slot = Some(writer);
    let mut response = accepted(ctx, uuid, offset);
    *response.status_mut() = StatusCode::NO_CONTENT;
    Ok(response)
}

async fn delete(ctx: &Ctx, uuid: &str) -> Result<Response, ApiError> {
    let session = ctx.app.uploads.session(&ctx.name, uuid)?;
    let mut slot = session.lock().await;
    let writer = ctx.app.uploads.take_writer(&mut slot, uuid).await?;
    blocking(move || {
        writer.discard();
        Ok(())
    })
    .await?;
    ctx.app.uploads.end(uuid);
    Ok((StatusCode::NO_CONTENT, [(header::CONTENT_LENGTH, "0")]).into_response())
}
