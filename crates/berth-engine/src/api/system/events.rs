//! `GET /events`: the recent events a `since`/`until` window selects, then live ones as
//! JSON lines until `until` passes (or forever), filtered as dockerd filters them.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{Query, State};
use axum::response::Response;
use berth_client::types::events::EventMessage;
use bytes::Bytes;
use hyper::StatusCode;
use tokio::sync::broadcast;

use crate::api::query::{self, Filters};
use crate::api::{ApiResult, AppState};
use crate::error::EngineError;

/// The filter keys dockerd accepts on `/events`.
const FILTER_KEYS: &[&str] = &[
    "config",
    "container",
    "daemon",
    "event",
    "image",
    "label",
    "network",
    "node",
    "plugin",
    "scope",
    "secret",
    "service",
    "type",
    "volume",
];

/// `GET /events`.
pub async fn events(
    State(engine): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let filters = query::filters(params.get("filters"))?;
    query::check_keys(&filters, FILTER_KEYS)?;
    let since = params
        .get("since")
        .filter(|s| !s.is_empty())
        .map(|s| query::timestamp(s))
        .transpose()?;
    let until = params
        .get("until")
        .filter(|s| !s.is_empty())
        .map(|s| query::timestamp(s))
        .transpose()?;
    if let (Some(s), Some(u)) = (since, until) {
        if s > u {
            return Err(EngineError::Invalid(format!(
                "`since` time ({}) cannot be after `until` time ({})",
                params.get("since").map(String::as_str).unwrap_or(""),
                params.get("until").map(String::as_str).unwrap_or("")
            ))
            .into());
        }
    }
    let (history, receiver) = engine.events().subscribe();
    // dockerd replays only when a window is given.
    let replay: Vec<EventMessage> = if since.is_some() || until.is_some() {
        history
            .into_iter()
            .filter(|e| in_window(e, since, until) && matches(&filters, e))
            .collect()
    } else {
        Vec::new()
    };
    let live = until.is_none_or(|u| u > now_nanos());
    let stream = Stream {
        replay: replay.into_iter(),
        receiver: live.then_some(receiver),
        filters,
        since,
        until,
    };
    let body = futures_util::stream::unfold(stream, |mut s| async move {
        let event = s.next().await?;
        let mut line = serde_json::to_vec(&event).unwrap_or_default();
        line.push(b'\n');
        Some((Ok::<_, std::convert::Infallible>(Bytes::from(line)), s))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header("Content-Type", "application/json")
        .body(Body::from_stream(body))
        .map_err(|e| EngineError::Internal(format!("build the events response: {e}")).into())
}

/// The events still to send.
struct Stream {
    replay: std::vec::IntoIter<EventMessage>,
    receiver: Option<broadcast::Receiver<EventMessage>>,
    filters: Filters,
    since: Option<i128>,
    until: Option<i128>,
}

impl Stream {
    /// The next event to send; None ends the response.
    async fn next(&mut self) -> Option<EventMessage> {
        if let Some(event) = self.replay.next() {
            return Some(event);
        }
        let receiver = self.receiver.as_mut()?;
        loop {
            let received = match self.until {
                Some(until) => {
                    let left = until - now_nanos();
                    if left <= 0 {
                        return None;
                    }
                    let left = Duration::from_nanos(u64::try_from(left).unwrap_or(u64::MAX));
                    match tokio::time::timeout(left, receiver.recv()).await {
                        Ok(received) => received,
                        Err(_) => return None,
                    }
                }
                None => receiver.recv().await,
            };
            match received {
                Ok(event) => {
                    if in_window(&event, self.since, self.until) && matches(&self.filters, &event) {
                        return Some(event);
                    }
                }
                // A slow reader misses what the bus could not keep, as with dockerd.
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

fn now_nanos() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0)
}

fn in_window(event: &EventMessage, since: Option<i128>, until: Option<i128>) -> bool {
    let t = i128::from(event.time_nano);
    since.is_none_or(|s| t >= s) && until.is_none_or(|u| t <= u)
}

/// dockerd's `events.Filter.Include`: every given key must match (values of one key are
/// alternatives).
pub fn matches(filters: &Filters, event: &EventMessage) -> bool {
    let attr = |key: &str| {
        event
            .actor
            .attributes
            .get(key)
            .map(String::as_str)
            .unwrap_or("")
    };
    // Key absent: no constraint.
    let exact = |key: &str, value: &str| {
        filters
            .get(key)
            .is_none_or(|wanted| wanted.iter().any(|w| w == value))
    };
    let exact_any = |key: &str, values: &[&str]| {
        filters
            .get(key)
            .is_none_or(|wanted| wanted.iter().any(|w| values.contains(&w.as_str())))
    };
    // An id filter matches the id or a prefix of it, or the name attribute.
    let fuzzy_name = |key: &str| {
        filters.get(key).is_none_or(|wanted| {
            wanted.iter().any(|w| {
                !w.is_empty() && (event.actor.id.starts_with(w.as_str()) || attr("name") == w)
            })
        })
    };
    let event_matches = match filters.get("event") {
        Some(wanted)
            if wanted
                .iter()
                .any(|w| matches!(w.as_str(), "health_status" | "exec_create" | "exec_start")) =>
        {
            wanted.iter().any(|w| event.action.starts_with(w.as_str()))
        }
        _ => exact("event", &event.action),
    };
    let image_name = if event.r#type == "image" {
        attr("name")
    } else {
        attr("image")
    };
    let image_matches = exact_any(
        "image",
        &[
            &event.actor.id,
            image_name,
            strip_tag(&event.actor.id),
            strip_tag(image_name),
        ],
    );
    let scope = event.scope.as_deref().unwrap_or("local");
    event_matches
        && exact("type", &event.r#type)
        && exact("scope", scope)
        && fuzzy_name("daemon")
        && fuzzy_name("container")
        && fuzzy_name("plugin")
        && fuzzy_name("volume")
        && fuzzy_name("network")
        && image_matches
        && fuzzy_name("node")
        && fuzzy_name("service")
        && fuzzy_name("secret")
        && fuzzy_name("config")
        && query::labels_match(filters, &event.actor.attributes)
}

/// `busybox:latest` -> `busybox`; `localhost:5000/app` stays (the colon is a port).
fn strip_tag(image: &str) -> &str {
    let image = image.split('@').next().unwrap_or(image);
    match image.rfind(':') {
        Some(i) if !image[i..].contains('/') => &image[..i],
        _ => image,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_client::types::events::EventActor;

    fn event(kind: &str, action: &str, id: &str, attrs: &[(&str, &str)]) -> EventMessage {
        EventMessage {
            r#type: kind.into(),
            action: action.into(),
            actor: EventActor {
                id: id.into(),
                attributes: attrs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            },
            scope: Some("local".into()),
            ..Default::default()
        }
    }

    fn filters(json: &str) -> Filters {
        query::filters(Some(&json.to_string())).unwrap()
    }

    #[test]
    fn keys_combine_and_values_alternate() {
        let start = event(
            "container",
            "start",
            "abc123",
            &[("name", "web"), ("image", "busybox:latest")],
        );
        assert!(matches(
            &filters(r#"{"type":["container","network"]}"#),
            &start
        ));
        assert!(!matches(&filters(r#"{"type":["network"]}"#), &start));
        assert!(matches(
            &filters(r#"{"container":["web"],"event":["start"]}"#),
            &start
        ));
        assert!(matches(&filters(r#"{"container":["abc"]}"#), &start));
        assert!(!matches(
            &filters(r#"{"container":["web"],"event":["die"]}"#),
            &start
        ));
        assert!(matches(&filters(r#"{"image":["busybox"]}"#), &start));
        assert!(matches(&filters(r#"{"label":["name=web"]}"#), &start));
    }

    #[test]
    fn exec_events_match_without_their_command() {
        let exec = event("container", "exec_start: sh -c true", "abc", &[]);
        assert!(matches(&filters(r#"{"event":["exec_start"]}"#), &exec));
        assert!(!matches(&filters(r#"{"event":["start"]}"#), &exec));
    }

    #[test]
    fn tags_strip_but_ports_stay() {
        assert_eq!(strip_tag("busybox:latest"), "busybox");
        assert_eq!(strip_tag("localhost:5000/app"), "localhost:5000/app");
        assert_eq!(strip_tag("localhost:5000/app:v1"), "localhost:5000/app");
    }
}
