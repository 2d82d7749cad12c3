//! Test images: a config and two gzip layers made here, stored in a content store.

use std::io::Write;

use berth_image::content::ContentStore;
use berth_image::digest::Digest;
use flate2::write::GzEncoder;

/// Media types of one flavour of manifest.
pub struct Flavour {
    pub manifest: &'static str,
    pub config: &'static str,
    pub layer: &'static str,
}

pub const OCI: Flavour = Flavour {
    manifest: "application/vnd.oci.image.manifest.v1+json",
    config: "application/vnd.oci.image.config.v1+json",
    layer: "application/vnd.oci.image.layer.v1.tar+gzip",
};

pub const DOCKER: Flavour = Flavour {
    manifest: "application/vnd.docker.distribution.manifest.v2+json",
    config: "application/vnd.docker.container.image.v1+json",
    layer: "application/vnd.docker.image.rootfs.diff.tar.gzip",
};

/// An image stored in a content store.
pub struct TestImage {
    pub manifest: Digest,
    pub config: Digest,
    pub layers: Vec<Digest>,
    pub diff_ids: Vec<Digest>,
}

impl TestImage {
    /// Every blob and the manifest.
    pub fn all_digests(&self) -> Vec<Digest> {
        let mut all = vec![self.manifest.clone(), self.config.clone()];
        all.extend(self.layers.iter().cloned());
        all
    }
}

/// Bytes that gzip cannot shrink (xorshift), so layer sizes are predictable.
pub fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A tar with `files`, gzip-compressed; returns (compressed, uncompressed digest).
pub fn layer(files: &[(&str, Vec<u8>)]) -> (Vec<u8>, Digest) {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, data) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_cksum();
        builder.append_data(&mut header, path, &data[..]).unwrap();
    }
    let tar = builder.into_inner().unwrap();
    let diff_id = Digest::sha256_of(&tar);
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    (gz.finish().unwrap(), diff_id)
}

/// Builds an image (a small layer and a `big`-byte layer, `seed` makes it unique) into
/// `store`.
pub fn build(store: &ContentStore, flavour: &Flavour, seed: u64, big: usize) -> TestImage {
    let (l1, d1) = layer(&[
        ("etc/hello", format!("hello {seed}\n").into_bytes()),
        ("etc/os-release", b"ID=berth-test\n".to_vec()),
    ]);
    let (l2, d2) = layer(&[("data/blob.bin", noise(seed, big))]);
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": [d1.to_string(), d2.to_string()]},
        "history": [{"created_by": "test"}, {"created_by": "test"}]
    });
    let config = serde_json::to_vec(&config).unwrap();
    let layer_digests: Vec<Digest> = [&l1, &l2].iter().map(|l| store.put(l).unwrap()).collect();
    let config_digest = store.put(&config).unwrap();
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": flavour.manifest,
        "config": {"mediaType": flavour.config, "digest": config_digest.to_string(), "size": config.len()},
        "layers": [
            {"mediaType": flavour.layer, "digest": layer_digests[0].to_string(), "size": l1.len()},
            {"mediaType": flavour.layer, "digest": layer_digests[1].to_string(), "size": l2.len()},
        ]
    });
    let manifest = store
        .put(&serde_json::to_vec_pretty(&manifest).unwrap())
        .unwrap();
    TestImage {
        manifest,
        config: config_digest,
        layers: layer_digests,
        diff_ids: vec![d1, d2],
    }
}
