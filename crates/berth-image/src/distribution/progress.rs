//! Progress of pulls and pushes, per layer, like docker's.
//!
//! The transfer code emits [`ProgressEvent`]s to a [`ProgressSink`]. Sinks here:
//! [`BarProgress`] (one indicatif bar per layer, for a terminal), [`PlainProgress`] (one
//! line per state change per layer, for logs and pipes), [`ChannelProgress`] (events to a
//! channel, for the daemon's JSON progress stream), any `Fn(&ProgressEvent)`, and
//! [`NoProgress`]. [`for_stderr`] picks bars or lines.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::digest::Digest;

/// Where a layer (or config) stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProgressState {
    /// Queued behind other transfers.
    Waiting,
    /// Bytes received so far of `total`.
    Downloading {
        /// Received bytes (including a resumed part).
        current: u64,
        /// The blob size.
        total: u64,
    },
    /// Checking the digest.
    Verifying,
    /// Downloaded and verified.
    DownloadComplete,
    /// Being unpacked.
    Extracting,
    /// Pulled (and unpacked, when asked).
    PullComplete,
    /// Already in the content store (docker's "Already exists").
    AlreadyExists,
    /// Checking the target registry.
    Preparing,
    /// Bytes sent so far of `total`.
    Pushing {
        /// Sent bytes.
        current: u64,
        /// The blob size.
        total: u64,
    },
    /// Uploaded.
    Pushed,
    /// Mounted from another repository of the registry.
    Mounted {
        /// The source repository.
        from: String,
    },
    /// Already in the target repository (docker's "Layer already exists").
    LayerAlreadyExists,
}

impl ProgressState {
    /// Docker's wording.
    pub fn label(&self) -> String {
        match self {
            Self::Waiting => "Waiting".into(),
            Self::Downloading { .. } => "Downloading".into(),
            Self::Verifying => "Verifying Checksum".into(),
            Self::DownloadComplete => "Download complete".into(),
            Self::Extracting => "Extracting".into(),
            Self::PullComplete => "Pull complete".into(),
            Self::AlreadyExists => "Already exists".into(),
            Self::Preparing => "Preparing".into(),
            Self::Pushing { .. } => "Pushing".into(),
            Self::Pushed => "Pushed".into(),
            Self::Mounted { from } => format!("Mounted from {from}"),
            Self::LayerAlreadyExists => "Layer already exists".into(),
        }
    }

    fn bytes(&self) -> Option<(u64, u64)> {
        match self {
            Self::Downloading { current, total } | Self::Pushing { current, total } => {
                Some((*current, *total))
            }
            _ => None,
        }
    }

    /// Whether this state ends the layer's transfer.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            Self::PullComplete
                | Self::AlreadyExists
                | Self::Pushed
                | Self::Mounted { .. }
                | Self::LayerAlreadyExists
        )
    }
}

/// One layer's (or the config's) new state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgressEvent {
    /// The blob.
    pub digest: Digest,
    /// Docker's short id: the first 12 hex digits.
    pub id: String,
    /// The new state.
    pub state: ProgressState,
}

impl ProgressEvent {
    /// An event for `digest`.
    pub fn new(digest: &Digest, state: ProgressState) -> Self {
        Self {
            id: digest.hex().chars().take(12).collect(),
            digest: digest.clone(),
            state,
        }
    }
}

/// Receives progress events; called from transfer tasks, so it must be cheap.
pub trait ProgressSink: Send + Sync {
    /// One event.
    fn event(&self, event: &ProgressEvent);
}

impl<F: Fn(&ProgressEvent) + Send + Sync> ProgressSink for F {
    fn event(&self, event: &ProgressEvent) {
        self(event)
    }
}

/// Drops every event.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl ProgressSink for NoProgress {
    fn event(&self, _: &ProgressEvent) {}
}

/// Sends events to a channel (the daemon turns them into Docker's JSON stream).
#[derive(Debug, Clone)]
pub struct ChannelProgress(pub tokio::sync::mpsc::UnboundedSender<ProgressEvent>);

impl ProgressSink for ChannelProgress {
    fn event(&self, event: &ProgressEvent) {
        // A receiver that went away just stops listening.
        let _ = self.0.send(event.clone());
    }
}

/// `a1b2c3d4e5f6: Pull complete`: one line per state change per layer, no byte counts.
#[derive(Debug)]
pub struct PlainProgress<W: Write + Send> {
    out: Mutex<W>,
    last: Mutex<HashMap<String, String>>,
}

