//! `/v2/<name>/tags/list` and `/v2/_catalog`, both paginated with `n` and `last`: the
//! entries after `last` in lexical order, at most `n`, with a `Link: <...>; rel="next"`
//! header when more remain.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::Ctx;
use crate::auth::Action;
use crate::error::{ApiError, ErrorCode};

/// One page of `all` (sorted), and whether more follow.
fn page(ctx: &Ctx, all: Vec<String>) -> Result<(Vec<String>, bool), ApiError> {
    let n = match ctx.query.get("n") {
        Some(n) => Some(n.parse::<usize>().map_err(|_| {
            ApiError::new(
                ErrorCode::Unsupported,
                format!("invalid `n` parameter `{n}`"),
            )
        })?),
        None => None,
    };
    let last = ctx.query.get("last");
    let mut items: Vec<String> = all
        .into_iter()
        .filter(|t| last.is_none_or(|l| t.as_str() > l.as_str()))
        .collect();
    let more = n.is_some_and(|n| items.len() > n);
    if let Some(n) = n {
        items.truncate(n);
    }
    Ok((items, more))
}

fn respond(
    ctx: &Ctx,
    path: &str,
    body: serde_json::Value,
    items: &[String],
    more: bool,
) -> Response {
    let mut response = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response();
    if let (true, Some(last), Some(n)) = (more, items.last(), ctx.query.get("n")) {
        let link = format!("<{path}?n={n}&last={last}>; rel=\"next\"");
        if let Ok(v) = link.parse() {
            response.headers_mut().insert(header::LINK, v);
        }
    }
    response
}

pub(super) fn tags(ctx: &Ctx) -> Result<Response, ApiError> {
    ctx.authorize(Action::Pull)?;
    let all = ctx.app.storage.tags(&ctx.name).ok_or_else(|| {
        ApiError::new(
            ErrorCode::NameUnknown,
            format!("repository `{}` is not known", ctx.name),
        )
        .detail(serde_json::json!({ "name": ctx.name }))
    })?;
    let (items, more) = page(ctx, all)?;
    let body = serde_json::json!({ "name": ctx.name, "tags": items });
    Ok(respond(
        ctx,
        &format!("/v2/{}/tags/list", ctx.name),
        body,
        &items,
        more,
    ))
}

pub(super) fn catalog(ctx: &Ctx) -> Result<Response, ApiError> {
    let realm = super::realm_base(&ctx.app, &ctx.headers);
    let auth = &ctx.app.auth;
    let user = auth.check_base(&ctx.headers, &realm, true)?;
    let all: Vec<String> = ctx
        .app
        .storage
        .catalog()
        .into_iter()
        // With auth on, list only repositories the caller could pull.
        .filter(|name| !auth.enabled() || auth.policy.access(user.as_deref(), name).pull)
        .collect();
    let (items, more) = page(ctx, all)?;
    let body = serde_json::json!({ "repositories": items });
    Ok(respond(ctx, "/v2/_catalog", body, &items, more))
}
