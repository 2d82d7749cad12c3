//! `GET`/`HEAD`/`DELETE /v2/<name>/blobs/<digest>`.
//!
//! A GET streams the file in 4 MiB memory-mapped chunks (see `mapped`), each handed to
//! hyper as one `Bytes` frame, with a `Content-Length` so no chunked framing is needed.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use berth_image::digest::Digest;
use futures_util::stream;

use super::{blocking, parse_digest, Ctx};
use crate::auth::Action;
use crate::error::{ApiError, ErrorCode};
use crate::mapped;

/// How much one read of a blob GET takes.
const READ_CHUNK: u64 = 4 << 20;

fn blob_unknown(name: &str, digest: &Digest) -> ApiError {
    ApiError::new(
        ErrorCode::BlobUnknown,
        format!("blob `{digest}` is not in repository `{name}`"),
    )
    .detail(serde_json::json!({ "digest": digest.to_string() }))
}

/// Parses a single `bytes=` range against `size`: Ok(None) for no header, Err for an
/// unsatisfiable or malformed one.
fn parse_range(value: Option<&str>, size: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(value) = value else {
        return Ok(None);
    };
    let spec = value.trim().strip_prefix("bytes=").ok_or(())?;
    let (start, end) = spec.split_once('-').ok_or(())?;
    let (start, end) = match (start.trim(), end.trim()) {
        ("", suffix) => {
            let n: u64 = suffix.parse().map_err(|_| ())?;
            (size.saturating_sub(n), size.checked_sub(1).ok_or(())?)
        }
        (s, "") => (s.parse().map_err(|_| ())?, size.checked_sub(1).ok_or(())?),
        (s, e) => {
            let e: u64 = e.parse().map_err(|_| ())?;
            (s.parse().map_err(|_| ())?, e.min(size.saturating_sub(1)))
        }
    };
    if start > end || start >= size {
        return Err(());
    }
    Ok(Some((start, end)))
}

pub(super) async fn get(ctx: &Ctx, digest: &str) -> Result<Response, ApiError> {
    ctx.authorize(Action::Pull)?;
    let digest = parse_digest(digest)?;
    let storage = &ctx.app.storage;
    let size = storage
        .blob_size(&ctx.name, &digest)
        .ok_or_else(|| blob_unknown(&ctx.name, &digest))?;
    let range = ctx.headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let range = match parse_range(range, size) {
        Ok(r) => r,
        Err(()) => {
            let mut response = ApiError::new(
                ErrorCode::RangeInvalid,
                format!("range not satisfiable for a blob of {size} bytes"),
            )
            .into_response();
            if let Ok(v) = format!("bytes */{size}").parse() {
                response.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return Ok(response);
        }
    };
    let (start, end) = range.unwrap_or((0, size.saturating_sub(1)));
    let length = if size == 0 { 0 } else { end - start + 1 };
    let status = if range.is_some() {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    let body = if ctx.method == Method::HEAD || length == 0 {
        Body::empty()
    } else {
        let content = storage.content().clone();
        let digest2 = digest.clone();
        let file = blocking(move || {
            let file = content.open_blob(&digest2)?;
            // Bounds from the opened file itself: a mapping must not reach past its end.
            let len = file.metadata().map_err(ApiError::internal)?.len();
            if len < start + length {
                return Err(ApiError::internal(format!(
                    "blob `{digest2}` is shorter than its size"
                )));
            }
            Ok(Arc::new(file))
        })
        .await?;
        Body::from_stream(stream::unfold(
            (start, length),
            move |(offset, remaining)| {
                let file = file.clone();
                async move {
                    if remaining == 0 {
                        return None;
                    }
                    let want = remaining.min(READ_CHUNK);
                    let read = tokio::task::spawn_blocking(move || {
                        mapped::read_chunk(&file, offset, want as usize)
                    })
                    .await
                    .unwrap_or_else(|e| Err(std::io::Error::other(e)));
                    match read {
                        Ok(chunk) => Some((Ok(chunk), (offset + want, remaining - want))),
                        // Ends the body early: the client sees a short read.
                        Err(e) => Some((Err(e), (offset, 0))),
                    }
                }
            },
        ))
    };
    let mut response = Response::builder()
        .status(status)
        .header(header::CONTENT_LENGTH, length)
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header("Docker-Content-Digest", digest.to_string())
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::ETAG, format!("\"{digest}\""));
    if range.is_some() {
        response = response.header(header::CONTENT_RANGE, format!("bytes {start}-{end}/{size}"));
    }
    response.body(body).map_err(ApiError::internal)
}

pub(super) fn delete(ctx: &Ctx, digest: &str) -> Result<Response, ApiError> {
    ctx.authorize(Action::Push)?;
    let digest = parse_digest(digest)?;
    let existed = ctx
        .app
        .storage
        .unlink_blob(&ctx.name, &digest)
        .map_err(ApiError::internal)?;
    if !existed {
        return Err(blob_unknown(&ctx.name, &digest));
    }
    Ok((StatusCode::ACCEPTED, [(header::CONTENT_LENGTH, "0")]).into_response())
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges() {
        assert_eq!(parse_range(None, 10), Ok(None));
        assert_eq!(parse_range(Some("bytes=0-4"), 10), Ok(Some((0, 4))));
        assert_eq!(parse_range(Some("bytes=5-"), 10), Ok(Some((5, 9))));
        assert_eq!(parse_range(Some("bytes=-3"), 10), Ok(Some((7, 9))));
        assert_eq!(parse_range(Some("bytes=8-100"), 10), Ok(Some((8, 9))));
        assert!(parse_range(Some("bytes=10-"), 10).is_err());
        assert!(parse_range(Some("bytes=5-2"), 10).is_err());
        assert!(parse_range(Some("items=0-1"), 10).is_err());
    }
}
