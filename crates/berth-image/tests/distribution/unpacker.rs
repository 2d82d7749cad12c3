//! Pulls wired to plug-ins: a directory unpacker (standing in for the snapshotter) fed in
//! the same pass as the download, and the image store recording what was pulled.

use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use std::sync::Arc;

use berth_image::content::ContentStore;
use berth_image::digest::Hasher;
use berth_image::distribution::pull::{pull, BoxError, LayerInfo, LayerUnpacker, PullOptions};
use berth_image::distribution::push::{push, PushOptions};

use crate::image::{build, DOCKER, OCI};
use crate::registry::Registry;
use crate::{client, reference};

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

    fn unpack(&self, layer: &LayerInfo, reader: &mut (dyn Read + Send)) -> Result<(), BoxError> {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn layers_are_unpacked_in_the_same_pass_and_committed_base_first() {
    let registry = Registry::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let local = ContentStore::open(dir.path().join("local")).unwrap();
    let img = build(&local, &OCI, 21, 1 << 20);
    let c = client(&registry.addr, None);
    let target = reference(&registry.addr, "unpack/app:1");
    push(&c, &local, &img.manifest, &target, &PushOptions::default())
        .await
        .unwrap();

    let unpacker = Arc::new(DirUnpacker {
        root: dir.path().join("snapshots"),
        commits: Mutex::new(Vec::new()),
        streamed: AtomicUsize::new(0),
    });
    let store = ContentStore::open(dir.path().join("fresh")).unwrap();
    let options = PullOptions {
        unpacker: Some(unpacker.clone()),
        ..PullOptions::default()
    };
    pull(&c, &store, &target, &options).await.unwrap();
    assert_eq!(*unpacker.commits.lock().unwrap(), vec![0, 1]);
    assert_eq!(unpacker.streamed.load(Ordering::SeqCst), 2);
    let chain0 = img.diff_ids[0].hex().to_string();
    let hello = std::fs::read_to_string(
        dir.path()
            .join("snapshots/layers")
            .join(chain0)
            .join("etc/hello"),
    )
    .unwrap();
    assert_eq!(hello, "hello 21\n");

    // Everything present: nothing is unpacked again.
    pull(&c, &store, &target, &options).await.unwrap();
    assert_eq!(unpacker.streamed.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulled_images_are_recorded_in_the_image_store() {
    let registry = Registry::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let local = ContentStore::open(dir.path().join("local")).unwrap();
    let img = build(&local, &DOCKER, 41, 1000);
    let c = client(&registry.addr, None);
    let target = reference(&registry.addr, "recorded/app:v2");
    push(&c, &local, &img.manifest, &target, &PushOptions::default())
        .await
        .unwrap();

    let images = berth_image::store::ImageStore::open(dir.path().join("root")).unwrap();
    let options = PullOptions {
        recorder: Some(Arc::new(images.clone())),
        ..PullOptions::default()
    };
    pull(&c, images.content(), &target, &options).await.unwrap();
    let digest = images
        .resolve(&format!("{}/recorded/app:v2", registry.addr))
        .unwrap();
    assert_eq!(digest, img.manifest);
    let image = images.image(&digest).unwrap();
    assert_eq!(image.config_digest, img.config);
    assert_eq!(image.layers.len(), 2);
}
