//! An image's file tree as `docker save` gives it: the layers applied in order (whiteouts
//! and opaque directories honoured), every entry described without its timestamps.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;

use sha2::{Digest, Sha256};

/// Path (no leading `/` or `./`) to its description: type, mode, owner, size, content
/// digest or link target. Timestamps are left out: they are the one thing two builds of
/// the same Dockerfile may not share.
pub type Tree = BTreeMap<String, String>;

/// The entries of a `docker save` tar, by name.
fn outer_entries(save: &[u8]) -> HashMap<String, Vec<u8>> {
    let mut out = HashMap::new();
    let mut archive = tar::Archive::new(save);
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        out.insert(name, data);
    }
    out
}

/// The config document of the (only) image of a `docker save` tar.
pub fn saved_config(save: &[u8]) -> serde_json::Value {
    let entries = outer_entries(save);
    let manifest: serde_json::Value =
        serde_json::from_slice(&entries["manifest.json"]).expect("manifest.json");
    let name = manifest[0]["Config"]
        .as_str()
        .expect("Config in manifest.json");
    serde_json::from_slice(&entries[name]).expect("the image's config document")
}

/// The layer tars of the (only) image of a `docker save` tar, bottom first.
pub fn saved_layers(save: &[u8]) -> Vec<Vec<u8>> {
    let mut entries = outer_entries(save);
    let manifest: serde_json::Value =
        serde_json::from_slice(&entries["manifest.json"]).expect("manifest.json");
    manifest[0]["Layers"]
        .as_array()
        .expect("Layers in manifest.json")
        .iter()
        .map(|l| {
            let name = l.as_str().unwrap();
            let data = entries
                .remove(name)
                .unwrap_or_else(|| panic!("{name} missing from the saved tar"));
            assert!(
                !data.starts_with(&[0x1f, 0x8b]) && !data.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]),
                "layer {name} is compressed; docker save writes plain tars"
            );
            data
        })
        .collect()
}

fn clean(path: &str) -> String {
    path.trim_start_matches("./")
        .trim_start_matches('/')
        .trim_end_matches('/')
        .to_string()
}

fn remove_under(tree: &mut Tree, dir: &str) {
    let prefix = format!("{dir}/");
    tree.retain(|k, _| !k.starts_with(&prefix));
}

/// One layer's own entries, whiteouts included, as the layer tar lists them: what a
/// layer-by-layer comparison looks at.
pub fn layer_entries(layer: &[u8]) -> Tree {
    let mut tree = Tree::new();
    let mut contents: HashMap<String, String> = HashMap::new();
    let mut archive = tar::Archive::new(layer);
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = clean(&entry.path().unwrap().to_string_lossy());
        if path.is_empty() {
            continue;
        }
        let header = entry.header().clone();
        let mode = header.mode().unwrap() & 0o7777;
        let owner = format!("{}:{}", header.uid().unwrap(), header.gid().unwrap());
        let kind = header.entry_type();
        let link = || {
            entry_link(&header)
                .map(|l| l.to_string())
                .unwrap_or_default()
        };
        let base = path.rsplit('/').next().unwrap_or(&path);
        if base.starts_with(".wh.") {
            // A whiteout's or opaque marker's own mode and owner are never applied (and
            // dockerd writes them differently per storage driver): only its place counts.
            tree.insert(path, "whiteout".to_string());
            continue;
        }
        let text = match kind {
            tar::EntryType::Directory => format!("dir {mode:04o} {owner}"),
            // A symlink's mode means nothing on Linux (and tar writers differ on it).
            tar::EntryType::Symlink => format!("symlink {owner} -> {}", link()),
            // A hard link reads as the file it links to: how a tool chooses to encode a
            // second name of one inode is not what the comparison is about.
            tar::EntryType::Link => contents
                .get(&clean(&link()))
                .cloned()
                .unwrap_or_else(|| format!("hardlink to a missing {}", link())),
            tar::EntryType::Fifo => format!("fifo {mode:04o} {owner}"),
            tar::EntryType::Char | tar::EntryType::Block => format!(
                "{:?} {mode:04o} {owner} {}:{}",
                kind,
                header.device_major().ok().flatten().unwrap_or(0),
                header.device_minor().ok().flatten().unwrap_or(0)
            ),
            _ => {
                let mut data = Vec::new();
                entry.read_to_end(&mut data).unwrap();
                let digest = Sha256::digest(&data);
                let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
                format!(
                    "file {mode:04o} {owner} size={} sha256={}",
                    data.len(),
                    &hex[..16]
                )
            }
        };
        contents.insert(path.clone(), text.clone());
        tree.insert(path, text);
    }
    tree
}

fn entry_link(header: &tar::Header) -> Option<String> {
    header
        .link_name()
        .ok()
        .flatten()
        .map(|l| l.to_string_lossy().into_owned())
}

/// The layers applied in order: whiteouts remove, opaque markers empty a directory of
/// what lower layers had, every other entry replaces what was there.
pub fn flatten(layers: &[Tree]) -> Tree {
    let mut tree = Tree::new();
    for layer in layers {
        // Whiteouts apply to the lower layers only, whatever their order in the tar.
        for path in layer.keys() {
            let (dir, base) = match path.rsplit_once('/') {
                Some((d, b)) => (d.to_string(), b),
                None => (String::new(), path.as_str()),
            };
            if base == ".wh..wh..opq" {
                remove_under(&mut tree, &dir);
            } else if let Some(name) = base.strip_prefix(".wh.") {
                let gone = if dir.is_empty() {
                    name.to_string()
                } else {
                    format!("{dir}/{name}")
                };
                tree.remove(&gone);
                remove_under(&mut tree, &gone);
            }
        }
        for (path, text) in layer {
            let base = path.rsplit('/').next().unwrap_or(path);
            if base.starts_with(".wh.") {
                continue;
            }
            // A non-directory replacing a directory removes what was under it.
            if !text.starts_with("dir ") {
                remove_under(&mut tree, path);
            }
            tree.insert(path.clone(), text.clone());
        }
    }
    tree
}