impl<W: Write + Send> PlainProgress<W> {
    /// Lines to `out`.
    pub fn new(out: W) -> Self {
        Self {
            out: Mutex::new(out),
            last: Mutex::new(HashMap::new()),
        }
    }

    /// The writer back (tests).
    pub fn into_inner(self) -> W {
        match self.out.into_inner() {
            Ok(w) => w,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

impl<W: Write + Send> ProgressSink for PlainProgress<W> {
    fn event(&self, event: &ProgressEvent) {
        let label = event.state.label();
        let Ok(mut last) = self.last.lock() else {
            return;
        };
        if last.get(&event.id) == Some(&label) {
            return;
        }
        last.insert(event.id.clone(), label.clone());
        if let Ok(mut out) = self.out.lock() {
            let _ = writeln!(out, "{}: {label}", event.id);
        }
    }
}

/// One bar per layer: `a1b2c3d4e5f6: Downloading [====>   ] 12.3MB/45.6MB`.
#[derive(Debug)]
pub struct BarProgress {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
}

impl Default for BarProgress {
    fn default() -> Self {
        Self::new()
    }
}

impl BarProgress {
    /// Bars on stderr.
    pub fn new() -> Self {
        Self {
            multi: MultiProgress::new(),
            bars: Mutex::new(HashMap::new()),
        }
    }

    fn bar(&self, id: &str) -> Option<ProgressBar> {
        let mut bars = self.bars.lock().ok()?;
        Some(
            bars.entry(id.to_string())
                .or_insert_with(|| {
                    let bar = self.multi.add(ProgressBar::new(0));
                    bar.set_style(text_style());
                    bar.set_prefix(id.to_string());
                    bar
                })
                .clone(),
        )
    }
}

const TEXT_TEMPLATE: &str = "{prefix}: {msg}";
const BYTES_TEMPLATE: &str = "{prefix}: {msg} [{bar:50}] {bytes}/{total_bytes}";

fn text_style() -> ProgressStyle {
    ProgressStyle::with_template(TEXT_TEMPLATE).unwrap_or_else(|_| ProgressStyle::default_bar())
}

fn bytes_style() -> ProgressStyle {
    ProgressStyle::with_template(BYTES_TEMPLATE)
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
}

impl ProgressSink for BarProgress {
    fn event(&self, event: &ProgressEvent) {
        let Some(bar) = self.bar(&event.id) else {
            return;
        };
        match event.state.bytes() {
            Some((current, total)) => {
                if bar.length() != Some(total) {
                    bar.set_style(bytes_style());
                    bar.set_length(total);
                }
                bar.set_position(current);
            }
            None => bar.set_style(text_style()),
        }
        bar.set_message(event.state.label());
        if event.state.is_final() {
            bar.finish();
        }
    }
}

/// Bars when stderr is a terminal, plain lines otherwise.
pub fn for_stderr() -> Box<dyn ProgressSink> {
    if std::io::stderr().is_terminal() {
        Box::new(BarProgress::new())
    } else {
        Box::new(PlainProgress::new(std::io::stderr()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar_templates_are_valid() {
        // The styles fall back silently at run time; this keeps the templates honest.
        assert!(ProgressStyle::with_template(TEXT_TEMPLATE).is_ok());
        assert!(ProgressStyle::with_template(BYTES_TEMPLATE).is_ok());
        let bars = BarProgress::new();
        let d = Digest::sha256_of(b"x");
        bars.event(&ProgressEvent::new(
            &d,
            ProgressState::Pushing {
                current: 5,
                total: 10,
            },
        ));
        bars.event(&ProgressEvent::new(&d, ProgressState::Pushed));
        let bar = bars.bar(&d.hex()[..12]).unwrap();
        assert_eq!(bar.length(), Some(10));
        assert!(bar.is_finished());
    }

    #[test]
    fn plain_lines_only_on_state_changes() {
        let sink = PlainProgress::new(Vec::new());
        let d = Digest::sha256_of(b"layer");
        for current in [1, 2, 3] {
            sink.event(&ProgressEvent::new(
                &d,
                ProgressState::Downloading { current, total: 3 },
            ));
        }
        sink.event(&ProgressEvent::new(&d, ProgressState::PullComplete));
        let text = String::from_utf8(sink.into_inner()).unwrap();
        let id = &d.hex()[..12];
        assert_eq!(text, format!("{id}: Downloading\n{id}: Pull complete\n"));
    }
}
