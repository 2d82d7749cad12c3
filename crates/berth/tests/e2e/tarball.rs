//! Tar archives written by hand (ustar headers), so that the tests can make what a tar
//! library refuses to: members named `../x`, truncated archives. Also the busybox root
//! filesystem of the offline base-image flow and an OCI layout with one big layer.

use std::path::Path;

/// The applets linked to busybox in the test root filesystems.
pub const APPLETS: &[&str] = &["sh", "ls", "cat", "echo", "true", "env"];

/// A tar archive under construction.
#[derive(Default)]
pub struct Tar {
    bytes: Vec<u8>,
}

impl Tar {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn dir(&mut self, name: &str) -> &mut Self {
        self.entry(name, 0o755, b'5', "", &[])
    }

    pub fn file(&mut self, name: &str, mode: u32, data: &[u8]) -> &mut Self {
        self.entry(name, mode, b'0', "", data)
    }

    pub fn symlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.entry(name, 0o777, b'2', target, &[])
    }

    /// The archive with its two zero end blocks.
    pub fn finish(&mut self) -> Vec<u8> {
        let mut out = std::mem::take(&mut self.bytes);
        out.extend_from_slice(&[0; 1024]);
        out
    }

    fn entry(&mut self, name: &str, mode: u32, kind: u8, link: &str, data: &[u8]) -> &mut Self {
        assert!(
            name.len() < 100 && link.len() < 100,
            "ustar names are short"
        );
        let mut h = [0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        octal(&mut h[100..108], u64::from(mode));
        octal(&mut h[108..116], 0);
        octal(&mut h[116..124], 0);
        octal(&mut h[124..136], data.len() as u64);
        octal(&mut h[136..148], 1_700_000_000);
        h[148..156].fill(b' ');
        h[156] = kind;
        h[157..157 + link.len()].copy_from_slice(link.as_bytes());
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        let text = format!("{sum:06o}\0 ");
        h[148..156].copy_from_slice(text.as_bytes());
        self.bytes.extend_from_slice(&h);
        self.bytes.extend_from_slice(data);
        let pad = (512 - data.len() % 512) % 512;
        self.bytes.extend(std::iter::repeat_n(0, pad));
        self
    }
}

/// `field` as zero-padded octal digits and a NUL.
fn octal(field: &mut [u8], value: u64) {
    let width = field.len() - 1;
    let text = format!("{value:0width$o}\0");
    field.copy_from_slice(text.as_bytes());
}

/// A busybox root filesystem (the host's static busybox and applet links) with `marker`
/// written to /etc/marker, so that different markers make different layers.
pub fn busybox_rootfs(marker: &str) -> Vec<u8> {
    let busybox = std::fs::read(busybox_path()).unwrap();
    let mut tar = Tar::new();
    tar.dir("bin/").file("bin/busybox", 0o755, &busybox);
    for applet in APPLETS {
        tar.symlink(&format!("bin/{applet}"), "busybox");
    }
    tar.dir("etc/").file("etc/marker", 0o644, marker.as_bytes());
    tar.finish()
}

/// The host's busybox: Debian's busybox-static.
pub fn busybox_path() -> &'static Path {
    let path = Path::new("/bin/busybox");
    assert!(
        path.exists(),
        "/bin/busybox is missing: install Debian's busybox-static"
    );
    path
}

/// An OCI image layout archive (`berth load` input) holding one image named `name` whose
/// single layer is an uncompressed tar with `size` random bytes: big content that costs
/// the tests no compression time. Returns the archive and the manifest digest.
pub fn big_oci_archive(name: &str, size: usize) -> (Vec<u8>, String) {
    let mut random = vec![0u8; size];
    let mut urandom = std::fs::File::open("/dev/urandom").unwrap();
    std::io::Read::read_exact(&mut urandom, &mut random).unwrap();
    let layer = Tar::new().file("big.bin", 0o644, &random).finish();
    drop(random);
    let layer_digest = super::sha256(&layer);
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
    }))
    .unwrap();
    let config_digest = super::sha256(&config);
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config_digest,
            "size": config.len(),
        },
        "layers": [{
            "mediaType": "application/vnd.oci.image.layer.v1.tar",
            "digest": layer_digest,
            "size": layer.len(),
        }],
    }))
    .unwrap();
    let manifest_digest = super::sha256(&manifest);
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest_digest,
            "size": manifest.len(),
            "annotations": {"io.containerd.image.name": name},
        }],
    }))
    .unwrap();
    let blob = |d: &str| format!("blobs/sha256/{}", d.trim_start_matches("sha256:"));
    let mut tar = Tar::new();
    tar.file("oci-layout", 0o644, br#"{"imageLayoutVersion":"1.0.0"}"#)
        .file("index.json", 0o644, &index)
        .dir("blobs/")
        .dir("blobs/sha256/")
        .file(&blob(&manifest_digest), 0o644, &manifest)
        .file(&blob(&config_digest), 0o644, &config)
        .file(&blob(&layer_digest), 0o644, &layer);
    (tar.finish(), manifest_digest)
}

/// The members of a tar archive (ustar headers only; other entries such as pax headers are
/// listed under their header name), as (name, contents).
pub fn members(archive: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 512 <= archive.len() {
        let h = &archive[at..at + 512];
        if h.iter().all(|&b| b == 0) {
            break;
        }
        let field = |r: std::ops::Range<usize>| {
            let raw = &h[r];
            let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
            String::from_utf8_lossy(&raw[..end]).trim().to_string()
        };
        let mut name = field(0..100);
        let prefix = field(345..500);
        if !prefix.is_empty() {
            name = format!("{prefix}/{name}");
        }
        let size = usize::from_str_radix(&field(124..136), 8).unwrap_or(0);
        let start = at + 512;
        out.push((
            name,
            archive[start..(start + size).min(archive.len())].to_vec(),
        ));
        at = start + size.div_ceil(512) * 512;
    }
    out
}
