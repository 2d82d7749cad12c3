//! A directory unpacker plugged into pulls, standing in for the snapshotter.

use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use berth_image::digest::Hasher;
use berth_image::distribution::pull::{BoxError, LayerInfo, LayerUnpacker};

/// Unpacks gzip tars into `<root>/pending/<index>`, verifying the diffID; commit moves them
/// to `<root>/layers/<chain id>` and records the order.
pub struct DirUnpacker {
    pub root: PathBuf,
    pub commits: Mutex<Vec<usize>>,
    pub streamed: AtomicUsize,
}

impl LayerUnpacker for DirUnpacker {
    fn is_unpacked(&self, layer: &LayerInfo) -> bool {
        self.root
            .join("layers")
            .join(layer.chain_id.as_ref().unwrap().hex())
            .exists()
    }

    fn unpack(&self, layer: &LayerInfo, reader: &mut dyn Read) -> Result<(), BoxError> {
        struct Hashing<R>(R, Hasher);
        impl<R: Read> Read for Hashing<R> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = self.0.read(buf)?;
                self.1.update(&buf[..n]);
                Ok(n)
            }
        }
        self.streamed.fetch_add(1, Ordering::SeqCst);
        let target = self.root.join("pending").join(layer.index.to_string());
        std::fs::create_dir_all(&target)?;
        let gz = flate2::read::GzDecoder::new(reader);
        let mut hashing = Hashing(gz, Hasher::new());
        tar::Archive::new(&mut hashing).unpack(&target)?;
        std::io::copy(&mut hashing, &mut std::io::sink())?;
        if Some(hashing.1.finish()) != layer.diff_id {
            std::fs::remove_dir_all(&target)?;
            return Err("diffID mismatch".into());
        }
        Ok(())
    }

    fn commit(&self, layer: &LayerInfo) -> Result<(), BoxError> {
        std::fs::create_dir_all(self.root.join("layers"))?;
        std::fs::rename(
            self.root.join("pending").join(layer.index.to_string()),
            self.root
                .join("layers")
                .join(layer.chain_id.as_ref().unwrap().hex()),
        )?;
        self.commits.lock().unwrap().push(layer.index);
        Ok(())
    }

    fn abort(&self, layer: &LayerInfo) {
        let _ = std::fs::remove_dir_all(self.root.join("pending").join(layer.index.to_string()));
    }
}
