//! The event bus: what `GET /events` streams. Recent events are kept in memory (as
//! dockerd does) so that `--since` can replay them.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use berth_client::types::events::{EventActor, EventMessage};
use tokio::sync::broadcast;

/// How many past events `--since` can reach.
const HISTORY: usize = 1024;

/// Publishes events to every subscriber and keeps the recent ones.
#[derive(Debug)]
pub struct Events {
    sender: broadcast::Sender<EventMessage>,
    history: Mutex<VecDeque<EventMessage>>,
}

impl Default for Events {
    fn default() -> Self {
        Self::new()
    }
}

impl Events {
    /// An empty bus.
    pub fn new() -> Self {
        let (sender, _) = broadcast::channel(HISTORY);
        Self {
            sender,
            history: Mutex::new(VecDeque::with_capacity(HISTORY)),
        }
    }

    /// Publishes one event about object `id` of `kind` (`container`, `image`, `network`,
    /// `volume`, `daemon`).
    pub fn publish(
        &self,
        kind: &str,
        action: &str,
        id: &str,
        attributes: BTreeMap<String, String>,
    ) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let legacy = matches!(kind, "container" | "image");
        let from = attributes.get("image").cloned();
        let event = EventMessage {
            r#type: kind.to_string(),
            action: action.to_string(),
            actor: EventActor {
                id: id.to_string(),
                attributes,
            },
            scope: Some("local".to_string()),
            time: now.as_secs() as i64,
            time_nano: now.as_nanos() as i64,
            status: legacy.then(|| action.to_string()),
            id: legacy.then(|| id.to_string()),
            from: if kind == "container" { from } else { None },
        };
        // Hold the lock while sending so that a subscriber's snapshot + receiver never
        // misses or repeats an event.
        let mut history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        if history.len() == HISTORY {
            history.pop_front();
        }
        history.push_back(event.clone());
        let _ = self.sender.send(event);
    }

    /// The kept events and a receiver of every later one.
    pub fn subscribe(&self) -> (Vec<EventMessage>, broadcast::Receiver<EventMessage>) {
        let history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        (history.iter().cloned().collect(), self.sender.subscribe())
    }
}
