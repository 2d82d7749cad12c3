//! The unpacker a pull uses by default: each layer becomes an overlay snapshot (see
//! [`Snapshotter`]) named by its chain id.
//!
//! A snapshot is a self-contained diff directory, made visible by an atomic rename once it
//! unpacked and verified, so `commit` has nothing left to do, and a snapshot whose parent
//! is not there yet harms nothing: an image's root filesystem is only assembled when every
//! snapshot of its chain exists. `abort` keeps finished snapshots for the same reason: they
//! are valid content that the next pull reuses.

use std::io::Read;

use crate::layer::{self, Snapshotter, UnpackOptions, WhiteoutMode};

use super::pull::{BoxError, LayerInfo, LayerUnpacker};

/// Unpacks pulled layers into snapshots.
#[derive(Debug, Clone)]
pub struct SnapshotUnpacker {
    snapshotter: Snapshotter,
}

impl SnapshotUnpacker {
    /// An unpacker into `snapshotter`.
    pub fn new(snapshotter: Snapshotter) -> Self {
        Self { snapshotter }
    }
}

impl LayerUnpacker for SnapshotUnpacker {
    fn is_unpacked(&self, layer: &LayerInfo) -> bool {
        layer
            .chain_id
            .as_ref()
            .is_some_and(|id| self.snapshotter.exists(id))
    }

    fn unpack(&self, layer: &LayerInfo, reader: &mut (dyn Read + Send)) -> Result<(), BoxError> {
        let chain_id = layer
            .chain_id
            .as_ref()
            .ok_or("the image config has no diff id for this layer")?;
        let options = UnpackOptions {
            whiteouts: WhiteoutMode::Overlay,
            expected_diff_id: layer.diff_id.clone(),
            ..UnpackOptions::default()
        };
        self.snapshotter
            .prepare(chain_id, layer.parent_chain_id.as_ref(), |dir| {
                layer::apply(&mut *reader, dir, &options).map(drop)
            })?;
        Ok(())
    }

    fn commit(&self, _layer: &LayerInfo) -> Result<(), BoxError> {
        Ok(())
    }

    fn abort(&self, _layer: &LayerInfo) {}
}
